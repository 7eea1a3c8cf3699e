"""The agent runtime (openintent.agents) against a live server: the Worker completes intents, records failures,
survives reconnects and a SIGKILL without working twice on an assignment; each ``@Agent`` decorator fires on the
event that should fire it and not on one that should not; drains end within ``drain_timeout``.

Agents run in a thread of the test (or a subprocess) and start their stream from an event id the test read first
(``last_event_id``), so no event the test writes can slip past before they connect. Nothing waits on time: each
test waits for a server-side fact with a generous deadline."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from contextlib import contextmanager

import httpx
import pytest
from openintent import (
    Agent,
    AgentConfig,
    IntentStatus,
    NotFoundError,
    OpenIntentClient,
    Worker,
    input_guardrail,
    on_access_requested,
    on_assignment,
    on_complete,
    on_drain,
    on_event,
    on_handoff,
    on_lease_available,
    on_retry,
    on_state_change,
    on_task,
    output_guardrail,
)
from openintent.agents import WORK_SCOPE, BaseAgent

from ..conftest import ROOT, wait_for
from .conftest import AGENT, KEY, OTHER_AGENT, OTHER_KEY
from .test_streaming import Proxy

WAIT = 60


@pytest.fixture
def boss(live_server_url):
    """agent-synth: creates intents and assigns them to agent-research, the agent under test."""
    client = OpenIntentClient(live_server_url, OTHER_KEY, OTHER_AGENT)
    yield client
    client.close()


def last_id(client, intent_id):
    return client.get_events(intent_id, limit=1)[0].id


@contextmanager
def running(agent: BaseAgent):
    """``agent.run()`` in a thread; stopped and joined on exit."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            agent.run()
        except BaseException as exc:  # noqa: BLE001  (reported to the test)
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        agent.stop()
        thread.join(30)
        assert not thread.is_alive(), "the agent did not stop"
    assert not failure, failure


def status_of(client, intent_id):
    return client.get_intent(intent_id).status


def completed(client, intent_id):
    return status_of(client, intent_id) == IntentStatus.COMPLETED


def config(**fields):
    return AgentConfig(api_key=KEY, reconnect_delay=0.1, **fields)


# Worker -------------------------------------------------------------------------------------------------------


def test_worker_patches_the_result_and_completes_each_assigned_intent(boss, live_server_url):
    calls = Counter()

    async def process(intent):
        calls[intent.id] += 1
        return {"result": intent.title.upper()}

    first = boss.create_intent("first job")
    second = boss.create_intent("second job")
    other = boss.create_intent("not assigned to the worker")
    worker = Worker(AGENT, process, live_server_url, KEY, last_event_id=last_id(boss, other.id))
    with running(worker):
        boss.assign_agent(first.id, AGENT)
        boss.assign_agent(second.id, AGENT)
        boss.assign_agent(other.id, OTHER_AGENT)
        assert wait_for(lambda: completed(boss, first.id) and completed(boss, second.id), WAIT)
    assert boss.get_intent(first.id).state.get("result") == "FIRST JOB"
    assert boss.get_intent(second.id).state.get("result") == "SECOND JOB"
    assert calls == {first.id: 1, second.id: 1}
    assert status_of(boss, other.id) == IntentStatus.DRAFT
    assert boss.get_leases(first.id) == []  # the work lease was released
    scopes = [e.payload.get("scope") for e in boss.get_events(first.id, "lease_acquired")]
    assert scopes == [WORK_SCOPE]


def test_a_sync_handler_runs_in_a_thread_and_a_failure_is_recorded(boss, live_server_url):
    seen_threads = []

    def process(intent):
        seen_threads.append(threading.current_thread().name)
        if intent.title == "bad":
            raise ValueError("cannot do bad work")
        return {"ok": True}

    good = boss.create_intent("good")
    bad = boss.create_intent("bad")
    worker = Worker(AGENT, process, live_server_url, KEY, last_event_id=last_id(boss, bad.id))
    with running(worker) as thread:
        boss.assign_agent(bad.id, AGENT)
        boss.assign_agent(good.id, AGENT)
        assert wait_for(lambda: completed(boss, good.id) and boss.get_failures(bad.id), WAIT)
    failures = boss.get_failures(bad.id)
    assert [(f.agent_id, f.error_code, f.error_message) for f in failures] == [
        (AGENT, "ValueError", "cannot do bad work")
    ]
    assert status_of(boss, bad.id) != IntentStatus.COMPLETED
    assert boss.get_leases(bad.id) == []
    assert thread.name not in seen_threads


