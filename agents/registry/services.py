"""The agent registry and its health (RFC-0016): registration, heartbeats, drains, deregistration and the sweep that
marks silent agents unhealthy and then dead.

Every status change goes through :func:`transition`, which bumps the version and logs an ``agent.lifecycle`` event
with its reason in the agents' log and in the logs of the intents the agent works on (or, when it works on none, in
the intent event log as an entry about the agent alone, for its stream). Each change happens with the
agent's row locked, and the sweep takes only rows no one else holds (``SKIP LOCKED``) and checks them again under
the lock, so with any number of sweeping workers and server processes a transition happens once, with one event.

Lock order, so that nothing here deadlocks with the lease routes: an agent's row, then its leases' rows. A lease
grant locks the intent and then reads the holder's agent row ``FOR SHARE`` (:func:`refuse_leaving_agents`), and
nothing here locks an intent.
"""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from intents.core.models import TERMINAL, AgentAssignment
from intents.leases.models import Lease, LeaseStatus
from openintent_site.api import wire_datetime
from openintent_site.auth import acting_via
from openintent_site.errors import Conflict, InvalidTransition, NotAllowed, NotFound, VersionConflict
from openintent_site.events import SYSTEM_ACTOR, EventType, append_event

from .models import GONE, Agent, AgentCapability, AgentEvent, AgentEventType, AgentStatus

logger = logging.getLogger(__name__)

# Reasons of lifecycle transitions, as events name them (RFC-0016 names the first four).
REGISTERED = "registered"
HEARTBEAT_TIMEOUT = "heartbeat_timeout"
HEARTBEAT_RESUMED = "heartbeat_resumed"
DRAIN_INITIATED = "drain_initiated"
DRAIN_REQUESTED = "drain_requested"
DRAIN_COMPLETE = "drain_complete"
DRAIN_TIMEOUT = "drain_timeout"
RE_REGISTERED = "re_registered"
DEREGISTERED = "deregistered"
MARKED_DEAD = "marked_dead"

# Why a lease ends because of its holder's lifecycle, as lease_released events name it.
LEASE_AGENT_DEAD = "agent_dead"
LEASE_AGENT_DEREGISTERED = "agent_deregistered"

# The intents whose logs a transition is written into: those the agent holds leases on or is assigned to, at most
# this many (an agent assigned to more has its transitions in its own log and in the first ones).
MAX_CONTEXT_INTENTS = 1000

# Statuses a status change (PATCH .../status, the admin) may ask for, and from which statuses. ``unhealthy`` and
# ``active`` are the server's to set from heartbeats and registrations.
REQUESTABLE = {
    AgentStatus.DRAINING: {AgentStatus.ACTIVE, AgentStatus.UNHEALTHY},
    AgentStatus.DEREGISTERED: {AgentStatus.ACTIVE, AgentStatus.UNHEALTHY, AgentStatus.DRAINING},
    AgentStatus.DEAD: {AgentStatus.ACTIVE, AgentStatus.UNHEALTHY, AgentStatus.DRAINING},
}
SET_BY_SERVER = {
    AgentStatus.ACTIVE: "An agent becomes active by registering, and from unhealthy by its next heartbeat",
    AgentStatus.UNHEALTHY: "The server marks an agent unhealthy when its heartbeats stop",
    AgentStatus.REGISTERING: "Registering is not a status an agent can be put in; register instead",
}


class AgentGone(Conflict):
    """A heartbeat of an agent that is dead or deregistered: it must register again (answered 410 Gone)."""

    def __init__(self, agent):
        super().__init__(
            f"Agent is {agent.status}; register it again to take part",
            agent_id=agent.agent_id,
            agent_status=agent.status,
        )


# Who may act on an agent --------------------------------------------------------------------------------------


