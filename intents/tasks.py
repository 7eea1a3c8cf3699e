"""The intents app's background jobs. Each is safe to run in several workers at once.

Periodic ones are scheduled by Celery beat (``CELERY_BEAT_SCHEDULE`` in settings); the others are queued once the
write that calls for them has committed: ``on_event_committed`` reads the committed event and queues what it needs.
"""

import logging

from celery import shared_task

from openintent_site.events import EventType

from .access.services import expire_grants as expire_access_grants
from .leases.services import expire_lapsed_leases
from .plans import services as plans
from .retries import services as retries
from .subscriptions import delivery
from .subscriptions.models import DeliveryStatus

logger = logging.getLogger(__name__)


@shared_task
def expire_leases():
    expired = expire_lapsed_leases()
    if expired:
        logger.info("expired %d lapsed leases", expired)
    return expired


@shared_task
def expire_grants():
    expired = expire_access_grants()
    if expired:
        logger.info("expired %d access grants", expired)
    return expired


@shared_task
def run_retry(failure_id):
    """The attempt a retry policy scheduled after a failure."""
    return retries.run_retry(failure_id)


@shared_task
def fan_out(event_id):
    """Record the webhook deliveries of a committed event and queue them (``delivery.fan_out``)."""
    ids = delivery.fan_out(event_id)
    for pk in ids:
        deliver_webhook.apply_async(args=[pk], countdown=0)
    return len(ids)


@shared_task
def deliver_webhook(delivery_id):
    """One attempt at POSTing an event to a subscription's webhook; a failed attempt queues the next one."""
    attempted = delivery.deliver(delivery_id)
    if attempted is None:
        return None
    if attempted.status == DeliveryStatus.PENDING:
        deliver_webhook.apply_async(args=[attempted.pk], countdown=delivery.backoff(attempted.attempts))
    return attempted.status


@shared_task
def deliver_due_webhooks():
    """Fan out the events whose fan-out task was lost, then queue every delivery that is due (those just recorded
    among them, and those whose task was lost)."""
    lost = delivery.lost_fan_outs()
    for event_id in lost:
        delivery.fan_out(event_id)
    if lost:
        logger.info("fanned out %d events whose fan-out task was lost", len(lost))
    due = delivery.due()
    for pk in due:
        deliver_webhook.apply_async(args=[pk], countdown=0)
    if due:
        logger.info("queued %d due webhook deliveries", len(due))
    return len(due)


@shared_task
def fail_overdue_tasks():
    """RFC-0012: fail every running task past its timeout_seconds (retried if its attempts and policy allow)."""
    failed = plans.fail_overdue_tasks()
    if failed:
        logger.info("failed %d tasks past their timeout", failed)
    return failed


@shared_task
def retry_due_tasks():
    """RFC-0012: make ready again the failed tasks whose retry (RFC-0010 backoff) is due."""
    retried = plans.retry_due_tasks()
    if retried:
        logger.info("retried %d failed tasks", retried)
    return retried


@shared_task
def time_out_checkpoints():
    """RFC-0012: apply on_timeout to the checkpoints left waiting past timeout_hours."""
    timed_out = plans.time_out_checkpoints()
    if timed_out:
        logger.info("timed out %d plan checkpoints", timed_out)
    return timed_out


def on_event_committed(sender, event, **kwargs):
    """Queue the jobs a committed event calls for: the retry its failure scheduled, and its webhook fan-out."""
    if event.event_type == EventType.FAILURE_RECORDED and "retry_delay_ms" in event.payload:
        delay = event.payload["retry_delay_ms"] / 1000
        run_retry.apply_async(args=[event.payload["failure_id"]], countdown=delay)
    # The write has committed and its response is on the way; a failure here (the broker down) must not turn it
    # into an error. A fan-out whose marker is recorded is done by the deliver_due_webhooks sweep if its task is lost.
    try:
        if delivery.mark_for_fan_out(event):
            fan_out.apply_async(args=[event.pk], countdown=0)
    except Exception:
        logger.exception("could not queue the webhook fan-out of event %s", event.pk)
