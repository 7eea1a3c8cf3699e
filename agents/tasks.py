"""The agents app's background jobs, each safe to run in several workers at once; periodic ones are scheduled by
Celery beat (``CELERY_BEAT_SCHEDULE`` in settings)."""

from celery import shared_task

from .memory.services import expire_entries


@shared_task
def expire_memory():
    """Remove the memory entries past their expiry (RFC-0015 §9.3), logging ``memory.expired`` for each."""
    return expire_entries()