def is_agent_admin(principal):
    """Whether ``principal`` may heartbeat, drain and deregister any agent: one of OPENINTENT_AGENT_ADMINS, or a
    staff user."""
    if principal.id in settings.OPENINTENT_AGENT_ADMINS:
        return True
    if principal.type != "user":
        return False
    return get_user_model().objects.filter(username=principal.id, is_active=True, is_staff=True).exists()


def require_self_or_admin(agent, principal, what):
    if principal.id != agent.agent_id and not is_agent_admin(principal):
        raise NotAllowed(
            f"Only the agent itself (its key, or a key acting for it with X-Agent-ID) or an administrator may {what}",
            agent_id=agent.agent_id,
        )


# Reading ----------------------------------------------------------------------------------------------------


def get_agent(agent_id, lock=False):
    agents = Agent.objects.select_for_update(no_key=True) if lock else Agent.objects
    agent = agents.filter(pk=agent_id).first() if agent_id and "\x00" not in agent_id else None
    if agent is None:
        raise NotFound("Agent not found")
    return agent


def find_agents(statuses=None, role_id=None, capabilities=None, min_available_capacity=None):
    agents = Agent.objects.all()
    if statuses:
        agents = agents.filter(status__in=statuses)
    if role_id is not None:
        agents = agents.filter(role_id=role_id)
    if capabilities:
        agents = agents.with_any_capability(capabilities)
    if min_available_capacity is not None:
        agents = agents.with_available_capacity(min_available_capacity)
    return agents.order_by("registered_at", "agent_id")


def pools(statuses=(AgentStatus.ACTIVE,)):
    """Agent pools (RFC-0016 section 7): the agents sharing a ``role_id``, with the pool's capacity, counting only
    members in ``statuses``."""
    found = {}
    for agent in find_agents(statuses=statuses).exclude(role_id=None):
        pool = found.setdefault(
            agent.role_id,
            {"role_id": agent.role_id, "members": [], "max_concurrent_tasks": 0, "current_load": 0},
        )
        pool["members"].append(agent.agent_id)
        pool["max_concurrent_tasks"] += agent.max_concurrent_tasks
        pool["current_load"] += agent.current_load
    for pool in found.values():
        pool["available_capacity"] = max(pool["max_concurrent_tasks"] - pool["current_load"], 0)
    return sorted(found.values(), key=lambda pool: pool["role_id"])


def held_leases(agent_id, now=None):
    return Lease.objects.held(now).filter(holder=agent_id)


def agent_events(agent_id):
    """The agent's own log, newest first."""
    return AgentEvent.objects.filter(agent_id=agent_id).order_by("-id")


def recent_events(agent_id, limit=50):
    return agent_events(agent_id)[:limit]


# Logging transitions -----------------------------------------------------------------------------------------


def context_intents(agent_id):
    """The intents an agent works on: those it holds leases on and those it is assigned to that are not finished."""
    leased = Lease.objects.filter(holder=agent_id, status=LeaseStatus.ACTIVE).values_list("intent_id", flat=True)
    assigned = (
        AgentAssignment.objects.filter(agent_id=agent_id)
        .exclude(intent__status__in=TERMINAL)
        .values_list("intent_id", flat=True)
    )
    found = dict.fromkeys([*leased[:MAX_CONTEXT_INTENTS], *assigned[:MAX_CONTEXT_INTENTS]])
    return list(found)[:MAX_CONTEXT_INTENTS]


def log_agent_event(agent_id, event_type, actor, payload, now):
    """Append to the agents' own log, which keeps every event of every agent."""
    AgentEvent.objects.create(
        agent_id=agent_id, event_type=event_type, actor=actor, via=acting_via.get(), payload=payload, created_at=now
    )


def log_lifecycle_for_streams(payload, actor, intents):
    """Put a transition where the agent's live stream, which reads only the intent event log, finds it: on the logs of
    the intents it works on, or, when it works on none (an idle agent drained by an administrator), as one entry of
    the log about the agent alone, which only its own stream delivers."""
    for intent_id in intents or [None]:
        append_event(intent_id, EventType.AGENT_LIFECYCLE, actor, payload)


