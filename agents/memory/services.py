"""Agent memory (RFC-0015): create, read, update and delete entries; query them; keep each tier within its
capacity; remove expired entries; share memory by grant; set semantic namespace permissions. Every change is logged
(``MemoryEvent``, and the log of the intent an entry's scope names).

Concurrency is the database's: a duplicate create is refused by the unique constraints, an update is one
``UPDATE ... WHERE version = <expected>``, and the capacity of an agent's tier is counted under a per-agent lock
(a transaction-scoped advisory lock on PostgreSQL; SQLite runs one writing transaction at a time anyway)."""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, IntegerField, Max, Min, Q, Sum, Value, When
from django.utils import timezone

from intents.access.models import PERMISSION_RANK, Permission
from intents.access.policy import permission_of
from intents.core.models import Intent
from intents.core.services import as_uuid
from openintent_site.api import compact_json_size, wire_datetime
from openintent_site.errors import Conflict, DomainError, InvalidInput, LimitReached, NotAllowed, NotFound
from openintent_site.events import SYSTEM_ACTOR, EventType, append_event

from . import ttl as ttls
from .access import at_least
from .models import (
    Access,
    MemoryEntry,
    MemoryEvent,
    MemoryEventType,
    MemoryGrant,
    MemoryNamespace,
    MemoryPriority,
    MemoryTag,
    MemoryType,
)

logger = logging.getLogger(__name__)

NOT_FOUND = "Memory entry not found"
# 0.9.1's words for a refused update, whether the entry is unknown or its version stale; its client raises
# ConflictError for both.
VERSION_CONFLICT = "Version conflict or entry not found"


class CapacityExceeded(LimitReached):
    """A tier of memory is full and nothing in it may be evicted (RFC-0015 §9.4: "429 Memory Capacity Exceeded")."""

    def __init__(self, memory_type, current_count, max_capacity, why, **details):
        super().__init__(
            f"Memory Capacity Exceeded: {why}",
            memory_type=str(memory_type),
            current_count=current_count,
            max_capacity=max_capacity,
            **details,
        )


class EntryExists(Conflict):
    """A create for a ``(agent_id, namespace, key)`` (or semantic ``(namespace, key)``) that is taken."""

    def __init__(self, existing, caller):
        details = {"entry_id": str(existing.pk), "current_version": existing.version}
        if caller.may_read(existing):
            details["current"] = existing
        super().__init__("Memory entry already exists", **details)


# The log ---------------------------------------------------------------------------------------------------------


def log(event_type, entry, actor, **extra):
    """Record what happened to ``entry`` in the agent's memory log, and on the log of the intent its scope names
    when that intent exists and the entry's agent may write to it (a scope is the writer's word: it must not put
    events on the log of an intent its agent could not write to). The value is never logged (RFC-0015 §5.2)."""
    data = {
        "entry_id": str(entry.pk),
        "agent_id": entry.agent_id,
        "namespace": entry.namespace,
        "key": entry.key,
        "memory_type": entry.memory_type,
        "version": entry.version,
        "tags": list(entry.tags),
        **extra,
    }
    if entry.task_id:
        data["task_id"] = entry.task_id
    MemoryEvent.objects.create(
        agent_id=entry.agent_id,
        event_type=event_type,
        entry_id=entry.pk,
        intent_id=entry.intent_id,
        actor=actor,
        data=data,
    )
    intent_pk = as_uuid(entry.intent_id) if entry.intent_id else None
    intent = Intent.objects.filter(pk=intent_pk).first() if intent_pk is not None else None
    if (
        intent is not None
        and PERMISSION_RANK[permission_of(intent, entry.agent_id)] >= PERMISSION_RANK[Permission.WRITE]
    ):
        append_event(intent.pk, EventType(str(event_type)), actor, data)


# Capacity ------------------------------------------------------------------------------------------------------


