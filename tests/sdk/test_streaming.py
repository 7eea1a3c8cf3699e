"""Streams (openintent.streaming) with both clients: the frame parser; events in order with their names and data
from the live server over SSE and websockets; the 0.9.1 helpers; a stream cut for real mid-way (a TCP proxy
between client and server) resuming without losing or repeating an event; backoff that never loops tightly,
counted against a local peer; refusals that raise at once."""

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from openintent import (
    AsyncEventQueue,
    AsyncSSEStream,
    AuthenticationError,
    NotFoundError,
    OpenIntentClient,
    OpenIntentConnectionError,
    PermissionDeniedError,
    ServerError,
    SSEEvent,
    SSEEventType,
    SSEStream,
    SSESubscription,
)
from openintent.streaming import SSEParser

from .conftest import AGENT, KEY, MISSING, OTHER_AGENT, OTHER_KEY, Clients
from .peer import DROP, Peer

WAIT = 15  # seconds before a test gives up waiting for events
SSE_HEADERS = {"Content-Type": "text/event-stream"}


# Helpers -----------------------------------------------------------------------------------------------------


def read(
    clients: Clients,
    stream: SSEStream | AsyncSSEStream,
    done: Callable[[list[SSEEvent]], bool],
    on_event: Callable[[list[SSEEvent]], None] | None = None,
    timeout: float = WAIT,
) -> list[SSEEvent]:
    """Iterate ``stream`` (sync or async) until ``done(received)``; ``on_event`` runs after each event."""
    received: list[SSEEvent] = []
    if isinstance(stream, AsyncSSEStream):
        assert clients.loop is not None

        async def run() -> None:
            async with stream:
                async for event in stream:
                    received.append(event)
                    if on_event is not None:
                        on_event(received)
                    if done(received):
                        return

        clients.loop.run_until_complete(asyncio.wait_for(run(), timeout))
        return received
    watchdog = threading.Timer(timeout, stream.stop)
    watchdog.start()
    try:
        with stream:
            for event in stream:
                received.append(event)
                if on_event is not None:
                    on_event(received)
                if done(received):
                    break
    finally:
        watchdog.cancel()
    assert done(received), f"timed out after {len(received)} events"
    return received


def count(n: int) -> Callable[[list[SSEEvent]], bool]:
    return lambda received: len(received) >= n


def raises(clients: Clients, stream: SSEStream | AsyncSSEStream, exception: type[Exception]) -> Any:
    with pytest.raises(exception) as caught:
        read(clients, stream, count(1))
    return caught.value


def last_id(writer: OpenIntentClient, intent_id: str) -> str:
    return writer.get_events(intent_id, limit=1)[0].id


def log_ids_after(writer: OpenIntentClient, intent_id: str, start: str) -> list[str]:
    ids = [event.id for event in reversed(writer.get_events(intent_id, limit=1000))]
    return ids[ids.index(start) + 1 :]


@pytest.fixture
def writer(live_server_url):
    client = OpenIntentClient(live_server_url, KEY, AGENT)
    yield client
    client.close()


@pytest.fixture(params=["sse", "websocket"])
def transport(request):
    return request.param


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of a server; ``cut()`` severs every open connection, both ways."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname, parts.port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.heads: list[bytes] = []  # the first bytes each client sent: its request
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [downstream, upstream]
                self.heads.append(b"")
                index = len(self.heads) - 1
            threading.Thread(target=self.pump, args=(downstream, upstream, index), daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, downstream, None), daemon=True).start()

    def pump(self, source: socket.socket, sink: socket.socket, index: int | None) -> None:
        try:
            while chunk := source.recv(65536):
                if index is not None and len(self.heads[index]) < 4096:
                    self.heads[index] += chunk
                sink.sendall(chunk)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self.lock:
            severed, self.open = self.open, []
        for sock in severed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def stop(self) -> None:
        self.listener.close()
        self.cut()


# The parser --------------------------------------------------------------------------------------------------

WIRE = (
    "\ufeffretry: 3000\r\n: connected\r\n\r\n"
    'id: 7\nevent: NOTE\ndata: {"intent_id": "i1",\ndata:  "n": 1}\n\n'
    ": keepalive\n\n"
    "id:8\revent:STATE_CHANGED\rdata:{}\r\r"
    "data: not json\n\n"
    "event: ignored without data\nid: 9\n\n"
    "retry: soon\nunknown: field\ndata: {}\n\n"
).encode()


