"""Agent memory (RFC-0015): entries in three tiers, the grants that share them, the permissions of semantic
namespaces, and the log of what happened to entries.

Agents are named by their ``agent_id`` string, as everywhere in the protocol: memory needs no registry record."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class MemoryType(models.TextChoices):
    WORKING = "working"
    EPISODIC = "episodic"
    SEMANTIC = "semantic"


class MemoryPriority(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class MemorySensitivity(models.TextChoices):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


# The sensitivities whose values the admin never shows.
MASKED_SENSITIVITIES = frozenset({MemorySensitivity.CONFIDENTIAL, MemorySensitivity.RESTRICTED})


class Access(models.TextChoices):
    """What a grant or a namespace permission allows, each level including the ones before it."""

    NONE = "none"
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


ACCESS_RANK = {Access.NONE: 0, Access.READ: 1, Access.WRITE: 2, Access.ADMIN: 3}


class MemoryEntryQuerySet(models.QuerySet):
    def live(self, now=None):
        """Entries not past their expiry: reads never return an expired entry, even before the sweep removes it."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now or timezone.now()))

    def expired(self, now=None):
        return self.filter(expires_at__lte=now or timezone.now())


class MemoryEntry(models.Model):
    """One key-value record of an agent's memory.

    ``(agent_id, namespace, key)`` is unique among working and episodic entries, ``(namespace, key)`` among semantic
    ones (RFC-0015 §1.2): two partial unique constraints, so that of two racing creates the database keeps one.
    ``task_id``, ``intent_id`` and ``role_id`` copy ``scope.task_id``, ``scope.intent_id`` and
    ``scope.agent_role_id`` into columns a query can use."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent_id = models.CharField(max_length=200)
    namespace = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    value = models.JSONField(default=dict)
    value_bytes = models.PositiveIntegerField(default=0, help_text="Size of the value as compact JSON.")
    memory_type = models.CharField(max_length=20, choices=MemoryType.choices, default=MemoryType.WORKING)
    version = models.PositiveIntegerField(default=1)
    scope = models.JSONField(null=True, blank=True)
    task_id = models.CharField(max_length=200, blank=True, default="")
    intent_id = models.CharField(max_length=200, blank=True, default="")
    role_id = models.CharField(max_length=200, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    ttl = models.CharField(max_length=50, null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    pinned = models.BooleanField(default=False)
    priority = models.CharField(max_length=10, choices=MemoryPriority.choices, default=MemoryPriority.NORMAL)
    sensitivity = models.CharField(max_length=20, choices=MemorySensitivity.choices, null=True, blank=True)
    curated_by = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_accessed_at = models.DateTimeField(default=timezone.now)

    objects = MemoryEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "memory entry"
        verbose_name_plural = "memory entries"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent_id", "namespace", "key"],
                condition=~Q(memory_type="semantic"),
                name="memory_unique_agent_namespace_key",
            ),
            models.UniqueConstraint(
                fields=["namespace", "key"], condition=Q(memory_type="semantic"), name="memory_unique_semantic_key"
            ),
        ]
        indexes = [
            # An agent's entries in insertion order: every list without filters, and the paging of any list.
            models.Index(fields=["agent_id", "created_at", "id"], name="memory_agent_created"),
            # Namespace and key, exact or by prefix (LIKE 'x%' needs the pattern operator class on PostgreSQL).
            models.Index(
                fields=["agent_id", "namespace", "key"],
                opclasses=["varchar_pattern_ops"] * 3,
                name="memory_agent_namespace_key",
            ),
            models.Index(
                fields=["namespace", "key"], opclasses=["varchar_pattern_ops"] * 2, name="memory_namespace_key"
            ),
            models.Index(fields=["agent_id", "memory_type", "created_at"], name="memory_agent_tier"),
            # Eviction: an agent's least recently used entries of a tier.
            models.Index(fields=["agent_id", "memory_type", "last_accessed_at"], name="memory_agent_tier_access"),
            models.Index(fields=["task_id"], condition=~Q(task_id=""), name="memory_task"),
            models.Index(fields=["intent_id"], condition=~Q(intent_id=""), name="memory_intent"),
            models.Index(fields=["role_id"], condition=~Q(role_id=""), name="memory_role"),
            models.Index(fields=["expires_at"], condition=Q(expires_at__isnull=False), name="memory_expiry"),
        ]

    def __str__(self):
        return f"{self.agent_id}: {self.namespace}/{self.key}"

    @property
    def is_masked(self):
        return self.sensitivity in MASKED_SENSITIVITIES


class MemoryTag(models.Model):
    """One tag of one entry: a row per tag, so that a query for entries holding all of several tags is a few index
    lookups on any database (a JSON column offers that on PostgreSQL only)."""

    entry = models.ForeignKey(MemoryEntry, on_delete=models.CASCADE, related_name="tag_rows")
    agent_id = models.CharField(max_length=200)
    tag = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "tag"], name="memory_tag_once_per_entry")]
        indexes = [models.Index(fields=["tag", "agent_id", "entry"], name="memory_tag_lookup")]

    def __str__(self):
        return self.tag


class MemoryGrant(models.Model):
    """An agent's explicit share of its working and episodic memory with another agent (RFC-0015 §2.1, "unless
    explicitly granted"): read, or read and write; limited to one namespace (or a prefix ending in ``*``) and one
    tier when those are given."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.CharField(max_length=200, help_text="The agent whose memory is shared.")
    grantee_id = models.CharField(max_length=200, help_text="The agent it is shared with.")
    access = models.CharField(
        max_length=10, choices=[(Access.READ, "read"), (Access.WRITE, "write")], default=Access.READ
    )
    namespace = models.CharField(max_length=255, blank=True, default="", help_text="Empty: every namespace.")
    memory_type = models.CharField(
        max_length=20,
        choices=[(MemoryType.WORKING, "working"), (MemoryType.EPISODIC, "episodic")],
        blank=True,
        default="",
        help_text="Empty: both agent-owned tiers.",
    )
    granted_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner_id", "grantee_id", "namespace", "memory_type"], name="memory_grant_once"
            )
        ]
        indexes = [models.Index(fields=["grantee_id", "owner_id"], name="memory_grant_grantee")]

    def __str__(self):
        return f"{self.owner_id} → {self.grantee_id} ({self.access})"


