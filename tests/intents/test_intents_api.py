"""RFC-0001 routes through the API: intents, state, status, events and agents."""

import base64
import datetime
import uuid

import pytest

from openintent_site.models import IntentEvent
from tests.conftest import event_log, new_intent, versioned

INTENTS = "/api/v1/intents"
ALL_STATUSES = ["draft", "active", "blocked", "completed", "abandoned"]
LEGAL = {
    ("draft", "active"),
    ("draft", "abandoned"),
    ("active", "blocked"),
    ("active", "completed"),
    ("active", "abandoned"),
    ("blocked", "active"),
    ("blocked", "abandoned"),
}


def intent_url(intent, tail=""):
    return f"{INTENTS}/{intent['id']}{tail}"


def set_status(client, intent, status, version=None):
    return versioned(client, "post", intent_url(intent, "/status"), version or intent["version"], {"status": status})


def in_status(client, status, **fields):
    """An intent brought to ``status`` through legal transitions only."""
    intent = new_intent(client, **fields)
    path = {"draft": [], "active": ["active"], "blocked": ["active", "blocked"], "completed": ["active", "completed"]}
    for step in path.get(status, ["abandoned"]):
        response = set_status(client, intent, step)
        assert response.status_code == 200, response.content
        intent = response.json()
    assert intent["status"] == status
    return intent


# Create -------------------------------------------------------------------------------------------------------


def test_create_with_only_a_title_takes_the_defaults(api):
    response = api.post(INTENTS, {"title": "Plan trip"}, format="json")

    assert response.status_code == 200
    body = response.json()
    uuid.UUID(body["id"])
    assert {key: body[key] for key in body if key not in ("id", "created_at", "updated_at")} == {
        "title": "Plan trip",
        "description": "",
        "created_by": "agent-research",
        "parent_id": None,
        "parent_intent_id": None,
        "depends_on": [],
        "constraints": {},
        "state": {},
        "status": "draft",
        "confidence": 0,
        "version": 1,
        "type": None,
        "namespace": None,
        "priority": "medium",
        "tags": [],
        "trigger_lineage": None,
    }
    assert response["ETag"] == '"1"'
    assert [(e["event_type"], e["payload"]) for e in event_log(api, body["id"])] == [
        ("intent_created", {"title": "Plan trip", "status": "draft"})
    ]


@pytest.mark.parametrize(
    ("constraints", "stored"),
    [([], {}), (["no weekends", "cheap"], {"rules": ["no weekends", "cheap"]}), ({"deadline": "x"}, {"deadline": "x"})],
)
def test_create_as_the_091_client_sends_it(api, constraints, stored):
    sent = {
        "title": "Research",
        "description": "market trends",
        "constraints": constraints,
        "state": {"progress": 0},
        "created_by": "agent-research",
    }
    body = api.post(INTENTS, sent, format="json", HTTP_X_AGENT_ID="agent-research").json()

    assert (body["description"], body["constraints"], body["state"]) == ("market trends", stored, {"progress": 0})
    assert api.get(intent_url(body)).json() == body


def test_create_active_intent(api):
    assert new_intent(api, status="active")["status"] == "active"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", None),
        ("title", ["a list"]),
        ("title", "x" * 501),
        ("state", "not an object"),
        ("state", [1, 2]),
        ("constraints", 5),
        ("constraints", "strict"),
        ("depends_on", "one-id"),
        ("confidence", "high"),
        ("confidence", 101),
        ("status", "completed"),
        ("status", "nonsense"),
        ("description", {"rich": "text"}),
    ],
)
def test_create_refuses_a_bad_type_naming_the_field(api, field, value):
    response = api.post(INTENTS, {"title": "ok", field: value}, format="json")

    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [error["loc"] for error in errors] == [["body", field]]
    assert {"type", "msg", "input"} <= set(errors[0])


def test_create_without_a_title_is_a_missing_field(api):
    response = api.post(INTENTS, {"description": "x"}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"][0] | {"msg": None} == {
        "type": "missing",
        "loc": ["body", "title"],
        "msg": None,
        "input": None,
    }


