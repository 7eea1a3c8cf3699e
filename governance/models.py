import uuid

from django.db import models
from django.utils import timezone

from intents.models import Intent


class ArbitrationStatus(models.TextChoices):
    PENDING = "pending"
    RESOLVED = "resolved"


class ArbitrationRequest(models.Model):
    """An agent asks people to settle something. It stays pending until a reviewer decides it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="arbitrations")
    requested_by = models.CharField(max_length=200)
    reason = models.TextField()
    context = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=ArbitrationStatus.choices, default=ArbitrationStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="arbitration_queue")]

    def __str__(self):
        return f"Arbitration on {self.intent}: {self.reason[:60]}"


class Decision(models.Model):
    """An immutable governance decision, possibly settling an arbitration request."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="decisions")
    arbitration = models.OneToOneField(
        ArbitrationRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="decision"
    )
    decision_type = models.CharField(max_length=100)
    outcome = models.CharField(max_length=500)
    rationale = models.TextField(blank=True, default="")
    decided_by = models.CharField(max_length=200)
    evidence = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.decision_type}: {self.outcome}"


# RFC-0013 (governance.coordinators), imported here for Django to find its models.
from .coordinators.models import CoordinatorLease, DecisionRecord, GuardrailHit, PlanReview  # noqa: E402, F401