def test_an_intent_waiting_for_a_dependency_is_worked_on_once_it_is_unblocked(boss, live_server_url):
    calls = Counter()

    def process(intent):
        calls[intent.id] += 1
        return {"built_on": boss.get_dependencies(intent.id)[0].state.get("base")}

    base = boss.create_intent("the base")
    later = boss.create_intent("built on the base", depends_on=[base.id])
    worker = Worker(AGENT, process, live_server_url, KEY, last_event_id=last_id(boss, later.id))
    with running(worker):
        boss.assign_agent(later.id, AGENT)
        # Taking it began work on the draft, which blocked it; the worker let go and waits.
        assert wait_for(lambda: status_of(boss, later.id) == IntentStatus.BLOCKED, WAIT)
        assert wait_for(lambda: boss.get_leases(later.id) == [], WAIT)
        base_now = boss.update_state(base.id, base.version, {"base": "concrete"})
        boss.set_status(base.id, base_now.version, "completed")
        assert wait_for(lambda: completed(boss, later.id), WAIT)
    assert calls == {later.id: 1}
    assert boss.get_intent(later.id).state.get("built_on") == "concrete"


def test_worker_survives_a_cut_stream_and_a_replay_without_working_twice(boss, live_server_url):
    calls = Counter()

    async def process(intent):
        calls[intent.id] += 1
        return {"n": calls[intent.id]}

    proxy = Proxy(live_server_url)
    first = boss.create_intent("before the cut")
    second = boss.create_intent("after the cut")
    start = last_id(boss, second.id)
    try:
        worker = Worker(AGENT, process, config=config(base_url=proxy.url), last_event_id=start)
        with running(worker):
            boss.assign_agent(first.id, AGENT)
            assert wait_for(lambda: completed(boss, first.id), WAIT)
            proxy.cut()
            boss.assign_agent(second.id, AGENT)
            assert wait_for(lambda: completed(boss, second.id), WAIT)
            assert len(proxy.heads) >= 2  # it did reconnect
    finally:
        proxy.stop()
    assert calls == {first.id: 1, second.id: 1}

    # A second run replays both assignments from the same point: it sees them, and works on neither.
    replayed = []

    @Agent(AGENT, api_key=KEY)
    class Again:
        @on_assignment
        async def work(self, intent):
            return await process(intent)

        @on_event("AGENT_ASSIGNED")
        def seen(self, intent, event):
            replayed.append(intent.id)

    marker = boss.create_intent("replay marker")
    with running(Again(base_url=live_server_url, last_event_id=start)):
        boss.assign_agent(marker.id, AGENT)
        assert wait_for(lambda: completed(boss, marker.id) and marker.id in replayed, WAIT)
    assert replayed == [first.id, second.id, marker.id]
    assert calls == {first.id: 1, second.id: 1, marker.id: 1}


WORKER_SCRIPT = """
import os, sys, time
from openintent import AgentConfig, OpenIntentClient, Worker

url, key, agent, start = sys.argv[1:5]
client = OpenIntentClient(url, key, agent)
if len(sys.argv) > 5:  # a roll call: the test waits for every worker to be up
    client.log_event(sys.argv[5], "worker_started", {"pid": os.getpid()})

def process(intent):
    earlier = client.get_events(intent.id, "processing")
    client.log_event(intent.id, "processing", {"pid": os.getpid()})
    if intent.title.startswith("hold") and not earlier:
        while True:  # the first attempt never ends: the test kills it
            time.sleep(0.5)
    while intent.title.startswith("gated") and not client.get_intent(intent.id).state.get("go"):
        time.sleep(0.2)  # held until the test lets every gated job go at once
    return {"done_by": os.getpid()}

config = AgentConfig(base_url=url, api_key=key, reconnect_delay=0.1, lease_seconds=3)
Worker(agent, process, config=config, last_event_id=start).run()
"""