def log_lifecycle(agent, previous, reason, actor, now, **details):
    payload = {
        "agent_id": agent.agent_id,
        "previous_status": previous,
        "new_status": agent.status,
        "reason": reason,
        "timestamp": wire_datetime(now),
        "version": agent.version,
        **details,
    }
    log_agent_event(agent.agent_id, AgentEventType.LIFECYCLE, actor, payload, now)
    log_lifecycle_for_streams(payload, actor, context_intents(agent.agent_id))


def transition(agent, new_status, reason, actor, now, **details):
    """Move ``agent`` (locked) to ``new_status`` and log it; the caller saves the row."""
    previous = agent.status
    agent.status = new_status
    agent.status_reason = reason
    agent.status_changed_at = now
    agent.version += 1
    log_lifecycle(agent, previous, reason, actor, now, **details)


def end_leases(agent_id, reason, actor, now):
    """End every active lease ``agent_id`` holds, each logged on its intent as ``lease_released`` with ``reason`` (a
    type the 0.9.1 client reads), so that another agent can take the work at once."""
    ended = 0
    for lease in Lease.objects.select_for_update().filter(holder=agent_id, status=LeaseStatus.ACTIVE).order_by("pk"):
        lease.status = LeaseStatus.EXPIRED
        lease.released_at = now
        lease.save(update_fields=["status", "released_at"])
        append_event(
            lease.intent_id,
            EventType.LEASE_RELEASED,
            actor,
            {
                "lease_id": str(lease.pk),
                "scope": lease.scope,
                "reason": reason,
                "agent_id": agent_id,
                "expired_at": wire_datetime(now),
            },
        )
        ended += 1
    return ended


def die(agent, reason, actor, now, **details):
    """The agent is dead: logged, then its leases expired (death causes lease expiry, RFC-0016 section 9.1)."""
    transition(agent, AgentStatus.DEAD, reason, actor, now, **details)
    agent.save()
    return end_leases(agent.agent_id, LEASE_AGENT_DEAD, actor, now)


def deregister_now(agent, reason, actor, now, **details):
    transition(agent, AgentStatus.DEREGISTERED, reason, actor, now, **details)
    agent.save()
    return end_leases(agent.agent_id, LEASE_AGENT_DEREGISTERED, actor, now)


# Registration -----------------------------------------------------------------------------------------------


def new_agent_id():
    return f"agent_{uuid.uuid4().hex}"


def thresholds(config):
    """The heartbeat thresholds of a registration's (validated) ``heartbeat_config``, defaults filled in."""
    config = config or {}
    return {
        "interval_seconds": config.get("interval_seconds") or settings.OPENINTENT_AGENT_HEARTBEAT_INTERVAL_SECONDS,
        "unhealthy_after_seconds": config.get("unhealthy_after_seconds")
        or settings.OPENINTENT_AGENT_UNHEALTHY_AFTER_SECONDS,
        "dead_after_seconds": config.get("dead_after_seconds") or settings.OPENINTENT_AGENT_DEAD_AFTER_SECONDS,
    }


def heard_from(agent, now):
    """The agent was heard from at ``now`` (server receipt time): its silence deadlines move on."""
    agent.last_heartbeat_at = now
    agent.unhealthy_at = now + timedelta(seconds=agent.unhealthy_after_seconds)
    agent.dead_at = now + timedelta(seconds=agent.dead_after_seconds)


