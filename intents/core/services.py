"""The rules of intents (RFC-0001): creation, versioned state, the status machine, the log and assignments.

Every write is one transaction with its events. Other areas of the app build on ``get_intent`` (which also checks
the caller's permission) and ``set_status``."""

import uuid

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from intents.access.models import Permission
from intents.access.policy import require
from intents.graph.models import IntentDependency
from intents.leases.models import Lease
from openintent_site.api import compact_json_size
from openintent_site.errors import Conflict, InvalidInput, InvalidTransition, LeaseHeld, NotFound, VersionConflict
from openintent_site.events import EventType, append_event
from openintent_site.rows import ModelColumns

from .models import TERMINAL, TRANSITIONS, AgentAssignment, Intent, IntentStatus
from .patches import PatchError, apply_patches, scopes_touched

# Reading -----------------------------------------------------------------------------------------------------


def as_uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def get_intent(intent_id, message="Intent not found", lock=False, principal_id=None, needs=None):
    """The intent, locked for update when asked; with ``needs``, only if ``principal_id`` holds that permission."""
    pk = as_uuid(intent_id)
    intent = Intent.objects.by_pk(pk, lock=lock) if pk else None
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


def refuse_stale(intent_id, expected_version, actor, needs=Permission.WRITE):
    """Refuse a versioned write whose ``If-Match`` is already out of date, before it opens a transaction.

    Under contention most writes carry a version another writer has just moved on from. Checked only under the row
    lock, each of them queued behind the winner's transaction to learn that, and held up the writers queued behind
    it. The committed version is readable without the lock, and a refusal needs nothing more: the version the write
    expected was not the intent's when it was read. A version that still matches proves nothing yet (a write in
    progress may move it), so ``lock_for_write`` checks again under the lock, and decides.

    An unknown intent, or one the actor may not write, is refused as it is under the lock, before its version."""
    intent = get_intent(intent_id, principal_id=actor, needs=needs)
    if intent.version != expected_version:
        raise VersionConflict(intent.version)


def lock_for_write(intent_id, expected_version, actor, needs=Permission.WRITE):
    intent = get_intent(intent_id, lock=True, principal_id=actor, needs=needs)
    if intent.version != expected_version:
        raise VersionConflict(intent.version)
    refuse_if_finished(intent)
    return intent


def refuse_if_finished(intent):
    if intent.is_terminal:
        raise Conflict(f"Intent is {intent.status}; it accepts no further changes", current_status=intent.status)


def save_fields(intent, names):
    """Write the fields ``names`` of the locked ``intent``, as ``save(update_fields=names)`` would.

    Every versioned write ends here under the row lock, which every other writer of the intent waits on: the ORM
    composed the UPDATE anew each time, at twice the CPU of running it; its SQL is composed once per process."""
    ModelColumns.of(Intent, connection.alias).save_fields(intent, names)


def set_status(intent, status, actor, reason, *, within_versioned_write=False):
    """Move ``intent`` (locked) to ``status``, take one version step and log it with the reason and new version.

    Every status change moves the version, whoever makes it, so a client's optimistic write cannot pass over a change
    it never saw. A write that bumps the version itself (a state patch, a dependency added or removed) passes
    ``within_versioned_write=True`` after its own bump: one write is one version step, which the 0.9.1 client's
    ``intent.version + 1`` after ``update_state`` relies on."""
    previous = intent.status
    intent.status = status
    intent.updated_at = timezone.now()
    fields = ["status", "updated_at"]
    if not within_versioned_write:
        intent.version += 1
        fields.append("version")
    save_fields(intent, fields)
    payload = {"status": status, "previous_status": previous, "version": intent.version}
    if reason:
        payload["reason"] = reason
    append_event(intent.pk, EventType.STATUS_CHANGED, actor, payload)


