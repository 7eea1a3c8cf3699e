"""What live streams (RFC-0006) deliver, read from the durable event log.

A stream follows one topic: an intent, an agent (the intents assigned to it and the events naming it) or a
portfolio (its members' events). It walks the log in commit order (``IntentEvent.txid``, then ``id``), so that a
subscriber who reconnects with the last id it saw gets exactly what it missed. Everything here is synchronous
database work; ``intents.streams.hub`` runs it for the subscribers of a server process.

Entries of the log without an intent are about an agent as a whole (the registry writes them for an agent that works
on no intent): only that agent's stream carries them, and only to the agent itself, that is a subscriber whose
principal is the agent (its own key, or a key acting for it with X-Agent-ID).
"""

import json
from dataclasses import dataclass, field
from functools import cached_property

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from intents.access.models import PERMISSION_RANK, Permission
from intents.access.policy import permission_of
from intents.core.models import AgentAssignment
from intents.core.services import get_intent
from intents.portfolios.models import PortfolioMembership
from intents.portfolios.services import get_portfolio
from openintent_site.api import wire_datetime
from openintent_site.errors import NotFound
from openintent_site.events import EventType
from openintent_site.models import IntentEvent

BATCH = 500

# The names the 0.9.1 SDK dispatches its handlers on; any other event type travels as its upper-case form.
SDK_EVENT_NAMES = {
    EventType.STATE_PATCHED: "STATE_CHANGED",
    EventType.STATUS_CHANGED: "STATUS_CHANGED",
    EventType.AGENT_ASSIGNED: "AGENT_ASSIGNED",
    EventType.LEASE_ACQUIRED: "LEASE_ACQUIRED",
    EventType.LEASE_RELEASED: "LEASE_RELEASED",
}

# The events that make an intent part of an agent's or a portfolio's stream, and those that end it.
JOINS = frozenset({EventType.AGENT_ASSIGNED, EventType.ADDED_TO_PORTFOLIO})
LEAVES = frozenset({EventType.AGENT_UNASSIGNED, EventType.REMOVED_FROM_PORTFOLIO})

# After these, what a principal may read on the intent can have changed.
ACCESS_EVENT_PREFIXES = ("access_", "acl_", EventType.AGENT_ASSIGNED, EventType.AGENT_UNASSIGNED)


# Positions in the log ----------------------------------------------------------------------------------------

START = (-1, 0)


