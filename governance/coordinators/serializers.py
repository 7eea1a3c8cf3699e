"""The wire shapes of coordinator leases, guardrails and decision records (RFC-0013), as 0.9.1 wrote them plus the
RFC's fields: both ``lease_metadata`` (0.9.1) and ``metadata`` (what its client reads)."""

from rest_framework import serializers

from openintent_site.api import IGNORED, TimestampField, json_size, long_text

from .models import CoordinatorLease, CoordinatorScope, CoordinatorType, DecisionRecord, DecisionType, OnExceed

# A heartbeat interval of a week at most: longer is no heartbeat, and it keeps the deadlines inside datetime's range.
MAX_INTERVAL = 7 * 24 * 3600


class GuardrailsSerializer(serializers.Serializer):
    """RFC-0013 §5's guardrails. In a PATCH a null removes the key."""

    max_budget_usd = serializers.FloatField(min_value=0, required=False, allow_null=True)
    warn_at_percentage = serializers.FloatField(min_value=0, max_value=100, required=False, allow_null=True)
    on_exceed = serializers.ChoiceField(choices=OnExceed.choices, required=False, allow_null=True)
    max_tasks_per_plan = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)
    max_delegation_depth = serializers.IntegerField(min_value=0, max_value=1000, required=False, allow_null=True)
    max_concurrent_tasks = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)
    allowed_capabilities = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=1000, required=False, allow_null=True
    )
    requires_plan_review = serializers.BooleanField(required=False, allow_null=True)
    # Stored and returned, not enforced yet (the README's "Not done yet").
    max_plan_versions = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    max_plan_duration_hours = serializers.FloatField(min_value=0, required=False, allow_null=True)
    max_task_wait_hours = serializers.FloatField(min_value=0, required=False, allow_null=True)
    checkpoint_timeout_hours = serializers.FloatField(min_value=0, required=False, allow_null=True)
    require_progress_every_minutes = serializers.FloatField(min_value=0, required=False, allow_null=True)
    requires_replan_review = serializers.BooleanField(required=False, allow_null=True)
    auto_escalate_after_failures = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    require_human_for_capabilities = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=1000, required=False, allow_null=True
    )


def stored_guardrails(values):
    return {key: value for key, value in values.items() if value is not None} if values is not None else None


class LeaseCreateSerializer(serializers.Serializer):
    agent_id = serializers.CharField(max_length=200)
    intent_id = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)
    portfolio_id = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)
    supervisor_id = serializers.CharField(
        max_length=200, help_text="Required (RFC-0013): a person, or a live coordinator whose chain ends at one."
    )
    role = serializers.CharField(max_length=100, default="coordinator")
    coordinator_type = serializers.ChoiceField(choices=CoordinatorType.choices, default=CoordinatorType.LLM)
    scope = serializers.ChoiceField(choices=CoordinatorScope.choices, required=False, allow_null=True)
    guardrails = GuardrailsSerializer(required=False, allow_null=True, default=None)
    failover_pool = serializers.ListField(child=serializers.CharField(max_length=200), max_length=100, default=list)
    heartbeat_interval_seconds = serializers.IntegerField(min_value=1, max_value=MAX_INTERVAL, default=60)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    metadata = serializers.DictField(default=dict, validators=[json_size])
    status = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)

    def validate(self, attrs):
        attrs.pop("status", None)
        attrs["guardrails"] = stored_guardrails(attrs.get("guardrails"))
        return attrs


class LeaseSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True, allow_null=True)
    portfolio_id = serializers.CharField(read_only=True, allow_null=True)
    successor_id = serializers.CharField(read_only=True, allow_null=True)
    lease_metadata = serializers.DictField(source="metadata", read_only=True)
    last_heartbeat = TimestampField(read_only=True)
    granted_at = TimestampField(read_only=True)
    expires_at = TimestampField(read_only=True)
    ended_at = TimestampField(read_only=True)
    unresponsive_at = TimestampField(read_only=True)
    failover_at = TimestampField(read_only=True)

    class Meta:
        model = CoordinatorLease
        fields = [
            "id",
            "intent_id",
            "portfolio_id",
            "agent_id",
            "role",
            "supervisor_id",
            "supervisor_chain",
            "coordinator_type",
            "scope",
            "status",
            "status_reason",
            "guardrails",
            "failover_pool",
            "heartbeat_interval_seconds",
            "last_heartbeat",
            "last_report",
            "unresponsive_at",
            "failover_at",
            "granted_at",
            "expires_at",
            "ended_at",
            "successor_id",
            "version",
            "lease_metadata",
            "metadata",
        ]


class HeartbeatSerializer(serializers.Serializer):
    """The RFC's heartbeat report; all optional (0.9.1's client posts no body)."""

    active_tasks = serializers.IntegerField(min_value=0, required=False)
    pending_decisions = serializers.IntegerField(min_value=0, required=False)
    budget_used_usd = serializers.FloatField(min_value=0, required=False)
    status_summary = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_null=True, default=None)


class HandoffSerializer(serializers.Serializer):
    to_coordinator = serializers.CharField(max_length=200, help_text="The agent that takes the role.")
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    open_items = serializers.ListField(child=serializers.JSONField(), max_length=1000, default=list)


class ReplaceSerializer(serializers.Serializer):
    agent_id = serializers.CharField(max_length=200, help_text="The new coordinator.")
    coordinator_type = serializers.ChoiceField(choices=CoordinatorType.choices, required=False, allow_null=True)
    reason = serializers.CharField(max_length=2000, required=False, allow_null=True, default=None)


class AlternativeSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=2000)
    rejected_reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DecisionRecordCreateSerializer(serializers.Serializer):
    coordinator_id = serializers.CharField(max_length=200)
    intent_id = serializers.CharField(max_length=200)
    decision_type = serializers.ChoiceField(choices=DecisionType.choices)
    summary = long_text()
    rationale = long_text()
    alternatives_considered = serializers.ListField(child=AlternativeSerializer(), max_length=100, default=list)
    confidence = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True, default=None)


class IntentDecisionRecordCreateSerializer(DecisionRecordCreateSerializer):
    """On ``/intents/{id}/decisions`` the path names the intent."""

    intent_id = serializers.CharField(max_length=200, required=False)


class DecisionRecordSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    timestamp = TimestampField(read_only=True)
    type = serializers.SerializerMethodField()

    class Meta:
        model = DecisionRecord
        fields = [
            "id",
            "type",
            "coordinator_id",
            "intent_id",
            "decision_type",
            "summary",
            "rationale",
            "alternatives_considered",
            "confidence",
            "recorded_by",
            "timestamp",
        ]

    def get_type(self, record) -> str:
        return "coordinator.decision"


class PlanReviewSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RecordListQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(default=50, min_value=0, max_value=1000)
    offset = serializers.IntegerField(default=0, min_value=0)
