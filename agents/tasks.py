"""The agents app's background jobs, scheduled by Celery beat (``CELERY_BEAT_SCHEDULE`` in settings). Each is safe to
run in several workers at once."""

import logging

from celery import shared_task

from .vaults.services import expire_lapsed

logger = logging.getLogger(__name__)


@shared_task
def expire_tool_grants():
    """Record the expiry of tool grants and credentials past their ``expires_at`` (RFC-0014 §1.3, §2.4)."""
    expired = expire_lapsed()
    if expired:
        logger.info("expired %d tool grants and credentials", expired)
    return expired