def test_a_worker_killed_and_restarted_does_not_work_twice_on_an_assignment(boss, live_server_url, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "sdk")}
    done = boss.create_intent("done before the kill")
    held = boss.create_intent("hold: killed while working on it")
    start = last_id(boss, held.id)

    def start_worker():
        return subprocess.Popen(
            [sys.executable, str(script), live_server_url, KEY, AGENT, start], env=env, stderr=subprocess.PIPE
        )

    def processing(intent_id):
        return [e.payload["pid"] for e in reversed(boss.get_events(intent_id, "processing"))]

    first = start_worker()
    try:
        boss.assign_agent(done.id, AGENT)
        assert wait_for(lambda: completed(boss, done.id), WAIT)
        boss.assign_agent(held.id, AGENT)
        assert wait_for(lambda: processing(held.id), WAIT)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    # The restarted worker replays both assignments (the same start): the completed intent is left alone, the
    # held one is taken again once the dead worker's lease has lapsed, and finished.
    second = start_worker()
    try:
        assert wait_for(lambda: completed(boss, held.id), WAIT), second.stderr
    finally:
        second.terminate()
        second.wait(30)
    assert processing(done.id) == [first.pid]
    assert processing(held.id) == [first.pid, second.pid]
    assert boss.get_intent(held.id).state.get("done_by") == second.pid
    leases = sorted(boss.get_leases(held.id, include_all=True), key=lambda lease: lease.created_at)
    assert [lease.scope for lease in leases] == [WORK_SCOPE, WORK_SCOPE]
    assert leases[0].expires_at <= leases[1].created_at  # the second never overlapped the dead one's
    assert second.returncode == 0  # SIGTERM drains and exits cleanly


