"""Tasks and plans (RFC-0012): units of work on an intent, their dependencies, and the plans that order them.

A task's status moves only along ``TRANSITIONS`` (``services.move``), and each move is logged on the intent.
Dependencies are rows (``TaskDependency``) and a count of the unmet ones on each task, so that a completion finds
its dependents through an index and makes ready those whose count reaches zero, without reading the plan.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from intents.core.models import Intent
from intents.leases.models import Lease


class TaskStatus(models.TextChoices):
    PENDING = "pending"
    READY = "ready"
    CLAIMED = "claimed"
    RUNNING = "running"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


# RFC-0012 §1.2, with the two widenings its prose makes: escalation blocks a task that has not finished, whatever
# its status, and cancellation stops any task that has not finished. A blocked task goes back to running (or, when an
# escalation blocked it before it ran, to the status it had).
TRANSITIONS = {
    TaskStatus.PENDING: {TaskStatus.READY, TaskStatus.SKIPPED, TaskStatus.BLOCKED, TaskStatus.CANCELLED},
    TaskStatus.READY: {TaskStatus.CLAIMED, TaskStatus.BLOCKED, TaskStatus.CANCELLED},
    TaskStatus.CLAIMED: {TaskStatus.RUNNING, TaskStatus.BLOCKED, TaskStatus.CANCELLED},
    TaskStatus.RUNNING: {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.BLOCKED, TaskStatus.CANCELLED},
    TaskStatus.BLOCKED: {
        TaskStatus.RUNNING,
        TaskStatus.PENDING,
        TaskStatus.READY,
        TaskStatus.CLAIMED,
        TaskStatus.CANCELLED,
    },
    TaskStatus.FAILED: {TaskStatus.READY, TaskStatus.CANCELLED},
    TaskStatus.COMPLETED: set(),
    TaskStatus.CANCELLED: set(),
    TaskStatus.SKIPPED: set(),
}
FINISHED = {TaskStatus.COMPLETED, TaskStatus.CANCELLED, TaskStatus.SKIPPED}
# What lets a dependent go on: a skipped dependency was bypassed on purpose by its plan.
RESOLVED = {TaskStatus.COMPLETED, TaskStatus.SKIPPED}

ESCALATION = "escalation"
DELEGATION = "delegation"


def inherit():
    """A task's default permissions: its intent's (RFC-0011)."""
    return "inherit"


class PlanState(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


PLAN_TRANSITIONS = {
    PlanState.DRAFT: {PlanState.ACTIVE, PlanState.CANCELLED},
    PlanState.ACTIVE: {PlanState.PAUSED, PlanState.COMPLETED, PlanState.FAILED, PlanState.CANCELLED},
    PlanState.PAUSED: {PlanState.ACTIVE, PlanState.FAILED, PlanState.CANCELLED},
    PlanState.COMPLETED: set(),
    PlanState.FAILED: set(),
    PlanState.CANCELLED: set(),
}
PLAN_FINISHED = {PlanState.COMPLETED, PlanState.FAILED, PlanState.CANCELLED}


class FailureAction(models.TextChoices):
    PAUSE_AND_ESCALATE = "pause_and_escalate"
    NOTIFY = "notify"
    FAIL = "fail"
    RETRY = "retry"


class TimeoutAction(models.TextChoices):
    ESCALATE = "escalate"
    AUTO_APPROVE = "auto_approve"
    FAIL = "fail"


class CheckpointStatus(models.TextChoices):
    PENDING = "pending"  # its task has not completed yet
    WAITING = "waiting"  # reached: the plan is paused until an approver decides
    ESCALATED = "escalated"  # reached, timed out with on_timeout "escalate": still waiting, now on the desk
    PASSED = "passed"  # reached, needed no approval
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # its plan ended (failed or cancelled) while it waited


AWAITING_DECISION = {CheckpointStatus.WAITING, CheckpointStatus.ESCALATED}


class Plan(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="plans")
    version = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=20, choices=PlanState.choices, default=PlanState.DRAFT)
    conditions = models.JSONField(default=list, blank=True)
    on_failure = models.CharField(
        max_length=30, choices=FailureAction.choices, default=FailureAction.PAUSE_AND_ESCALATE
    )
    on_complete = models.CharField(max_length=50, default="notify")
    metadata = models.JSONField(default=dict, blank=True)
    paused_reason = models.TextField(null=True, blank=True)
    # Top-level tasks not yet completed or skipped, and those stopped for good (failed with no retry, cancelled):
    # kept with every move so that whether the plan has finished is known without reading its tasks.
    unfinished_tasks = models.PositiveIntegerField(default=0)
    stopped_tasks = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["intent", "created_at"], name="plan_intent_created")]

    def __str__(self):
        return f"Plan {str(self.pk)[:8]} of {self.intent_id} ({self.state})"

    @property
    def is_finished(self):
        return self.state in PLAN_FINISHED


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="tasks")
    plan = models.ForeignKey(Plan, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    # The task's place in its plan's ``tasks`` list; null for sub-tasks, which run inside their parent's place.
    position = models.PositiveIntegerField(null=True, blank=True)
    parent_task = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="sub_tasks")
    name = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    priority = models.CharField(max_length=50, default="normal")
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    artifacts = models.JSONField(default=list, blank=True)
    assigned_agent = models.CharField(max_length=200, null=True, blank=True)
    lease = models.ForeignKey(Lease, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    capabilities_required = models.JSONField(default=list, blank=True)
    unmet_dependencies = models.PositiveIntegerField(default=0)
    timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    # When a running task times out (started or unblocked + timeout_seconds); null while it is not running.
    deadline_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=1)
    max_attempts = models.PositiveIntegerField(default=3)
    # When a failed task's next attempt is due; null for a failure with no retry to come.
    retry_at = models.DateTimeField(null=True, blank=True)
    permissions = models.JSONField(default=inherit)
    memory_policy = models.JSONField(null=True, blank=True)
    requires_tools = models.JSONField(default=list, blank=True)
    blocked_reason = models.TextField(null=True, blank=True)
    blocked_by = models.JSONField(default=list, blank=True)
    # The status a block interrupted, which its resolution returns to.
    status_before_block = models.CharField(max_length=20, choices=TaskStatus.choices, null=True, blank=True)
    escalated_by = models.CharField(max_length=200, null=True, blank=True)
    escalation_reason = models.TextField(null=True, blank=True)
    escalated_to = models.CharField(max_length=200, null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolution = models.JSONField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    delegated_outputs = models.JSONField(default=dict, blank=True)
    progress_percentage = models.PositiveSmallIntegerField(null=True, blank=True)
    progress_message = models.TextField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["intent", "created_at"], name="task_intent_created"),
            models.Index(fields=["plan", "position"], name="task_plan_position"),
            models.Index(fields=["status", "deadline_at"], name="task_status_deadline"),
            models.Index(fields=["status", "retry_at"], name="task_status_retry"),
        ]

    def __str__(self):
        return f"{self.name} ({self.status})"

    @property
    def is_finished(self):
        return self.status in FINISHED

    @property
    def is_top_level(self):
        return self.plan_id is not None and self.parent_task_id is None


class TaskDependency(models.Model):
    """``task`` waits for ``depends_on``. Looked up from ``depends_on`` when it completes (its index)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependency_links")
    depends_on = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependent_links")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["task", "depends_on"], name="task_dependency_once")]

    def __str__(self):
        return f"{self.task_id} after {self.depends_on_id}"


class Checkpoint(models.Model):
    """A gate after one task of a plan: when the task completes, the plan pauses until an approver decides."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="checkpoints")
    position = models.PositiveIntegerField(default=0)
    # The id the plan's author gave it ("cp1"); ``id`` is the server's, which the checkpoint routes take.
    key = models.CharField(max_length=200)
    name = models.CharField(max_length=255, blank=True)
    after_task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="checkpoints")
    requires_approval = models.BooleanField(default=True)
    approvers = models.JSONField(default=list, blank=True)
    timeout_hours = models.FloatField(null=True, blank=True)
    on_timeout = models.CharField(max_length=20, choices=TimeoutAction.choices, default=TimeoutAction.ESCALATE)
    status = models.CharField(max_length=20, choices=CheckpointStatus.choices, default=CheckpointStatus.PENDING)
    reached_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=200, null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="checkpoint_key_once_per_plan")]
        indexes = [
            models.Index(fields=["deadline_at"], name="checkpoint_waiting_deadline", condition=Q(status="waiting"))
        ]

    def __str__(self):
        return f"{self.name or self.key} ({self.status})"

    @property
    def awaits_decision(self):
        return self.status in AWAITING_DECISION
