"""Access control (RFC-0011): the ACL and its policy, grants, and requests for access reviewed by the intent's
admins through the API or by people in the admin desk. Every change is logged on the intent."""

from django.db import transaction
from django.utils import timezone

from intents.core.services import as_uuid, get_intent
from intents.leases.models import Lease, LeaseStatus
from intents.leases.services import revoke_lease
from openintent_site.errors import Conflict, NotFound
from openintent_site.events import SYSTEM_ACTOR, EventType, append_event

from .models import AccessPolicy, AccessRequest, AccessRequestStatus, ACLEntry, Permission, Policy


def acl_of(intent):
    policy = AccessPolicy.objects.filter(intent=intent).first()
    return {
        "intent_id": str(intent.pk),
        "default_policy": policy.default_policy if policy else Policy.OPEN,
        "entries": list(intent.acl_entries.all()),
    }


def upsert_entry(intent, granted_by, principal_id, principal_type, permission, expires_at, reason):
    entry, _ = ACLEntry.objects.update_or_create(
        intent=intent,
        principal_id=principal_id,
        defaults={
            "principal_type": principal_type,
            "permission": permission,
            "granted_by": granted_by,
            "granted_at": timezone.now(),
            "expires_at": expires_at,
            "reason": reason,
        },
    )
    append_event(
        intent.pk,
        EventType.ACCESS_GRANTED,
        granted_by,
        {"entry_id": str(entry.pk), "principal_id": principal_id, "permission": permission},
    )
    return entry


def revoke(entry, actor, reason="revoked"):
    """Remove a grant; the leases its principal holds on the intent end with it."""
    for lease in Lease.objects.filter(intent_id=entry.intent_id, holder=entry.principal_id, status=LeaseStatus.ACTIVE):
        revoke_lease(lease, actor, "access revoked")
    append_event(
        entry.intent_id,
        EventType.ACCESS_REVOKED,
        actor,
        {"entry_id": str(entry.pk), "principal_id": entry.principal_id, "reason": reason},
    )
    entry.delete()


@transaction.atomic
def set_acl(intent_id, principal_id, default_policy, entries):
    """Replace the whole ACL: the policy, and entries granted, changed or revoked to match ``entries``."""
    intent = get_intent(intent_id, lock=True, principal_id=principal_id, needs=Permission.ADMIN)
    previous = AccessPolicy.objects.filter(intent=intent).first()
    if previous is None or previous.default_policy != default_policy:
        AccessPolicy.objects.update_or_create(
            intent=intent, defaults={"default_policy": default_policy, "updated_by": principal_id}
        )
        append_event(
            intent.pk,
            EventType.ACCESS_GRANTED,
            principal_id,
            {"action": "policy_set", "default_policy": default_policy},
        )
    wanted = {entry["principal_id"]: entry for entry in entries}
    for existing in intent.acl_entries.exclude(principal_id__in=wanted):
        revoke(existing, principal_id, "removed from the ACL")
    for entry in wanted.values():
        upsert_entry(intent, principal_id, **entry)
    return acl_of(intent)


@transaction.atomic
def grant(intent_id, granted_by, **entry):
    intent = get_intent(intent_id, lock=True, principal_id=granted_by, needs=Permission.ADMIN)
    return upsert_entry(intent, granted_by, **entry)


@transaction.atomic
def revoke_entry(intent_id, entry_id, principal_id):
    intent = get_intent(intent_id, lock=True, principal_id=principal_id, needs=Permission.ADMIN)
    pk = as_uuid(entry_id)
    entry = intent.acl_entries.filter(pk=pk).first() if pk else None
    if entry is None:
        raise NotFound("ACL entry not found")
    revoke(entry, principal_id)


@transaction.atomic
def revoke_by_reviewer(entry, reviewer):
    get_intent(entry.intent_id, lock=True)
    revoke(entry, reviewer, "revoked in the admin")


