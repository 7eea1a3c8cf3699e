"""Live streams (RFC-0006) over SSE and websockets, through real server processes (uvicorn)."""

import asyncio
import gc
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as websocket_connect

from intents.access.services import set_acl
from intents.core import services
from intents.streams import topics as streams_module
from openintent_site.events import append_event
from openintent_site.models import IntentEvent
from tests.conftest import ROOT, start_server

RESEARCH = {"X-API-Key": "agent-research-key"}
SYNTH = {"X-API-Key": "agent-synth-key"}
WAIT = 10  # seconds a test waits for an event before it fails; delivery times are measured by bench/streams.py


class SSEReader:
    """Reads one SSE response in a thread, parsing frames into dicts with ``id``, ``event`` and ``data``."""

    def __init__(self, url, headers, last_event_id=None):
        headers = {**headers, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.client = httpx.Client(timeout=httpx.Timeout(5, read=None))
        self.response = self.client.send(self.client.build_request("GET", url, headers=headers), stream=True)
        self.frames = queue.Queue()
        self.comments = []
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        frame = {}
        try:
            for line in self.response.iter_lines():
                if not line:
                    if "data" in frame:
                        frame["data"] = json.loads(frame["data"])
                        self.frames.put(frame)
                    frame = {}
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    frame[name] = value[1:] if value.startswith(" ") else value
        except httpx.HTTPError:
            pass
        self.frames.put(None)

    def next(self, timeout=WAIT):
        try:
            frame = self.frames.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s") from None
        assert frame is not None, "the stream ended"
        return frame

    def take(self, count):
        return [self.next() for _ in range(count)]

    def ended(self, timeout=WAIT):
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def close(self):
        self.response.close()
        self.client.close()


@pytest.fixture
def streams():
    readers = []

    def open_stream(url, headers=RESEARCH, last_event_id=None):
        reader = SSEReader(url, headers, last_event_id)
        readers.append(reader)
        assert reader.response.status_code == 200
        return reader

    yield open_stream
    for reader in readers:
        reader.close()


def api(base, method, path, headers=RESEARCH, **kwargs):
    response = httpx.request(method, f"{base}/api/v1{path}", headers=headers, timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def new_intent(base, headers=RESEARCH, **fields):
    return api(base, "POST", "/intents", headers, json={"title": "Streamed", **fields})


def note(base, intent_id, text, headers=RESEARCH):
    return api(
        base, "POST", f"/intents/{intent_id}/events", headers, json={"event_type": "note", "payload": {"n": text}}
    )


def notes(frames):
    return [frame["data"]["payload"]["n"] for frame in frames if frame["event"] == "NOTE"]


@pytest.mark.parametrize("family", ["client", "server"])
def test_intent_stream_carries_each_write_as_json_with_its_log_id(live_server_url, streams, family):
    base = live_server_url
    intent = new_intent(base)
    path = f"/intents/{intent['id']}/subscribe" if family == "client" else f"/subscribe/intents/{intent['id']}"
    reader = streams(f"{base}/api/v1{path}")
    assert reader.response.headers["content-type"].startswith("text/event-stream")
    assert reader.response.headers["cache-control"] == "no-store"

    api(base, "POST", f"/intents/{intent['id']}/state", headers={**RESEARCH, "If-Match": "1"},
        json={"patches": [{"op": "set", "path": "phase", "value": "analysis"}]})  # fmt: skip
    note(base, intent["id"], "hello")
    api(base, "POST", f"/intents/{intent['id']}/status", headers={**RESEARCH, "If-Match": "2"},
        json={"status": "completed"})  # fmt: skip

    activated, patched, posted, completed = reader.take(4)
    assert [activated["event"], patched["event"], posted["event"], completed["event"]] == [
        "STATUS_CHANGED",
        "STATE_CHANGED",
        "NOTE",
        "STATUS_CHANGED",
    ]
    assert activated["data"]["new_status"] == "active" and activated["data"]["old_status"] == "draft"
    assert completed["data"]["new_status"] == "completed"
    assert patched["data"]["patches"] == [{"op": "set", "path": "phase", "value": "analysis"}]
    assert posted["data"]["payload"] == {"n": "hello"} and posted["data"]["actor"] == "agent-research"
    log = api(base, "GET", f"/intents/{intent['id']}/events")
    logged = {event["id"]: event for event in log}
    for frame in (activated, patched, posted, completed):
        assert frame["id"] == frame["data"]["id"]
        assert logged[frame["id"]]["event_type"] == frame["data"]["event_type"]
        assert frame["data"]["intent_id"] == intent["id"]
    assert [int(frame["id"]) for frame in (activated, patched, posted, completed)] == sorted(
        int(frame["id"]) for frame in (activated, patched, posted, completed)
    )
    assert "connected" in reader.comments


@pytest.mark.parametrize(
    "path, headers, status",
    [
        ("/intents/{intent}/subscribe", {}, 401),
        ("/intents/{intent}/subscribe", {"X-API-Key": "wrong"}, 401),
        ("/intents/00000000-0000-4000-8000-000000000000/subscribe", RESEARCH, 404),
        ("/intents/not-a-uuid/subscribe", RESEARCH, 404),
        ("/agents/a%00b/subscribe", RESEARCH, 404),
        ("/subscribe/portfolios/00000000-0000-4000-8000-000000000000", RESEARCH, 404),
        ("/portfolios/{portfolio}/subscribe", SYNTH, 404),
        ("/intents/{closed}/subscribe", SYNTH, 403),
    ],
)
def test_refused_streams_answer_json_before_streaming(live_server_url, path, headers, status):
    base = live_server_url
    intent = new_intent(base)
    closed = new_intent(base)
    api(base, "PUT", f"/intents/{closed['id']}/acl", json={"default_policy": "closed", "entries": []})
    portfolio = api(base, "POST", "/portfolios", json={"name": "Mine"})
    url = base + "/api/v1" + path.format(intent=intent["id"], closed=closed["id"], portfolio=portfolio["id"])
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert "detail" in response.json()
    if status == 403:
        assert response.json()["required_permission"] == "read"


def test_streams_take_only_get(live_server_url):
    intent = new_intent(live_server_url)
    response = httpx.post(f"{live_server_url}/api/v1/intents/{intent['id']}/subscribe", headers=RESEARCH)
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


def test_reconnecting_with_last_event_id_replays_exactly_what_was_missed(live_server_url, streams):
    base = live_server_url
    intent = new_intent(base)
    url = f"{base}/api/v1/intents/{intent['id']}/subscribe"
    first = streams(url)
    note(base, intent["id"], "one")
    note(base, intent["id"], "two")
    seen = first.take(2)
    first.close()  # the connection drops

    for text in ("three", "four", "five"):
        note(base, intent["id"], text)
    second = streams(url, last_event_id=seen[-1]["id"])
    replayed = second.take(3)
    note(base, intent["id"], "six")
    live = second.next()

    assert notes(seen) == ["one", "two"]
    assert notes(replayed) == ["three", "four", "five"]
    assert notes([live]) == ["six"]
    ids = [int(frame["id"]) for frame in seen + replayed + [live]]
    assert ids == sorted(set(ids))


def test_resume_from_the_start_of_the_log_replays_all_of_it(live_server_url, streams):
    base = live_server_url
    intent = new_intent(base)
    note(base, intent["id"], "before")
    created = api(base, "GET", f"/intents/{intent['id']}/events", params={"event_type": "intent_created"})[0]
    reader = streams(f"{base}/api/v1/intents/{intent['id']}/subscribe", last_event_id=created["id"])
    assert notes([reader.next()]) == ["before"]


def test_an_unknown_last_event_id_streams_from_now_on(live_server_url, streams):
    base = live_server_url
    intent = new_intent(base)
    note(base, intent["id"], "old")
    reader = streams(f"{base}/api/v1/intents/{intent['id']}/subscribe", last_event_id="not-a-number")
    note(base, intent["id"], "new")
    assert notes([reader.next()]) == ["new"]


def test_agent_stream_follows_the_intents_assigned_to_the_agent(live_server_url, streams):
    base = live_server_url
    assigned, other = new_intent(base), new_intent(base)
    reader = streams(f"{base}/api/v1/agents/agent-synth/subscribe", headers=SYNTH)

    api(base, "POST", f"/intents/{assigned['id']}/agents", json={"agent_id": "agent-synth"})
    note(base, other["id"], "not for synth")
    note(base, assigned["id"], "for synth")
    api(base, "DELETE", f"/intents/{assigned['id']}/agents/agent-synth")
    note(base, assigned["id"], "after unassignment")
    api(base, "POST", f"/intents/{other['id']}/agents", json={"agent_id": "agent-synth"})

    frames = reader.take(4)
    assert [frame["event"] for frame in frames] == ["AGENT_ASSIGNED", "NOTE", "AGENT_UNASSIGNED", "AGENT_ASSIGNED"]
    assert frames[0]["data"]["intent_id"] == assigned["id"] and frames[0]["data"]["agent_id"] == "agent-synth"
    assert notes(frames) == ["for synth"]
    assert frames[3]["data"]["intent_id"] == other["id"]


def test_agent_stream_leaves_out_intents_the_subscriber_cannot_read(live_server_url, streams):
    base = live_server_url
    secret, public = new_intent(base), new_intent(base)
    api(base, "PUT", f"/intents/{secret['id']}/acl", json={"default_policy": "closed", "entries": []})
    reader = streams(f"{base}/api/v1/agents/agent-synth/subscribe", headers=SYNTH)

    api(base, "POST", f"/intents/{secret['id']}/agents", json={"agent_id": "agent-synth"})
    api(base, "POST", f"/intents/{public['id']}/agents", json={"agent_id": "agent-synth"})
    assigned = reader.next()
    assert assigned["data"]["intent_id"] == public["id"]

    api(
        base, "POST", f"/intents/{secret['id']}/acl/entries", json={"principal_id": "agent-synth", "permission": "read"}
    )
    note(base, secret["id"], "readable now")
    granted, readable = reader.take(2)
    assert granted["event"] == "ACCESS_GRANTED" and granted["data"]["intent_id"] == secret["id"]
    assert notes([readable]) == ["readable now"]


def test_intent_stream_ends_when_read_access_is_revoked(live_server_url, streams):
    base = live_server_url
    intent = new_intent(base)
    api(base, "PUT", f"/intents/{intent['id']}/acl", json={"default_policy": "closed", "entries": []})
    entry = api(
        base, "POST", f"/intents/{intent['id']}/acl/entries", json={"principal_id": "agent-synth", "permission": "read"}
    )
    reader = streams(f"{base}/api/v1/intents/{intent['id']}/subscribe", headers=SYNTH)
    note(base, intent["id"], "visible")
    assert notes([reader.next()]) == ["visible"]

    api(base, "DELETE", f"/intents/{intent['id']}/acl/entries/{entry['id']}")
    note(base, intent["id"], "secret")
    assert reader.ended()
    remaining = []
    while not reader.frames.empty():
        frame = reader.frames.get()
        if frame is not None:
            remaining.append(frame)
    assert "secret" not in notes(remaining)


def test_portfolio_stream_carries_its_members_events(live_server_url, streams):
    base = live_server_url
    member, outsider = new_intent(base), new_intent(base)
    portfolio = api(base, "POST", "/portfolios", json={"name": "Launch"})
    reader = streams(f"{base}/api/v1/portfolios/{portfolio['id']}/subscribe")

    api(base, "POST", f"/portfolios/{portfolio['id']}/intents", json={"intent_id": member["id"]})
    note(base, outsider["id"], "outside")
    note(base, member["id"], "inside")
    api(base, "DELETE", f"/portfolios/{portfolio['id']}/intents/{member['id']}")
    note(base, member["id"], "after removal")
    api(base, "POST", f"/portfolios/{portfolio['id']}/intents", json={"intent_id": outsider["id"]})

    frames = reader.take(4)
    assert [frame["event"] for frame in frames] == [
        "ADDED_TO_PORTFOLIO",
        "NOTE",
        "REMOVED_FROM_PORTFOLIO",
        "ADDED_TO_PORTFOLIO",
    ]
    assert frames[0]["data"]["portfolio_id"] == portfolio["id"]
    assert notes(frames) == ["inside"]
    assert frames[3]["data"]["intent_id"] == outsider["id"]


def test_a_write_to_one_server_process_reaches_a_subscriber_of_another(live_servers, live_server_url, streams):
    writer, listener = live_servers
    intent = new_intent(writer.url)
    reader = streams(f"{listener.url}/api/v1/intents/{intent['id']}/subscribe")
    note(writer.url, intent["id"], "across processes")
    assert notes([reader.next()]) == ["across processes"]


@pytest.fixture
def servers_without_polling(server_env, live_server_url):
    """Two servers that read the log only when a wake-up reaches them (polling once a minute): through the channel
    layer with Redis, through the wake-up sockets without it."""
    env = {**server_env, "OPENINTENT_STREAM_POLL_SECONDS": "60"}
    servers = [start_server(env), start_server(env)]
    yield servers
    for server in servers:
        server.stop()


def test_a_wake_up_alone_reaches_subscribers_of_other_processes(servers_without_polling, streams):
    writer, listener = servers_without_polling
    intent = new_intent(writer.url)
    reader = streams(f"{listener.url}/api/v1/intents/{intent['id']}/subscribe")
    for text in ("first", "second", "third"):
        note(writer.url, intent["id"], text)
    assert notes(reader.take(3)) == ["first", "second", "third"]


# Writes through the service from a process that serves nothing, as a Celery worker or a command makes them.
OUTSIDE_WRITER = """
import sys

import django

django.setup()
from intents.core import services

for line in sys.stdin:
    intent_id, text = line.split()
    services.log_event(intent_id, "note", "agent-research", {"n": text})
    print("written", flush=True)
"""


@contextmanager
def outside_writer(env):
    """A Python process that writes a note for each ``<intent id> <text>`` line it is sent, and stays up (as a
    worker does) until its input ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", OUTSIDE_WRITER],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def write(intent_id, text):
        process.stdin.write(f"{intent_id} {text}\n")
        process.stdin.flush()
        assert process.stdout.readline() == "written\n", process.stderr.read()

    try:
        yield write
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_write_outside_any_server_process_wakes_subscribers(servers_without_polling, server_env, streams):
    listener = servers_without_polling[1]
    intent = new_intent(listener.url)
    reader = streams(f"{listener.url}/api/v1/intents/{intent['id']}/subscribe")
    with outside_writer(server_env) as write:
        write(intent["id"], "outside")
        assert notes([reader.next()]) == ["outside"]


def fill(receiver_path):
    """Send wakes to ``receiver_path`` until its queue is full."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for _ in range(100_000):
            try:
                sender.sendto(b"\0", str(receiver_path))
            except BlockingIOError:
                return
    raise AssertionError("the queue never filled")


@pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="with Redis, wakes go through the channel layer")
def test_a_write_gets_past_dead_full_and_foreign_entries_of_the_wake_folder(
    servers_without_polling, server_env, streams
):
    """A socket whose process is gone is removed, one whose queue is full is skipped without waiting, and other
    files are left alone; the live subscriber is woken all the same. (Names use a number above any process id.)"""
    writer, listener = servers_without_polling
    intent = new_intent(writer.url)
    reader = streams(f"{listener.url}/api/v1/intents/{intent['id']}/subscribe")
    folder = Path(server_env["OPENINTENT_VAR_DIR"]) / "wakes"
    gone, full, foreign = folder / "99999999-00000000", folder / "99999999-0000000f", folder / "99999999-000000ff"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as dead:
        dead.bind(str(gone))
    foreign.write_text("not a socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unread:
        unread.bind(str(full))
        fill(full)

        note(writer.url, intent["id"], "past them")
        assert notes([reader.next()]) == ["past them"]
        assert not gone.exists()
        assert full.exists()
    assert foreign.read_text() == "not a socket"


def test_idle_streams_send_keepalive_comments(server_env, live_server_url, streams):
    server = start_server({**server_env, "OPENINTENT_STREAM_KEEPALIVE_SECONDS": "0.2"})
    try:
        intent = new_intent(server.url)
        reader = streams(f"{server.url}/api/v1/intents/{intent['id']}/subscribe")
        deadline = time.monotonic() + WAIT
        while "keepalive" not in reader.comments and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "keepalive" in reader.comments
        note(server.url, intent["id"], "after a pause")
        assert notes([reader.next()]) == ["after a pause"]
    finally:
        server.stop()


# Websockets --------------------------------------------------------------------------------------------------


def ws_url(base, path):
    return "ws" + base.removeprefix("http") + path


def receive(socket):
    return json.loads(socket.recv(timeout=WAIT))


def test_websocket_carries_the_same_events_as_sse(live_server_url, streams):
    base = live_server_url
    intent = new_intent(base)
    reader = streams(f"{base}/api/v1/intents/{intent['id']}/subscribe")
    with websocket_connect(ws_url(base, f"/ws/intents/{intent['id']}"), additional_headers=RESEARCH) as socket:
        note(base, intent["id"], "both")
        message = receive(socket)
    frame = reader.next()
    assert message == {"id": frame["id"], "event": frame["event"], "data": frame["data"]}


@pytest.mark.parametrize("kind", ["agents", "portfolios"])
def test_websocket_agent_and_portfolio_streams(live_server_url, kind):
    base = live_server_url
    intent = new_intent(base)
    portfolio = api(base, "POST", "/portfolios", json={"name": "Board"})
    key = "agent-research" if kind == "agents" else portfolio["id"]
    with websocket_connect(ws_url(base, f"/ws/{kind}/{key}"), additional_headers=RESEARCH) as socket:
        if kind == "agents":
            api(base, "POST", f"/intents/{intent['id']}/agents", json={"agent_id": "agent-research"})
        else:
            api(base, "POST", f"/portfolios/{portfolio['id']}/intents", json={"intent_id": intent["id"]})
        note(base, intent["id"], "member work")
        first, second = receive(socket), receive(socket)
    assert first["event"] == ("AGENT_ASSIGNED" if kind == "agents" else "ADDED_TO_PORTFOLIO")
    assert second["event"] == "NOTE" and second["data"]["intent_id"] == intent["id"]


def test_websocket_takes_the_key_as_a_query_parameter_and_resumes(live_server_url):
    base = live_server_url
    intent = new_intent(base)
    url = ws_url(base, f"/ws/intents/{intent['id']}?api_key=agent-research-key")
    with websocket_connect(url) as socket:
        note(base, intent["id"], "one")
        seen = receive(socket)
    note(base, intent["id"], "two")
    note(base, intent["id"], "three")
    with websocket_connect(f"{url}&last_event_id={seen['id']}") as socket:
        missed = [receive(socket), receive(socket)]
    assert [message["data"]["payload"]["n"] for message in [seen, *missed]] == ["one", "two", "three"]


@pytest.mark.parametrize(
    "path, headers, code",
    [
        ("/ws/intents/{intent}", {}, 4401),
        ("/ws/intents/{intent}?api_key=wrong", {}, 4401),
        ("/ws/intents/00000000-0000-4000-8000-000000000000", RESEARCH, 4404),
        ("/ws/portfolios/00000000-0000-4000-8000-000000000000", RESEARCH, 4404),
        ("/ws/agents/a%00b", RESEARCH, 4404),
        ("/ws/intents/{closed}", SYNTH, 4403),
    ],
)
def test_refused_websockets_say_why_and_close_with_a_code(live_server_url, path, headers, code):
    base = live_server_url
    intent, closed = new_intent(base), new_intent(base)
    api(base, "PUT", f"/intents/{closed['id']}/acl", json={"default_policy": "closed", "entries": []})
    url = ws_url(base, path.format(intent=intent["id"], closed=closed["id"]))
    frames = []
    with websocket_connect(url, additional_headers=headers) as socket, pytest.raises(ConnectionClosed) as closed_by:
        while True:
            frames.append(receive(socket))
    assert closed_by.value.rcvd.code == code
    # The frame before the close says why. Daphne drops the connection right after its close frame, so a client
    # can now and then see the connection reset before it reads that frame; the close code always arrives.
    assert all(set(frame) == {"error"} and "detail" in frame["error"] for frame in frames)
    assert len(frames) <= 1


def drain(reader):
    """Every frame the reader had received, once its connection is closed."""
    reader.close()
    reader.ended()
    frames = []
    while not reader.frames.empty():
        frame = reader.frames.get()
        if frame is not None:
            frames.append(frame)
    return frames


def test_parallel_writers_on_two_processes_lose_nothing_across_a_reconnect(live_servers, live_server_url, streams):
    """32 writers on two server processes commit notes on eight intents out of id order; an agent stream that
    drops half-way and resumes from its last id still ends up with every note exactly once."""
    urls = [server.url for server in live_servers]
    intents = [new_intent(urls[0]) for _ in range(8)]
    for intent in intents:
        api(urls[0], "POST", f"/intents/{intent['id']}/agents", json={"agent_id": "agent-synth"})
    stream_url = f"{urls[1]}/api/v1/agents/agent-synth/subscribe"
    first = streams(stream_url, headers=SYNTH)
    writers, per_writer = 32, 6
    halfway = threading.Barrier(writers + 1)

    def write(number):
        with httpx.Client(base_url=urls[number % 2], headers=RESEARCH, timeout=30) as client:
            for index in range(per_writer):
                if index == per_writer // 2:
                    halfway.wait(timeout=60)
                intent = intents[(number + index) % len(intents)]
                body = {"event_type": "note", "payload": {"n": f"{number}-{index}"}}
                assert client.post(f"/api/v1/intents/{intent['id']}/events", json=body).status_code == 200

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    halfway.wait(timeout=60)
    before = drain(first)
    second = streams(stream_url, headers=SYNTH, last_event_id=before[-1]["id"] if before else None)
    for thread in threads:
        thread.join(timeout=60)
    expected = {f"{number}-{index}" for number in range(writers) for index in range(per_writer)}
    frames = [frame for frame in before if frame["event"] == "NOTE"]
    while len(frames) < len(expected):
        frame = second.next()
        if frame["event"] == "NOTE":
            frames.append(frame)

    received = notes(frames)
    assert len(received) == len(set(received)), "a note arrived twice"
    assert set(received) == expected
    assert len({frame["id"] for frame in frames}) == len(expected)


def test_events_written_by_a_celery_worker_reach_subscribers(
    live_server_url, servers_without_polling, celery_worker, streams
):
    """The worker's write wakes the subscriber's server, which does not poll."""
    base = live_server_url
    intent = new_intent(base)
    policy = {"strategy": "fixed", "max_retries": 2, "base_delay_ms": 200, "jitter": False}
    api(base, "PUT", f"/intents/{intent['id']}/retry-policy", json=policy)
    reader = streams(f"{servers_without_polling[0].url}/api/v1/intents/{intent['id']}/subscribe")
    api(base, "POST", f"/intents/{intent['id']}/failures", SYNTH, json={"error_code": "TIMEOUT"})

    frame = reader.next()
    while frame["event"] != "AGENT_ASSIGNED":
        frame = reader.next(timeout=60)  # the worker process starts up first
    assert frame["data"]["agent_id"] == "agent-synth"
    assert frame["data"]["actor"] == "system"
    assert celery_worker.poll() is None


@pytest.mark.postgres
def test_an_event_committed_behind_a_running_transaction_waits_for_it_and_keeps_commit_order(
    live_server_url, server_env, streams
):
    """A transaction that wrote an event and has not committed holds back later events: the stream delivers both,
    in commit-horizon order, once it ends, rather than skipping the earlier one."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the horizon is PostgreSQL's; SQLite serialises writers")
    import psycopg

    base = live_server_url
    intent = new_intent(base)
    reader = streams(f"{base}/api/v1/intents/{intent['id']}/subscribe")
    with psycopg.connect(server_env["DATABASE_URL"]) as slow:
        slow.execute(
            f"INSERT INTO {IntentEvent._meta.db_table} (intent_id, event_type, actor, payload, created_at) "
            "VALUES (%s, 'note', 'slow-writer', '{\"n\": \"slow\"}', now())",
            [intent["id"]],
        )
        note(base, intent["id"], "quick")  # commits while the slow transaction is still open
        slow.commit()
    assert notes(reader.take(2)) == ["slow", "quick"]


@pytest.mark.parametrize("kind", ["agents", "portfolios"])
def test_a_resumed_agent_or_portfolio_stream_replays_what_a_live_one_would_have_carried(live_server_url, streams, kind):
    """Events of an intent from before it joined, or after it left, are not replayed; those in between are."""
    base = live_server_url
    intent = new_intent(base)
    portfolio = api(base, "POST", "/portfolios", json={"name": "Replayed"})
    created = api(base, "GET", f"/intents/{intent['id']}/events")[-1]
    if kind == "agents":
        url = f"{base}/api/v1/agents/agent-research/subscribe"
        join = ("POST", f"/intents/{intent['id']}/agents", {"agent_id": "agent-research"})
        leave = ("DELETE", f"/intents/{intent['id']}/agents/agent-research", None)
    else:
        url = f"{base}/api/v1/portfolios/{portfolio['id']}/subscribe"
        join = ("POST", f"/portfolios/{portfolio['id']}/intents", {"intent_id": intent["id"]})
        leave = ("DELETE", f"/portfolios/{portfolio['id']}/intents/{intent['id']}", None)

    note(base, intent["id"], "before joining")
    api(base, join[0], join[1], json=join[2])
    note(base, intent["id"], "while a member")
    api(base, leave[0], leave[1])
    note(base, intent["id"], "after leaving")
    api(base, join[0], join[1], json=join[2])
    note(base, intent["id"], "member again")

    reader = streams(url, last_event_id=created["id"])
    frames = reader.take(5)
    joined, left = (
        ("AGENT_ASSIGNED", "AGENT_UNASSIGNED") if kind == "agents" else ("ADDED_TO_PORTFOLIO", "REMOVED_FROM_PORTFOLIO")
    )
    assert [frame["event"] for frame in frames] == [joined, "NOTE", left, joined, "NOTE"]
    assert notes(frames) == ["while a member", "member again"]


# The websocket consumer in-process, through Channels' communicator -----------------------------------------


def communicate(scenario):
    """Run ``scenario(application)`` in an event loop of its own, as the server would serve the consumer."""
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from openintent_site.asgi import application

    try:
        return asyncio.run(scenario(application))
    finally:
        # The consumer's database calls ran on worker threads, whose connections outlive the loop: close the one
        # of asgiref's lasting thread there and let those of finished threads be collected, or the test database
        # cannot be dropped at the end of the session.
        SyncToAsync.single_thread_executor.submit(connections.close_all).result()
        gc.collect()


@pytest.mark.django_db(transaction=True)
def test_the_consumer_forwards_logged_events_to_a_communicator(keys, in_memory_channel_layer):
    intent = services.create_intent("agent-research", title="Communicated")

    async def scenario(application):
        communicator = WebsocketCommunicator(
            application, f"/ws/intents/{intent.pk}", headers=[(b"x-api-key", b"agent-research-key")]
        )
        connected, _ = await communicator.connect(timeout=WAIT)
        assert connected
        await database_sync_to_async(services.log_event)(intent.pk, "note", "agent-research", {"n": "in-process"})
        message = await communicator.receive_json_from(timeout=WAIT)
        await communicator.disconnect()
        return message

    message = communicate(scenario)
    assert message["event"] == "NOTE"
    assert message["data"]["payload"] == {"n": "in-process"} and message["data"]["intent_id"] == str(intent.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("headers, code", [([], 4401), ([(b"x-api-key", b"agent-synth-key")], 4403)])
def test_the_consumer_refuses_with_a_reason_and_a_close_code(keys, in_memory_channel_layer, headers, code):
    intent = services.create_intent("agent-research", title="Closed")
    set_acl(intent.pk, "agent-research", "closed", [])

    async def scenario(application):
        communicator = WebsocketCommunicator(application, f"/ws/intents/{intent.pk}", headers=headers)
        connected, _ = await communicator.connect(timeout=WAIT)
        refusal = await communicator.receive_json_from(timeout=WAIT)
        closed = await communicator.receive_output(timeout=WAIT)
        return connected, refusal, closed

    connected, refusal, closed = communicate(scenario)
    assert connected
    assert "detail" in refusal["error"]
    assert closed == {"type": "websocket.close", "code": code}


def test_a_replay_longer_than_a_batch_arrives_whole_and_in_order(live_server_url, streams):
    base = live_server_url
    intent = new_intent(base)
    created = api(base, "GET", f"/intents/{intent['id']}/events")[0]
    with transaction.atomic():
        for number in range(3 * streams_module.BATCH + 7):
            append_event(intent["id"], "note", "agent-research", {"n": number})
    note(base, intent["id"], "after the backlog")

    reader = streams(f"{base}/api/v1/intents/{intent['id']}/subscribe", last_event_id=created["id"])
    frames = reader.take(3 * streams_module.BATCH + 8)
    assert notes(frames) == [*range(3 * streams_module.BATCH + 7), "after the backlog"]
