"""RFC-0002 routes through the API: children, the tree, dependencies, readiness, the graph and status coupling."""

import uuid

import pytest

from tests.conftest import event_log, new_intent, versioned

INTENTS = "/api/v1/intents"


def url(intent, tail=""):
    intent_id = intent if isinstance(intent, str) else intent["id"]
    return f"{INTENTS}/{intent_id}{tail}"


def fresh(client, intent):
    return client.get(url(intent)).json()


def child_of(client, parent, title="child", **fields):
    response = client.post(url(parent, "/children"), {"title": title, **fields}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def add_dependency(client, intent, dependency, version=None):
    intent = fresh(client, intent)
    dependency_id = dependency if isinstance(dependency, str) else dependency["id"]
    return versioned(
        client, "post", url(intent, "/dependencies"), version or intent["version"], {"dependency_id": dependency_id}
    )


def remove_dependency(client, intent, dependency_id, version=None):
    intent = fresh(client, intent)
    return versioned(client, "delete", url(intent, f"/dependencies/{dependency_id}"), version or intent["version"])


def set_status(client, intent, status):
    intent = fresh(client, intent)
    return versioned(client, "post", url(intent, "/status"), intent["version"], {"status": status})


def ids(intents):
    return [intent["id"] for intent in intents]


# Children and the tree ----------------------------------------------------------------------------------------


def test_create_a_child(api):
    parent = new_intent(api, title="parent", status="active")
    dependency = new_intent(api, title="dependency")

    child = child_of(
        api,
        parent,
        title="child",
        description="part of it",
        constraints=["careful"],
        state={"k": 1},
        depends_on=[dependency["id"]],
        status="active",
        created_by="forged",
        parent_intent_id=str(uuid.uuid4()),
    )

    assert (child["parent_id"], child["parent_intent_id"]) == (parent["id"], parent["id"])
    assert (child["title"], child["description"], child["status"]) == ("child", "part of it", "draft")
    assert (child["constraints"], child["state"], child["depends_on"]) == (
        {"rules": ["careful"]},
        {"k": 1},
        [dependency["id"]],
    )
    assert child["created_by"] == "agent-research"
    created = event_log(api, child["id"])[0]
    assert (created["event_type"], created["payload"]["parent_id"], created["payload"]["depends_on"]) == (
        "intent_created",
        parent["id"],
        [dependency["id"]],
    )
    assert fresh(api, parent) == parent


def test_create_a_child_of_an_unknown_parent_is_404(api):
    response = api.post(url(str(uuid.uuid4()), "/children"), {"title": "orphan"}, format="json")

    assert response.status_code == 404
    assert response.json()["detail"] == "Parent intent not found"


def test_create_a_child_with_an_unknown_dependency_creates_nothing(api):
    parent = new_intent(api)
    missing = str(uuid.uuid4())

    response = api.post(url(parent, "/children"), {"title": "c", "depends_on": [missing]}, format="json")

    assert response.status_code == 404
    assert missing in response.json()["detail"]
    assert api.get(url(parent, "/children")).json() == {"children": []}


@pytest.mark.parametrize("data", [{}, {"title": ""}, {"title": "c", "depends_on": "x"}, {"title": "c", "state": 1}])
def test_create_a_child_validates_the_body(api, data):
    parent = new_intent(api)

    assert api.post(url(parent, "/children"), data, format="json").status_code == 422
    assert api.get(url(parent, "/children")).json() == {"children": []}


def test_children_lists_immediate_children_oldest_first(api):
    parent = new_intent(api)
    first = child_of(api, parent, "first")
    second = child_of(api, parent, "second")
    child_of(api, first, "grandchild")

    response = api.get(url(parent, "/children"))

    assert response.status_code == 200
    assert ids(response.json()["children"]) == [first["id"], second["id"]]
    assert response.json()["children"][0]["parent_intent_id"] == parent["id"]
    assert api.get(url(second, "/children")).json() == {"children": []}


def test_descendants_depth_first_and_ancestors_nearest_first(api):
    root = new_intent(api, title="root")
    a = child_of(api, root, "a")
    a1 = child_of(api, a, "a1")
    a1x = child_of(api, a1, "a1x")
    a2 = child_of(api, a, "a2")
    b = child_of(api, root, "b")

    descendants = api.get(url(root, "/descendants")).json()["descendants"]
    assert ids(descendants) == [a["id"], a1["id"], a1x["id"], a2["id"], b["id"]]
    assert api.get(url(b, "/descendants")).json() == {"descendants": []}

    assert ids(api.get(url(a1x, "/ancestors")).json()["ancestors"]) == [a1["id"], a["id"], root["id"]]
    assert api.get(url(root, "/ancestors")).json() == {"ancestors": []}


@pytest.mark.parametrize(
    "tail", ["/children", "/descendants", "/ancestors", "/dependencies", "/dependents", "/ready", "/blocked", "/graph"]
)
def test_graph_reads_of_an_unknown_intent_are_404(api, tail):
    response = api.get(url(str(uuid.uuid4()), tail))

    assert response.status_code == 404
    assert response.json()["detail"] == "Intent not found"


# Dependencies -------------------------------------------------------------------------------------------------


def test_add_list_and_remove_a_dependency(api):
    intent = new_intent(api, title="report")
    data = new_intent(api, title="data")

    added = add_dependency(api, intent, data)

    assert added.status_code == 200
    body = added.json()
    assert (body["depends_on"], body["version"]) == ([data["id"]], 2)
    assert added["ETag"] == '"2"'
    assert ids(api.get(url(intent, "/dependencies")).json()["dependencies"]) == [data["id"]]
    assert ids(api.get(url(data, "/dependents")).json()["dependents"]) == [intent["id"]]
    assert event_log(api, intent["id"], event_type="dependency_added")[0]["payload"] == {
        "dependency_id": data["id"],
        "version": 2,
    }

    removed = remove_dependency(api, intent, data["id"])

    assert removed.status_code == 200
    assert (removed.json()["depends_on"], removed.json()["version"]) == ([], 3)
    assert api.get(url(intent, "/dependencies")).json() == {"dependencies": []}
    assert api.get(url(data, "/dependents")).json() == {"dependents": []}
    assert event_log(api, intent["id"], event_type="dependency_removed")[0]["payload"] == {
        "dependency_id": data["id"],
        "version": 3,
    }


def test_dependencies_keep_the_order_they_were_added(api):
    intent = new_intent(api)
    later = [new_intent(api, title=str(n)) for n in range(3)]
    for dependency in reversed(later):
        add_dependency(api, intent, dependency)

    assert ids(api.get(url(intent, "/dependencies")).json()["dependencies"]) == ids(reversed(later))


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize("if_match", [None, "nope"])
def test_dependency_writes_need_if_match(api, method, if_match):
    intent = new_intent(api)
    other = new_intent(api)
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    target = url(intent, "/dependencies") if method == "post" else url(intent, f"/dependencies/{other['id']}")

    response = getattr(api, method)(target, {"dependency_id": other["id"]}, format="json", **headers)

    assert response.status_code == 400
    expected = "If-Match header required" if if_match is None else "If-Match must be the version"
    assert response.json()["detail"].startswith(expected)
    assert fresh(api, intent) == intent


@pytest.mark.parametrize("method", ["post", "delete"])
def test_dependency_writes_with_a_stale_version_are_409(api, method):
    intent = new_intent(api)
    other = new_intent(api)
    if method == "delete":
        add_dependency(api, intent, other)
    response = (
        add_dependency(api, intent, other, version=9)
        if method == "post"
        else remove_dependency(api, intent, other["id"], version=1)
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == fresh(api, intent)["version"]


def test_adding_an_unknown_dependency_is_404(api):
    intent = new_intent(api)

    for missing in [str(uuid.uuid4()), "garbage"]:
        response = add_dependency(api, intent, missing)
        assert response.status_code == 404
        assert response.json()["detail"] == "Dependency intent not found"
    assert fresh(api, intent) == intent


def test_adding_a_dependency_to_an_unknown_intent_is_404(api):
    other = new_intent(api)

    response = versioned(api, "post", url(str(uuid.uuid4()), "/dependencies"), 1, {"dependency_id": other["id"]})

    assert response.status_code == 404
    assert response.json()["detail"] == "Intent not found"


def test_adding_a_dependency_needs_a_dependency_id(api):
    intent = new_intent(api)

    response = versioned(api, "post", url(intent, "/dependencies"), 1, {})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "dependency_id"]


def test_adding_the_same_dependency_twice_is_400(api):
    intent = new_intent(api)
    other = new_intent(api)
    add_dependency(api, intent, other)

    response = add_dependency(api, intent, other)

    assert response.status_code == 400
    assert response.json()["detail"] == "Dependency already exists"
    assert fresh(api, intent)["version"] == 2


def test_self_dependency_is_refused_as_a_cycle(api):
    intent = new_intent(api)

    response = add_dependency(api, intent, intent)

    assert response.status_code == 400
    assert response.json()["detail"] == f"Dependency would create cycle: {intent['id']} -> {intent['id']}"
    assert fresh(api, intent) == intent


def test_a_cycle_is_refused_with_its_path(api):
    a, b, c = (new_intent(api, title=title) for title in "abc")
    add_dependency(api, a, b)
    add_dependency(api, b, c)
    before = fresh(api, c)

    response = add_dependency(api, c, a)

    assert response.status_code == 400
    assert (
        response.json()["detail"] == f"Dependency would create cycle: {c['id']} -> {a['id']} -> {b['id']} -> {c['id']}"
    )
    assert fresh(api, c) == before
    assert event_log(api, c["id"], event_type="dependency_added") == []


def test_a_diamond_is_not_a_cycle(api):
    top, left, right, bottom = (new_intent(api, title=title) for title in ["top", "left", "right", "bottom"])
    add_dependency(api, top, left)
    add_dependency(api, top, right)
    add_dependency(api, left, bottom)

    assert add_dependency(api, right, bottom).status_code == 200


@pytest.mark.parametrize("dependency_id", ["not-a-uuid", str(uuid.uuid4())])
def test_removing_a_dependency_that_is_not_there_is_404(api, dependency_id):
    intent = new_intent(api)

    response = remove_dependency(api, intent, dependency_id)

    assert response.status_code == 404
    assert response.json()["detail"] == "Dependency not found"
    assert fresh(api, intent) == intent


# Readiness and the graph --------------------------------------------------------------------------------------


def test_ready_and_blocked_children(api):
    parent = new_intent(api, title="parent")
    prerequisite = child_of(api, parent, "prerequisite")
    waiting = child_of(api, parent, "waiting", depends_on=[prerequisite["id"]])
    free = child_of(api, parent, "free")
    done = child_of(api, parent, "done")
    set_status(api, done, "active")
    set_status(api, done, "completed")

    assert ids(api.get(url(parent, "/ready")).json()["ready"]) == [prerequisite["id"], free["id"]]
    assert ids(api.get(url(parent, "/blocked")).json()["blocked"]) == [waiting["id"]]

    set_status(api, prerequisite, "active")
    set_status(api, prerequisite, "completed")

    assert ids(api.get(url(parent, "/ready")).json()["ready"]) == [waiting["id"], free["id"]]
    assert api.get(url(parent, "/blocked")).json() == {"blocked": []}


def test_graph_of_a_tree_with_dependencies(api):
    root = new_intent(api, title="root", status="active")
    a = child_of(api, root, "a")
    b = child_of(api, root, "b", depends_on=[a["id"]])
    outside = new_intent(api, title="outside")
    add_dependency(api, a, outside)
    set_status(api, outside, "active")
    set_status(api, outside, "completed")

    response = api.get(url(root, "/graph"))

    assert response.status_code == 200
    graph = response.json()
    assert graph["root_id"] == root["id"]
    assert ids(graph["nodes"])[0] == root["id"]
    assert set(ids(graph["nodes"])) == {root["id"], a["id"], b["id"], outside["id"]}
    node_a = next(node for node in graph["nodes"] if node["id"] == a["id"])
    assert node_a == {
        "id": a["id"],
        "title": "a",
        "status": "draft",
        "parent_id": root["id"],
        "depends_on": [outside["id"]],
    }
    edges = {(edge["from"], edge["to"], edge["type"]) for edge in graph["edges"]}
    assert edges == {
        (root["id"], a["id"], "parent"),
        (root["id"], b["id"], "parent"),
        (a["id"], b["id"], "dependency"),
        (outside["id"], a["id"], "dependency"),
    }
    aggregate = graph["aggregate_status"]
    assert (aggregate["total"], aggregate["by_status"], aggregate["completion_percentage"]) == (
        4,
        {"active": 1, "draft": 2, "completed": 1},
        25,
    )
    assert aggregate["blocking_intents"] == [b["id"]]
    assert set(aggregate["ready_intents"]) == {root["id"], a["id"]}


def test_graph_of_a_lone_intent(api):
    intent = new_intent(api)

    graph = api.get(url(intent, "/graph")).json()

    assert ids(graph["nodes"]) == [intent["id"]]
    assert graph["edges"] == []
    assert graph["aggregate_status"]["total"] == 1


# Status coupling ----------------------------------------------------------------------------------------------


def test_an_active_intent_becomes_blocked_by_an_unfinished_dependency_and_active_when_it_completes(api):
    intent = new_intent(api, status="active")
    dependency = new_intent(api, status="active")

    assert add_dependency(api, intent, dependency).json()["status"] == "blocked"
    assert event_log(api, intent["id"], event_type="status_changed")[-1]["payload"]["status"] == "blocked"

    set_status(api, dependency, "completed")

    unblocked = fresh(api, intent)
    assert (unblocked["status"], unblocked["version"]) == ("active", 3)
    reason = event_log(api, intent["id"], event_type="status_changed")[-1]["payload"]
    assert (reason["status"], reason["previous_status"], reason["version"]) == ("active", "blocked", 3)
    assert dependency["id"] in reason["reason"]


def test_unblocking_by_the_last_dependency_steps_the_version_so_a_stale_write_is_refused(api, other_api):
    intent = new_intent(api, status="active")
    dependency = new_intent(other_api, status="active")
    blocked = add_dependency(api, intent, dependency).json()
    assert (blocked["status"], blocked["version"]) == ("blocked", 2)  # one write, one step
    assert event_log(api, intent["id"], event_type="status_changed")[-1]["payload"]["version"] == 2

    set_status(other_api, dependency, "completed")

    stale = versioned(api, "post", url(intent, "/state"), blocked["version"], {"state": {"go": True}})
    assert (stale.status_code, stale.json()["current_version"]) == (409, 3)
    assert fresh(api, intent)["state"] == {}


def test_a_blocked_intent_waits_for_its_last_dependency(api):
    intent = new_intent(api, status="active")
    first, second = new_intent(api, status="active"), new_intent(api, status="active")
    add_dependency(api, intent, first)
    add_dependency(api, intent, second)

    set_status(api, first, "completed")
    assert fresh(api, intent)["status"] == "blocked"

    set_status(api, second, "completed")
    assert fresh(api, intent)["status"] == "active"


def test_a_completed_dependency_does_not_block(api):
    intent = new_intent(api, status="active")
    done = new_intent(api, status="active")
    set_status(api, done, "completed")

    assert add_dependency(api, intent, done).json()["status"] == "active"


def test_created_active_with_an_unfinished_dependency_starts_blocked(api):
    dependency = new_intent(api)

    assert new_intent(api, status="active", depends_on=[dependency["id"]])["status"] == "blocked"


def test_a_draft_with_an_unfinished_dependency_begins_blocked(api):
    dependency = new_intent(api)
    intent = new_intent(api, depends_on=[dependency["id"]])

    patched = versioned(api, "post", url(intent, "/state"), 1, {"state": {"a": 1}}).json()
    assert patched["status"] == "blocked"

    activated = new_intent(api, depends_on=[dependency["id"]])
    assert set_status(api, activated, "active").json()["status"] == "blocked"


def test_removing_the_last_unfinished_dependency_unblocks(api):
    intent = new_intent(api, status="active")
    dependency = new_intent(api)
    add_dependency(api, intent, dependency)

    removed = remove_dependency(api, intent, dependency["id"]).json()
    assert (removed["status"], removed["version"]) == ("active", 3)  # one write, one step
    assert event_log(api, intent["id"], event_type="status_changed")[-1]["payload"]["version"] == 3


def test_a_blocked_intent_cannot_be_activated_while_dependencies_are_unfinished(api):
    intent = new_intent(api, status="active")
    dependency = new_intent(api)
    add_dependency(api, intent, dependency)

    response = set_status(api, intent, "active")

    assert response.status_code == 409
    assert "blocked" in response.json()["detail"]
    assert "active" in response.json()["detail"]


def test_cannot_complete_before_dependencies(api):
    intent = new_intent(api, status="active")
    dependency = new_intent(api, status="active")
    add_dependency(api, intent, dependency)

    refused = set_status(api, intent, "completed")

    assert refused.status_code == 409
    assert fresh(api, intent)["status"] == "blocked"

    set_status(api, dependency, "completed")

    assert set_status(api, intent, "completed").json()["status"] == "completed"


def test_an_abandoned_dependency_keeps_its_dependent_blocked(api):
    intent = new_intent(api, status="active")
    dependency = new_intent(api)
    add_dependency(api, intent, dependency)

    set_status(api, dependency, "abandoned")

    assert fresh(api, intent)["status"] == "blocked"
    assert set_status(api, intent, "active").status_code == 409


@pytest.mark.parametrize("finished", ["completed", "abandoned"])
def test_cannot_complete_before_children(api, finished):
    parent = new_intent(api, status="active")
    child = child_of(api, parent)
    set_status(api, child, "active")

    refused = set_status(api, parent, "completed")

    assert refused.status_code == 409
    body = refused.json()
    assert "children" in body["detail"]
    assert body["blocking_intents"] == [child["id"]]
    assert "lease" not in refused.content.decode().lower()
    assert fresh(api, parent)["status"] == "active"

    set_status(api, child, finished)

    assert set_status(api, parent, "completed").status_code == 200


def test_no_dependency_can_be_added_to_a_finished_intent(api):
    intent = new_intent(api, status="active")
    set_status(api, intent, "completed")
    other = new_intent(api)

    response = add_dependency(api, intent, other)

    assert response.status_code == 409
    assert fresh(api, intent)["depends_on"] == []


# Access control on graph reads -----------------------------------------------------------------------------


def close(client, intent):
    response = client.put(url(intent, "/acl"), {"default_policy": "closed", "entries": []}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("relation", ["children", "descendants", "ready", "dependents", "dependencies", "ancestors"])
def test_graph_reads_leave_out_intents_the_caller_cannot_read(api, other_api, relation):
    root = new_intent(api, title="root")
    middle = child_of(api, root, title="middle")
    visible, hidden = child_of(api, middle, title="visible"), child_of(api, middle, title="hidden")
    close(api, hidden)
    if relation in ("dependents", "dependencies"):
        anchor = new_intent(api, title="anchor")
        for dependent in (visible, hidden):
            assert add_dependency(api, dependent, anchor).status_code == 200
        if relation == "dependencies":
            close(api, anchor)
            subject, expected_by_owner, expected = visible, [anchor["id"]], []
        else:
            subject, expected_by_owner, expected = anchor, ids([visible, hidden]), [visible["id"]]
    elif relation == "ancestors":
        close(api, middle)
        subject, expected_by_owner, expected = visible, ids([middle, root]), [root["id"]]
    else:
        subject = middle if relation != "descendants" else root
        everything = ids([middle, visible, hidden]) if relation == "descendants" else ids([visible, hidden])
        subject, expected_by_owner, expected = subject, everything, [i for i in everything if i != hidden["id"]]

    by_owner = api.get(url(subject, f"/{relation}")).json()[relation]
    by_other = other_api.get(url(subject, f"/{relation}")).json()[relation]

    assert sorted(ids(by_owner)) == sorted(expected_by_owner)
    assert sorted(ids(by_other)) == sorted(expected)


def test_the_graph_shows_only_readable_nodes_and_the_edges_between_them(api, other_api):
    root = new_intent(api, title="root")
    shown, hidden = child_of(api, root, title="shown"), child_of(api, root, title="hidden")
    close(api, hidden)

    owner_graph = api.get(url(root, "/graph")).json()
    graph = other_api.get(url(root, "/graph")).json()

    assert sorted(node["id"] for node in owner_graph["nodes"]) == sorted(ids([root, shown, hidden]))
    assert sorted(node["id"] for node in graph["nodes"]) == sorted(ids([root, shown]))
    assert graph["edges"] == [{"from": root["id"], "to": shown["id"], "type": "parent"}]
    assert graph["aggregate_status"]["total"] == 2
