"""Plans (RFC-0012) over HTTP: states and their moves, If-Match, checkpoints and their timeouts, conditions,
on_failure, completion, and the per-plan cost roll-up."""

import datetime

import pytest

from intents.models import Checkpoint, Plan
from intents.tasks import time_out_checkpoints
from tests.conftest import new_intent, versioned

from .plans_helpers import (
    PLANS,
    act,
    activate,
    create_plan,
    create_task,
    done,
    event_types,
    get_plan,
    get_task,
    plan_act,
    run_to_completion,
    task_events,
)


@pytest.fixture
def intent(api):
    return new_intent(api, title="Compliance report")


@pytest.fixture
def chain(api, intent):
    """fetch -> analyse -> report, in a draft plan with a checkpoint after analyse."""
    fetch = create_task(api, intent, "fetch")
    analyse = create_task(api, intent, "analyse", depends_on=[fetch["id"]])
    report = create_task(api, intent, "report", depends_on=[analyse["id"]])
    plan = create_plan(
        api,
        intent,
        [fetch, analyse, report],
        checkpoints=[{"id": "cp1", "name": "review", "after_task": "analyse", "approvers": ["agent-synth"]}],
    )
    return plan, fetch, analyse, report


# Creation and reading ----------------------------------------------------------------------------------------


def test_a_new_plan_is_a_draft_holding_its_tasks_and_checkpoints(api, intent, chain):
    plan, fetch, analyse, report = chain

    assert plan["state"] == "draft"
    assert plan["tasks"] == [fetch["id"], analyse["id"], report["id"]]
    assert plan["on_failure"] == "pause_and_escalate"
    assert (plan["metadata"], plan["plan_metadata"]) == ({}, {})
    [checkpoint] = plan["checkpoints"]
    assert (checkpoint["id"], checkpoint["after_task"], checkpoint["status"], checkpoint["on_timeout"]) == (
        "cp1",
        analyse["id"],
        "pending",
        "escalate",
    )
    assert get_task(api, fetch)["plan_id"] == plan["id"]
    assert task_events(api, intent)[-1] == ("plan.created", {"plan_id": plan["id"], "task_count": 3})
    assert [p["id"] for p in api.get(f"/api/v1/intents/{intent['id']}/plans").json()] == [plan["id"]]
    assert api.get(f"/api/v1/intents/{intent['id']}/plan").json()["id"] == plan["id"]
    assert [c["id"] for c in api.get(f"{PLANS}/{plan['id']}/checkpoints").json()] == ["cp1"]


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"on_failure": "abort"}, ["body", "on_failure"]),
        ({"tasks": [{"name": "x"}]}, ["body", "tasks", 0]),
        ({"tasks": ["00000000-0000-4000-8000-000000000000"]}, ["body", "tasks", 0]),
        ({"checkpoints": [{"after_task": "nope"}]}, ["body", "checkpoints", 0, "after_task"]),
        ({"checkpoints": [{"after_task": "fetch", "on_timeout": "later"}]}, ["body", "checkpoints", 0, "on_timeout"]),
        ({"conditions": [{"task_id": "report", "when": "__import__('os')"}]}, ["body", "conditions", 0, "when"]),
        ({"conditions": [{"task_id": "report", "when": "tasks['fetch'].output.x"}]}, ["body", "conditions", 0, "when"]),
        (
            {"conditions": [{"task_id": "report", "when": "1", "otherwise": "run"}]},
            ["body", "conditions", 0, "otherwise"],
        ),
    ],
)
def test_bad_plans_are_refused_naming_the_field(api, intent, fields, loc):
    fetch = create_task(api, intent, "fetch")
    analyse = create_task(api, intent, "analyse", depends_on=[fetch["id"]])
    report = create_task(api, intent, "report", depends_on=[analyse["id"]])
    body = {"intent_id": intent["id"], "tasks": [fetch["id"], analyse["id"], report["id"]], **fields}

    response = api.post(PLANS, body, format="json")

    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert Plan.objects.count() == 0


