"""Coordinator governance (RFC-0013): who coordinates an intent or a portfolio, under whose supervision, within which
guardrails, and the decisions it records.

A coordinator lease is the role itself. At most one lease per intent (and per portfolio) is live at a time, which
the database holds through a partial unique constraint, so that two agents racing for the role cannot both get it.
The server watches the lease's heartbeats through two deadlines kept on the row (``unresponsive_at`` and
``failover_at``), which the coordinator sweep (``governance.tasks.sweep_coordinators``) finds by index.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from intents.core.models import Intent
from intents.plans.models import Plan
from intents.portfolios.models import Portfolio


class CoordinatorStatus(models.TextChoices):
    # The seven values the RFC and the 0.9.1 client know. A lease is granted ``active`` in one step, so none is
    # stored ``registering``; an expired or released lease ends ``completed`` (the client has no ``expired``).
    REGISTERING = "registering"
    ACTIVE = "active"
    PAUSED = "paused"
    UNRESPONSIVE = "unresponsive"
    FAILED_OVER = "failed_over"
    COMPLETING = "completing"
    COMPLETED = "completed"


# The statuses of a lease that holds the role: the one the uniqueness constraints count.
LIVE = (CoordinatorStatus.ACTIVE, CoordinatorStatus.PAUSED, CoordinatorStatus.UNRESPONSIVE)


class CoordinatorType(models.TextChoices):
    LLM = "llm"
    HUMAN = "human"
    COMPOSITE = "composite"
    SYSTEM = "system"


class CoordinatorScope(models.TextChoices):
    INTENT = "intent"
    PORTFOLIO = "portfolio"


class OnExceed(models.TextChoices):
    PAUSE = "pause"
    ESCALATE = "escalate"
    PAUSE_AND_ESCALATE = "pause_and_escalate"
    FAIL = "fail"


class DecisionType(models.TextChoices):
    PLAN_CREATED = "plan_created"
    PLAN_MODIFIED = "plan_modified"
    TASK_ASSIGNED = "task_assigned"
    TASK_DELEGATED = "task_delegated"
    ESCALATION_INITIATED = "escalation_initiated"
    ESCALATION_RESOLVED = "escalation_resolved"
    CHECKPOINT_EVALUATED = "checkpoint_evaluated"
    FAILURE_HANDLED = "failure_handled"
    GUARDRAIL_APPROACHED = "guardrail_approached"
    COORDINATOR_HANDOFF = "coordinator_handoff"
    # Not in RFC-0013's list: the decisions the product README's coordinator records when its agents' writes
    # conflicted and when their votes reached a quorum.
    CONFLICT_RESOLUTION = "conflict_resolution"
    QUORUM = "quorum"


class CoordinatorLeaseQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status__in=LIVE)

    def waiting_for_supervisor(self):
        """Unresponsive coordinators not yet failed over: the supervisor should look (the desk's queue)."""
        return (
            self.filter(status=CoordinatorStatus.UNRESPONSIVE)
            .select_related("intent", "portfolio")
            .order_by("unresponsive_at")
        )


class CoordinatorLease(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(
        Intent, on_delete=models.CASCADE, null=True, blank=True, related_name="coordinator_leases"
    )
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, null=True, blank=True, related_name="coordinator_leases"
    )
    agent_id = models.CharField(max_length=200)
    role = models.CharField(max_length=100, default="coordinator")
    supervisor_id = models.CharField(max_length=200)
    # The supervisors from this lease's up to the first person, as checked when the lease was granted.
    supervisor_chain = models.JSONField(default=list)
    coordinator_type = models.CharField(max_length=20, choices=CoordinatorType.choices, default=CoordinatorType.LLM)
    scope = models.CharField(max_length=20, choices=CoordinatorScope.choices, default=CoordinatorScope.INTENT)
    status = models.CharField(max_length=20, choices=CoordinatorStatus.choices, default=CoordinatorStatus.ACTIVE)
    status_reason = models.CharField(max_length=200, blank=True, default="")
    guardrails = models.JSONField(null=True, blank=True)
    # Agents that take the role over, in this order, when the coordinator stops answering; then the supervisor.
    failover_pool = models.JSONField(default=list, blank=True)
    heartbeat_interval_seconds = models.PositiveIntegerField(default=60)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    # What the last heartbeat reported (active_tasks, pending_decisions, budget_used_usd, status_summary).
    last_report = models.JSONField(default=dict, blank=True)
    # Heartbeat receipt (or grant) plus 2x and 3x the interval: when the sweep marks it unresponsive, then fails over.
    unresponsive_at = models.DateTimeField()
    failover_at = models.DateTimeField()
    # The budget warning (warn_at_percentage) is logged once per lease.
    budget_warned = models.BooleanField(default=False)
    # When the supervisor was last told that the intent's tasks made no progress (require_progress_every_minutes).
    stalled_notified_at = models.DateTimeField(null=True, blank=True)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The lease that took the role over from this one (handoff, replacement, failover).
    successor = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)

    objects = CoordinatorLeaseQuerySet.as_manager()

    class Meta:
        ordering = ["granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["intent"], condition=Q(status__in=LIVE), name="one_live_coordinator_per_intent"
            ),
            models.UniqueConstraint(
                fields=["portfolio"], condition=Q(status__in=LIVE), name="one_live_coordinator_per_portfolio"
            ),
            models.CheckConstraint(
                name="coordinator_lease_scope_target",
                condition=(Q(scope="intent") & Q(intent__isnull=False) & Q(portfolio__isnull=True))
                | (Q(scope="portfolio") & Q(portfolio__isnull=False) & Q(intent__isnull=True)),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "unresponsive_at"], name="coordinator_unresponsive_due"),
            models.Index(fields=["status", "failover_at"], name="coordinator_failover_due"),
            models.Index(fields=["status", "expires_at"], name="coordinator_expiry_due"),
        ]

    def __str__(self):
        target = self.intent_id or self.portfolio_id
        return f"{self.agent_id} coordinating {self.scope} {str(target)[:8]} ({self.status})"

    @property
    def is_live(self):
        return self.status in LIVE


