"""RFC-0012 tasks, plans and checkpoints with both clients against a live server: the flat methods (0.9.1's
names) and ``client.tasks``."""

import pytest
from openintent import (
    Checkpoint,
    ConflictError,
    LeaseConflictError,
    NotFoundError,
    PermissionDeniedError,
    Plan,
    PlanState,
    PreconditionRequiredError,
    Task,
    TaskStatus,
    ValidationError,
)
from openintent.models import CheckpointStatus

from .conftest import AGENT, MISSING, OTHER_AGENT


def test_create_get_list_and_update_tasks(oi):
    intent = oi.create_intent("Tasks")
    fetch = oi.create_task(intent.id, "fetch", input={"quarter": "Q1"}, capabilities_required=["sql"], priority="high")
    assert isinstance(fetch, Task) and fetch.intent_id == intent.id and fetch.name == "fetch"
    assert fetch.input == {"quarter": "Q1"} and fetch.capabilities_required == ["sql"] and fetch.priority == "high"
    assert fetch.status == TaskStatus.READY and fetch.version >= 1 and fetch.created_by == AGENT
    analyse = oi.create_task(intent.id, "analyse", depends_on=[fetch.id], metadata={"team": "risk"})
    assert analyse.status == TaskStatus.PENDING and analyse.depends_on == [fetch.id]
    assert analyse.metadata == {"team": "risk"} and oi.get_task(fetch.id).blocks == [analyse.id]

    assert [task.id for task in oi.list_tasks(intent.id)] == [fetch.id, analyse.id]
    assert [task.id for task in oi.list_tasks(intent.id, TaskStatus.PENDING)] == [analyse.id]
    assert [task.id for task in oi.list_tasks(intent.id, "ready", limit=1)] == [fetch.id]

    updated = oi.update_task(fetch.id, fetch.version, description="Pull the ledger", priority="low")
    assert updated.description == "Pull the ledger" and updated.version == fetch.version + 1
    with pytest.raises(ConflictError):
        oi.update_task(fetch.id, fetch.version, priority="urgent")
    with pytest.raises(NotFoundError):
        oi.get_task(MISSING)
    with pytest.raises(ValidationError) as refused:
        oi.list_tasks(intent.id, "sleeping")
    assert refused.value.status_code in (400, 422)


def test_a_task_runs_through_its_moves(oi, other):
    intent = oi.create_intent("Moves")
    task = oi.create_task(intent.id, "work")
    claimed = oi.claim_task(task.id)
    assert claimed.status == TaskStatus.CLAIMED and claimed.assigned_agent == AGENT and claimed.lease_id
    with pytest.raises(LeaseConflictError):
        other.claim_task(task.id)
    started = oi.start_task(task.id, claimed.version)
    assert started.status == TaskStatus.RUNNING and started.started_at is not None
    progressed = oi.report_task_progress(task.id, 40, "halfway-ish")
    assert progressed.progress == {"percentage": 40, "message": "halfway-ish"}
    done = oi.complete_task(task.id, {"rows": 120}, artifacts=["s3://bucket/out.csv"])
    assert done.status == TaskStatus.COMPLETED and done.output == {"rows": 120}
    assert done.artifacts == ["s3://bucket/out.csv"] and done.completed_at is not None
    with pytest.raises(ConflictError):  # a completed task does not start again
        oi.start_task(task.id)


def test_fail_cancel_delegate_escalate_and_resolve(oi):
    intent = oi.create_intent("Troubles")
    failing = oi.create_task(intent.id, "flaky", max_attempts=1)
    oi.claim_task(failing.id)
    oi.start_task(failing.id)
    failed = oi.fail_task(failing.id, "upstream timed out")
    assert failed.status == TaskStatus.FAILED and failed.error == "upstream timed out"

    cancelled = oi.cancel_task(oi.create_task(intent.id, "unwanted").id, "not needed")
    assert cancelled.status == TaskStatus.CANCELLED

    parent = oi.create_task(intent.id, "parent")
    oi.claim_task(parent.id)
    oi.start_task(parent.id)
    sub = oi.delegate_task(parent.id, "translation", {"text": "hola"}, name="translate")
    assert isinstance(sub, Task) and sub.parent_task_id == parent.id and sub.input == {"text": "hola"}
    assert oi.get_task(parent.id).status == TaskStatus.BLOCKED

    stuck = oi.create_task(intent.id, "judgement call")
    escalated = oi.escalate_task(stuck.id, "needs a person", escalated_to="user:reviewer")
    assert escalated.status == TaskStatus.BLOCKED and escalated.escalation["reason"] == "needs a person"
    resolved = oi.resolve_task_escalation(stuck.id, "go ahead")
    assert resolved.status == TaskStatus.READY and resolved.resolution
    with pytest.raises(NotFoundError):
        oi.fail_task(MISSING)


