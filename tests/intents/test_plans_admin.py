"""Plans and tasks in the admin through Django's test client: the plan page in dependency order, checkpoint
decisions from the page and escalations from the desk, each logged on the intent under the person's name."""

import re

import pytest

from intents.models import Plan, Task
from tests.conftest import new_intent

from .plans_helpers import activate, create_plan, create_task, done, get_plan, get_task, run_to_completion, task_events


@pytest.fixture
def person(client, django_user_model):
    user = django_user_model.objects.create_superuser("officer", "officer@example.test", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", "clerk@example.test", "pw", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def intent(api):
    return new_intent(api, title="Quarterly compliance")


@pytest.fixture
def paused_plan(api, intent):
    """report waits on analyse waits on fetch (created in the other order); a checkpoint after analyse is reached."""
    fetch = create_task(api, intent, "fetch")
    analyse = create_task(api, intent, "analyse", depends_on=[fetch["id"]])
    report = create_task(api, intent, "report", depends_on=[analyse["id"]])
    plan = create_plan(
        api,
        intent,
        [report, analyse, fetch],
        checkpoints=[{"id": "review", "after_task": "analyse", "approvers": ["officer"]}],
    )
    activate(api, plan)
    run_to_completion(api, fetch)
    run_to_completion(api, analyse)
    return plan, fetch, analyse, report


def test_the_plan_page_shows_tasks_in_dependency_order_and_the_waiting_checkpoint(person, paused_plan):
    plan = paused_plan[0]
    page = person.get(f"/admin/intents/plan/{plan['id']}/change/").content.decode()

    tasks = re.findall(r'<tr class="task-row" data-status="(\w+)">.*?<a [^>]*>([^<]+)</a>', page, re.S)
    assert tasks == [("completed", "fetch"), ("completed", "analyse"), ("ready", "report")]
    assert 'data-status="waiting"' in page
    assert "Approve" in page and "Reject" in page


def test_approving_from_the_page_goes_through_the_service_and_is_logged(person, api, intent, paused_plan):
    plan, _, _, report = paused_plan
    checkpoint = get_plan(api, plan)["checkpoints"][0]
    url = f"/admin/intents/plan/{plan['id']}/checkpoints/{checkpoint['checkpoint_id']}/decide/"

    assert person.get(url).status_code == 405
    response = person.post(url, {"decision": "approve", "reason": "numbers match"})

    assert response.status_code == 302
    assert get_plan(api, plan)["state"] == "active"
    approved = [p for t, p in task_events(api, intent) if t == "plan.checkpoint_approved"]
    assert approved == [
        {
            "plan_id": plan["id"],
            "checkpoint_id": checkpoint["checkpoint_id"],
            "checkpoint": "review",
            "approved_by": "officer",
        }
    ]
    run_to_completion(api, report)
    assert get_plan(api, plan)["state"] == "completed"


def test_rejecting_from_the_page_fails_the_plan(person, api, paused_plan):
    plan = paused_plan[0]
    checkpoint = get_plan(api, plan)["checkpoints"][0]
    url = f"/admin/intents/plan/{plan['id']}/checkpoints/{checkpoint['checkpoint_id']}/decide/"
    person.post(url, {"decision": "reject", "reason": "wrong quarter"})
    assert get_plan(api, plan)["state"] == "failed"


def test_a_person_not_among_the_approvers_is_refused_on_the_page(staff, api, paused_plan):
    plan = paused_plan[0]
    checkpoint = get_plan(api, plan)["checkpoints"][0]
    url = f"/admin/intents/plan/{plan['id']}/checkpoints/{checkpoint['checkpoint_id']}/decide/"
    response = staff.post(url, {"decision": "approve"}, follow=True)
    assert get_plan(api, plan)["state"] == "paused"
    assert Plan.objects.get(pk=plan["id"]).checkpoints.get().status == "waiting"
    assert response.status_code in (200, 403)


def test_the_desk_lists_escalated_tasks_and_waiting_checkpoints_and_a_decision_unblocks(
    person, api, intent, paused_plan
):
    task = create_task(api, intent, "odd one")
    done(api, task, "claim")
    done(api, task, "start")
    done(api, task, "escalate", {"reason": "Ambiguous compliance requirement"})

    desk = person.get("/admin/").content.decode()
    assert "Escalated tasks (1)" in desk
    assert "Ambiguous compliance requirement" in desk
    assert "Plan checkpoints (1)" in desk

    page = person.get(f"/admin/intents/task/{task['id']}/change/").content.decode()
    assert "Record the decision and unblock" in page
    response = person.post(f"/admin/intents/task/{task['id']}/resolve/", {"decision": "Apply the 2025 rules"})
    assert response.status_code == 302

    resolved = get_task(api, task)
    assert (resolved["status"], resolved["resolution"]) == (
        "running",
        {"decision": "Apply the 2025 rules", "decided_by": "officer"},
    )
    unblocked = [(t, p) for t, p in task_events(api, intent) if t == "task.unblocked"][-1]
    assert unblocked[1]["resolution"]["decided_by"] == "officer"
    assert "Escalated tasks (0)" in person.get("/admin/").content.decode()


def test_tasks_and_plans_cannot_be_edited_in_the_admin(person, paused_plan):
    plan = paused_plan[0]
    task = Task.objects.filter(plan_id=plan["id"]).first()
    response = person.post(f"/admin/intents/task/{task.pk}/change/", {"name": "renamed"})
    assert Task.objects.get(pk=task.pk).name == task.name
    assert response.status_code in (200, 403)
    assert person.get("/admin/intents/plan/add/").status_code == 403
