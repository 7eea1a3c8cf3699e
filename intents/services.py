"""The rules of intents, graphs and leases. Views call these; each write is one transaction with its events."""

import uuid
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from governance.access import require
from governance.models import Permission
from openintent_site.api import wire_datetime
from openintent_site.errors import (
    Conflict,
    Forbidden,
    LeaseConflict,
    NotFound,
    ProtocolError,
    SchemaError,
    VersionConflict,
)

from .models import (
    TERMINAL,
    TRANSITIONS,
    AgentAssignment,
    Intent,
    IntentDependency,
    IntentEvent,
    IntentStatus,
    Lease,
    LeaseStatus,
)
from .patches import PatchError, apply_patches, scopes_touched
from .serializers import LeaseSerializer
from .signals import event_committed

SYSTEM_ACTOR = "system"

# Event types the server writes itself; clients cannot post them, so the log cannot be forged.
SERVER_EVENT_TYPES = frozenset(
    {
        "intent_created",
        "state_patched",
        "status_changed",
        "agent_assigned",
        "agent_unassigned",
        "dependency_added",
        "dependency_removed",
        "lease_acquired",
        "lease_released",
        "added_to_portfolio",
        "removed_from_portfolio",
    }
)


def append_event(intent_id, event_type, actor, payload=None):
    """The one way an entry gets into an intent's log. Call it inside the write's transaction.

    Listeners of ``event_committed`` hear of the event only once that transaction commits."""
    event = IntentEvent.objects.create(intent_id=intent_id, event_type=event_type, actor=actor, payload=payload or {})
    transaction.on_commit(lambda: event_committed.send(sender=IntentEvent, event=event))
    return event


# Reading -----------------------------------------------------------------------------------------------------


def as_uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def get_intent(intent_id, message="Intent not found", lock=False, principal_id=None, needs=None):
    """The intent, locked for update when asked; with ``needs``, only if ``principal_id`` holds that permission."""
    pk = as_uuid(intent_id)
    queryset = Intent.objects.select_related("access_policy")
    if lock:
        # NO KEY UPDATE: it still serialises writers of the intent, but lets other transactions insert rows that
        # reference it (events, leases), which would otherwise deadlock against a holder of such a row.
        queryset = queryset.select_for_update(of=("self",), no_key=True)
    try:
        # get() rather than first(): a primary-key lookup needs no ORDER BY, and this runs on every intent route.
        intent = queryset.get(pk=pk) if pk else None
    except Intent.DoesNotExist:
        intent = None
    if intent is None:
        raise NotFound(message)
    if needs is not None:
        require(intent, principal_id, needs)
    return intent


def find_intents(ids):
    """The existing intents among ``ids``, in the order given; unknown or malformed ids are left out."""
    pks = [pk for pk in (as_uuid(value) for value in ids) if pk]
    if not pks:
        return []
    found = {intent.pk: intent for intent in Intent.objects.filter(pk__in=pks)}
    return [found[pk] for pk in pks if pk in found]


def unfinished_dependencies(intent):
    return list(
        Intent.objects.filter(dependent_links__intent=intent)
        .exclude(status=IntentStatus.COMPLETED)
        .values_list("id", flat=True)
    )


def unfinished_children(intent):
    return list(intent.children.exclude(status__in=TERMINAL).values_list("id", flat=True))


# Versioned writes --------------------------------------------------------------------------------------------


def lock_for_write(intent_id, expected_version, actor, needs=Permission.WRITE):
    intent = get_intent(intent_id, lock=True, principal_id=actor, needs=needs)
    if intent.version != expected_version:
        raise VersionConflict(intent.version)
    refuse_if_finished(intent)
    return intent


def refuse_if_finished(intent):
    if intent.is_terminal:
        raise Conflict(f"Intent is {intent.status}; it accepts no further changes", current_status=intent.status)


