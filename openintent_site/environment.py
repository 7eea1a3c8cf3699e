"""Typed reads of the environment for the settings module.

Each reader returns ``default`` when the variable is not set, and raises ``ImproperlyConfigured`` naming the
variable, its value and what was expected when the value is malformed, so that a typo stops the process at start-up
with a readable message instead of a ``ValueError`` traceback, or a silently wrong setting.

A variable that is set but empty is a value like any other: ``string`` returns it, ``listing`` reads it as no items,
and the other readers refuse it (an empty ``OPENINTENT_DEV`` must not quietly turn development mode back on).
"""

import math
import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

__all__ = ["boolean", "database", "integer", "listing", "path", "real", "string"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _malformed(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name} must be {expected}, not {value!r}")


def string(name: str, default: str) -> str:
    """The variable as it is set (even empty), or ``default``."""
    return os.environ.get(name, default)


def integer(name: str, default: int, minimum: int | None = None) -> int:
    """A whole number, at least ``minimum`` when one is given."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _malformed(name, value, "a whole number") from None
    if minimum is not None and number < minimum:
        raise _malformed(name, value, f"a whole number of at least {minimum}")
    return number


def real(name: str, default: float, minimum: float | None = None) -> float:
    """A finite number, decimals allowed, at least ``minimum`` when one is given."""
    value = os.environ.get(name)
    if value is None:
        return float(default)
    try:
        number = float(value)
    except ValueError:
        raise _malformed(name, value, "a number") from None
    # float() also reads "nan" and "inf", which no duration or size here can mean.
    if not math.isfinite(number):
        raise _malformed(name, value, "a finite number")
    if minimum is not None and number < minimum:
        raise _malformed(name, value, f"a number of at least {minimum:g}")
    return number


def boolean(name: str, default: bool) -> bool:
    """1/0, true/false, yes/no or on/off, in any case."""
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    # Anything else used to read as false; refusing it keeps e.g. OPENINTENT_DEV=flase from switching modes unseen.
    raise _malformed(name, value, "one of 1/0, true/false, yes/no, on/off")


def listing(name: str, default: str = "") -> list[str]:
    """Comma-separated items, each stripped, empty ones dropped; ``default`` is read the same way."""
    value = os.environ.get(name, default)
    return [item.strip() for item in value.split(",") if item.strip()]


def path(name: str, default: str | Path) -> Path:
    """A filesystem path (not resolved, and not required to exist)."""
    value = os.environ.get(name)
    if value is None:
        return Path(default)
    # Path("") is the current directory, which nobody means by an empty variable.
    if not value:
        raise _malformed(name, value, "a path")
    return Path(value)


def _redacted(url: str) -> str:
    """The URL with its password hidden, fit for an error message that may end up in a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def database(url: str) -> dict:
    """Django's ``DATABASES["default"]`` for the PostgreSQL URL in ``DATABASE_URL``.

    Query parameters become connection options; the prepared-statement options come from
    ``DATABASE_SERVER_SIDE_BINDING`` and ``DATABASE_PREPARE_THRESHOLD``, and a connection's lifetime from
    ``DATABASE_CONN_MAX_AGE`` (:func:`connection_max_age`).
    """
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise _malformed("DATABASE_URL", _redacted(url), "a postgresql:// URL")
    try:
        port = parts.port
    except ValueError:
        # urlsplit only checks the port when asked for it: a bad one should fail here, not at the first query.
        raise _malformed("DATABASE_URL", _redacted(url), "a postgresql:// URL with a numeric port") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": {
            # Parameters bound by the server and statements prepared after their fifth use on a connection:
            # the hot paths repeat a few statements, and PostgreSQL then skips parsing and planning them (about half
            # of its CPU per state patch, list or dependents request here).
            "server_side_binding": boolean("DATABASE_SERVER_SIDE_BINDING", True),
            "prepare_threshold": integer("DATABASE_PREPARE_THRESHOLD", 5, minimum=0),
            **dict(parse_qsl(parts.query)),
        },
        "CONN_MAX_AGE": connection_max_age(),
    }


def connection_max_age() -> int:
    """Seconds a thread keeps its database connection across requests (``DATABASE_CONN_MAX_AGE``; 0 closes it at the
    end of each request), for SQLite and PostgreSQL alike.

    The threads that run queries are a fixed number per server process (the HTTP threads, the waiting ones, those of
    the streams' reads; see ``openintent_site.threaded_http``), so each keeps one connection open rather than taking one
    from a pool for every request: taking and handing back a pooled connection was a tenth of a read's CPU under four
    processes. After the age a thread connects again at its next request, which bounds how long a server backend
    lives."""
    return integer("DATABASE_CONN_MAX_AGE", 600, minimum=0)
