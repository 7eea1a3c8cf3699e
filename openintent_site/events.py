"""The intent event log's one way in, and the names of the events the server writes.

Every app appends through :func:`append_event`, inside the transaction of the write the event records, so an
event exists exactly when its write does. Listeners of :data:`event_committed` (stream hubs, webhook deliveries,
portfolio completion) hear of an event only once that transaction has committed.
"""

from django.db import models, transaction
from django.dispatch import Signal

from .auth import acting_via
from .models import IntentEvent

# The actor of what the server does on its own (sweeps, retries, fallbacks).
SYSTEM_ACTOR = "system"

# Sent once per appended event, after the transaction that wrote it has committed (never for a rolled-back
# write), with ``event``: the IntentEvent.
event_committed = Signal()


class EventType(models.TextChoices):
    """Every event type the server writes. Clients may post other types (``note``…), but none of the
    ``SERVER_ONLY`` ones, so the log cannot be forged."""

    # RFC-0001 intents, state and assignments
    INTENT_CREATED = "intent_created"
    STATE_PATCHED = "state_patched"
    STATUS_CHANGED = "status_changed"
    AGENT_ASSIGNED = "agent_assigned"
    AGENT_UNASSIGNED = "agent_unassigned"
    # RFC-0002 graphs
    DEPENDENCY_ADDED = "dependency_added"
    DEPENDENCY_REMOVED = "dependency_removed"
    # RFC-0003 leases: renewals are logged as acquisitions and expiries as releases, which 0.9.1 clients can read
    LEASE_ACQUIRED = "lease_acquired"
    LEASE_RELEASED = "lease_released"
    # RFC-0004 governance
    ARBITRATION_REQUESTED = "arbitration_requested"
    DECISION_RECORDED = "decision_recorded"
    # RFC-0005 attachments
    ATTACHMENT_ADDED = "attachment_added"
    # RFC-0007 portfolios
    ADDED_TO_PORTFOLIO = "added_to_portfolio"
    REMOVED_FROM_PORTFOLIO = "removed_from_portfolio"
    # RFC-0009 costs
    BUDGET_ALERT = "budget_alert"
    BUDGET_EXCEEDED = "budget_exceeded"
    # RFC-0010 retries
    FAILURE_RECORDED = "failure_recorded"
    FALLBACK_TRIGGERED = "fallback_triggered"
    RETRIES_EXHAUSTED = "retries_exhausted"
    # RFC-0011 access control
    ACCESS_GRANTED = "access_granted"
    ACCESS_REVOKED = "access_revoked"
    ACCESS_EXPIRED = "access_expired"
    ACCESS_REQUESTED = "access_requested"
    ACCESS_REQUEST_APPROVED = "access_request_approved"
    ACCESS_REQUEST_DENIED = "access_request_denied"


# The types clients cannot post: those that record the server's own bookkeeping of versions, status, graph,
# assignments, leases and portfolios.
SERVER_ONLY = frozenset(
    {
        EventType.INTENT_CREATED,
        EventType.STATE_PATCHED,
        EventType.STATUS_CHANGED,
        EventType.AGENT_ASSIGNED,
        EventType.AGENT_UNASSIGNED,
        EventType.DEPENDENCY_ADDED,
        EventType.DEPENDENCY_REMOVED,
        EventType.LEASE_ACQUIRED,
        EventType.LEASE_RELEASED,
        EventType.ADDED_TO_PORTFOLIO,
        EventType.REMOVED_FROM_PORTFOLIO,
    }
)


def append_event(intent_id, event_type, actor, payload=None):
    """Append one entry to an intent's log. Call it inside the write's transaction.

    When the request being served acts for an agent through a key, the key's principal is recorded as ``via``."""
    event = IntentEvent.objects.create(
        intent_id=intent_id, event_type=event_type, actor=actor, via=acting_via.get(), payload=payload or {}
    )
    transaction.on_commit(lambda: event_committed.send(sender=IntentEvent, event=event))
    return event
