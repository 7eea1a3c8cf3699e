"""Guardrails enforced by the server on every task and plan write (RFC-0013 §5), one at a time: each refusal is a
409 ``guardrail_violation`` naming the guardrail, the attempted value and the limit, writes nothing, and is logged;
the supervisor's plan review gates activation; the budget warns at its threshold and applies ``on_exceed``."""

import pytest

from governance.coordinators.models import GuardrailHit
from governance.models import ArbitrationRequest
from intents.models import Plan, Task
from tests.conftest import event_log, new_intent
from tests.intents.plans_helpers import PLANS, TASKS, act, create_task, done

from .coordinator_helpers import COORDINATORS, get_lease, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def intent(api):
    return new_intent(api, "Guarded work")


def assert_violation(response, guardrail, attempted, limit):
    assert response.status_code == 409, response.content
    body = response.json()
    assert (body["error"], body["guardrail"], body["attempted_value"], body["limit"]) == (
        "guardrail_violation",
        guardrail,
        attempted,
        limit,
    )
    assert "lease" not in body["detail"].lower()
    assert body["coordinator_id"] == "agent-research"


def hits(lease):
    return [
        (hit.kind, hit.guardrail, hit.attempted_value, hit.limit)
        for hit in GuardrailHit.objects.filter(lease_id=lease["id"])
    ]


def test_max_tasks_per_plan_on_create_and_on_adding_tasks(api, person_api, intent):
    lease = grant(api, intent, guardrails={"max_tasks_per_plan": 2})
    tasks = [create_task(api, intent, f"t{i}") for i in range(3)]

    refused = api.post(PLANS, {"intent_id": intent["id"], "tasks": [t["id"] for t in tasks]}, format="json")
    plan = api.post(PLANS, {"intent_id": intent["id"], "tasks": [t["id"] for t in tasks[:2]]}, format="json").json()
    into_plan = api.post(TASKS, {"intent_id": intent["id"], "name": "t3", "plan_id": plan["id"]}, format="json")
    patched = api.patch(
        f"{PLANS}/{plan['id']}", {"tasks": [t["id"] for t in tasks]}, format="json", HTTP_IF_MATCH=str(plan["version"])
    )

    assert_violation(refused, "max_tasks_per_plan", 3, 2)
    assert_violation(into_plan, "max_tasks_per_plan", 3, 2)
    assert_violation(patched, "max_tasks_per_plan", 3, 2)
    assert Plan.objects.count() == 1
    assert Task.objects.filter(plan_id=plan["id"]).count() == 2
    assert hits(lease) == [("violation", "max_tasks_per_plan", 3, 2)] * 3
    status = api.get(f"{COORDINATORS}/{lease['id']}/guardrails/status").json()
    assert status["usage"]["tasks_per_plan"] == {"current": 2, "limit": 2}
    assert status["recent_hits"][0]["guardrail"] == "max_tasks_per_plan"


def test_allowed_capabilities(api, person_api, intent):
    grant(api, intent, guardrails={"allowed_capabilities": ["search", "write"]})

    refused = api.post(
        TASKS, {"intent_id": intent["id"], "name": "x", "capabilities_required": ["search", "pay"]}, format="json"
    )
    allowed = api.post(
        TASKS, {"intent_id": intent["id"], "name": "y", "capabilities_required": ["write"]}, format="json"
    )

    assert_violation(refused, "allowed_capabilities", "pay", ["search", "write"])
    assert allowed.status_code == 200


def test_max_delegation_depth(api, person_api, intent):
    grant(api, intent, guardrails={"max_delegation_depth": 1})
    task = create_task(api, intent, "top")
    done(api, task, "claim")
    done(api, task, "start")

    child = done(api, task, "delegate", {"capability": "search"})
    done(api, child, "claim")
    done(api, child, "start")
    grandchild = act(api, child, "delegate", {"capability": "search"})

    assert child["parent_task_id"] == task["id"]
    assert_violation(grandchild, "max_delegation_depth", 2, 1)
    assert Task.objects.filter(parent_task_id=child["id"]).count() == 0


def test_max_concurrent_tasks(api, person_api, intent):
    grant(api, intent, guardrails={"max_concurrent_tasks": 1})
    first, second = create_task(api, intent, "a"), create_task(api, intent, "b")
    done(api, first, "claim")

    refused = act(api, second, "claim")
    assert_violation(refused, "max_concurrent_tasks", 2, 1)
    run = done(api, first, "start")
    done(api, run, "complete", {"output": {}})
    assert act(api, second, "claim").status_code == 200


