"""The admin desk through Django's test client: queues on the front page, decisions recorded as the reviewer."""

import pytest

from governance.models import ArbitrationRequest
from intents.models import AccessRequest
from tests.conftest import event_log, versioned


@pytest.fixture
def reviewer(client, django_user_model):
    user = django_user_model.objects.create_superuser("reviewer", "reviewer@example.test", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def closed_intent(api):
    intent = api.post("/api/v1/intents", {"title": "Quarterly numbers"}, format="json").json()
    api.put(f"/api/v1/intents/{intent['id']}/acl", {"default_policy": "closed"}, format="json")
    return intent


def test_front_page_lists_every_queue(reviewer, api, other_api, closed_intent):
    other_api.post(f"/api/v1/intents/{closed_intent['id']}/access-requests", {"reason": "audit"}, format="json")
    api.post(f"/api/v1/intents/{closed_intent['id']}/arbitrate", {"reason": "numbers disagree"}, format="json")
    budget = {"budget": {"max_total_cents": 100}}
    paid = api.post("/api/v1/intents", {"title": "Paid", "constraints": budget}, format="json").json()
    api.post(
        f"/api/v1/intents/{paid['id']}/costs", {"cost_type": "api_call", "amount": 2, "unit": "USD"}, format="json"
    )

    page = reviewer.get("/admin/").content.decode()
    assert "Arbitration requests (1)" in page
    assert "numbers disagree" in page
    assert "Access requests (1)" in page
    assert "agent-synth" in page
    assert "Budget overruns (1)" in page
    assert "max_total_cents" in page


def test_reviewer_approves_an_access_request_and_the_agent_gets_in(reviewer, other_api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    asked = other_api.post(f"{url}/access-requests", {"requested_permission": "read"}, format="json").json()
    assert other_api.get(url).status_code == 403

    change = f"/admin/intents/accessrequest/{asked['id']}/change/"
    response = reviewer.post(change, {"decision": "approve", "grant_permission": "", "note": "fine"})
    assert response.status_code == 302
    assert other_api.get(url).status_code == 200
    access_request = AccessRequest.objects.get(pk=asked["id"])
    assert (access_request.status, access_request.decided_by) == ("approved", "reviewer")


def test_reviewer_denies_and_nothing_is_granted(reviewer, other_api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    asked = other_api.post(f"{url}/access-requests", {}, format="json").json()
    reviewer.post(f"/admin/intents/accessrequest/{asked['id']}/change/", {"decision": "deny", "note": "no"})
    assert other_api.get(url).status_code == 403
    denied = AccessRequest.objects.get(pk=asked["id"])
    assert (denied.status, denied.decision_reason, denied.decided_by) == ("denied", "no", "reviewer")


def test_reviewer_decides_an_arbitration_and_the_api_shows_it(reviewer, api):
    intent = api.post("/api/v1/intents", {"title": "Vendor"}, format="json").json()
    api.post(f"/api/v1/intents/{intent['id']}/state", {"state": {"a": 1}}, format="json", HTTP_IF_MATCH="1")
    arbitration = api.post(f"/api/v1/intents/{intent['id']}/arbitrate", {"reason": "tie"}, format="json").json()

    change = f"/admin/governance/arbitrationrequest/{arbitration['id']}/change/"
    assert "Decision" in reviewer.get(change).content.decode()
    refused = reviewer.post(change, {"outcome": "", "rationale": ""})
    assert refused.status_code == 200
    assert ArbitrationRequest.objects.get(pk=arbitration["id"]).status == "pending"

    reviewer.post(change, {"outcome": "vendor b", "rationale": "better support"})
    decisions = api.get(f"/api/v1/intents/{intent['id']}/decisions").json()["decisions"]
    assert [(d["outcome"], d["decided_by"], d["rationale"]) for d in decisions] == [
        ("vendor b", "reviewer", "better support")
    ]
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["status"] == "active"


def test_intent_page_shows_acl_costs_failures_and_timeline(reviewer, api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    api.post(f"{url}/acl/entries", {"principal_id": "agent-auditor", "permission": "read"}, format="json")
    api.post(f"{url}/costs", {"cost_type": "compute", "amount": 3, "unit": "seconds"}, format="json")
    api.post(f"{url}/failures", {"error_code": "TIMEOUT_X"}, format="json")
    page = reviewer.get(f"/admin/intents/intent/{closed_intent['id']}/change/").content.decode()
    for text in ["agent-auditor", "seconds", "TIMEOUT_X", "Timeline", "access_granted"]:
        assert text in page


def test_settling_in_the_admin_steps_the_version_so_a_stale_write_is_refused(reviewer, api):
    intent = api.post("/api/v1/intents", {"title": "Vendor"}, format="json").json()
    url = f"/api/v1/intents/{intent['id']}"
    versioned(api, "post", f"{url}/state", 1, {"state": {"a": 1}})
    arbitration = api.post(f"{url}/arbitrate", {"reason": "tie"}, format="json").json()
    seen = api.get(url).json()
    assert (seen["status"], seen["version"]) == ("blocked", 3)

    response = reviewer.post(
        f"/admin/governance/arbitrationrequest/{arbitration['id']}/change/",
        {"outcome": "vendor b", "rationale": "better support"},
    )
    assert response.status_code == 302

    settled = api.get(url).json()
    assert (settled["status"], settled["version"]) == ("active", 4)
    change = event_log(api, intent["id"], event_type="status_changed")[-1]
    assert (change["actor"], change["payload"]["status"], change["payload"]["version"]) == ("reviewer", "active", 4)
    stale = versioned(api, "post", f"{url}/state", 3, {"state": {"a": 2}})
    assert (stale.status_code, stale.json()["current_version"]) == (409, 4)
    assert api.get(url).json()["state"] == {"a": 1}
