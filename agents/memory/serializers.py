"""The wire shapes of agent memory (RFC-0015): entries as 0.9.1 writes them (timestamps in this server's one form),
the bodies of creates, updates and batches, the queries, grants and namespace permissions."""

from django.conf import settings
from rest_framework import serializers

from openintent_site.api import MAX_OFFSET, TimestampField, compact_json_size, json_size, wire_datetime

from . import ttl as ttls
from .models import Access, MemoryPriority, MemorySensitivity, MemoryType

# Agent ids are stored in columns of 200 characters (as X-Agent-ID is bounded); namespaces and keys in 255.
AGENT_ID_LENGTH = 200
NAME_LENGTH = 255
TAG_LENGTH = 200
MAX_TAGS = 100


def enum_field(choices, **kwargs):
    """A choice among ``choices`` whose refusal names the field's allowed values, as pydantic's enum error does."""
    values = [value for value, _ in choices]
    allowed = ", ".join(f"'{value}'" for value in values[:-1]) + f" or '{values[-1]}'"
    kwargs.setdefault("error_messages", {})["invalid_choice"] = f"Input should be {allowed}"
    kwargs.setdefault("help_text", f"One of {allowed}.")
    return serializers.ChoiceField(choices=choices, **kwargs)


class ValueSizeValidator:
    """An entry's value takes at most ``OPENINTENT_MEMORY_MAX_VALUE_BYTES`` as compact JSON (RFC-0015 §1.3: larger
    payloads belong in attachments, referenced from the value)."""

    def __call__(self, value):
        limit = settings.OPENINTENT_MEMORY_MAX_VALUE_BYTES
        size = compact_json_size(value)
        if size > limit:
            raise serializers.ValidationError(
                f"At most {limit} bytes written as compact JSON; this is {size} bytes (store larger payloads as an "
                "attachment and reference it)",
                code="too_long",
            )


def value_field(**kwargs):
    return serializers.DictField(validators=[ValueSizeValidator()], **kwargs)


def tags_field(**kwargs):
    return serializers.ListField(child=serializers.CharField(max_length=TAG_LENGTH), max_length=MAX_TAGS, **kwargs)


def validate_ttl(value):
    try:
        ttls.lifetime(value)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc), code="value_error") from None
    return value


def ttl_field(**kwargs):
    return serializers.CharField(max_length=50, allow_null=True, validators=[validate_ttl], **kwargs)


class ScopeField(serializers.DictField):
    """An entry's scope: free keys (0.9.1 stores any), of which ``task_id``, ``intent_id`` and ``agent_role_id``
    are read by the server and must then be text."""

    READ = ("task_id", "intent_id", "agent_role_id")

    def __init__(self, **kwargs):
        super().__init__(validators=[json_size], **kwargs)

    def to_internal_value(self, data):
        scope = super().to_internal_value(data)
        for name in self.READ:
            value = scope.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > AGENT_ID_LENGTH):
                raise serializers.ValidationError(
                    {name: [f"Input should be text of at most {AGENT_ID_LENGTH} characters, or null"]}
                )
        return scope


class MemoryEntrySerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    agent_id = serializers.CharField(read_only=True)
    namespace = serializers.CharField(read_only=True)
    key = serializers.CharField(read_only=True)
    value = serializers.DictField(read_only=True)
    memory_type = serializers.ChoiceField(choices=MemoryType.choices, read_only=True)
    version = serializers.IntegerField(read_only=True)
    scope = serializers.DictField(read_only=True, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    ttl = serializers.CharField(read_only=True, allow_null=True)
    pinned = serializers.BooleanField(read_only=True)
    priority = serializers.ChoiceField(choices=MemoryPriority.choices, read_only=True)
    sensitivity = serializers.ChoiceField(choices=MemorySensitivity.choices, read_only=True, allow_null=True)
    curated_by = serializers.CharField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_accessed_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, entry):
        # Built directly, as the lease and intent shapes are: lists of a hundred entries are the common read.
        return {
            "id": str(entry.pk),
            "agent_id": entry.agent_id,
            "namespace": entry.namespace,
            "key": entry.key,
            "value": entry.value,
            "memory_type": entry.memory_type,
            "version": entry.version,
            "scope": entry.scope,
            "tags": entry.tags,
            "ttl": entry.ttl,
            "pinned": entry.pinned,
            "priority": entry.priority,
            "sensitivity": entry.sensitivity,
            "curated_by": entry.curated_by,
            "created_at": wire_datetime(entry.created_at),
            "updated_at": wire_datetime(entry.updated_at),
            "expires_at": wire_datetime(entry.expires_at) if entry.expires_at else None,
            "last_accessed_at": wire_datetime(entry.last_accessed_at),
        }


IGNORED = "Accepted and ignored, as in 0.9.1: the server sets it."


