"""The wire shapes of tasks, plans and checkpoints (RFC-0012), as 0.9.1 wrote them and its client reads them.

Responses carry ``metadata`` (what the client reads) beside 0.9.1's ``task_metadata``/``plan_metadata``. Every enum
-like field is checked against the values the 0.9.1 client parses (orchestration §6.2): a value outside them was
stored by 0.9.1 and then broke every read of the object."""

from rest_framework import serializers

from openintent_site.api import column_integer, json_size, long_text, wire_datetime

from .models import Checkpoint, FailureAction, PlanState, Task, TaskDependency, TaskStatus, TimeoutAction


class EnumField(serializers.ChoiceField):
    """A choice whose refusal names the values allowed (pydantic's ``enum`` error says as much)."""

    def __init__(self, choices, **kwargs):
        super().__init__(choices, **kwargs)
        allowed = ", ".join(f"'{value}'" for value in self.choices)
        self.error_messages["invalid_choice"] = f'Input should be one of {allowed}; got "{{input}}"'


def stamp(value):
    return wire_datetime(value) if value else None


# Responses ---------------------------------------------------------------------------------------------------


def with_links(tasks):
    """``tasks`` with ``depends_on`` and ``blocks`` (the inverse) read for all of them in two queries."""
    tasks = list(tasks)
    ids = [task.pk for task in tasks]
    depends_on = {pk: [] for pk in ids}
    blocks = {pk: [] for pk in ids}
    for task_id, depends_on_id in TaskDependency.objects.filter(task__in=ids).values_list("task_id", "depends_on_id"):
        depends_on[task_id].append(str(depends_on_id))
    for task_id, depends_on_id in TaskDependency.objects.filter(depends_on__in=ids).values_list(
        "task_id", "depends_on_id"
    ):
        blocks[depends_on_id].append(str(task_id))
    for task in tasks:
        task.depends_on_ids, task.blocks_ids = depends_on[task.pk], blocks[task.pk]
    return tasks


class TaskSerializer(serializers.Serializer):
    """A task; read ``with_links`` first (a task read alone is linked on the way)."""

    id = serializers.CharField()
    intent_id = serializers.CharField()
    plan_id = serializers.CharField(allow_null=True)
    parent_task_id = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    priority = serializers.CharField()
    input = serializers.JSONField()
    output = serializers.JSONField(allow_null=True)
    artifacts = serializers.ListField(child=serializers.CharField())
    assigned_agent = serializers.CharField(allow_null=True)
    lease_id = serializers.CharField(allow_null=True)
    capabilities_required = serializers.ListField(child=serializers.CharField())
    depends_on = serializers.ListField(child=serializers.CharField())
    blocks = serializers.ListField(child=serializers.CharField())
    retry_policy = serializers.CharField(allow_null=True)
    timeout_seconds = serializers.IntegerField(allow_null=True)
    attempt = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    next_attempt_at = serializers.CharField(allow_null=True)
    permissions = serializers.JSONField()
    memory_policy = serializers.JSONField(allow_null=True)
    requires_tools = serializers.ListField(child=serializers.DictField())
    blocked_reason = serializers.CharField(allow_null=True)
    blocked_by = serializers.ListField(child=serializers.CharField())
    escalation = serializers.DictField(allow_null=True)
    resolution = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    delegated_outputs = serializers.DictField()
    progress = serializers.DictField(allow_null=True)
    metadata = serializers.DictField()
    task_metadata = serializers.DictField()
    version = serializers.IntegerField()
    created_by = serializers.CharField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    started_at = serializers.CharField(allow_null=True)
    completed_at = serializers.CharField(allow_null=True)

    def to_representation(self, task):
        if not hasattr(task, "depends_on_ids"):
            with_links([task])
        escalation = None
        if task.escalated_at:
            escalation = {
                "reason": task.escalation_reason,
                "escalated_by": task.escalated_by,
                "escalated_to": task.escalated_to,
                "escalated_at": stamp(task.escalated_at),
            }
        progress = None
        if task.progress_percentage is not None or task.progress_message:
            progress = {"percentage": task.progress_percentage, "message": task.progress_message}
        return {
            "id": str(task.pk),
            "intent_id": str(task.intent_id),
            "plan_id": str(task.plan_id) if task.plan_id else None,
            "parent_task_id": str(task.parent_task_id) if task.parent_task_id else None,
            "name": task.name,
            "description": task.description,
            "status": task.status,
            "priority": task.priority,
            "input": task.input,
            "output": task.output,
            "artifacts": task.artifacts,
            "assigned_agent": task.assigned_agent,
            "lease_id": str(task.lease_id) if task.lease_id else None,
            "capabilities_required": task.capabilities_required,
            "depends_on": task.depends_on_ids,
            "blocks": task.blocks_ids,
            # The intent's RFC-0010 policy governs retries; 0.9.1 wrote this key, always null.
            "retry_policy": None,
            "timeout_seconds": task.timeout_seconds,
            "attempt": task.attempt,
            "max_attempts": task.max_attempts,
            "next_attempt_at": stamp(task.retry_at),
            "permissions": task.permissions,
            "memory_policy": task.memory_policy,
            "requires_tools": task.requires_tools,
            "blocked_reason": task.blocked_reason,
            "blocked_by": task.blocked_by,
            "escalation": escalation,
            "resolution": task.resolution,
            "error": task.error,
            "delegated_outputs": task.delegated_outputs,
            "progress": progress,
            "metadata": task.metadata,
            "task_metadata": task.metadata,
            "version": task.version,
            "created_by": task.created_by,
            "created_at": stamp(task.created_at),
            "updated_at": stamp(task.updated_at),
            "started_at": stamp(task.started_at),
            "completed_at": stamp(task.completed_at),
        }