# The smallest transaction id that may still be running, in the snapshot of the statement that reads it. Rows
# written by transactions below it are all visible in that snapshot, and no other such row can ever appear. It
# must come from the snapshot the rows are read in (or an earlier one): a transaction that ended in between would
# otherwise count as settled while its rows were still hidden from the read.
HORIZON_SQL = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def settled_horizon():
    """The horizon now, or None where every visible row is settled (SQLite serialises its writers)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {HORIZON_SQL}")
        return cursor.fetchone()[0]


def after(queryset, position):
    txid, event_id = position
    return queryset.filter(txid__gte=txid).exclude(txid=txid, id__lte=event_id).order_by("txid", "id")


def whole_log_after(position, limit):
    """The log after ``position``, with the horizon of the same snapshot on PostgreSQL.

    The hubs of every server process run this after every commit, so it is written out: building it with the ORM
    took two thirds of its time."""
    horizon = HORIZON_SQL if connection.vendor == "postgresql" else "NULL"
    table = IntentEvent._meta.db_table
    sql = (
        f"SELECT id, txid, intent_id, event_type, actor, via, payload, created_at, {horizon} AS horizon FROM {table} "
        "WHERE (txid, id) > (%s, %s) ORDER BY txid, id LIMIT %s"
    )
    return list(IntentEvent.objects.raw(sql, [*position, limit]))


def settled_after(position, queryset=None, limit=BATCH):
    """Settled events after ``position`` in commit order: (events, position reached, whether more are pending).

    "Pending" means committed rows are held back behind a transaction still running, or the batch was full."""
    if queryset is None:
        rows = whole_log_after(position, limit)
    elif connection.vendor == "postgresql":
        rows = list(after(queryset, position).annotate(horizon=RawSQL(HORIZON_SQL, []))[:limit])
    else:
        rows = list(after(queryset, position)[:limit])
    # The horizon comes from the statement that read the rows: one snapshot.
    settled = [row for row in rows if row.txid < row.horizon] if connection.vendor == "postgresql" else rows
    reached = (settled[-1].txid, settled[-1].id) if settled else position
    return [StreamEvent(row) for row in settled], reached, len(settled) < len(rows) or len(rows) == limit


def head():
    """The position after which everything still to come will be new."""
    horizon = settled_horizon()
    if horizon is not None:
        return (horizon - 1, 2**63 - 1)
    last = IntentEvent.objects.order_by("-txid", "-id").values_list("txid", "id").first()
    return last or START


def position_of(last_event_id):
    """Where a subscriber that last saw ``last_event_id`` resumes; None when the id means nothing here."""
    try:
        event_id = int(str(last_event_id).strip())
    except ValueError:
        return None
    txid = IntentEvent.objects.filter(pk=event_id).values_list("txid", flat=True).first()
    if txid is None:
        return None
    return (txid, event_id)


# Events as streams carry them --------------------------------------------------------------------------------


class StreamEvent:
    """One logged event, encoded once however many subscribers receive it."""

    def __init__(self, row):
        self.id = row.id
        self.position = (row.txid, row.id)
        self.intent_id = None if row.intent_id is None else str(row.intent_id)
        self.event_type = row.event_type
        self.actor = row.actor
        self.via = row.via or None
        self.payload = row.payload if isinstance(row.payload, dict) else {}
        self.created_at = row.created_at

    @property
    def name(self):
        return SDK_EVENT_NAMES.get(self.event_type, self.event_type.upper())

    @cached_property
    def data(self):
        """The event object of the REST API, with the payload's keys beside it for the SDK's handlers."""
        data = {
            **self.payload,
            "id": str(self.id),
            "intent_id": self.intent_id,
            "event_type": self.event_type,
            "actor": self.actor,
            "via": self.via,
            "payload": self.payload,
            "created_at": wire_datetime(self.created_at),
        }
        if self.event_type == EventType.STATUS_CHANGED:
            data["new_status"] = self.payload.get("status")
            data["old_status"] = self.payload.get("previous_status")
        return data

    @cached_property
    def sse(self):
        data = json.dumps(self.data, separators=(",", ":"), default=str)
        return f"id: {self.id}\nevent: {self.name}\ndata: {data}\n\n".encode()

    @cached_property
    def websocket(self):
        return json.dumps({"id": str(self.id), "event": self.name, "data": self.data}, separators=(",", ":"))

    @property
    def changes_access(self):
        return self.event_type.startswith(ACCESS_EVENT_PREFIXES)


# Topics ------------------------------------------------------------------------------------------------------


@dataclass
class Topic:
    """What one subscriber follows, and which intents it currently spans (agents and portfolios)."""

    kind: str
    key: str
    principal_id: str
    intent_ids: set = field(default_factory=set)
    readable: dict = field(default_factory=dict)
    changed_since: set = field(default_factory=set)

    def load_related(self):
        if self.kind == "agent":
            rows = AgentAssignment.objects.filter(agent_id=self.key)
        elif self.kind == "portfolio":
            rows = PortfolioMembership.objects.filter(portfolio_id=self.key)
        else:
            return
        self.intent_ids = {str(pk) for pk in rows.values_list("intent_id", flat=True)}

    def naming(self):
        return Q(payload__agent_id=self.key) if self.kind == "agent" else Q(payload__portfolio_id=self.key)

    def log(self, also=()):
        """The part of the log this topic draws on, for replays."""
        if self.kind == "intent":
            return IntentEvent.objects.filter(intent_id=self.key)
        return IntentEvent.objects.filter(self.naming() | Q(intent_id__in=[*self.intent_ids, *also]))

    def rewind(self, position):
        """Set the intents spanned to those of ``position``, from today's and the joins and leaves since.

        Returns the intents that joined or left since: a replay reads their events too, and ``follow`` keeps those
        of the times they belonged."""
        if self.kind == "intent":
            return set()
        self.load_related()
        first_change = {}
        changes = after(IntentEvent.objects.filter(self.naming(), event_type__in=JOINS | LEAVES), position)
        for intent_id, event_type in changes.values_list("intent_id", "event_type"):
            first_change.setdefault(str(intent_id), event_type)
        joined_since = {pk for pk, event_type in first_change.items() if event_type in JOINS}
        left_since = {pk for pk, event_type in first_change.items() if event_type in LEAVES}
        self.intent_ids = (self.intent_ids - joined_since) | left_since
        return set(first_change)

    def follow(self, event):
        """Whether ``event`` belongs to this topic, updating the intents it spans as assignments come and go."""
        if self.kind == "intent":
            return event.intent_id == self.key
        if event.intent_id is None:
            return self.kind == "agent" and event.payload.get("agent_id") == self.key
        named = event.payload.get("agent_id" if self.kind == "agent" else "portfolio_id") == self.key
        if named:
            if event.event_type in JOINS:
                self.intent_ids.add(event.intent_id)
            elif event.event_type in LEAVES:
                self.intent_ids.discard(event.intent_id)
                return True
        return named or event.intent_id in self.intent_ids

    def forget_access(self, event):
        if event.changes_access:
            self.readable.pop(event.intent_id, None)

    def known_readable(self, intent_id):
        """True or False when the answer is cached, None when ``may_read`` has to ask the database."""
        if intent_id is None:
            return self.reads_agent_events
        return self.readable.get(intent_id)

    @property
    def reads_agent_events(self):
        """Whether the subscriber may read the entries about this topic's agent as a whole: only the agent may. An
        administrator follows them by acting for the agent (X-Agent-ID, with a key that may act for it) or on the
        agent's page in the admin."""
        return self.kind == "agent" and self.principal_id == self.key

    def may_read(self, intent_id):
        if intent_id is None:
            return self.reads_agent_events
        try:
            intent = get_intent(intent_id)
        except NotFound:
            allowed = False
        else:
            held = permission_of(intent, self.principal_id)
            allowed = PERMISSION_RANK[held] >= PERMISSION_RANK[Permission.READ]
        self.remember_readable(intent_id, allowed)
        return allowed

    def remember_readable(self, intent_id, allowed):
        self.readable[intent_id] = allowed


