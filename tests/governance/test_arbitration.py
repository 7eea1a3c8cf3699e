import pytest


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
