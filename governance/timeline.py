"""One readable line per logged event, for the intent page's timeline: what happened, in words, from its payload.

Types without a sentence of their own (custom ones agents post) read as their name and the payload's first keys; the
whole payload is always one click away on the page."""

from collections.abc import Callable

from intents.costs.services import LIMIT_NAMES
from openintent_site.events import EventType


def keys(payload):
    names = sorted(payload)[:4]
    return ", ".join(names) + ("…" if len(payload) > 4 else "")


def short(value, limit=40):
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fields(payload):
    """The payload's first keys with their values when they are short scalars (``n=3, text=hello``)."""
    shown = [
        f"{name}={short(payload[name])}" if isinstance(payload[name], str | int | float | bool) else f"{name}=…"
        for name in sorted(payload)[:4]
    ]
    return ", ".join(shown) + (", …" if len(payload) > 4 else "")


def of(payload, name, default="?"):
    value = payload.get(name, default)
    return default if value in (None, "") else value


def limit(payload):
    name = of(payload, "limit")
    return LIMIT_NAMES.get(name, name).lower()


def dollars(cents):
    try:
        return f"${float(cents) / 100:,.2f}"
    except (TypeError, ValueError):
        return "?"


SENTENCES: dict[str, Callable[[dict], str]] = {
    EventType.INTENT_CREATED: lambda p: f"Created “{of(p, 'title', '')}”".replace("“”", "").strip(),
    EventType.STATE_PATCHED: lambda p: f"State changed: {keys(p.get('patch') or p.get('state') or p)}",
    EventType.STATUS_CHANGED: lambda p: (
        f"Status {of(p, 'previous_status')} → {of(p, 'status')}" + (f" ({p['reason']})" if p.get("reason") else "")
    ),
    EventType.AGENT_ASSIGNED: lambda p: f"Assigned {of(p, 'agent_id')}" + (" again (retry)" if p.get("retry") else ""),
    EventType.AGENT_UNASSIGNED: lambda p: f"Unassigned {of(p, 'agent_id')}",
    EventType.DEPENDENCY_ADDED: lambda p: f"Now depends on {of(p, 'dependency_id')}",
    EventType.DEPENDENCY_REMOVED: lambda p: f"No longer depends on {of(p, 'dependency_id')}",
    EventType.LEASE_ACQUIRED: lambda p: f"Lease on “{of(p, 'scope')}” taken",
    EventType.LEASE_RELEASED: lambda p: (
        f"Lease on “{of(p, 'scope')}” ended" + (f" ({p['reason']})" if p.get("reason") else "")
    ),
    EventType.ARBITRATION_REQUESTED: lambda p: f"Arbitration asked for: {of(p, 'reason')}",
    EventType.DECISION_RECORDED: lambda p: (
        f"Decided “{of(p, 'outcome')}”" + (f" because {p['rationale']}" if p.get("rationale") else "")
    ),
    EventType.ATTACHMENT_ADDED: lambda p: f"Attached {of(p, 'filename', of(p, 'name'))}",
    EventType.ADDED_TO_PORTFOLIO: lambda p: f"Added to portfolio {of(p, 'portfolio_name', of(p, 'portfolio_id'))}",
    EventType.REMOVED_FROM_PORTFOLIO: lambda p: f"Removed from portfolio {of(p, 'portfolio_id')}",
    EventType.BUDGET_ALERT: lambda p: (
        f"Budget alert: {dollars(p.get('spent_cents'))} spent of {dollars(p.get('limit_cents'))} ({limit(p)})"
    ),
    EventType.BUDGET_EXCEEDED: lambda p: (
        f"Budget exceeded: {dollars(p.get('spent_cents'))} spent, limit {dollars(p.get('limit_cents'))} ({limit(p)})"
    ),
    EventType.BUDGET_OVERRUN_ACKNOWLEDGED: lambda p: f"Budget overrun acknowledged ({limit(p)})",
    EventType.FAILURE_RECORDED: lambda p: (
        f"{of(p, 'agent_id')} failed: {of(p, 'error_code')}"
        + (f", retry at {p['retry_scheduled_at']}" if p.get("retry_scheduled_at") else "")
    ),
    EventType.FALLBACK_TRIGGERED: lambda p: f"Work passed from {of(p, 'from_agent_id')} to {of(p, 'to_agent_id')}",
    EventType.RETRIES_EXHAUSTED: lambda p: f"Retries exhausted for {of(p, 'agent_id')} after {of(p, 'attempts')}",
    EventType.ACCESS_GRANTED: lambda p: (
        f"Access policy set to {p['default_policy']}"
        if p.get("action") == "policy_set"
        else f"{of(p, 'principal_id')} may {of(p, 'permission')}"
    ),
    EventType.ACCESS_REVOKED: lambda p: f"Access of {of(p, 'principal_id')} revoked",
    EventType.ACCESS_EXPIRED: lambda p: f"Access of {of(p, 'principal_id')} expired",
    EventType.ACCESS_REQUESTED: lambda p: f"{of(p, 'principal_id')} asks for {of(p, 'requested_permission')}",
    EventType.ACCESS_REQUEST_APPROVED: lambda p: f"Access request of {of(p, 'principal_id')} approved",
    EventType.ACCESS_REQUEST_DENIED: lambda p: f"Access request of {of(p, 'principal_id')} denied",
}


def sentence(event):
    payload = event.payload if isinstance(event.payload, dict) else {}
    write = SENTENCES.get(event.event_type)
    if write is not None:
        try:
            return write(payload)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    readable = event.event_type.replace("_", " ").replace(".", " ")
    return f"{readable[:1].upper()}{readable[1:]}" + (f": {fields(payload)}" if payload else "")
