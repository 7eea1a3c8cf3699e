"""Which events an event trigger hears (RFC-0017 §3): the names of §3.2 that each event of the log stands for, and
the exact-or-glob ``filter``.

The log writes 0.9.1's names (``intent_created``, ``status_changed``, ``lease_acquired``…); a trigger may listen for
those, for the RFC's names they stand for, or for any other type a client posts (``x-deploy-finished``)."""

from fnmatch import fnmatchcase

from openintent_site.events import EventType

# The RFC-0017 §3.2 names, and which name of the log each comes from. Several need the payload to decide.
INTENT_RFC_NAMES = {
    EventType.INTENT_CREATED: ["intent.created"],
    EventType.LEASE_ACQUIRED: ["lease.claimed", "lease.acquired"],
}


def names_of(event_type, payload):
    """Every name the event answers to: its own type, and the RFC-0017 names it stands for."""
    names = {event_type}
    names.update(INTENT_RFC_NAMES.get(event_type, ()))
    if event_type == EventType.STATUS_CHANGED:
        names.add("intent.state_changed")
        if payload.get("status") == "completed":
            names.update(("intent.resolved", "intent.completed"))
        elif payload.get("status") == "abandoned":
            names.update(("intent.failed", "intent.abandoned"))
    elif event_type == EventType.LEASE_RELEASED:
        names.add("lease.expired" if payload.get("reason") in ("expired", "agent_dead") else "lease.released")
    elif event_type == EventType.AGENT_LIFECYCLE:
        names.add("agent.status_changed")
        if payload.get("previous_status") is None or payload.get("reason") == "registered":
            names.add("agent.registered")
        if payload.get("new_status") == "dead":
            names.add("agent.dead")
    return names


def occurrence(event):
    """What an event stands for, once: the event itself, except an agent's transition, which the registry logs on
    the log of each intent the agent works on (the same payload each time) and which is one happening."""
    payload = event.payload or {}
    if event.event_type == EventType.AGENT_LIFECYCLE and payload.get("agent_id"):
        parts = (payload.get("agent_id"), payload.get("version"), payload.get("new_status"), payload.get("timestamp"))
        return "agent:" + ":".join(str(part) for part in parts)[:290]
    return f"event:{event.pk}"


def document(event, intent):
    """What a filter and a template's ``event.*`` read: the payload's keys at the top, the RFC's names for the
    status change (``from_state``, ``to_state``), and the event's own fields and its intent's (``intent.type``)."""
    payload = event.payload or {}
    found = {**payload}
    if event.event_type == EventType.STATUS_CHANGED:
        found.setdefault("from_state", payload.get("previous_status"))
        found.setdefault("to_state", payload.get("status"))
    found.update(
        event_id=event.pk,
        event_type=event.event_type,
        actor=event.actor,
        intent_id=str(event.intent_id) if event.intent_id else None,
        created_at=event.created_at.isoformat() if event.created_at else None,
        payload=payload,
    )
    if intent is not None:
        found["intent"] = {
            "id": str(intent.pk),
            "title": intent.title,
            "status": intent.status,
            "type": intent.type,
            "namespace": intent.namespace,
            "priority": intent.priority,
            "tags": intent.tags,
        }
        for key in ("type", "namespace", "priority"):
            found.setdefault(key, getattr(intent, key))
        found.setdefault("intent_type", intent.type)
    return found


def lookup(found, path):
    value = found
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def matches(condition_filter, found):
    """Whether every key of the filter (a dotted path into the document) has the value asked: equal, or, for a
    string with ``*``, ``?`` or ``[``, matching it as a glob."""
    for path, expected in (condition_filter or {}).items():
        actual = lookup(found, path)
        if isinstance(expected, str) and any(char in expected for char in "*?["):
            if actual is None or not fnmatchcase(str(actual), expected):
                return False
        elif actual != expected:
            return False
    return True
