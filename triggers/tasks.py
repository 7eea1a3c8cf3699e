"""Periodic jobs run by Celery beat. Each is safe to run in several workers at once."""

import logging

from celery import shared_task

from intents.services import expire_lapsed_leases

logger = logging.getLogger(__name__)


@shared_task(name="triggers.tasks.expire_leases")
def expire_leases():
    expired = expire_lapsed_leases()
    if expired:
        logger.info("expired %d lapsed leases", expired)
    return expired