def checkpoint_shape(checkpoint, tasks_by_pk=None):
    return {
        # The author's id ("cp1"), as given; ``checkpoint_id`` is the server's, which /checkpoints/{id} takes.
        "id": checkpoint.key,
        "checkpoint_id": str(checkpoint.pk),
        "plan_id": str(checkpoint.plan_id),
        "name": checkpoint.name,
        "after_task": str(checkpoint.after_task_id),
        "requires_approval": checkpoint.requires_approval,
        "approvers": checkpoint.approvers,
        "timeout_hours": checkpoint.timeout_hours,
        "on_timeout": checkpoint.on_timeout,
        "status": checkpoint.status,
        "reached_at": stamp(checkpoint.reached_at),
        "deadline_at": stamp(checkpoint.deadline_at),
        "approved_by": checkpoint.decided_by if checkpoint.status == "approved" else None,
        "approved_at": stamp(checkpoint.decided_at) if checkpoint.status == "approved" else None,
        "decided_by": checkpoint.decided_by,
        "decided_at": stamp(checkpoint.decided_at),
        "reason": checkpoint.reason,
    }


class CheckpointSerializer(serializers.Serializer):
    id = serializers.CharField()
    checkpoint_id = serializers.CharField()
    plan_id = serializers.CharField()
    name = serializers.CharField()
    after_task = serializers.CharField()
    requires_approval = serializers.BooleanField()
    approvers = serializers.ListField(child=serializers.CharField())
    timeout_hours = serializers.FloatField(allow_null=True)
    on_timeout = serializers.ChoiceField(choices=TimeoutAction.choices)
    status = serializers.CharField()
    reached_at = serializers.CharField(allow_null=True)
    deadline_at = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.CharField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)

    def to_representation(self, checkpoint):
        return checkpoint_shape(checkpoint)


class PlanSerializer(serializers.Serializer):
    id = serializers.CharField()
    intent_id = serializers.CharField()
    version = serializers.IntegerField()
    state = serializers.ChoiceField(choices=PlanState.choices)
    tasks = serializers.ListField(child=serializers.CharField())
    checkpoints = CheckpointSerializer(many=True)
    conditions = serializers.ListField(child=serializers.DictField())
    on_failure = serializers.ChoiceField(choices=FailureAction.choices)
    on_complete = serializers.CharField()
    paused_reason = serializers.CharField(allow_null=True)
    task_count = serializers.IntegerField()
    tasks_remaining = serializers.IntegerField()
    metadata = serializers.DictField()
    plan_metadata = serializers.DictField()
    created_by = serializers.CharField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    activated_at = serializers.CharField(allow_null=True)
    finished_at = serializers.CharField(allow_null=True)

    def to_representation(self, plan):
        task_ids = [
            str(pk)
            for pk in Task.objects.filter(plan=plan, parent_task__isnull=True)
            .order_by("position")
            .values_list("pk", flat=True)
        ]
        return {
            "id": str(plan.pk),
            "intent_id": str(plan.intent_id),
            "version": plan.version,
            "state": plan.state,
            "tasks": task_ids,
            "checkpoints": [checkpoint_shape(checkpoint) for checkpoint in Checkpoint.objects.filter(plan=plan)],
            "conditions": plan.conditions,
            "on_failure": plan.on_failure,
            "on_complete": plan.on_complete,
            "paused_reason": plan.paused_reason,
            "task_count": len(task_ids),
            "tasks_remaining": plan.unfinished_tasks,
            "metadata": plan.metadata,
            "plan_metadata": plan.metadata,
            "created_by": plan.created_by,
            "created_at": stamp(plan.created_at),
            "updated_at": stamp(plan.updated_at),
            "activated_at": stamp(plan.activated_at),
            "finished_at": stamp(plan.finished_at),
        }