def set_status(intent, status, actor, reason, bump_version):
    """Move ``intent`` (locked) to ``status`` and log it with the reason."""
    previous = intent.status
    intent.status = status
    intent.updated_at = timezone.now()
    fields = ["status", "updated_at"]
    if bump_version:
        intent.version += 1
        fields.append("version")
    intent.save(update_fields=fields)
    payload = {"status": status, "previous_status": previous, "version": intent.version}
    if reason:
        payload["reason"] = reason
    append_event(intent.pk, "status_changed", actor, payload)


def begin_work(intent, actor, reason):
    """A draft intent becomes active (blocked if a dependency is unfinished) once work begins on it."""
    if intent.status == IntentStatus.DRAFT:
        status = IntentStatus.BLOCKED if unfinished_dependencies(intent) else IntentStatus.ACTIVE
        set_status(intent, status, actor, reason, bump_version=False)


@transaction.atomic
def create_intent(
    actor,
    *,
    title,
    description="",
    constraints=None,
    state=None,
    status=IntentStatus.DRAFT,
    parent_id=None,
    depends_on=(),
    confidence=0,
    parent_must_exist_message=None,
):
    parent = None
    if parent_id is not None:
        parent = get_intent(
            parent_id,
            message=parent_must_exist_message or "Parent intent not found",
            lock=True,
            principal_id=actor,
            needs=Permission.ADMIN,
        )
        refuse_if_finished(parent)
    dependencies = find_intents(dict.fromkeys(depends_on))
    missing = set(dict.fromkeys(depends_on)) - {str(intent.pk) for intent in dependencies}
    if missing:
        raise NotFound(f"Dependency intent not found: {', '.join(sorted(missing))}")
    if status == IntentStatus.ACTIVE and any(dep.status != IntentStatus.COMPLETED for dep in dependencies):
        status = IntentStatus.BLOCKED
    now = timezone.now()
    intent = Intent.objects.create(
        title=title,
        description=description,
        created_by=actor,
        parent=parent,
        constraints=constraints or {},
        state=state or {},
        status=status,
        confidence=confidence,
        created_at=now,
        updated_at=now,
        depends_on=[str(dependency.pk) for dependency in dependencies],
    )
    IntentDependency.objects.bulk_create(
        [IntentDependency(intent=intent, depends_on=dependency, created_at=now) for dependency in dependencies]
    )
    payload = {"title": title, "status": status}
    if parent is not None:
        payload["parent_id"] = str(parent.pk)
    if dependencies:
        payload["depends_on"] = [str(dependency.pk) for dependency in dependencies]
    append_event(intent.pk, "intent_created", actor, payload)
    return intent


def lease_held_by_another(intent, scopes, holder):
    """The earliest-acquired lease in force on one of ``scopes`` of ``intent`` held by someone other than ``holder``.

    Plain SQL because every state patch asks, under the intent's row lock (and in a statement of its own after
    the lock, so it sees every lease committed before the lock was granted): the same query built with the ORM
    cost a patch 0.5 ms, most of it compiling."""
    scopes = sorted(scopes)
    if not scopes:
        return None
    table = connection.ops.quote_name(Lease._meta.db_table)
    marks = ", ".join(["%s"] * len(scopes))
    sql = (
        f"SELECT * FROM {table} WHERE intent_id = %s AND status = %s AND expires_at > %s"
        f" AND scope IN ({marks}) AND NOT (holder = %s) ORDER BY acquired_at LIMIT 1"
    )
    intent_id = Lease._meta.get_field("intent").get_db_prep_value(intent.pk, connection)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    return next(iter(Lease.objects.raw(sql, [intent_id, str(LeaseStatus.ACTIVE), now, *scopes, holder])), None)


@transaction.atomic
def patch_state(intent_id, expected_version, patches, actor):
    intent = lock_for_write(intent_id, expected_version, actor)
    lease = lease_held_by_another(intent, scopes_touched(patches), actor)
    if lease is not None:
        raise LeaseConflict(
            f"State key '{lease.scope}' is under a lease held by another principal",
            existing_lease=LeaseSerializer(lease).data,
        )
    try:
        intent.state = apply_patches(intent.state, patches)
    except PatchError as exc:
        loc = ["body", "patches", exc.index, "path"]
        raise SchemaError.field(loc, exc.message, patches[exc.index]["path"]) from None
    begin_work(intent, actor, "state patched")
    intent.version += 1
    intent.updated_at = timezone.now()
    intent.save(update_fields=["state", "version", "updated_at"])
    append_event(intent.pk, "state_patched", actor, {"patches": patches, "version": intent.version})
    return intent


