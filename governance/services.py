"""Governance (RFC-0004): arbitration requests that people settle, and immutable decisions."""

from django.db import transaction

from intents.access.models import Permission
from intents.core.models import IntentStatus
from intents.core.services import as_uuid, get_intent, set_status, unfinished_dependencies
from openintent_site.errors import Conflict, NotFound
from openintent_site.events import EventType, append_event

from .models import ArbitrationRequest, ArbitrationStatus, Decision

# Arbitration and decisions ------------------------------------------------------------------------------------


@transaction.atomic
def request_arbitration(intent_id, principal_id, reason, context, options, needs=Permission.WRITE):
    """``needs`` None: the server asks on its own (a coordinator's exceeded budget), whatever the intent's policy."""
    intent = get_intent(intent_id, lock=True, principal_id=principal_id, needs=needs)
    arbitration = ArbitrationRequest.objects.create(
        intent=intent, requested_by=principal_id, reason=reason, context=context, options=options
    )
    append_event(
        intent.pk,
        EventType.ARBITRATION_REQUESTED,
        principal_id,
        {"arbitration_id": str(arbitration.pk), "reason": reason, "context": context, "options": options},
    )
    # The request itself leaves state and status alone; only blocking an active intent is a change, one step.
    if intent.status == IntentStatus.ACTIVE:
        set_status(intent, IntentStatus.BLOCKED, principal_id, "awaiting arbitration")
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
    append_event(intent.pk, EventType.DECISION_RECORDED, decided_by, payload)
    if (
        arbitration is not None
        and intent.status == IntentStatus.BLOCKED
        and not pending_arbitrations(intent).exists()
        and not unfinished_dependencies(intent)
    ):
        set_status(intent, IntentStatus.ACTIVE, decided_by, "arbitration resolved")
    return decision
