import pytest


@pytest.fixture
def budgeted(api):
    constraints = {"budget": {"max_total_cents": 1000, "max_per_call_cents": 600, "alert_threshold_percent": 50}}
    return api.post("/api/v1/intents", {"title": "Paid work", "constraints": constraints}, format="json").json()


def record(client, intent, **fields):
    body = {"cost_type": "api_call", "amount": 1, "unit": "USD", **fields}
    return client.post(f"/api/v1/intents/{intent['id']}/costs", body, format="json")


def event_types(api, intent):
    return [event["event_type"] for event in api.get(f"/api/v1/intents/{intent['id']}/events").json()]


def test_costs_are_listed_with_a_summary_per_type_agent_and_unit(api, other_api, budgeted):
    first = record(api, budgeted, cost_type="tokens", amount=1500, unit="tokens", metadata={"model": "m"})
    assert first.status_code == 200
    cost = first.json()
    assert cost["agent_id"] == "agent-research"
    assert cost["amount"] == 1500.0
    assert cost["metadata"] == cost["cost_metadata"] == {"model": "m"}
    record(other_api, budgeted, amount=2.5, cost_metadata={"call": 1})

    body = api.get(f"/api/v1/intents/{budgeted['id']}/costs").json()
    assert len(body["costs"]) == 2
    summary = body["summary"]
    assert summary["by_type"] == {"tokens": 1500.0, "api_call": 2.5}
    assert summary["by_agent"] == {"agent-research": 1500.0, "agent-synth": 2.5}
    assert summary["by_unit"] == {"tokens": 1500.0, "USD": 2.5}
    assert summary["spent_cents"] == 250.0
    assert summary["budget"]["remaining_cents"] == 750.0
    assert summary["budget"]["exceeded"] is False


def test_crossing_the_alert_threshold_and_the_budget_logs_each_once(api, budgeted):
    record(api, budgeted, amount=4)
    assert "budget_alert" not in event_types(api, budgeted)
    record(api, budgeted, amount=2)
    assert event_types(api, budgeted).count("budget_alert") == 1
    record(api, budgeted, amount=1)
    assert event_types(api, budgeted).count("budget_alert") == 1
    record(api, budgeted, amount=4)
    assert event_types(api, budgeted).count("budget_exceeded") == 1
    record(api, budgeted, amount=1)
    assert event_types(api, budgeted).count("budget_exceeded") == 1
    summary = api.get(f"/api/v1/intents/{budgeted['id']}/costs").json()["summary"]
    assert summary["budget"]["exceeded"] is True
    assert summary["budget"]["remaining_cents"] == -200.0


def test_a_single_call_over_the_per_call_limit_is_an_overrun(api, budgeted):
    record(api, budgeted, amount=7)
    events = api.get(f"/api/v1/intents/{budgeted['id']}/events?event_type=budget_exceeded").json()
    assert {event["payload"]["limit"] for event in events} == {"max_per_call_cents"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("cost_type", "bananas"), ("amount", -1), ("amount", "lots"), ("unit", None), ("metadata", [])],
)
def test_invalid_costs_name_the_field_and_store_nothing(api, budgeted, field, value):
    response = record(api, budgeted, **{field: value})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert api.get(f"/api/v1/intents/{budgeted['id']}/costs").json()["costs"] == []


def test_costs_of_an_unknown_intent_are_404(api):
    assert api.get("/api/v1/intents/nope/costs").status_code == 404
    body = {"cost_type": "compute", "amount": 1, "unit": "s"}
    assert api.post("/api/v1/intents/nope/costs", body, format="json").status_code == 404