def describe(agent, data):
    """Set what a registration says about the agent."""
    capacity = dict(data.get("capacity") or {})
    agent.role_id = data.get("role_id")
    agent.name = data.get("name")
    agent.capabilities = list(dict.fromkeys(data.get("capabilities") or []))
    agent.max_concurrent_tasks = capacity.pop("max_concurrent_tasks", None)
    if agent.max_concurrent_tasks is None:
        agent.max_concurrent_tasks = Agent._meta.get_field("max_concurrent_tasks").default
    agent.current_load = capacity.pop("current_load", None) or 0
    agent.tasks_in_progress = capacity.pop("tasks_in_progress", None) or []
    agent.capacity_extra = capacity
    agent.endpoint = data.get("endpoint")
    for name, value in thresholds(data.get("heartbeat_config")).items():
        setattr(agent, name, value)
    agent.metadata = data.get("metadata") or {}
    agent.drain_timeout_seconds = data.get("drain_timeout_seconds")
    agent.clock_drift_seconds = None
    clear_drain(agent)


def clear_drain(agent):
    agent.draining_since = agent.drain_deadline = None
    agent.drain_requested_by = agent.drain_reason = ""
    agent.drain_acknowledged = False


def save_capabilities(agent):
    AgentCapability.objects.filter(agent=agent).delete()
    AgentCapability.objects.bulk_create([AgentCapability(agent=agent, name=name) for name in agent.capabilities])


@transaction.atomic
def register(data, principal):
    """Register an agent, or register it again. Returns ``(agent, outcome)``, outcome ``"registered"`` (a new id),
    ``"reactivated"`` (a dead or deregistered one, its version reset) or ``"refreshed"``.

    A live agent (active, unhealthy) registered again by itself, by whoever registered it, or by an administrator
    is refreshed in place, as an agent restarting on the same id does; anyone else, or any registration of a
    draining agent, is refused with a conflict (RFC-0016 section 3.3)."""
    agent_id = data.get("agent_id") or new_agent_id()
    now = timezone.now()
    agent = Agent.objects.select_for_update(no_key=True).filter(pk=agent_id).first()
    if agent is None:
        agent = Agent(agent_id=agent_id, registered_at=now, registered_by=principal.id, registered_via=principal.via)
        describe(agent, data)
        heard_from(agent, now)
        agent.status_changed_at = now
        agent.status_reason = REGISTERED
        try:
            with transaction.atomic():
                agent.save(force_insert=True)
        except IntegrityError:
            # Registered meanwhile by another request, whose row is committed now: register again over it.
            agent = get_agent(agent_id, lock=True)
        else:
            save_capabilities(agent)
            log_lifecycle(agent, AgentStatus.REGISTERING, REGISTERED, principal.id, now)
            return agent, "registered"
    if agent.status in GONE:
        previous = agent.status
        describe(agent, data)
        heard_from(agent, now)
        agent.status, agent.version = AgentStatus.ACTIVE, 1
        agent.registered_at, agent.registered_by, agent.registered_via = now, principal.id, principal.via
        agent.status_changed_at, agent.status_reason = now, RE_REGISTERED
        agent.save()
        save_capabilities(agent)
        log_lifecycle(agent, previous, RE_REGISTERED, principal.id, now)
        return agent, "reactivated"
    same_registrant = principal.id in {agent.agent_id, agent.registered_by} or is_agent_admin(principal)
    if agent.status == AgentStatus.DRAINING or not same_registrant:
        raise Conflict(
            "Agent already registered"
            + (
                " and draining: it can register again once deregistered or dead"
                if agent.status == AgentStatus.DRAINING
                else ": only the agent itself or whoever registered it may register it again"
            ),
            agent_id=agent.agent_id,
            current_status=agent.status,
        )
    previous, described = agent.status, description(agent)
    describe(agent, data)
    heard_from(agent, now)
    if previous == AgentStatus.UNHEALTHY:
        transition(agent, AgentStatus.ACTIVE, RE_REGISTERED, principal.id, now)
    elif description(agent) != described:
        agent.version += 1
    agent.save()
    save_capabilities(agent)
    return agent, "refreshed"


