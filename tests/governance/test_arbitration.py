import pytest

from tests.conftest import event_log, versioned


@pytest.fixture
def intent(api):
    response = api.post("/api/v1/intents", {"title": "Pick a vendor"}, format="json")
    intent = response.json()
    api.post(f"/api/v1/intents/{intent['id']}/state", {"state": {"phase": "compare"}}, format="json", HTTP_IF_MATCH="1")
    return api.get(f"/api/v1/intents/{intent['id']}").json()


def test_arbitration_is_persisted_pending_and_blocks_the_intent(api, intent):
    response = api.post(
        f"/api/v1/intents/{intent['id']}/arbitrate",
        {"reason": "Two vendors tie", "context": {"vendors": ["a", "b"]}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pending"
    assert body["requester_id"] == "agent-research"
    assert body["intent_id"] == intent["id"]
    assert body["context"] == {"vendors": ["a", "b"]}

    listed = api.get(f"/api/v1/intents/{intent['id']}/arbitrations").json()["arbitrations"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["status"] == "blocked"
    types = [event["event_type"] for event in api.get(f"/api/v1/intents/{intent['id']}/events").json()]
    assert types[:2] == ["status_changed", "arbitration_requested"]


def test_arbitration_needs_a_reason(api, intent):
    response = api.post(f"/api/v1/intents/{intent['id']}/arbitrate", {"context": {}}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "reason"]


def test_decision_accepts_the_clients_field_names_and_is_listed(api, intent):
    response = api.post(
        f"/api/v1/intents/{intent['id']}/decisions",
        {"decision_type": "vendor", "outcome": "a", "reasoning": "cheaper"},
        format="json",
    )
    assert response.status_code == 200
    decision = response.json()
    assert decision["decision_maker_id"] == "agent-research"
    assert decision["reasoning"] == decision["rationale"] == "cheaper"
    listed = api.get(f"/api/v1/intents/{intent['id']}/decisions").json()["decisions"]
    assert [item["id"] for item in listed] == [decision["id"]]


def test_only_a_person_settles_an_arbitration_and_that_unblocks_the_intent(api, person_api, intent):
    arbitration = api.post(f"/api/v1/intents/{intent['id']}/arbitrate", {"reason": "tie"}, format="json").json()
    settle = {"decision_type": "arbitration", "outcome": "vendor a", "arbitration_id": arbitration["id"]}

    refused = api.post(f"/api/v1/intents/{intent['id']}/decisions", settle, format="json")
    assert refused.status_code == 403
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["status"] == "blocked"

    settled = person_api.post(f"/api/v1/intents/{intent['id']}/decisions", settle, format="json")
    assert settled.status_code == 200, settled.content
    assert settled.json()["decided_by"] == "reviewer"
    assert settled.json()["arbitration_id"] == arbitration["id"]

    again = person_api.post(f"/api/v1/intents/{intent['id']}/decisions", settle, format="json")
    assert again.status_code == 409
    listed = api.get(f"/api/v1/intents/{intent['id']}/arbitrations").json()["arbitrations"]
    assert listed[0]["status"] == "resolved"
    assert listed[0]["resolution"]["outcome"] == "vendor a"
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["status"] == "active"


def test_settling_an_unknown_arbitration_is_404(person_api, api, intent):
    settle = {"decision_type": "arbitration", "outcome": "x", "arbitration_id": "nope"}
    response = person_api.post(f"/api/v1/intents/{intent['id']}/decisions", settle, format="json")
    assert response.status_code == 404
    assert api.get(f"/api/v1/intents/{intent['id']}/decisions").json()["decisions"] == []


def state_write(client, intent, version, state):
    return versioned(client, "post", f"/api/v1/intents/{intent['id']}/state", version, {"state": state})


def last_status_change(client, intent):
    return event_log(client, intent["id"], event_type="status_changed")[-1]


def test_blocking_and_settling_each_take_one_version_step_that_a_stale_write_cannot_pass_over(api, person_api, intent):
    seen = intent["version"]
    first = api.post(f"/api/v1/intents/{intent['id']}/arbitrate", {"reason": "tie"}, format="json").json()

    blocked = api.get(f"/api/v1/intents/{intent['id']}").json()
    assert (blocked["status"], blocked["version"]) == ("blocked", seen + 1)
    assert last_status_change(api, intent)["payload"] == {
        "status": "blocked",
        "previous_status": "active",
        "version": seen + 1,
        "reason": "awaiting arbitration",
    }
    stale = state_write(api, intent, seen, {"phase": "pick a"})
    assert (stale.status_code, stale.json()["current_version"]) == (409, seen + 1)

    # A second request while blocked changes neither state nor status, so the version stays.
    second = api.post(f"/api/v1/intents/{intent['id']}/arbitrate", {"reason": "and another"}, format="json").json()
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["version"] == seen + 1
    settle = {"decision_type": "arbitration", "outcome": "vendor a"}
    person_api.post(
        f"/api/v1/intents/{intent['id']}/decisions", {**settle, "arbitration_id": first["id"]}, format="json"
    )
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["version"] == seen + 1  # still blocked by the second

    settled = person_api.post(
        f"/api/v1/intents/{intent['id']}/decisions", {**settle, "arbitration_id": second["id"]}, format="json"
    )
    assert settled.status_code == 200, settled.content
    active = api.get(f"/api/v1/intents/{intent['id']}").json()
    assert (active["status"], active["version"]) == ("active", seen + 2)
    change = last_status_change(api, intent)
    assert change["actor"] == "reviewer"
    assert change["payload"] == {
        "status": "active",
        "previous_status": "blocked",
        "version": seen + 2,
        "reason": "arbitration resolved",
    }
    stale = state_write(api, intent, seen + 1, {"phase": "pick a"})
    assert (stale.status_code, stale.json()["current_version"]) == (409, seen + 2)
    assert state_write(api, intent, seen + 2, {"phase": "pick a"}).json()["version"] == seen + 3
