"""Webhook subscriptions and their deliveries (RFC-0006)."""

import uuid

from django.db import models
from django.utils import timezone

from intents.core.models import Intent
from intents.portfolios.models import Portfolio
from openintent_site.models import IntentEvent


class Subscription(models.Model):
    """A standing request to have matching intent events POSTed to ``webhook_url`` (RFC-0006).

    Scope: one intent, the member intents of one portfolio, or every intent (both null); always limited to intents
    the creating principal may read. An empty ``event_types`` list means every event type.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions")
    portfolio = models.ForeignKey(
        Portfolio, null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    subscriber_id = models.CharField(max_length=200)
    event_types = models.JSONField(default=list, blank=True)
    webhook_url = models.URLField(max_length=2000)
    # Kept readable because every delivery is signed with it; shown to the creator once, in the create response.
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=200, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["active", "expires_at"], name="subscription_live")]

    def __str__(self):
        return f"{self.subscriber_id} → {self.webhook_url}"

    def is_live(self, now=None):
        return self.active and (self.expires_at is None or self.expires_at > (now or timezone.now()))

    def wants(self, event_type):
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """One event on its way to one subscription's webhook; at most one row per pair, however often it is tried."""

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(IntentEvent, on_delete=models.CASCADE, related_name="webhook_deliveries")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["subscription", "event"], name="delivery_unique")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return f"event {self.event_id} to {self.subscription_id}: {self.status}"


class PendingFanOut(models.Model):
    """A committed event whose webhook deliveries are still to be recorded.

    Written right after the event's write commits, when some live subscription's scope takes the event in, and
    removed by the fan-out task in the transaction that records the deliveries. One that stays longer than a task
    takes (the broker was down, the worker died) is found by the beat sweep, which fans the event out itself."""

    event = models.OneToOneField(IntentEvent, primary_key=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"event {self.event_id}"
