"""Fan-out of live streams: many subscribers on one intent, a steady writer, every delivery counted and timed.

    .venv/bin/python bench/streams.py [--subscribers 200] [--rate 20] [--seconds 10]
                                      [--transports sse,websocket] [--processes 1,2]

Each round starts its own daphne processes on DATABASE_URL or a scratch database ``openintent_bench_streams`` on
the local PostgreSQL, with Redis as the channel layer when one answers on 127.0.0.1:6379, and opens the
subscribers, spread evenly over the processes. One writer posts an event ``--rate`` times a second through
gunicorn, as the README's deployment does (``--writer asgi`` posts to the first daphne process instead), so every
write reaches the streaming processes through the channel layer. Write to delivery runs from the event's
``created_at``, taken by the server in the writing transaction, to the subscriber's read of the frame; POST to
delivery from the moment the writer sends its request.
Results go to stdout and bench/results/streams.md.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import connect as websocket_connect

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
    except Exception:  # noqa: BLE001  no Redis: the in-memory layer, one process only
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


class Subscriber:
    def __init__(self, url, intent_id, transport):
        self.url, self.intent_id, self.transport = url, intent_id, transport
        self.received = {}
        self.duplicates = 0
        self.ready = asyncio.Event()

    def record(self, frame):
        seq = sequence_of(frame)
        if seq is None:
            return
        if seq in self.received:
            self.duplicates += 1
        else:
            self.received[seq] = time.time()

    async def run(self):
        if self.transport == "websocket":
            await self.run_websocket()
        else:
            await self.run_sse()

    async def run_sse(self):
        parts = urlsplit(self.url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port, limit=1 << 20)
        request = (
            f"GET /api/v1/intents/{self.intent_id}/subscribe HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"X-API-Key: {KEY}\r\nAccept: text/event-stream\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(head.decode())
        self.ready.set()
        chunked = b"chunked" in head.lower()
        try:
            while True:
                if chunked:
                    size = int((await reader.readline()).strip(), 16)
                    chunk = await reader.readexactly(size + 2)
                else:
                    chunk = await reader.read(65536)
                for frame in chunk.split(b"\n\n"):
                    if frame.startswith(b"id:"):
                        self.record(frame)
        finally:
            writer.close()

    async def run_websocket(self):
        url = "ws" + self.url.removeprefix("http") + f"/ws/intents/{self.intent_id}"
        async with websocket_connect(url, additional_headers={"X-API-Key": KEY}, max_queue=None) as socket:
            self.ready.set()
            async for message in socket:
                self.record(message.encode() if isinstance(message, str) else message)


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
    parser.add_argument("--processes", default="1,2", help="comma-separated daphne process counts, one round each")
    parser.add_argument(
        "--writer",
        choices=["wsgi", "asgi"],
        default="wsgi",
        help="post through gunicorn (2 workers), as the README's deployment does, or to the first daphne process",
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
    layer_name = "Redis" if layer else "in-memory"
    writer = "gunicorn (2 WSGI workers)" if args.writer == "wsgi" else "the first daphne process"
    setup = f"Database: {database}; channel layer: {layer_name}; writes through {writer}"
    print(f"{setup}; {args.subscribers} subscribers; {args.rate:g} events/s for {args.seconds:g} s", flush=True)

    rows = []
    for processes in [int(count) for count in args.processes.split(",")]:
        if (processes > 1 or args.writer == "wsgi") and not layer:
            print(f"  skipping {processes} process(es): writes from another process need Redis to wake them")
            continue
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