@transaction.atomic
def change_status(intent_id, expected_version, status, actor, reason=""):
    intent = get_intent(intent_id, lock=True, principal_id=actor, needs=Permission.ADMIN)
    if intent.version != expected_version:
        raise VersionConflict(intent.version)
    if intent.status == status:
        return intent
    if not intent.can_become(status):
        raise Conflict(
            f"Cannot change status from {intent.status} to {status}",
            current_status=intent.status,
            allowed=sorted(intent_transitions(intent)),
        )
    if status == IntentStatus.COMPLETED:
        blocking = unfinished_dependencies(intent)
        if blocking:
            raise Conflict(
                f"Cannot change status from {intent.status} to completed: {len(blocking)} "
                "dependencies are not completed",
                blocking_intents=[str(pk) for pk in blocking],
            )
        open_children = unfinished_children(intent)
        if open_children:
            raise Conflict(
                f"Cannot change status from {intent.status} to completed: {len(open_children)} "
                "children are not finished",
                blocking_intents=[str(pk) for pk in open_children],
            )
    if status == IntentStatus.ACTIVE and unfinished_dependencies(intent):
        if intent.status == IntentStatus.BLOCKED:
            raise Conflict("Cannot change status from blocked to active: dependencies are not completed")
        status = IntentStatus.BLOCKED
    set_status(intent, status, actor, reason, bump_version=True)
    if status == IntentStatus.COMPLETED:
        unblock_dependents(intent, actor)
    return intent


def intent_transitions(intent):
    return {str(status) for status in TRANSITIONS[IntentStatus(intent.status)]}


def unblock_dependents(intent, actor):
    """Dependents that were blocked only on finished work become active again (RFC-0002)."""
    waiting = Intent.objects.select_for_update(no_key=True).filter(
        dependency_links__depends_on=intent, status=IntentStatus.BLOCKED
    )
    for dependent in waiting.order_by("pk"):
        if not unfinished_dependencies(dependent):
            set_status(dependent, IntentStatus.ACTIVE, actor, f"dependency {intent.pk} completed", bump_version=False)


def lock_dependency_graph():
    # Two edges added at once could close a cycle neither transaction sees, so edge additions take turns.
    # SQLite already serialises writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x01E7_0002])


def dependency_path(start, goal):
    """A path of ``depends_on`` edges from ``start`` to ``goal``, or None. One query per level."""
    came_from = {start: None}
    frontier = [start]
    while frontier:
        edges = IntentDependency.objects.filter(intent_id__in=frontier).values_list("intent_id", "depends_on_id")
        frontier = []
        for source, target in edges:
            if target in came_from:
                continue
            came_from[target] = source
            if target == goal:
                path = [target]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return list(reversed(path))
            frontier.append(target)
    return None


@transaction.atomic
def add_dependency(intent_id, dependency_id, expected_version, actor):
    lock_dependency_graph()
    intent = get_intent(intent_id, lock=True, principal_id=actor, needs=Permission.WRITE)
    dependency = get_intent(dependency_id, message="Dependency intent not found")
    if intent.version != expected_version:
        raise VersionConflict(intent.version)
    refuse_if_finished(intent)
    if IntentDependency.objects.filter(intent=intent, depends_on=dependency).exists():
        raise ProtocolError("Dependency already exists")
    if intent.pk == dependency.pk:
        raise ProtocolError(f"Dependency would create cycle: {intent.pk} -> {intent.pk}")
    path = dependency_path(dependency.pk, intent.pk)
    if path is not None:
        chain = " -> ".join(str(pk) for pk in [intent.pk, *path])
        raise ProtocolError(f"Dependency would create cycle: {chain}")
    IntentDependency.objects.create(intent=intent, depends_on=dependency)
    intent.depends_on = [*intent.depends_on, str(dependency.pk)]
    intent.version += 1
    intent.updated_at = timezone.now()
    intent.save(update_fields=["depends_on", "version", "updated_at"])
    append_event(intent.pk, "dependency_added", actor, {"dependency_id": str(dependency.pk), "version": intent.version})
    if intent.status == IntentStatus.ACTIVE and dependency.status != IntentStatus.COMPLETED:
        set_status(intent, IntentStatus.BLOCKED, actor, f"waits for dependency {dependency.pk}", bump_version=False)
    return intent