def test_plans_with_a_checkpoint_run_to_completion(oi, other):
    intent = oi.create_intent("Quarterly compliance report")
    fetch = oi.create_task(intent.id, "fetch")
    analyse = oi.create_task(intent.id, "analyse", depends_on=[fetch.id])
    report = oi.create_task(intent.id, "report", depends_on=[analyse.id])
    review = Checkpoint(id="review", name="Review", after_task="analyse", approvers=[OTHER_AGENT], timeout_hours=24)
    plan = oi.create_plan(intent.id, [fetch.id, analyse.id, report.id], checkpoints=[review], metadata={"q": 1})
    assert isinstance(plan, Plan) and plan.state == PlanState.DRAFT and plan.tasks == [fetch.id, analyse.id, report.id]
    assert plan.checkpoints[0].id == "review" and plan.checkpoints[0].approvers == [OTHER_AGENT]
    assert plan.metadata == {"q": 1} and plan.task_count == 3
    assert [p.id for p in oi.list_plans(intent.id)] == [plan.id] and oi.get_plan(plan.id).id == plan.id

    with pytest.raises(PreconditionRequiredError):  # plan writes need the version they are based on
        oi.update_plan(plan.id, None, on_complete="archive")
    plan = oi.update_plan(plan.id, plan.version, on_complete="archive")
    assert plan.on_complete == "archive"
    with pytest.raises(ConflictError):
        oi.activate_plan(plan.id, plan.version - 1)
    plan = oi.activate_plan(plan.id, plan.version)
    assert plan.state == PlanState.ACTIVE

    for task, output in ((fetch, {"rows": 120}), (analyse, {"violations_found": 0})):
        oi.claim_task(task.id)
        oi.start_task(task.id)
        oi.complete_task(task.id, output)
    plan = oi.get_plan(plan.id)
    assert plan.state == PlanState.PAUSED and plan.checkpoints[0].status == CheckpointStatus.WAITING
    [waiting] = oi.get_plan_checkpoints(plan.id)
    assert waiting.checkpoint_id and waiting.status == CheckpointStatus.WAITING
    with pytest.raises(PermissionDeniedError):
        oi.approve_checkpoint(waiting.checkpoint_id)
    plan = other.approve_checkpoint(waiting.checkpoint_id, "numbers match")
    assert plan.state == PlanState.ACTIVE and plan.checkpoints[0].status == CheckpointStatus.APPROVED
    oi.claim_task(report.id)
    oi.start_task(report.id)
    oi.complete_task(report.id, {"url": "q1.pdf"})
    assert oi.get_plan(plan.id).state == PlanState.COMPLETED
    assert isinstance(oi.get_plan_costs(plan.id), dict)


def test_plan_pause_resume_cancel_and_reject(oi, other):
    intent = oi.create_intent("Plan moves")
    first = oi.create_task(intent.id, "first")
    plan = oi.create_plan(intent.id, [first.id])
    plan = oi.activate_plan(plan.id, plan.version)
    plan = oi.pause_plan(plan.id, plan.version, "lunch")
    assert plan.state == PlanState.PAUSED and plan.paused_reason == "lunch"
    plan = oi.resume_plan(plan.id, plan.version)
    assert plan.state == PlanState.ACTIVE
    plan = oi.cancel_plan(plan.id, plan.version, "changed our minds")
    assert plan.state == PlanState.CANCELLED and oi.get_task(first.id).status == TaskStatus.CANCELLED
    with pytest.raises(ConflictError):
        oi.resume_plan(plan.id, plan.version)

    second = oi.create_intent("Rejected")
    only = oi.create_task(second.id, "only")
    gate = {"id": "gate", "after": "only", "approvers": [OTHER_AGENT]}
    gated = oi.create_plan(second.id, [only.id], checkpoints=[gate])
    gated = oi.activate_plan(gated.id, gated.version)
    oi.claim_task(only.id)
    oi.start_task(only.id)
    oi.complete_task(only.id, {})
    checkpoint_id = oi.get_plan(gated.id).checkpoints[0].checkpoint_id
    assert other.reject_checkpoint(checkpoint_id, "wrong numbers").state == PlanState.FAILED
    with pytest.raises(NotFoundError):
        oi.get_plan(MISSING)


def test_the_tasks_namespace_names_the_same_methods(oi):
    intent = oi.create_intent("Namespaced")
    task = oi.tasks.create(intent.id, "step")
    assert isinstance(task, Task) and oi.tasks.get(task.id).id == task.id
    assert [t.id for t in oi.tasks.list(intent.id)] == [task.id]
    oi.tasks.claim(task.id)
    oi.tasks.start(task.id)
    assert oi.tasks.progress(task.id, 10).progress["percentage"] == 10
    assert oi.tasks.complete(task.id, {"ok": True}).status == TaskStatus.COMPLETED
    plan = oi.tasks.create_plan(intent.id, [task.id])
    assert oi.tasks.get_plan(plan.id).id == plan.id and [p.id for p in oi.tasks.list_plans(intent.id)] == [plan.id]
    with pytest.raises(NotFoundError):
        oi.tasks.get(MISSING)
