"""Costs and budget overruns (RFC-0009)."""

import uuid

from django.db import models
from django.utils import timezone

from intents.core.models import Intent


class CostType(models.TextChoices):
    TOKENS = "tokens"
    API_CALL = "api_call"
    COMPUTE = "compute"
    CUSTOM = "custom"


class Cost(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="costs")
    agent_id = models.CharField(max_length=200)
    cost_type = models.CharField(max_length=20, choices=CostType.choices)
    amount = models.DecimalField(max_digits=20, decimal_places=6)
    unit = models.CharField(max_length=50)
    provider = models.CharField(max_length=100, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at"]
        indexes = [models.Index(fields=["intent", "agent_id"], name="cost_intent_agent")]

    def __str__(self):
        return f"{self.amount} {self.unit} ({self.cost_type})"


class BudgetOverrun(models.Model):
    """A budget limit an intent's costs went past, waiting for a person to acknowledge it."""

    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="budget_overruns")
    limit_name = models.CharField(max_length=50)
    agent_id = models.CharField(max_length=200, blank=True)
    limit_cents = models.DecimalField(max_digits=20, decimal_places=6)
    spent_cents = models.DecimalField(max_digits=20, decimal_places=6)
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.CharField(max_length=200, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.intent}: {self.limit_name} {self.spent_cents}/{self.limit_cents} cents"
