"""When a schedule trigger is due (RFC-0017 §2): a 5-field cron expression read in the trigger's IANA timezone,
within its ``starts_at``/``ends_at`` window, or a one-shot ``at``. Times are stored and compared in UTC."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


def zone(name):
    """The IANA timezone ``name``, or None when there is no such zone."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def valid_cron(expression):
    """Whether ``expression`` is a 5-field cron expression (minute hour day-of-month month day-of-week)."""
    return isinstance(expression, str) and len(expression.split()) == 5 and croniter.is_valid(expression)


def as_utc(naive):
    """A naive UTC datetime as stored in a condition, made aware."""
    return naive.replace(tzinfo=UTC) if naive.tzinfo is None else naive.astimezone(UTC)


def parse_condition_time(text):
    """A condition's ``starts_at``/``ends_at``/``at`` (written as naive UTC ISO 8601 by the services)."""
    return as_utc(datetime.fromisoformat(text)) if text else None


def next_due(condition, after):
    """The first due time strictly after ``after`` (aware), or None when the trigger is due no more."""
    starts_at = parse_condition_time(condition.get("starts_at"))
    ends_at = parse_condition_time(condition.get("ends_at"))
    at = parse_condition_time(condition.get("at"))
    if at is not None:
        due = at if at > after else None
    else:
        tz = zone(condition.get("timezone") or "UTC")
        start = after
        if starts_at is not None and starts_at > after:
            # A cron time exactly at starts_at counts: start looking just before it.
            start = starts_at - timedelta(seconds=1)
        due = croniter(condition["cron"], start.astimezone(tz)).get_next(datetime).astimezone(UTC)
    if due is not None and ends_at is not None and due > ends_at:
        return None
    return due
