"""Tasks and plans (RFC-0012): every move of a task or a plan, made under row locks and logged on the intent.

Locks are always taken plan first, then its tasks (a sub-task belongs to its parent's plan), so that two writes in
one plan queue rather than deadlock; tasks outside any plan lock only themselves. Each write calls ``guards.check``
before it writes anything, which is where coordinator guardrails plug in.

What happens by itself, in the transaction of the move that causes it:
- a task whose dependencies are all completed (or skipped) becomes ``ready``, or ``skipped`` when a plan condition
  on it is false;
- a task's completion reaches the checkpoints after it (the plan pauses until an approver decides) and unblocks a
  parent that delegated to it;
- a failure is retried under the intent's retry policy (RFC-0010) up to ``max_attempts``; a failure for good
  applies its plan's ``on_failure``;
- a plan completes when every task in it is completed or skipped, and fails when the rest are stopped for good.
"""

import random
from collections import deque
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from intents.access.models import Permission
from intents.access.policy import require
from intents.core.services import as_uuid, get_intent
from intents.costs.models import Cost
from intents.costs.services import cents
from intents.leases.models import Lease, LeaseStatus
from intents.retries.models import RetryPolicy, RetryStrategy
from openintent_site.api import wire_datetime
from openintent_site.errors import Conflict, InvalidInput, InvalidTransition, LeaseHeld, NotAllowed, NotFound
from openintent_site.events import SYSTEM_ACTOR, EventType, append_event

from . import conditions, guards
from .models import (
    AWAITING_DECISION,
    DELEGATION,
    ESCALATION,
    FINISHED,
    PLAN_TRANSITIONS,
    RESOLVED,
    TRANSITIONS,
    Checkpoint,
    CheckpointStatus,
    FailureAction,
    Plan,
    PlanState,
    Task,
    TaskDependency,
    TaskStatus,
    TimeoutAction,
)

TASK_NOT_FOUND = "Task not found"
PLAN_NOT_FOUND = "Plan not found"
# 0.9.1's answer to a versioned write on an unknown id or at a stale version: the same 409 for both.
TASK_CONFLICT = "Version conflict or task not found"
PLAN_CONFLICT = "Version conflict or plan not found"
CHECKPOINT_PAUSE = "Checkpoint "


def millis(start, end):
    return int((end - start).total_seconds() * 1000) if start else None


# Reading -----------------------------------------------------------------------------------------------------


def task_for_reader(task_id, principal_id):
    """The task, if ``principal_id`` may read its intent (RFC-0011: a task inherits its intent's permissions)."""
    pk = as_uuid(task_id)
    task = Task.objects.filter(pk=pk).first() if pk else None
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    get_intent(task.intent_id, principal_id=principal_id, needs=Permission.READ)
    return task


def plan_for_reader(plan_id, principal_id):
    pk = as_uuid(plan_id)
    plan = Plan.objects.filter(pk=pk).first() if pk else None
    if plan is None:
        raise NotFound(PLAN_NOT_FOUND)
    get_intent(plan.intent_id, principal_id=principal_id, needs=Permission.READ)
    return plan


def current_plan(intent):
    """The plan of the intent that is under way (the newest not finished), else the newest; None without plans."""
    plans = intent.plans.order_by("-created_at")
    return plans.exclude(state__in=[PlanState.COMPLETED, PlanState.FAILED, PlanState.CANCELLED]).first() or (
        plans.first()
    )


# Locking -----------------------------------------------------------------------------------------------------


def lock_task(task_id, actor, needs=Permission.WRITE, missing=TASK_NOT_FOUND, missing_error=NotFound):
    """``(intent, plan, task)`` with the plan's row and then the task's locked for update (plan None outside one).

    ``needs`` is checked on the task's intent (None: the caller is a person in the admin, or the server)."""
    pk = as_uuid(task_id)
    for _ in range(3):
        seen = Task.objects.filter(pk=pk).values("intent_id", "plan_id", "parent_task_id").first() if pk else None
        if seen is None:
            raise missing_error(missing)
        intent = (
            get_intent(seen["intent_id"], principal_id=actor, needs=needs) if needs else get_intent(seen["intent_id"])
        )
        plan = Plan.objects.select_for_update().filter(pk=seen["plan_id"]).first() if seen["plan_id"] else None
        if plan is None and seen["parent_task_id"]:
            # Outside plans, a parent's lock comes before its sub-task's, in the order cancelling the parent takes them.
            Task.objects.select_for_update().filter(pk=seen["parent_task_id"]).first()
        task = Task.objects.select_for_update().filter(pk=pk).first()
        if task is None:
            raise missing_error(missing)
        # The task joined a plan between the two reads: take the plan's lock first, as every writer does.
        if task.plan_id == seen["plan_id"]:
            return intent, plan, task
    raise Conflict("The task is being moved between plans; try again")


def lock_plan(plan_id, actor, needs=Permission.WRITE, missing=PLAN_NOT_FOUND, missing_error=NotFound):
    pk = as_uuid(plan_id)
    plan = Plan.objects.select_for_update().filter(pk=pk).first() if pk else None
    if plan is None:
        raise missing_error(missing)
    intent = get_intent(plan.intent_id, principal_id=actor, needs=needs) if needs else get_intent(plan.intent_id)
    return intent, plan


def check_version(thing, expected, message):
    if expected is not None and thing.version != expected:
        raise Conflict(message, current_version=thing.version)


def refuse_if_intent_finished(intent, what):
    if intent.is_terminal:
        raise Conflict(f"Intent is {intent.status}; {what}", current_status=intent.status)


# Moves of a task ---------------------------------------------------------------------------------------------


def move(task, to, actor, event_type, payload=None, **fields):
    """Move the locked ``task`` to ``to`` along ``TRANSITIONS``, one version step, and log ``event_type``.

    An illegal move is refused (InvalidTransition: 409 naming both statuses) before anything is written."""
    current = TaskStatus(task.status)
    if to not in TRANSITIONS[current]:
        raise InvalidTransition(
            current, to, TRANSITIONS[current], message=f"Cannot change status from {current} to {to}"
        )
    for name, value in fields.items():
        setattr(task, name, value)
    task.status = to
    task.version += 1
    task.updated_at = timezone.now()
    task.save()
    append_event(task.intent_id, event_type, actor, {"task_id": str(task.pk), **(payload or {})})


def refuse(task, to, why=None):
    """Refuse a move from the task's status to ``to`` (409 naming both), ``why`` it is not the route's move."""
    current = TaskStatus(task.status)
    message = f"Cannot change status from {current} to {to}" + (f": {why}" if why else "")
    raise InvalidTransition(current, to, TRANSITIONS[current], message=message)


def touch(task):
    """One version step for a change that is no move (progress, an edit, a sub-task's result kept)."""
    task.version += 1
    task.updated_at = timezone.now()
    task.save()


def require_assignee(task, actor, verb):
    if task.assigned_agent != actor:
        holder = task.assigned_agent or "no agent"
        raise NotAllowed(
            f"Task is claimed by {holder}; only the agent that claimed it may {verb} it",
            assigned_agent=task.assigned_agent,
        )


def require_active_plan(plan, verb):
    if plan is not None and plan.state != PlanState.ACTIVE:
        raise Conflict(
            f"Plan is {plan.state}: its tasks may {verb} once it is active", plan_id=str(plan.pk), plan_state=plan.state
        )


def release_task_lease(task, actor, why):
    if task.lease_id is None:
        return
    released = Lease.objects.filter(pk=task.lease_id, status=LeaseStatus.ACTIVE).update(
        status=LeaseStatus.RELEASED, released_at=timezone.now()
    )
    if released:
        append_event(
            task.intent_id,
            EventType.LEASE_RELEASED,
            actor,
            {"lease_id": str(task.lease_id), "scope": task_scope(task), "task_id": str(task.pk), "reason": why},
        )


