"""The health sweep as deployments run it: Celery beat sends it on its schedule and a worker runs it, so an agent
that stops sending heartbeats is found dead and its lease freed without anyone asking."""

import subprocess
import sys

import httpx

from agents.models import Agent
from intents.models import Lease
from openintent_site.celery import app
from tests.conftest import ROOT, running_celery_worker, wait_for

AGENT = {"X-API-Key": "dev-user-key", "X-Agent-ID": "short-lived"}


def test_the_sweep_is_a_registered_task_on_the_beat_schedule(settings):
    app.loader.import_default_modules()

    entry = settings.CELERY_BEAT_SCHEDULE["sweep-agent-health"]

    assert entry["task"] in app.tasks
    assert app.tasks[entry["task"]].run.__module__ == "agents.tasks"


def test_beat_and_a_worker_find_a_silent_agent_dead_and_free_its_lease(live_server_url, server_env, tmp_path):
    api = httpx.Client(base_url=f"{live_server_url}/api/v1", headers=AGENT, timeout=10)
    config = {"interval_seconds": 1, "unhealthy_after_seconds": 2, "dead_after_seconds": 4}
    assert api.post("/agents/register", json={"agent_id": "short-lived", "heartbeat_config": config}).status_code == 200
    intent = api.post("/intents", json={"title": "Short job"}).json()
    lease = api.post(f"/intents/{intent['id']}/leases", json={"scope": "job", "duration_seconds": 3600}).json()
    # A broker of this test's own (no other run's worker takes its jobs), and beat sweeping twice a second.
    env = {key: value for key, value in server_env.items() if key != "REDIS_URL"}
    env["OPENINTENT_VAR_DIR"] = str(tmp_path / "var")
    env["OPENINTENT_AGENT_HEALTH_SWEEP_SECONDS"] = "0.5"
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "openintent_site", "beat", "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with running_celery_worker(env) as worker:
            dead = wait_for(lambda: Agent.objects.get(pk="short-lived").status == "dead", timeout=90)
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
    finally:
        beat.terminate()
        beat.wait(timeout=15)

    assert dead, "beat and the worker did not find the agent dead within 90 s"
    assert Lease.objects.get(pk=lease["id"]).status == "expired"
    assert api.post("/agents/short-lived/heartbeat", json={}).status_code == 410
    events = api.get(f"/intents/{intent['id']}/events", params={"event_type": "lease_released"}).json()
    assert [event["payload"]["reason"] for event in events] == ["agent_dead"]