def description(agent):
    """What a registration sets, to tell a refresh that changes the agent (a new version) from one that repeats it
    (idempotent: only the silence timer restarts)."""
    return (
        agent.role_id,
        agent.name,
        agent.capabilities,
        agent.max_concurrent_tasks,
        agent.capacity_extra,
        agent.endpoint,
        agent.heartbeat_config,
        agent.metadata,
        agent.drain_timeout_seconds,
    )


# Heartbeats -------------------------------------------------------------------------------------------------


@transaction.atomic
def heartbeat(agent_id, principal, reported_status, current_load, tasks_in_progress, client_timestamp=None):
    """Record a heartbeat at the server's receipt time. Returns ``(agent, now)``.

    An unhealthy agent is active again; a heartbeat reporting ``draining`` starts the agent's drain, or takes up
    the drain the server asked for. A dead or deregistered agent is refused (AgentGone): it must register again."""
    agent = get_agent(agent_id, lock=True)
    require_self_or_admin(agent, principal, "send its heartbeats")
    if agent.status in GONE:
        raise AgentGone(agent)
    now = timezone.now()
    heard_from(agent, now)
    agent.current_load = current_load
    agent.tasks_in_progress = tasks_in_progress
    agent.clock_drift_seconds = None
    if client_timestamp is not None:
        agent.clock_drift_seconds = round((client_timestamp - now).total_seconds(), 3)
        if abs(agent.clock_drift_seconds) > 2 * agent.interval_seconds:
            # RFC-0016 section 4.5: warned about, never used; health goes by the server's clock only.
            logger.warning("agent %s: its clock is %.3f s off the server's", agent.agent_id, agent.clock_drift_seconds)
    if reported_status == AgentStatus.DRAINING:
        if agent.status == AgentStatus.DRAINING:
            agent.drain_acknowledged = True
        else:
            start_drain(agent, principal.id, None, "", acknowledged=True, now=now)
    elif agent.status == AgentStatus.UNHEALTHY:
        transition(agent, AgentStatus.ACTIVE, HEARTBEAT_RESUMED, principal.id, now)
    agent.save()
    return agent, now


def pending_commands(agent):
    """What the heartbeat answer asks of the agent: a drain it has not taken up (RFC-0016 section 5.3)."""
    if not agent.drain_pending:
        return []
    return [
        {
            "command": "drain",
            "reason": agent.drain_reason or DRAIN_REQUESTED,
            "drain_timeout_seconds": agent.drain_timeout_seconds,
            "drain_deadline": wire_datetime(agent.drain_deadline),
            "requested_by": agent.drain_requested_by,
        }
    ]


def next_heartbeat_at(agent, now):
    return now + timedelta(seconds=agent.interval_seconds)


# Status changes ---------------------------------------------------------------------------------------------


def start_drain(agent, actor, timeout_seconds, reason, acknowledged, now):
    """Begin draining: no new leases from here; deregistered once its leases are released (and it has taken the
    drain up), dead at the deadline if it still holds any."""
    timeout_seconds = timeout_seconds or agent.drain_timeout_seconds or settings.OPENINTENT_AGENT_DRAIN_TIMEOUT_SECONDS
    agent.drain_timeout_seconds = timeout_seconds
    agent.draining_since = now
    agent.drain_deadline = now + timedelta(seconds=timeout_seconds)
    agent.drain_requested_by = actor
    agent.drain_reason = reason
    agent.drain_acknowledged = acknowledged
    details = {"drain_timeout_seconds": timeout_seconds, "drain_deadline": wire_datetime(agent.drain_deadline)}
    if not acknowledged:
        details["command"] = "drain"
        details["note"] = reason
    transition(agent, AgentStatus.DRAINING, DRAIN_INITIATED if acknowledged else DRAIN_REQUESTED, actor, now, **details)


