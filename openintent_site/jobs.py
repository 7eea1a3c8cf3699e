"""The periodic jobs, in one place: each app registers its own in its ``AppConfig.ready``, under the name of its
``CELERY_BEAT_SCHEDULE`` entry, with the function that entry's Celery task runs.

Beat sends the jobs on their schedule; ``manage.py sweep`` runs every registered one once, now, in the order the apps
registered them (their order in ``INSTALLED_APPS``, which is the order of the layers, so a lower app's job runs before
a higher app's). The kernel knows no app: an app that adds a beat entry registers its job here too, and
``tests/openintent_site/test_operations_sweep.py`` fails while a beat entry has no registered job.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    # The CELERY_BEAT_SCHEDULE entry that sends this job.
    name: str
    # Runs the job once; returns a count, or a mapping of counts by what was done.
    function: Callable[[], Any]
    # What the count counts, in plain words: "lapsed leases expired".
    counts: str


_JOBS: dict[str, Job] = {}


def register(name: str, function: Callable[[], Any], counts: str) -> None:
    """Register the periodic job sent by the beat entry ``name``. Registering the same name again replaces the job
    (apps' ``ready`` may run more than once in tests) but keeps its place in the order."""
    _JOBS[name] = Job(name, function, counts)


def registered() -> list[Job]:
    return list(_JOBS.values())


def describe(job: Job, result: Any) -> str:
    """One line saying what a run of ``job`` did, from what it returned."""
    if isinstance(result, dict):
        done = ", ".join(f"{count} {what.replace('_', ' ')}" for what, count in result.items())
        return f"{job.counts}: {done}" if done else f"{job.counts}: nothing to do"
    return f"{result} {job.counts}"
