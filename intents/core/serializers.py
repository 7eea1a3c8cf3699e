"""The wire shapes of intents, their events and assignments (RFC-0001)."""

from json.encoder import encode_basestring as quote

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from openintent_site.api import HEADER_TEXT, IGNORED, column_integer, json_size, long_text, wire_datetime
from openintent_site.events import SERVER_ONLY

from .models import AgentAssignment, Intent, IntentPriority, IntentStatus
from .patches import OPERATIONS


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
    type = serializers.CharField(read_only=True, allow_null=True)
    namespace = serializers.CharField(read_only=True, allow_null=True)
    priority = serializers.ChoiceField(choices=IntentPriority.choices, read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    trigger_lineage = serializers.JSONField(
        read_only=True, help_text="Set on intents a trigger created (RFC-0017 §5.2); null otherwise."
    )

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
            "type": intent.type,
            "namespace": intent.namespace,
            "priority": intent.priority,
            "tags": intent.tags,
            "trigger_lineage": intent.trigger_lineage,
        }


class EventSerializer(serializers.Serializer):
    ROW_FIELDS = ("id", "intent_id", "event_type", "actor", "via", "payload", "created_at")

    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    event_type = serializers.CharField(read_only=True)
    actor = serializers.CharField(read_only=True)
    via = serializers.SerializerMethodField(help_text="The principal of the key an agent acted through, or null.")
    payload = serializers.JSONField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_via(self, event) -> str | None:
        return event.via or None

    def to_representation(self, event):
        # Built directly, as IntentSerializer is: a page of the log is up to 1,000 of these, and DRF's field-by-field
        # walk was two thirds of such a request's CPU. tests/intents/test_wire_shapes.py keeps the two equal. An
        # event is a model instance or a row of ROW_FIELDS (the log's pages are read as rows).
        return {
            "id": str(event.id),
            "intent_id": str(event.intent_id),
            "event_type": event.event_type,
            "actor": event.actor,
            "via": event.via or None,
            "payload": event.payload,
            "created_at": wire_datetime(event.created_at),
        }

    @staticmethod
    def page(rows, intent_id):
        """The JSON text of a list of ``IntentEvent.objects.page`` rows, as ``to_representation`` and DRF's renderer
        would write it, each payload spliced in as the database holds it rather than decoded and encoded again.
        tests/intents/test_wire_shapes.py keeps the two equal."""
        intent = f'"intent_id":"{intent_id}"'
        text = ",".join(
            f'{{"id":"{id}",{intent},"event_type":{quote(event_type)},"actor":{quote(actor)},'
            f'"via":{quote(via) if via else "null"},"payload":{"null" if payload is None else payload},'
            f'"created_at":"{created_at}"}}'
            for id, event_type, actor, via, payload, created_at in rows
        )
        # As DRF's renderer does, so that the page can be embedded in a script (and U+2028 can only be in a string).
        return f"[{text}]".replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class AssignmentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)

    class Meta:
        model = AgentAssignment
        fields = ["id", "intent_id", "agent_id", "role", "assigned_at"]


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
    description = long_text(allow_blank=True, default="", trim_whitespace=False)
    constraints = ConstraintsField(default=dict, validators=[json_size])
    state = serializers.DictField(default=dict, validators=[json_size])
    depends_on = serializers.ListField(child=serializers.CharField(), default=list, validators=[json_size])
    confidence = column_integer(Intent, "confidence", min_value=0, max_value=100, default=0)
    type = serializers.CharField(max_length=255, allow_null=True, required=False, default=None)
    namespace = serializers.CharField(max_length=255, allow_null=True, required=False, default=None)
    priority = serializers.ChoiceField(choices=IntentPriority.choices, default=IntentPriority.MEDIUM)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=255), default=list, max_length=100, validators=[json_size]
    )


class TopLevelIntentCreateSerializer(IntentCreateSerializer):
    status = serializers.ChoiceField(choices=[IntentStatus.DRAFT, IntentStatus.ACTIVE], default=IntentStatus.DRAFT)
    parent_intent_id = serializers.CharField(allow_null=True, required=False)
    parent_id = serializers.CharField(allow_null=True, required=False)
    created_by = serializers.CharField(allow_null=True, required=False, help_text=IGNORED)


class PatchSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=OPERATIONS)
    path = serializers.CharField(trim_whitespace=False)
    value = serializers.JSONField(required=False, allow_null=True, default=None)


class StatePatchSerializer(serializers.Serializer):
    patches = PatchSerializer(many=True, required=False, default=list)
    state = serializers.DictField(
        required=False, default=dict, validators=[json_size], help_text="Shorthand: each key becomes a set op."
    )

    def validate(self, attrs):
        patches = attrs["patches"] or [
            {"op": "set", "path": key, "value": value} for key, value in attrs["state"].items()
        ]
        for index, patch in enumerate(patches):
            if not [segment for segment in patch["path"].split("/") if segment]:
                raise serializers.ValidationError({"patches": {index: {"path": ["Path must name a key of the state"]}}})
        patches = [dict(patch) for patch in patches]
        if attrs["patches"]:
            try:
                json_size(patches)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"patches": exc.detail}) from None
        return patches


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=IntentStatus.choices)
    reason = long_text(required=False, allow_blank=True, default="")


class EventCreateSerializer(serializers.Serializer):
    # Sent on as a webhook's X-OpenIntent-Event header and a stream's ``event:`` line.
    event_type = serializers.CharField(max_length=100, validators=[HEADER_TEXT])
    actor = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)
    payload = serializers.DictField(default=dict, validators=[json_size])

    def validate_event_type(self, value):
        if value in SERVER_ONLY:
            raise serializers.ValidationError(f"'{value}' is written by the server itself and cannot be posted")
        return value


class AssignAgentSerializer(serializers.Serializer):
    agent_id = serializers.CharField(max_length=200)
    role = serializers.CharField(max_length=100, default="worker")