# Requests ----------------------------------------------------------------------------------------------------


def id_list(**kwargs):
    return serializers.ListField(child=serializers.CharField(max_length=100), max_length=1000, **kwargs)


class ToolRequirementSerializer(serializers.Serializer):
    """An item of ``requires_tools``: the 0.9.1 client reads each with ``service`` required."""

    service = serializers.CharField(max_length=200)
    scopes = serializers.ListField(child=serializers.CharField(max_length=200), default=list)
    required = serializers.BooleanField(default=True)


class PermissionsField(serializers.JSONField):
    """``"inherit"`` (the intent's permissions, RFC-0011) or an override object ``{"allow": [principal, ...]}``."""

    def to_internal_value(self, data):
        if data == "inherit":
            return data
        if isinstance(data, dict) and set(data) <= {"allow"}:
            allow = data.get("allow", [])
            if isinstance(allow, list) and all(isinstance(item, str) and 0 < len(item) <= 200 for item in allow):
                return {"allow": allow}
        raise serializers.ValidationError('Either "inherit" or {"allow": ["<principal id>", ...]}', code="value_error")


class TaskCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    plan_id = serializers.CharField(max_length=100, allow_null=True, default=None)
    description = long_text(allow_null=True, allow_blank=True, default=None)
    priority = serializers.CharField(max_length=50, default="normal")
    input = serializers.DictField(default=dict, validators=[json_size])
    capabilities_required = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=100, default=list
    )
    depends_on = id_list(default=list)
    parent_task_id = serializers.CharField(max_length=100, allow_null=True, default=None)
    timeout_seconds = column_integer(Task, "timeout_seconds", min_value=1, allow_null=True, default=None)
    max_attempts = column_integer(Task, "max_attempts", min_value=1, max_value=100, default=3)
    permissions = PermissionsField(default="inherit")
    memory_policy = serializers.DictField(allow_null=True, default=None, validators=[json_size])
    requires_tools = ToolRequirementSerializer(many=True, default=list)
    metadata = serializers.DictField(default=dict, validators=[json_size])

    def validate_requires_tools(self, value):
        return [dict(item) for item in value]


class TopLevelTaskCreateSerializer(TaskCreateSerializer):
    """POST /tasks, the 0.9.1 route: the intent comes in the body."""

    intent_id = serializers.CharField(max_length=100)


class TaskListQuerySerializer(serializers.Serializer):
    status = EnumField(choices=TaskStatus.choices, required=False, allow_blank=True)
    plan_id = serializers.CharField(required=False, allow_blank=True)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    offset = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)


class TaskPatchSerializer(serializers.Serializer):
    """0.9.1's PATCH body; ``null`` leaves a field as it is, and ``status`` may be left out."""

    status = EnumField(choices=TaskStatus.choices, allow_null=True, required=False)
    assigned_agent = serializers.CharField(
        max_length=200, allow_null=True, required=False, help_text="Ignored: the agent that claims a task is its agent."
    )
    output = serializers.DictField(allow_null=True, required=False, validators=[json_size])
    error = long_text(allow_null=True, required=False)
    blocked_reason = long_text(allow_null=True, required=False)
    artifacts = serializers.ListField(child=serializers.CharField(max_length=2000), allow_null=True, required=False)
    description = long_text(allow_null=True, required=False)
    priority = serializers.CharField(max_length=50, allow_null=True, required=False)
    metadata = serializers.DictField(allow_null=True, required=False, validators=[json_size])

    def validate(self, attrs):
        attrs.pop("assigned_agent", None)
        return {name: value for name, value in attrs.items() if value is not None}