def parsed(pieces: list[bytes]) -> tuple[list[SSEEvent], SSEParser]:
    parser = SSEParser()
    events = [event for piece in pieces for event in parser.feed(piece)]
    return events, parser


def test_parser_reads_frames_in_pieces_of_any_size():
    whole, parser = parsed([WIRE])
    assert [(e.type, e.id, e.data) for e in whole] == [
        ("NOTE", "7", {"intent_id": "i1", "n": 1}),
        ("STATE_CHANGED", "8", {}),
        ("message", None, {"raw": "not json"}),
        ("message", None, {}),
    ]
    assert whole[0].intent_id == "i1" and whole[0].agent_id is None and whole[0].portfolio_id is None
    assert parser.retry == 3000 and parser.comments == 2  # keepalives are comments, not events
    assert whole[0].retry is None and SSEEvent.from_raw("x", "", "1").data == {}
    # Byte by byte (splitting CRLF pairs and UTF-8 sequences) gives the same events.
    assert parsed([WIRE[i : i + 1] for i in range(len(WIRE))])[0] == whole
    assert parsed([WIRE[i : i + 5] for i in range(0, len(WIRE), 5)])[0] == whole
    text = SSEParser()
    assert [e.data for e in text.feed('data: {"ü": "✓"}\n\n')] == [{"ü": "✓"}]
    assert SSEEventType.STATE_CHANGED == "STATE_CHANGED" and SSEEventType("ACCESS_REQUESTED")


# Live streams ------------------------------------------------------------------------------------------------


def test_intent_events_arrive_in_order_with_names_and_data(clients, writer, transport):
    intent = writer.create_intent("Watched", status="active")
    start = last_id(writer, intent.id)
    intent = writer.update_state(intent.id, intent.version, {"phase": "analysis"})
    writer.log_event(intent.id, "note", {"text": "hello"})
    lease = writer.acquire_lease(intent.id, "analysis")
    writer.release_lease(intent.id, lease.id)
    writer.assign_agent(intent.id, OTHER_AGENT)
    writer.set_status(intent.id, writer.get_intent(intent.id).version, "completed")

    def live_write(received: list[SSEEvent]) -> None:
        if len(received) == 6:  # the log is replayed; this one is written while the stream is open
            writer.log_event(intent.id, "note", {"text": "live"})

    client = clients()
    stream = client.subscribe_sse(intent.id, last_event_id=start, transport=transport)
    assert isinstance(stream, AsyncSSEStream if client.is_async else SSEStream)
    events = read(clients, stream, count(7), live_write)
    assert [e.type for e in events] == [
        SSEEventType.STATE_CHANGED,
        "NOTE",
        SSEEventType.LEASE_ACQUIRED,
        SSEEventType.LEASE_RELEASED,
        SSEEventType.AGENT_ASSIGNED,
        SSEEventType.STATUS_CHANGED,
        "NOTE",
    ]
    assert [e.id for e in events] == log_ids_after(writer, intent.id, start)
    assert all(e.intent_id == intent.id for e in events)
    assert events[0].data["event_type"] == "state_patched" and events[1].data["text"] == "hello"
    assert events[1].data["payload"] == {"text": "hello"} and events[1].data["actor"] == AGENT
    assert events[4].agent_id == OTHER_AGENT and events[5].data["new_status"] == "completed"
    assert events[5].data["old_status"] == "active" and events[6].data["text"] == "live"
    assert stream.last_event_id == events[-1].id


def test_agent_and_portfolio_streams(clients, writer):
    client = clients()
    intent = writer.create_intent("Assigned")
    start = last_id(writer, intent.id)
    writer.assign_agent(intent.id)  # to this client's agent
    writer.log_event(intent.id, "note", {"text": "for the agent"})
    mine = read(clients, client.subscribe_agent(last_event_id=start), count(2))
    assert [(e.type, e.intent_id) for e in mine] == [("AGENT_ASSIGNED", intent.id), ("NOTE", intent.id)]
    assert mine[0].agent_id == AGENT

    portfolio = writer.create_portfolio("Streamed portfolio")
    member = writer.create_intent("Member")
    start = last_id(writer, member.id)
    writer.add_intent_to_portfolio(portfolio.id, member.id)
    writer.log_event(member.id, "note", {"text": "in the portfolio"})
    stream = client.subscribe_portfolio(portfolio.id, last_event_id=start)
    events = read(clients, stream, lambda got: any(e.type == "NOTE" for e in got))
    assert events[-1].data["text"] == "in the portfolio" and events[-1].intent_id == member.id
    assert all(e.intent_id == member.id for e in events)