@transaction.atomic
def change_status(
    agent_id, new_status, principal, drain_timeout_seconds=None, reason="", expected_version=None, trusted=False
):
    """A status change asked for through the API (``principal``) or the admin (``trusted``, ``principal`` the
    administrator): drain, deregister, or mark dead. Asking for the current status changes nothing."""
    agent = get_agent(agent_id, lock=True)
    if not trusted:
        require_self_or_admin(agent, principal, "change its status")
    if expected_version is not None and expected_version != agent.version:
        raise VersionConflict(agent.version)
    if new_status == agent.status:
        return agent
    if new_status in SET_BY_SERVER:
        raise InvalidTransition(agent.status, new_status, message=SET_BY_SERVER[new_status])
    if agent.status not in REQUESTABLE[new_status]:
        allowed = [status for status, sources in REQUESTABLE.items() if agent.status in sources]
        message = None
        if agent.status in GONE:
            message = f"Agent is {agent.status}; register it again to take part"
        raise InvalidTransition(agent.status, new_status, allowed=allowed, message=message)
    now = timezone.now()
    details = {"note": reason} if reason else {}
    if new_status == AgentStatus.DRAINING:
        by_itself = principal.id == agent.agent_id
        start_drain(agent, principal.id, drain_timeout_seconds, reason, acknowledged=by_itself, now=now)
        agent.save()
    elif new_status == AgentStatus.DEREGISTERED:
        deregister_now(agent, DEREGISTERED, principal.id, now, **details)
    else:
        die(agent, MARKED_DEAD, principal.id, now, **details)
    return agent


def deregister(agent_id, principal, trusted=False):
    """Immediate deregistration (``DELETE /agents/{id}``): the agent leaves now and its leases end."""
    return change_status(agent_id, AgentStatus.DEREGISTERED, principal, trusted=trusted)


# Drains ending ----------------------------------------------------------------------------------------------


@transaction.atomic
def complete_drain_if_idle(agent_id):
    """Deregister a draining agent that has taken up its drain and holds no lease any more. Returns whether it did."""
    agent = Agent.objects.select_for_update(no_key=True).filter(pk=agent_id, status=AgentStatus.DRAINING).first()
    if agent is None or not agent.drain_acknowledged:
        return False
    now = timezone.now()
    if held_leases(agent_id, now).exists():
        return False
    transition(agent, AgentStatus.DEREGISTERED, DRAIN_COMPLETE, SYSTEM_ACTOR, now)
    agent.save()
    return True


def on_event_committed(sender, event, **kwargs):
    """A draining agent whose holder released its last lease is deregistered at once (the sweep catches the rest:
    leases that expired or were revoked)."""
    if event.event_type != EventType.LEASE_RELEASED or event.actor == SYSTEM_ACTOR:
        return
    try:
        if is_draining(event.actor):
            complete_drain_if_idle(event.actor)
    except Exception:
        # The release has committed and its answer is on the way; the sweep completes the drain if this failed.
        logger.exception("could not complete the drain of agent %s", event.actor)


def is_draining(agent_id):
    """Whether ``agent_id`` is draining and has said so. Plain SQL: it is asked after every lease release."""
    table = connection.ops.quote_name(Agent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE agent_id = %s AND status = %s AND drain_acknowledged",
            [agent_id, str(AgentStatus.DRAINING)],
        )
        return cursor.fetchone() is not None


def refuse_leaving_agents(intent, scope, holder):
    """A lease grant check (``intents.leases.services.GRANT_CHECKS``): an agent that is draining takes no new work
    (RFC-0016 section 9.3), nor one that is dead or deregistered until it registers again.

    The row is read ``FOR SHARE``: a death or drain under way finishes first (and finds this grant's lease once it
    commits, if it comes second), so no lease is granted to an agent that has just died."""
    table = connection.ops.quote_name(Agent._meta.db_table)
    share = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {table} WHERE agent_id = %s{share}", [holder])
        row = cursor.fetchone()
    if row is None or row[0] not in {AgentStatus.DRAINING, *GONE}:
        return
    status = row[0]
    why = "takes no new work while it drains" if status == AgentStatus.DRAINING else "must register again first"
    raise Conflict(f"Agent {holder} is {status} and {why}", agent_id=holder, agent_status=status)