class MemoryCreateSerializer(serializers.Serializer):
    agent_id = serializers.CharField(
        max_length=AGENT_ID_LENGTH,
        required=False,
        help_text="The owning agent: the acting identity (the key's principal, or X-Agent-ID) when left out.",
    )
    namespace = serializers.CharField(max_length=NAME_LENGTH)
    key = serializers.CharField(max_length=NAME_LENGTH)
    value = value_field()
    memory_type = enum_field(MemoryType.choices, default=MemoryType.WORKING)
    scope = ScopeField(allow_null=True, default=None)
    tags = tags_field(default=list)
    ttl = ttl_field(default=None)
    expires_at = TimestampField(
        allow_null=True, default=None, help_text="Absolute expiry; takes precedence over ttl (RFC-0015 §1.1)."
    )
    pinned = serializers.BooleanField(default=False)
    priority = enum_field(MemoryPriority.choices, default=MemoryPriority.NORMAL)
    sensitivity = enum_field(MemorySensitivity.choices, allow_null=True, default=None)
    id = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)
    version = serializers.IntegerField(required=False, allow_null=True, help_text=IGNORED)
    curated_by = serializers.CharField(required=False, allow_null=True, help_text=IGNORED)

    def validate(self, attrs):
        for ignored in ("id", "version", "curated_by"):
            attrs.pop(ignored, None)
        return attrs


class MemoryUpdateSerializer(serializers.Serializer):
    """Every field optional; null or left out leaves it unchanged (as in 0.9.1, so no update clears a field).
    The tier, namespace, key and scope are fixed at creation."""

    value = value_field(required=False, allow_null=True)
    tags = tags_field(required=False, allow_null=True)
    pinned = serializers.BooleanField(required=False, allow_null=True)
    priority = enum_field(MemoryPriority.choices, required=False, allow_null=True)
    ttl = ttl_field(required=False)
    sensitivity = enum_field(MemorySensitivity.choices, required=False, allow_null=True)
    expires_at = TimestampField(required=False, allow_null=True)


class MemoryBatchItemSerializer(MemoryCreateSerializer):
    """One item of a batch: with ``version`` an update of the entry named by ``id``, or by its agent, namespace
    and key; without, a create."""

    id = serializers.CharField(required=False, allow_null=True, help_text="The entry an update names.")
    version = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Makes the item an update at this version."
    )
    namespace = serializers.CharField(max_length=NAME_LENGTH, required=False)
    key = serializers.CharField(max_length=NAME_LENGTH, required=False)
    value = value_field(required=False, allow_null=True)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        if attrs.get("version") is None:
            attrs.pop("version", None)
            attrs.pop("id", None)
            missing = {name: ["Field required"] for name in ("namespace", "key", "value") if attrs.get(name) is None}
            if missing:
                raise serializers.ValidationError(missing, code="required")
            return attrs
        # An update changes only what the item sends.
        sent = set(data) if isinstance(data, dict) else set()
        keep = {"id", "version", "agent_id", "namespace", "key", "memory_type"}
        return {name: value for name, value in attrs.items() if name in keep or name in sent}

    def validate(self, attrs):
        attrs.pop("curated_by", None)
        if "version" in attrs and attrs.get("id") is None and ("namespace" not in attrs or "key" not in attrs):
            raise serializers.ValidationError({"id": ["An update names its entry by id, or by namespace and key"]})
        return attrs


class MemoryBatchSerializer(serializers.Serializer):
    entries = serializers.ListField(child=MemoryBatchItemSerializer(), min_length=1, max_length=100)


# Queries ---------------------------------------------------------------------------------------------------------


