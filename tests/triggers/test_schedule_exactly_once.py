"""Each due time of a schedule trigger fires exactly once, proven with real processes on PostgreSQL: two Celery
workers and two beat processes ticking several times a second, and a worker killed with SIGKILL in the middle of a
fire (its transaction rolled back, the due time fired by the next worker: one intent, none missing)."""

import os
import signal
import time
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from intents.models import Intent
from tests.conftest import running_celery_worker, wait_for
from triggers.models import FireOutcome, Trigger, TriggerFire

from .helpers import running_beat, schedule_trigger

pytestmark = pytest.mark.postgres

# Only the trigger tick runs often; the other periodic jobs wait an hour, so that nothing else holds the workers.
QUIET = {
    "OPENINTENT_TRIGGER_TICK_SECONDS": "0.2",
    "OPENINTENT_LEASE_SWEEP_SECONDS": "3600",
    "OPENINTENT_AGENT_HEALTH_SWEEP_SECONDS": "3600",
    "OPENINTENT_MEMORY_SWEEP_SECONDS": "3600",
    "OPENINTENT_TASK_SWEEP_SECONDS": "3600",
}


@pytest.fixture
def env(server_env, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the exactly-once proofs run on PostgreSQL (DATABASE_URL)")
    return {**server_env, **QUIET}


def fired_slots(trigger_id):
    """(due time, intents created for it) of every due time the trigger fired."""
    intents = Intent.objects.filter(trigger_lineage__trigger_id=str(trigger_id))
    return Counter(intent.trigger_lineage["scheduled_for"] for intent in intents)


def test_two_workers_and_two_beats_fire_each_due_time_once(env, transactional_db, api, tmp_path):
    triggers = [schedule_trigger(api, cron="* * * * *", name=f"Every minute {n}") for n in range(8)]
    first_due = {trigger["trigger_id"]: trigger["next_fire_at"] for trigger in triggers}

    with ExitStack() as stack:
        workers = [stack.enter_context(running_celery_worker(env)) for _ in range(2)]
        for n in range(2):
            stack.enter_context(running_beat(env, tmp_path / f"beat-{n}"))

        def all_fired():
            return all(first_due[pk] in fired_slots(pk) for pk in first_due)

        # The first due time is the next minute boundary: at most a minute away.
        done = wait_for(all_fired, timeout=120)
        # A few more ticks of both beats on both workers, to give a second fire every chance to happen.
        time.sleep(2)
        assert all(worker.poll() is None for worker in workers), [w.stderr.read().decode()[-2000:] for w in workers]

    assert done, {pk: dict(fired_slots(pk)) for pk in first_due}
    for pk, due in first_due.items():
        slots = fired_slots(pk)
        assert slots[due] == 1
        assert set(slots.values()) == {1}, slots
        fires = TriggerFire.objects.filter(trigger_id=pk, outcome=FireOutcome.FIRED)
        assert fires.count() == sum(slots.values())
        assert Trigger.objects.get(pk=pk).fire_count == fires.count()


def blocked_intent_inserts(lock_connection):
    """Backends waiting for a lock while inserting an intent."""
    with lock_connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query ILIKE 'INSERT INTO \"intents_intent\"%%'"
        )
        return [row[0] for row in cursor.fetchall()]


def backend_alive(lock_connection, pid):
    with lock_connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


def test_a_worker_killed_in_the_middle_of_a_fire_leaves_nothing_and_the_due_time_still_fires_once(
    env, transactional_db, api, tmp_path
):
    trigger = schedule_trigger(api, cron="0 0 1 1 *", name="Yearly")
    due = timezone.now() - timedelta(seconds=1)
    Trigger.objects.filter(pk=trigger["trigger_id"]).update(next_fire_at=due)
    settings = connection.settings_dict
    dsn = f"postgresql://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    watcher = psycopg.connect(f"{dsn}/{settings['NAME']}", autocommit=True)
    holder = psycopg.connect(f"{dsn}/{settings['NAME']}")
    try:
        # Hold back every insert of an intent, so that the worker's fire stops half-way: after it has claimed the
        # due time and locked the trigger, before its intent exists.
        holder.execute('LOCK TABLE "intents_intent" IN SHARE ROW EXCLUSIVE MODE')
        with running_beat(env, tmp_path / "beat"):
            with running_celery_worker(env) as doomed:
                stuck = wait_for(lambda: blocked_intent_inserts(watcher), timeout=60)
                assert stuck, "the worker never reached the intent's insert"
                os.kill(doomed.pid, signal.SIGKILL)
                doomed.wait(timeout=15)
            holder.rollback()
            # The killed worker's backend finds its client gone and rolls the whole fire back.
            assert wait_for(lambda: not backend_alive(watcher, stuck[0]), timeout=60)
            assert fired_slots(trigger["trigger_id"]) == {}
            assert not TriggerFire.objects.filter(trigger_id=trigger["trigger_id"]).exists()
            assert Trigger.objects.get(pk=trigger["trigger_id"]).next_fire_at == due

            with running_celery_worker(env) as survivor:
                fired = wait_for(lambda: fired_slots(trigger["trigger_id"]), timeout=60)
                time.sleep(1)
                assert survivor.poll() is None, survivor.stderr.read().decode()[-2000:]
    finally:
        holder.close()
        watcher.close()

    assert fired, "the due time was never fired after the worker was killed"
    slots = fired_slots(trigger["trigger_id"])
    assert list(slots.values()) == [1]
    assert timezone.datetime.fromisoformat(next(iter(slots))) == due
    assert TriggerFire.objects.filter(trigger_id=trigger["trigger_id"], outcome=FireOutcome.FIRED).count() == 1
    assert Trigger.objects.get(pk=trigger["trigger_id"]).next_fire_at.year == due.year + 1