class MemoryNamespace(models.Model):
    """The permissions of a semantic namespace (RFC-0015 §2.3): a default for every caller and per-agent
    exceptions, ``allow = [{"agent": ..., "access": "read" | "write" | "admin"}]``. A namespace without a row has the
    default of the setting ``OPENINTENT_MEMORY_SEMANTIC_DEFAULT_ACCESS``."""

    namespace = models.CharField(max_length=255, primary_key=True)
    default = models.CharField(max_length=10, choices=Access.choices, default=Access.READ)
    allow = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.CharField(max_length=200)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["namespace"]

    def __str__(self):
        return self.namespace

    def access_of(self, agent_id):
        """The access ``agent_id`` has: the highest of the default and its own entries."""
        levels = [self.default] + [item["access"] for item in self.allow if item.get("agent") == agent_id]
        return max(levels, key=ACCESS_RANK.__getitem__)


class MemoryEventType(models.TextChoices):
    CREATED = "memory.created"
    UPDATED = "memory.updated"
    DELETED = "memory.deleted"
    EVICTED = "memory.evicted"
    EXPIRED = "memory.expired"


class MemoryEvent(models.Model):
    """What happened to an entry (RFC-0015 §5): the agent's memory log, kept whether or not the entry names an
    intent (one that does is also written on that intent's log). Values are never logged."""

    id = models.BigAutoField(primary_key=True)
    agent_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=30, choices=MemoryEventType.choices)
    entry_id = models.UUIDField()
    intent_id = models.CharField(max_length=200, blank=True, default="")
    actor = models.CharField(max_length=200)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["agent_id", "id"], name="memory_event_agent")]

    def __str__(self):
        return f"{self.event_type} {self.entry_id}"
