"""Leases (RFC-0003): acquire, renew, release, expire and revoke, each logged on the intent.

Renewals are logged as ``lease_acquired`` with ``renewed`` and expiries and revocations as ``lease_released`` with
a ``reason``: the 0.9.1 client cannot parse a log holding any other lease event type."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from intents.access.models import Permission
from intents.core.services import as_uuid, begin_work, get_intent
from openintent_site.api import wire_datetime
from openintent_site.errors import Conflict, LeaseHeld, NotAllowed, NotFound
from openintent_site.events import SYSTEM_ACTOR, EventType, append_event

from .models import Lease, LeaseStatus

# Checks every grant passes, called as ``check(intent, scope, holder)`` under the intent's lock and refusing with a
# DomainError: apps above this one add theirs when ready (the agent registry refuses agents that are draining).
GRANT_CHECKS = []

# Leases ------------------------------------------------------------------------------------------------------


def expire(lease, now):
    lease.status = LeaseStatus.EXPIRED
    Lease.objects.save_fields(lease, ["status"])
    append_event(
        lease.intent_id,
        EventType.LEASE_RELEASED,
        SYSTEM_ACTOR,
        {
            "lease_id": str(lease.pk),
            "scope": lease.scope,
            "reason": "expired",
            "expired_at": wire_datetime(lease.expires_at),
        },
    )


def acquire_lease(intent_id, scope, duration_seconds, holder):
    """Grant ``holder`` a lease on ``scope``, or refuse it (LeaseHeld, naming the lease) while one is in force.

    On a contended scope most attempts find it held, and a lease in force is visible without a transaction or a
    lock: such an attempt is refused at once, as of that read, rather than after queueing on the intent's row lock
    behind every other contender. A scope that looks free is granted under the lock (``grant_lease``), where the
    partial unique constraint still refuses a second holder whatever passed this check."""
    intent = get_intent(intent_id, principal_id=holder, needs=Permission.WRITE)
    refuse_if_taken(intent, scope)
    return grant_lease(intent_id, scope, duration_seconds, holder)


def refuse_if_taken(intent, scope):
    """Refuse a lease on a finished intent, or on a scope another lease holds."""
    if intent.is_terminal:
        raise Conflict(f"Intent is {intent.status}; no lease can be acquired on it", current_status=intent.status)
    existing = Lease.objects.first_in_force(intent, [scope])
    if existing is not None:
        raise LeaseHeld("Lease already held for this scope", existing)


@transaction.atomic
def grant_lease(intent_id, scope, duration_seconds, holder):
    intent = get_intent(intent_id, lock=True, principal_id=holder, needs=Permission.WRITE)
    # Again under the lock, which every grant holds until it commits: a contender that found the scope free just
    # before another's grant is refused here, in one read, rather than by the constraint after a failed insert.
    refuse_if_taken(intent, scope)
    for check in GRANT_CHECKS:
        check(intent, scope, holder)
    now = timezone.now()
    for lapsed in Lease.objects.lapsed_locked(intent.pk, scope, now):
        expire(lapsed, now)
    lease = Lease(
        intent=intent, scope=scope, holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=duration_seconds)
    )
    if not Lease.objects.insert_unless_held(lease):
        existing = Lease.objects.held(now).filter(intent=intent, scope=scope).first()
        raise LeaseHeld("Lease already held for this scope", existing)
    append_event(
        intent.pk,
        EventType.LEASE_ACQUIRED,
        holder,
        {"lease_id": str(lease.pk), "scope": scope, "expires_at": wire_datetime(lease.expires_at)},
    )
    # A lease is not a versioned write, so a draft it activates takes the version step of that status change.
    begin_work(intent, holder, f"lease acquired on {scope}")
    return lease


def lock_lease(intent_id, lease_id, holder):
    """The lease, its row locked, if ``holder`` holds it.

    Only the lease's row is locked, not its intent's: renewing or releasing a lease conflicts with no write of the
    intent, and a release queued on the intent's lock behind contenders for the scope kept the scope closed all
    that while. Grants and revocations lock the intent and then the lease; a holder's change takes no lock after
    the lease's (the event it appends only key-shares the intent, which a writer's NO KEY UPDATE lock admits), so
    the two orders cannot deadlock."""
    intent_pk, lease_pk = as_uuid(intent_id), as_uuid(lease_id)
    lease = None
    if intent_pk and lease_pk:
        lease = Lease.objects.locked(intent_pk, lease_pk)
    if lease is None:
        raise NotFound("Lease not found")
    if lease.holder != holder:
        raise NotAllowed("Lease is held by another principal; only its holder may renew or release it")
    return lease


@transaction.atomic
def renew_lease(intent_id, lease_id, duration_seconds, holder):
    lease = lock_lease(intent_id, lease_id, holder)
    now = timezone.now()
    if lease.status == LeaseStatus.ACTIVE and lease.expires_at <= now:
        expire(lease, now)
    if lease.status != LeaseStatus.ACTIVE:
        raise LeaseHeld(f"Lease is {lease.status}; acquire a new one")
    lease.expires_at = now + timedelta(seconds=duration_seconds)
    lease.save(update_fields=["expires_at"])
    # Logged as lease_acquired with ``renewed``: the 0.9.1 client cannot parse a log holding any other lease type.
    append_event(
        lease.intent_id,
        EventType.LEASE_ACQUIRED,
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
    Lease.objects.save_fields(lease, ["status", "released_at"])
    append_event(lease.intent_id, EventType.LEASE_RELEASED, holder, {"lease_id": str(lease.pk), "scope": lease.scope})
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
        EventType.LEASE_RELEASED,
        actor,
        {"lease_id": str(lease.pk), "scope": lease.scope, "reason": "revoked", "note": reason},
    )
    return True
