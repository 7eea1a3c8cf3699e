from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from openintent_site.api import wire_datetime

from .models import (
    AgentAssignment,
    Attachment,
    Cost,
    CostType,
    Failure,
    IntentStatus,
    LeaseStatus,
    MembershipRole,
    PortfolioStatus,
    RetryPolicy,
    RetryStrategy,
)
from .patches import OPERATIONS

# Output -------------------------------------------------------------------------------------------------------


class IntentSerializer(serializers.Serializer):
    # Declared field by field rather than a ModelSerializer: it is on every hot path, and introspecting the
    # model for each response costs more than the rest of the serialisation.
    id = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    created_by = serializers.CharField(read_only=True)
    # Both names: 0.9.1 used one per route and its client reads the other.
    parent_id = serializers.SerializerMethodField()
    parent_intent_id = serializers.SerializerMethodField()
    depends_on = serializers.ListField(child=serializers.CharField(), read_only=True)
    constraints = serializers.JSONField(read_only=True)
    state = serializers.JSONField(read_only=True)
    status = serializers.ChoiceField(choices=IntentStatus.choices, read_only=True)
    confidence = serializers.IntegerField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_parent_id(self, intent) -> str | None:
        return str(intent.parent_id) if intent.parent_id else None

    get_parent_intent_id = get_parent_id

    def to_representation(self, intent):
        # The fields above document the shape; building it directly costs a tenth of DRF's field-by-field walk,
        # and this is the body of nearly every response. tests/intents/test_wire_shapes.py keeps the two equal.
        parent_id = self.get_parent_id(intent)
        return {
            "id": str(intent.pk),
            "title": intent.title,
            "description": intent.description,
            "created_by": intent.created_by,
            "parent_id": parent_id,
            "parent_intent_id": parent_id,
            "depends_on": intent.depends_on,
            "constraints": intent.constraints,
            "state": intent.state,
            "status": intent.status,
            "confidence": intent.confidence,
            "version": intent.version,
            "created_at": wire_datetime(intent.created_at),
            "updated_at": wire_datetime(intent.updated_at),
        }


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    event_type = serializers.CharField(read_only=True)
    actor = serializers.CharField(read_only=True)
    payload = serializers.JSONField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class AssignmentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)

    class Meta:
        model = AgentAssignment
        fields = ["id", "intent_id", "agent_id", "role", "assigned_at"]


class LeaseSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    agent_id = serializers.CharField(source="holder", read_only=True)
    scope = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=LeaseStatus.choices, source="effective_status", read_only=True)
    acquired_at = serializers.DateTimeField(read_only=True)
    created_at = serializers.DateTimeField(source="acquired_at", read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    released_at = serializers.DateTimeField(read_only=True)


# Input --------------------------------------------------------------------------------------------------------

IGNORED = "Accepted for compatibility; the caller's principal is recorded."


@extend_schema_field({"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "string"}}]})
class ConstraintsField(serializers.Field):
    """An object; the list the 0.9.1 client sends is kept as ``{"rules": [...]}`` (``{}`` when empty)."""

    default_error_messages = {"invalid": "Input should be a valid dictionary or list of rules"}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            return data
        if isinstance(data, list):
            return {"rules": data} if data else {}
        self.fail("invalid")

    def to_representation(self, value):
        return value


class IntentCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500)
    description = serializers.CharField(allow_blank=True, default="", trim_whitespace=False)
    constraints = ConstraintsField(default=dict)
    state = serializers.DictField(default=dict)
    depends_on = serializers.ListField(child=serializers.CharField(), default=list)
    confidence = serializers.IntegerField(min_value=0, max_value=100, default=0)


class TopLevelIntentCreateSerializer(IntentCreateSerializer):
    status = serializers.ChoiceField(choices=[IntentStatus.DRAFT, IntentStatus.ACTIVE], default=IntentStatus.DRAFT)
    parent_intent_id = serializers.CharField(allow_null=True, required=False)
    parent_id = serializers.CharField(allow_null=True, required=False)
    created_by = serializers.CharField(
        allow_null=True, required=False, help_text="Accepted for compatibility; the caller's principal is recorded."
    )


class PatchSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=OPERATIONS)
    path = serializers.CharField(trim_whitespace=False)
    value = serializers.JSONField(required=False, allow_null=True, default=None)


class StatePatchSerializer(serializers.Serializer):
    patches = PatchSerializer(many=True, required=False, default=list)
    state = serializers.DictField(required=False, default=dict, help_text="Shorthand: each key becomes a set op.")

    def validate(self, attrs):
        patches = attrs["patches"] or [
            {"op": "set", "path": key, "value": value} for key, value in attrs["state"].items()
        ]
        for index, patch in enumerate(patches):
            if not [segment for segment in patch["path"].split("/") if segment]:
                raise serializers.ValidationError({"patches": {index: {"path": ["Path must name a key of the state"]}}})
        return [dict(patch) for patch in patches]


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=IntentStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class EventCreateSerializer(serializers.Serializer):
    event_type = serializers.CharField(max_length=100)
    actor = serializers.CharField(
        required=False, allow_null=True, help_text="Accepted for compatibility; the caller's principal is recorded."
    )
    payload = serializers.DictField(default=dict)

    def validate_event_type(self, value):
        from .services import SERVER_EVENT_TYPES

        if value in SERVER_EVENT_TYPES:
            raise serializers.ValidationError(f"'{value}' is written by the server itself and cannot be posted")
        return value


class AssignAgentSerializer(serializers.Serializer):
    agent_id = serializers.CharField(max_length=200)
    role = serializers.CharField(max_length=100, default="worker")


class DependencySerializer(serializers.Serializer):
    dependency_id = serializers.CharField()


def lease_duration_field():
    return serializers.IntegerField(min_value=1, max_value=settings.OPENINTENT_MAX_LEASE_SECONDS, default=300)


class LeaseAcquireSerializer(serializers.Serializer):
    scope = serializers.CharField(max_length=200)
    duration_seconds = lease_duration_field()


class LeaseRenewSerializer(serializers.Serializer):
    duration_seconds = lease_duration_field()


# Query strings ------------------------------------------------------------------------------------------------

# Databases take a 64-bit OFFSET at most; a larger one would fail the query with a 500.
MAX_OFFSET = 2**31 - 1


class IntentListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=IntentStatus.choices, required=False)
    created_by = serializers.CharField(required=False)
    parent_id = serializers.CharField(required=False, help_text="Only the children of this intent.")
    q = serializers.CharField(required=False, help_text="Case-insensitive search in titles.")
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)
    cursor = serializers.CharField(required=False, help_text="`next_cursor` of the previous page.")


class EventListQuerySerializer(serializers.Serializer):
    event_type = serializers.CharField(required=False)
    since = serializers.DateTimeField(required=False, help_text="Only events created after this time.")
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class LeaseListQuerySerializer(serializers.Serializer):
    include = serializers.ChoiceField(
        choices=["active", "all"], default="active", help_text="`all` adds released and expired leases."
    )


