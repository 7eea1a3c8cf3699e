"""The health sweep run by several processes at once, on PostgreSQL: every transition happens once, with one event,
and every lease of a dead agent ends once. Two real Celery workers race through queued sweeps, and four processes
start the same sweep at the same moment in small batches, so that they contend for the same rows."""

import ast
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from agents.models import Agent, AgentEvent
from intents.models import Intent, Lease
from openintent_site.models import IntentEvent
from tests.conftest import ROOT, running_celery_worker, wait_for

pytestmark = pytest.mark.postgres

AGENTS = 60


@pytest.fixture
def silent_fleet(transactional_db):
    """AGENTS agents silent for an hour (past both thresholds), each holding a lease on an intent of its own."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and SKIP LOCKED are PostgreSQL's; SQLite serialises its writers")
    hour_ago = timezone.now() - timedelta(hours=1)
    agents = [
        Agent(
            agent_id=f"racer-{index:03d}",
            interval_seconds=30,
            unhealthy_after_seconds=90,
            dead_after_seconds=300,
            registered_at=hour_ago,
            last_heartbeat_at=hour_ago,
            unhealthy_at=hour_ago + timedelta(seconds=90),
            dead_at=hour_ago + timedelta(seconds=300),
        )
        for index in range(AGENTS)
    ]
    Agent.objects.bulk_create(agents)
    for agent in agents:
        intent = Intent.objects.create(title=f"work of {agent.agent_id}", created_by="agent-research")
        Lease.objects.create(
            intent=intent, scope="work", holder=agent.agent_id, expires_at=timezone.now() + timedelta(hours=1)
        )
    return agents


def assert_each_transition_happened_once():
    assert set(Agent.objects.values_list("status", flat=True)) == {"dead"}
    assert set(Agent.objects.values_list("version", flat=True)) == {3}
    transitions = Counter(
        (event.agent_id, event.payload["previous_status"], event.payload["new_status"])
        for event in AgentEvent.objects.filter(event_type="agent.lifecycle")
    )
    expected = {
        (f"racer-{i:03d}", old, new)
        for i in range(AGENTS)
        for old, new in [("active", "unhealthy"), ("unhealthy", "dead")]
    }
    assert set(transitions) == expected
    assert set(transitions.values()) == {1}, [key for key, count in transitions.items() if count > 1]
    assert set(Lease.objects.values_list("status", flat=True)) == {"expired"}
    released = Counter(
        IntentEvent.objects.filter(event_type="lease_released").values_list("payload__lease_id", flat=True)
    )
    assert len(released) == AGENTS
    assert set(released.values()) == {1}
    on_intents = Counter(IntentEvent.objects.filter(event_type="agent.lifecycle").values_list("intent_id", flat=True))
    assert len(on_intents) == AGENTS
    assert set(on_intents.values()) == {2}


def isolated_env(server_env, tmp_path):
    """The test database, with a filesystem broker of this test's own: no other run's workers take its jobs."""
    env = {key: value for key, value in server_env.items() if key != "REDIS_URL"}
    env["OPENINTENT_VAR_DIR"] = str(tmp_path / "var")
    return env


def test_two_celery_workers_racing_through_queued_sweeps_move_each_agent_once(silent_fleet, server_env, tmp_path):
    env = isolated_env(server_env, tmp_path)
    queue_sweeps = (
        "import django; django.setup()\n"
        "from agents.tasks import sweep_agent_health\n"
        "for _ in range(8):\n"
        "    sweep_agent_health.delay()\n"
    )
    subprocess.run([sys.executable, "-c", queue_sweeps], cwd=ROOT, env=env, check=True, timeout=60)

    with running_celery_worker(env) as first, running_celery_worker(env) as second:
        done = wait_for(lambda: not Lease.objects.filter(status="active").exists(), timeout=120)
        for worker in (first, second):
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
    # Both workers have stopped (each finished the sweep it was running): nothing is moving any more.

    assert done, "the workers did not sweep within 120 s"
    assert_each_transition_happened_once()


def test_processes_sweeping_at_the_same_moment_move_each_agent_once(silent_fleet, server_env, tmp_path):
    env = isolated_env(server_env, tmp_path)
    go = tmp_path / "go"
    sweep = (
        "import os, time, django; django.setup()\n"
        "from agents.registry.services import sweep_health\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    time.sleep(0.01)\n"
        "print(sweep_health(batch_size=4))\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", sweep], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    go.touch()
    outputs = [process.communicate(timeout=180)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0, 0], outputs
    moved = [ast.literal_eval(output.strip().splitlines()[-1]) for output in outputs]
    assert sum(counts["unhealthy"] for counts in moved) == AGENTS
    assert sum(counts["dead"] for counts in moved) == AGENTS
    assert_each_transition_happened_once()
