"""Triggers (RFC-0017): standing declarations that create intents on a schedule, on an event, or on a webhook call.

A trigger's fire history is kept in ``TriggerFire`` rows that name the trigger by id without a foreign key, so the
history outlives the trigger (RFC-0017 §9.1: "Fire history is retained for audit")."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class TriggerType(models.TextChoices):
    SCHEDULE = "schedule"
    EVENT = "event"
    WEBHOOK = "webhook"


class Deduplication(models.TextChoices):
    ALLOW = "allow"
    SKIP = "skip"
    QUEUE = "queue"


class Trigger(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=20, choices=TriggerType.choices)
    enabled = models.BooleanField(default=True)
    # As the client sent it, without a webhook's secret (which is sealed in ``sealed_secret``) and with its
    # datetimes written as naive UTC, which every 0.9.1 client parses.
    condition = models.JSONField(null=True, blank=True)
    intent_template = models.JSONField(null=True, blank=True)
    deduplication = models.CharField(max_length=10, choices=Deduplication.choices, default=Deduplication.ALLOW)
    namespace = models.CharField(max_length=255, null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True, default="")
    fire_count = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    # Schedule triggers: the due time not yet fired (null when nothing is left to fire). The scheduler reads it.
    next_fire_at = models.DateTimeField(null=True, blank=True)
    # Event triggers: the event type listened for. Webhook triggers: the path and method they answer.
    event = models.CharField(max_length=255, blank=True, default="")
    webhook_path = models.CharField(max_length=500, blank=True, default="")
    webhook_method = models.CharField(max_length=10, blank=True, default="")
    # The webhook secret, sealed with the vault's keys (agents/vaults/crypto.py); never in a response.
    sealed_secret = models.TextField(blank=True, default="", editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["type", "enabled", "next_fire_at"], name="trigger_due"),
            models.Index(fields=["type", "enabled", "event"], name="trigger_event"),
        ]
        constraints = [
            models.CheckConstraint(name="trigger_type_valid", condition=Q(type__in=TriggerType.values)),
            models.CheckConstraint(
                name="trigger_deduplication_valid", condition=Q(deduplication__in=Deduplication.values)
            ),
            # Two webhook triggers on one path and method would make the receiver guess.
            models.UniqueConstraint(
                fields=["webhook_path", "webhook_method"],
                condition=Q(type="webhook"),
                name="trigger_webhook_route_unique",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def has_secret(self):
        return bool(self.sealed_secret)


class FireSource(models.TextChoices):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    EVENT = "event"
    WEBHOOK = "webhook"
    QUEUE = "queue"


class FireOutcome(models.TextChoices):
    # An intent was created.
    FIRED = "fired"
    # Deduplication found an unfinished intent of the template's type (skip), or a fire already waiting (queue).
    SKIPPED = "skipped"
    # Waiting for the unfinished intent of the template's type to finish (deduplication "queue", depth 1).
    QUEUED = "queued"
    # The cascade depth limit stopped it (RFC-0017 §3.3).
    CASCADE_LIMIT = "cascade_limit"
    # A due time that passed while nothing ran (no backfill, RFC-0017 §2).
    MISSED = "missed"
    # The template could not be rendered from what the fire carried (a webhook body without a field it names).
    FAILED = "failed"


class TriggerFire(models.Model):
    """One fire of a trigger, or one refused fire. Each (trigger, due time) and each (trigger, occurrence) can be
    recorded once only: the unique constraints are what makes a scheduled or event fire happen exactly once, however
    many workers try."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    trigger_id = models.UUIDField(db_index=True)
    trigger_name = models.CharField(max_length=255)
    trigger_type = models.CharField(max_length=20, choices=TriggerType.choices)
    source = models.CharField(max_length=20, choices=FireSource.choices)
    outcome = models.CharField(max_length=20, choices=FireOutcome.choices)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    event_id = models.BigIntegerField(null=True, blank=True)
    # What an event fire answered: the event, or, for an agent's transition (logged once on each intent the agent
    # works on), the transition itself. Each is fired once per trigger.
    occurrence = models.CharField(max_length=300, null=True, blank=True)
    intent_id = models.UUIDField(null=True, blank=True)
    # The unfinished intent that made deduplication skip or queue this fire.
    duplicate_of = models.UUIDField(null=True, blank=True)
    detail = models.TextField(blank=True, default="")
    actor = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    # What a queued fire will render its template from when it is released.
    context = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["trigger_id", "-created_at"], name="fire_history"),
            models.Index(fields=["outcome", "trigger_id"], name="fire_queued"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["trigger_id", "scheduled_for"],
                condition=Q(scheduled_for__isnull=False),
                name="fire_once_per_due_time",
            ),
            models.UniqueConstraint(
                fields=["trigger_id", "occurrence"], condition=Q(occurrence__isnull=False), name="fire_once_per_event"
            ),
            models.UniqueConstraint(fields=["trigger_id"], condition=Q(outcome="queued"), name="fire_queue_depth_one"),
        ]

    def __str__(self):
        return f"{self.trigger_name} {self.outcome} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class PendingEventFire(models.Model):
    """An event an event trigger listens for, whose fire task was queued and has not run yet. The task removes it;
    one left behind (the broker was down, the task lost) is fired by the scheduler's tick instead."""

    trigger_id = models.UUIDField()
    event_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trigger_id", "event_id"], name="pending_event_fire_once")]

    def __str__(self):
        return f"event {self.event_id} for trigger {self.trigger_id}"


class WebhookReceipt(models.Model):
    """A signature accepted by a webhook trigger, remembered while its timestamp is fresh: the same signed request
    sent again is a replay, refused by the unique constraint."""

    trigger_id = models.UUIDField()
    signature = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trigger_id", "signature"], name="webhook_receipt_once")]

    def __str__(self):
        return f"{self.signature} at {self.received_at:%Y-%m-%d %H:%M:%S}"
