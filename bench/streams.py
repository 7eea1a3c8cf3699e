"""Fan-out of live streams: many subscribers on one intent, a steady writer, every delivery counted and timed.

    .venv/bin/python bench/streams.py [--subscribers 200] [--rate 20] [--seconds 10]
                                      [--transports sse,websocket] [--processes 1,2]

Each round starts its own ``manage.py serve`` (uvicorn with that many worker processes on one port) on DATABASE_URL
or a scratch database ``openintent_bench_streams`` on the local PostgreSQL, with Redis as the channel layer when one
answers on 127.0.0.1:6379 (else the local wake-up sockets), and opens the subscribers, which the kernel spreads over
the processes as they connect. One writer posts an event ``--rate`` times a second through gunicorn, as the README's
deployment does (``--writer asgi`` posts to uvicorn instead), so every write reaches the streaming processes through
a wake-up from another process. Write to delivery runs from the event's ``created_at``, taken by the server in the
writing transaction, to the subscriber's read of the frame; POST to delivery from the moment the writer sends its
request.
Results go to stdout and bench/results/streams.md.
"""

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import KEY, ROOT, choose_database, environment, manage, start_servers  # noqa: E402


def scratch_database():
    """A database of this benchmark's own on the local PostgreSQL, so it can run beside bench/run.py."""
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS openintent_bench_streams WITH (FORCE)")
            conn.execute("CREATE DATABASE openintent_bench_streams")
        return "postgresql://postgres@127.0.0.1:5432/openintent_bench_streams"
    except Exception:  # noqa: BLE001  no PostgreSQL here: run.py's choice (SQLite) applies
        return None


def redis_url():
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/7", socket_connect_timeout=1).ping()
        return "redis://127.0.0.1:6379/7"
    except Exception:  # noqa: BLE001  no Redis: the in-memory layer, and wakes through the local sockets
        return None


def sequence_of(frame):
    """The writer's sequence number in a frame, found without decoding the whole JSON (the client shares the
    machine with the servers, so it keeps its own work small)."""
    start = frame.find(b'"seq":')
    if start < 0:
        return None
    start += 6
    end = start
    while end < len(frame) and frame[end : end + 1].isdigit():
        end += 1
    return int(frame[start:end])


class Subscriber(asyncio.Protocol):
    """One SSE or websocket connection, read with a bare asyncio protocol.

    The subscribers share one process and the machine's two cores with the servers; a client library would spend
    more time per frame than the server does, and the last of 200 connections would then mostly measure the
    client. This one only finds frames and their sequence numbers."""

    def __init__(self, url, intent_id, transport):
        self.url, self.intent_id, self.transport = url, intent_id, transport
        self.received = {}
        self.duplicates = 0
        self.ready = asyncio.Event()
        self.closed = asyncio.Event()
        self.buffer = b""
        self.connection = None
        self.upgraded = False

    def record(self, frame):
        seq = sequence_of(frame)
        if seq is None:
            return
        if seq in self.received:
            self.duplicates += 1
        else:
            self.received[seq] = time.time()

    async def run(self):
        parts = urlsplit(self.url)
        loop = asyncio.get_running_loop()
        self.connection, _ = await loop.create_connection(lambda: self, parts.hostname, parts.port)
        if self.transport == "websocket":
            key = base64.b64encode(os.urandom(16)).decode()
            request = (
                f"GET /ws/intents/{self.intent_id} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"X-API-Key: {KEY}\r\n\r\n"
            )
        else:
            request = (
                f"GET /api/v1/intents/{self.intent_id}/subscribe HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"X-API-Key: {KEY}\r\nAccept: text/event-stream\r\n\r\n"
            )
        self.connection.write(request.encode())
        try:
            await self.closed.wait()
        finally:
            self.connection.close()

    def data_received(self, data):
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.buffer[: self.buffer.find(b"\r\n")]
            if b" 101 " not in status and b" 200 " not in status:
                raise RuntimeError(status.decode())
            self.buffer, self.upgraded = self.buffer[end + 4 :], True
            self.ready.set()
        if self.transport == "websocket":
            self.read_websocket_frames()
        else:
            self.read_sse_frames()

    def read_sse_frames(self):
        # Each chunk of the response holds whole frames, so chunk-size lines only stand between them.
        start = 0
        while (begin := self.buffer.find(b"id: ", start)) >= 0 and (end := self.buffer.find(b"\n\n", begin)) >= 0:
            self.record(self.buffer[begin:end])
            start = end + 2
        self.buffer = self.buffer[start:]

    def read_websocket_frames(self):
        buffer = self.buffer
        while len(buffer) >= 2:
            opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                length, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < offset + length:
                break
            payload, buffer = buffer[offset : offset + length], buffer[offset + length :]
            if opcode == 1:
                self.record(payload)
            elif opcode == 9:  # ping: a pong with the same payload, masked (with a zero key) as clients must
                self.connection.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                self.closed.set()
        self.buffer = buffer

    def connection_lost(self, exc):
        self.closed.set()


async def write(url, intent_id, rate, seconds):
    """Post events at a steady rate; returns {seq: time the POST was sent} and {seq: time its answer came}."""
    sent, acknowledged = {}, {}
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": KEY}, timeout=30) as client:
        interval = 1 / rate
        started = time.monotonic()
        for seq in range(int(rate * seconds)):
            await asyncio.sleep(max(0, started + seq * interval - time.monotonic()))
            sent[seq] = time.time()
            response = await client.post(
                f"/api/v1/intents/{intent_id}/events", json={"event_type": "bench_tick", "payload": {"seq": seq}}
            )
            response.raise_for_status()
            acknowledged[seq] = time.time()
    return sent, acknowledged