def test_enum_refusals_name_the_field_and_the_values_allowed(api, intent):
    response = api.post(PLANS, {"intent_id": intent["id"], "on_failure": "abort"}, format="json")
    [error] = response.json()["detail"]
    assert (error["type"], error["loc"], error["input"]) == ("enum", ["body", "on_failure"], "abort")
    assert error["msg"] == "Input should be one of 'pause_and_escalate', 'notify', 'fail', 'retry'; got \"abort\""


def test_a_plan_must_hold_the_dependencies_of_its_tasks(api, intent):
    fetch = create_task(api, intent, "fetch")
    analyse = create_task(api, intent, "analyse", depends_on=[fetch["id"]])
    response = api.post(PLANS, {"intent_id": intent["id"], "tasks": [analyse["id"]]}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "tasks", 0]


def test_a_task_is_in_one_plan_at_most(api, intent):
    task = create_task(api, intent)
    create_plan(api, intent, [task])
    response = api.post(PLANS, {"intent_id": intent["id"], "tasks": [task["id"]]}, format="json")
    assert response.status_code == 422


# States ------------------------------------------------------------------------------------------------------


def test_plan_moves_need_if_match(api, chain):
    plan = chain[0]
    url = f"{PLANS}/{plan['id']}/activate"
    assert api.post(url).status_code == 428
    stale = api.post(url, HTTP_IF_MATCH="99")
    assert (stale.status_code, stale.json()["detail"]) == (409, "Version conflict or plan not found")
    unknown = versioned(api, "patch", f"{PLANS}/00000000-0000-4000-8000-000000000000", 1, {})
    assert (unknown.status_code, unknown.json()["detail"]) == (409, "Version conflict or plan not found")
    assert api.post(url, HTTP_IF_MATCH=f'W/"{plan["version"]}"').status_code == 200


def test_tasks_of_a_plan_are_claimed_only_while_it_is_active(api, chain):
    plan, fetch, _, _ = chain
    refused = act(api, fetch, "claim")
    assert refused.status_code == 409
    assert refused.json()["plan_state"] == "draft"
    activate(api, plan)
    done(api, fetch, "claim")
    paused = plan_act(api, plan, "pause", data={"reason": "lunch"})
    assert paused.json()["state"] == "paused"
    assert act(api, fetch, "start").status_code == 409
    assert plan_act(api, plan, "resume").json()["state"] == "active"
    done(api, fetch, "start")


@pytest.mark.parametrize(
    ("setup", "move", "current"),
    [
        ([], "pause", "draft"),
        ([], "resume", "draft"),
        (["activate"], "activate", "active"),
        (["activate"], "resume", "active"),
        (["cancel"], "activate", "cancelled"),
        (["cancel"], "cancel", "cancelled"),
    ],
)
def test_illegal_plan_moves_are_409(api, chain, setup, move, current):
    plan = chain[0]
    for step in setup:
        assert plan_act(api, plan, step).status_code == 200
    before = get_plan(api, plan)
    response = plan_act(api, plan, move)
    assert response.status_code == 409
    assert response.json()["current_status"] == current
    assert get_plan(api, plan) == before


def test_patching_state_moves_the_plan_and_edits_in_one_version_step(api, chain):
    plan = chain[0]
    response = versioned(
        api, "patch", f"{PLANS}/{plan['id']}", plan["version"], {"state": "active", "metadata": {"owner": "ops"}}
    )
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["metadata"], response.json()["version"]) == (
        "active",
        {"owner": "ops"},
        plan["version"] + 1,
    )
    assert (
        versioned(api, "patch", f"{PLANS}/{plan['id']}", plan["version"] + 1, {"state": "completed"}).status_code == 409
    )
    assert versioned(api, "patch", f"{PLANS}/{plan['id']}", plan["version"] + 1, {"state": "bogus"}).status_code == 422


def test_cancelling_a_plan_cancels_its_open_tasks(api, intent, chain):
    plan, fetch, analyse, report = chain
    activate(api, plan)
    done(api, fetch, "claim")
    cancelled = plan_act(api, plan, "cancel", data={"reason": "scope changed"}).json()
    assert cancelled["state"] == "cancelled"
    assert {get_task(api, t)["status"] for t in (fetch, analyse, report)} == {"cancelled"}
    failed = [p for t, p in task_events(api, intent) if t == "plan.failed"]
    assert failed == [{"plan_id": plan["id"], "failed_task_id": None, "error": "scope changed", "state": "cancelled"}]


