"""Intents (RFC-0001): the goal, its versioned state, its status machine and the agents assigned to it."""

import uuid
from functools import cache

from django.db import connections, models
from django.db.models import Q
from django.utils import timezone

from openintent_site.rows import ModelColumns


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


class IntentManager(models.Manager):
    def by_pk(self, pk, *, lock=False):
        """The intent whose primary key is the UUID ``pk``, with its access policy, or None; its row locked for
        update (FOR NO KEY UPDATE) when asked, where the database has row locks.

        It runs on every route under an intent, reads and writes. The same query through the ORM
        (``select_related("access_policy")``) cost 0.3 ms of CPU per call, composing the SQL and mapping the columns
        each time; here both are done once per process (``ByPk``). Only the policy's ``default_policy`` is read
        with the intent; its other fields load if anything asks for them."""
        statement = ByPk.on(self.db, lock)
        connection = connections[self.db]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, [self.model._meta.pk.get_db_prep_value(pk, connection)])
            row = cursor.fetchone()
        if row is None:
            return None
        *values, policy = row
        intent = statement.columns.instance(values)
        relation = self.model.access_policy.related
        if policy is not None:
            policy = relation.related_model.from_db(self.db, ["intent_id", "default_policy"], [intent.pk, policy])
        # What select_related leaves behind: the policy, or None where the intent has none (then reading it raises
        # RelatedObjectDoesNotExist without a query).
        relation.set_cached_value(intent, policy)
        return intent


class ByPk:
    """The SQL of ``IntentManager.by_pk`` for one database, and the intent's columns in it."""

    @staticmethod
    @cache
    def on(alias, lock):
        return ByPk(alias, lock)

    def __init__(self, alias, lock):
        connection = connections[alias]
        quote = connection.ops.quote_name
        relation = Intent.access_policy.related
        self.columns = ModelColumns.of(Intent, alias)
        intents, policies = self.columns.table, quote(relation.related_model._meta.db_table)
        self.sql = (
            f"SELECT {self.columns.select_list}, {policies}.{quote('default_policy')} FROM {intents} "
            f"LEFT JOIN {policies} ON {policies}.{quote(relation.field.column)} = {intents}.{quote('id')} "
            f"WHERE {intents}.{quote('id')} = %s"
        )
        if lock and connection.features.has_select_for_update:
            # NO KEY UPDATE: it still serialises writers of the intent, but lets other transactions insert rows that
            # reference it (events, leases), which would otherwise deadlock against a holder of such a row.
            self.sql += f" FOR NO KEY UPDATE OF {intents}"


class IntentPriority(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


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
    # RFC-0017 asks these of the intents a trigger creates (its deduplication looks for an unfinished intent of the
    # same type in the namespace); any intent may carry them. The 0.9.1 client ignores keys it does not know.
    type = models.CharField(max_length=255, null=True, blank=True)
    namespace = models.CharField(max_length=255, null=True, blank=True)
    priority = models.CharField(max_length=20, choices=IntentPriority.choices, default=IntentPriority.MEDIUM)
    tags = models.JSONField(default=list, blank=True)
    # Who made the intent when a trigger did (RFC-0017 §5.2): written once, at creation, and never changed.
    trigger_lineage = models.JSONField(null=True, blank=True, editable=False)

    objects = IntentManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="intent_recent"),
            # With the id last, each filtered list walks its index in the exact order it returns (no sort).
            models.Index(fields=["status", "-created_at", "-id"], name="intent_status_order"),
            models.Index(fields=["created_by", "-created_at", "-id"], name="intent_creator_order"),
            models.Index(fields=["parent", "-created_at"], name="intent_parent_recent"),
            # Deduplication of trigger fires: the unfinished intents of a type, in a namespace or in all.
            models.Index(fields=["type", "namespace", "status"], name="intent_type_namespace"),
        ]
        constraints = [
            models.CheckConstraint(name="intent_confidence_range", condition=Q(confidence__lte=100)),
            models.CheckConstraint(name="intent_status_valid", condition=Q(status__in=IntentStatus.values)),
            models.CheckConstraint(name="intent_priority_valid", condition=Q(priority__in=IntentPriority.values)),
        ]

    def __str__(self):
        return self.title

    @property
    def is_terminal(self):
        return self.status in TERMINAL

    def can_become(self, status):
        return status in TRANSITIONS[IntentStatus(self.status)]


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
