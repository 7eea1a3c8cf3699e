"""The wire shapes of the agent registry (RFC-0016), as the 0.9.1 client sends and parses them, with the RFC's fields
beside them."""

from django.core.validators import RegexValidator
from rest_framework import serializers

from openintent_site.api import MAX_OFFSET, column_integer, json_size, wire_datetime

from .models import Agent, AgentStatus

AGENT_ID = RegexValidator(
    r"^[^/\s\x00-\x1f\x7f][^/\x00-\x1f\x7f]*\Z",
    message="Printable characters other than '/', not starting with a space: the id appears in the agent's paths",
    code="string_pattern_mismatch",
)
MAX_CAPABILITIES = 200
# A registry page: generous, since the 0.9.1 client reads one page only, but bounded, since records of agents that
# left are kept.
DEFAULT_LISTED = 500
MAX_LISTED = 1000
MAX_TASKS_IN_PROGRESS = 1000
# A day: a drain longer than that is an agent that should deregister and register again.
MAX_DRAIN_TIMEOUT_SECONDS = 24 * 3600
# A week of silence at most before an agent is dead.
MAX_THRESHOLD_SECONDS = 7 * 24 * 3600


def enum_field(choices, **kwargs):
    """A choice field whose refusal names every allowed value."""
    allowed = ", ".join(value for value, _ in choices)
    return serializers.ChoiceField(
        choices=choices,
        error_messages={"invalid_choice": f'"{{input}}" is not one of the allowed values: {allowed}'},
        **kwargs,
    )


def record(agent):
    """The agent record: the 0.9.1 shape (``agent_metadata``) with ``metadata`` beside it, which is where the 0.9.1
    client reads it from, and the RFC's drain and health fields."""
    return {
        "agent_id": agent.agent_id,
        "status": agent.status,
        "role_id": agent.role_id,
        "name": agent.name,
        "capabilities": list(agent.capabilities),
        "capacity": agent.capacity,
        "available_capacity": agent.available_capacity,
        "endpoint": agent.endpoint,
        "heartbeat_config": agent.heartbeat_config,
        "metadata": agent.metadata,
        "agent_metadata": agent.metadata,
        "registered_at": wire_datetime(agent.registered_at),
        "registered_by": agent.registered_by,
        "last_heartbeat_at": wire_datetime(agent.last_heartbeat_at),
        "status_reason": agent.status_reason,
        "status_changed_at": wire_datetime(agent.status_changed_at),
        "drain_timeout_seconds": agent.drain_timeout_seconds,
        "draining_since": wire_datetime(agent.draining_since) if agent.draining_since else None,
        "drain_deadline": wire_datetime(agent.drain_deadline) if agent.drain_deadline else None,
        "clock_drift_seconds": agent.clock_drift_seconds,
        "version": agent.version,
    }


class AgentRecordSerializer(serializers.Serializer):
    """For the schema; answers are written by :func:`record`."""

    agent_id = serializers.CharField()
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    role_id = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    capabilities = serializers.ListField(child=serializers.CharField())
    capacity = serializers.DictField()
    available_capacity = serializers.IntegerField()
    endpoint = serializers.CharField(allow_null=True)
    heartbeat_config = serializers.DictField(child=serializers.IntegerField())
    metadata = serializers.DictField()
    agent_metadata = serializers.DictField(help_text="The same as `metadata`, under the name 0.9.1 servers use.")
    registered_at = serializers.DateTimeField()
    registered_by = serializers.CharField()
    last_heartbeat_at = serializers.DateTimeField()
    status_reason = serializers.CharField()
    status_changed_at = serializers.DateTimeField()
    drain_timeout_seconds = serializers.IntegerField(allow_null=True)
    draining_since = serializers.DateTimeField(allow_null=True)
    drain_deadline = serializers.DateTimeField(allow_null=True)
    clock_drift_seconds = serializers.FloatField(allow_null=True)
    version = serializers.IntegerField()

    def to_representation(self, agent):
        return record(agent)


class CapacitySerializer(serializers.Serializer):
    max_concurrent_tasks = column_integer(Agent, "max_concurrent_tasks", required=False, allow_null=True)
    current_load = column_integer(Agent, "current_load", required=False, allow_null=True)

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        json_size(data)
        # Other keys are kept as given (0.9.1 stores the object verbatim); the two above are checked.
        extra = {key: value for key, value in data.items() if key not in self.fields and key != "tasks_in_progress"}
        return {**extra, **{key: value for key, value in validated.items() if value is not None}}


def threshold(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=MAX_THRESHOLD_SECONDS, required=False, **kwargs)


