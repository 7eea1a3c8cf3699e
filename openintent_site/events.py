"""The intent event log's one way in, and the names of the events the server writes.

Every app appends through :func:`append_event`, inside the transaction of the write the event records, so an
event exists exactly when its write does. Listeners of :data:`event_committed` (stream hubs, webhook deliveries,
portfolio completion) hear of an event only once that transaction has committed.
"""

import functools

from django.db import connections, models, router, transaction
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
    # RFC-0016 agent lifecycle: a transition of an agent working on the intent (the agents app keeps every one), or,
    # without an intent, of an agent that works on none
    AGENT_LIFECYCLE = "agent.lifecycle"
    # RFC-0015 agent memory, on the log of the intent an entry's scope names (never the value)
    MEMORY_CREATED = "memory.created"
    MEMORY_UPDATED = "memory.updated"
    MEMORY_DELETED = "memory.deleted"
    MEMORY_EVICTED = "memory.evicted"
    MEMORY_EXPIRED = "memory.expired"
    # RFC-0014 credential vaults and tool grants (names as the RFC and the 0.9.1 client's EventType write them)
    TOOL_INVOKED = "tool.invoked"
    TOOL_DENIED = "tool.denied"
    GRANT_CREATED = "grant.created"
    GRANT_DELEGATED = "grant.delegated"
    GRANT_REVOKED = "grant.revoked"
    GRANT_EXPIRED = "grant.expired"
    GRANT_SUSPENDED = "grant.suspended"
    GRANT_RESUMED = "grant.resumed"
    CREDENTIAL_CREATED = "credential.created"
    CREDENTIAL_ROTATED = "credential.rotated"
    CREDENTIAL_EXPIRED = "credential.expired"
    CREDENTIAL_REVOKED = "credential.revoked"
    # RFC-0012 tasks and plans: the RFC's names, every one of which the 0.9.1 client's EventType reads back
    TASK_CREATED = "task.created"
    TASK_READY = "task.ready"
    TASK_CLAIMED = "task.claimed"
    TASK_STARTED = "task.started"
    TASK_PROGRESS = "task.progress"
    TASK_COMPLETED = "task.completed"
    TASK_FAILED = "task.failed"
    TASK_RETRYING = "task.retrying"
    TASK_BLOCKED = "task.blocked"
    TASK_UNBLOCKED = "task.unblocked"
    TASK_DELEGATED = "task.delegated"
    TASK_ESCALATED = "task.escalated"
    TASK_CANCELLED = "task.cancelled"
    TASK_SKIPPED = "task.skipped"
    PLAN_CREATED = "plan.created"
    PLAN_ACTIVATED = "plan.activated"
    PLAN_PAUSED = "plan.paused"
    PLAN_RESUMED = "plan.resumed"
    PLAN_COMPLETED = "plan.completed"
    PLAN_FAILED = "plan.failed"
    PLAN_CHECKPOINT_REACHED = "plan.checkpoint_reached"
    PLAN_CHECKPOINT_APPROVED = "plan.checkpoint_approved"
    PLAN_CHECKPOINT_REJECTED = "plan.checkpoint_rejected"
    # RFC-0013 coordinators: only the names the 0.9.1 client's EventType reads back. A lease's grant and end are
    # logged as lease_acquired / lease_released, guardrail hits are kept by governance (GuardrailHit), a budget
    # warning is a budget_alert and a supervisor's plan review a decision_recorded.
    COORDINATOR_DECISION = "coordinator.decision"
    COORDINATOR_HEARTBEAT = "coordinator.heartbeat"
    COORDINATOR_PAUSED = "coordinator.paused"
    COORDINATOR_RESUMED = "coordinator.resumed"
    COORDINATOR_REPLACED = "coordinator.replaced"
    COORDINATOR_UNRESPONSIVE = "coordinator.unresponsive"
    COORDINATOR_FAILED_OVER = "coordinator.failed_over"
    COORDINATOR_HANDOFF = "coordinator.handoff"
    COORDINATOR_GUARDRAILS_UPDATED = "coordinator.guardrails_updated"


# The types clients cannot post: those that record the server's own bookkeeping of versions, status, graph,
# assignments, leases, portfolios, tasks and plans.
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
        EventType.AGENT_LIFECYCLE,
        EventType.MEMORY_CREATED,
        EventType.MEMORY_UPDATED,
        EventType.MEMORY_DELETED,
        EventType.MEMORY_EVICTED,
        EventType.MEMORY_EXPIRED,
        EventType.TOOL_INVOKED,
        EventType.TOOL_DENIED,
        EventType.GRANT_CREATED,
        EventType.GRANT_DELEGATED,
        EventType.GRANT_REVOKED,
        EventType.GRANT_EXPIRED,
        EventType.GRANT_SUSPENDED,
        EventType.GRANT_RESUMED,
        EventType.CREDENTIAL_CREATED,
        EventType.CREDENTIAL_ROTATED,
        EventType.CREDENTIAL_EXPIRED,
        EventType.CREDENTIAL_REVOKED,
        # Tasks and plans move only through their routes, which log each move.
        *(kind for kind in EventType if kind.value.startswith(("task.", "plan.", "coordinator."))),
    }
)


def append_event(intent_id, event_type, actor, payload=None):
    """Append one entry to an intent's log. Call it inside the write's transaction.

    ``intent_id`` None appends an entry about an agent as a whole (``IntentEvent``): only the agent registry writes
    those, for an agent's transitions while it works on no intent, and only that agent's stream reads them.

    When the request being served acts for an agent through a key, the key's principal is recorded as ``via``."""
    event = IntentEvent(
        intent_id=intent_id, event_type=event_type, actor=actor, via=acting_via.get(), payload=payload or {}
    )
    insert(event)
    transaction.on_commit(lambda: event_committed.send(sender=IntentEvent, event=event))
    return event


# The columns append_event writes; the database fills in id and txid (its default), which come back.
WRITTEN = ("intent", "event_type", "actor", "via", "payload", "created_at")


def insert(event):
    """INSERT ``event`` with a statement written once per database: every write of the server appends at least one
    event, and composing the INSERT through the ORM (``objects.create``) cost 0.15 ms of CPU each time."""
    connection = connections[router.db_for_write(IntentEvent)]
    sql = insert_sql(connection.alias)
    fields = [IntentEvent._meta.get_field(name) for name in WRITTEN]
    params = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        event.id, event.txid = cursor.fetchone()
    event._state.adding = False
    event._state.db = connection.alias


@functools.cache
def insert_sql(alias):
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(IntentEvent._meta.get_field(name).column) for name in WRITTEN)
    placeholders = ", ".join(["%s"] * len(WRITTEN))
    return (
        f"INSERT INTO {quote(IntentEvent._meta.db_table)} ({columns}) VALUES ({placeholders}) "
        f"RETURNING {quote('id')}, {quote('txid')}"
    )