def test_two_copies_of_a_worker_on_two_servers_work_once_on_each_assignment(boss, live_servers, tmp_path):
    """Two processes of one agent, each on its own server process, both receive every assignment while the work
    is held open: the work lease lets exactly one of them work on each intent."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "sdk")}
    roll_call = boss.create_intent("roll call")
    jobs = [boss.create_intent(f"gated job {n}") for n in range(6)]
    start = last_id(boss, jobs[-1].id)
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), server.url, KEY, AGENT, start, roll_call.id],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for server in live_servers
    ]
    try:
        assert wait_for(lambda: len(boss.get_events(roll_call.id, "worker_started")) == 2, WAIT)
        for job in jobs:
            boss.assign_agent(job.id, AGENT)
        # Every job is being worked on, and held: both copies have had every assignment in that time.
        assert wait_for(lambda: all(boss.get_events(job.id, "processing") for job in jobs), WAIT)
        for job in jobs:
            boss.update_state(job.id, boss.get_intent(job.id).version, {"go": True})
        assert wait_for(lambda: all(completed(boss, job.id) for job in jobs), WAIT)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    pids = {worker.pid for worker in workers}
    for job in jobs:
        processed = [e.payload["pid"] for e in boss.get_events(job.id, "processing")]
        assert len(processed) == 1 and processed[0] in pids
        assert boss.get_intent(job.id).state.get("done_by") == processed[0]


# @Agent decorators --------------------------------------------------------------------------------------------


def decorated(log, **options):
    """An @Agent class whose handlers append what fired to ``log``."""

    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1, **options)
    class Recorder:
        def __init__(self):
            self.started = True

        @on_assignment
        async def assigned(self, intent):
            log.append(("assignment", intent.id))
            if intent.state.get("keep_open"):
                raise RuntimeError("kept open")
            return {"handled_by": self.agent_id}

        @on_complete
        def done(self, intent):
            log.append(("complete", intent.id))

        @on_state_change(keys=["data"])
        async def data_changed(self, intent, old_state, new_state):
            log.append(("state_change", intent.id, old_state.get("data"), new_state.get("data")))
            return {"analysis": f"saw {new_state['data']}"}

        @on_event("note")
        async def noted(self, intent, event):
            log.append(("event", intent.id, event.data.get("text")))

        @on_lease_available("draft")
        async def draft_free(self, intent, scope):
            log.append(("lease_available", intent.id, scope))

        @on_access_requested
        async def access(self, intent, request):
            log.append(("access_requested", intent.id, request.principal_id))
            return "approve" if request.principal_id == "agent-friend" else "deny"

        @on_task(status="completed")
        async def task_done(self, intent, task):
            log.append(("task", intent.id, task.get("event_type")))

    return Recorder


def kinds(log, kind):
    return [entry for entry in log if entry[0] == kind]


def test_the_decorator_builds_an_agent_from_a_plain_class(live_server_url):
    log: list = []
    cls = decorated(log)
    agent = cls(base_url=live_server_url)
    assert isinstance(agent, BaseAgent) and agent.agent_id == AGENT and agent.started
    assert agent.config.base_url == live_server_url and agent.config.api_key == KEY
    assert set(agent._handlers) >= {"assignment", "complete", "state_change", "event"}
    with pytest.raises(TypeError, match="unknown agent options: colour"):
        Agent("x", colour="blue")


def test_each_decorator_fires_on_its_event_and_not_on_others(boss, live_server_url):
    log: list = []
    work = boss.create_intent("assigned work", initial_state={"keep_open": True})
    elsewhere = boss.create_intent("not the agent's")  # events here must fire nothing
    agent = decorated(log)(base_url=live_server_url, last_event_id=last_id(boss, elsewhere.id))
    with running(agent):
        boss.assign_agent(work.id, AGENT)
        assert wait_for(lambda: boss.get_failures(work.id), WAIT)  # the handler ran and raised: kept open
        assert kinds(log, "assignment") == [("assignment", work.id)]

        # on_state_change: fires for "data", not for another key; its result is written.
        intent = boss.update_state(work.id, boss.get_intent(work.id).version, {"other": 1})
        boss.update_state(work.id, intent.version, {"data": "d1"})
        assert wait_for(lambda: boss.get_intent(work.id).state.get("analysis") == "saw d1", WAIT)
        assert kinds(log, "state_change") == [("state_change", work.id, None, "d1")]

        # on_event: a note fires it, a comment does not.
        boss.log_event(work.id, "comment", {"text": "not a note"})
        boss.log_event(work.id, "note", {"text": "hello"})
        assert wait_for(lambda: kinds(log, "event"), WAIT)
        assert kinds(log, "event") == [("event", work.id, "hello")]

        # on_lease_available: a release of "draft" fires it, of "summary" not.
        for scope in ("summary", "draft"):
            lease = boss.acquire_lease(work.id, scope, 60)
            boss.release_lease(work.id, lease.id)
        assert wait_for(lambda: kinds(log, "lease_available"), WAIT)

        # on_access_requested: approve one, deny another (the agent is admin under the open policy).
        friend = OpenIntentClient(live_server_url, OTHER_KEY, "agent-friend")
        stranger = OpenIntentClient(live_server_url, OTHER_KEY, "agent-stranger")
        friend.request_access(work.id, principal_id="agent-friend", permission="read")
        stranger.request_access(work.id, principal_id="agent-stranger", permission="read")
        assert wait_for(lambda: {r.status for r in boss.list_access_requests(work.id)} == {"approved", "denied"}, WAIT)
        decided = {r.principal_id: r.status for r in boss.list_access_requests(work.id)}
        assert decided == {"agent-friend": "approved", "agent-stranger": "denied"}
        friend.close()
        stranger.close()

        # on_complete: completing the intent fires it.
        intent = boss.get_intent(work.id)
        boss.set_status(work.id, intent.version, "completed")
        assert wait_for(lambda: kinds(log, "complete"), WAIT)

        # Nothing on the unassigned intent fires anything.
        boss.log_event(elsewhere.id, "note", {"text": "elsewhere"})
        boss.update_state(elsewhere.id, boss.get_intent(elsewhere.id).version, {"data": "x"})
        marker = boss.create_intent("marker")
        boss.assign_agent(marker.id, AGENT)
        # The marker's completion reaches the agent's stream after every event written before it.
        assert wait_for(lambda: ("complete", marker.id) in log, WAIT)
    assert kinds(log, "lease_available") == [("lease_available", work.id, "draft")]
    assert kinds(log, "complete") == [("complete", work.id), ("complete", marker.id)]
    assert kinds(log, "event") == [("event", work.id, "hello")]
    assert all(entry[1] != elsewhere.id for entry in log)
    assert boss.get_intent(marker.id).state.get("handled_by") == AGENT


def test_guardrails_retry_and_handoff(boss, live_server_url):
    log: list = []

    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1)
    class Guarded:
        @input_guardrail
        def only_titled(self, intent):
            return not intent.title.startswith("forbidden")

        @output_guardrail
        def no_secrets(self, intent, result):
            return "secret" not in result

        @on_assignment
        async def work(self, intent):
            log.append(("assignment", intent.title))
            return {"secret": 1} if "leak" in intent.title else {"fine": 1}

        @on_handoff
        async def handed(self, intent, from_agent):
            log.append(("handoff", intent.title, from_agent))
            return {"handed_from": from_agent}

        @on_retry
        async def again(self, intent, attempt, last_error):
            log.append(("retry", intent.title, attempt, last_error))
            return {"retried": attempt}

    forbidden = boss.create_intent("forbidden work")
    leak = boss.create_intent("leak work")
    handed = boss.create_intent("handed over")
    agent = Guarded(base_url=live_server_url, last_event_id=last_id(boss, handed.id))
    with running(agent):
        boss.assign_agent(forbidden.id, AGENT)
        boss.assign_agent(leak.id, AGENT)
        delegator = Worker(OTHER_AGENT, lambda intent: None, live_server_url, OTHER_KEY)
        asyncio.run(delegator.delegate(handed.id, AGENT))
        assert wait_for(lambda: completed(boss, handed.id), WAIT)
        assert wait_for(lambda: boss.get_failures(forbidden.id) and boss.get_failures(leak.id), WAIT)
    assert ("assignment", "forbidden work") not in log
    assert ("assignment", "leak work") in log
    assert [f.error_code for f in boss.get_failures(leak.id)] == ["GuardrailError"]
    assert "input guardrail" in boss.get_failures(forbidden.id)[0].error_message
    assert ("handoff", "handed over", OTHER_AGENT) in log and ("assignment", "handed over") not in log
    assert boss.get_intent(handed.id).state.get("handed_from") == OTHER_AGENT
    assert "secret" not in boss.get_intent(leak.id).state.to_dict()


def test_retry_handler_fires_on_a_server_retry(boss, live_server_url, celery_worker):
    log: list = []

    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1)
    class Retrying:
        @on_assignment
        async def work(self, intent):
            log.append("assignment")
            raise RuntimeError("first try fails")

        @on_retry
        async def again(self, intent, attempt, last_error):
            log.append(("retry", attempt, last_error))
            return {"recovered": True}

    intent = boss.create_intent("retried")
    boss.set_retry_policy(intent.id, max_retries=2, strategy="fixed", base_delay_ms=100)
    agent = Retrying(base_url=live_server_url, last_event_id=last_id(boss, intent.id))
    with running(agent):
        boss.assign_agent(intent.id, AGENT)
        assert wait_for(lambda: completed(boss, intent.id), WAIT)
    assert log == ["assignment", ("retry", 2, "first try fails")]
    assert boss.get_intent(intent.id).state.get("recovered") is True


def test_drain_stops_taking_work_and_ends_within_drain_timeout(boss, live_server_url):
    log: list = []
    release = threading.Event()

    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1, drain_timeout=30)
    class Draining:
        @on_assignment
        def work(self, intent):
            log.append(("assignment", intent.title))
            release.wait(WAIT)
            return {"finished": True}

        @on_drain
        def draining(self):
            log.append(("drain",))
            release.set()

    busy = boss.create_intent("busy when the drain comes")
    late = boss.create_intent("assigned after the drain")
    agent = Draining(base_url=live_server_url, last_event_id=last_id(boss, late.id))
    with running(agent) as thread:
        boss.assign_agent(busy.id, AGENT)
        assert wait_for(lambda: log, WAIT)
        agent.request_drain()
        thread.join(WAIT)
        assert not thread.is_alive()  # it stopped by itself once its work was done
    assert log == [("assignment", "busy when the drain comes"), ("drain",)]
    assert completed(boss, busy.id)
    boss.assign_agent(late.id, AGENT)
    assert status_of(boss, late.id) == IntentStatus.DRAFT


def test_drain_timeout_cancels_work_in_hand_and_releases_its_lease(boss, live_server_url):
    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1, drain_timeout=0.5)
    class Stuck:
        @on_assignment
        async def work(self, intent):
            await asyncio.sleep(3600)

    stuck = boss.create_intent("never finishes")
    agent = Stuck(base_url=live_server_url, last_event_id=last_id(boss, stuck.id))
    with running(agent) as thread:
        boss.assign_agent(stuck.id, AGENT)
        assert wait_for(lambda: boss.get_leases(stuck.id), WAIT)
        agent.request_drain()
        thread.join(WAIT)
        assert not thread.is_alive()
    assert boss.get_leases(stuck.id) == []
    assert status_of(boss, stuck.id) == IntentStatus.ACTIVE


def test_sigterm_drains_a_worker_process(boss, live_server_url, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "sdk")}
    intent = boss.create_intent("one job")
    process = subprocess.Popen(
        [sys.executable, str(script), live_server_url, KEY, AGENT, last_id(boss, intent.id)],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        boss.assign_agent(intent.id, AGENT)
        assert wait_for(lambda: completed(boss, intent.id), WAIT)
        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_keys_in_state_change_are_those_changed_not_those_present(boss, live_server_url):
    log: list = []

    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1, auto_complete=False)
    class Watcher:
        @on_state_change(["data"])
        def changed(self, intent, old_state, new_state):
            log.append(dict(new_state))

    intent = boss.create_intent("watched", initial_state={"data": 1})
    agent = Watcher(base_url=live_server_url, last_event_id=last_id(boss, intent.id))
    with running(agent):
        boss.assign_agent(intent.id, AGENT)
        current = boss.update_state(intent.id, boss.get_intent(intent.id).version, {"other": 2})  # data present
        boss.update_state(intent.id, current.version, {"data": 3})
        # Events are dispatched in order: had the first patch fired the handler, it would be logged first.
        assert wait_for(lambda: log, WAIT)
    assert log == [{"data": 3, "other": 2}]


def test_task_events_fire_on_task_for_their_status(boss, live_server_url):
    log: list = []

    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1, auto_complete=False)
    class TaskWatcher:
        @on_task(status="completed")
        def finished(self, intent, task):
            log.append(("completed", task["task_id"]))

        @on_task()
        def any_move(self, intent, task):
            log.append(("any", task["event_type"]))

    intent = boss.create_intent("with a task")
    boss.assign_agent(intent.id, AGENT)
    http = httpx.Client(base_url=live_server_url + "/api/v1", headers={"X-API-Key": OTHER_KEY})
    agent = TaskWatcher(base_url=live_server_url, last_event_id=last_id(boss, intent.id))
    with running(agent):
        task = http.post(f"/intents/{intent.id}/tasks", json={"name": "one step"}).json()
        for move in ("claim", "start", "complete"):
            assert http.post(f"/tasks/{task['id']}/{move}", json={}).status_code == 200
        assert wait_for(lambda: ("completed", task["id"]) in log, WAIT)
    http.close()
    assert [entry for entry in log if entry[0] == "completed"] == [("completed", task["id"])]
    moves = [entry[1] for entry in log if entry[0] == "any"]
    assert moves[-1] == "task.completed" and "task.claimed" in moves


def test_a_drain_the_server_announces_stops_the_agent(boss, live_server_url):
    log: list = []

    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1)
    class Drained:
        @on_drain
        def draining(self):
            log.append("drain")

    http = httpx.Client(base_url=live_server_url + "/api/v1", headers={"X-API-Key": KEY, "X-Agent-ID": AGENT})
    assert http.post("/agents/register", json={"agent_id": AGENT}).status_code in (200, 201)
    work = boss.create_intent("held while draining")
    boss.assign_agent(work.id, AGENT)  # lifecycle events reach the stream through the intents the agent works on
    agent = Drained(base_url=live_server_url, last_event_id=last_id(boss, work.id))
    with running(agent) as thread:
        response = http.patch(f"/agents/{AGENT}/status", json={"status": "draining", "reason": "maintenance"})
        assert response.status_code == 200, response.text
        thread.join(WAIT)
        assert not thread.is_alive()
    http.close()
    assert log == ["drain"]


# The registry, memory and tools --------------------------------------------------------------------------------


def test_auto_heartbeat_registers_the_agent_and_heartbeats(boss, live_server_url):
    @Agent(AGENT, api_key=KEY, capabilities=["research"], heartbeat_interval=0.2, drain_timeout=5)
    class Beating:
        pass

    agent = Beating(base_url=live_server_url)
    with running(agent):
        record = wait_for(lambda: _record(boss, AGENT), WAIT)
        assert record.capabilities == ["research"] and record.status == "active"
        assert record.capacity.max_concurrent_tasks == 5
        first = record.last_heartbeat_at
        assert wait_for(lambda: _record(boss, AGENT).last_heartbeat_at > first, WAIT)
        agent.request_drain()
        assert wait_for(lambda: _record(boss, AGENT).status == "deregistered", WAIT)

    @Agent(OTHER_AGENT, api_key=OTHER_KEY, auto_heartbeat=False)
    class Silent:
        pass

    marker = boss.create_intent("marker")
    with running(Silent(base_url=live_server_url, last_event_id=last_id(boss, marker.id))):
        boss.assign_agent(marker.id, OTHER_AGENT)
        assert wait_for(lambda: completed(boss, marker.id), WAIT)  # it ran, and took work
    assert _record(boss, OTHER_AGENT) is None


def _record(client, agent_id):
    try:
        return client.agents.get(agent_id)
    except NotFoundError:
        return None


def test_a_drain_asked_in_a_heartbeat_answer_stops_the_agent(boss, live_server_url, person_api, django_user_model):
    log: list = []
    django_user_model.objects.filter(username="reviewer").update(is_staff=True)  # an administrator

    @Agent(AGENT, api_key=KEY, heartbeat_interval=0.2, auto_subscribe=False)  # heartbeats only, no stream
    class Told:
        @on_drain
        def draining(self):
            log.append("drain")

    agent = Told(base_url=live_server_url)
    with running(agent) as thread:
        assert wait_for(lambda: _record(boss, AGENT), WAIT)
        # An administrator's drain of an idle agent: the heartbeat answer carries the command.
        response = person_api.patch(f"/api/v1/agents/{AGENT}/status", {"status": "draining"}, format="json")
        assert response.status_code == 200, response.content
        thread.join(WAIT)
        assert not thread.is_alive()
    assert log == ["drain"]


def test_self_memory_tools_and_tasks(boss, live_server_url):
    seen: dict = {}

    @Agent(AGENT, api_key=KEY, memory="episodic")
    class Remembering:
        @on_assignment
        async def work(self, intent):
            seen["before"] = [entry.key for entry in await self.memory.recall(tags=["research"])]
            await self.memory.store(f"research-{intent.title}", "first finding", tags=["research"])
            await self.memory.store(f"research-{intent.title}", {"text": "second"}, tags=["research", "v2"])
            await self.memory.store("scratch", {"n": 1})
            seen["after"] = [(e.key, e.value) for e in await self.memory.recall(tags=["research"])]
            seen["forgot"] = (await self.memory.forget("scratch"), await self.memory.forget("scratch"))
            seen["pinned"] = (await self.memory.pin(f"research-{intent.title}")).pinned
            task = await self.tasks.create(intent.id, "sub-step")
            seen["tasks"] = [t.name for t in await self.tasks.list(intent.id)]
            seen["task_id"] = task.id
            return {"ok": True}

    intent = boss.create_intent("alpha")
    agent = Remembering(base_url=live_server_url, last_event_id=last_id(boss, intent.id))
    with running(agent):
        boss.assign_agent(intent.id, AGENT)
        assert wait_for(lambda: completed(boss, intent.id), WAIT)
    assert seen["before"] == []
    assert seen["after"] == [("research-alpha", {"text": "second"})]
    assert seen["forgot"] == (True, False) and seen["pinned"] is True
    assert seen["tasks"] == ["sub-step"]
    entries = OpenIntentClient(live_server_url, KEY, AGENT).list_memory(AGENT, AGENT)
    assert [(e.key, e.memory_type, e.tags) for e in entries] == [("research-alpha", "episodic", ["research", "v2"])]