class HeartbeatConfigSerializer(serializers.Serializer):
    """The thresholds of RFC-0016 section 3.3, each defaulted from the settings when left out: unhealthy at least
    twice the interval, dead at least twice unhealthy."""

    interval_seconds = threshold()
    unhealthy_after_seconds = threshold()
    dead_after_seconds = threshold()

    def validate(self, data):
        from .services import thresholds

        config = thresholds(data)
        errors = {}
        if config["unhealthy_after_seconds"] < 2 * config["interval_seconds"]:
            errors["unhealthy_after_seconds"] = [
                f"Must be at least twice interval_seconds ({config['interval_seconds']}): "
                f"{config['unhealthy_after_seconds']} is less than {2 * config['interval_seconds']}"
            ]
        if config["dead_after_seconds"] < 2 * config["unhealthy_after_seconds"]:
            errors["dead_after_seconds"] = [
                f"Must be at least twice unhealthy_after_seconds ({config['unhealthy_after_seconds']}): "
                f"{config['dead_after_seconds']} is less than {2 * config['unhealthy_after_seconds']}"
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return config


class AgentRegisterSerializer(serializers.Serializer):
    agent_id = serializers.CharField(max_length=200, validators=[AGENT_ID])
    name = serializers.CharField(max_length=255, required=False, allow_null=True)
    role_id = serializers.CharField(max_length=200, required=False, allow_null=True)
    capabilities = serializers.ListField(
        child=serializers.CharField(max_length=200), default=list, max_length=MAX_CAPABILITIES
    )
    capacity = CapacitySerializer(required=False, allow_null=True)
    endpoint = serializers.CharField(max_length=2000, required=False, allow_null=True)
    heartbeat_config = HeartbeatConfigSerializer(required=False, allow_null=True)
    metadata = serializers.JSONField(default=dict, validators=[json_size])
    drain_timeout_seconds = serializers.IntegerField(
        min_value=1, max_value=MAX_DRAIN_TIMEOUT_SECONDS, required=False, allow_null=True
    )

    def validate_metadata(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Input should be a valid dictionary", code="not_a_dict")
        return value


class RFCAgentRegisterSerializer(AgentRegisterSerializer):
    """``POST /agents`` (RFC-0016 section 3.1): the id may be left out, and the server makes one."""

    agent_id = serializers.CharField(max_length=200, validators=[AGENT_ID], required=False)


class HeartbeatSerializer(serializers.Serializer):
    status = enum_field(
        [(AgentStatus.ACTIVE, "active"), (AgentStatus.DRAINING, "draining")],
        default=AgentStatus.ACTIVE,
        help_text="The agent's own report: `draining` starts its drain, or takes up one the server asked for.",
    )
    current_load = column_integer(Agent, "current_load", default=0)
    tasks_in_progress = serializers.ListField(
        child=serializers.CharField(max_length=200), default=list, max_length=MAX_TASKS_IN_PROGRESS
    )
    client_timestamp = serializers.DateTimeField(required=False, allow_null=True)


class HeartbeatAnswerSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"ok", as 0.9.1 answers.')
    acknowledged = serializers.BooleanField()
    agent_id = serializers.CharField()
    agent_status = serializers.ChoiceField(choices=AgentStatus.choices)
    server_timestamp = serializers.DateTimeField()
    next_heartbeat_at = serializers.DateTimeField()
    pending_commands = serializers.ListField(child=serializers.DictField())
    version = serializers.IntegerField()


class StatusChangeSerializer(serializers.Serializer):
    status = enum_field(AgentStatus.choices)
    drain_timeout_seconds = serializers.IntegerField(
        min_value=1, max_value=MAX_DRAIN_TIMEOUT_SECONDS, required=False, allow_null=True
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CommaList(serializers.CharField):
    """A comma-separated list in a query parameter, each item stripped and empty ones dropped."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        # The text as sent is checked first (a NUL character, which no database column holds, is a 422 here).
        text = super().run_validation(data)
        return [item.strip() for item in text.split(",") if item.strip()]


class AgentListQuerySerializer(serializers.Serializer):
    status = CommaList(
        required=False, help_text="One status or several, comma-separated; every status when left out, as in 0.9.1."
    )
    role_id = serializers.CharField(required=False, max_length=200, help_text="The pool: agents sharing this role.")
    capabilities = CommaList(required=False, help_text="Comma-separated: agents with any of these capabilities.")
    min_available_capacity = serializers.IntegerField(
        required=False, min_value=0, help_text="Agents whose max_concurrent_tasks minus current_load is at least this."
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_LISTED, default=DEFAULT_LISTED, help_text="At most this many agents."
    )
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)

    def validate_status(self, statuses):
        allowed = {value for value, _ in AgentStatus.choices}
        unknown = [status for status in statuses if status not in allowed]
        if unknown:
            raise serializers.ValidationError(
                f'"{unknown[0]}" is not one of the allowed values: {", ".join(AgentStatus.values)}', code="enum"
            )
        return statuses


class PoolQuerySerializer(serializers.Serializer):
    status = CommaList(required=False, help_text="Which members count, comma-separated; `active` when left out.")

    validate_status = AgentListQuerySerializer.validate_status


class PoolSerializer(serializers.Serializer):
    role_id = serializers.CharField()
    members = serializers.ListField(child=serializers.CharField())
    max_concurrent_tasks = serializers.IntegerField()
    current_load = serializers.IntegerField()
    available_capacity = serializers.IntegerField()


class EventPageSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class AgentEventSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    agent_id = serializers.CharField(read_only=True)
    event_type = serializers.CharField(read_only=True)
    actor = serializers.CharField(read_only=True)
    via = serializers.CharField(read_only=True, allow_null=True)
    payload = serializers.DictField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, event):
        return {
            "id": str(event.pk),
            "agent_id": event.agent_id,
            "event_type": event.event_type,
            "actor": event.actor,
            "via": event.via or None,
            "payload": event.payload,
            "created_at": wire_datetime(event.created_at),
        }
