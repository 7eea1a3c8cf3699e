"""Governance's periodic jobs (their schedule is CELERY_BEAT_SCHEDULE in settings)."""

from celery import shared_task

from .coordinators import services as coordinators


@shared_task
def sweep_coordinators():
    """RFC-0013: expire coordinator leases, mark silent coordinators unresponsive, fail over those gone for good."""
    return coordinators.sweep()