class CompleteSerializer(serializers.Serializer):
    output = serializers.DictField(allow_null=True, default=None, validators=[json_size])
    result = serializers.DictField(
        allow_null=True, required=False, validators=[json_size], help_text="Alias of output."
    )
    artifacts = serializers.ListField(child=serializers.CharField(max_length=2000), allow_null=True, default=None)


class FailSerializer(serializers.Serializer):
    error = long_text(default="failed")


class ProgressSerializer(serializers.Serializer):
    percentage = serializers.IntegerField(min_value=0, max_value=100)
    message = long_text(allow_blank=True, allow_null=True, default=None)


class DelegateSerializer(serializers.Serializer):
    capability = serializers.CharField(max_length=200)
    input = serializers.DictField(default=dict, validators=[json_size])
    payload = serializers.DictField(required=False, validators=[json_size], help_text="Alias of input.")
    name = serializers.CharField(max_length=255, allow_null=True, default=None)
    description = long_text(allow_null=True, default=None)
    delegated_to = serializers.CharField(
        max_length=200, allow_null=True, default=None, help_text="The only agent allowed to claim the sub-task."
    )


class EscalateSerializer(serializers.Serializer):
    reason = long_text()
    escalated_to = serializers.CharField(max_length=200, allow_null=True, default=None)


class ResolveSerializer(serializers.Serializer):
    decision = long_text()


class CancelSerializer(serializers.Serializer):
    reason = long_text(allow_null=True, default=None)


class CheckpointInputSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200, required=False, allow_null=True)
    name = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    after_task = serializers.CharField(max_length=255, required=False, allow_null=True)
    after = serializers.CharField(max_length=255, required=False, allow_null=True, help_text="Alias of after_task.")
    requires_approval = serializers.BooleanField(default=True)
    approvers = serializers.ListField(child=serializers.CharField(max_length=200), max_length=100, default=list)
    timeout_hours = serializers.FloatField(min_value=0.0001, max_value=24 * 365 * 10, allow_null=True, default=None)
    on_timeout = EnumField(choices=TimeoutAction.choices, default=TimeoutAction.ESCALATE)
    status = serializers.CharField(required=False, help_text="Ignored: the server keeps each checkpoint's status.")

    def validate(self, attrs):
        if not (attrs.get("after_task") or attrs.get("after")):
            raise serializers.ValidationError({"after_task": ["Field required"]}, code="required")
        attrs.pop("status", None)
        return attrs


class ConditionInputSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200, required=False, allow_null=True)
    task_id = serializers.CharField(max_length=255)
    when = serializers.CharField(max_length=2000)
    otherwise = EnumField(choices=["skip"], default="skip")


def plan_fields(required_defaults):
    """The fields a plan is written with; on create with their defaults, on PATCH optional and null-able."""

    def field(factory, default, **kwargs):
        if required_defaults:
            return factory(default=default, **kwargs)
        return factory(required=False, allow_null=True, **kwargs)

    return {
        "tasks": field(id_list, list),
        "checkpoints": field(lambda **k: CheckpointInputSerializer(many=True, **k), list),
        "conditions": field(lambda **k: ConditionInputSerializer(many=True, **k), list),
        "on_failure": field(
            lambda **k: EnumField(choices=FailureAction.choices, **k), FailureAction.PAUSE_AND_ESCALATE
        ),
        "on_complete": field(lambda **k: serializers.CharField(max_length=50, **k), "notify"),
        "metadata": field(lambda **k: serializers.DictField(validators=[json_size], **k), dict),
    }


PlanCreateBase = type("PlanCreateBase", (serializers.Serializer,), plan_fields(True))
PlanPatchBase = type("PlanPatchBase", (serializers.Serializer,), plan_fields(False))


class PlanCreateSerializer(PlanCreateBase):
    """POST /intents/{id}/plan or, with ``intent_id``, POST /plans. A new plan is a draft."""


class TopLevelPlanCreateSerializer(PlanCreateSerializer):
    intent_id = serializers.CharField(max_length=100)


class PlanPatchSerializer(PlanPatchBase):
    state = EnumField(choices=PlanState.choices, required=False, allow_null=True)

    def validate(self, attrs):
        return {name: value for name, value in attrs.items() if value is not None}


class DecisionSerializer(serializers.Serializer):
    reason = long_text(allow_null=True, allow_blank=True, default=None)
    comment = long_text(allow_null=True, allow_blank=True, required=False, help_text="Alias of reason.")


class PauseSerializer(serializers.Serializer):
    reason = long_text(allow_null=True, default=None)
