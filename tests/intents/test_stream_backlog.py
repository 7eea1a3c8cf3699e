"""A subscriber that stops reading (issue 13, item 4): the server keeps at most OPENINTENT_STREAM_MAX_BUFFER_BYTES
queued for its connection, then closes it; the client resumes from the last event it read, and nothing is lost.

The stalled clients are raw sockets with a small receive buffer that read the first few events and then nothing
more, so that what the server writes piles up on its side. Nothing here measures memory or time: the server must
close the connection (a bounded wait), the other subscribers must get every event, and a reconnect must get the rest.
"""

import json
import socket
import struct
import time

import httpx
import pytest
from websockets.sync.client import connect as websocket_connect

from tests.conftest import start_server, wait_for
from tests.intents.test_streams import RESEARCH, SSEReader, api, new_intent, notes, ws_url

# Well above the 64 KiB past which an asyncio transport asks its writer to wait (uvicorn's send then waits): the
# frames of 32 KB reach that mark while far from the limit, so a server whose send waits there would stall the hub.
LIMIT = 256 * 1024
EVENTS = 150
PADDING = "x" * (32 * 1024)
TCP_ESTABLISHED = 1

pytestmark = pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="reads the connection's TCP state (Linux)")


@pytest.fixture
def capped_server(server_env, live_server_url):
    """A server whose stream connections may hold 256 KiB for their clients, and which gives a client that reads
    nothing a second to start reading again."""
    env = {**server_env, "OPENINTENT_STREAM_MAX_BUFFER_BYTES": str(LIMIT), "OPENINTENT_STREAM_KEEPALIVE_SECONDS": "1"}
    server = start_server(env)
    yield server
    server.stop()


class StalledClient:
    """A raw connection that sends its request, reads the response head, and then only what it is told to."""

    def __init__(self, port, request):
        self.socket = socket.socket()
        # Small, so that the kernels hold little and the rest waits on the server's side.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.socket.settimeout(10)
        self.socket.connect(("127.0.0.1", port))
        self.socket.sendall(request)
        self.received = b""
        while b"\r\n\r\n" not in self.received:
            chunk = self.socket.recv(4096)
            assert chunk, "the server closed the connection before answering"
            self.received += chunk
        head, _, self.received = self.received.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")

    def read_until(self, enough):
        """Read until ``enough(what was received)`` holds, then stop reading again."""
        while not enough(self.received):
            chunk = self.socket.recv(1024)
            assert chunk, "the server closed the connection"
            self.received += chunk

    def open(self):
        """Whether the server still holds the connection open, read without taking anything from it."""
        info = self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)
        return info[0] == TCP_ESTABLISHED

    def read_the_rest(self):
        """Everything the client can still read once the server has closed the connection."""
        try:
            while chunk := self.socket.recv(65536):
                self.received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        self.socket.close()
        return self.received


def sse_request(port, intent_id):
    return (
        f"GET /api/v1/intents/{intent_id}/subscribe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"X-API-Key: {RESEARCH['X-API-Key']}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()


def websocket_request(port, intent_id):
    return (
        f"GET /ws/intents/{intent_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"X-API-Key: {RESEARCH['X-API-Key']}\r\n\r\n"
    ).encode()


def ids_in_sse_body(raw):
    """Ids of the events whose frames arrived whole in a chunked SSE body that may be cut anywhere."""
    body, rest = b"", raw
    while True:
        size_line, found, rest = rest.partition(b"\r\n")
        if not found:
            break
        size = int(size_line.split(b";")[0], 16)
        body += rest[:size]
        if size == 0 or len(rest) < size + 2:
            break
        rest = rest[size + 2 :]
    frames = body.split(b"\n\n")[:-1]  # what follows the last blank line is a frame cut short
    return [line[4:].decode() for frame in frames for line in frame.split(b"\n") if line.startswith(b"id: ")]


def ids_in_frames(raw):
    """Ids of the messages whose frames arrived whole."""
    ids = []
    while len(raw) >= 2:
        opcode, length, start = raw[0] & 0x0F, raw[1] & 0x7F, 2
        if length == 126:
            length, start = (struct.unpack("!H", raw[2:4])[0], 4) if len(raw) >= 4 else (None, 0)
        elif length == 127:
            length, start = (struct.unpack("!Q", raw[2:10])[0], 10) if len(raw) >= 10 else (None, 0)
        if length is None or len(raw) < start + length:
            break
        if opcode == 1:
            ids.append(json.loads(raw[start : start + length])["id"])
        raw = raw[start + length :]
    return ids


def post_notes(base, intent_id, numbers):
    with httpx.Client(base_url=f"{base}/api/v1", headers=RESEARCH, timeout=30) as client:
        for number in numbers:
            payload = {"event_type": "note", "payload": {"n": number, "padding": PADDING}}
            response = client.post(f"/intents/{intent_id}/events", json=payload)
            assert response.status_code == 200, response.text


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_a_subscriber_that_stops_reading_is_closed_and_resumes_without_losing_anything(capped_server, transport):
    base, port = capped_server.url, capped_server.port
    intent = new_intent(base)
    request, ids_in = (sse_request, ids_in_sse_body) if transport == "sse" else (websocket_request, ids_in_frames)
    stalled = StalledClient(port, request(port, intent["id"]))
    assert stalled.head.split()[1] == ("200" if transport == "sse" else "101"), stalled.head
    reader = SSEReader(f"{base}/api/v1/intents/{intent['id']}/subscribe", RESEARCH)
    try:
        # The stalled client reads the first events, then stops.
        post_notes(base, intent["id"], range(3))
        stalled.read_until(lambda received: len(ids_in(received)) >= 3)
        post_notes(base, intent["id"], range(3, EVENTS))

        # A subscriber that reads gets everything, in order.
        assert notes(reader.take(EVENTS)) == list(range(EVENTS))
        # The one that does not is closed rather than buffered for.
        assert wait_for(lambda: not stalled.open(), timeout=30), "the server kept the stalled connection open"
    finally:
        reader.close()

    ids = ids_in(stalled.read_the_rest())
    read = len(ids)
    assert 3 <= read < EVENTS
    # Resuming from the last event it read whole brings exactly the rest.
    last_id = ids[-1]
    if transport == "sse":
        resumed = SSEReader(f"{base}/api/v1/intents/{intent['id']}/subscribe", RESEARCH, last_event_id=last_id)
        try:
            assert notes(resumed.take(EVENTS - read)) == list(range(read, EVENTS))
        finally:
            resumed.close()
    else:
        url = ws_url(base, f"/ws/intents/{intent['id']}?last_event_id={last_id}")
        with websocket_connect(url, additional_headers=RESEARCH, max_size=None) as resumed:
            messages = [json.loads(resumed.recv(timeout=10)) for _ in range(EVENTS - read)]
        assert [message["data"]["payload"]["n"] for message in messages] == list(range(read, EVENTS))


def test_a_reader_that_keeps_up_through_a_backlog_larger_than_the_limit_is_not_closed(capped_server):
    """Catching up on far more than the limit holds is not stalling: the replay waits for the client to read."""
    base = capped_server.url
    intent = new_intent(base)
    created = api(base, "GET", f"/intents/{intent['id']}/events")[0]
    post_notes(base, intent["id"], range(EVENTS))
    resumed = SSEReader(f"{base}/api/v1/intents/{intent['id']}/subscribe", RESEARCH, last_event_id=created["id"])
    try:
        frames = []
        for _ in range(EVENTS):
            frames.append(resumed.next())
            time.sleep(0.005)  # a slow reader
        assert notes(frames) == list(range(EVENTS))
    finally:
        resumed.close()
