from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import AgentAssignment, Intent, IntentEvent, IntentStatus, Lease
from .patches import OPERATIONS

# Output -------------------------------------------------------------------------------------------------------


class IntentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    # Both names: 0.9.1 used one per route and its client reads the other.
    parent_id = serializers.SerializerMethodField()
    parent_intent_id = serializers.SerializerMethodField()
    depends_on = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Intent
        fields = [
            "id",
            "title",
            "description",
            "created_by",
            "parent_id",
            "parent_intent_id",
            "depends_on",
            "constraints",
            "state",
            "status",
            "confidence",
            "version",
            "created_at",
            "updated_at",
        ]

    def get_parent_id(self, intent) -> str | None:
        return str(intent.parent_id) if intent.parent_id else None

    get_parent_intent_id = get_parent_id


class EventSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)

    class Meta:
        model = IntentEvent
        fields = ["id", "intent_id", "event_type", "actor", "payload", "created_at"]


class AssignmentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)

    class Meta:
        model = AgentAssignment
        fields = ["id", "intent_id", "agent_id", "role", "assigned_at"]


class LeaseSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    agent_id = serializers.CharField(source="holder", read_only=True)
    status = serializers.CharField(source="effective_status", read_only=True)
    created_at = serializers.DateTimeField(source="acquired_at", read_only=True)

    class Meta:
        model = Lease
        fields = [
            "id",
            "intent_id",
            "agent_id",
            "scope",
            "status",
            "acquired_at",
            "created_at",
            "expires_at",
            "released_at",
        ]


# Input --------------------------------------------------------------------------------------------------------


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


class IntentListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=IntentStatus.choices, required=False)
    created_by = serializers.CharField(required=False)
    parent_id = serializers.CharField(required=False, help_text="Only the children of this intent.")
    q = serializers.CharField(required=False, help_text="Case-insensitive search in titles.")
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)
    offset = serializers.IntegerField(min_value=0, default=0)
    cursor = serializers.CharField(required=False, help_text="`next_cursor` of the previous page.")


class EventListQuerySerializer(serializers.Serializer):
    event_type = serializers.CharField(required=False)
    since = serializers.DateTimeField(required=False, help_text="Only events created after this time.")
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    offset = serializers.IntegerField(min_value=0, default=0)


class LeaseListQuerySerializer(serializers.Serializer):
    include = serializers.ChoiceField(
        choices=["active", "all"], default="active", help_text="`all` adds released and expired leases."
    )
