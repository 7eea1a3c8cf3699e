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
    # Ids this intent depends on, in the order they were added: a copy of its IntentDependency rows, written in
    # the same transaction by the only functions that add or remove them, so reading an intent needs no join.
    # The rows stay the source for the reverse direction (dependents), which is indexed.
    depends_on = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="intent_recent"),
            # With the id last, each filtered list walks its index in the exact order it returns (no sort).
            models.Index(fields=["status", "-created_at", "-id"], name="intent_status_order"),
            models.Index(fields=["created_by", "-created_at", "-id"], name="intent_creator_order"),
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


class CurrentTransactionId(models.Func):
    """The writing transaction's id, for ordering the log by commit (see ``IntentEvent.txid``).

    On SQLite, writers take the database lock for their whole transaction, so ids already follow commit order and
    every row gets 0."""

    output_field = models.BigIntegerField()
    template = "(pg_current_xact_id()::text::bigint)"

    def as_sqlite(self, compiler, connection, **extra_context):
        return "0", []


class IntentEvent(models.Model):
    """One entry of an intent's append-only log.

    ``id`` is a sequence, but on PostgreSQL ids are handed out at insert and transactions commit in any order, so
    a reader that saw id 11 may later find id 10. ``txid`` is the id of the writing transaction: once every
    transaction older than a reader's snapshot horizon has ended, all rows with a smaller ``txid`` are visible and
    no more will appear, so (``txid``, ``id``) is an order a stream can follow and resume without a gap."""

    id = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField(db_default=CurrentTransactionId(), editable=False)
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
            models.Index(fields=["txid", "id"], name="event_commit_order"),
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


def attachment_path(attachment, filename):
    return f"attachments/{attachment.intent_id}/{attachment.id}/{filename}"


class Attachment(models.Model):
    """A file kept with an intent: uploaded here (``file``) or registered by URL (``storage_url``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=255)
    size = models.BigIntegerField()
    file = models.FileField(upload_to=attachment_path, max_length=500, blank=True)
    external_url = models.URLField(max_length=2000, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    uploaded_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.CheckConstraint(name="attachment_size_not_negative", condition=Q(size__gte=0))]

    def __str__(self):
        return self.filename


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