@pytest.mark.parametrize("raw", ["{", '{"title": }', "{'title': 'single quotes'}", "\xff"])
def test_create_with_malformed_json_is_422_and_creates_nothing(api, raw):
    response = api.generic("POST", INTENTS, raw.encode("latin-1"), content_type="application/json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert api.get(INTENTS).json()["intents"] == []


@pytest.mark.parametrize("raw", [b"", b"[]", b'"title"', b"null"])
def test_create_without_an_object_body_is_422(api, raw):
    response = api.generic("POST", INTENTS, raw, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


def test_create_with_a_non_json_content_type_is_422_not_415(api):
    response = api.generic("POST", INTENTS, b"title=x", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 422


def test_create_with_a_parent_and_dependencies(api):
    parent = new_intent(api, title="parent")
    dependency = new_intent(api, title="dependency")

    child = new_intent(api, parent_intent_id=parent["id"], depends_on=[dependency["id"]])

    assert (child["parent_id"], child["parent_intent_id"]) == (parent["id"], parent["id"])
    assert child["depends_on"] == [dependency["id"]]
    assert new_intent(api, parent_id=parent["id"])["parent_id"] == parent["id"]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"parent_intent_id": str(uuid.uuid4())}, 404),
        ({"parent_intent_id": "not-a-uuid"}, 422),
        ({"depends_on": [str(uuid.uuid4())]}, 404),
    ],
)
def test_create_with_a_missing_reference_creates_nothing(api, fields, status):
    response = api.post(INTENTS, {"title": "orphan", **fields}, format="json")

    assert response.status_code == status
    assert api.get(INTENTS).json()["intents"] == []


# Get ----------------------------------------------------------------------------------------------------------


def test_get_answers_the_intent_with_its_etag(api):
    intent = new_intent(api, state={"a": 1})

    response = api.get(intent_url(intent))

    assert response.status_code == 200
    assert response.json() == intent
    assert response["ETag"] == '"1"'


@pytest.mark.parametrize("intent_id", [str(uuid.uuid4()), "garbage", "1", "%20"])
def test_get_unknown_or_garbage_id_is_404(api, intent_id):
    response = api.get(f"{INTENTS}/{intent_id}")

    assert response.status_code == 404
    assert response.json()["detail"] == "Intent not found"


# List ---------------------------------------------------------------------------------------------------------


def listed(client, **params):
    response = client.get(INTENTS, params)
    assert response.status_code == 200, response.content
    return response.json()


def titles(page):
    return [intent["title"] for intent in page["intents"]]


def test_list_is_newest_first_with_the_page_bounds(api):
    for title in ["one", "two", "three"]:
        new_intent(api, title=title)

    page = listed(api)

    assert titles(page) == ["three", "two", "one"]
    assert (page["limit"], page["offset"], page["next_cursor"]) == (50, 0, None)


def test_list_filters(api, other_api):
    parent = new_intent(api, title="Parent report")
    child = api.post(intent_url(parent, "/children"), {"title": "Child report"}, format="json").json()
    new_intent(api, title="Weekly REPORT", status="active")
    new_intent(other_api, title="Someone else's")

    assert titles(listed(api, status="active")) == ["Weekly REPORT"]
    assert titles(listed(api, created_by="agent-synth")) == ["Someone else's"]
    assert titles(listed(api, parent_id=parent["id"])) == ["Child report"]
    assert titles(listed(api, parent_id=child["id"])) == []
    assert titles(listed(api, q="report")) == ["Weekly REPORT", "Child report", "Parent report"]
    assert titles(listed(api, q="report", status="draft", created_by="agent-research")) == [
        "Child report",
        "Parent report",
    ]
    assert titles(listed(api, q="nothing like it")) == []