def task_scope(task):
    return f"task:{task.pk}"


# Dependencies and readiness ----------------------------------------------------------------------------------


def dependencies_of(task):
    return list(Task.objects.filter(dependent_links__task=task).order_by("dependent_links__position"))


def conditions_on(plan, task):
    if plan is None or not plan.conditions:
        return []
    return [condition for condition in plan.conditions if condition.get("task_id") in (str(task.pk), task.name)]


def make_ready(task, plan, actor, resolved=None):
    """A pending task whose dependencies are resolved: ``ready``, or ``skipped`` when a condition on it is false.
    Returns the status it took."""
    dependencies = None
    for condition in conditions_on(plan, task):
        dependencies = dependencies if dependencies is not None else dependencies_of(task)
        readable = {str(dependency.pk): dependency for dependency in dependencies}
        readable.update((dependency.name, dependency) for dependency in dependencies)
        tree, _ = conditions.parse(condition["when"])
        if not conditions.evaluate(tree, readable):
            skip(task, plan, actor, condition.get("id"), f"Condition {condition['when']!r} is false")
            return TaskStatus.SKIPPED
    if resolved is None:
        dependencies = dependencies if dependencies is not None else dependencies_of(task)
        resolved = [str(dependency.pk) for dependency in dependencies]
    move(task, TaskStatus.READY, actor, EventType.TASK_READY, {"resolved_dependencies": resolved})
    return TaskStatus.READY


def skip(task, plan, actor, condition_id, reason):
    move(
        task,
        TaskStatus.SKIPPED,
        actor,
        EventType.TASK_SKIPPED,
        {"condition_id": condition_id, "reason": reason},
        completed_at=timezone.now(),
    )
    if task.is_top_level and plan is not None:
        plan.unfinished_tasks -= 1
        plan.save(update_fields=["unfinished_tasks"])


def resolve_dependents(done, plan, actor):
    """``done`` just completed or was skipped: each dependent has one unmet dependency less, and those with none
    left become ready (or skipped, which resolves their own dependents in turn). Each step is an index lookup of the
    dependents of one task, so resolving a whole plan is linear in its tasks and dependencies."""
    queue = deque([done])
    while queue:
        finished = queue.popleft()
        dependent_ids = list(TaskDependency.objects.filter(depends_on=finished).values_list("task_id", flat=True))
        if not dependent_ids:
            continue
        Task.objects.filter(pk__in=dependent_ids).update(unmet_dependencies=F("unmet_dependencies") - 1)
        now_free = Task.objects.select_for_update().filter(
            pk__in=dependent_ids, unmet_dependencies=0, status=TaskStatus.PENDING
        )
        for dependent in now_free.order_by("position", "created_at"):
            if make_ready(dependent, plan, actor) == TaskStatus.SKIPPED:
                queue.append(dependent)


def skip_behind(stopped, plan, actor, why):
    """Skip every task that waits, directly or not, on ``stopped`` (failed for good or cancelled): none of them can
    run, and the plan can then settle."""
    queue = deque([stopped])
    while queue:
        blocker = queue.popleft()
        waiting = Task.objects.select_for_update().filter(
            dependency_links__depends_on=blocker, status=TaskStatus.PENDING
        )
        for dependent in waiting.order_by("position", "created_at"):
            skip(dependent, plan, actor, None, f"Dependency {blocker.pk} {why}")
            queue.append(dependent)


def after_resolved(task, plan, actor):
    """What follows a task's completion, in the same transaction."""
    if task.is_top_level:
        plan.unfinished_tasks -= 1
        plan.save(update_fields=["unfinished_tasks"])
    if task.parent_task_id:
        report_to_parent(task, actor)
    resolve_dependents(task, plan, actor)
    if plan is not None and task.is_top_level:
        reach_checkpoints(task, plan, actor)
    if plan is not None:
        settle(plan, actor)


def report_to_parent(sub_task, actor):
    """A delegated sub-task finished: its parent keeps the result and, with nothing else delegated, runs again."""
    parent = Task.objects.select_for_update().filter(pk=sub_task.parent_task_id).first()
    sub_id = str(sub_task.pk)
    if parent is None or parent.status != TaskStatus.BLOCKED or sub_id not in parent.blocked_by:
        return
    result = {"sub_task_id": sub_id, "status": sub_task.status}
    if sub_task.status == TaskStatus.COMPLETED:
        result["output"] = sub_task.output
    else:
        result["error"] = sub_task.error
    parent.delegated_outputs = {**parent.delegated_outputs, sub_id: result}
    parent.blocked_by = [blocker for blocker in parent.blocked_by if blocker != sub_id]
    if parent.blocked_by or parent.blocked_reason != DELEGATION:
        touch(parent)
        return
    unblock(parent, actor, result)


def unblock(task, actor, resolution):
    back = TaskStatus(task.status_before_block or TaskStatus.RUNNING)
    fields = {"blocked_reason": None, "blocked_by": [], "status_before_block": None}
    if back == TaskStatus.RUNNING and task.timeout_seconds:
        fields["deadline_at"] = timezone.now() + timedelta(seconds=task.timeout_seconds)
    payload = {"resolution": resolution}
    if back != TaskStatus.RUNNING:
        payload["status"] = back
    move(task, back, actor, EventType.TASK_UNBLOCKED, payload, **fields)


# Creating tasks ----------------------------------------------------------------------------------------------


def task_in_intent(intent, task_id):
    pk = as_uuid(task_id)
    return Task.objects.filter(pk=pk, intent=intent).first() if pk else None


@transaction.atomic
def create_task(intent_id, actor, *, name, plan_id=None, parent_task_id=None, depends_on=(), loc=("body",), **fields):
    intent = get_intent(intent_id, principal_id=actor, needs=Permission.WRITE)
    refuse_if_intent_finished(intent, "no task can be added to it")
    plan = None
    if plan_id is not None:
        pk = as_uuid(plan_id)
        plan = Plan.objects.select_for_update().filter(pk=pk, intent=intent).first() if pk else None
        if plan is None:
            raise InvalidInput.field([*loc, "plan_id"], "No plan with this id on the task's intent", plan_id)
        if plan.is_finished:
            raise Conflict(f"Plan is {plan.state}; it takes no new tasks", plan_state=plan.state)
    parent = None
    if parent_task_id is not None:
        parent = task_in_intent(intent, parent_task_id)
        if parent is None:
            raise InvalidInput.field([*loc, "parent_task_id"], "No task with this id on the intent", parent_task_id)
        if plan is None and parent.plan_id is not None:
            plan = Plan.objects.select_for_update().get(pk=parent.plan_id)
    dependencies = dependencies_for(intent, plan, depends_on, [*loc, "depends_on"])
    task = Task(intent=intent, plan=plan, parent_task=parent, name=name, created_by=actor, **fields)
    task.unmet_dependencies = sum(1 for dependency in dependencies if dependency.status not in RESOLVED)
    if plan is not None and parent is None:
        task.position = next_position(plan)
    guards.check("task.create", intent, actor, task=task, plan=plan, parent_task=parent)
    task.save()
    TaskDependency.objects.bulk_create(
        TaskDependency(task=task, depends_on=dependency, position=index)
        for index, dependency in enumerate(dependencies)
    )
    if task.is_top_level:
        plan.unfinished_tasks += 1
        plan.version += 1
        plan.updated_at = timezone.now()
        plan.save(update_fields=["unfinished_tasks", "version", "updated_at"])
    append_event(
        intent.pk,
        EventType.TASK_CREATED,
        actor,
        {
            "task_id": str(task.pk),
            "name": task.name,
            "capabilities_required": task.capabilities_required,
            "plan_id": str(plan.pk) if plan else None,
            "parent_task_id": str(parent.pk) if parent else None,
            "depends_on": [str(dependency.pk) for dependency in dependencies],
        },
    )
    if task.unmet_dependencies == 0:
        status = make_ready(task, plan, actor, [str(dependency.pk) for dependency in dependencies])
        if status == TaskStatus.SKIPPED:
            resolve_dependents(task, plan, actor)
    return task