# Checkpoints and completion ----------------------------------------------------------------------------------


def test_a_checkpoint_pauses_the_plan_until_an_approver_approves_then_it_completes(api, other_api, intent, chain):
    plan, fetch, analyse, report = chain
    activate(api, plan)
    run_to_completion(api, fetch)
    run_to_completion(api, analyse)

    paused = get_plan(api, plan)
    assert paused["state"] == "paused"
    checkpoint = paused["checkpoints"][0]
    assert checkpoint["status"] == "waiting"
    assert get_task(api, report)["status"] == "ready"
    assert act(api, report, "claim").status_code == 409
    assert plan_act(api, plan, "resume").status_code == 409

    url = f"/api/v1/checkpoints/{checkpoint['checkpoint_id']}"
    assert api.post(f"{url}/approve").status_code == 403
    approved = other_api.post(f"{url}/approve", {"comment": "looks right"}, format="json")
    assert approved.status_code == 200
    assert approved.json()["state"] == "active"
    assert approved.json()["checkpoints"][0]["approved_by"] == "agent-synth"
    assert other_api.post(f"{url}/approve").status_code == 409

    run_to_completion(api, report)
    finished = get_plan(api, plan)
    assert finished["state"] == "completed"
    events = task_events(api, intent)
    plan_events = [(t, p) for t, p in events if t.startswith("plan.")]
    assert [t for t, _ in plan_events] == [
        "plan.created",
        "plan.activated",
        "plan.checkpoint_reached",
        "plan.paused",
        "plan.checkpoint_approved",
        "plan.resumed",
        "plan.completed",
    ]
    reached = dict(plan_events)["plan.checkpoint_reached"]
    assert reached == {
        "plan_id": plan["id"],
        "checkpoint_id": checkpoint["checkpoint_id"],
        "checkpoint": "cp1",
        "requires_approval": True,
    }
    assert dict(plan_events)["plan.checkpoint_approved"]["approved_by"] == "agent-synth"
    completed = dict(plan_events)["plan.completed"]
    assert (completed["tasks_completed"], completed["tasks_skipped"]) == (3, 0)
    assert isinstance(completed["duration_ms"], int)


def test_a_rejected_checkpoint_fails_the_plan(api, other_api, intent, chain):
    plan, fetch, analyse, report = chain
    activate(api, plan)
    run_to_completion(api, fetch)
    run_to_completion(api, analyse)
    checkpoint = get_plan(api, plan)["checkpoints"][0]

    rejected = other_api.post(
        f"/api/v1/checkpoints/{checkpoint['checkpoint_id']}/reject", {"reason": "numbers off"}, format="json"
    )

    assert rejected.json()["state"] == "failed"
    assert get_task(api, report)["status"] == "cancelled"
    events = dict(task_events(api, intent))
    assert events["plan.checkpoint_rejected"]["reason"] == "numbers off"
    assert events["plan.failed"]["failed_task_id"] == analyse["id"]


@pytest.mark.parametrize(
    ("on_timeout", "state", "status"),
    [
        ("auto_approve", "active", "approved"),
        ("fail", "failed", "rejected"),
        ("escalate", "paused", "escalated"),
    ],
)
def test_a_checkpoint_timeout_applies_on_timeout(api, intent, on_timeout, state, status):
    task = create_task(api, intent, "only")
    follow = create_task(api, intent, "follow", depends_on=[task["id"]])
    plan = create_plan(
        api,
        intent,
        [task, follow],
        checkpoints=[{"after_task": task["id"], "timeout_hours": 1, "on_timeout": on_timeout}],
    )
    activate(api, plan)
    run_to_completion(api, task)
    assert time_out_checkpoints() == 0
    Checkpoint.objects.update(deadline_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))

    assert time_out_checkpoints() == 1

    after = get_plan(api, plan)
    assert (after["state"], after["checkpoints"][0]["status"]) == (state, status)
    assert time_out_checkpoints() == 0
    if on_timeout == "escalate":
        assert task_events(api, intent)[-1][0] == "task.escalated"


