"""The unmodified openintent 0.9.1 client (sync and async) against a live server: RFC-0001, RFC-0002, RFC-0003.

Every method of the 0.9.1 ``OpenIntentClient`` in those RFCs is called, with its default arguments and with
the options it has, and so is the subset ``AsyncOpenIntentClient`` has. The scripts run in the client's own
venv (see conftest.py) and report what the client returned or raised; the assertions are here.
"""

import httpx
import pytest

from openintent_site.models import ApiKey

from .conftest import AGENT, KEY, OTHER_AGENT

pytestmark = pytest.mark.interop


def by_id(items):
    return {item["id"]: item for item in items}


def ids(items):
    return [item["id"] for item in items]


def server_get(url, path, key=KEY, **params):
    """Read the server directly, without the client, to check what the client's calls left behind."""
    response = httpx.get(f"{url}/api/v1{path}", headers={"X-API-Key": key}, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_two_agents_sharing_one_key_are_two_identities(run_client):
    fleet = ApiKey(agent_id="fleet", name="test", acts_for=["research-*"])
    fleet.set_key("fleet-key")
    fleet.save()
    out = run_client(
        """
        researcher = OpenIntentClient(URL, "fleet-key", "research-1")
        analyst = OpenIntentClient(URL, "fleet-key", "research-2")
        intent = researcher.create_intent("Shared work")
        out["intent"] = as_intent(intent)
        lease = researcher.acquire_lease(intent.id, "analysis", duration_seconds=60)
        out["lease"] = as_lease(lease)
        out["steal"] = caught(lambda: analyst.release_lease(intent.id, lease.id))
        out["taken"] = caught(lambda: analyst.acquire_lease(intent.id, "analysis"))
        out["event"] = as_event(analyst.log_event(intent.id, EventType.COMMENT, {"text": "hi"}))
        out["stranger"] = caught(lambda: OpenIntentClient(URL, "fleet-key", "writer").create_intent("No"))
        """
    )
    assert out["intent"]["created_by"] == "research-1"
    assert out["lease"]["agent_id"] == "research-1"
    assert out["steal"]["status_code"] == 403
    assert out["taken"]["type"] == "LeaseConflictError"
    assert out["event"]["actor"] == "research-2"
    assert out["stranger"]["status_code"] == 403 and out["stranger"]["response"]["agent_id"] == "writer"


def test_discover(run_client):
    out = run_client(
        """
        out["discover"] = client.discover()
        with OpenIntentClient(URL + "/", KEY, AGENT) as scoped:  # a trailing slash is stripped; close() on exit
            out["discover_scoped"] = scoped.discover()
        """
    )
    document = out["discover"]
    assert document["protocol"] == "OpenIntent Coordination Protocol"
    assert {"intents", "state-patches", "optimistic-concurrency", "leasing"} <= set(document["capabilities"])
    assert out["discover_scoped"] == document


def test_create_get_and_list_intents(run_client):
    out = run_client(
        """
        plain = client.create_intent("Plain")
        out["plain"] = as_intent(plain)
        out["constrained"] = as_intent(
            client.create_intent(
                "Constrained",
                description="with an object",
                constraints={"deadline": "2027-02-01"},
                initial_state={"progress": 0},
            )
        )
        out["rules"] = as_intent(client.create_intent("Rules", constraints=["cite sources", "no PII"]))
        parent = client.create_intent("Parent")
        out["parent"] = as_intent(parent)
        child = client.create_intent("Child", parent_intent_id=parent.id)
        out["child"] = as_intent(child)
        out["child_fetched"] = as_intent(client.get_intent(child.id))
        target = client.create_intent("Dependency")
        out["target"] = as_intent(target)
        dependent = client.create_intent("Dependent", depends_on=[target.id])
        out["dependent"] = as_intent(dependent)
        out["dependent_fetched"] = as_intent(client.get_intent(dependent.id))
        out["plain_fetched"] = as_intent(client.get_intent(plain.id))
        # The body's created_by is not identity; X-Agent-ID is, for a key that may act for the agent it names
        # (the development keys may act for any).
        actor = OpenIntentClient(URL, KEY, "someone-else")
        out["acting"] = as_intent(actor.create_intent("Who made this?"))

        out["missing_parent"] = caught(lambda: client.create_intent("Orphan", parent_intent_id=MISSING))
        out["missing_dependency"] = caught(lambda: client.create_intent("Waits", depends_on=[MISSING]))
        out["missing"] = caught(lambda: client.get_intent(MISSING))
        out["malformed_id"] = caught(lambda: client.get_intent("not-an-intent"))

        out["all"] = as_intents(client.list_intents())
        out["drafts"] = as_intents(client.list_intents(status=IntentStatus.DRAFT))
        started = client.update_state(plain.id, plain.version, {"started": True})
        out["started"] = as_intent(started)
        out["active"] = as_intents(client.list_intents(status=IntentStatus.ACTIVE))
        out["completed"] = as_intents(client.list_intents(status=IntentStatus.COMPLETED))
        out["page1"] = as_intents(client.list_intents(limit=2))
        out["page2"] = as_intents(client.list_intents(limit=2, offset=2))
        """
    )
    plain = out["plain"]
    assert plain["title"] == "Plain"
    assert plain["description"] == ""
    assert plain["constraints"] == {}  # 0.9.1 sends constraints=[] by default
    assert plain["state"] == {}
    assert plain["status"] == "draft" and plain["status_is_enum"]
    assert plain["version"] == 1
    assert plain["created_by"] == AGENT  # the key's principal
    assert plain["parent_intent_id"] is None and plain["depends_on"] == []
    assert plain["created_at"] and plain["updated_at"]
    assert out["plain_fetched"]["id"] == plain["id"]
    assert out["acting"]["created_by"] == "someone-else"

    constrained = out["constrained"]
    assert constrained["description"] == "with an object"
    assert constrained["constraints"] == {"deadline": "2027-02-01"}
    assert constrained["state"] == {"progress": 0}
    assert out["rules"]["constraints"] == {"rules": ["cite sources", "no PII"]}

    parent_id = out["parent"]["id"]
    assert out["child"]["parent_intent_id"] == parent_id
    assert out["child"]["has_parent"]
    assert out["child_fetched"]["parent_intent_id"] == parent_id
    assert out["child_fetched"]["has_parent"]

    target_id = out["target"]["id"]
    assert out["dependent"]["depends_on"] == [target_id]
    assert out["dependent_fetched"]["depends_on"] == [target_id]

    assert out["missing_parent"]["type"] == "NotFoundError"
    assert out["missing_dependency"]["type"] == "NotFoundError"
    assert out["missing"]["type"] == "NotFoundError" and out["missing"]["status_code"] == 404
    assert out["malformed_id"]["type"] == "NotFoundError"

    names = ("plain", "constrained", "rules", "parent", "child", "target", "dependent", "acting")
    created = {out[name]["id"] for name in names}
    assert created <= set(ids(out["all"]))
    assert len(out["all"]) == len(names)  # the refused creations left nothing behind
    assert set(ids(out["drafts"])) == created
    assert out["started"]["status"] == "active" and out["started"]["version"] == 2
    assert ids(out["active"]) == [plain["id"]]
    assert out["completed"] == []
    assert len(out["page1"]) == 2 and len(out["page2"]) == 2
    assert not set(ids(out["page1"])) & set(ids(out["page2"]))


def test_state_status_and_version_conflicts(run_client):
    out = run_client(
        """
        created = client.create_intent("Stateful", initial_state={"progress": 0})
        patched = client.update_state(created.id, created.version, {"progress": 0.5, "phase": "analysis"})
        out["patched"] = as_intent(patched)
        out["stale_patch"] = caught(lambda: client.update_state(created.id, created.version, {"progress": 0.9}))
        out["after_stale"] = as_intent(client.get_intent(created.id))
        again = client.update_state(created.id, patched.version, {"progress": 0.75})
        out["again"] = as_intent(again)

        blocked = client.set_status(created.id, again.version, IntentStatus.BLOCKED)
        out["blocked"] = as_intent(blocked)
        active = client.set_status(created.id, blocked.version, IntentStatus.ACTIVE)
        out["active"] = as_intent(active)
        out["stale_status"] = caught(lambda: client.set_status(created.id, blocked.version, IntentStatus.COMPLETED))
        completed = client.set_status(created.id, active.version, IntentStatus.COMPLETED)
        out["completed"] = as_intent(completed)
        out["reopen"] = caught(lambda: client.set_status(created.id, completed.version, IntentStatus.ACTIVE))
        out["patch_completed"] = caught(lambda: client.update_state(created.id, completed.version, {"late": 1}))

        draft = client.create_intent("Never started")
        out["draft_to_completed"] = caught(lambda: client.set_status(draft.id, draft.version, IntentStatus.COMPLETED))
        out["abandoned"] = as_intent(client.set_status(draft.id, draft.version, IntentStatus.ABANDONED))

        out["missing_patch"] = caught(lambda: client.update_state(MISSING, 1, {"a": 1}))
        out["missing_status"] = caught(lambda: client.set_status(MISSING, 1, IntentStatus.ACTIVE))
        """
    )
    patched = out["patched"]
    assert patched["version"] == 2
    assert patched["state"] == {"progress": 0.5, "phase": "analysis"}
    assert patched["status"] == "active"  # a draft becomes active on its first state patch

    stale = out["stale_patch"]
    assert stale["type"] == "ConflictError" and stale["status_code"] == 409
    assert stale["current_version"] == 2
    assert out["after_stale"]["version"] == 2 and out["after_stale"]["state"]["progress"] == 0.5

    assert out["again"]["version"] == 3 and out["again"]["state"]["progress"] == 0.75
    assert (out["blocked"]["status"], out["blocked"]["version"]) == ("blocked", 4)
    assert (out["active"]["status"], out["active"]["version"]) == ("active", 5)
    assert out["stale_status"]["type"] == "ConflictError" and out["stale_status"]["current_version"] == 5
    assert (out["completed"]["status"], out["completed"]["version"]) == ("completed", 6)
    assert out["completed"]["state"] == {"progress": 0.75, "phase": "analysis"}

    # The RFC-0001 state machine: completed is terminal, a draft cannot jump to completed.
    for name in ("reopen", "patch_completed", "draft_to_completed"):
        assert out[name]["type"] == "ConflictError", (name, out[name])
        assert out[name]["status_code"] == 409
    assert out["abandoned"]["status"] == "abandoned"

    assert out["missing_patch"]["type"] == "NotFoundError"
    assert out["missing_status"]["type"] == "NotFoundError"


def test_event_log(run_client):
    out = run_client(
        """
        created = client.create_intent("Logged")
        first = client.log_event(created.id, EventType.COMMENT, {"note": "hello"})
        out["comment"] = as_event(first)
        out["bare"] = as_event(client.log_event(created.id, EventType.COMMENT))
        out["llm"] = as_event(
            client.log_event(created.id, EventType.LLM_REQUEST_COMPLETED, {"request_id": "r1", "model": "m"})
        )
        out["task"] = as_event(client.log_event(created.id, EventType.TOOL_CALL_COMPLETED, {"done": 1}))
        # Task events record the server's own moves of tasks (RFC-0012): a client cannot post one.
        out["forged_task"] = caught(lambda: client.log_event(created.id, EventType.TASK_PROGRESS, {"done": 1}))
        out["forged"] = caught(lambda: client.log_event(created.id, EventType.STATUS_CHANGED, {"status": "completed"}))
        out["missing_log"] = caught(lambda: client.log_event(MISSING, EventType.COMMENT, {}))

        out["all"] = as_events(client.get_events(created.id))
        out["comments"] = as_events(client.get_events(created.id, event_type=EventType.COMMENT))
        out["latest"] = as_events(client.get_events(created.id, limit=1))
        out["since_first"] = as_events(client.get_events(created.id, since=first.created_at))
        out["missing_events"] = caught(lambda: client.get_events(MISSING))

        # Lease acquisition, renewal and release are logged; 0.9.1 must still parse the whole log.
        held = client.acquire_lease(created.id, "analysis")
        client.renew_lease(created.id, held.id)
        out["after_renewal"] = as_events(client.get_events(created.id))
        client.release_lease(created.id, held.id)
        out["after_release"] = as_events(client.get_events(created.id))
        """
    )
    assert out["comment"]["event_type"] == "comment" and out["comment"]["event_type_is_enum"]
    assert out["comment"]["payload"] == {"note": "hello"}
    assert out["comment"]["actor"] == AGENT
    assert out["bare"]["payload"] == {}
    assert out["llm"]["event_type"] == "llm_request_completed"
    assert out["task"]["event_type"] == "tool_call_completed"
    assert out["forged_task"]["status_code"] == 422
    # Types the server writes itself cannot be posted (422, which 0.9.1 maps to its base error).
    assert out["forged"]["type"] == "OpenIntentError" and out["forged"]["status_code"] == 422
    assert out["missing_log"]["type"] == "NotFoundError"
    assert out["missing_events"]["type"] == "NotFoundError"

    types = [item["event_type"] for item in out["all"]]
    assert types == [
        "tool_call_completed",
        "llm_request_completed",
        "comment",
        "comment",
        "intent_created",
    ]  # newest first
    assert all(item["event_type_is_enum"] for item in out["all"])
    assert [item["event_type"] for item in out["comments"]] == ["comment", "comment"]
    assert [item["event_type"] for item in out["latest"]] == ["tool_call_completed"]
    assert [item["event_type"] for item in out["since_first"]] == [
        "tool_call_completed",
        "llm_request_completed",
        "comment",
    ]

    renewal_types = [item["event_type"] for item in out["after_renewal"]]
    assert renewal_types[:3] == ["lease_acquired", "status_changed", "lease_acquired"]
    renewal = out["after_renewal"][0]
    assert renewal["payload"]["renewed"] is True
    assert out["after_release"][0]["event_type"] == "lease_released"
    assert len(out["after_release"]) == len(out["after_renewal"]) + 1


def test_assign_and_unassign_agents(run_client, live_server_url):
    out = run_client(
        """
        created = client.create_intent("Staffed")
        out["intent_id"] = created.id
        out["self"] = client.assign_agent(created.id)
        out["synth"] = client.assign_agent(created.id, OTHER_AGENT)
        out["synth_again"] = client.assign_agent(created.id, OTHER_AGENT)
        out["unassign_synth"] = client.unassign_agent(created.id, OTHER_AGENT)
        out["unassign_self"] = client.unassign_agent(created.id)
        out["unassign_again"] = caught(lambda: client.unassign_agent(created.id))
        out["missing_assign"] = caught(lambda: client.assign_agent(MISSING))
        out["events"] = as_events(client.get_events(created.id))
        """
    )
    assert out["self"]["agent_id"] == AGENT and out["self"]["role"] == "worker"
    assert out["self"]["intent_id"] == out["intent_id"]
    assert out["synth"]["agent_id"] == OTHER_AGENT
    assert out["synth_again"]["id"] == out["synth"]["id"]  # assigning twice is idempotent
    assert out["unassign_synth"] is None and out["unassign_self"] is None
    assert out["unassign_again"]["type"] == "NotFoundError"
    assert out["missing_assign"]["type"] == "NotFoundError"
    types = [item["event_type"] for item in out["events"]]
    assert types == ["agent_unassigned", "agent_unassigned", "agent_assigned", "agent_assigned", "intent_created"]
    assert server_get(live_server_url, f"/intents/{out['intent_id']}/agents") == []


def test_intent_graph(run_client):
    out = run_client(
        """
        root = client.create_intent("Root")
        a = client.create_child_intent(root.id, "A")
        b = client.create_child_intent(root.id, "B", description="after A", depends_on=[a.id])
        c = client.create_child_intent(a.id, "C", constraints=["careful"], initial_state={"k": 1})
        d = client.create_child_intent(root.id, "D")
        for name, value in {"root": root, "a": a, "b": b, "c": c, "d": d}.items():
            out[name] = as_intent(value)
        out["missing_parent"] = caught(lambda: client.create_child_intent(MISSING, "Orphan"))

        out["children"] = as_intents(client.get_children(root.id))
        out["descendants"] = as_intents(client.get_descendants(root.id))
        out["ancestors"] = as_intents(client.get_ancestors(c.id))
        out["root_ancestors"] = as_intents(client.get_ancestors(root.id))
        out["dependencies"] = as_intents(client.get_dependencies(b.id))
        out["dependents"] = as_intents(client.get_dependents(a.id))
        out["graph"] = client.get_intent_graph(root.id)

        d2 = client.add_dependency(d.id, b.id, d.version)
        out["d_with_b"] = as_intent(d2)
        out["cycle"] = caught(lambda: client.add_dependency(a.id, d.id, a.version))
        out["self_cycle"] = caught(lambda: client.add_dependency(a.id, a.id, a.version))
        out["duplicate"] = caught(lambda: client.add_dependency(d.id, b.id, d2.version))
        out["stale_add"] = caught(lambda: client.add_dependency(d.id, a.id, d.version))
        out["missing_dependency"] = caught(lambda: client.add_dependency(d.id, MISSING, d2.version))
        d3 = client.remove_dependency(d.id, b.id, d2.version)
        out["d_without_b"] = as_intent(d3)
        out["stale_remove"] = caught(lambda: client.remove_dependency(d.id, b.id, d2.version))
        out["not_a_dependency"] = caught(lambda: client.remove_dependency(d.id, b.id, d3.version))

        # Work begins on B while A is unfinished: B is blocked until A completes.
        b_started = client.update_state(b.id, b.version, {"begun": True})
        out["b_started"] = as_intent(b_started)
        out["ready_before"] = as_intents(client.get_ready_intents(root.id))
        out["blocked_before"] = as_intents(client.get_blocked_intents(root.id))

        # A cannot complete while its child C is open; abandon C, then complete A.
        a_started = client.update_state(a.id, a.version, {"begun": True})
        out["a_early"] = caught(lambda: client.set_status(a.id, a_started.version, IntentStatus.COMPLETED))
        client.set_status(c.id, c.version, IntentStatus.ABANDONED)
        out["a_done"] = as_intent(client.set_status(a.id, a_started.version, IntentStatus.COMPLETED))
        out["b_after"] = as_intent(client.get_intent(b.id))
        out["ready_after"] = as_intents(client.get_ready_intents(root.id))
        out["blocked_after"] = as_intents(client.get_blocked_intents(root.id))
        out["graph_after"] = client.get_intent_graph(root.id)
        out["graph_events"] = as_events(client.get_events(d.id))

        for method in ("get_children", "get_descendants", "get_ancestors", "get_dependencies", "get_dependents",
                       "get_ready_intents", "get_blocked_intents", "get_intent_graph"):
            out["missing_" + method] = caught(lambda: getattr(client, method)(MISSING))
        """
    )
    root, a, b, c, d = (out[name]["id"] for name in ("root", "a", "b", "c", "d"))
    for name in ("a", "b", "d"):
        assert out[name]["parent_intent_id"] == root and out[name]["has_parent"]
        assert out[name]["status"] == "draft"
    assert out["c"]["parent_intent_id"] == a
    assert out["c"]["constraints"] == {"rules": ["careful"]} and out["c"]["state"] == {"k": 1}
    assert out["b"]["depends_on"] == [a] and out["b"]["description"] == "after A"
    assert out["missing_parent"]["type"] == "NotFoundError"

    assert ids(out["children"]) == [a, b, d]
    assert ids(out["descendants"]) == [a, c, b, d]  # depth first
    assert ids(out["ancestors"]) == [a, root]  # nearest first
    assert out["root_ancestors"] == []
    assert ids(out["dependencies"]) == [a]
    assert ids(out["dependents"]) == [b]

    graph = out["graph"]
    assert graph["root_id"] == root
    assert set(ids(graph["nodes"])) == {root, a, b, c, d}
    assert {"from": a, "to": b, "type": "dependency"} in graph["edges"]
    assert {"from": root, "to": a, "type": "parent"} in graph["edges"]
    assert graph["aggregate_status"]["total"] == 5

    assert out["d_with_b"]["depends_on"] == [b] and out["d_with_b"]["version"] == 2
    for name in ("cycle", "self_cycle", "duplicate"):
        assert out[name]["type"] == "ValidationError" and out[name]["status_code"] == 400, (name, out[name])
    assert "cycle" in out["cycle"]["response"]["detail"]
    assert out["stale_add"]["type"] == "ConflictError" and out["stale_add"]["current_version"] == 2
    assert out["missing_dependency"]["type"] == "NotFoundError"
    assert out["d_without_b"]["depends_on"] == [] and out["d_without_b"]["version"] == 3
    assert out["stale_remove"]["type"] == "ConflictError" and out["stale_remove"]["current_version"] == 3
    assert out["not_a_dependency"]["type"] == "NotFoundError"

    assert out["b_started"]["status"] == "blocked"
    assert ids(out["ready_before"]) == [a, d]
    assert ids(out["blocked_before"]) == [b]
    assert out["a_early"]["type"] == "ConflictError"
    assert out["a_done"]["status"] == "completed"
    assert out["b_after"]["status"] == "active"  # unblocked when its last dependency completed
    assert ids(out["ready_after"]) == [b, d]
    assert out["blocked_after"] == []
    assert out["graph_after"]["aggregate_status"]["by_status"]["completed"] == 1
    graph_types = [item["event_type"] for item in out["graph_events"]]
    assert graph_types == ["dependency_removed", "dependency_added", "intent_created"]

    for method in ("get_children", "get_descendants", "get_ancestors", "get_dependencies", "get_dependents"):
        assert out["missing_" + method]["type"] == "NotFoundError", method
    for method in ("get_ready_intents", "get_blocked_intents", "get_intent_graph"):
        assert out["missing_" + method]["type"] == "NotFoundError", method


def test_leases(run_client, live_server_url):
    out = run_client(
        """
        created = client.create_intent("Leased")
        out["intent_id"] = created.id
        held = client.acquire_lease(created.id, "analysis")
        out["held"] = as_lease(held)
        out["intent_after_acquire"] = as_intent(client.get_intent(created.id))
        out["listed"] = [as_lease(item) for item in client.get_leases(created.id)]
        out["renewed"] = as_lease(client.renew_lease(created.id, held.id, duration_seconds=900))
        out["renewed_default"] = as_lease(client.renew_lease(created.id, held.id))

        out["taken_by_other"] = caught(lambda: other.acquire_lease(created.id, "analysis"))
        out["taken_by_self"] = caught(lambda: client.acquire_lease(created.id, "analysis"))
        out["other_renews"] = caught(lambda: other.renew_lease(created.id, held.id))
        out["other_releases"] = caught(lambda: other.release_lease(created.id, held.id))
        out["release"] = client.release_lease(created.id, held.id)
        out["release_again"] = client.release_lease(created.id, held.id)
        out["renew_released"] = caught(lambda: client.renew_lease(created.id, held.id))
        out["after_release"] = [as_lease(item) for item in client.get_leases(created.id)]

        with client.lease(created.id, "synthesis", duration_seconds=120) as scoped:
            out["scoped"] = as_lease(scoped)
            out["inside"] = [as_lease(item) for item in client.get_leases(created.id)]
            out["inside_other"] = caught(lambda: other.acquire_lease(created.id, "synthesis"))
            out["inside_self"] = caught(lambda: client.acquire_lease(created.id, "synthesis"))
        out["after_context"] = [as_lease(item) for item in client.get_leases(created.id)]
        followup = other.acquire_lease(created.id, "synthesis")
        out["followup"] = as_lease(followup)
        other.release_lease(created.id, followup.id)

        # A state key that is a scope leased by someone else cannot be patched by anyone else.
        guard = other.acquire_lease(created.id, "draft")
        current = client.get_intent(created.id)
        out["guarded_patch"] = caught(lambda: client.update_state(created.id, current.version, {"draft": "mine"}))
        out["unguarded_patch"] = as_intent(client.update_state(created.id, current.version, {"notes": "ok"}))
        other.release_lease(created.id, guard.id)

        out["missing_intent"] = caught(lambda: client.acquire_lease(MISSING, "analysis"))
        out["missing_lease_release"] = caught(lambda: client.release_lease(created.id, MISSING))
        out["missing_lease_renew"] = caught(lambda: client.renew_lease(created.id, MISSING))
        out["missing_lease_list"] = caught(lambda: client.get_leases(MISSING))
        out["events"] = as_events(client.get_events(created.id))
        """
    )
    intent_id = out["intent_id"]
    held = out["held"]
    assert held["intent_id"] == intent_id and held["scope"] == "analysis"
    assert held["agent_id"] == AGENT
    assert held["status"] == "active" and held["status_is_enum"]
    # 0.9.1's is_active compares the aware expires_at with naive datetime.now(): since timestamps carry their
    # offset it raises (accepted, see the README's "Deliberate differences"); status and expires_at still tell.
    assert held["is_active"]["type"] == "TypeError"
    assert "offset-naive and offset-aware" in held["is_active"]["message"]
    assert held["created_at"] < held["expires_at"]
    assert out["intent_after_acquire"]["status"] == "active"  # a lease starts the work on a draft
    assert ids(out["listed"]) == [held["id"]]
    assert out["renewed"]["id"] == held["id"] and out["renewed"]["expires_at"] > held["expires_at"]
    assert out["renewed_default"]["expires_at"] < out["renewed"]["expires_at"]  # 300 s from now < 900 s from now
    assert out["renewed_default"]["is_active"]["type"] == "TypeError"

    for name in ("taken_by_other", "taken_by_self"):
        conflict = out[name]
        assert conflict["type"] == "LeaseConflictError" and conflict["status_code"] == 409, (name, conflict)
        assert conflict["existing_lease"]["id"] == held["id"]
        assert conflict["existing_lease"]["agent_id"] == AGENT
    assert out["other_renews"]["status_code"] == 403 and out["other_releases"]["status_code"] == 403
    assert out["release"] is None and out["release_again"] is None
    assert out["renew_released"]["type"] == "LeaseConflictError"
    assert out["after_release"] == []

    scoped = out["scoped"]
    assert scoped["scope"] == "synthesis" and scoped["is_active"]["type"] == "TypeError"
    assert ids(out["inside"]) == [scoped["id"]]
    for name in ("inside_other", "inside_self"):
        assert out[name]["type"] == "LeaseConflictError", (name, out[name])
        assert out[name]["existing_lease"]["id"] == scoped["id"]
        assert out[name]["existing_lease"]["status"] == "active"
    assert out["after_context"] == []
    assert out["followup"]["agent_id"] == OTHER_AGENT

    assert out["guarded_patch"]["type"] == "LeaseConflictError"
    assert out["guarded_patch"]["existing_lease"]["agent_id"] == OTHER_AGENT
    assert out["unguarded_patch"]["state"] == {"notes": "ok"}

    assert out["missing_intent"]["type"] == "NotFoundError"
    assert out["missing_lease_release"]["type"] == "NotFoundError"
    assert out["missing_lease_renew"]["type"] == "NotFoundError"
    assert out["missing_lease_list"]["type"] == "NotFoundError"
    assert all(item["event_type_is_enum"] for item in out["events"])

    # Through the server: the context manager's lease was released on exit, not left to expire.
    history = by_id(server_get(live_server_url, f"/intents/{intent_id}/leases", include="all")["leases"])
    assert history[scoped["id"]]["status"] == "released"
    assert history[scoped["id"]]["released_at"] is not None
    assert history[held["id"]]["status"] == "released"
    assert all(item["status"] == "released" for item in history.values())
    assert server_get(live_server_url, f"/intents/{intent_id}/leases")["leases"] == []


def test_async_client(run_client):
    out = run_client(
        """
        async def main():
            async with AsyncOpenIntentClient(URL, KEY, AGENT) as aclient:
                out["discover"] = await aclient.discover()
                created = await aclient.create_intent("Async", "made by the async client")
                out["created"] = as_intent(created)
                out["constrained"] = as_intent(
                    await aclient.create_intent("Async 2", "", constraints={"budget": 10}, initial_state={"s": 1})
                )
                out["fetched"] = as_intent(await aclient.get_intent(created.id))
                out["missing"] = await caught_async(aclient.get_intent(MISSING))
                out["all"] = as_intents(await aclient.list_intents())
                out["drafts"] = as_intents(await aclient.list_intents(status=IntentStatus.DRAFT))

                patched = await aclient.update_state(created.id, created.version, {"progress": 0.5})
                out["patched"] = as_intent(patched)
                out["stale"] = await caught_async(aclient.update_state(created.id, created.version, {"x": 1}))
                blocked = await aclient.set_status(created.id, patched.version, IntentStatus.BLOCKED)
                out["blocked"] = as_intent(blocked)
                active = await aclient.set_status(created.id, blocked.version, IntentStatus.ACTIVE)
                out["active"] = as_intent(await aclient.get_intent(created.id))

                out["event"] = as_event(await aclient.log_event(created.id, EventType.COMMENT, {"note": "async"}))
                out["assigned"] = await aclient.assign_agent(created.id)
                out["unassigned"] = await aclient.unassign_agent(created.id)
                out["unassign_again"] = await caught_async(aclient.unassign_agent(created.id))

                held = await aclient.acquire_lease(created.id, "analysis")
                out["held"] = as_lease(held)
                out["listed"] = [as_lease(item) for item in await aclient.get_leases(created.id)]
                out["renewed"] = as_lease(await aclient.renew_lease(created.id, held.id, duration_seconds=600))
                out["conflict"] = await caught_async(aclient.acquire_lease(created.id, "analysis"))
                out["released"] = await aclient.release_lease(created.id, held.id)
                out["after_release"] = [as_lease(item) for item in await aclient.get_leases(created.id)]

                out["events"] = as_events(await aclient.get_events(created.id))
                out["comments"] = as_events(await aclient.get_events(created.id, event_type=EventType.COMMENT))
                completed = await aclient.set_status(created.id, active.version, IntentStatus.COMPLETED)
                out["completed"] = as_intent(completed)

        asyncio.run(main())
        """
    )
    assert out["discover"]["protocol"] == "OpenIntent Coordination Protocol"
    created = out["created"]
    assert created["constraints"] == {} and created["status"] == "draft" and created["created_by"] == AGENT
    assert out["constrained"]["constraints"] == {"budget": 10} and out["constrained"]["state"] == {"s": 1}
    assert out["fetched"]["description"] == "made by the async client"
    assert out["missing"]["type"] == "NotFoundError"
    assert {created["id"], out["constrained"]["id"]} == set(ids(out["all"])) == set(ids(out["drafts"]))

    assert out["patched"]["version"] == 2 and out["patched"]["status"] == "active"
    assert out["stale"]["type"] == "ConflictError" and out["stale"]["current_version"] == 2
    assert out["blocked"]["status"] == "blocked"
    assert out["active"]["status"] == "active" and out["active"]["version"] == 4

    assert out["event"]["event_type"] == "comment" and out["event"]["payload"] == {"note": "async"}
    assert out["assigned"]["agent_id"] == AGENT
    assert out["unassigned"] is None
    assert out["unassign_again"]["type"] == "NotFoundError"

    assert out["held"]["status"] == "active" and out["held"]["is_active"]["type"] == "TypeError"
    assert ids(out["listed"]) == [out["held"]["id"]]
    assert out["renewed"]["expires_at"] > out["held"]["expires_at"]
    assert out["conflict"]["type"] == "LeaseConflictError"
    assert out["conflict"]["existing_lease"]["id"] == out["held"]["id"]
    assert out["released"] is None and out["after_release"] == []

    types = [item["event_type"] for item in out["events"]]
    assert types[:4] == ["lease_released", "lease_acquired", "lease_acquired", "agent_unassigned"]
    assert [item["event_type"] for item in out["comments"]] == ["comment"]
    assert out["completed"]["status"] == "completed" and out["completed"]["version"] == 5


def test_readme_client_usage_flow(run_client, live_server_url):
    """The product README's "Client Usage" example, passing the status as an enum (sdk.md B-08)."""
    out = run_client(
        """
        # The README's example, verbatim except for IntentStatus.COMPLETED in place of "completed".
        intent = client.create_intent(
            title="Research market trends",
            description="Analyze Q4 market data",
            constraints={"deadline": "2024-02-01"}
        )
        out["created"] = as_intent(intent)

        patched = client.update_state(
            intent.id, intent.version,
            {"progress": 0.5, "phase": "analysis"}
        )
        out["patched"] = as_intent(patched)

        with client.lease(intent.id, "analysis", duration_seconds=300) as lease:
            out["lease"] = as_lease(lease)  # Exclusive scope access

        done = client.set_status(intent.id, intent.version + 1, IntentStatus.COMPLETED)
        out["done"] = as_intent(done)

        out["final"] = as_intent(client.get_intent(intent.id))
        out["events"] = as_events(client.get_events(intent.id))
        # As the README writes it, with a string: 0.9.1 itself fails before sending anything (B-08).
        out["string_status"] = caught(lambda: client.set_status(intent.id, intent.version + 1, "completed"))
        """
    )
    created = out["created"]
    assert created["constraints"] == {"deadline": "2024-02-01"} and created["version"] == 1
    assert out["patched"]["version"] == 2 and out["patched"]["status"] == "active"
    assert out["lease"]["scope"] == "analysis" and out["lease"]["is_active"]["type"] == "TypeError"
    assert out["done"]["status"] == "completed" and out["done"]["version"] == 3
    final = out["final"]
    assert final["status"] == "completed" and final["state"] == {"progress": 0.5, "phase": "analysis"}
    types = [item["event_type"] for item in reversed(out["events"])]
    assert types == [
        "intent_created",
        "status_changed",  # draft -> active on the first patch
        "state_patched",
        "lease_acquired",
        "lease_released",
        "status_changed",  # active -> completed
    ]
    assert out["string_status"]["type"] == "AttributeError"
    leases = server_get(live_server_url, f"/intents/{created['id']}/leases", include="all")["leases"]
    assert [item["status"] for item in leases] == ["released"]