def next_position(plan):
    highest = plan.tasks.filter(parent_task__isnull=True).aggregate(highest=Max("position"))["highest"]
    return 0 if highest is None else highest + 1


def dependencies_for(intent, plan, ids, loc):
    """The tasks named by ``ids``, each on the same intent and in the same plan as the task that waits for them."""
    found = []
    for index, value in enumerate(ids):
        dependency = task_in_intent(intent, value)
        if dependency is None:
            raise InvalidInput.field([*loc, index], "No task with this id on the intent", value)
        if dependency.plan_id != (plan.pk if plan else None):
            raise InvalidInput.field(
                [*loc, index],
                "A task can only depend on tasks of its own plan (or, outside plans, on tasks outside plans)",
                value,
            )
        if dependency not in found:
            found.append(dependency)
    return found


# Task routes -------------------------------------------------------------------------------------------------


@transaction.atomic
def claim_task(task_id, actor, expected_version=None):
    """Claim a ready task: a lease on ``task:<id>`` (RFC-0003) held by the caller, who becomes its agent.

    The task's row lock makes claimers queue; the first finds it ready and claims it, the others find it claimed and
    are refused naming the lease, as a lease request on a held scope is. The leases' partial unique constraint would
    refuse a second holder even if a claimer got past the lock."""
    intent, plan, task = lock_task(task_id, actor)
    check_version(task, expected_version, TASK_CONFLICT)
    return claim_locked(intent, plan, task, actor)


def claim_locked(intent, plan, task, actor):
    if task.status in (TaskStatus.CLAIMED, TaskStatus.RUNNING) and task.lease_id:
        lease = Lease.objects.filter(pk=task.lease_id).first()
        held = LeaseHeld(
            f"Cannot change status from {task.status} to claimed: the task's lease is held by {task.assigned_agent}",
            lease,
        )
        held.details["current_status"] = task.status
        raise held
    if task.status != TaskStatus.READY:
        refuse(task, TaskStatus.CLAIMED)
    refuse_if_intent_finished(intent, "its tasks can no longer be claimed")
    require_active_plan(plan, "be claimed")
    allowed = task.permissions.get("allow") if isinstance(task.permissions, dict) else None
    if allowed is not None and actor not in allowed:
        raise NotAllowed(f"The task's permissions allow only {', '.join(allowed) or 'nobody'} to claim it")
    guards.check("task.claim", intent, actor, task=task)
    now = timezone.now()
    scope = task_scope(task)
    Lease.objects.lapsed(now).filter(intent=intent, scope=scope).update(status=LeaseStatus.EXPIRED)
    try:
        with transaction.atomic():
            lease = Lease.objects.create(
                intent=intent,
                scope=scope,
                holder=actor,
                acquired_at=now,
                expires_at=now + timedelta(seconds=settings.OPENINTENT_MAX_LEASE_SECONDS),
            )
    except IntegrityError:
        held = Lease.objects.held(now).filter(intent=intent, scope=scope).first()
        raise LeaseHeld("Task is already claimed", held) from None
    append_event(
        intent.pk,
        EventType.LEASE_ACQUIRED,
        actor,
        {
            "lease_id": str(lease.pk),
            "scope": scope,
            "expires_at": wire_datetime(lease.expires_at),
            "task_id": str(task.pk),
        },
    )
    move(
        task,
        TaskStatus.CLAIMED,
        actor,
        EventType.TASK_CLAIMED,
        {"agent_id": actor, "lease_id": str(lease.pk)},
        assigned_agent=actor,
        lease=lease,
    )
    return task


@transaction.atomic
def start_task(task_id, actor, expected_version=None):
    intent, plan, task = lock_task(task_id, actor)
    check_version(task, expected_version, TASK_CONFLICT)
    return start_locked(intent, plan, task, actor)


def start_locked(intent, plan, task, actor):
    if task.status != TaskStatus.CLAIMED:
        refuse(task, TaskStatus.RUNNING)
    require_assignee(task, actor, "start")
    require_active_plan(plan, "start")
    guards.check("task.start", intent, actor, task=task)
    now = timezone.now()
    deadline = now + timedelta(seconds=task.timeout_seconds) if task.timeout_seconds else None
    move(
        task,
        TaskStatus.RUNNING,
        actor,
        EventType.TASK_STARTED,
        {"agent_id": actor},
        started_at=now,
        deadline_at=deadline,
    )
    return task


@transaction.atomic
def report_progress(task_id, actor, percentage, message, expected_version=None):
    intent, plan, task = lock_task(task_id, actor)
    check_version(task, expected_version, TASK_CONFLICT)
    if task.status != TaskStatus.RUNNING:
        refuse(task, TaskStatus.RUNNING, "progress is reported on a running task")
    require_assignee(task, actor, "report progress on")
    task.progress_percentage, task.progress_message = percentage, message
    touch(task)
    append_event(
        intent.pk,
        EventType.TASK_PROGRESS,
        actor,
        {"task_id": str(task.pk), "percentage": percentage, "message": message},
    )
    return task


@transaction.atomic
def complete_task(task_id, actor, output=None, artifacts=None, expected_version=None):
    intent, plan, task = lock_task(task_id, actor)
    check_version(task, expected_version, TASK_CONFLICT)
    return complete_locked(intent, plan, task, actor, output, artifacts)


def complete_locked(intent, plan, task, actor, output, artifacts):
    if task.status != TaskStatus.RUNNING:
        refuse(task, TaskStatus.COMPLETED)
    require_assignee(task, actor, "complete")
    guards.check("task.complete", intent, actor, task=task, output=output)
    now = timezone.now()
    output = output if output is not None else (task.output or {})
    artifacts = artifacts if artifacts is not None else task.artifacts
    move(
        task,
        TaskStatus.COMPLETED,
        actor,
        EventType.TASK_COMPLETED,
        {"output": output, "artifacts": artifacts, "duration_ms": millis(task.started_at, now)},
        output=output,
        artifacts=artifacts,
        completed_at=now,
        deadline_at=None,
        error=None,
        progress_percentage=100,
    )
    release_task_lease(task, actor, "task completed")
    after_resolved(task, plan, actor)
    return task


@transaction.atomic
def fail_task(task_id, actor, error, expected_version=None):
    intent, plan, task = lock_task(task_id, actor)
    check_version(task, expected_version, TASK_CONFLICT)
    return fail_locked(intent, plan, task, actor, error)


def fail_locked(intent, plan, task, actor, error, *, by_server=False):
    if task.status != TaskStatus.RUNNING:
        refuse(task, TaskStatus.FAILED)
    if not by_server:
        require_assignee(task, actor, "fail")
    guards.check("task.fail", intent, actor, task=task, error=error)
    now = timezone.now()
    delay_ms = retry_delay_ms(task, plan)
    retry_at = now + timedelta(milliseconds=delay_ms) if delay_ms is not None else None
    payload = {"error": error, "attempt": task.attempt, "will_retry": retry_at is not None}
    if retry_at is not None:
        payload["next_attempt_at"] = wire_datetime(retry_at)
    move(
        task, TaskStatus.FAILED, actor, EventType.TASK_FAILED, payload, error=error, deadline_at=None, retry_at=retry_at
    )
    release_task_lease(task, actor, "task failed")
    if retry_at is not None and delay_ms == 0:
        retry(task, actor)
    elif retry_at is None:
        failed_for_good(task, plan, actor)
    return task