@pytest.mark.parametrize("parent_id", ["garbage", str(uuid.uuid4())])
def test_list_children_of_an_unknown_parent_is_empty(api, parent_id):
    new_intent(api, title="top level")

    assert titles(listed(api, parent_id=parent_id)) == []


def test_list_limit_and_offset(api):
    for number in range(5):
        new_intent(api, title=f"n{number}")

    assert titles(listed(api, limit=2)) == ["n4", "n3"]
    assert titles(listed(api, limit=2, offset=2)) == ["n2", "n1"]
    assert titles(listed(api, limit=2, offset=4)) == ["n0"]
    assert titles(listed(api, offset=9)) == []


def crafted_cursor(created_at, pk="00000000-0000-4000-8000-000000000000"):
    return base64.urlsafe_b64encode(f"{created_at}|{pk}".encode()).decode()


def test_a_cursor_in_another_offset_reads_the_same_instant(api):
    for number in range(3):
        new_intent(api, title=f"n{number}")
    cursor = listed(api, limit=1)["next_cursor"]
    created_at, pk = base64.urlsafe_b64decode(cursor).decode().split("|")
    shifted = datetime.datetime.fromisoformat(created_at).astimezone(datetime.timezone(datetime.timedelta(hours=-9)))

    assert titles(listed(api, cursor=crafted_cursor(shifted.isoformat(), pk))) == ["n1", "n0"]
    # An offset beyond what PostgreSQL's timestamptz takes (±15:59) used to fail the query.
    assert listed(api, cursor=crafted_cursor("2020-01-01T00:00:00-23:59", pk))["intents"] == []


def test_cursor_paging_walks_every_intent_once(api):
    for number in range(5):
        new_intent(api, title=f"n{number}")

    seen, cursor = [], None
    while True:
        page = listed(api, limit=2, **({"cursor": cursor} if cursor else {}))
        seen.extend(titles(page))
        cursor = page["next_cursor"]
        if cursor is None:
            break
        new_intent(api, title="created while paging")

    assert seen == ["n4", "n3", "n2", "n1", "n0"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "nonsense"}, "status"),
        ({"offset": 2**63}, "offset"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "bm90fGEtdXVpZA=="}, "cursor"),
        ({"cursor": crafted_cursor("2020-01-01T00:00:00")}, "cursor"),
        ({"cursor": crafted_cursor("9999-12-31T23:59:59-05:00")}, "cursor"),
        ({"cursor": crafted_cursor("0001-01-01T00:00:00+05:00")}, "cursor"),
    ],
)
def test_list_refuses_bad_query_parameters(api, params, loc):
    response = api.get(INTENTS, params)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", loc]]


# State --------------------------------------------------------------------------------------------------------


def patch(client, intent, data, version=None):
    return versioned(client, "post", intent_url(intent, "/state"), version or intent["version"], data)


