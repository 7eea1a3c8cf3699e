"""Celery beat's scheduler (``CELERY_BEAT_SCHEDULER``): Celery's own, which also records that beat is alive, so that
``manage.py doctor`` can tell a running beat from a dead one. Beat answers no pings as a worker does, and a beat
that stopped shows nowhere else: the jobs it no longer sends are simply missing.

The heartbeat is the time of beat's latest tick, every HEARTBEAT_SECONDS at most: in Redis with ``REDIS_URL`` (beat
and doctor may run on different machines), otherwise in a file under ``OPENINTENT_VAR_DIR``, which the embedded
broker already requires every process to share.
"""

import logging
import time
from pathlib import Path

from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# A heartbeat older than this means beat is not running (or not ticking): a dozen beats missed.
STALE_AFTER_SECONDS = 60.0
REDIS_KEY = "openintent:beat:heartbeat"


def _heartbeat_file():
    return Path(settings.VAR_DIR) / "celery" / "beat-heartbeat"


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=3)


def record_heartbeat(now):
    if settings.REDIS_URL:
        _redis().set(REDIS_KEY, repr(now), ex=int(STALE_AFTER_SECONDS * 10))
    else:
        path = _heartbeat_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(repr(now))


def last_heartbeat():
    """The time (``time.time()``) of beat's latest recorded tick, or None when none is recorded."""
    if settings.REDIS_URL:
        value = _redis().get(REDIS_KEY)
    else:
        try:
            value = _heartbeat_file().read_text()
        except FileNotFoundError:
            value = None
    try:
        return float(value) if value else None
    except ValueError:
        return None


class Scheduler(PersistentScheduler):
    last_recorded = 0.0

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        now = time.time()
        if now - self.last_recorded >= HEARTBEAT_SECONDS:
            try:
                record_heartbeat(now)
            except Exception:
                # The heartbeat is for doctor; beat's own work goes on without it.
                logger.warning("beat could not record its heartbeat", exc_info=True)
            self.last_recorded = now
        # Wake at least this often, whatever the schedule, so that the heartbeat stays fresh.
        return min(interval, HEARTBEAT_SECONDS)