async def measure(urls, writer_url, transport, subscribers, rate, seconds):
    intent = httpx.post(f"{writer_url}/api/v1/intents", json={"title": "fan-out"}, headers={"X-API-Key": KEY}).json()
    subs = [Subscriber(urls[index % len(urls)], intent["id"], transport) for index in range(subscribers)]
    tasks = [asyncio.create_task(sub.run()) for sub in subs]
    for start in range(0, len(subs), 50):  # connect in waves, as a fleet of agents would
        await asyncio.wait_for(asyncio.gather(*(sub.ready.wait() for sub in subs[start : start + 50])), 60)
    await asyncio.sleep(0.5)
    sent, acknowledged = await write(writer_url, intent["id"], rate, seconds)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(len(sub.received) < len(sent) for sub in subs):
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    written = logged_at(urls[0], intent["id"])
    deliveries = [(seq, received) for sub in subs for seq, received in sub.received.items() if seq in sent]
    latencies = sorted((received - sent[seq]) * 1000 for seq, received in deliveries)
    after_write = sorted((received - written[seq]) * 1000 for seq, received in deliveries)
    writes = sorted((acknowledged[seq] - sent[seq]) * 1000 for seq in sent)
    expected = len(sent) * len(subs)
    return {
        "events": len(sent),
        "delivered": len(latencies) / expected * 100 if expected else 0,
        "duplicates": sum(sub.duplicates for sub in subs),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": percentile(latencies, 99),
        "max": latencies[-1] if latencies else float("nan"),
        "write_p99": percentile(writes, 99),
        "logged_p50": percentile(after_write, 50),
        "logged_p99": percentile(after_write, 99),
    }


def logged_at(url, intent_id):
    """{seq: when the server wrote the event} (its ``created_at``, taken in the writing transaction)."""
    written, page = {}, None
    while page is None or len(page) == 1000:
        response = httpx.get(
            f"{url}/api/v1/intents/{intent_id}/events",
            params={"event_type": "bench_tick", "limit": 1000, "offset": len(written)},
            headers={"X-API-Key": KEY},
            timeout=60,
        )
        response.raise_for_status()
        page = response.json()
        for event in page:
            created = datetime.fromisoformat(event["created_at"]).replace(tzinfo=UTC)
            written[event["payload"]["seq"]] = created.timestamp()
    return written


def percentile(values, percent):
    return values[max(0, int(len(values) * percent / 100) - 1)] if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20, help="events written per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--transports", default="sse,websocket")
    parser.add_argument("--processes", default="1,2", help="comma-separated uvicorn worker counts, one round each")
    parser.add_argument(
        "--writer",
        choices=["wsgi", "asgi"],
        default="wsgi",
        help="post through gunicorn (2 workers), as the README's deployment does, or to uvicorn",
    )
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL") and (scratch := scratch_database()):
        os.environ["DATABASE_URL"] = scratch
    database_url, database = choose_database()
    var_dir = tempfile.mkdtemp(prefix="openintent-bench-streams-")
    env = environment(database_url, var_dir)
    if not database_url:
        env["SQLITE_PATH"] = str(Path(var_dir) / "bench.sqlite3")
    layer = redis_url()
    env.pop("REDIS_URL", None)
    if layer:
        env["REDIS_URL"] = layer
    manage(env, "migrate", "--noinput")
    manage(env, "createapikey", "--agent", "bench", "--key", KEY)
    layer_name = "Redis" if layer else "in-memory, local wake-up sockets"
    writer = "gunicorn (2 WSGI workers)" if args.writer == "wsgi" else "uvicorn"
    setup = f"Database: {database}; channel layer: {layer_name}; writes through {writer}"
    print(f"{setup}; {args.subscribers} subscribers; {args.rate:g} events/s for {args.seconds:g} s", flush=True)

    rows = []
    for processes in [int(count) for count in args.processes.split(",")]:
        servers = start_servers(env, "asgi", processes)
        writers = start_servers(env, "wsgi", 2) if args.writer == "wsgi" else servers[:1]
        try:
            for transport in args.transports.split(","):
                urls = [url for _, url in servers]
                result = asyncio.run(measure(urls, writers[0][1], transport, args.subscribers, args.rate, args.seconds))
                rows.append((transport, processes, result))
                print(
                    f"  {transport:9} {processes} process(es): {result['delivered']:.2f} % delivered, "
                    f"{result['duplicates']} duplicates, p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, "
                    f"max {result['max']:.1f} ms; from the server's write p50 {result['logged_p50']:.1f} ms, "
                    f"p99 {result['logged_p99']:.1f} ms; the POST itself p99 {result['write_p99']:.1f} ms",
                    flush=True,
                )
        finally:
            for process, _ in {*servers, *writers}:
                process.terminate()
                process.wait()

    lines = [
        f"{setup}. {args.subscribers} subscribers on one intent, one writer at {args.rate:g} events/s for "
        f"{args.seconds:g} s, {os.cpu_count()} cores. Write to delivery: from the event's `created_at`, taken by the "
        "server in the writing transaction, to the subscriber's read of the frame. POST to delivery: from the moment "
        "the writer sends its request, so it includes the write's own time.",
        "",
        "| transport | server processes | events | delivered | duplicates | write to delivery p50 / p99 ms "
        "| POST to delivery p50 / p99 / max ms | POST p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for transport, processes, result in rows:
        lines.append(
            f"| {transport} | {processes} | {result['events']} | {result['delivered']:.2f} % | "
            f"{result['duplicates']} | {result['logged_p50']:.1f} / {result['logged_p99']:.1f} | "
            f"{result['p50']:.1f} / {result['p99']:.1f} / {result['max']:.1f} | {result['write_p99']:.1f} |"
        )
    report = "\n".join(lines)
    print("\n" + report)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "streams.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
