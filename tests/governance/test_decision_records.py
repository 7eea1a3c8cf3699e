"""Coordinators' decision records (RFC-0013 §7): validated, immutable, logged as ``coordinator.decision``, listed per
intent newest first, readable by id; and the path they share with RFC-0004's decisions answers both."""

import pytest

from tests.conftest import event_log, new_intent

pytestmark = pytest.mark.django_db

DECISIONS = "/api/v1/decisions"


@pytest.fixture
def intent(api):
    return new_intent(api, "Decided work")


def record(api, intent, **fields):
    body = {
        "coordinator_id": "agent-research",
        "intent_id": intent["id"],
        "decision_type": "task_assigned",
        "summary": "Gave the search to agent-synth",
        "rationale": "It has the capability and spare capacity",
        **fields,
    }
    response = api.post(DECISIONS, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_record_is_written_logged_and_read_back_by_id(api, intent):
    alternatives = [{"description": "do it myself", "rejected_reason": "no capacity"}]
    written = record(api, intent, alternatives_considered=alternatives, confidence=0.8)

    assert written["type"] == "coordinator.decision"
    assert (written["decision_type"], written["confidence"], written["intent_id"]) == (
        "task_assigned",
        0.8,
        intent["id"],
    )
    assert written["alternatives_considered"] == alternatives
    assert api.get(f"{DECISIONS}/{written['id']}").json() == written
    logged = [e for e in event_log(api, intent["id"]) if e["event_type"] == "coordinator.decision"]
    assert logged[0]["payload"]["decision_id"] == written["id"]


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"decision_type": "assignment"}, "decision_type"),
        ({"confidence": 7}, "confidence"),
        ({"alternatives_considered": ["just a string"]}, "alternatives_considered"),
        ({"summary": None}, "summary"),
    ],
)
def test_bad_records_are_422_naming_the_field(api, intent, fields, field):
    body = {
        "coordinator_id": "c",
        "intent_id": intent["id"],
        "decision_type": "plan_created",
        "summary": "s",
        "rationale": "r",
        **fields,
    }
    response = api.post(DECISIONS, body, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]


def test_records_are_immutable(api, intent):
    written = record(api, intent)
    for method in ("put", "patch", "delete"):
        assert (
            getattr(api, method)(f"{DECISIONS}/{written['id']}", {"summary": "changed"}, format="json").status_code
            == 405
        )
    assert api.get(f"{DECISIONS}/{written['id']}").json()["summary"] == written["summary"]


def test_unknown_records_and_intents(api):
    assert api.get(f"{DECISIONS}/nope").status_code == 404
    missing = {
        "coordinator_id": "c",
        "intent_id": "nope",
        "decision_type": "plan_created",
        "summary": "s",
        "rationale": "r",
    }
    assert api.post(DECISIONS, missing, format="json").status_code == 404


def test_listed_newest_first_on_both_paths(api, person_api, intent):
    first = record(api, intent, decision_type="plan_created")
    second = record(api, intent, decision_type="plan_modified")
    governance = person_api.post(
        f"/api/v1/intents/{intent['id']}/decisions", {"decision_type": "policy", "outcome": "go"}, format="json"
    )
    assert governance.status_code == 200

    bare = api.get(f"/api/v1/intents/{intent['id']}/coordinator-decisions").json()
    limited = api.get(f"/api/v1/intents/{intent['id']}/coordinator-decisions", {"limit": 1}).json()
    shared = api.get(f"/api/v1/intents/{intent['id']}/decisions").json()

    assert [r["id"] for r in bare] == [second["id"], first["id"]]
    assert [r["id"] for r in limited] == [second["id"]]
    assert [r["id"] for r in shared["decision_records"]] == [second["id"], first["id"]]
    assert [d["outcome"] for d in shared["decisions"]] == ["go"]


def test_the_shared_post_path_records_a_coordinator_decision_when_the_body_is_one(api, intent):
    body = {"coordinator_id": "agent-research", "decision_type": "failure_handled", "summary": "s", "rationale": "r"}

    response = api.post(f"/api/v1/intents/{intent['id']}/decisions", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["type"] == "coordinator.decision"
    assert response.json()["intent_id"] == intent["id"]
    bad = api.post(f"/api/v1/intents/{intent['id']}/decisions", {**body, "decision_type": "x"}, format="json")
    assert bad.status_code == 422


def test_recording_needs_coordinate_on_a_closed_intent(api, other_api, intent):
    api.put(f"/api/v1/intents/{intent['id']}/acl", {"default_policy": "closed"}, format="json")
    body = {"coordinator_id": "agent-synth", "intent_id": intent["id"], "decision_type": "plan_created"}
    refused = other_api.post(DECISIONS, {**body, "summary": "s", "rationale": "r"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["required_permission"] == "coordinate"


def test_clients_cannot_post_coordinator_events(api, intent):
    response = api.post(
        f"/api/v1/intents/{intent['id']}/events", {"event_type": "coordinator.decision", "payload": {}}, format="json"
    )
    assert response.status_code in (400, 403, 422), response.content


def test_the_product_readme_coordinators_decision_types_are_accepted(api, intent):
    """Beyond RFC-0013's ten: what the product README's @Coordinator records on a conflict and on a quorum."""
    for decision_type in ("conflict_resolution", "quorum"):
        assert record(api, intent, decision_type=decision_type)["decision_type"] == decision_type