# The health sweep --------------------------------------------------------------------------------------------


def sweep_step(condition, act, batch_size):
    """Apply ``act(agent, now)`` to every agent matching ``condition``, in batches, each agent locked and matched
    again under its lock. Rows another worker holds are skipped: that worker is moving them."""
    done, seen = 0, set()
    while True:
        with transaction.atomic():
            now = timezone.now()
            batch = list(
                Agent.objects.filter(condition(now))
                .exclude(pk__in=seen)
                .select_for_update(no_key=True, skip_locked=True)
                .order_by("pk")[:batch_size]
            )
            for agent in batch:
                seen.add(agent.pk)
                if Agent.objects.filter(condition(now), pk=agent.pk).exists():
                    act(agent, now)
                    done += 1
        if len(batch) < batch_size:
            return done


def silent_past_unhealthy(now):
    return Q(status=AgentStatus.ACTIVE, unhealthy_at__lte=now)


def silent_past_dead(now):
    return Q(status__in=[AgentStatus.UNHEALTHY, AgentStatus.DRAINING], dead_at__lte=now)


def drain_out_of_time(now):
    return Q(status=AgentStatus.DRAINING, drain_deadline__lte=now)


def drained(now):
    still_held = Lease.objects.held(now).filter(holder=OuterRef("pk"))
    return Q(status=AgentStatus.DRAINING, drain_acknowledged=True) & ~Exists(still_held)


def mark_unhealthy(agent, now):
    silence = round((now - agent.last_heartbeat_at).total_seconds(), 3)
    transition(agent, AgentStatus.UNHEALTHY, HEARTBEAT_TIMEOUT, SYSTEM_ACTOR, now, silent_seconds=silence)
    agent.save()


def mark_dead(agent, now):
    silence = round((now - agent.last_heartbeat_at).total_seconds(), 3)
    die(agent, HEARTBEAT_TIMEOUT, SYSTEM_ACTOR, now, silent_seconds=silence)


def end_drain(agent, now):
    """At the drain's deadline: deregistered if the agent holds no lease, else a warning, death and its leases
    expired (RFC-0016 section 5.2)."""
    leases = list(held_leases(agent.agent_id, now).values_list("pk", flat=True))
    if not leases:
        transition(agent, AgentStatus.DEREGISTERED, DRAIN_TIMEOUT, SYSTEM_ACTOR, now)
        agent.save()
        return
    warning = {
        "agent_id": agent.agent_id,
        "reason": DRAIN_TIMEOUT,
        "leases_held": [str(pk) for pk in leases],
        "drain_deadline": wire_datetime(agent.drain_deadline),
        "timestamp": wire_datetime(now),
    }
    log_agent_event(agent.agent_id, AgentEventType.DRAIN_TIMEOUT, SYSTEM_ACTOR, warning, now)
    die(agent, DRAIN_TIMEOUT, SYSTEM_ACTOR, now, leases_held=len(leases))


def complete_drain(agent, now):
    transition(agent, AgentStatus.DEREGISTERED, DRAIN_COMPLETE, SYSTEM_ACTOR, now)
    agent.save()


def sweep_health(batch_size=200):
    """One pass of the health monitor. Returns how many agents each step moved. Safe in several workers at once.

    The steps run in the order an agent's silence goes through them, so one pass takes an agent silent past both
    thresholds through unhealthy to dead, each transition logged."""
    return {
        "unhealthy": sweep_step(silent_past_unhealthy, mark_unhealthy, batch_size),
        "dead": sweep_step(silent_past_dead, mark_dead, batch_size),
        "drain_timed_out": sweep_step(drain_out_of_time, end_drain, batch_size),
        "drained": sweep_step(drained, complete_drain, batch_size),
    }
