"""Coordinators in the admin through Django's test client: the plan page shows the coordinator holding it with its
heartbeat age and guardrail usage; the lease pages list and show leases; supervisors pause, resume and end a
coordinator from its page through the services, logged under their name; nothing is edited or deleted there."""

import pytest

from governance.coordinators.models import CoordinatorLease
from tests.conftest import event_log, new_intent
from tests.intents.plans_helpers import create_plan, create_task

from .coordinator_helpers import grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(client, django_user_model):
    """A superuser signed in to the admin (not in the coordinator's supervisor chain)."""
    client.force_login(django_user_model.objects.create_superuser("officer", "officer@example.test", "pw"))
    return client


@pytest.fixture
def coordinated(api, person_api):
    intent = new_intent(api, "Coordinated report")
    lease = grant(api, intent, guardrails={"max_budget_usd": 20, "max_tasks_per_plan": 5})
    api.post(
        f"/api/v1/intents/{intent['id']}/costs", {"cost_type": "api_call", "amount": 5, "unit": "usd"}, format="json"
    )
    tasks = [create_task(api, intent, name) for name in ("fetch", "analyse")]
    plan = create_plan(api, intent, tasks)
    return intent, lease, plan


def test_the_plan_page_shows_its_coordinator_heartbeat_and_budget(officer, coordinated):
    _, lease, plan = coordinated

    page = officer.get(f"/admin/intents/plan/{plan['id']}/change/").content.decode()

    assert 'id="plan-coordinator"' in page
    assert "agent-research" in page and "reviewer" in page
    assert 'class="heartbeat-age"' in page and "s ago (every 60 s)" in page
    assert "5.00 of 20.00 USD spent (25.0 %" in page
    assert "2 of 5" in page  # tasks per plan
    assert 'id="plan-tasks"' in page  # the plan page of intents is still all there


def test_a_plan_without_a_coordinator_says_so(officer, api):
    intent = new_intent(api, "Alone")
    plan = create_plan(api, intent, [create_task(api, intent, "only")])
    page = officer.get(f"/admin/intents/plan/{plan['id']}/change/").content.decode()
    assert "No live coordinator holds this intent." in page


def test_lease_pages_open_and_nothing_is_edited_or_deleted(officer, coordinated):
    _, lease, _ = coordinated

    listing = officer.get("/admin/governance/coordinatorlease/")
    detail = officer.get(f"/admin/governance/coordinatorlease/{lease['id']}/change/")

    assert listing.status_code == 200 and "agent-research" in listing.content.decode()
    assert detail.status_code == 200 and 'id="coordinator-actions"' in detail.content.decode()
    assert officer.get("/admin/governance/coordinatorlease/add/").status_code == 403
    assert officer.post(f"/admin/governance/coordinatorlease/{lease['id']}/delete/").status_code == 403


def test_supervise_from_the_page_through_the_services_and_logged(officer, api, coordinated):
    intent, lease, _ = coordinated
    url = f"/admin/governance/coordinatorlease/{lease['id']}/supervise/"

    officer.post(url, {"action": "pause", "reason": "budget review"})
    paused = CoordinatorLease.objects.get(pk=lease["id"])
    officer.post(url, {"action": "resume"})
    resumed = CoordinatorLease.objects.get(pk=lease["id"])
    officer.post(url, {"action": "release", "reason": "done"})

    assert (paused.status, paused.status_reason) == ("paused", "budget review")
    assert resumed.status == "active"
    assert CoordinatorLease.objects.get(pk=lease["id"]).status == "completed"
    logged = [(e["event_type"], e["actor"]) for e in event_log(api, intent["id"]) if e["actor"] == "officer"]
    assert logged == [
        ("coordinator.paused", "officer"),
        ("coordinator.resumed", "officer"),
        ("lease_released", "officer"),
    ]
    assert officer.get(url).status_code == 405


def test_a_refused_action_is_shown_not_applied(officer, coordinated):
    _, lease, _ = coordinated
    url = f"/admin/governance/coordinatorlease/{lease['id']}/supervise/"

    response = officer.post(url, {"action": "resume"}, follow=True)

    assert "Cannot resume a coordinator that is active" in response.content.decode()
    assert CoordinatorLease.objects.get(pk=lease["id"]).version == 1