def begin_work(intent, actor, reason, *, within_versioned_write=False):
    """A draft intent becomes active (blocked if a dependency is unfinished) once work begins on it."""
    if intent.status == IntentStatus.DRAFT:
        status = IntentStatus.BLOCKED if unfinished_dependencies(intent) else IntentStatus.ACTIVE
        set_status(intent, status, actor, reason, within_versioned_write=within_versioned_write)


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
    type=None,
    namespace=None,
    priority="medium",
    tags=(),
    trigger_lineage=None,
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
        type=type,
        namespace=namespace,
        priority=priority,
        tags=list(dict.fromkeys(tags)),
        trigger_lineage=trigger_lineage,
    )
    IntentDependency.objects.bulk_create(
        [IntentDependency(intent=intent, depends_on=dependency, created_at=now) for dependency in dependencies]
    )
    payload = {"title": title, "status": status}
    if parent is not None:
        payload["parent_id"] = str(parent.pk)
    if dependencies:
        payload["depends_on"] = [str(dependency.pk) for dependency in dependencies]
    for key in ("type", "namespace"):
        if getattr(intent, key) is not None:
            payload[key] = getattr(intent, key)
    if trigger_lineage is not None:
        payload["trigger_lineage"] = trigger_lineage
    append_event(intent.pk, EventType.INTENT_CREATED, actor, payload)
    return intent


def patch_state(intent_id, expected_version, patches, actor):
    refuse_stale(intent_id, expected_version, actor)
    return patch_state_locked(intent_id, expected_version, patches, actor)


@transaction.atomic
def patch_state_locked(intent_id, expected_version, patches, actor):
    intent = lock_for_write(intent_id, expected_version, actor)
    lease = Lease.objects.held_by_another(intent, scopes_touched(patches), actor)
    if lease is not None:
        raise LeaseHeld(f"State key '{lease.scope}' is under a lease held by another principal", lease)
    try:
        intent.state = apply_patches(intent.state, patches)
    except PatchError as exc:
        loc = ["body", "patches", exc.index, "path"]
        raise InvalidInput.field(loc, exc.message, patches[exc.index]["path"]) from None
    # Each request's patches are bounded at the edge; what they add up to is bounded here.
    size, limit = compact_json_size(intent.state), settings.OPENINTENT_MAX_JSON_BYTES
    if size > limit:
        message = f"The state these patches leave would take {size} bytes written as compact JSON; at most {limit}"
        raise InvalidInput.field(["body", "patches"], message, type="too_long")
    # Bumped before the status moves, so the status_changed event of a first patch carries the version it led to.
    intent.version += 1
    begin_work(intent, actor, "state patched", within_versioned_write=True)
    intent.updated_at = timezone.now()
    save_fields(intent, ["state", "version", "updated_at"])
    append_event(intent.pk, EventType.STATE_PATCHED, actor, {"patches": patches, "version": intent.version})
    return intent


def change_status(intent_id, expected_version, status, actor, reason=""):
    refuse_stale(intent_id, expected_version, actor, needs=Permission.ADMIN)
    return change_status_locked(intent_id, expected_version, status, actor, reason)


@transaction.atomic
def change_status_locked(intent_id, expected_version, status, actor, reason):
    intent = get_intent(intent_id, lock=True, principal_id=actor, needs=Permission.ADMIN)
    if intent.version != expected_version:
        raise VersionConflict(intent.version)
    if intent.status == status:
        return intent
    if not intent.can_become(status):
        raise InvalidTransition(intent.status, status, allowed=TRANSITIONS[IntentStatus(intent.status)])
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
            raise InvalidTransition(
                intent.status,
                status,
                message="Cannot change status from blocked to active: dependencies are not completed",
            )
        status = IntentStatus.BLOCKED
    set_status(intent, status, actor, reason)
    if status == IntentStatus.COMPLETED:
        unblock_dependents(intent, actor)
    return intent


def unblock_dependents(intent, actor):
    """Dependents that were blocked only on finished work become active again (RFC-0002)."""
    waiting = Intent.objects.select_for_update(no_key=True).filter(
        dependency_links__depends_on=intent, status=IntentStatus.BLOCKED
    )
    for dependent in waiting.order_by("pk"):
        if not unfinished_dependencies(dependent):
            set_status(dependent, IntentStatus.ACTIVE, actor, f"dependency {intent.pk} completed")


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
        append_event(intent.pk, EventType.AGENT_ASSIGNED, actor, {"agent_id": agent_id, "role": role})
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
    append_event(intent.pk, EventType.AGENT_UNASSIGNED, actor, {"agent_id": agent_id})