def retry_delay_ms(task, plan):
    """Milliseconds until the next attempt of a task failing now, or None when it is not retried: the intent's retry
    policy (RFC-0010) gives the backoff (and ``none`` refuses retries); a plan whose ``on_failure`` is ``retry``
    retries at once without a policy. Never beyond the task's ``max_attempts`` nor the policy's ``max_retries``."""
    if task.attempt >= task.max_attempts:
        return None
    policy = RetryPolicy.objects.filter(intent_id=task.intent_id).first()
    if policy is not None and policy.strategy != RetryStrategy.NONE:
        if task.attempt > policy.max_retries:
            return None
        delay = policy.delay_ms(task.attempt)
        return int(delay * random.uniform(0.5, 1.0)) if policy.jitter else delay
    if plan is not None and plan.on_failure == FailureAction.RETRY:
        return 0
    return None


def retry(task, actor):
    """A failed task's next attempt: ready again, one attempt more, nobody's."""
    scheduled = task.retry_at or timezone.now()
    move(
        task,
        TaskStatus.READY,
        actor,
        EventType.TASK_RETRYING,
        {"attempt": task.attempt + 1, "next_attempt_at": wire_datetime(scheduled)},
        attempt=task.attempt + 1,
        retry_at=None,
        assigned_agent=None,
        lease=None,
        started_at=None,
        progress_percentage=None,
        progress_message=None,
    )


def failed_for_good(task, plan, actor):
    """A failure with no retry to come: the parent that delegated hears of it; the plan applies ``on_failure``."""
    if task.parent_task_id:
        report_to_parent(task, actor)
    if not task.is_top_level:
        return
    plan.stopped_tasks += 1
    plan.save(update_fields=["stopped_tasks"])
    if plan.state not in (PlanState.ACTIVE, PlanState.PAUSED):
        return
    action = plan.on_failure
    if action in (FailureAction.FAIL, FailureAction.RETRY):
        fail_plan(plan, actor, task, task.error)
    elif action == FailureAction.PAUSE_AND_ESCALATE:
        append_event(
            task.intent_id,
            EventType.TASK_ESCALATED,
            actor,
            {"task_id": str(task.pk), "reason": task.error, "escalated_to": "operators", "plan_id": str(plan.pk)},
        )
        if plan.state == PlanState.ACTIVE:
            pause(plan, actor, f"Task {task.pk} failed: {task.error}")
    else:
        skip_behind(task, plan, actor, "failed")
        settle(plan, actor)


@transaction.atomic
def retry_task(task_id, actor, expected_version=None):
    """A failed task made ready again by hand (PATCH status ``ready``)."""
    intent, plan, task = lock_task(task_id, actor)
    check_version(task, expected_version, TASK_CONFLICT)
    return retry_locked(intent, plan, task, actor)


def retry_locked(intent, plan, task, actor):
    if task.status != TaskStatus.FAILED:
        refuse(task, TaskStatus.READY)
    if task.attempt >= task.max_attempts:
        raise Conflict(
            f"Task has used its {task.max_attempts} attempts", current_status=task.status, attempt=task.attempt
        )
    was_stopped = task.retry_at is None
    retry(task, actor)
    if was_stopped and task.is_top_level:
        plan.stopped_tasks -= 1
        plan.save(update_fields=["stopped_tasks"])
    return task


@transaction.atomic
def delegate_task(task_id, actor, capability, input=None, name=None, delegated_to=None, description=None):
    """A running task hands part of its work to a sub-task and waits, blocked, for its result (RFC-0012 §4.2)."""
    intent, plan, task = lock_task(task_id, actor)
    if task.status != TaskStatus.RUNNING:
        refuse(task, TaskStatus.BLOCKED)
    require_assignee(task, actor, "delegate")
    guards.check("task.delegate", intent, actor, task=task, capability=capability, delegated_to=delegated_to)
    sub_task = Task(
        intent=intent,
        plan=plan,
        parent_task=task,
        name=name or f"{task.name}/{capability}",
        description=description,
        input=input or {},
        capabilities_required=[capability],
        permissions={"allow": [delegated_to]} if delegated_to else "inherit",
        max_attempts=task.max_attempts,
        created_by=actor,
    )
    sub_task.save()
    append_event(
        intent.pk,
        EventType.TASK_CREATED,
        actor,
        {
            "task_id": str(sub_task.pk),
            "name": sub_task.name,
            "capabilities_required": sub_task.capabilities_required,
            "plan_id": str(plan.pk) if plan else None,
            "parent_task_id": str(task.pk),
            "depends_on": [],
        },
    )
    make_ready(sub_task, plan, actor, [])
    append_event(
        intent.pk,
        EventType.TASK_DELEGATED,
        actor,
        {
            "task_id": str(task.pk),
            "sub_task_id": str(sub_task.pk),
            "capability": capability,
            "delegated_to": delegated_to,
        },
    )
    move(
        task,
        TaskStatus.BLOCKED,
        actor,
        EventType.TASK_BLOCKED,
        {"reason": DELEGATION, "blocked_by": [str(sub_task.pk)]},
        blocked_reason=DELEGATION,
        blocked_by=[str(sub_task.pk)],
        status_before_block=TaskStatus.RUNNING,
        deadline_at=None,
    )
    return task, sub_task


@transaction.atomic
def escalate_task(task_id, actor, reason, escalated_to=None):
    """Hand a task to a person (RFC-0012 §4.3): blocked with ``blocked_reason: "escalation"`` until a decision on
    the admin desk (or ``resolve``) unblocks it."""
    intent, plan, task = lock_task(task_id, actor)
    return escalate_locked(intent, plan, task, actor, reason, escalated_to)


def escalate_locked(intent, plan, task, actor, reason, escalated_to=None):
    if TaskStatus.BLOCKED not in TRANSITIONS[TaskStatus(task.status)]:
        refuse(task, TaskStatus.BLOCKED)
    guards.check("task.escalate", intent, actor, task=task, reason=reason)
    escalated_to = escalated_to or "operators"
    append_event(
        intent.pk,
        EventType.TASK_ESCALATED,
        actor,
        {"task_id": str(task.pk), "reason": reason, "escalated_to": escalated_to},
    )
    move(
        task,
        TaskStatus.BLOCKED,
        actor,
        EventType.TASK_BLOCKED,
        {"reason": ESCALATION, "blocked_by": []},
        blocked_reason=ESCALATION,
        blocked_by=[],
        status_before_block=task.status,
        escalated_by=actor,
        escalated_at=timezone.now(),
        escalation_reason=reason,
        escalated_to=escalated_to,
        deadline_at=None,
    )
    return task


@transaction.atomic
def resolve_escalation(task_id, decided_by, decision, *, by_person=False):
    """A person's decision on an escalated task: logged with it, the task goes back to what it was doing.

    Through the API the decider needs ``admin`` on the intent; from the admin desk (``by_person``) the staff user
    decides."""
    intent, plan, task = lock_task(task_id, decided_by, needs=None if by_person else Permission.ADMIN)
    if task.status != TaskStatus.BLOCKED or task.blocked_reason != ESCALATION:
        raise Conflict("Task is not waiting on an escalation", current_status=task.status)
    resolution = {"decision": decision, "decided_by": decided_by}
    task.resolution = resolution
    unblock(task, decided_by, resolution)
    if task.status == TaskStatus.PENDING and task.unmet_dependencies == 0:
        make_ready(task, plan, decided_by)
    return task


def block_locked(intent, plan, task, actor, reason):
    if task.status != TaskStatus.RUNNING:
        refuse(task, TaskStatus.BLOCKED)
    require_assignee(task, actor, "block")
    move(
        task,
        TaskStatus.BLOCKED,
        actor,
        EventType.TASK_BLOCKED,
        {"reason": reason, "blocked_by": []},
        blocked_reason=reason,
        blocked_by=[],
        status_before_block=TaskStatus.RUNNING,
        deadline_at=None,
    )
    return task