def open_topic(kind, key, principal_id):
    """The topic a principal asks to follow; 404 for an unknown intent or portfolio, 403 without read access."""
    if kind == "intent":
        intent = get_intent(key, principal_id=principal_id, needs=Permission.READ)
        topic = Topic(kind, str(intent.pk), principal_id)
        topic.readable[topic.key] = True
    elif kind == "portfolio":
        topic = Topic(kind, str(get_portfolio(key, principal_id).pk), principal_id)
    elif "\x00" in key:  # no agent id holds one, and PostgreSQL text cannot
        raise NotFound("Agent not found")
    else:
        topic = Topic(kind, key, principal_id)
    topic.load_related()
    return topic


def committed_after(topic, position, limit=10 * BATCH):
    """Ids of the topic's events after ``position`` that are already committed, settled or not.

    A subscriber that starts at the hub's position has not asked for these: they were written before it came."""
    return set(after(topic.log(), position).values_list("id", flat=True)[:limit])


def replay(topic, position, until, first):
    """One batch of the topic's settled events after ``position`` up to ``until``, in commit order, and whether
    it is the last. ``first`` starts a replay: the topic is set back to the intents it spanned at ``position``."""
    if first:
        topic.changed_since = topic.rewind(position)
    batch, reached, _ = settled_after(position, topic.log(also=topic.changed_since))
    within = [event for event in batch if event.position <= until]
    return within, len(within) < len(batch) or len(batch) < BATCH or reached >= until
