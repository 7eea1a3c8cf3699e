"""The RFC-0012 periodic jobs run under Celery beat, in a real worker process on the broker the deployment uses
(Redis with REDIS_URL, as CI's second run), and guardrail checks registered on the write path can refuse writes."""

import subprocess
import sys

import httpx
import pytest
from django.conf import settings

from intents.plans import guards
from openintent_site.celery import app as celery_app
from openintent_site.errors import Conflict
from tests.conftest import ROOT, new_intent, wait_for

from .plans_helpers import TASKS, act, create_task, get_task

HEADERS = {"X-API-Key": "agent-research-key"}
JOBS = {
    "fail-overdue-tasks": "intents.tasks.fail_overdue_tasks",
    "retry-due-tasks": "intents.tasks.retry_due_tasks",
    "time-out-checkpoints": "intents.tasks.time_out_checkpoints",
}


def test_the_jobs_are_scheduled_and_registered():
    for name, task in JOBS.items():
        assert settings.CELERY_BEAT_SCHEDULE[name]["task"] == task
        celery_app.loader.import_default_modules()
        assert task in celery_app.tasks


def test_beat_and_a_worker_fail_a_task_past_its_timeout(server_env, live_server_url):
    env = {**server_env, "OPENINTENT_TASK_SWEEP_SECONDS": "0.5"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "openintent_site", "worker", "-B", "--pool=solo", "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        api = httpx.Client(base_url=f"{live_server_url}/api/v1", headers=HEADERS, timeout=30)
        intent = api.post("/intents", json={"title": "Slow job"}).json()
        task = api.post("/tasks", json={"intent_id": intent["id"], "name": "slow", "timeout_seconds": 1}).json()
        for move in ("claim", "start"):
            assert api.post(f"/tasks/{task['id']}/{move}").status_code == 200

        def timed_out():
            current = api.get(f"/tasks/{task['id']}").json()
            return current if current["status"] != "running" else None

        current = wait_for(timed_out)
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
        assert current is not None, "no job failed the task within 60 s"
        assert (current["status"], current["error"]) == ("failed", "Timed out after 1 s")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.fixture
def refuse_third_task():
    def check(action, intent, actor, **facts):
        if action == "task.create" and intent.tasks.count() >= 2:
            raise Conflict("guardrail_violation: max_tasks_per_plan", guardrail="max_tasks", attempted=3, limit=2)
        if action == "task.claim" and facts["task"].name == "forbidden":
            raise Conflict("guardrail_violation: allowed_capabilities", guardrail="capabilities")

    guards.register(check)
    yield check
    guards.unregister(check)


def test_a_registered_check_refuses_a_write_and_nothing_is_written(api, refuse_third_task):
    intent = new_intent(api)
    create_task(api, intent, "one")
    forbidden = create_task(api, intent, "forbidden")

    third = api.post(TASKS, {"intent_id": intent["id"], "name": "three"}, format="json")
    assert third.status_code == 409
    assert (third.json()["guardrail"], third.json()["limit"]) == ("max_tasks", 2)
    assert len(api.get(f"/api/v1/intents/{intent['id']}/tasks").json()) == 2

    claim = act(api, forbidden, "claim")
    assert claim.status_code == 409
    assert get_task(api, forbidden)["status"] == "ready"
