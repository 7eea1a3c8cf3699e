import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class IntentStatus(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


# RFC-0001 state machine. Terminal states have no way out.
TRANSITIONS = {
    IntentStatus.DRAFT: {IntentStatus.ACTIVE, IntentStatus.ABANDONED},
    IntentStatus.ACTIVE: {IntentStatus.BLOCKED, IntentStatus.COMPLETED, IntentStatus.ABANDONED},
    IntentStatus.BLOCKED: {IntentStatus.ACTIVE, IntentStatus.ABANDONED},
    IntentStatus.COMPLETED: set(),
    IntentStatus.ABANDONED: set(),
}
TERMINAL = {IntentStatus.COMPLETED, IntentStatus.ABANDONED}


class Intent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", db_index=False
    )
    constraints = models.JSONField(default=dict, blank=True)
    state = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=IntentStatus.choices, default=IntentStatus.DRAFT)
    confidence = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="intent_recent"),
            models.Index(fields=["status", "-created_at"], name="intent_status_recent"),
            models.Index(fields=["created_by", "-created_at"], name="intent_creator_recent"),
            models.Index(fields=["parent", "-created_at"], name="intent_parent_recent"),
        ]
        constraints = [
            models.CheckConstraint(name="intent_confidence_range", condition=Q(confidence__lte=100)),
            models.CheckConstraint(name="intent_status_valid", condition=Q(status__in=IntentStatus.values)),
        ]

    def __str__(self):
        return self.title

    @property
    def is_terminal(self):
        return self.status in TERMINAL

    @property
    def depends_on(self):
        """Dependency ids in the order they were added; uses prefetched links when present."""
        return [str(link.depends_on_id) for link in self.dependency_links.all()]

    def can_become(self, status):
        return status in TRANSITIONS[IntentStatus(self.status)]


class IntentDependency(models.Model):
    """``intent`` depends on ``depends_on``. Indexed both ways so dependents cost the same at any size."""

    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="dependency_links")
    depends_on = models.ForeignKey(Intent, on_delete=models.PROTECT, related_name="dependent_links")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "depends_on"], name="dependency_unique"),
            models.CheckConstraint(name="dependency_not_self", condition=~Q(intent=models.F("depends_on"))),
        ]

    def __str__(self):
        return f"{self.intent_id} depends on {self.depends_on_id}"


class IntentEvent(models.Model):
    """One entry of an intent's append-only log. The id is a sequence, so readers can resume after it."""

    id = models.BigAutoField(primary_key=True)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="events", db_index=False)
    event_type = models.CharField(max_length=100)
    actor = models.CharField(max_length=200)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["intent", "-id"], name="event_intent_recent"),
            models.Index(fields=["intent", "event_type", "-id"], name="event_intent_type_recent"),
        ]

    def __str__(self):
        return f"{self.event_type} by {self.actor}"


class AgentAssignment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="assignments")
    agent_id = models.CharField(max_length=200, db_index=True)
    role = models.CharField(max_length=100, default="worker")
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["assigned_at"]
        constraints = [models.UniqueConstraint(fields=["intent", "agent_id"], name="assignment_unique")]

    def __str__(self):
        return f"{self.agent_id} ({self.role})"


class LeaseStatus(models.TextChoices):
    ACTIVE = "active"
    RELEASED = "released"
    EXPIRED = "expired"
    REVOKED = "revoked"


class LeaseQuerySet(models.QuerySet):
    def held(self, now=None):
        return self.filter(status=LeaseStatus.ACTIVE, expires_at__gt=now or timezone.now())

    def lapsed(self, now=None):
        return self.filter(status=LeaseStatus.ACTIVE, expires_at__lte=now or timezone.now())


class Lease(models.Model):
    """An exclusive, expiring claim on one scope of an intent.

    The partial unique constraint lets at most one lease per (intent, scope) be ``active`` in the database,
    whatever number of processes race for it; a lapsed lease is moved to ``expired`` before a new one is granted.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="leases")
    scope = models.CharField(max_length=200)
    holder = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=LeaseStatus.choices, default=LeaseStatus.ACTIVE)
    acquired_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    objects = LeaseQuerySet.as_manager()

    class Meta:
        ordering = ["acquired_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["intent", "scope"], condition=Q(status="active"), name="lease_one_active_per_scope"
            )
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="lease_status_expiry")]

    def __str__(self):
        return f"{self.scope} held by {self.holder}"

    @property
    def effective_status(self):
        """``active`` leases whose time has run out read as ``expired`` before the sweep records it."""
        if self.status == LeaseStatus.ACTIVE and self.expires_at <= timezone.now():
            return LeaseStatus.EXPIRED
        return self.status