def unblock_locked(intent, plan, task, actor):
    """An agent's own block lifted (PATCH status ``running``); escalations and delegations end otherwise."""
    if task.status != TaskStatus.BLOCKED:
        refuse(task, TaskStatus.RUNNING)
    if task.blocked_reason == ESCALATION:
        raise Conflict("Task waits on an escalation: a person's decision unblocks it", current_status=task.status)
    if task.blocked_reason == DELEGATION:
        raise Conflict("Task waits on its sub-tasks: their completion unblocks it", current_status=task.status)
    require_assignee(task, actor, "unblock")
    unblock(task, actor, {"input_received": True})
    return task


@transaction.atomic
def cancel_task(task_id, actor, reason=None, expected_version=None):
    intent, plan, task = lock_task(task_id, actor)
    check_version(task, expected_version, TASK_CONFLICT)
    return cancel_locked(intent, plan, task, actor, reason)


def cancel_locked(intent, plan, task, actor, reason, *, settle_plan=True):
    if task.status in FINISHED:
        refuse(task, TaskStatus.CANCELLED)
    guards.check("task.cancel", intent, actor, task=task)
    already_stopped = task.status == TaskStatus.FAILED and task.retry_at is None
    move(
        task,
        TaskStatus.CANCELLED,
        actor,
        EventType.TASK_CANCELLED,
        {"reason": reason},
        deadline_at=None,
        retry_at=None,
        completed_at=timezone.now(),
    )
    release_task_lease(task, actor, "task cancelled")
    for sub_task in Task.objects.select_for_update().filter(parent_task=task).exclude(status__in=FINISHED):
        cancel_locked(intent, plan, sub_task, actor, "parent task cancelled", settle_plan=False)
    if task.parent_task_id:
        report_to_parent(task, actor)
    if task.is_top_level and settle_plan:
        if not already_stopped:
            plan.stopped_tasks += 1
            plan.save(update_fields=["stopped_tasks"])
        skip_behind(task, plan, actor, "was cancelled")
        settle(plan, actor)
    return task


EDITABLE = ("description", "priority", "metadata", "output")


@transaction.atomic
def update_task(task_id, actor, expected_version, status=None, **changes):
    """The 0.9.1 PATCH: edits of free fields, and a status change made as the move it names (claim, start,
    complete...), with that move's rules. Without ``status``, or with the current one, only the edits are made."""
    intent, plan, task = lock_task(task_id, actor, missing=TASK_CONFLICT, missing_error=Conflict)
    check_version(task, expected_version, TASK_CONFLICT)
    guards.check("task.update", intent, actor, task=task, changes={"status": status, **changes})
    for name in EDITABLE:
        if name in changes and name != "output":
            setattr(task, name, changes[name])
    output, error, blocked_reason = changes.get("output"), changes.get("error"), changes.get("blocked_reason")
    if status is None or status == task.status:
        if output is not None:
            if task.is_finished:
                raise Conflict(f"Task is {task.status}; its output is final", current_status=task.status)
            task.output = output
        touch(task)
        return task
    if status == TaskStatus.CLAIMED:
        return claim_locked(intent, plan, task, actor)
    if status == TaskStatus.RUNNING:
        if task.status == TaskStatus.BLOCKED:
            return unblock_locked(intent, plan, task, actor)
        return start_locked(intent, plan, task, actor)
    if status == TaskStatus.COMPLETED:
        return complete_locked(intent, plan, task, actor, output, changes.get("artifacts"))
    if status == TaskStatus.FAILED:
        return fail_locked(intent, plan, task, actor, error or "failed")
    if status == TaskStatus.BLOCKED:
        if blocked_reason == ESCALATION:
            return escalate_locked(intent, plan, task, actor, error or "escalated")
        return block_locked(intent, plan, task, actor, blocked_reason or "waiting for input")
    if status == TaskStatus.CANCELLED:
        return cancel_locked(intent, plan, task, actor, changes.get("error"))
    if status == TaskStatus.READY and task.status == TaskStatus.FAILED:
        return retry_locked(intent, plan, task, actor)
    # pending and skipped are the server's to set, as is ready outside a retry.
    raise InvalidTransition(
        task.status,
        status,
        message=f"Cannot change status from {task.status} to {status}: the server sets {status} itself",
    )


# Plans -------------------------------------------------------------------------------------------------------


def move_plan(plan, to, actor, event_type, payload=None, **fields):
    current = PlanState(plan.state)
    if to not in PLAN_TRANSITIONS[current]:
        raise InvalidTransition(
            current, to, PLAN_TRANSITIONS[current], message=f"Cannot change plan state from {current} to {to}"
        )
    for name, value in fields.items():
        setattr(plan, name, value)
    plan.state = to
    plan.version += 1
    plan.updated_at = timezone.now()
    plan.save()
    append_event(plan.intent_id, event_type, actor, {"plan_id": str(plan.pk), **(payload or {})})


def bump(plan):
    plan.version += 1
    plan.updated_at = timezone.now()
    plan.save(update_fields=["version", "updated_at"])


def bump_once(plan, start):
    """One version step for a write that took none yet (a move of the plan takes its own)."""
    if plan.version == start:
        bump(plan)


def pause(plan, actor, reason):
    move_plan(plan, PlanState.PAUSED, actor, EventType.PLAN_PAUSED, {"reason": reason}, paused_reason=reason)


def settle(plan, actor):
    """An active plan whose tasks are all completed or skipped completes; one whose remaining tasks are all stopped
    for good (failed, cancelled) fails."""
    if plan.state != PlanState.ACTIVE:
        return
    if plan.unfinished_tasks == 0:
        now = timezone.now()
        counts = dict(
            plan.tasks.filter(parent_task__isnull=True).values_list("status").annotate(n=Count("id")).order_by()
        )
        move_plan(
            plan,
            PlanState.COMPLETED,
            actor,
            EventType.PLAN_COMPLETED,
            {
                "duration_ms": millis(plan.activated_at, now),
                "tasks_completed": counts.get(TaskStatus.COMPLETED, 0),
                "tasks_skipped": counts.get(TaskStatus.SKIPPED, 0),
                "on_complete": plan.on_complete,
            },
            finished_at=now,
        )
    elif plan.stopped_tasks and plan.unfinished_tasks == plan.stopped_tasks:
        stopped = (
            plan.tasks.filter(parent_task__isnull=True, status__in=[TaskStatus.FAILED, TaskStatus.CANCELLED])
            .order_by("updated_at")
            .first()
        )
        fail_plan(plan, actor, stopped, stopped.error if stopped and stopped.error else f"Task {stopped.pk} stopped")


def fail_plan(plan, actor, failed_task, error, *, state=PlanState.FAILED):
    """The plan ends (failed or cancelled) and every task of it still open is cancelled."""
    payload = {"failed_task_id": str(failed_task.pk) if failed_task else None, "error": error}
    if state == PlanState.CANCELLED:
        # The RFC names no plan.cancelled event, and the 0.9.1 client cannot read one: a cancellation is logged as the
        # plan's end without success, with the state it ended in.
        payload["state"] = PlanState.CANCELLED
    move_plan(plan, state, actor, EventType.PLAN_FAILED, payload, finished_at=timezone.now())
    # Nothing is left to decide: the plan's waiting checkpoints leave the desk.
    plan.checkpoints.filter(status__in=AWAITING_DECISION).update(status=CheckpointStatus.CANCELLED)
    why = "plan cancelled" if state == PlanState.CANCELLED else "plan failed"
    intent = plan.intent
    open_tasks = plan.tasks.select_for_update().exclude(status__in=FINISHED).order_by("position", "created_at")
    for task in open_tasks:
        if task.status not in FINISHED:
            task.refresh_from_db()
            if task.status not in FINISHED:
                cancel_locked(intent, plan, task, actor, why, settle_plan=False)