def test_a_fresh_stream_gets_what_comes_next_without_gaps(clients, writer):
    """Without ``last_event_id`` the stream starts at what is written after it connects."""
    intent = writer.create_intent("Fresh")
    stop = threading.Event()

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            writer.log_event(intent.id, "note", {"n": n})
            n += 1
            stop.wait(0.05)

    thread = threading.Thread(target=keep_writing, daemon=True)
    thread.start()
    try:
        events = read(clients, clients().subscribe_sse(intent.id), count(5))
    finally:
        stop.set()
        thread.join()
    log = log_ids_after(writer, intent.id, events[0].id)
    assert [e.id for e in events[1:]] == log[:4]
    assert [e.data["n"] for e in events] == list(range(events[0].data["n"], events[0].data["n"] + 5))


def test_event_queue_and_callbacks(clients, writer):
    client = clients()
    intent = writer.create_intent("Queued")
    start = last_id(writer, intent.id)
    for n in range(3):
        writer.log_event(intent.id, "note", {"n": n})
    queue = client.create_event_queue(intent_id=intent.id, last_event_id=start)
    missing = client.create_event_queue(intent_id=MISSING)
    if client.is_async:
        assert isinstance(queue, AsyncEventQueue)

        async def take() -> tuple[list[Any], Any, Any]:
            async with queue, missing:
                got = [await queue.get(WAIT) for _ in range(3)]
                return got, await queue.get(0.2), await missing.get(WAIT)

        events, nothing, error = clients.loop.run_until_complete(take())
    else:
        with queue, missing:
            events = [queue.get(WAIT) for _ in range(3)]
            nothing, error = queue.get(0.2), missing.get(WAIT)
    assert [e.data["n"] for e in events] == [0, 1, 2] and nothing is None
    assert error.type == SSEEventType.ERROR and error.data["status_code"] == 404
    assert error.data["exception"] == "NotFoundError"

    # With no topic, the queue follows this client's agent channel.
    before = last_id(writer, intent.id)
    writer.assign_agent(intent.id)
    agent_queue = client.create_event_queue(last_event_id=before)
    if client.is_async:

        async def first() -> Any:
            async with agent_queue:
                return await agent_queue.get(WAIT)

        assigned = clients.loop.run_until_complete(first())
    else:
        with agent_queue:
            assigned = agent_queue.get(WAIT)
    assert assigned.type == SSEEventType.AGENT_ASSIGNED and assigned.agent_id == AGENT


def test_subscription_runs_callbacks_in_a_thread_and_reports_their_errors(live_server_url, writer):
    intent = writer.create_intent("Called back")
    start = last_id(writer, intent.id)
    for n in range(3):
        writer.log_event(intent.id, "note", {"n": n})
    seen: list[int] = []
    errors: list[Exception] = []
    arrived = threading.Event()

    def callback(event: SSEEvent) -> None:
        seen.append(event.data["n"])
        if event.data["n"] == 1:
            raise RuntimeError("a handler failed")
        if len(seen) == 3:
            arrived.set()

    url = f"{live_server_url}/api/v1/intents/{intent.id}/subscribe"
    with SSESubscription(url, writer.headers, callback, errors.append, last_event_id=start) as subscription:
        assert arrived.wait(WAIT)
        assert subscription.is_running
    assert not subscription.is_running and seen == [0, 1, 2]
    assert [str(error) for error in errors] == ["a handler failed"]

    # stop() wakes a thread blocked reading an idle stream.
    idle = SSESubscription(writer.subscribe_sse(intent.id), callback=seen.append).start()
    deadline = time.monotonic() + WAIT
    while idle.stream.attempts == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    idle.stop()
    assert not idle.is_running and idle.error is None and idle.stream.attempts == 1

    # A refusal ends the subscription and reaches the error callback.
    refused: list[Exception] = []
    ended = SSESubscription(writer.subscribe_sse(MISSING), callback=seen.append, error_callback=refused.append)
    ended.start()._thread.join(WAIT)
    assert isinstance(ended.error, NotFoundError) and refused == [ended.error]