def test_state_patches_set_append_and_remove(api):
    intent = new_intent(api, state={"draft": True, "log": ["created"]})

    response = patch(
        api,
        intent,
        {
            "patches": [
                {"op": "set", "path": "/hotel/choice", "value": "Ritz"},
                {"op": "set", "path": "budget", "value": 300},
                {"op": "append", "path": "/log", "value": "picked"},
                {"op": "append", "path": "steps", "value": 1},
                {"op": "remove", "path": "/draft"},
                {"op": "remove", "path": "/not/there"},
                {"op": "set", "path": "/a~1b", "value": "escaped"},
            ]
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == {
        "hotel": {"choice": "Ritz"},
        "budget": 300,
        "log": ["created", "picked"],
        "steps": [1],
        "a/b": "escaped",
    }
    assert body["version"] == 2
    assert response["ETag"] == '"2"'
    assert api.get(intent_url(intent)).json() == body
    logged = event_log(api, intent["id"], event_type="state_patched")
    assert logged[0]["payload"]["version"] == 2
    assert logged[0]["payload"]["patches"][0] == {"op": "set", "path": "/hotel/choice", "value": "Ritz"}


def test_state_shorthand_object_sets_each_key(api):
    intent = new_intent(api, state={"keep": 1, "progress": {"old": True}})

    body = patch(api, intent, {"state": {"progress": 0.5, "notes": ["n"]}}).json()

    assert body["state"] == {"keep": 1, "progress": 0.5, "notes": ["n"]}
    patches = event_log(api, intent["id"], event_type="state_patched")[0]["payload"]["patches"]
    assert patches == [
        {"op": "set", "path": "progress", "value": 0.5},
        {"op": "set", "path": "notes", "value": ["n"]},
    ]


def test_patches_win_over_the_shorthand(api):
    intent = new_intent(api)

    body = patch(api, intent, {"patches": [{"op": "set", "path": "a", "value": 1}], "state": {"b": 2}}).json()

    assert body["state"] == {"a": 1}


def test_an_empty_patch_still_bumps_the_version(api):
    intent = new_intent(api, state={"a": 1})

    body = patch(api, intent, {}).json()

    assert (body["state"], body["version"]) == ({"a": 1}, 2)


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({"patches": [{"op": "replace", "path": "a", "value": 1}]}, ["body", "patches", 0, "op"]),
        ({"patches": [{"path": "a", "value": 1}]}, ["body", "patches", 0, "op"]),
        ({"patches": [{"op": "set", "value": 1}]}, ["body", "patches", 0, "path"]),
        ({"patches": [{"op": "set", "path": "a"}, {"op": "set", "path": "/"}]}, ["body", "patches", 1, "path"]),
        ({"patches": {"op": "set"}}, ["body", "patches"]),
        ({"state": ["not", "an", "object"]}, ["body", "state"]),
        (
            {"patches": [{"op": "set", "path": "a", "value": 1}, {"op": "set", "path": "a/b", "value": 2}]},
            ["body", "patches", 1, "path"],
        ),
        (
            {"patches": [{"op": "set", "path": "a", "value": 1}, {"op": "append", "path": "a", "value": 2}]},
            ["body", "patches", 1, "path"],
        ),
    ],
)
def test_a_bad_patch_is_422_and_changes_nothing(api, data, loc):
    intent = new_intent(api, state={"kept": True})

    response = patch(api, intent, data)

    assert response.status_code == 422
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert api.get(intent_url(intent)).json() == intent
    assert [event["event_type"] for event in event_log(api, intent["id"])] == ["intent_created"]


@pytest.mark.parametrize("if_match", [None, "", "abc", "0", "-1", "3.0", '"x"'])
def test_state_needs_a_parsable_if_match(api, if_match):
    intent = new_intent(api)
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}

    response = api.post(intent_url(intent, "/state"), {"state": {"a": 1}}, format="json", **headers)

    assert response.status_code == 400
    if if_match:
        assert repr(if_match) in response.json()["detail"]
    else:
        assert response.json()["detail"] == "If-Match header required"
    assert api.get(intent_url(intent)).json()["version"] == 1


@pytest.mark.parametrize("if_match", ["1", " 1 ", '"1"', 'W/"1"'])
def test_if_match_takes_a_bare_number_or_an_etag(api, if_match):
    intent = new_intent(api)

    response = api.post(intent_url(intent, "/state"), {"state": {"a": 1}}, format="json", HTTP_IF_MATCH=if_match)

    assert response.status_code == 200
    assert response.json()["version"] == 2