@transaction.atomic
def remove_dependency(intent_id, dependency_id, expected_version, actor):
    intent = lock_for_write(intent_id, expected_version, actor)
    pk = as_uuid(dependency_id)
    deleted, _ = IntentDependency.objects.filter(intent=intent, depends_on_id=pk).delete() if pk else (0, None)
    if not deleted:
        raise NotFound("Dependency not found")
    intent.depends_on = [kept for kept in intent.depends_on if kept != str(pk)]
    intent.version += 1
    intent.updated_at = timezone.now()
    intent.save(update_fields=["depends_on", "version", "updated_at"])
    append_event(intent.pk, "dependency_removed", actor, {"dependency_id": str(pk), "version": intent.version})
    if intent.status == IntentStatus.BLOCKED and not unfinished_dependencies(intent):
        set_status(intent, IntentStatus.ACTIVE, actor, f"dependency {pk} removed", bump_version=False)
    return intent


# Events and agents -------------------------------------------------------------------------------------------


@transaction.atomic
def log_event(intent_id, event_type, actor, payload):
    intent = get_intent(intent_id, principal_id=actor, needs=Permission.WRITE)
    return append_event(intent.pk, event_type, actor, payload)


@transaction.atomic
def assign_agent(intent_id, agent_id, role, actor):
    intent = get_intent(intent_id, lock=True, principal_id=actor, needs=Permission.ADMIN)
    refuse_if_finished(intent)
    assignment, created = AgentAssignment.objects.get_or_create(
        intent=intent, agent_id=agent_id, defaults={"role": role}
    )
    if created:
        append_event(intent.pk, "agent_assigned", actor, {"agent_id": agent_id, "role": role})
    return assignment


@transaction.atomic
def unassign_agent(intent_id, agent_id, actor):
    intent = get_intent(intent_id, lock=True, principal_id=actor, needs=Permission.ADMIN)
    deleted = 0
    # No assigned id holds a NUL (input refuses it), and PostgreSQL cannot even compare one.
    if "\x00" not in agent_id:
        deleted, _ = AgentAssignment.objects.filter(intent=intent, agent_id=agent_id).delete()
    if not deleted:
        raise NotFound("Agent is not assigned to this intent")
    append_event(intent.pk, "agent_unassigned", actor, {"agent_id": agent_id})


# Leases ------------------------------------------------------------------------------------------------------


def expire(lease, now):
    lease.status = LeaseStatus.EXPIRED
    lease.save(update_fields=["status"])
    append_event(
        lease.intent_id,
        "lease_released",
        SYSTEM_ACTOR,
        {
            "lease_id": str(lease.pk),
            "scope": lease.scope,
            "reason": "expired",
            "expired_at": wire_datetime(lease.expires_at),
        },
    )


@transaction.atomic
def acquire_lease(intent_id, scope, duration_seconds, holder):
    intent = get_intent(intent_id, lock=True, principal_id=holder, needs=Permission.WRITE)
    if intent.is_terminal:
        raise Conflict(f"Intent is {intent.status}; no lease can be acquired on it", current_status=intent.status)
    now = timezone.now()
    for lapsed in Lease.objects.lapsed(now).select_for_update().filter(intent=intent, scope=scope):
        expire(lapsed, now)
    try:
        with transaction.atomic():
            lease = Lease.objects.create(
                intent=intent,
                scope=scope,
                holder=holder,
                acquired_at=now,
                expires_at=now + timedelta(seconds=duration_seconds),
            )
    except IntegrityError:
        existing = Lease.objects.held(now).filter(intent=intent, scope=scope).first()
        raise LeaseConflict(
            "Lease already held for this scope", existing_lease=LeaseSerializer(existing).data if existing else None
        ) from None
    append_event(
        intent.pk,
        "lease_acquired",
        holder,
        {"lease_id": str(lease.pk), "scope": scope, "expires_at": wire_datetime(lease.expires_at)},
    )
    begin_work(intent, holder, f"lease acquired on {scope}")
    return lease