def test_plan_review_before_activation_by_the_supervisor_only(api, other_api, person_api, intent):
    grant(api, intent, guardrails={"requires_plan_review": True})
    task = create_task(api, intent, "only")
    plan = api.post(PLANS, {"intent_id": intent["id"], "tasks": [task["id"]]}, format="json").json()

    def activate():
        version = api.get(f"{PLANS}/{plan['id']}").json()["version"]
        return api.post(f"{PLANS}/{plan['id']}/activate", format="json", HTTP_IF_MATCH=str(version))

    assert_violation(activate(), "requires_plan_review", "not reviewed", "approved by the supervisor")
    assert other_api.post(f"{PLANS}/{plan['id']}/approve", format="json").status_code == 403
    assert person_api.post(f"{PLANS}/{plan['id']}/reject", {"reason": "too vague"}, format="json").status_code == 200
    assert_violation(activate(), "requires_plan_review", "rejected", "approved by the supervisor")
    approved = person_api.post(f"{PLANS}/{plan['id']}/approve", {"reason": "fine"}, format="json")

    assert approved.status_code == 200
    assert activate().json()["state"] == "active"
    assert person_api.post(f"{PLANS}/{plan['id']}/approve", format="json").status_code == 409
    reviews = [e["payload"] for e in event_log(api, intent["id"]) if e["event_type"] == "decision_recorded"]
    assert [(r["decision_type"], r["outcome"]) for r in reviews] == [
        ("plan_review", "rejected"),
        ("plan_review", "approved"),
    ]


def test_plan_review_without_a_coordinator_is_409(person_api, api, intent):
    task = create_task(api, intent, "only")
    plan = api.post(PLANS, {"intent_id": intent["id"], "tasks": [task["id"]]}, format="json").json()
    assert person_api.post(f"{PLANS}/{plan['id']}/approve", format="json").status_code == 409


def record_cost(api, intent, usd):
    response = api.post(
        f"/api/v1/intents/{intent['id']}/costs", {"cost_type": "api_call", "amount": usd, "unit": "usd"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_budget_warns_at_the_threshold_then_refuses_and_pauses_and_escalates(api, person_api, intent):
    lease = grant(api, intent, guardrails={"max_budget_usd": 10, "warn_at_percentage": 50})
    record_cost(api, intent, 6)

    assert create_task(api, intent, "still within")
    record_cost(api, intent, 5)
    refused = api.post(TASKS, {"intent_id": intent["id"], "name": "over"}, format="json")

    assert_violation(refused, "max_budget_usd", 11.0, 10.0)
    alerts = [e["payload"] for e in event_log(api, intent["id"]) if e["event_type"] == "budget_alert"]
    assert [(a["source"], a["current_value"], a["limit"]) for a in alerts] == [("coordinator_guardrail", 6.0, 10.0)]
    assert get_lease(api, lease)["status"] == "paused"
    assert ArbitrationRequest.objects.filter(intent_id=intent["id"], status="pending").count() == 1
    assert hits(lease) == [("violation", "max_budget_usd", 11.0, 10.0), ("warning", "max_budget_usd", 6.0, 10.0)]
    usage = api.get(f"{COORDINATORS}/{lease['id']}/guardrails/status").json()["usage"]["budget"]
    assert (usage["spent_usd"], usage["limit_usd"], usage["percentage"]) == (11.0, 10.0, 110.0)


def test_budget_on_exceed_fail_fails_the_plan(api, person_api, intent):
    grant(api, intent, guardrails={"max_budget_usd": 1, "on_exceed": "fail"})
    first, second = create_task(api, intent, "a"), create_task(api, intent, "b")
    plan = api.post(PLANS, {"intent_id": intent["id"], "tasks": [first["id"], second["id"]]}, format="json").json()
    api.post(f"{PLANS}/{plan['id']}/activate", format="json", HTTP_IF_MATCH=str(plan["version"]))
    record_cost(api, intent, 2)

    refused = act(api, first, "claim")

    assert_violation(refused, "max_budget_usd", 2.0, 1.0)
    assert api.get(f"{PLANS}/{plan['id']}").json()["state"] == "failed"


def test_no_guardrails_without_a_live_coordinator(api, person_api, intent):
    lease = grant(api, intent, guardrails={"max_tasks_per_plan": 1})
    api.post(f"{COORDINATORS}/{lease['id']}/release", format="json")
    tasks = [create_task(api, intent, f"t{i}") for i in range(2)]
    assert (
        api.post(PLANS, {"intent_id": intent["id"], "tasks": [t["id"] for t in tasks]}, format="json").status_code
        == 200
    )