def test_the_etag_of_a_response_is_accepted_as_if_match(api):
    intent = new_intent(api)
    etag = api.get(intent_url(intent))["ETag"]

    response = api.post(intent_url(intent, "/state"), {"state": {"a": 1}}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 200
    assert response["ETag"] == '"2"'


def test_a_stale_version_is_409_with_the_current_version(api):
    intent = new_intent(api)
    assert patch(api, intent, {"state": {"a": 1}}).status_code == 200

    response = patch(api, intent, {"state": {"a": 2}}, version=1)

    assert response.status_code == 409
    body = response.json()
    assert (body["detail"], body["current_version"]) == ("Version conflict", 2)
    assert "lease" not in response.content.decode().lower()
    assert api.get(intent_url(intent)).json()["state"] == {"a": 1}


def test_a_version_ahead_is_also_a_conflict(api):
    intent = new_intent(api)

    assert patch(api, intent, {"state": {"a": 1}}, version=7).status_code == 409


@pytest.mark.parametrize("route", ["/state", "/status"])
def test_versioned_write_on_an_unknown_intent_is_404(api, route):
    response = api.post(f"{INTENTS}/{uuid.uuid4()}{route}", {"status": "active"}, format="json", HTTP_IF_MATCH="1")

    assert response.status_code == 404
    assert response.json()["detail"] == "Intent not found"


@pytest.mark.parametrize("route", ["/state", "/status"])
def test_missing_if_match_is_checked_before_existence(api, route):
    response = api.post(f"{INTENTS}/{uuid.uuid4()}{route}", {"status": "active"}, format="json")

    assert response.status_code == 400


# Status -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transition(api, current, target):
    intent = in_status(api, current)

    response = set_status(api, intent, target)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["version"]) == (target, intent["version"] + 1)
    changed = event_log(api, intent["id"], event_type="status_changed")[-1]
    assert changed["payload"] == {"status": target, "previous_status": current, "version": body["version"]}
    assert changed["actor"] == "agent-research"


@pytest.mark.parametrize(
    ("current", "target"),
    sorted((c, t) for c in ALL_STATUSES for t in ALL_STATUSES if c != t and (c, t) not in LEGAL),
)
def test_illegal_transition_is_409_naming_both_states(api, current, target):
    intent = in_status(api, current)
    before = event_log(api, intent["id"])

    response = set_status(api, intent, target)

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert current in detail
    assert target in detail
    assert api.get(intent_url(intent)).json() == intent
    assert event_log(api, intent["id"]) == before


def test_draft_to_completed_is_refused_with_both_names(api):
    intent = new_intent(api)

    response = set_status(api, intent, "completed")

    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "Cannot change status from draft to completed"
    assert body["current_status"] == "draft"
    assert body["allowed"] == ["abandoned", "active"]


def test_status_change_keeps_the_reason(api):
    intent = new_intent(api)

    set_status(api, intent, "abandoned")
    reasoned = new_intent(api)
    versioned(api, "post", intent_url(reasoned, "/status"), 1, {"status": "abandoned", "reason": "out of scope"})

    assert event_log(api, reasoned["id"], event_type="status_changed")[0]["payload"]["reason"] == "out of scope"
    assert "reason" not in event_log(api, intent["id"], event_type="status_changed")[0]["payload"]


@pytest.mark.parametrize("data", [{}, {"status": "nonsense"}, {"status": None}, {"status": 3}])
def test_status_body_is_validated(api, data):
    intent = new_intent(api)

    response = versioned(api, "post", intent_url(intent, "/status"), 1, data)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "status"]


def test_status_stale_version_is_409(api):
    intent = new_intent(api)

    response = set_status(api, intent, "active", version=5)

    assert response.status_code == 409
    assert response.json()["current_version"] == 1


def test_first_state_patch_activates_a_draft(api):
    intent = new_intent(api)

    body = patch(api, intent, {"state": {"progress": 0.1}}).json()

    assert (body["status"], body["version"]) == ("active", 2)
    assert [(e["event_type"], e["payload"].get("status")) for e in event_log(api, intent["id"])] == [
        ("intent_created", "draft"),
        ("status_changed", "active"),
        ("state_patched", None),
    ]
    changed = event_log(api, intent["id"], event_type="status_changed")[0]["payload"]
    # One write, one step: the status change is logged with the version the patch led to.
    assert (changed["previous_status"], changed["reason"], changed["version"]) == ("draft", "state patched", 2)
    second = patch(api, body, {"state": {"progress": 0.2}}).json()
    assert len(event_log(api, second["id"], event_type="status_changed")) == 1