def test_a_dropped_stream_resumes_without_losing_or_repeating_events(clients, writer, live_server_url, transport):
    intent = writer.create_intent("Resumed")
    start = last_id(writer, intent.id)
    proxy = Proxy(live_server_url)
    total = 40
    written = threading.Event()

    def keep_writing() -> None:
        for n in range(total):
            writer.log_event(intent.id, "note", {"n": n})
            time.sleep(0.01)
        written.set()

    def cut_twice(received: list[SSEEvent]) -> None:
        if len(received) in (5, 20):
            proxy.cut()  # mid-stream, while the writer goes on writing

    thread = threading.Thread(target=keep_writing, daemon=True)
    thread.start()
    try:
        client = clients(url=proxy.url)
        stream = client.subscribe_sse(intent.id, last_event_id=start, reconnect_delay=0.05, transport=transport)
        events = read(clients, stream, count(total), cut_twice, timeout=30)
    finally:
        thread.join()
        proxy.stop()
    assert written.is_set()
    ids = [event.id for event in events]
    assert ids == log_ids_after(writer, intent.id, start)  # each event once, in the log's order
    assert [event.data["n"] for event in events] == list(range(total))
    assert len(proxy.heads) >= 3 and stream.attempts == len(proxy.heads)
    # Each reconnect asked for what followed the last event received before the cut (events already read
    # off the socket when it was cut still count as received).
    pattern = r"Last-Event-ID: (\d+)\r\n" if transport == "sse" else r"last_event_id=(\d+) HTTP"
    positions = [ids.index(re.search(pattern, head.decode("latin-1")).group(1)) for head in proxy.heads[1:]]
    assert positions == sorted(positions) and positions[0] >= 4 and positions[-1] >= 19


def test_refusals_raise_at_once(clients, writer, transport):
    intent = writer.create_intent("Closed")
    writer.set_acl(intent.id, "closed")
    client = clients()
    stranger = clients(OTHER_KEY, OTHER_AGENT)
    bad = clients("not-a-key", AGENT)
    assert raises(clients, bad.subscribe_sse(intent.id, transport=transport), AuthenticationError).status_code == 401
    missing = client.subscribe_sse(MISSING, transport=transport)
    assert raises(clients, missing, NotFoundError).status_code == 404 and missing.attempts == 1
    denied = raises(clients, stranger.subscribe_sse(intent.id, transport=transport), PermissionDeniedError)
    assert denied.required_permission == "read"
    assert raises(clients, bad.subscribe_agent(transport=transport), AuthenticationError).status_code == 401


def test_losing_read_access_ends_the_stream_with_403(clients, writer, transport):
    intent = writer.create_intent("Shared")
    start = last_id(writer, intent.id)
    writer.log_event(intent.id, "note", {"text": "visible"})
    stranger = clients(OTHER_KEY, OTHER_AGENT)
    stream = stranger.subscribe_sse(intent.id, last_event_id=start, reconnect_delay=0.05, transport=transport)

    def close_access(received: list[SSEEvent]) -> None:
        if len(received) == 1:
            writer.set_acl(intent.id, "closed")

    with pytest.raises(PermissionDeniedError):
        read(clients, stream, count(2), close_access)


# Against a local peer: resume, dedupe, backoff and refusals, counted -----------------------------------------


def note(event_id: int) -> bytes:
    return f'id: {event_id}\nevent: NOTE\ndata: {{"n": {event_id}}}\n\n'.encode()


@pytest.fixture
def peer():
    server = Peer(default=(503, {"detail": "busy"}, {}))
    yield server
    server.stop()


@pytest.fixture(params=["sync", "async"])
def peer_clients(request, peer):
    made = Clients(peer.url, request.param)
    yield made
    made.close()