# Attachments, costs, retries and failures ---------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    storage_url = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="uploaded_by", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815  the 0.9.1 client reads it

    class Meta:
        model = Attachment
        fields = [
            "id",
            "intent_id",
            "filename",
            "mime_type",
            "size",
            "storage_url",
            "sha256",
            "metadata",
            "uploaded_by",
            "created_by",
            "created_at",
            "createdAt",
        ]

    def get_storage_url(self, attachment) -> str:
        if attachment.external_url:
            return attachment.external_url
        path = f"/api/v1/intents/{attachment.intent_id}/attachments/{attachment.pk}/content"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class AttachmentRegisterSerializer(serializers.Serializer):
    """Registering a file stored elsewhere. The async 0.9.1 client's names are accepted too."""

    filename = serializers.CharField(max_length=255)
    mime_type = serializers.CharField(max_length=255, required=False)
    content_type = serializers.CharField(max_length=255, required=False, help_text="Alias of mime_type.")
    size = serializers.IntegerField(min_value=0, required=False)
    size_bytes = serializers.IntegerField(min_value=0, required=False, help_text="Alias of size.")
    storage_url = serializers.URLField(max_length=2000, required=False)
    url = serializers.URLField(max_length=2000, required=False, help_text="Alias of storage_url.")
    metadata = serializers.DictField(default=dict)

    def validate(self, attrs):
        resolved = {"filename": attrs["filename"], "metadata": attrs["metadata"]}
        for name, alias, default in [("mime_type", "content_type", None), ("size", "size_bytes", 0)]:
            resolved[name] = attrs.get(name, attrs.get(alias, default))
            if resolved[name] is None:
                raise serializers.ValidationError({name: [serializers.ErrorDetail("Field required", "required")]})
        resolved["storage_url"] = attrs.get("storage_url", attrs.get("url"))
        if not resolved["storage_url"]:
            raise serializers.ValidationError(
                {"storage_url": [serializers.ErrorDetail("Field required; or upload the file itself", "required")]}
            )
        return resolved


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    filename = serializers.CharField(max_length=255, required=False)
    mime_type = serializers.CharField(max_length=255, required=False)
    metadata = serializers.JSONField(required=False, default=dict)

    def validate_file(self, uploaded):
        limit = settings.OPENINTENT_MAX_ATTACHMENT_BYTES
        if uploaded.size > limit:
            raise serializers.ValidationError(f"File is {uploaded.size} bytes; the limit is {limit} bytes")
        return uploaded

    def validate_metadata(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Input should be a valid dictionary", code="not_a_dict")
        return value


class CostSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    amount = serializers.FloatField(read_only=True)
    cost_metadata = serializers.JSONField(source="metadata", read_only=True)
    recordedAt = serializers.DateTimeField(source="recorded_at", read_only=True)  # noqa: N815

    class Meta:
        model = Cost
        fields = [
            "id",
            "intent_id",
            "agent_id",
            "cost_type",
            "amount",
            "unit",
            "provider",
            "metadata",
            "cost_metadata",
            "recorded_at",
            "recordedAt",
        ]


class CostCreateSerializer(serializers.Serializer):
    cost_type = serializers.ChoiceField(choices=CostType.choices)
    amount = serializers.FloatField(min_value=0)
    unit = serializers.CharField(max_length=50)
    provider = serializers.CharField(max_length=100, allow_null=True, default=None)
    metadata = serializers.DictField(required=False)
    cost_metadata = serializers.DictField(required=False, help_text="Alias of metadata.")
    agent_id = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)

    def validate(self, attrs):
        attrs["metadata"] = attrs.get("metadata", attrs.pop("cost_metadata", {}))
        attrs.pop("cost_metadata", None)
        attrs.pop("agent_id", None)
        attrs["amount"] = Decimal(str(attrs["amount"])).quantize(Decimal("0.000001"))
        return attrs


class RetryPolicySerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)

    class Meta:
        model = RetryPolicy
        fields = [
            "id",
            "intent_id",
            "strategy",
            "max_retries",
            "base_delay_ms",
            "max_delay_ms",
            "jitter",
            "fallback_agent_id",
            "failure_threshold",
            "created_at",
            "updated_at",
        ]


class RetryPolicyInputSerializer(serializers.Serializer):
    """A full replacement: omitted fields return to their defaults."""

    strategy = serializers.ChoiceField(choices=RetryStrategy.choices)
    max_retries = serializers.IntegerField(min_value=0, max_value=100, default=3)
    base_delay_ms = serializers.IntegerField(min_value=0, max_value=86_400_000, default=1000)
    max_delay_ms = serializers.IntegerField(min_value=0, max_value=86_400_000, default=60000)
    jitter = serializers.BooleanField(default=True)
    fallback_agent_id = serializers.CharField(max_length=200, allow_null=True, default=None)
    failure_threshold = serializers.IntegerField(min_value=1, max_value=100, default=3)

    def validate(self, attrs):
        if attrs["max_delay_ms"] < attrs["base_delay_ms"]:
            raise serializers.ValidationError({"max_delay_ms": ["Must be at least base_delay_ms"]})
        return attrs


class FailureSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    error_type = serializers.CharField(source="error_code", read_only=True)
    occurredAt = serializers.DateTimeField(source="occurred_at", read_only=True)  # noqa: N815
    retryScheduledAt = serializers.DateTimeField(source="retry_scheduled_at", read_only=True)  # noqa: N815

    class Meta:
        model = Failure
        fields = [
            "id",
            "intent_id",
            "agent_id",
            "attempt_number",
            "error_code",
            "error_type",
            "error_message",
            "recoverable",
            "metadata",
            "occurred_at",
            "occurredAt",
            "retry_scheduled_at",
            "retryScheduledAt",
            "retried_at",
            "resolved_at",
        ]


UNKNOWN_ERROR_CODE = "UNKNOWN"


class FailureCreateSerializer(serializers.Serializer):
    error_code = serializers.CharField(
        max_length=100, required=False, allow_null=True, help_text=f"{UNKNOWN_ERROR_CODE} when missing or null."
    )
    error_type = serializers.CharField(
        max_length=100, required=False, allow_null=True, help_text="Alias of error_code."
    )
    error_message = serializers.CharField(allow_null=True, allow_blank=True, default=None)
    attempt_number = serializers.IntegerField(min_value=1, allow_null=True, default=None)
    recoverable = serializers.BooleanField(default=True)
    metadata = serializers.DictField(allow_null=True, default=dict)
    agent_id = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)
    retry_scheduled_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Ignored: the server schedules retries from the policy."
    )

    def validate(self, attrs):
        # The 0.9.1 sync client's record_failure(intent_id, attempt_number) sends "error_code": null.
        code = attrs.get("error_code") or attrs.get("error_type") or UNKNOWN_ERROR_CODE
        return {
            "error_code": code,
            "error_message": attrs["error_message"],
            "attempt_number": attrs["attempt_number"],
            "recoverable": attrs["recoverable"],
            "metadata": attrs["metadata"] or {},
        }


# Portfolios (RFC-0007) ----------------------------------------------------------------------------------------


class PortfolioSerializer(serializers.Serializer):
    """A portfolio as every route returns it. Timestamps also in camelCase, the only spelling the 0.9.1 client
    reads; ``aggregate_status`` when the view computed it."""

    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    created_by = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    governance_policy = serializers.JSONField(read_only=True)
    metadata = serializers.JSONField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)  # noqa: N815
    aggregate_status = serializers.SerializerMethodField()

    def get_aggregate_status(self, portfolio) -> dict:
        aggregates = self.context.get("aggregates", {})
        return aggregates.get(portfolio.pk, {"total": 0, "by_status": {}, "completion_percentage": 0})


class MembershipSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    membership_id = serializers.CharField(source="id", read_only=True)
    portfolio_id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    role = serializers.CharField(read_only=True)
    priority = serializers.IntegerField(read_only=True)
    added_by = serializers.CharField(read_only=True)
    added_at = serializers.DateTimeField(read_only=True)
    addedAt = serializers.DateTimeField(source="added_at", read_only=True)  # noqa: N815


class GovernancePolicyField(serializers.DictField):
    """An object; the keys the server acts on are checked, any others are kept as given."""

    def to_internal_value(self, data):
        policy = super().to_internal_value(data)
        errors = {}
        for key in ("require_all_completed", "allow_partial_completion"):
            if key in policy and not isinstance(policy[key], bool):
                errors[key] = ["Must be true or false"]
        threshold = policy.get("auto_complete_threshold")
        if "auto_complete_threshold" in policy and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 100
        ):
            errors["auto_complete_threshold"] = ["Must be a number above 0 and at most 100 (a completion percentage)"]
        if "shared_constraints" in policy and not isinstance(policy["shared_constraints"], dict):
            errors["shared_constraints"] = ["Must be an object"]
        if errors:
            raise serializers.ValidationError(errors)
        return policy