def test_first_lease_activates_a_draft(api):
    intent = new_intent(api)

    lease = api.post(intent_url(intent, "/leases"), {"scope": "analysis"}, format="json")

    assert lease.status_code == 200
    body = api.get(intent_url(intent)).json()
    assert (body["status"], body["version"]) == ("active", 2)
    assert [e["event_type"] for e in event_log(api, intent["id"])] == [
        "intent_created",
        "lease_acquired",
        "status_changed",
    ]
    changed = event_log(api, intent["id"], event_type="status_changed")[0]["payload"]
    assert (changed["reason"], changed["version"]) == ("lease acquired on analysis", 2)
    stale = patch(api, intent, {"state": {"progress": 0.1}}, version=1)
    assert (stale.status_code, stale.json()["current_version"]) == (409, 2)

    api.post(intent_url(intent, "/leases"), {"scope": "writing"}, format="json")
    assert api.get(intent_url(intent)).json()["version"] == 2  # a lease on active work changes no status


@pytest.mark.parametrize("terminal", ["completed", "abandoned"])
@pytest.mark.parametrize(
    ("method", "tail", "data", "needs_version"),
    [
        ("post", "/state", {"state": {"a": 1}}, True),
        ("post", "/status", {"status": "active"}, True),
        ("post", "/agents", {"agent_id": "late-agent"}, False),
        ("post", "/leases", {"scope": "late"}, False),
        ("post", "/children", {"title": "late child"}, False),
    ],
)
def test_terminal_intents_refuse_changes(api, terminal, method, tail, data, needs_version):
    intent = in_status(api, terminal)
    before = event_log(api, intent["id"])
    headers = {"HTTP_IF_MATCH": str(intent["version"])} if needs_version else {}

    response = getattr(api, method)(intent_url(intent, tail), data, format="json", **headers)

    assert response.status_code == 409
    assert terminal in response.json()["detail"]
    assert api.get(intent_url(intent)).json() == intent
    assert event_log(api, intent["id"]) == before


@pytest.mark.parametrize("terminal", ["completed", "abandoned"])
def test_setting_the_same_terminal_status_again_changes_nothing(api, terminal):
    intent = in_status(api, terminal)

    response = set_status(api, intent, terminal)

    assert response.status_code == 200
    assert api.get(intent_url(intent)).json() == intent


# Events -------------------------------------------------------------------------------------------------------


def post_event(client, intent, event_type, payload=None, **extra):
    data = {"event_type": event_type, **({"payload": payload} if payload is not None else {}), **extra}
    return client.post(intent_url(intent, "/events"), data, format="json")


def test_append_an_event_records_the_caller_not_the_body_actor(api):
    intent = new_intent(api)

    response = post_event(api, intent, "llm_request_started", {"model": "m"}, actor="someone-else")

    assert response.status_code == 200
    event = response.json()
    assert {key: event[key] for key in ("intent_id", "event_type", "actor", "payload")} == {
        "intent_id": intent["id"],
        "event_type": "llm_request_started",
        "actor": "agent-research",
        "payload": {"model": "m"},
    }
    assert event_log(api, intent["id"])[-1] == event
    assert api.get(intent_url(intent)).json()["version"] == 1


def test_append_defaults_to_an_empty_payload(api):
    intent = new_intent(api)

    assert post_event(api, intent, "comment").json()["payload"] == {}


def test_events_can_still_be_appended_to_a_finished_intent(api):
    intent = in_status(api, "completed")

    assert post_event(api, intent, "comment", {"text": "post mortem"}).status_code == 200


@pytest.mark.parametrize(
    "event_type",
    [
        "intent_created",
        "state_patched",
        "status_changed",
        "agent_assigned",
        "agent_unassigned",
        "dependency_added",
        "dependency_removed",
        "lease_acquired",
        "lease_released",
        "added_to_portfolio",
        "removed_from_portfolio",
    ],
)
def test_server_event_types_cannot_be_posted(api, event_type):
    intent = new_intent(api)

    response = post_event(api, intent, event_type, {"forged": True})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "event_type"]
    assert [e["event_type"] for e in event_log(api, intent["id"])] == ["intent_created"]