def test_a_checkpoint_without_approval_is_logged_and_passed(api, intent):
    task = create_task(api, intent)
    plan = create_plan(api, intent, [task], checkpoints=[{"after_task": task["id"], "requires_approval": False}])
    activate(api, plan)
    run_to_completion(api, task)
    after = get_plan(api, plan)
    assert (after["state"], after["checkpoints"][0]["status"]) == ("completed", "passed")


def test_an_empty_plan_completes_when_activated(api, intent):
    plan = create_plan(api, intent, [])
    assert activate(api, plan)["state"] == "completed"


# Conditions --------------------------------------------------------------------------------------------------


def test_a_false_condition_skips_its_task_and_the_plan_still_completes(api, intent):
    audit = create_task(api, intent, "audit")
    fix = create_task(api, intent, "fix", depends_on=[audit["id"]])
    publish = create_task(api, intent, "publish", depends_on=[fix["id"]])
    plan = create_plan(
        api,
        intent,
        [audit, fix, publish],
        conditions=[{"id": "c1", "task_id": "fix", "when": "tasks['audit'].output.issues_found > 0"}],
    )
    activate(api, plan)
    run_to_completion(api, audit, {"issues_found": 0})

    assert get_task(api, fix)["status"] == "skipped"
    assert get_task(api, publish)["status"] == "ready"
    skipped = [p for t, p in task_events(api, intent) if t == "task.skipped"]
    assert skipped == [
        {
            "task_id": fix["id"],
            "condition_id": "c1",
            "reason": "Condition \"tasks['audit'].output.issues_found > 0\" is false",
        }
    ]
    run_to_completion(api, publish)
    assert get_plan(api, plan)["state"] == "completed"


def test_a_true_condition_lets_its_task_run(api, intent):
    audit = create_task(api, intent, "audit")
    fix = create_task(api, intent, "fix", depends_on=[audit["id"]])
    plan = create_plan(
        api, intent, [audit, fix], conditions=[{"task_id": fix["id"], "when": "tasks['audit'].output.issues_found > 0"}]
    )
    activate(api, plan)
    run_to_completion(api, audit, {"issues_found": 2})
    assert get_task(api, fix)["status"] == "ready"


# on_failure --------------------------------------------------------------------------------------------------


def fail_it(client, task, error="boom"):
    done(client, task, "claim")
    done(client, task, "start")
    return done(client, task, "fail", {"error": error})


def test_on_failure_pause_and_escalate_pauses_and_a_resume_retries(api, intent):
    a = create_task(api, intent, "a")
    plan = create_plan(api, intent, [a])
    activate(api, plan)
    fail_it(api, a)
    paused = get_plan(api, plan)
    assert paused["state"] == "paused"
    assert "failed" in paused["paused_reason"]
    assert "task.escalated" in event_types(api, intent)

    assert plan_act(api, plan, "resume").json()["state"] == "active"
    again = get_task(api, a)
    assert (again["status"], again["attempt"]) == ("ready", 2)
    run_to_completion(api, a)
    assert get_plan(api, plan)["state"] == "completed"


def test_on_failure_fail_fails_the_plan(api, intent):
    a = create_task(api, intent, "a")
    b = create_task(api, intent, "b")
    plan = create_plan(api, intent, [a, b], on_failure="fail")
    activate(api, plan)
    fail_it(api, a)
    assert get_plan(api, plan)["state"] == "failed"
    assert get_task(api, b)["status"] == "cancelled"
    failed = dict(task_events(api, intent))["plan.failed"]
    assert failed == {"plan_id": plan["id"], "failed_task_id": a["id"], "error": "boom"}


def test_on_failure_notify_goes_on_and_fails_the_plan_at_the_end(api, intent):
    a = create_task(api, intent, "a")
    after_a = create_task(api, intent, "after_a", depends_on=[a["id"]])
    b = create_task(api, intent, "b")
    plan = create_plan(api, intent, [a, after_a, b], on_failure="notify")
    activate(api, plan)
    fail_it(api, a)
    assert get_plan(api, plan)["state"] == "active"
    assert get_task(api, after_a)["status"] == "skipped"
    run_to_completion(api, b)
    assert get_plan(api, plan)["state"] == "failed"