@transaction.atomic
def create_plan(intent_id, actor, *, tasks=(), checkpoints=(), conditions=(), loc=("body",), **fields):
    intent = get_intent(intent_id, principal_id=actor, needs=Permission.WRITE)
    refuse_if_intent_finished(intent, "no plan can be made for it")
    plan = Plan(intent=intent, created_by=actor, **fields)
    members = plan_members(intent, None, tasks, [*loc, "tasks"])
    plan.conditions = checked_conditions(conditions, members, [*loc, "conditions"])
    checkpoint_rows = checked_checkpoints(checkpoints, members, [*loc, "checkpoints"])
    guards.check("plan.create", intent, actor, plan=plan, tasks=members)
    plan.unfinished_tasks = sum(1 for task in members if task.status not in RESOLVED)
    plan.stopped_tasks = sum(1 for task in members if is_stopped(task))
    plan.save()
    join_plan(plan, members, 0)
    for checkpoint in checkpoint_rows:
        checkpoint.plan = plan
    Checkpoint.objects.bulk_create(checkpoint_rows)
    append_event(intent.pk, EventType.PLAN_CREATED, actor, {"plan_id": str(plan.pk), "task_count": len(members)})
    return plan


def is_stopped(task):
    return task.status == TaskStatus.CANCELLED or (task.status == TaskStatus.FAILED and task.retry_at is None)


def join_plan(plan, members, first_position):
    for offset, task in enumerate(members):
        # No version step: the plan's own write (versioned) is what changed, and an agent holding the task's version
        # (a 0.9.1 client that created the tasks and then the plan) goes on with it.
        Task.objects.filter(pk=task.pk).update(plan=plan, position=first_position + offset)
        task.plan, task.position = plan, first_position + offset
        # Its sub-tasks run inside its place in the plan.
        Task.objects.filter(parent_task=task).update(plan=plan)


def plan_members(intent, plan, ids, loc, already=()):
    """The tasks ``ids`` names, each a top-level task of the intent in no other plan, whose dependencies are all in
    this plan."""
    members, seen = [], {task.pk for task in already}
    for index, value in enumerate(ids):
        task = task_in_intent(intent, value)
        if task is None:
            raise InvalidInput.field([*loc, index], "No task with this id on the plan's intent", value)
        if task.pk in seen:
            raise InvalidInput.field([*loc, index], "The task is listed twice", value)
        if task.parent_task_id is not None:
            raise InvalidInput.field([*loc, index], "A sub-task runs within its parent; list the parent", value)
        if task.plan_id is not None and (plan is None or task.plan_id != plan.pk):
            raise InvalidInput.field([*loc, index], f"The task is in another plan ({task.plan_id})", value)
        seen.add(task.pk)
        members.append(task)
    member_ids = {task.pk for task in members} | seen
    links = TaskDependency.objects.filter(task__in=members).exclude(depends_on__in=member_ids)
    outside = links.values_list("task_id", "depends_on_id").first()
    if outside is not None:
        index = next(i for i, task in enumerate(members) if task.pk == outside[0])
        raise InvalidInput.field(
            [*loc, index], f"The task depends on {outside[1]}, which is not in the plan", str(outside[0])
        )
    return members


def by_reference(tasks):
    """Task id or name -> task; a name borne by two tasks refers to neither."""
    found, names = {}, {}
    for task in tasks:
        found[str(task.pk)] = task
        names.setdefault(task.name, []).append(task)
    for name, bearers in names.items():
        if len(bearers) == 1:
            found.setdefault(name, bearers[0])
    return found


def checked_conditions(values, tasks, loc):
    """Conditions whose task is in the plan and still waiting, and whose ``when`` parses and reads only tasks that
    task depends on (so it is evaluated when they have all finished)."""
    references = by_reference(tasks)
    checked = []
    for index, condition in enumerate(values):
        task = references.get(condition["task_id"])
        if task is None:
            raise InvalidInput.field(
                [*loc, index, "task_id"], "No task of the plan has this id or name", condition["task_id"]
            )
        if task.status != TaskStatus.PENDING:
            raise InvalidInput.field(
                [*loc, index, "task_id"],
                f"The task is {task.status}: a condition can only gate a task still waiting on its dependencies",
                condition["task_id"],
            )
        try:
            _, read = conditions.parse(condition["when"])
        except conditions.ConditionError as exc:
            raise InvalidInput.field([*loc, index, "when"], str(exc), condition["when"]) from None
        dependencies = by_reference(dependencies_of(task))
        for reference in sorted(read):
            if reference not in dependencies:
                raise InvalidInput.field(
                    [*loc, index, "when"],
                    f"The condition reads task {reference!r}, which {task.name!r} does not depend on",
                    condition["when"],
                )
        checked.append(
            {
                "id": condition.get("id") or f"cond_{index + 1}",
                "task_id": condition["task_id"],
                "when": condition["when"],
                "otherwise": condition.get("otherwise") or "skip",
            }
        )
    return checked


def checked_checkpoints(values, tasks, loc):
    references = by_reference(tasks)
    rows, keys = [], set()
    for index, value in enumerate(values):
        after = value.get("after_task") or value.get("after")
        task = references.get(after) if after else None
        if task is None:
            raise InvalidInput.field([*loc, index, "after_task"], "No task of the plan has this id or name", after)
        key = value.get("id") or f"cp_{index + 1}"
        if key in keys:
            raise InvalidInput.field([*loc, index, "id"], "Two checkpoints have this id", key)
        keys.add(key)
        rows.append(
            Checkpoint(
                position=index,
                key=key,
                name=value.get("name") or key,
                after_task=task,
                requires_approval=value.get("requires_approval", True),
                approvers=value.get("approvers") or [],
                timeout_hours=value.get("timeout_hours"),
                on_timeout=value.get("on_timeout") or TimeoutAction.ESCALATE,
            )
        )
    return rows


@transaction.atomic
def update_plan(plan_id, actor, expected_version, changes, loc=("body",)):
    """The PATCH: add tasks, replace checkpoints or conditions, change ``on_failure``/``on_complete``/``metadata``,
    and move the plan by naming a ``state`` (activate, pause, resume, cancel). One version step."""
    intent, plan = lock_plan(plan_id, actor, missing=PLAN_CONFLICT, missing_error=Conflict)
    check_version(plan, expected_version, PLAN_CONFLICT)
    start = plan.version
    guards.check("plan.update", intent, actor, plan=plan, changes=changes)
    current = list(plan.tasks.filter(parent_task__isnull=True).order_by("position"))
    members = current
    if changes.get("tasks") is not None:
        if plan.is_finished:
            raise Conflict(f"Plan is {plan.state}; it takes no new tasks", plan_state=plan.state)
        given = changes["tasks"]
        current_ids = [str(task.pk) for task in current]
        missing = [task_id for task_id in current_ids if task_id not in given]
        if missing:
            raise InvalidInput.field(
                [*loc, "tasks"], f"Tasks cannot leave a plan (cancel them instead): {', '.join(missing)}", given
            )
        new_ids = [task_id for task_id in given if task_id not in current_ids]
        added = plan_members(intent, plan, new_ids, [*loc, "tasks"], already=current)
        join_plan(plan, added, (current[-1].position + 1) if current else 0)
        plan.unfinished_tasks += sum(1 for task in added if task.status not in RESOLVED)
        plan.stopped_tasks += sum(1 for task in added if is_stopped(task))
        members = current + added
    if changes.get("conditions") is not None:
        plan.conditions = checked_conditions(changes["conditions"], members, [*loc, "conditions"])
    if changes.get("checkpoints") is not None:
        if plan.checkpoints.exclude(status=CheckpointStatus.PENDING).exists():
            raise Conflict("A checkpoint of this plan has been reached: its checkpoints can no longer be replaced")
        rows = checked_checkpoints(changes["checkpoints"], members, [*loc, "checkpoints"])
        plan.checkpoints.all().delete()
        for row in rows:
            row.plan = plan
        Checkpoint.objects.bulk_create(rows)
    for name in ("on_failure", "on_complete", "metadata"):
        if changes.get(name) is not None:
            setattr(plan, name, changes[name])
    plan.save()
    state = changes.get("state")
    if state is not None and state != plan.state:
        operation = {
            PlanState.ACTIVE: resume_locked if plan.state == PlanState.PAUSED else activate_locked,
            PlanState.PAUSED: pause_locked,
            PlanState.CANCELLED: cancel_plan_locked,
        }.get(state)
        if operation is None:
            raise InvalidTransition(
                plan.state, state, message=f"Cannot change plan state from {plan.state} to {state}: the server sets it"
            )
        operation(intent, plan, actor)
    bump_once(plan, start)
    return plan


