"""What ``manage.py doctor`` checks, each check saying in plain words what it found.

The kernel's own checks (the database, migrations, Django's system checks, Redis, the Celery worker and beat) are
here; an app adds checks of its own with :func:`register` from its ``AppConfig.ready`` (the agents app checks the
vault keys), as it registers its periodic jobs in ``openintent_site.jobs``.
"""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core import checks
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from . import beat

# How long doctor waits for each thing it asks: a check that hangs would be no better than none.
CONNECT_TIMEOUT_SECONDS = 5
PING_TIMEOUT_SECONDS = 2.0


OK, PROBLEM, SKIPPED = "ok", "PROBLEM", "skipped"


@dataclass(frozen=True)
class Finding:
    topic: str
    message: str
    # OK, PROBLEM, or SKIPPED when what it needs (the database, Redis) is a problem of its own already.
    status: str = OK

    @property
    def problem(self):
        return self.status == PROBLEM


def ok(topic, message):
    return Finding(topic, message)


def problem(topic, message):
    return Finding(topic, message, PROBLEM)


def skipped(topic, message):
    return Finding(topic, message, SKIPPED)


# App checks: called with whether the database is usable (reachable and migrated), each returning its findings.
AppCheck = Callable[[bool], Iterable[Finding]]
_APP_CHECKS: dict[str, AppCheck] = {}


def register(name: str, check: AppCheck) -> None:
    _APP_CHECKS[name] = check


def redacted(url):
    """``url`` without its password, to show which server was meant."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_database():
    if connection.vendor == "sqlite":
        path = Path(connection.settings_dict["NAME"])
        # Connecting would create an empty file; an operator asking what is wrong wants to hear it is missing.
        if not path.exists():
            return problem("database", f"No SQLite database at {path}: run `manage.py migrate` to create it.")
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT sqlite_version()")
                (version,) = cursor.fetchone()
        except Exception as error:
            return problem("database", f"Cannot open the SQLite database at {path}: {error}")
        return ok("database", f"SQLite {version} at {path}")
    # A connection of its own, with a short connect timeout: an unreachable host says why within seconds rather than
    # after the operating system gives up on it.
    params = connection.get_connection_params()
    where = f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{params.get('dbname')}"
    try:
        with connection.Database.connect(**{**params, "connect_timeout": CONNECT_TIMEOUT_SECONDS}) as direct:
            version = direct.execute("SHOW server_version").fetchone()[0]
    except Exception as error:
        reason = " ".join(str(error).split())
        return problem("database", f"Cannot reach the PostgreSQL database {where} (DATABASE_URL): {reason}")
    return ok("database", f"PostgreSQL {version} at {where}")


def check_migrations():
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in pending[:5])
        more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        return problem(
            "migrations", f"{len(pending)} migration(s) not applied ({names}{more}): run `manage.py migrate`."
        )
    return ok("migrations", "every migration is applied")


def check_system():
    """Django's system checks, as `manage.py check` and every server process run them (the vault key among them)."""
    messages = [message for message in checks.run_checks() if message.level >= checks.WARNING]
    if not messages:
        return [ok("configuration", "Django's system checks pass")]
    return [
        Finding(
            "configuration",
            f"{message.id}: {message.msg}" + (f" ({message.hint})" if message.hint else ""),
            PROBLEM if message.is_serious() else OK,
        )
        for message in messages
    ]


def check_redis():
    import redis

    try:
        redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=CONNECT_TIMEOUT_SECONDS
        ).ping()
    except Exception as error:
        return problem("redis", f"Cannot reach Redis at {redacted(settings.REDIS_URL)} (REDIS_URL): {error}")
    return ok("redis", f"Redis answers at {redacted(settings.REDIS_URL)}")


BROKER_NOTE = {
    True: "",
    False: (
        " (no REDIS_URL): the worker and beat run on this machine with the same OPENINTENT_VAR_DIR, as "
        "`manage.py serve` starts them"
    ),
}


def broker_description():
    if settings.REDIS_URL:
        return f"the Redis broker at {redacted(settings.REDIS_URL)}"
    return f"the embedded broker in {Path(settings.VAR_DIR) / 'celery'}"


def check_worker():
    from .celery import app

    # kombu warns that the embedded broker's URL names no host each time it connects: noise in a report.
    kombu_logger = logging.getLogger("kombu.connection")
    level = kombu_logger.level
    kombu_logger.setLevel(logging.ERROR)
    try:
        replies = app.control.ping(timeout=PING_TIMEOUT_SECONDS)
    except Exception as error:
        return problem("worker", f"Cannot ask for Celery workers on {broker_description()}: {error}")
    finally:
        kombu_logger.setLevel(level)
    if not replies:
        return problem(
            "worker",
            f"No Celery worker answered on {broker_description()} within {PING_TIMEOUT_SECONDS:g} s: webhook "
            "deliveries, retries and the periodic jobs do not run. `manage.py serve` starts one beside the server "
            "(unless --no-worker); elsewhere run `celery -A openintent_site worker`.",
        )
    names = sorted(name for reply in replies for name in reply)
    return ok("worker", f"{len(names)} Celery worker(s) answered: {', '.join(names)}")


def check_beat():
    try:
        last = beat.last_heartbeat()
    except Exception as error:
        return problem("beat", f"Cannot read Celery beat's heartbeat on {broker_description()}: {error}")
    hint = (
        "the periodic jobs (lease expiry, agent health, webhook redelivery, task timeouts...) are not being sent. "
        "`manage.py serve` runs beat beside the server (unless --no-worker); elsewhere run exactly one "
        "`celery -A openintent_site beat`; `manage.py sweep` runs the jobs once meanwhile."
    )
    if last is None:
        return problem("beat", f"Celery beat has never recorded a heartbeat on {broker_description()}: {hint}")
    age = time.time() - last
    if age > beat.STALE_AFTER_SECONDS:
        return problem("beat", f"Celery beat's last heartbeat is {age:.0f} s old: {hint}")
    return ok("beat", f"Celery beat ticked {max(age, 0):.0f} s ago")


def guarded(topic, check, *args):
    """The findings of ``check``, or one problem saying how it broke: doctor reports, it does not crash."""
    try:
        found = check(*args)
    except Exception as error:
        return [problem(topic, f"the check itself failed: {type(error).__name__}: {error}")]
    return [found] if isinstance(found, Finding) else list(found)


def run():
    """Every finding, in the order the checks depend on each other: what needs the database waits for it, what needs
    the broker for Redis."""
    findings = guarded("database", check_database)
    database_ok = not findings[-1].problem
    if database_ok:
        findings += guarded("migrations", check_migrations)
        database_ok = not findings[-1].problem
    else:
        findings.append(skipped("migrations", "not checked: the database is unreachable"))
    findings += guarded("configuration", check_system)
    for name, check in _APP_CHECKS.items():
        findings += guarded(name, check, database_ok)
    findings.append(ok("background jobs", f"Celery on {broker_description()}{BROKER_NOTE[bool(settings.REDIS_URL)]}"))
    broker_ok = True
    if settings.REDIS_URL:
        findings += guarded("redis", check_redis)
        broker_ok = not findings[-1].problem
    if broker_ok:
        findings += guarded("worker", check_worker) + guarded("beat", check_beat)
    else:
        findings += [skipped(topic, "not checked: Redis is unreachable") for topic in ("worker", "beat")]
    return findings