class PortfolioCreateSerializer(serializers.Serializer):
    """Snake case as the RFC writes it, and the camelCase the 0.9.1 client sends (``createdBy``,
    ``governancePolicy``); ``description: null`` is the client's way of giving none."""

    name = serializers.CharField(max_length=255)
    description = serializers.CharField(allow_blank=True, allow_null=True, default="", trim_whitespace=False)
    created_by = serializers.CharField(max_length=255, required=False, allow_null=True)
    createdBy = serializers.CharField(max_length=255, required=False, allow_null=True)  # noqa: N815
    governance_policy = GovernancePolicyField(required=False, allow_null=True)
    governancePolicy = GovernancePolicyField(required=False, allow_null=True)  # noqa: N815
    metadata = serializers.DictField(allow_null=True, default=dict)

    def validate(self, attrs):
        return {
            "name": attrs["name"],
            "description": attrs["description"] or "",
            "created_by": attrs.get("created_by") or attrs.get("createdBy"),
            "governance_policy": attrs.get("governance_policy") or attrs.get("governancePolicy") or {},
            "metadata": attrs["metadata"] or {},
        }


class PortfolioUpdateSerializer(serializers.Serializer):
    """RFC-0007's metadata update: only the fields given change."""

    name = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(allow_blank=True, required=False, trim_whitespace=False)
    governance_policy = GovernancePolicyField(required=False)
    governancePolicy = GovernancePolicyField(required=False)  # noqa: N815
    metadata = serializers.DictField(required=False)

    def validate(self, attrs):
        if "governancePolicy" in attrs:
            attrs.setdefault("governance_policy", attrs.pop("governancePolicy"))
            attrs.pop("governancePolicy", None)
        return attrs


class PortfolioStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PortfolioStatus.choices)


class MembershipCreateSerializer(serializers.Serializer):
    intent_id = serializers.CharField()
    role = serializers.ChoiceField(choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    priority = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1, default=0)


class PortfolioListQuerySerializer(serializers.Serializer):
    created_by = serializers.CharField(required=False, allow_blank=True, help_text="Exact match; empty: no filter.")
    status = serializers.ChoiceField(choices=PortfolioStatus.choices, required=False)


# Webhook subscriptions (RFC-0006) -----------------------------------------------------------------------------


class SubscriptionSerializer(serializers.Serializer):
    """A subscription; timestamps also in camelCase, the spelling the 0.9.1 client reads. Never the secret."""

    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True, allow_null=True)
    portfolio_id = serializers.CharField(read_only=True, allow_null=True)
    subscriber_id = serializers.CharField(read_only=True)
    event_types = serializers.ListField(child=serializers.CharField(), read_only=True)
    webhook_url = serializers.URLField(read_only=True)
    active = serializers.BooleanField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    expiresAt = serializers.DateTimeField(source="expires_at", read_only=True, allow_null=True)  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815


class CreatedSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Signs every delivery; shown only in this response.")


class SubscriptionCreateSerializer(serializers.Serializer):
    webhook_url = serializers.URLField(max_length=2000)
    intent_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    portfolio_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    subscriber_id = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100),
        allow_null=True,
        default=list,
        help_text="Event types to deliver; empty for all.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_webhook_url(self, value):
        if value.split(":", 1)[0].lower() not in ("http", "https"):
            raise serializers.ValidationError("Must be an http or https URL")
        return value

    def validate_event_types(self, value):
        return list(dict.fromkeys(value or []))


class SubscriptionListQuerySerializer(serializers.Serializer):
    intent_id = serializers.CharField(required=False, allow_blank=True)
    portfolio_id = serializers.CharField(required=False, allow_blank=True)
