"""The triggers app's background jobs (RFC-0017). Each is safe to run in several workers at once.

``fire_due_triggers`` is scheduled by Celery beat (``CELERY_BEAT_SCHEDULE`` in settings); the others are queued by
``on_event_committed`` once the write that appended an event has committed."""

import logging

from celery import shared_task

from intents.models import Intent, IntentStatus
from openintent_site.events import EventType

from . import matching, services
from .models import FireOutcome, PendingEventFire, TriggerFire

logger = logging.getLogger(__name__)

FINISHED = (IntentStatus.COMPLETED, IntentStatus.ABANDONED)


@shared_task
def fire_due_triggers():
    """Fire the schedule triggers whose due time has come (each due time once, whoever else runs this)."""
    fired = services.fire_due()
    services.forget_old_receipts()
    recovered = services.fire_lost_event_fires()
    if fired:
        logger.info("fired %d scheduled triggers", len(fired))
    if recovered:
        logger.info("fired %d event triggers whose task was lost", recovered)
    return len(fired)


@shared_task
def fire_event_trigger(trigger_id, event_id):
    """Fire an event trigger for a committed event, if its filter matches (once per trigger and event)."""
    fired = services.fire_for_event(trigger_id, event_id)
    PendingEventFire.objects.filter(trigger_id=trigger_id, event_id=event_id).delete()
    return str(fired.record.outcome) if fired else None


@shared_task
def release_queued_fire(trigger_id):
    """Fire what a trigger queued, now that the intent it waited for has finished."""
    fired = services.release_queued(trigger_id)
    return str(fired.record.outcome) if fired else None


def on_event_committed(sender, event, **kwargs):
    """Queue the fires a committed event calls for: the event triggers listening for it, and the queued fires an
    intent that just finished was holding back. The write has committed and its answer is on the way: a failure
    here (the broker down) is logged, never raised."""
    try:
        listening = services.triggers_listening(matching.names_of(event.event_type, event.payload or {}))
        if listening:
            # Recorded first: should the task be lost, the scheduler's tick fires the event instead.
            PendingEventFire.objects.bulk_create(
                [PendingEventFire(trigger_id=pk, event_id=event.pk) for pk in listening], ignore_conflicts=True
            )
        for trigger_id in listening:
            fire_event_trigger.delay(str(trigger_id), event.pk)
        finished = event.event_type == EventType.STATUS_CHANGED and event.payload.get("status") in FINISHED
        if finished and TriggerFire.objects.filter(outcome=FireOutcome.QUEUED).exists():
            intent = Intent.objects.filter(pk=event.intent_id).only("pk", "type", "namespace").first()
            for trigger_id in services.queued_waiting_on(intent) if intent else ():
                release_queued_fire.delay(str(trigger_id))
    except Exception:
        logger.exception("could not queue the trigger fires of event %s", event.pk)