class PlanReviewStatus(models.TextChoices):
    APPROVED = "approved"
    REJECTED = "rejected"


class PlanReview(models.Model):
    """A supervisor's word on a plan, which ``requires_plan_review`` waits for before the plan may be activated."""

    plan = models.OneToOneField(Plan, on_delete=models.CASCADE, primary_key=True, related_name="supervisor_review")
    lease = models.ForeignKey(CoordinatorLease, on_delete=models.CASCADE, related_name="plan_reviews")
    status = models.CharField(max_length=20, choices=PlanReviewStatus.choices)
    decided_by = models.CharField(max_length=200)
    reason = models.TextField(blank=True, default="")
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.plan_id}: {self.status} by {self.decided_by}"


class DecisionRecord(models.Model):
    """A coordinator's decision, kept as written: there is no route or admin page that changes or deletes one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="decision_records")
    # Who decided, as the coordinator wrote it: its agent id or its lease id.
    coordinator_id = models.CharField(max_length=200)
    lease = models.ForeignKey(CoordinatorLease, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decision_type = models.CharField(max_length=50, choices=DecisionType.choices)
    summary = models.TextField()
    rationale = models.TextField()
    alternatives_considered = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    recorded_by = models.CharField(max_length=200)
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [models.Index(fields=["intent", "-timestamp"], name="decision_record_recent")]

    def __str__(self):
        return f"{self.decision_type}: {self.summary[:60]}"


class GuardrailHitKind(models.TextChoices):
    WARNING = "warning"
    VIOLATION = "violation"


class GuardrailHit(models.Model):
    """A guardrail a coordinated intent reached: a warning, or a refused request (kept apart from the intent's event
    log, whose 0.9.1 readers cannot parse RFC-0013's ``coordinator.guardrail_*`` types)."""

    lease = models.ForeignKey(CoordinatorLease, on_delete=models.CASCADE, related_name="guardrail_hits")
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=20, choices=GuardrailHitKind.choices)
    guardrail = models.CharField(max_length=100)
    action = models.CharField(max_length=50)
    attempted_value = models.JSONField(null=True)
    limit = models.JSONField(null=True)
    actor = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} {self.guardrail}: {self.attempted_value} (limit {self.limit})"