def plan_operation(locked_operation):
    """The route of a locked plan operation: lock, check the version, operate; one version step in all."""

    @transaction.atomic
    def operation(plan_id, actor, expected_version=None, **kwargs):
        intent, plan = lock_plan(plan_id, actor)
        check_version(plan, expected_version, PLAN_CONFLICT)
        start = plan.version
        locked_operation(intent, plan, actor, **kwargs)
        bump_once(plan, start)
        return plan

    return operation


def activate_locked(intent, plan, actor):
    if plan.state != PlanState.DRAFT:
        # A paused plan is resumed, which checks its checkpoints; activating is for drafts only.
        raise InvalidTransition(
            plan.state,
            PlanState.ACTIVE,
            message=f"Cannot change plan state from {plan.state} to active by activating: "
            "only a draft is activated (a paused plan is resumed)",
        )
    refuse_if_intent_finished(intent, "its plans cannot be activated")
    guards.check("plan.activate", intent, actor, plan=plan)
    move_plan(plan, PlanState.ACTIVE, actor, EventType.PLAN_ACTIVATED, activated_at=timezone.now(), paused_reason=None)
    settle(plan, actor)


def pause_locked(intent, plan, actor, reason=None):
    guards.check("plan.pause", intent, actor, plan=plan)
    pause(plan, actor, reason or f"paused by {actor}")


def resume_locked(intent, plan, actor):
    if plan.state != PlanState.PAUSED:
        raise InvalidTransition(plan.state, PlanState.ACTIVE, message=f"Cannot resume a plan that is {plan.state}")
    waiting = plan.checkpoints.filter(status__in=AWAITING_DECISION).first()
    if waiting is not None:
        raise Conflict(
            f"Checkpoint {waiting.key} waits for an approver's decision; approve or reject it to go on",
            checkpoint_id=str(waiting.pk),
        )
    guards.check("plan.resume", intent, actor, plan=plan)
    move_plan(plan, PlanState.ACTIVE, actor, EventType.PLAN_RESUMED, paused_reason=None)
    if plan.on_failure == FailureAction.PAUSE_AND_ESCALATE:
        # Resuming after a failure is the person's word to try again: the failed tasks get one more attempt.
        failed = plan.tasks.select_for_update().filter(
            parent_task__isnull=True, status=TaskStatus.FAILED, retry_at__isnull=True
        )
        for task in failed.order_by("position"):
            retry(task, actor)
            plan.stopped_tasks -= 1
        plan.save(update_fields=["stopped_tasks"])
    settle(plan, actor)


def cancel_plan_locked(intent, plan, actor, reason=None):
    guards.check("plan.cancel", intent, actor, plan=plan)
    fail_plan(plan, actor, None, reason or f"cancelled by {actor}", state=PlanState.CANCELLED)


activate_plan = plan_operation(activate_locked)
pause_plan = plan_operation(pause_locked)
resume_plan = plan_operation(resume_locked)
cancel_plan = plan_operation(cancel_plan_locked)


# Checkpoints -------------------------------------------------------------------------------------------------


def reach_checkpoints(task, plan, actor):
    start = plan.version
    reached = False
    for checkpoint in plan.checkpoints.select_for_update().filter(after_task=task, status=CheckpointStatus.PENDING):
        now = timezone.now()
        checkpoint.reached_at = now
        if checkpoint.requires_approval:
            checkpoint.status = CheckpointStatus.WAITING
            if checkpoint.timeout_hours:
                checkpoint.deadline_at = now + timedelta(hours=checkpoint.timeout_hours)
        else:
            checkpoint.status = CheckpointStatus.PASSED
        checkpoint.save()
        reached = True
        append_event(
            plan.intent_id,
            EventType.PLAN_CHECKPOINT_REACHED,
            actor,
            {
                "plan_id": str(plan.pk),
                "checkpoint_id": str(checkpoint.pk),
                "checkpoint": checkpoint.key,
                "requires_approval": checkpoint.requires_approval,
            },
        )
        if checkpoint.requires_approval and plan.state == PlanState.ACTIVE:
            pause(plan, actor, f"{CHECKPOINT_PAUSE}{checkpoint.key} reached")
    if reached:
        bump_once(plan, start)


def lock_checkpoint(checkpoint_id):
    pk = as_uuid(checkpoint_id)
    plan_id = Checkpoint.objects.filter(pk=pk).values_list("plan_id", flat=True).first() if pk else None
    if plan_id is None:
        raise NotFound("Checkpoint not found")
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    return plan, Checkpoint.objects.select_for_update().get(pk=pk)


def may_decide(intent, checkpoint, actor, by_person):
    """Who decides a checkpoint: one of its ``approvers`` when it names them, else a holder of ``approve`` on the intent
    (RFC-0013's grant for review gates and checkpoints; ``supervise`` and ``admin`` include it); in the admin desk,
    also any superuser."""
    if by_person is not None and by_person.is_superuser:
        return
    if checkpoint.approvers:
        if actor not in checkpoint.approvers:
            raise NotAllowed(
                f"Only the checkpoint's approvers ({', '.join(checkpoint.approvers)}) may decide it",
                approvers=checkpoint.approvers,
            )
        return
    if by_person is not None:
        raise NotAllowed("The checkpoint names no approvers: only a superuser may decide it here")
    require(intent, actor, Permission.APPROVE)


def refuse_unless_waiting(plan, checkpoint):
    if plan.is_finished:
        raise Conflict(f"Plan is {plan.state}; its checkpoints take no decision", plan_state=plan.state)
    if not checkpoint.awaits_decision:
        raise Conflict(
            f"Checkpoint is {checkpoint.status}; only a checkpoint waiting for a decision can be decided",
            checkpoint_status=checkpoint.status,
        )


@transaction.atomic
def approve_checkpoint(checkpoint_id, actor, comment=None, *, by_person=None):
    plan, checkpoint = lock_checkpoint(checkpoint_id)
    intent = get_intent(plan.intent_id, principal_id=actor, needs=None if by_person else Permission.READ)
    refuse_unless_waiting(plan, checkpoint)
    may_decide(intent, checkpoint, actor, by_person)
    guards.check("checkpoint.approve", intent, actor, plan=plan, checkpoint=checkpoint)
    approve_locked(plan, checkpoint, actor, comment)
    return plan, checkpoint


def approve_locked(plan, checkpoint, actor, comment):
    start = plan.version
    checkpoint.status = CheckpointStatus.APPROVED
    checkpoint.decided_by, checkpoint.decided_at, checkpoint.reason = actor, timezone.now(), comment
    checkpoint.save()
    append_event(
        plan.intent_id,
        EventType.PLAN_CHECKPOINT_APPROVED,
        actor,
        {
            "plan_id": str(plan.pk),
            "checkpoint_id": str(checkpoint.pk),
            "checkpoint": checkpoint.key,
            "approved_by": actor,
        },
    )
    # The plan goes on if a checkpoint paused it and none waits any more; a pause of a person's stays theirs to end.
    paused_by_checkpoint = (plan.paused_reason or "").startswith(CHECKPOINT_PAUSE)
    waiting = plan.checkpoints.filter(status__in=AWAITING_DECISION).exists()
    if plan.state == PlanState.PAUSED and paused_by_checkpoint and not waiting:
        move_plan(plan, PlanState.ACTIVE, actor, EventType.PLAN_RESUMED, paused_reason=None)
        settle(plan, actor)
    bump_once(plan, start)


