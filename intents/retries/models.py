"""Retry policies and failures (RFC-0010)."""

import uuid

from django.db import models
from django.utils import timezone

from intents.core.models import Intent


class RetryStrategy(models.TextChoices):
    NONE = "none"
    FIXED = "fixed"
    EXPONENTIAL = "exponential"
    LINEAR = "linear"


class RetryPolicy(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.OneToOneField(Intent, on_delete=models.CASCADE, related_name="retry_policy")
    strategy = models.CharField(max_length=20, choices=RetryStrategy.choices)
    max_retries = models.PositiveIntegerField(default=3)
    base_delay_ms = models.PositiveIntegerField(default=1000)
    max_delay_ms = models.PositiveIntegerField(default=60000)
    jitter = models.BooleanField(default=True)
    fallback_agent_id = models.CharField(max_length=200, null=True, blank=True)
    failure_threshold = models.PositiveIntegerField(default=3)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "retry policies"

    def __str__(self):
        return f"{self.strategy}, up to {self.max_retries} retries"

    def delay_ms(self, attempt):
        """The backoff before retry number ``attempt`` (1-based), before jitter, capped at ``max_delay_ms``."""
        if self.strategy == RetryStrategy.EXPONENTIAL:
            delay = self.base_delay_ms * 2 ** (attempt - 1)
        elif self.strategy == RetryStrategy.LINEAR:
            delay = self.base_delay_ms * attempt
        else:
            delay = self.base_delay_ms
        return min(delay, self.max_delay_ms)


class Failure(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="failures")
    agent_id = models.CharField(max_length=200)
    attempt_number = models.PositiveIntegerField()
    error_code = models.CharField(max_length=100)
    error_message = models.TextField(null=True, blank=True)
    recoverable = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    retry_scheduled_at = models.DateTimeField(null=True, blank=True)
    retried_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at"]

    def __str__(self):
        return f"{self.error_code} (attempt {self.attempt_number})"