def test_on_failure_retry_retries_up_to_max_attempts_then_fails(api, intent):
    a = create_task(api, intent, "a", max_attempts=2)
    plan = create_plan(api, intent, [a], on_failure="retry")
    activate(api, plan)
    first = fail_it(api, a)
    assert (first["status"], first["attempt"]) == ("ready", 2)
    fail_it(api, a)
    assert get_plan(api, plan)["state"] == "failed"


# Editing -----------------------------------------------------------------------------------------------------


def test_patch_adds_tasks_and_replaces_checkpoints_and_conditions(api, intent, chain):
    plan, fetch, analyse, report = chain
    extra = create_task(api, intent, "extra")
    body = {
        "tasks": [*plan["tasks"], extra["id"]],
        "checkpoints": [{"id": "cp2", "after_task": "fetch"}],
        "on_failure": "notify",
    }
    response = versioned(api, "patch", f"{PLANS}/{plan['id']}", plan["version"], body)
    assert response.status_code == 200, response.content
    changed = response.json()
    assert changed["tasks"][-1] == extra["id"]
    assert [c["id"] for c in changed["checkpoints"]] == ["cp2"]
    assert changed["on_failure"] == "notify"
    dropped = versioned(api, "patch", f"{PLANS}/{plan['id']}", changed["version"], {"tasks": [fetch["id"]]})
    assert dropped.status_code == 422


def test_a_task_created_into_an_active_plan_joins_it(api, intent):
    a = create_task(api, intent, "a")
    plan = create_plan(api, intent, [a])
    activate(api, plan)
    b = create_task(api, intent, "b", plan_id=plan["id"], depends_on=[a["id"]])
    assert get_plan(api, plan)["tasks"] == [a["id"], b["id"]]
    run_to_completion(api, a)
    assert get_plan(api, plan)["state"] == "active"
    run_to_completion(api, b)
    assert get_plan(api, plan)["state"] == "completed"


# Costs -------------------------------------------------------------------------------------------------------


def test_costs_roll_up_per_plan_from_the_costs_naming_its_tasks(api, intent):
    a = create_task(api, intent, "a")
    b = create_task(api, intent, "b")
    plan = create_plan(api, intent, [a, b])
    costs = f"/api/v1/intents/{intent['id']}/costs"
    for task, amount in [(a, 1.5), (b, 0.25), (None, 9)]:
        metadata = {"task_id": task["id"]} if task else {}
        body = {"cost_type": "api_call", "amount": amount, "unit": "USD", "metadata": metadata}
        assert api.post(costs, body, format="json").status_code == 200

    rolled = api.get(f"{PLANS}/{plan['id']}/costs").json()

    assert rolled["total_cents"] == 175.0
    assert rolled["cost_count"] == 2
    assert rolled["by_task"][a["id"]]["cents"] == 150.0
    assert rolled["by_unit"] == {"USD": 1.75}


def test_a_plan_that_ends_leaves_no_checkpoint_waiting(api, other_api, chain):
    plan, fetch, analyse, _ = chain
    activate(api, plan)
    run_to_completion(api, fetch)
    run_to_completion(api, analyse)
    checkpoint = get_plan(api, plan)["checkpoints"][0]

    assert plan_act(api, plan, "cancel").json()["checkpoints"][0]["status"] == "cancelled"
    refused = other_api.post(f"/api/v1/checkpoints/{checkpoint['checkpoint_id']}/approve")
    assert (refused.status_code, refused.json()["plan_state"]) == (409, "cancelled")


def test_approving_does_not_end_a_pause_a_person_made(api, other_api, chain):
    plan, fetch, analyse, _ = chain
    activate(api, plan)
    run_to_completion(api, fetch)
    done(api, analyse, "claim")
    done(api, analyse, "start")
    assert plan_act(api, plan, "pause", data={"reason": "audit week"}).status_code == 200
    done(api, analyse, "complete", {"output": {}})
    checkpoint = get_plan(api, plan)["checkpoints"][0]
    assert checkpoint["status"] == "waiting"

    approved = other_api.post(f"/api/v1/checkpoints/{checkpoint['checkpoint_id']}/approve").json()

    assert (approved["state"], approved["paused_reason"]) == ("paused", "audit week")
    assert plan_act(api, plan, "resume").json()["state"] == "active"