@transaction.atomic
def reject_checkpoint(checkpoint_id, actor, reason=None, *, by_person=None):
    plan, checkpoint = lock_checkpoint(checkpoint_id)
    intent = get_intent(plan.intent_id, principal_id=actor, needs=None if by_person else Permission.READ)
    refuse_unless_waiting(plan, checkpoint)
    may_decide(intent, checkpoint, actor, by_person)
    guards.check("checkpoint.reject", intent, actor, plan=plan, checkpoint=checkpoint)
    reject_locked(plan, checkpoint, actor, reason)
    return plan, checkpoint


def reject_locked(plan, checkpoint, actor, reason):
    start = plan.version
    checkpoint.status = CheckpointStatus.REJECTED
    checkpoint.decided_by, checkpoint.decided_at, checkpoint.reason = actor, timezone.now(), reason
    checkpoint.save()
    append_event(
        plan.intent_id,
        EventType.PLAN_CHECKPOINT_REJECTED,
        actor,
        {
            "plan_id": str(plan.pk),
            "checkpoint_id": str(checkpoint.pk),
            "checkpoint": checkpoint.key,
            "rejected_by": actor,
            "reason": reason,
        },
    )
    if not plan.is_finished:
        after_task = checkpoint.after_task
        fail_plan(plan, actor, after_task, f"Checkpoint {checkpoint.key} rejected" + (f": {reason}" if reason else ""))
    bump_once(plan, start)


# Periodic jobs ------------------------------------------------------------------------------------------------


def each_due(query, handle, batch_size=500):
    """``handle(pk)`` for each row ``query()`` finds due, each in a transaction of its own (which checks again under
    its locks, so that several workers at once do each once). Returns how many were handled."""
    total = 0
    while True:
        due = list(query()[:batch_size])
        handled = sum(1 for pk in due if handle(pk))
        total += handled
        if len(due) < batch_size or not handled:
            return total


@transaction.atomic
def time_out_task(task_id):
    intent, plan, task = lock_task(task_id, SYSTEM_ACTOR, needs=None)
    now = timezone.now()
    if task.status != TaskStatus.RUNNING or task.deadline_at is None or task.deadline_at > now:
        return False
    fail_locked(intent, plan, task, SYSTEM_ACTOR, f"Timed out after {task.timeout_seconds} s", by_server=True)
    return True


def fail_overdue_tasks():
    """Fail every running task past its ``timeout_seconds``."""
    return each_due(
        lambda: (
            Task.objects.filter(status=TaskStatus.RUNNING, deadline_at__lte=timezone.now())
            .order_by("deadline_at")
            .values_list("pk", flat=True)
        ),
        time_out_task,
    )


@transaction.atomic
def run_due_retry(task_id):
    intent, plan, task = lock_task(task_id, SYSTEM_ACTOR, needs=None)
    if task.status != TaskStatus.FAILED or task.retry_at is None or task.retry_at > timezone.now():
        return False
    retry(task, SYSTEM_ACTOR)
    return True


def retry_due_tasks():
    """Make ready again every failed task whose retry is due."""
    return each_due(
        lambda: (
            Task.objects.filter(status=TaskStatus.FAILED, retry_at__lte=timezone.now())
            .order_by("retry_at")
            .values_list("pk", flat=True)
        ),
        run_due_retry,
    )


@transaction.atomic
def time_out_checkpoint(checkpoint_id):
    plan, checkpoint = lock_checkpoint(checkpoint_id)
    if checkpoint.status != CheckpointStatus.WAITING or not checkpoint.deadline_at:
        return False
    if checkpoint.deadline_at > timezone.now():
        return False
    reason = f"No decision within {checkpoint.timeout_hours:g} h"
    if checkpoint.on_timeout == TimeoutAction.AUTO_APPROVE:
        approve_locked(plan, checkpoint, SYSTEM_ACTOR, reason)
    elif checkpoint.on_timeout == TimeoutAction.FAIL:
        reject_locked(plan, checkpoint, SYSTEM_ACTOR, reason)
    else:
        checkpoint.status = CheckpointStatus.ESCALATED
        checkpoint.save(update_fields=["status"])
        bump(plan)
        append_event(
            plan.intent_id,
            EventType.TASK_ESCALATED,
            SYSTEM_ACTOR,
            {
                "task_id": str(checkpoint.after_task_id),
                "reason": f"Checkpoint {checkpoint.key}: {reason}",
                "escalated_to": ", ".join(checkpoint.approvers) or "operators",
                "plan_id": str(plan.pk),
                "checkpoint_id": str(checkpoint.pk),
            },
        )
    return True


def time_out_checkpoints():
    """Apply ``on_timeout`` to every checkpoint left waiting past its ``timeout_hours``."""
    return each_due(
        lambda: (
            Checkpoint.objects.filter(status=CheckpointStatus.WAITING, deadline_at__lte=timezone.now())
            .order_by("deadline_at")
            .values_list("pk", flat=True)
        ),
        time_out_checkpoint,
    )


# Costs -------------------------------------------------------------------------------------------------------


def plan_costs(plan):
    """The plan's costs (RFC-0009): those recorded on its intent with ``metadata.task_id`` naming one of its tasks
    (sub-tasks included), summed per task and per unit, with the money among them in cents."""
    task_ids = [str(pk) for pk in plan.tasks.values_list("pk", flat=True)]
    costs = (
        Cost.objects.filter(intent_id=plan.intent_id, metadata__task_id__in=task_ids)
        if task_ids
        else Cost.objects.none()
    )
    by_task, by_unit, total_cents, count = {}, {}, Decimal(0), 0
    for amount, unit, task_id in costs.values_list("amount", "unit", "metadata__task_id"):
        count += 1
        money = cents(amount, unit)
        total_cents += money
        entry = by_task.setdefault(task_id, {"cents": Decimal(0), "by_unit": {}})
        entry["cents"] += money
        entry["by_unit"][unit] = entry["by_unit"].get(unit, Decimal(0)) + amount
        by_unit[unit] = by_unit.get(unit, Decimal(0)) + amount
    return {
        "plan_id": str(plan.pk),
        "total_cents": float(total_cents),
        "total_usd": float(total_cents / 100),
        "by_unit": {unit: float(amount) for unit, amount in by_unit.items()},
        "by_task": {
            task_id: {"cents": float(entry["cents"]), "by_unit": {u: float(a) for u, a in entry["by_unit"].items()}}
            for task_id, entry in by_task.items()
        },
        "cost_count": count,
    }


# Admin -------------------------------------------------------------------------------------------------------


def in_dependency_order(tasks):
    """``tasks`` (a plan's) so that each comes after those it depends on, in plan order otherwise (Kahn's
    algorithm over the plan's dependency rows: linear)."""
    tasks = list(tasks)
    index = {task.pk: task for task in tasks}
    waiting = {task.pk: 0 for task in tasks}
    dependents = {task.pk: [] for task in tasks}
    for task_id, depends_on_id in TaskDependency.objects.filter(task__in=tasks).values_list("task_id", "depends_on_id"):
        if depends_on_id in index:
            waiting[task_id] += 1
            dependents[depends_on_id].append(task_id)
    queue = deque(task.pk for task in tasks if waiting[task.pk] == 0)
    ordered = []
    while queue:
        pk = queue.popleft()
        ordered.append(index[pk])
        for dependent in dependents[pk]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                queue.append(dependent)
    return ordered