@pytest.mark.parametrize(
    "data",
    [{}, {"event_type": ""}, {"event_type": "x" * 101}, {"event_type": "ok", "payload": "text"}],
)
def test_append_validates_the_body(api, data):
    intent = new_intent(api)

    response = api.post(intent_url(intent, "/events"), data, format="json")

    assert response.status_code == 422
    assert IntentEvent.objects.filter(intent_id=intent["id"]).count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_events_of_an_unknown_intent_are_404(api, method):
    response = getattr(api, method)(f"{INTENTS}/{uuid.uuid4()}/events", {"event_type": "comment"}, format="json")

    assert response.status_code == 404
    assert response.json()["detail"] == "Intent not found"


def test_read_the_log_newest_first_with_filters(api):
    intent = new_intent(api)
    for number in range(4):
        post_event(api, intent, "comment" if number % 2 else "note", {"n": number})

    newest_first = api.get(intent_url(intent, "/events")).json()
    assert [(e["event_type"], e["payload"].get("n")) for e in newest_first] == [
        ("comment", 3),
        ("note", 2),
        ("comment", 1),
        ("note", 0),
        ("intent_created", None),
    ]
    assert [e["payload"]["n"] for e in api.get(intent_url(intent, "/events"), {"event_type": "comment"}).json()] == [
        3,
        1,
    ]
    assert [e["payload"].get("n") for e in api.get(intent_url(intent, "/events"), {"limit": 2}).json()] == [3, 2]
    page = api.get(intent_url(intent, "/events"), {"limit": 2, "offset": 3}).json()
    assert [e["payload"].get("n") for e in page] == [0, None]