def lock_lease(intent_id, lease_id, holder):
    """The lease, locked after its intent: every lease change takes the locks in that order."""
    intent = get_intent(intent_id, lock=True, message="Lease not found")
    lease_pk = as_uuid(lease_id)
    lease = Lease.objects.select_for_update().filter(pk=lease_pk, intent=intent).first() if lease_pk else None
    if lease is None:
        raise NotFound("Lease not found")
    if lease.holder != holder:
        raise Forbidden("Lease is held by another principal; only its holder may renew or release it")
    return lease


@transaction.atomic
def renew_lease(intent_id, lease_id, duration_seconds, holder):
    lease = lock_lease(intent_id, lease_id, holder)
    now = timezone.now()
    if lease.status == LeaseStatus.ACTIVE and lease.expires_at <= now:
        expire(lease, now)
    if lease.status != LeaseStatus.ACTIVE:
        raise LeaseConflict(f"Lease is {lease.status}; acquire a new one", existing_lease=None)
    lease.expires_at = now + timedelta(seconds=duration_seconds)
    lease.save(update_fields=["expires_at"])
    # Logged as lease_acquired with ``renewed``: the 0.9.1 client cannot parse a log holding any other lease type.
    append_event(
        lease.intent_id,
        "lease_acquired",
        holder,
        {
            "lease_id": str(lease.pk),
            "scope": lease.scope,
            "renewed": True,
            "duration_seconds": duration_seconds,
            "expires_at": wire_datetime(lease.expires_at),
        },
    )
    return lease


@transaction.atomic
def release_lease(intent_id, lease_id, holder):
    """Release a held lease. Returns a message; releasing twice is harmless and logs nothing new."""
    lease = lock_lease(intent_id, lease_id, holder)
    now = timezone.now()
    if lease.status == LeaseStatus.ACTIVE and lease.expires_at <= now:
        expire(lease, now)
    if lease.status != LeaseStatus.ACTIVE:
        return f"Lease already {lease.status}"
    lease.status = LeaseStatus.RELEASED
    lease.released_at = now
    lease.save(update_fields=["status", "released_at"])
    append_event(lease.intent_id, "lease_released", holder, {"lease_id": str(lease.pk), "scope": lease.scope})
    return "Lease released"


def expire_lapsed_leases(batch_size=500):
    """Move every lease whose time ran out to ``expired`` and log it. Safe to run in several workers at once."""
    total = 0
    while True:
        with transaction.atomic():
            now = timezone.now()
            lapsed = list(
                Lease.objects.lapsed(now).select_for_update(skip_locked=True).order_by("expires_at")[:batch_size]
            )
            for lease in lapsed:
                expire(lease, now)
        total += len(lapsed)
        if len(lapsed) < batch_size:
            return total


@transaction.atomic
def revoke_lease(lease, actor, reason=""):
    """Governance action: end a lease whoever holds it."""
    get_intent(lease.intent_id, lock=True)
    lease = Lease.objects.select_for_update().get(pk=lease.pk)
    if lease.status != LeaseStatus.ACTIVE:
        return False
    lease.status = LeaseStatus.REVOKED
    lease.released_at = timezone.now()
    lease.save(update_fields=["status", "released_at"])
    append_event(
        lease.intent_id,
        "lease_released",
        actor,
        {"lease_id": str(lease.pk), "scope": lease.scope, "reason": "revoked", "note": reason},
    )
    return True


# Graph -------------------------------------------------------------------------------------------------------


def children_of(intent):
    return list(intent.children.order_by("created_at", "pk"))


