"""Periodic jobs run by Celery beat. Each is safe to run in several workers at once."""

import logging

from celery import shared_task

from governance.services import expire_grants
from intents import retries
from intents.services import expire_lapsed_leases

from . import webhooks

logger = logging.getLogger(__name__)


@shared_task(name="triggers.tasks.expire_leases")
def expire_leases():
    expired = expire_lapsed_leases()
    if expired:
        logger.info("expired %d lapsed leases", expired)
    return expired


@shared_task(name="triggers.tasks.expire_grants")
def expire_access_grants():
    expired = expire_grants()
    if expired:
        logger.info("expired %d access grants", expired)
    return expired


@shared_task(name="triggers.tasks.run_retry")
def run_retry(failure_id):
    """The attempt a retry policy scheduled after a failure."""
    return retries.run_retry(failure_id)


@shared_task(name="triggers.tasks.deliver_webhook")
def deliver_webhook(delivery_id):
    """One attempt at POSTing an event to a subscription's webhook; a failed attempt schedules the next one."""
    return webhooks.deliver(delivery_id)


@shared_task(name="triggers.tasks.deliver_due_webhooks")
def deliver_due_webhooks():
    queued = webhooks.send_due()
    if queued:
        logger.info("queued %d due webhook deliveries", queued)
    return queued