def test_resume_sends_last_event_id_and_drops_repeated_events(peer, peer_clients):
    peer.answer(
        (200, b"retry: 10\n: connected\n\n" + note(1) + note(2), SSE_HEADERS),
        (200, b": keepalive\n\n" + note(2) + note(3), SSE_HEADERS),  # the server repeats 2
        (404, {"detail": "Intent not found"}, {}),
    )
    client = peer_clients("peer-key", "me")
    stream = client.subscribe_sse("i1", reconnect_delay=0.05)
    received: list[SSEEvent] = []
    with pytest.raises(NotFoundError):
        read(peer_clients, stream, count(99), lambda got: received.extend(got[-1:]))
    assert [e.id for e in received] == ["1", "2", "3"] and [e.data["n"] for e in received] == [1, 2, 3]
    headers = [request["headers"] for request in peer.requests]
    assert "Last-Event-ID" not in headers[0] and headers[0]["Accept"] == "text/event-stream"
    assert headers[0]["X-API-Key"] == "peer-key" and headers[0]["X-Agent-ID"] == "me"
    assert [h.get("Last-Event-ID") for h in headers[1:]] == ["2", "3"]
    assert [r["path"] for r in peer.requests] == ["/api/v1/intents/i1/subscribe"] * 3


@pytest.mark.parametrize("failure", ["503", "drop", "empty"])
def test_backoff_is_never_a_tight_loop(peer, peer_clients, failure):
    """0.9.1 reconnected at once, for ever (B-12). Over 1.5 s starting at 0.1 s and doubling (with jitter
    between half and all of each wait), at most five attempts fit."""
    peer.default = {"503": (503, {"detail": "busy"}, {}), "drop": DROP, "empty": (200, b"", SSE_HEADERS)}[failure]
    client = peer_clients("peer-key", "me")
    stream = client.subscribe_sse("i1", reconnect_delay=0.1, max_reconnects=None)
    threading.Timer(1.5, stream.stop).start()
    if isinstance(stream, AsyncSSEStream):

        async def drain() -> None:
            async for _ in stream:
                pass

        peer_clients.loop.run_until_complete(asyncio.wait_for(drain(), 10))
    else:
        assert list(stream) == []
    assert 2 <= len(peer.requests) <= 6, len(peer.requests)


def test_max_reconnects_bounds_the_attempts_then_raises(peer, peer_clients):
    client = peer_clients("peer-key", "me")
    failing = client.subscribe_sse("i1", reconnect_delay=0.05, max_reconnects=2)
    assert raises(peer_clients, failing, ServerError).status_code == 503
    assert len(peer.requests) == 3 and failing.attempts == 3

    unreachable = Clients("http://127.0.0.1:9", peer_clients.flavour)
    try:
        stream = unreachable("k", "me").subscribe_sse("i1", reconnect_delay=0.05, max_reconnects=1)
        raises(unreachable, stream, OpenIntentConnectionError)
        assert stream.attempts == 2
    finally:
        unreachable.close()


def test_client_errors_are_final_and_429_waits(peer, peer_clients):
    client = peer_clients("peer-key", "me")
    peer.answer((401, {"detail": "Invalid or missing API key"}, {}))
    assert raises(peer_clients, client.subscribe_agent("a1"), AuthenticationError).status_code == 401
    peer.answer((403, {"detail": "no", "required_permission": "read"}, {}))
    assert raises(peer_clients, client.subscribe_portfolio("p1"), PermissionDeniedError).required_permission == "read"
    assert [r["path"] for r in peer.requests] == ["/api/v1/agents/a1/subscribe", "/api/v1/portfolios/p1/subscribe"]
    peer.answer((429, {"detail": "slow down"}, {"Retry-After": "0.3"}), (200, note(5), SSE_HEADERS))
    started = len(peer.requests)
    events = read(peer_clients, client.subscribe_sse("i1", reconnect_delay=0.05), count(1))
    assert events[0].id == "5" and len(peer.requests) == started + 2


def test_last_event_id_is_the_last_event_consumed(peer, peer_clients):
    """Events parsed from one chunk but not yet taken do not move the resume point."""
    peer.answer((200, note(1) + note(2) + note(3), SSE_HEADERS))
    stream = peer_clients("peer-key", "me").subscribe_sse("i1")
    assert [e.id for e in read(peer_clients, stream, count(1))] == ["1"]
    assert stream.last_event_id == "1"
