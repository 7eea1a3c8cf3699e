"""The coordinator sweep as deployments run it: Celery beat sends it on its schedule and a worker runs it, so a
coordinator that stops sending heartbeats turns unresponsive and its role fails over without anyone asking."""

import subprocess
import sys

import httpx
from django.contrib.auth import get_user_model

from governance.coordinators.models import CoordinatorLease
from openintent_site.celery import app
from tests.conftest import ROOT, running_celery_worker, wait_for

HEADERS = {"X-API-Key": "agent-research-key"}


def test_the_sweep_is_a_registered_task_on_the_beat_schedule(settings):
    app.loader.import_default_modules()

    entry = settings.CELERY_BEAT_SCHEDULE["sweep-coordinators"]

    assert entry["task"] in app.tasks
    assert app.tasks[entry["task"]].run.__module__ == "governance.tasks"


def test_beat_and_a_worker_fail_a_silent_coordinator_over_to_its_supervisor(live_server_url, server_env, tmp_path):
    get_user_model().objects.create_user("on-call")
    api = httpx.Client(base_url=f"{live_server_url}/api/v1", headers=HEADERS, timeout=10)
    intent = api.post("/intents", json={"title": "Watched coordination"}).json()
    lease = api.post(
        "/coordinators",
        json={
            "agent_id": "agent-research",
            "intent_id": intent["id"],
            "supervisor_id": "on-call",
            "heartbeat_interval_seconds": 1,
        },
    ).json()
    env = {key: value for key, value in server_env.items() if key != "REDIS_URL"}
    env["OPENINTENT_VAR_DIR"] = str(tmp_path / "var")
    env["OPENINTENT_COORDINATOR_SWEEP_SECONDS"] = "0.5"
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "openintent_site", "beat", "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with running_celery_worker(env) as worker:
            failed_over = wait_for(
                lambda: CoordinatorLease.objects.get(pk=lease["id"]).status == "failed_over", timeout=90
            )
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
    finally:
        beat.terminate()
        beat.wait(timeout=15)

    assert failed_over, "beat and the worker did not fail the coordinator over within 90 s"
    leases = api.get(f"/intents/{intent['id']}/coordinators").json()
    assert [(item["agent_id"], item["status"]) for item in leases] == [
        ("agent-research", "failed_over"),
        ("on-call", "active"),
    ]
    types = [event["event_type"] for event in reversed(api.get(f"/intents/{intent['id']}/events").json())]
    assert types.index("coordinator.unresponsive") < types.index("coordinator.failed_over")