def descendants_of(intent):
    """All descendants, depth-first pre-order. One query per level of the tree."""
    by_parent = {}
    frontier = [intent.pk]
    while frontier:
        level = list(Intent.objects.filter(parent_id__in=frontier).order_by("created_at", "pk"))
        for child in level:
            by_parent.setdefault(child.parent_id, []).append(child)
        frontier = [child.pk for child in level]
    ordered = []
    stack = list(reversed(by_parent.get(intent.pk, [])))
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(by_parent.get(node.pk, [])))
    return ordered


def ancestors_of(intent):
    chain = []
    seen = {intent.pk}
    parent_id = intent.parent_id
    while parent_id is not None and parent_id not in seen:
        parent = Intent.objects.filter(pk=parent_id).first()
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.pk)
        parent_id = parent.parent_id
    return chain


def dependencies_of(intent):
    return find_intents(intent.depends_on)


def dependents_of(intent):
    return list(Intent.objects.filter(dependency_links__depends_on=intent).order_by("created_at", "pk"))


def readiness_of_children(intent):
    """Split the unfinished children into those whose dependencies are all completed and the rest."""
    children = [child for child in children_of(intent) if child.status not in TERMINAL]
    dependency_ids = {dep for child in children for dep in child.depends_on}
    completed = {
        str(pk)
        for pk in Intent.objects.filter(pk__in=dependency_ids, status=IntentStatus.COMPLETED).values_list(
            "pk", flat=True
        )
    }
    ready, blocked = [], []
    for child in children:
        satisfied = all(dep in completed for dep in child.depends_on)
        (ready if satisfied and child.status != IntentStatus.BLOCKED else blocked).append(child)
    return ready, blocked


def graph_of(intent, visible=list):
    """Nodes reachable from ``intent`` through children and dependencies, with parent and dependency edges.

    ``visible`` picks, from the nodes reached, those to show; edges and aggregates cover only them."""
    nodes = {}
    frontier = [intent.pk]
    while frontier:
        batch = Intent.objects.filter(pk__in=frontier)
        frontier = []
        for node in batch:
            nodes[node.pk] = node
        child_ids = Intent.objects.filter(parent_id__in=[node.pk for node in batch]).values_list("pk", flat=True)
        for pk in [*child_ids, *(uuid.UUID(dep) for node in batch for dep in node.depends_on)]:
            if pk not in nodes and pk not in frontier:
                frontier.append(pk)
    ordered = sorted(nodes.values(), key=lambda node: (node.pk != intent.pk, node.created_at, str(node.pk)))
    ordered = visible(ordered)
    shown = {str(node.pk) for node in ordered}
    edges = []
    for node in ordered:
        if node.parent_id is not None and str(node.parent_id) in shown:
            edges.append({"from": str(node.parent_id), "to": str(node.pk), "type": "parent"})
        edges.extend({"from": dep, "to": str(node.pk), "type": "dependency"} for dep in node.depends_on if dep in shown)
    by_status = {}
    for node in ordered:
        by_status[node.status] = by_status.get(node.status, 0) + 1
    completed = {str(node.pk) for node in ordered if node.status == IntentStatus.COMPLETED}
    open_nodes = [node for node in ordered if node.status not in TERMINAL]
    blocking = [str(node.pk) for node in open_nodes if any(dep not in completed for dep in node.depends_on)]
    ready = [str(node.pk) for node in open_nodes if str(node.pk) not in blocking and node.status != "blocked"]
    total = len(ordered)
    return {
        "root_id": str(intent.pk),
        "nodes": [
            {
                "id": str(node.pk),
                "title": node.title,
                "status": node.status,
                "parent_id": str(node.parent_id) if node.parent_id else None,
                "depends_on": node.depends_on,
            }
            for node in ordered
        ],
        "edges": edges,
        "aggregate_status": {
            "total": total,
            "by_status": by_status,
            "completion_percentage": (len(completed) * 100) // total if total else 0,
            "blocking_intents": blocking,
            "ready_intents": ready,
        },
    }
