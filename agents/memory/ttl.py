"""An entry's time to live (RFC-0015 §1.1): ``task_lifetime``, ``duration:<ISO 8601 duration>`` or none."""

import re
from datetime import timedelta

TASK_LIFETIME = "task_lifetime"
DURATION_PREFIX = "duration:"

# Weeks, days, hours, minutes and seconds: the parts of an ISO 8601 duration that have one length. Years and months
# do not, so they are refused rather than guessed.
DURATION = re.compile(
    r"P(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9}(?:\.\d{1,6})?)S)?)?"
)

# Past this, an expiry would fall beyond what a timestamp column holds.
LONGEST = timedelta(days=365 * 1000)

EXPECTED = (
    "Expected null, 'task_lifetime' or 'duration:<ISO 8601 duration>' in weeks, days, hours, minutes and seconds "
    "(e.g. 'duration:PT24H', 'duration:P7D')"
)


def lifetime(ttl):
    """The length of a ``duration:`` ttl, or None for no ttl and ``task_lifetime``; ValueError naming what is
    expected otherwise."""
    if ttl is None or ttl == TASK_LIFETIME:
        return None
    if not ttl.startswith(DURATION_PREFIX):
        raise ValueError(EXPECTED)
    text = ttl[len(DURATION_PREFIX) :]
    match = DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(EXPECTED)
    weeks, days, hours, minutes, seconds = (float(part) if part else 0 for part in match.groups())
    try:
        length = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        length = LONGEST * 2
    if length <= timedelta(0):
        raise ValueError("A ttl's duration must be longer than zero")
    if length > LONGEST:
        raise ValueError("A ttl's duration may be at most 1000 years")
    return length


def expiry(ttl, expires_at, now):
    """When an entry expires: ``expires_at`` when given (it takes precedence), else ``now`` plus the ttl's duration."""
    if expires_at is not None:
        return expires_at
    length = lifetime(ttl)
    return now + length if length is not None else None
