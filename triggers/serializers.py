"""The wire shapes of triggers (RFC-0017): the 0.9.1 shape, with the fields a demanding client also wants beside it
(when the trigger is next due, its webhook's address, whether a secret is set). A webhook secret is write-only."""

from rest_framework import serializers

from openintent_site.api import json_size, wire_datetime

from .models import Deduplication, FireOutcome, FireSource, TriggerType
from .services import webhook_url


def enum_field(choices, **kwargs):
    """A choice field whose refusal names every allowed value (0.9.1 stored any string, which then broke every
    read of the 0.9.1 client)."""
    allowed = ", ".join(value for value, _ in choices)
    return serializers.ChoiceField(
        choices=choices,
        error_messages={"invalid_choice": f'"{{input}}" is not one of the allowed values: {allowed}'},
        **kwargs,
    )


def trigger_data(trigger):
    return {
        "trigger_id": str(trigger.pk),
        "name": trigger.name,
        "type": trigger.type,
        "enabled": trigger.enabled,
        "condition": trigger.condition,
        "intent_template": trigger.intent_template,
        "deduplication": trigger.deduplication,
        "namespace": trigger.namespace,
        "fire_count": trigger.fire_count,
        "version": trigger.version,
        "created_at": wire_datetime(trigger.created_at),
        "updated_at": wire_datetime(trigger.updated_at),
        "last_fired_at": wire_datetime(trigger.last_fired_at) if trigger.last_fired_at else None,
        "next_fire_at": wire_datetime(trigger.next_fire_at) if trigger.next_fire_at else None,
        "created_by": trigger.created_by,
        "webhook_url": webhook_url(trigger),
        "has_secret": trigger.has_secret,
    }


def fire_data(fire):
    return {
        "fire_id": str(fire.pk),
        "trigger_id": str(fire.trigger_id),
        "trigger_name": fire.trigger_name,
        "source": fire.source,
        "outcome": fire.outcome,
        "intent_id": str(fire.intent_id) if fire.intent_id else None,
        "duplicate_of": str(fire.duplicate_of) if fire.duplicate_of else None,
        "scheduled_for": wire_datetime(fire.scheduled_for) if fire.scheduled_for else None,
        "event_id": fire.event_id,
        "detail": fire.detail,
        "actor": fire.actor,
        "fired_at": wire_datetime(fire.created_at),
    }


class TriggerSerializer(serializers.Serializer):
    """The answer's shape (for the schema; ``trigger_data`` writes it)."""

    trigger_id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=TriggerType.choices)
    enabled = serializers.BooleanField()
    condition = serializers.JSONField(allow_null=True, help_text="As sent, without a webhook's secret.")
    intent_template = serializers.JSONField(allow_null=True)
    deduplication = serializers.ChoiceField(choices=Deduplication.choices)
    namespace = serializers.CharField(allow_null=True)
    fire_count = serializers.IntegerField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_fired_at = serializers.DateTimeField(allow_null=True)
    next_fire_at = serializers.DateTimeField(allow_null=True, help_text="Schedule triggers: the next due time.")
    created_by = serializers.CharField()
    webhook_url = serializers.CharField(allow_null=True, help_text="Webhook triggers: where calls are received.")
    has_secret = serializers.BooleanField()


class FireSerializer(serializers.Serializer):
    fire_id = serializers.CharField()
    trigger_id = serializers.CharField()
    trigger_name = serializers.CharField()
    source = serializers.ChoiceField(choices=FireSource.choices)
    outcome = serializers.ChoiceField(choices=FireOutcome.choices)
    intent_id = serializers.CharField(allow_null=True)
    duplicate_of = serializers.CharField(allow_null=True)
    scheduled_for = serializers.DateTimeField(allow_null=True)
    event_id = serializers.IntegerField(allow_null=True)
    detail = serializers.CharField()
    actor = serializers.CharField()
    fired_at = serializers.DateTimeField()


class TriggerCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    type = enum_field(TriggerType.choices)
    condition = serializers.DictField(allow_null=True, required=False, default=None, validators=[json_size])
    intent_template = serializers.DictField(allow_null=True, required=False, default=None, validators=[json_size])
    deduplication = enum_field(Deduplication.choices, default=Deduplication.ALLOW)
    namespace = serializers.CharField(max_length=255, allow_null=True, required=False, default=None)
    enabled = serializers.BooleanField(default=True)


class TriggerUpdateSerializer(serializers.Serializer):
    # null means "unchanged", as in 0.9.1; type and namespace cannot change (0.9.1 ignores them too).
    name = serializers.CharField(max_length=255, allow_null=True, required=False)
    enabled = serializers.BooleanField(allow_null=True, required=False)
    condition = serializers.DictField(allow_null=True, required=False, validators=[json_size])
    intent_template = serializers.DictField(allow_null=True, required=False, validators=[json_size])
    deduplication = enum_field(Deduplication.choices, allow_null=True, required=False)


class TriggerListQuerySerializer(serializers.Serializer):
    type = enum_field(TriggerType.choices, required=False)
    namespace = serializers.CharField(required=False)
    enabled = serializers.BooleanField(required=False, allow_null=True, default=None)


class ManualFireSerializer(serializers.Serializer):
    """Optional stand-ins for what the condition would carry, for trying a template out."""

    event = serializers.DictField(required=False, validators=[json_size])
    body = serializers.JSONField(required=False, validators=[json_size])
    headers = serializers.DictField(required=False, child=serializers.CharField(), validators=[json_size])
    query = serializers.DictField(required=False, child=serializers.CharField(), validators=[json_size])