class CommaList(serializers.CharField):
    """A comma-separated list in one query parameter (``tags=a,b``); empty items are dropped."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if "\x00" in text:
            raise serializers.ValidationError("Null characters are not allowed.", code="null_characters_not_allowed")
        return [item.strip() for item in text.split(",") if item.strip()]


def limit_field(default, maximum):
    return serializers.IntegerField(min_value=1, max_value=maximum, default=default)


class AgentMemoryQuerySerializer(serializers.Serializer):
    """``GET /agents/{agent_id}/memory``: the filters the 0.9.1 client sends (all of them honoured), and more."""

    namespace = serializers.CharField(required=False, help_text="Exact, or a prefix ending in `*`.")
    memory_type = enum_field(MemoryType.choices, required=False)
    tags = CommaList(required=False, help_text="Comma-separated: entries holding all of them.")
    key = serializers.CharField(required=False)
    key_prefix = serializers.CharField(required=False)
    limit = limit_field(100, 1000)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


def rfc_query_serializer(default_limit):
    """The filters of ``GET /memory`` (RFC-0015 §4.1), whose scope filters have dots in their names."""
    fields = {
        "agent_id": serializers.CharField(required=False),
        "namespace": serializers.CharField(required=False, help_text="Exact, or a prefix ending in `*`."),
        "key": serializers.CharField(required=False),
        "key_prefix": serializers.CharField(required=False),
        "memory_type": enum_field(MemoryType.choices, required=False),
        "tags": CommaList(required=False, help_text="Comma-separated: entries holding all of them."),
        "tags_any": CommaList(required=False, help_text="Comma-separated: entries holding any of them."),
        "scope.task_id": serializers.CharField(required=False),
        "scope.intent_id": serializers.CharField(required=False),
        "scope.agent_role_id": serializers.CharField(required=False),
        "pinned": serializers.BooleanField(required=False, allow_null=True, default=None),
        "updated_after": serializers.DateTimeField(required=False),
        "updated_before": serializers.DateTimeField(required=False),
        "limit": limit_field(default_limit, 1000),
        "offset": serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0),
    }
    return type(f"MemoryQuery{default_limit}", (serializers.Serializer,), fields)


def query_filters(data):
    """The services' filters from a validated query (DRF nests ``scope.task_id`` as ``{"scope": {"task_id"}}``)."""
    scope = data.get("scope") or {}
    return {
        "agent_id": data.get("agent_id"),
        "namespace": data.get("namespace"),
        "key": data.get("key"),
        "key_prefix": data.get("key_prefix"),
        "memory_type": data.get("memory_type"),
        "tags": data.get("tags") or (),
        "tags_any": data.get("tags_any") or (),
        "task_id": scope.get("task_id"),
        "intent_id": scope.get("intent_id"),
        "role_id": scope.get("agent_role_id"),
        "pinned": data.get("pinned"),
        "updated_after": data.get("updated_after"),
        "updated_before": data.get("updated_before"),
    }


class MemoryPageSerializer(serializers.Serializer):
    entries = MemoryEntrySerializer(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class BatchDeletedSerializer(serializers.Serializer):
    deleted = serializers.IntegerField()
    entry_ids = serializers.ListField(child=serializers.CharField())
    more = serializers.BooleanField(help_text="More entries matched than one request deletes; repeat it.")


# Grants and namespaces -------------------------------------------------------------------------------------------


class MemoryGrantSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    owner_id = serializers.CharField(read_only=True)
    agent_id = serializers.CharField(source="grantee_id", read_only=True)
    access = serializers.CharField(read_only=True)
    namespace = serializers.CharField(read_only=True, allow_null=True)
    memory_type = serializers.CharField(read_only=True, allow_null=True)
    granted_by = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = TimestampField(read_only=True, allow_null=True)

    def to_representation(self, grant):
        data = super().to_representation(grant)
        data["namespace"] = grant.namespace or None
        data["memory_type"] = grant.memory_type or None
        return data


class MemoryGrantCreateSerializer(serializers.Serializer):
    agent_id = serializers.CharField(max_length=AGENT_ID_LENGTH, help_text="The agent the memory is shared with.")
    access = enum_field([(Access.READ, "read"), (Access.WRITE, "write")], default=Access.READ)
    namespace = serializers.CharField(
        max_length=NAME_LENGTH, allow_null=True, default=None, help_text="Exact, or a prefix ending in `*`; null: all."
    )
    memory_type = enum_field(
        [(MemoryType.WORKING, "working"), (MemoryType.EPISODIC, "episodic")],
        allow_null=True,
        default=None,
        help_text="Null: both agent-owned tiers. Semantic memory is shared by its namespace's permissions.",
    )
    expires_at = TimestampField(allow_null=True, default=None)


class NamespaceRuleSerializer(serializers.Serializer):
    agent = serializers.CharField(max_length=AGENT_ID_LENGTH)
    access = enum_field(Access.choices)


class NamespacePermissionsSerializer(serializers.Serializer):
    default = enum_field([(Access.NONE, "none"), (Access.READ, "read"), (Access.WRITE, "write")], default=Access.READ)
    allow = serializers.ListField(child=NamespaceRuleSerializer(), max_length=1000, default=list)


class NamespaceUpdateSerializer(serializers.Serializer):
    permissions = NamespacePermissionsSerializer()


class NamespaceSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    permissions = NamespacePermissionsSerializer()
    configured = serializers.BooleanField(help_text="False: nobody set permissions; the server's default applies.")
    version = serializers.IntegerField()
    access = serializers.CharField(help_text="What the caller may do in it.")
    entry_count = serializers.IntegerField()
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(allow_null=True)

    def to_representation(self, instance):
        return instance


class NamespaceListSerializer(serializers.Serializer):
    namespaces = NamespaceSerializer(many=True)


class MemoryEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    event_type = serializers.CharField(read_only=True)
    agent_id = serializers.CharField(read_only=True)
    entry_id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True, allow_null=True)
    actor = serializers.CharField(read_only=True)
    data = serializers.DictField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, event):
        data = super().to_representation(event)
        data["intent_id"] = event.intent_id or None
        return data