def lock_tier(agent_id, memory_type, namespace):
    """Serialise the capacity checks of one agent's tier (of one semantic namespace) until the transaction ends."""
    if connection.vendor != "postgresql":
        return
    owner = namespace if memory_type == MemoryType.SEMANTIC else agent_id
    digest = hashlib.sha256(f"openintent-memory:{memory_type}:{owner}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])


# Lower priorities are evicted first, then the least recently read or written (RFC-0015 §2.2).
EVICTION_ORDER = Case(
    When(priority=MemoryPriority.LOW, then=Value(0)),
    When(priority=MemoryPriority.NORMAL, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def make_room(entry, actor, now):
    """Before ``entry`` is added: refuse it when its tier is full (working, semantic), or evict the least recently
    used unpinned episodic entries to make room for it."""
    live = MemoryEntry.objects.live(now)
    if entry.memory_type == MemoryType.WORKING:
        capacity = settings.OPENINTENT_MEMORY_WORKING_CAPACITY
        count = live.filter(agent_id=entry.agent_id, memory_type=MemoryType.WORKING).count()
        if count >= capacity:
            raise CapacityExceeded(
                MemoryType.WORKING, count, capacity, f"agent '{entry.agent_id}' holds {count} working entries"
            )
        per_task = settings.OPENINTENT_MEMORY_WORKING_CAPACITY_PER_TASK
        if entry.task_id:
            count = live.filter(agent_id=entry.agent_id, memory_type=MemoryType.WORKING, task_id=entry.task_id).count()
            if count >= per_task:
                raise CapacityExceeded(
                    MemoryType.WORKING,
                    count,
                    per_task,
                    f"task '{entry.task_id}' holds {count} working entries of agent '{entry.agent_id}'",
                    task_id=entry.task_id,
                )
    elif entry.memory_type == MemoryType.SEMANTIC:
        capacity = settings.OPENINTENT_MEMORY_SEMANTIC_CAPACITY
        count = live.filter(memory_type=MemoryType.SEMANTIC, namespace=entry.namespace).count()
        if count >= capacity:
            raise CapacityExceeded(
                MemoryType.SEMANTIC, count, capacity, f"namespace '{entry.namespace}' holds {count} entries"
            )
    else:
        evict_for(entry.agent_id, 1, actor, now)


def evict_for(agent_id, needed, actor, now):
    """Evict as many of ``agent_id``'s episodic entries as it takes to add ``needed`` more within the capacity."""
    capacity = settings.OPENINTENT_MEMORY_EPISODIC_CAPACITY
    episodic = MemoryEntry.objects.live(now).filter(agent_id=agent_id, memory_type=MemoryType.EPISODIC)
    count = episodic.count()
    excess = count + needed - capacity
    if excess <= 0:
        return 0
    victims = list(
        episodic.filter(pinned=False)
        .annotate(rank=EVICTION_ORDER)
        .order_by("rank", "last_accessed_at", "created_at", "id")[:excess]
    )
    if len(victims) < excess:
        raise CapacityExceeded(
            MemoryType.EPISODIC,
            count,
            capacity,
            f"agent '{agent_id}' holds {count} episodic entries and only {len(victims)} are unpinned",
        )
    for victim in victims:
        log(
            MemoryEventType.EVICTED,
            victim,
            SYSTEM_ACTOR,
            reason="capacity",
            capacity=capacity,
            last_accessed_at=wire_datetime(victim.last_accessed_at),
        )
    MemoryEntry.objects.filter(pk__in=[victim.pk for victim in victims]).delete()
    logger.info("evicted %d episodic memory entries of agent %s (capacity %d)", len(victims), agent_id, capacity)
    return len(victims)


# Entries ---------------------------------------------------------------------------------------------------------


def same_key(memory_type, agent_id, namespace, key):
    """The filter of the entries a new one with these fields would collide with."""
    if memory_type == MemoryType.SEMANTIC:
        return Q(memory_type=MemoryType.SEMANTIC, namespace=namespace, key=key)
    return Q(agent_id=agent_id, namespace=namespace, key=key) & ~Q(memory_type=MemoryType.SEMANTIC)


def scope_columns(scope):
    scope = scope or {}
    return {
        "task_id": scope.get("task_id") or "",
        "intent_id": scope.get("intent_id") or "",
        "role_id": scope.get("agent_role_id") or "",
    }


def write_tags(entry, replace=False):
    if replace:
        MemoryTag.objects.filter(entry=entry).delete()
    MemoryTag.objects.bulk_create(
        [MemoryTag(entry=entry, agent_id=entry.agent_id, tag=tag) for tag in dict.fromkeys(entry.tags)]
    )


def create_entry(caller, data):
    """A new entry in the acting agent's memory (or in another agent's that granted the caller write access)."""
    with transaction.atomic():
        return add_entry(caller, data, timezone.now())


def add_entry(caller, data, now):
    memory_type = data["memory_type"]
    agent_id = data.get("agent_id") or caller.id
    columns = scope_columns(data.get("scope"))
    if memory_type == MemoryType.SEMANTIC and agent_id != caller.id:
        raise NotAllowed(
            f"Semantic entries are written in the writer's own name: agent_id must be '{caller.id}'",
            agent_id=agent_id,
        )
    if not caller.may_write_as(agent_id, memory_type, data["namespace"], columns["role_id"]):
        if memory_type == MemoryType.SEMANTIC:
            raise NotAllowed(f"Writing to semantic namespace '{data['namespace']}' is not allowed for '{caller.id}'")
        raise NotAllowed(
            f"Memory of agent '{agent_id}' is written by that agent only (act as it with X-Agent-ID, or be granted "
            "write access)",
            agent_id=agent_id,
        )
    tags = list(dict.fromkeys(data.get("tags") or []))
    entry = MemoryEntry(
        agent_id=agent_id,
        namespace=data["namespace"],
        key=data["key"],
        value=data["value"],
        value_bytes=compact_json_size(data["value"]),
        memory_type=memory_type,
        scope=data.get("scope"),
        tags=tags,
        ttl=data.get("ttl"),
        expires_at=ttls.expiry(data.get("ttl"), data.get("expires_at"), now),
        pinned=data.get("pinned", False),
        priority=data.get("priority") or MemoryPriority.NORMAL,
        sensitivity=data.get("sensitivity"),
        curated_by=caller.id if memory_type == MemoryType.SEMANTIC else None,
        created_at=now,
        updated_at=now,
        last_accessed_at=now,
        **columns,
    )
    lock_tier(agent_id, memory_type, entry.namespace)
    # An expired entry still holding the key (the sweep has not reached it) gives way to the new one; locked, so
    # that a sweep removing it at the same moment is waited for rather than logged twice.
    holding = same_key(memory_type, agent_id, entry.namespace, entry.key)
    for stale in MemoryEntry.objects.expired(now).select_for_update().filter(holding):
        expire(stale)
    make_room(entry, caller.id, now)
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
    except IntegrityError:
        existing = MemoryEntry.objects.filter(same_key(memory_type, agent_id, entry.namespace, entry.key)).first()
        if existing is None:
            # The entry in the way was deleted between the refused insert and this read.
            raise Conflict("Memory entry already exists") from None
        raise EntryExists(existing, caller) from None
    write_tags(entry)
    log(MemoryEventType.CREATED, entry, caller.id)
    return entry


def find_readable(caller, entry_id, now=None):
    pk = as_uuid(entry_id)
    entry = MemoryEntry.objects.live(now).filter(pk=pk).first() if pk else None
    if entry is None or not caller.may_read(entry):
        return None
    return entry


def get_entry(caller, entry_id):
    entry = find_readable(caller, entry_id)
    if entry is None:
        raise NotFound(NOT_FOUND)
    touch([entry])
    return entry


def touch(entries, now=None):
    """Record a read of episodic ``entries``, for LRU eviction. One UPDATE at most, and only for entries whose
    recorded access is older than ``OPENINTENT_MEMORY_ACCESS_RESOLUTION_SECONDS``: a read does not write each
    time, and the order of eviction is exact to that resolution."""
    now = now or timezone.now()
    threshold = now - timedelta(seconds=settings.OPENINTENT_MEMORY_ACCESS_RESOLUTION_SECONDS)
    stale = [e for e in entries if e.memory_type == MemoryType.EPISODIC and e.last_accessed_at <= threshold]
    if stale:
        MemoryEntry.objects.filter(pk__in=[e.pk for e in stale]).update(last_accessed_at=now)
        for entry in stale:
            entry.last_accessed_at = now


def refuse_write(caller, entry):
    if not caller.may_write(entry):
        raise NotAllowed(
            f"Memory of agent '{entry.agent_id}' is written by that agent only"
            if entry.memory_type != MemoryType.SEMANTIC
            else f"Writing to semantic namespace '{entry.namespace}' is not allowed for '{caller.id}'",
            agent_id=entry.agent_id,
        )


def changed_fields(changes, now):
    """The columns an update writes: fields sent as null or left out are unchanged (as in 0.9.1)."""
    fields = {name: value for name, value in changes.items() if value is not None}
    if "value" in fields:
        fields["value_bytes"] = compact_json_size(fields["value"])
    if "tags" in fields:
        fields["tags"] = list(dict.fromkeys(fields["tags"]))
    if "ttl" in fields and "expires_at" not in fields:
        fields["expires_at"] = ttls.expiry(fields["ttl"], None, now)
    return fields


def update_entry(caller, entry_id, expected_version, changes):
    """Apply ``changes`` if the entry is still at ``expected_version``; 409 with its current version and state
    otherwise. The version check and the write are one statement."""
    with transaction.atomic():
        return change_entry(caller, entry_id, expected_version, changes, timezone.now())


def change_entry(caller, entry_id, expected_version, changes, now):
    entry = find_readable(caller, entry_id, now)
    if entry is None:
        raise Conflict(VERSION_CONFLICT)
    refuse_write(caller, entry)
    fields = changed_fields(changes, now)
    updated = (
        MemoryEntry.objects.live(now)
        .filter(pk=entry.pk, version=expected_version)
        .update(version=F("version") + 1, updated_at=now, last_accessed_at=now, **fields)
    )
    if not updated:
        current = MemoryEntry.objects.live(now).filter(pk=entry.pk).first()
        if current is None:
            raise Conflict(VERSION_CONFLICT)
        raise Conflict(VERSION_CONFLICT, current_version=current.version, current=current)
    entry.refresh_from_db()
    if "tags" in fields:
        write_tags(entry, replace=True)
    log(MemoryEventType.UPDATED, entry, caller.id, previous_version=expected_version)
    return entry


@transaction.atomic
def delete_entry(caller, entry_id, expected_version=None):
    """Delete an entry at once and for good (RFC-0015 §9.3); with ``expected_version``, only at that version."""
    entry = find_readable(caller, entry_id)
    if entry is None:
        raise NotFound(NOT_FOUND)
    refuse_write(caller, entry)
    doomed = MemoryEntry.objects.filter(pk=entry.pk)
    if expected_version is not None:
        doomed = doomed.filter(version=expected_version)
    if not doomed.delete()[0]:
        current = MemoryEntry.objects.filter(pk=entry.pk).first()
        if current is None:
            raise NotFound(NOT_FOUND)
        raise Conflict(VERSION_CONFLICT, current_version=current.version, current=current)
    log(MemoryEventType.DELETED, entry, caller.id)
    return entry


def expire(entry):
    log(MemoryEventType.EXPIRED, entry, SYSTEM_ACTOR, expired_at=wire_datetime(entry.expires_at))
    MemoryEntry.objects.filter(pk=entry.pk).delete()


def expire_entries(batch_size=500):
    """Remove every entry past its expiry, logging ``memory.expired`` for each. Safe in several workers at once:
    each batch skips the rows another worker has locked."""
    total = 0
    while True:
        with transaction.atomic():
            now = timezone.now()
            batch = list(
                MemoryEntry.objects.expired(now).select_for_update(skip_locked=True).order_by("expires_at")[:batch_size]
            )
            for entry in batch:
                expire(entry)
        total += len(batch)
        if len(batch) < batch_size:
            if total:
                logger.info("removed %d expired memory entries", total)
            return total


# Queries ---------------------------------------------------------------------------------------------------------


def query(
    caller,
    *,
    agent_id=None,
    namespace=None,
    key=None,
    key_prefix=None,
    memory_type=None,
    tags=(),
    tags_any=(),
    task_id=None,
    intent_id=None,
    role_id=None,
    pinned=None,
    updated_after=None,
    updated_before=None,
    writable=False,
):
    """The live entries the caller may read (with ``writable``, write) that match every filter given, in the order
    they were created. ``namespace`` ending in ``*`` is a prefix; ``tags`` must all be held, one of ``tags_any``."""
    entries = MemoryEntry.objects.live().filter(caller.writable() if writable else caller.readable())
    if agent_id is not None:
        entries = entries.filter(agent_id=agent_id)
    if namespace:
        entries = entries.filter(
            prefix_q("namespace", namespace[:-1]) if namespace.endswith("*") else Q(namespace=namespace)
        )
    if key is not None:
        entries = entries.filter(key=key)
    if key_prefix:
        entries = entries.filter(prefix_q("key", key_prefix))
    if memory_type:
        entries = entries.filter(memory_type=memory_type)
    tagged = MemoryTag.objects.filter(agent_id=agent_id) if agent_id is not None else MemoryTag.objects.all()
    for tag in dict.fromkeys(tags):
        entries = entries.filter(pk__in=tagged.filter(tag=tag).values("entry_id"))
    if tags_any:
        entries = entries.filter(pk__in=tagged.filter(tag__in=list(tags_any)).values("entry_id"))
    for column, wanted in (("task_id", task_id), ("intent_id", intent_id), ("role_id", role_id)):
        if wanted:
            entries = entries.filter(**{column: wanted})
    if pinned is not None:
        entries = entries.filter(pinned=pinned)
    if updated_after is not None:
        entries = entries.filter(updated_at__gt=updated_after)
    if updated_before is not None:
        entries = entries.filter(updated_at__lt=updated_before)
    return entries.order_by("created_at", "id")


def prefix_q(field, prefix):
    """Values of ``field`` starting with ``prefix``, case-sensitively. SQLite's LIKE ignores case and uses no index
    for it; its binary order makes a range exact there. PostgreSQL's LIKE is exact and uses the pattern indexes (a
    range would not be exact under a linguistic collation)."""
    if connection.vendor == "sqlite":
        return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"})
    return Q(**{f"{field}__startswith": prefix})


def page(entries, limit, offset):
    """One page of a query, its reads recorded (for LRU eviction)."""
    found = list(entries[offset : offset + limit])
    touch(found)
    return found


@transaction.atomic
def delete_matching(caller, limit, **filters):
    """Delete the entries matching ``filters`` that the caller may write, at most ``limit`` of them; returns the
    deleted entries and whether more remain."""
    entries = list(query(caller, writable=True, **filters)[: limit + 1])
    more = len(entries) > limit
    entries = entries[:limit]
    for entry in entries:
        log(MemoryEventType.DELETED, entry, caller.id)
    MemoryEntry.objects.filter(pk__in=[entry.pk for entry in entries]).delete()
    return entries, more


# Batches ---------------------------------------------------------------------------------------------------------


@transaction.atomic
def write_batch(caller, items):
    """Create or update several entries, all or none. An item with ``version`` updates the entry it names (by
    ``id``, or by its agent, namespace and key) at that version; any other item creates one. A refusal names the
    item by ``index``."""
    now = timezone.now()
    written = []
    for index, item in enumerate(items):
        try:
            written.append(write_item(caller, item, now))
        except DomainError as error:
            if isinstance(error, InvalidInput):
                for detail in error.errors:
                    detail["loc"] = ["body", "entries", index, *detail["loc"][1:]]
            else:
                error.details["index"] = index
            raise
    return written


def write_item(caller, item, now):
    version = item.pop("version", None)
    entry_id = item.pop("id", None)
    if version is None:
        if entry_id is not None:
            raise InvalidInput.field(["body", "version"], "An item naming an entry by id updates it: give its version")
        return add_entry(caller, item, now)
    if entry_id is None:
        agent_id = item.get("agent_id") or caller.id
        target = (
            MemoryEntry.objects.live(now)
            .filter(same_key(item["memory_type"], agent_id, item["namespace"], item["key"]))
            .first()
        )
        entry_id = str(target.pk) if target is not None else None
    if entry_id is None:
        raise Conflict(VERSION_CONFLICT)
    changes = {name: item.get(name) for name in UPDATABLE}
    return change_entry(caller, entry_id, version, changes, now)


# What an update may change; the rest (tier, namespace, key, scope) is fixed at creation, as in 0.9.1.
UPDATABLE = ("value", "tags", "pinned", "priority", "ttl", "sensitivity", "expires_at")


# Summary ---------------------------------------------------------------------------------------------------------


def summary(caller, agent_id):
    """Counts, sizes and capacities of an agent's memory (the agent itself, or an administrator)."""
    if agent_id != caller.id and not caller.is_administrator:
        raise NotAllowed(f"Only agent '{agent_id}' (or an administrator) may read its memory summary")
    live = MemoryEntry.objects.live().filter(agent_id=agent_id)
    tiers = {
        row["memory_type"]: row
        for row in live.values("memory_type").annotate(
            entry_count=Count("id"),
            total_bytes=Sum("value_bytes"),
            pinned_count=Count("id", filter=Q(pinned=True)),
            oldest=Min("created_at"),
            newest=Max("created_at"),
        )
    }

    def tier(memory_type):
        row = tiers.get(memory_type, {})
        return {
            "entry_count": row.get("entry_count", 0),
            "total_size_kb": round((row.get("total_bytes") or 0) / 1024, 1),
            "pinned_count": row.get("pinned_count", 0),
            "oldest_entry": wire_datetime(row["oldest"]) if row.get("oldest") else None,
            "newest_entry": wire_datetime(row["newest"]) if row.get("newest") else None,
        }

    working = tier(MemoryType.WORKING)
    working["capacity"] = settings.OPENINTENT_MEMORY_WORKING_CAPACITY
    working["capacity_per_task"] = settings.OPENINTENT_MEMORY_WORKING_CAPACITY_PER_TASK
    working["tasks_with_memory"] = list(
        live.filter(memory_type=MemoryType.WORKING)
        .exclude(task_id="")
        .order_by("task_id")
        .values_list("task_id", flat=True)
        .distinct()
    )
    episodic = tier(MemoryType.EPISODIC)
    episodic["capacity"] = settings.OPENINTENT_MEMORY_EPISODIC_CAPACITY
    return {
        "agent_id": agent_id,
        "working": working,
        "episodic": episodic,
        "semantic": tier(MemoryType.SEMANTIC),
        "semantic_namespaces_accessible": [row["namespace"] for row in namespaces(caller)],
    }


# Semantic namespaces ---------------------------------------------------------------------------------------------


def namespace_view(caller, namespace, row, entry_count):
    permissions = (
        {"default": row.default, "allow": row.allow}
        if row is not None
        else {"default": settings.OPENINTENT_MEMORY_SEMANTIC_DEFAULT_ACCESS, "allow": []}
    )
    return {
        "namespace": namespace,
        "permissions": permissions,
        "configured": row is not None,
        "version": row.version if row is not None else 0,
        "access": caller.namespace_access(namespace),
        "entry_count": entry_count,
        "updated_at": wire_datetime(row.updated_at) if row is not None else None,
        "updated_by": row.updated_by if row is not None else None,
    }


def namespaces(caller):
    """The semantic namespaces the caller may read (every one, for an administrator): those holding entries and
    those with permissions of their own."""
    counts = dict(
        MemoryEntry.objects.live()
        .filter(memory_type=MemoryType.SEMANTIC)
        .values_list("namespace")
        .annotate(count=Count("id"))
        .values_list("namespace", "count")
    )
    rows = {row.namespace: row for row in MemoryNamespace.objects.all()}
    return [
        namespace_view(caller, name, rows.get(name), counts.get(name, 0))
        for name in sorted(set(counts) | set(rows))
        if caller.is_administrator or at_least(caller.namespace_access(name), Access.READ)
    ]


def get_namespace(caller, namespace):
    row = MemoryNamespace.objects.filter(namespace=namespace).first()
    count = MemoryEntry.objects.live().filter(memory_type=MemoryType.SEMANTIC, namespace=namespace).count()
    if row is None and count == 0:
        raise NotFound("Memory namespace not found")
    if not caller.is_administrator and not at_least(caller.namespace_access(namespace), Access.READ):
        raise NotAllowed(f"Reading semantic namespace '{namespace}' is not allowed for '{caller.id}'")
    return namespace_view(caller, namespace, row, count)


@transaction.atomic
def set_namespace_permissions(caller, namespace, default, allow, expected_version=None):
    """Set a semantic namespace's permissions (RFC-0015 §2.3): administrators, and agents with ``admin`` access to
    it. With ``expected_version`` the change applies only to that version of the permissions (0 for none yet)."""
    row = MemoryNamespace.objects.select_for_update().filter(namespace=namespace).first()
    if not caller.is_administrator and caller.namespace_access(namespace) != Access.ADMIN:
        raise NotAllowed(f"Only administrators and agents with admin access may set the permissions of '{namespace}'")
    current = row.version if row is not None else 0
    if expected_version is not None and expected_version != current:
        raise Conflict(VERSION_CONFLICT.replace("entry", "namespace"), current_version=current)
    now = timezone.now()
    if row is None:
        row = MemoryNamespace(namespace=namespace, version=0)
    row.default, row.allow, row.updated_by, row.updated_at = default, allow, caller.id, now
    row.version += 1
    row.save()
    count = MemoryEntry.objects.live().filter(memory_type=MemoryType.SEMANTIC, namespace=namespace).count()
    caller.__dict__.pop("configured_namespaces", None)
    return namespace_view(caller, namespace, row, count)


# Grants ----------------------------------------------------------------------------------------------------------


def refuse_unless_owner(caller, owner_id, reading=False):
    if owner_id == caller.id or (reading and caller.is_administrator):
        return
    raise NotAllowed(f"Only agent '{owner_id}' may share its memory", agent_id=owner_id)


@transaction.atomic
def grant(caller, owner_id, grantee_id, access, namespace, memory_type, expires_at):
    """Share the owner's memory with ``grantee_id`` (the owner only). Granting the same agent the same namespace and
    tier again replaces the access and expiry."""
    refuse_unless_owner(caller, owner_id)
    if grantee_id == owner_id:
        raise InvalidInput.field(["body", "agent_id"], "An agent cannot be granted its own memory", grantee_id)
    found, _ = MemoryGrant.objects.update_or_create(
        owner_id=owner_id,
        grantee_id=grantee_id,
        namespace=namespace,
        memory_type=memory_type,
        defaults={"access": access, "expires_at": expires_at, "granted_by": caller.id, "created_at": timezone.now()},
    )
    return found


def grants_of(caller, owner_id):
    refuse_unless_owner(caller, owner_id, reading=True)
    return list(MemoryGrant.objects.filter(owner_id=owner_id))


@transaction.atomic
def revoke(caller, owner_id, grant_id):
    refuse_unless_owner(caller, owner_id)
    pk = as_uuid(grant_id)
    deleted = MemoryGrant.objects.filter(pk=pk, owner_id=owner_id).delete()[0] if pk else 0
    if not deleted:
        raise NotFound("Memory grant not found")


def events_of(caller, agent_id):
    if agent_id != caller.id and not caller.is_administrator:
        raise NotAllowed(f"Only agent '{agent_id}' (or an administrator) may read its memory log")
    return MemoryEvent.objects.filter(agent_id=agent_id).order_by("-id")
