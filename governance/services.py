"""Governance rules: arbitration and decisions (RFC-0004), ACLs and access requests (RFC-0011)."""

from django.db import transaction
from django.utils import timezone

from intents.models import IntentStatus, Lease, LeaseStatus
from intents.services import append_event, as_uuid, get_intent, revoke_lease, set_status, unfinished_dependencies
from openintent_site.errors import Conflict, NotFound

from .models import (
    AccessPolicy,
    AccessRequest,
    AccessRequestStatus,
    ACLEntry,
    ArbitrationRequest,
    ArbitrationStatus,
    Decision,
    Permission,
    Policy,
)

# Arbitration and decisions ------------------------------------------------------------------------------------


@transaction.atomic
def request_arbitration(intent_id, principal_id, reason, context, options):
    intent = get_intent(intent_id, lock=True, principal_id=principal_id, needs=Permission.WRITE)
    arbitration = ArbitrationRequest.objects.create(
        intent=intent, requested_by=principal_id, reason=reason, context=context, options=options
    )
    append_event(
        intent.pk,
        "arbitration_requested",
        principal_id,
        {"arbitration_id": str(arbitration.pk), "reason": reason, "context": context, "options": options},
    )
    if intent.status == IntentStatus.ACTIVE:
        set_status(intent, IntentStatus.BLOCKED, principal_id, "awaiting arbitration", bump_version=False)
    return arbitration


def pending_arbitrations(intent):
    return intent.arbitrations.filter(status=ArbitrationStatus.PENDING)


@transaction.atomic
def record_decision(intent_id, decided_by, decision_type, outcome, rationale, evidence=(), arbitration_id=None):
    """Record a decision through the API; with ``arbitration_id`` it settles that pending request."""
    intent = get_intent(intent_id, lock=True, principal_id=decided_by, needs=Permission.WRITE)
    arbitration = None
    if arbitration_id is not None:
        pk = as_uuid(arbitration_id)
        arbitration = intent.arbitrations.select_for_update().filter(pk=pk).first() if pk else None
        if arbitration is None:
            raise NotFound("Arbitration request not found")
    return decide(intent, decided_by, decision_type, outcome, rationale, evidence, arbitration)


@transaction.atomic
def settle_arbitration(arbitration, reviewer, outcome, rationale, decision_type="arbitration"):
    """A reviewer's decision from the admin desk."""
    intent = get_intent(arbitration.intent_id, lock=True)
    arbitration = ArbitrationRequest.objects.select_for_update().get(pk=arbitration.pk)
    return decide(intent, reviewer, decision_type, outcome, rationale, (), arbitration)


def decide(intent, decided_by, decision_type, outcome, rationale, evidence, arbitration):
    """Write the decision on a locked intent, settle ``arbitration`` if given, and unblock when nothing is pending."""
    if arbitration is not None:
        if arbitration.status != ArbitrationStatus.PENDING:
            raise Conflict("Arbitration request is already resolved")
        arbitration.status = ArbitrationStatus.RESOLVED
        arbitration.save(update_fields=["status"])
    decision = Decision.objects.create(
        intent=intent,
        arbitration=arbitration,
        decision_type=decision_type,
        outcome=outcome,
        rationale=rationale,
        decided_by=decided_by,
        evidence=list(evidence),
    )
    payload = {
        "decision_id": str(decision.pk),
        "decision_type": decision_type,
        "outcome": outcome,
        "rationale": rationale,
    }
    if arbitration is not None:
        payload["arbitration_id"] = str(arbitration.pk)
    append_event(intent.pk, "decision_recorded", decided_by, payload)
    if (
        arbitration is not None
        and intent.status == IntentStatus.BLOCKED
        and not pending_arbitrations(intent).exists()
        and not unfinished_dependencies(intent)
    ):
        set_status(intent, IntentStatus.ACTIVE, decided_by, "arbitration resolved", bump_version=False)
    return decision


# Access control -----------------------------------------------------------------------------------------------


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
        "access_granted",
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
        "access_revoked",
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
            "access_granted",
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
                "access_expired",
                "system",
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
        "access_requested",
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
        "access_request_approved",
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
        "access_request_denied",
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
