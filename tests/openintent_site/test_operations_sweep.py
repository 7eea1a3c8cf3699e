"""``manage.py sweep``: every periodic job beat sends is registered once in ``openintent_site.jobs`` and runs, now,
when an operator asks; a job that fails is reported and does not keep the others from running."""

import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from intents.models import Lease
from openintent_site import jobs
from tests.agents.test_health import silent_for, status_of
from tests.agents.test_registry_api import acting_as, register
from tests.conftest import ROOT, new_intent


def sweep(*args):
    out, err = StringIO(), StringIO()
    call_command("sweep", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_every_beat_entry_has_a_sweep_job_running_the_same_task():
    registered = {job.name: job for job in jobs.registered()}

    assert set(registered) == set(settings.CELERY_BEAT_SCHEDULE)
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        # The registered function is the Celery task the entry sends, so the sweep does what beat does.
        assert registered[name].function.name == entry["task"], name


def test_the_jobs_run_in_the_order_of_the_layers():
    apps_in_order = [job.function.name.split(".")[0] for job in jobs.registered()]

    assert apps_in_order == sorted(apps_in_order, key=["intents", "agents", "governance", "triggers"].index)


def test_sweep_runs_every_job_and_says_what_each_did(api, keys):
    intent = new_intent(api)
    lease = api.post(f"/api/v1/intents/{intent['id']}/leases", {"scope": "draft"}, format="json").json()
    Lease.objects.filter(pk=lease["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    register(acting_as("billing-1"))  # dead after 60 s of silence
    silent_for("billing-1", 61)

    out, err = sweep()

    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [job.name for job in jobs.registered()]
    assert "expire-leases: 1 lapsed leases expired" in lines
    assert (
        "sweep-agent-health: agents moved by the health sweep: 1 unhealthy, 1 dead, 0 drain timed out, 0 drained"
        in (lines)
    )
    assert "expire-memory: 0 expired memory entries removed" in lines
    assert err == ""
    assert api.get(f"/api/v1/intents/{intent['id']}/leases").json()["leases"] == []
    assert Lease.objects.get(pk=lease["id"]).status == "expired"
    assert status_of("billing-1") == "dead"


def test_sweep_runs_only_the_jobs_named(api):
    intent = new_intent(api)
    lease = api.post(f"/api/v1/intents/{intent['id']}/leases", {"scope": "draft"}, format="json").json()
    Lease.objects.filter(pk=lease["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    out, _ = sweep("expire-memory", "expire-grants")

    assert out.splitlines() == [
        "expire-grants: 0 access grants expired",
        "expire-memory: 0 expired memory entries removed",
    ]
    assert Lease.objects.get(pk=lease["id"]).status == "active"


def test_a_failing_job_is_reported_and_the_others_still_run(db, monkeypatch):
    def broken():
        raise RuntimeError("the table is locked")

    first = jobs.registered()[0]
    monkeypatch.setitem(jobs._JOBS, first.name, jobs.Job(first.name, broken, first.counts))
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match=rf"1 job\(s\) failed: {first.name}\."):
        call_command("sweep", stdout=out, stderr=err)

    assert err.getvalue() == f"{first.name}: failed: RuntimeError: the table is locked\n"
    assert len(out.getvalue().splitlines()) == len(jobs.registered()) - 1


def test_an_unknown_job_name_is_refused_before_anything_runs(server_env):
    done = subprocess.run(
        [sys.executable, "manage.py", "sweep", "expire-leases", "expire-everything"],
        cwd=ROOT,
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert "No periodic job named expire-everything; the jobs are " in done.stderr


def test_sweep_list_prints_the_jobs_in_order(server_env):
    done = subprocess.run(
        [sys.executable, "manage.py", "sweep", "--list"], cwd=ROOT, env=server_env, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == [job.name for job in jobs.registered()]