def test_read_the_log_since_a_time(api):
    intent = new_intent(api)
    first = post_event(api, intent, "note", {"n": 1}).json()
    IntentEvent.objects.filter(pk__lte=first["id"]).update(created_at="2020-01-01T00:00:00Z")
    post_event(api, intent, "note", {"n": 2})

    since = api.get(intent_url(intent, "/events"), {"since": "2024-06-01T00:00:00"}).json()

    assert [e["payload"]["n"] for e in since] == [2]
    assert len(api.get(intent_url(intent, "/events"), {"since": "2019-12-31T23:59:59Z"}).json()) == 3


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 2**63}, "offset"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_read_the_log_refuses_bad_parameters(api, params, loc):
    intent = new_intent(api)

    response = api.get(intent_url(intent, "/events"), params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", loc]


# Agents -------------------------------------------------------------------------------------------------------


def test_assign_list_and_unassign_an_agent(api):
    intent = new_intent(api)

    response = api.post(intent_url(intent, "/agents"), {"agent_id": "agent-synth", "role": "reviewer"}, format="json")

    assert response.status_code == 200
    assignment = response.json()
    assert {key: assignment[key] for key in ("intent_id", "agent_id", "role")} == {
        "intent_id": intent["id"],
        "agent_id": "agent-synth",
        "role": "reviewer",
    }
    assert api.get(intent_url(intent, "/agents")).json() == [assignment]
    assigned = event_log(api, intent["id"], event_type="agent_assigned")
    assert [(e["actor"], e["payload"]) for e in assigned] == [
        ("agent-research", {"agent_id": "agent-synth", "role": "reviewer"})
    ]

    removed = api.delete(intent_url(intent, "/agents/agent-synth"))

    assert removed.status_code == 204
    assert removed.content == b""
    assert api.get(intent_url(intent, "/agents")).json() == []
    assert [e["payload"] for e in event_log(api, intent["id"], event_type="agent_unassigned")] == [
        {"agent_id": "agent-synth"}
    ]


def test_assign_defaults_to_the_worker_role(api):
    intent = new_intent(api)

    assert api.post(intent_url(intent, "/agents"), {"agent_id": "a"}, format="json").json()["role"] == "worker"


def test_assigning_again_is_idempotent(api):
    intent = new_intent(api)
    first = api.post(intent_url(intent, "/agents"), {"agent_id": "agent-synth"}, format="json").json()

    again = api.post(intent_url(intent, "/agents"), {"agent_id": "agent-synth"}, format="json")

    assert again.status_code == 200
    assert again.json() == first
    assert len(api.get(intent_url(intent, "/agents")).json()) == 1
    assert len(event_log(api, intent["id"], event_type="agent_assigned")) == 1


def test_agents_are_listed_in_assignment_order(api):
    intent = new_intent(api)
    for agent in ["b-agent", "a-agent", "c-agent"]:
        api.post(intent_url(intent, "/agents"), {"agent_id": agent}, format="json")

    assert [a["agent_id"] for a in api.get(intent_url(intent, "/agents")).json()] == ["b-agent", "a-agent", "c-agent"]


def test_unassigning_an_agent_that_is_not_assigned_is_404(api):
    intent = new_intent(api)

    response = api.delete(intent_url(intent, "/agents/nobody"), content_type="application/json")

    assert response.status_code == 404
    assert response.json()["detail"] == "Agent is not assigned to this intent"
    assert [e["event_type"] for e in event_log(api, intent["id"])] == ["intent_created"]


def test_unassigning_an_id_with_a_nul_character_is_404(api):
    intent = new_intent(api)

    response = api.delete(intent_url(intent, "/agents/a%00b"))

    assert response.status_code == 404
    assert response.json()["detail"] == "Agent is not assigned to this intent"


@pytest.mark.parametrize("data", [{}, {"agent_id": ""}, {"agent_id": "a", "role": "r" * 101}, {"agent_id": "a\x00"}])
def test_assign_validates_the_body(api, data):
    intent = new_intent(api)

    response = api.post(intent_url(intent, "/agents"), data, format="json")

    assert response.status_code == 422
    assert api.get(intent_url(intent, "/agents")).json() == []


@pytest.mark.parametrize(("method", "tail"), [("get", "/agents"), ("post", "/agents"), ("delete", "/agents/a")])
def test_agents_of_an_unknown_intent_are_404(api, method, tail):
    response = getattr(api, method)(f"{INTENTS}/{uuid.uuid4()}{tail}", {"agent_id": "a"}, format="json")

    assert response.status_code == 404
    assert response.json()["detail"] == "Intent not found"


def test_each_body_is_validated_afresh_after_a_refused_one(api):
    """The serializers that validate bodies are kept and reused by each server thread (openintent_site.api): what
    one request's validation leaves behind, refused or accepted, must never answer for the next."""
    intent = new_intent(api)
    bad_op = {"patches": [{"op": "nonsense", "path": "a", "value": 1}]}
    no_path = {"patches": [{"op": "set", "value": 1}]}

    first = patch(api, intent, bad_op)
    accepted = patch(api, intent, {"patches": [{"op": "set", "path": "a", "value": 1}]})
    second = patch(api, accepted.json(), no_path)
    again = patch(api, accepted.json(), {"patches": [{"op": "set", "path": "b", "value": 2}]})
    created = api.post(INTENTS, {"title": "second"}, format="json")
    refused = api.post(INTENTS, {"description": "no title"}, format="json")

    assert first.status_code == 422
    assert [error["loc"] for error in first.json()["detail"]] == [["body", "patches", 0, "op"]]
    assert accepted.status_code == 200
    assert accepted.json()["state"] == {"a": 1}
    assert second.status_code == 422
    assert [error["loc"] for error in second.json()["detail"]] == [["body", "patches", 0, "path"]]
    assert again.status_code == 200
    assert again.json()["state"] == {"a": 1, "b": 2}
    assert created.status_code == 200
    assert created.json()["title"] == "second"
    assert refused.status_code == 422
    assert [error["loc"] for error in refused.json()["detail"]] == [["body", "title"]]
