"""The agents app's background jobs, each safe to run in several workers at once; periodic ones are scheduled by
Celery beat (``CELERY_BEAT_SCHEDULE`` in settings)."""

import logging

from celery import shared_task

from .memory.services import expire_entries
from .registry.services import sweep_health
from .vaults.services import expire_lapsed

logger = logging.getLogger(__name__)


@shared_task
def sweep_agent_health():
    """The health monitor of RFC-0016: silent agents marked unhealthy then dead (their leases expired), drains
    completed or ended at their deadline."""
    moved = sweep_health()
    if any(moved.values()):
        logger.info("agent health sweep: %s", ", ".join(f"{count} {step}" for step, count in moved.items() if count))
    return moved


@shared_task
def expire_memory():
    """Remove the memory entries past their expiry (RFC-0015 §9.3), logging ``memory.expired`` for each."""
    return expire_entries()


@shared_task
def expire_tool_grants():
    """Record the expiry of tool grants and credentials past their ``expires_at`` (RFC-0014 §1.3, §2.4)."""
    expired = expire_lapsed()
    if expired:
        logger.info("expired %d tool grants and credentials", expired)
    return expired
