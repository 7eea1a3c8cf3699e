"""Portfolios (RFC-0007): named groups of intents."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from intents.core.models import Intent


class PortfolioStatus(models.TextChoices):
    ACTIVE = "active"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class Portfolio(models.Model):
    """A named grouping of related intents (RFC-0007). It orders and schedules nothing; it only groups and sums up.

    ``created_by`` is the name the caller gives (the 0.9.1 client sends its agent id); ``owner`` is the principal
    whose key created it, and decides who may see and change it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=255)
    owner = models.CharField(max_length=200, db_index=True)
    status = models.CharField(max_length=20, choices=PortfolioStatus.choices, default=PortfolioStatus.ACTIVE)
    governance_policy = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    intents = models.ManyToManyField(Intent, through="PortfolioMembership", related_name="portfolios")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(name="portfolio_status_valid", condition=Q(status__in=PortfolioStatus.values))
        ]

    def __str__(self):
        return self.name


class MembershipRole(models.TextChoices):
    PRIMARY = "primary"
    MEMBER = "member"
    DEPENDENCY = "dependency"


class PortfolioMembership(models.Model):
    """One intent in one portfolio. At most one member per portfolio is the ``primary`` (the overall goal)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="memberships")
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="portfolio_memberships")
    role = models.CharField(max_length=20, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    priority = models.IntegerField(default=0)
    added_by = models.CharField(max_length=200)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "intent"], name="membership_unique"),
            models.UniqueConstraint(fields=["portfolio"], condition=Q(role="primary"), name="membership_one_primary"),
            models.CheckConstraint(name="membership_role_valid", condition=Q(role__in=MembershipRole.values)),
        ]

    def __str__(self):
        return f"{self.intent_id} in {self.portfolio_id} ({self.role})"