def expire_grants(now=None):
    """Remove grants past their expiry, logging ``access_expired`` for each."""
    now = now or timezone.now()
    expired = 0
    with transaction.atomic():
        for entry in ACLEntry.objects.select_for_update(skip_locked=True).filter(expires_at__lte=now):
            append_event(
                entry.intent_id,
                EventType.ACCESS_EXPIRED,
                SYSTEM_ACTOR,
                {"entry_id": str(entry.pk), "principal_id": entry.principal_id, "permission": entry.permission},
            )
            entry.delete()
            expired += 1
    return expired


@transaction.atomic
def request_access(intent_id, principal_id, principal_type, requested_permission, reason, capabilities):
    """Anyone may ask for access, including principals that cannot read the intent yet."""
    intent = get_intent(intent_id)
    access_request = AccessRequest.objects.create(
        intent=intent,
        principal_id=principal_id,
        principal_type=principal_type,
        requested_permission=requested_permission,
        reason=reason,
        capabilities=capabilities,
    )
    append_event(
        intent.pk,
        EventType.ACCESS_REQUESTED,
        principal_id,
        {
            "request_id": str(access_request.pk),
            "principal_id": principal_id,
            "requested_permission": requested_permission,
            "capabilities": capabilities,
        },
    )
    return access_request


def lock_pending_request(intent, request_id):
    pk = as_uuid(request_id)
    access_request = intent.access_requests.select_for_update().filter(pk=pk).first() if pk else None
    if access_request is None:
        raise NotFound("Access request not found")
    if access_request.status != AccessRequestStatus.PENDING:
        raise Conflict(f"Access request is already {access_request.status}", current_status=access_request.status)
    return access_request


def approve_request(access_request, decided_by, permission=None, expires_at=None, reason=None):
    """Approve a locked pending request and grant its entry. Used by the API and the admin desk alike."""
    access_request.status = AccessRequestStatus.APPROVED
    access_request.decided_by = decided_by
    access_request.decided_at = timezone.now()
    access_request.decision_reason = reason
    access_request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    granted = permission or access_request.requested_permission
    append_event(
        access_request.intent_id,
        EventType.ACCESS_REQUEST_APPROVED,
        decided_by,
        {"request_id": str(access_request.pk), "principal_id": access_request.principal_id, "permission": granted},
    )
    upsert_entry(
        access_request.intent,
        decided_by,
        principal_id=access_request.principal_id,
        principal_type=access_request.principal_type,
        permission=granted,
        expires_at=expires_at,
        reason=f"Approved access request: {reason}" if reason else "Approved access request",
    )
    return access_request


def deny_request(access_request, decided_by, reason=None):
    access_request.status = AccessRequestStatus.DENIED
    access_request.decided_by = decided_by
    access_request.decided_at = timezone.now()
    access_request.decision_reason = reason
    access_request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    append_event(
        access_request.intent_id,
        EventType.ACCESS_REQUEST_DENIED,
        decided_by,
        {"request_id": str(access_request.pk), "principal_id": access_request.principal_id, "reason": reason},
    )
    return access_request


@transaction.atomic
def review_access_request(access_request, reviewer, approved, permission=None, reason=None):
    """A reviewer's approval or denial from the admin desk."""
    intent = get_intent(access_request.intent_id, lock=True)
    access_request = lock_pending_request(intent, access_request.pk)
    if approved:
        return approve_request(access_request, reviewer, permission, None, reason)
    return deny_request(access_request, reviewer, reason)


@transaction.atomic
def approve(intent_id, request_id, decided_by, permission=None, expires_at=None, reason=None):
    intent = get_intent(intent_id, lock=True, principal_id=decided_by, needs=Permission.ADMIN)
    return approve_request(lock_pending_request(intent, request_id), decided_by, permission, expires_at, reason)


@transaction.atomic
def deny(intent_id, request_id, decided_by, reason=None):
    intent = get_intent(intent_id, lock=True, principal_id=decided_by, needs=Permission.ADMIN)
    return deny_request(lock_pending_request(intent, request_id), decided_by, reason)
