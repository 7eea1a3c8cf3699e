"""Throughput and latency of the intents core, measured through HTTP against real server processes.

    .venv/bin/python bench/run.py [--server wsgi|asgi] [--processes 4] [--clients 16] [--seconds 5]
                                  [--sizes 10000,100000] [--only create,patch] [--quick]

Uses DATABASE_URL when set; otherwise a database ``openintent_bench`` on the local PostgreSQL (127.0.0.1:5432,
user postgres) when one answers, else a throw-away SQLite file. The database is emptied first. Results are
printed as a Markdown table and written to bench/results/latest.md.
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key-0123456789"
HUB_FANOUT = 20


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def choose_database():
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], "PostgreSQL (DATABASE_URL)"
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS openintent_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE openintent_bench")
        return "postgresql://postgres@127.0.0.1:5432/openintent_bench", "PostgreSQL (local openintent_bench)"
    except Exception:  # noqa: BLE001  any failure means: no usable PostgreSQL here
        return None, "SQLite (no PostgreSQL found: figures are not comparable with the targets)"


def environment(database_url, var_dir):
    env = dict(os.environ, OPENINTENT_VAR_DIR=var_dir, DJANGO_SETTINGS_MODULE="openintent_site.settings")
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def seed(env, total):
    """Grow the intents table to ``total`` rows with bulk inserts: every 21st seeded intent is a hub with the next
    20 as children that also depend on it. Numbering continues over rounds, so a hub the previous round left
    short gets the rest of its children first. Then ANALYZE, as autovacuum would after a bulk load: without
    statistics the planner takes the dependency join for a scan of the whole table."""
    script = f"""
import django, uuid
django.setup()
from django.db import connection
from django.utils import timezone
from intents.models import Intent, IntentDependency
have = Intent.objects.count()
seeded = Intent.objects.filter(created_by="seed").count()
hub = None
if seeded % {HUB_FANOUT + 1}:
    hub = Intent.objects.get(created_by="seed", title=f"seeded {{seeded - seeded % {HUB_FANOUT + 1}}}")
batch = []
links = []
for number in range(seeded, seeded + {total} - have):
    intent = Intent(id=uuid.uuid4(), title=f"seeded {{number}}", created_by="seed",
                    status=["draft", "active", "completed"][number % 3], state={{"n": number}})
    if number % {HUB_FANOUT + 1} == 0:
        hub = intent
    else:
        intent.parent_id = hub.pk
        intent.depends_on = [str(hub.pk)]
        links.append(IntentDependency(intent=intent, depends_on=hub))
    batch.append(intent)
    if len(batch) >= 5000:
        Intent.objects.bulk_create(batch); IntentDependency.objects.bulk_create(links); batch, links = [], []
Intent.objects.bulk_create(batch); IntentDependency.objects.bulk_create(links)
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


def hub_ids(env, count=50):
    """The newest ``count`` hubs with all their children (the last hub of a round may still be short)."""
    script = f"""
import django
django.setup()
from django.db.models import Count
from intents.models import Intent
hubs = Intent.objects.filter(created_by="seed", parent__isnull=True).annotate(size=Count("children"))
ids = hubs.filter(size={HUB_FANOUT}).order_by("-created_at").values_list("id", flat=True)[:{count}]
print(" ".join(str(pk) for pk in ids))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True)
    return result.stdout.decode().split()


def lease_overlaps(env, intent_id):
    script = f"""
import django
django.setup()
from itertools import pairwise
from intents.models import Lease
leases = list(Lease.objects.filter(intent_id="{intent_id}").order_by("acquired_at"))
print(sum(1 for a, b in pairwise(leases) if (a.released_at or a.expires_at) > b.acquired_at))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True)
    return int(result.stdout.decode().strip())


def start_servers(env, server, count):
    """One gunicorn with ``count`` WSGI workers, or ``manage.py serve`` (uvicorn, without Celery) with ``count``
    server processes: one URL either way."""
    port = free_port()
    if server == "wsgi":
        command = [sys.executable, "-m", "gunicorn", "--log-level", "warning", "-w", str(count), "-b"]
        command += [f"127.0.0.1:{port}", "openintent_site.wsgi:application"]
    else:
        command = [sys.executable, "manage.py", "serve", "--no-worker", "--workers", str(count), "--port", str(port)]
    servers = [(subprocess.Popen(command, cwd=ROOT, env=env), f"http://127.0.0.1:{port}")]
    for _, url in servers:
        for _ in range(300):
            try:
                httpx.get(f"{url}/.well-known/openintent.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
    return servers


class Response:
    def __init__(self, status_code, content):
        self.status_code, self.content = status_code, content

    def json(self):
        return json.loads(self.content)


class Client:
    """A keep-alive HTTP client on the standard library's http.client.

    httpx spends about 2 ms of CPU per request here, four times as much, and the load generator shares the
    machine's two cores with the server: a heavy client would measure itself."""

    def __init__(self, url):
        self.host, self.port = urlsplit(url).hostname, urlsplit(url).port
        self.connection = None

    def request(self, method, path, json_body=None, params=None, headers=None):
        if params:
            path = f"{path}?{urlencode(params)}"
        body = json.dumps(json_body) if json_body is not None else None
        headers = {"X-API-Key": KEY, "Content-Type": "application/json", **(headers or {})}
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                content = response.read()
            except (ConnectionError, http.client.HTTPException):
                # The server closed a kept-alive connection between requests: reconnect once.
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.connection.close()
                self.connection = None
            return Response(response.status, content)

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def post(self, path, json=None, headers=None):
        return self.request("POST", path, json_body=json, headers=headers)

    def delete(self, path):
        return self.request("DELETE", path)


class Run:
    """``clients`` threads call ``operation(client, index)`` until ``seconds`` pass; latencies are kept."""

    def __init__(self, urls, clients, seconds):
        self.urls, self.clients, self.seconds = urls, clients, seconds

    def client(self, index):
        url = self.urls[index % len(self.urls)]
        return Client(url)

    def measure(self, operation, prepare=None):
        latencies, errors, lock = [], [0], threading.Lock()
        start_line = threading.Barrier(self.clients + 1)

        def work(index):
            client = self.client(index)
            context = prepare(client, index) if prepare else None
            mine, failed = [], 0
            start_line.wait()
            deadline = time.monotonic() + self.seconds
            while time.monotonic() < deadline:
                began = time.perf_counter()
                if not operation(client, index, context):
                    failed += 1
                mine.append(time.perf_counter() - began)
            with lock:
                latencies.extend(mine)
                errors[0] += failed

        threads = [threading.Thread(target=work, args=(index,)) for index in range(self.clients)]
        for thread in threads:
            thread.start()
        start_line.wait()
        began = time.monotonic()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        latencies.sort()
        return {
            "ops": len(latencies) / elapsed,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            "errors": errors[0],
        }


def benchmark(run, urls, env, size, hubs, only=()):
    rows = []
    admin = Client(urls[0])

    def create(client, index, context):
        return client.post("/api/v1/intents", json={"title": "bench"}).status_code == 200

    def get(client, index, context):
        return client.get(f"/api/v1/intents/{random.choice(hubs)}").status_code == 200

    def own_intent(client, index):
        return {"id": client.post("/api/v1/intents", json={"title": f"patch {index}"}).json()["id"], "version": 1}

    def patch(client, index, context):
        response = client.post(
            f"/api/v1/intents/{context['id']}/state",
            json={"patches": [{"op": "set", "path": "progress", "value": context["version"]}]},
            headers={"If-Match": str(context["version"])},
        )
        context["version"] += 1
        return response.status_code == 200

    shared = admin.post("/api/v1/intents", json={"title": "contended"}).json()["id"]
    commits = [0]
    commit_lock = threading.Lock()

    def contended(client, index, context):
        current = client.get(f"/api/v1/intents/{shared}").json()
        response = client.post(
            f"/api/v1/intents/{shared}/state",
            json={"patches": [{"op": "set", "path": f"c{index}", "value": current["state"].get(f"c{index}", 0) + 1}]},
            headers={"If-Match": str(current["version"])},
        )
        if response.status_code == 200:
            with commit_lock:
                commits[0] += 1
        return response.status_code in (200, 409)

    leased = admin.post("/api/v1/intents", json={"title": "leased"}).json()["id"]
    grants = [0]

    def lease(client, index, context):
        response = client.post(f"/api/v1/intents/{leased}/leases", json={"scope": "s", "duration_seconds": 60})
        if response.status_code == 200:
            with commit_lock:
                grants[0] += 1
            return client.delete(f"/api/v1/intents/{leased}/leases/{response.json()['id']}").status_code == 200
        return response.status_code == 409

    def listing(client, index, context):
        return client.get("/api/v1/intents", params={"limit": 50}).status_code == 200

    def listing_by_status(client, index, context):
        return client.get("/api/v1/intents", params={"limit": 50, "status": "active"}).status_code == 200

    def dependents(client, index, context):
        response = client.get(f"/api/v1/intents/{random.choice(hubs)}/dependents")
        return response.status_code == 200 and len(response.json()["dependents"]) == HUB_FANOUT

    def children(client, index, context):
        response = client.get(f"/api/v1/intents/{random.choice(hubs)}/children")
        return response.status_code == 200 and len(response.json()["children"]) == HUB_FANOUT

    for name, operation, prepare in [
        ("create", create, None),
        ("get", get, None),
        ("state patch (own intent)", patch, own_intent),
        ("contended patch (one intent, OCC retry)", contended, None),
        ("lease acquire/release (one scope)", lease, None),
        ("list 50", listing, None),
        ("list 50, status filter", listing_by_status, None),
        ("dependents (20)", dependents, None),
        ("children (20)", children, None),
    ]:
        if only and not any(word in name for word in only):
            continue
        result = run.measure(operation, prepare)
        note = ""
        if operation is contended:
            final = admin.get(f"/api/v1/intents/{shared}").json()
            lost = commits[0] - (final["version"] - 1) + (commits[0] - sum(final["state"].values()))
            note = f"{commits[0]} commits, lost updates: {lost}"
            result["ops"] = commits[0] / run.seconds
        if operation is lease:
            note = f"{grants[0]} grants, overlapping holders: {lease_overlaps(env, leased)}"
        rows.append((name, size, result, note))
        print(
            f"  {name:42} {size:>7} {result['ops']:8.0f}/s p50 {result['p50']:6.1f} ms p99 {result['p99']:6.1f} ms "
            f"errors {result['errors']} {note}",
            flush=True,
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["wsgi", "asgi"], default="wsgi", help="gunicorn or uvicorn workers")
    parser.add_argument("--processes", type=int, default=4, help="gunicorn or uvicorn workers")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--only", default="", help="comma-separated words; run the operations whose name has one")
    parser.add_argument("--quick", action="store_true", help="2,000 intents, 2 s per operation")
    args = parser.parse_args()
    sizes = [2000] if args.quick else [int(size) for size in args.sizes.split(",")]
    seconds = 2 if args.quick else args.seconds

    database_url, database = choose_database()
    var_dir = tempfile.mkdtemp(prefix="openintent-bench-")
    env = environment(database_url, var_dir)
    if not database_url:
        env["SQLITE_PATH"] = str(Path(var_dir) / "bench.sqlite3")
    manage(env, "migrate", "--noinput")
    manage(env, "createapikey", "--agent", "bench", "--key", KEY)
    serving = (
        f"gunicorn with {args.processes} WSGI workers"
        if args.server == "wsgi"
        else f"uvicorn with {args.processes} workers"
    )
    print(f"Database: {database}; {serving}; {args.clients} clients; {seconds:g} s each")

    rows = []
    for size in sizes:
        seed(env, size)
        hubs = hub_ids(env)
        servers = start_servers(env, args.server, args.processes)
        try:
            rows += benchmark(
                Run([url for _, url in servers], args.clients, seconds),
                [u for _, u in servers],
                env,
                size,
                hubs,
                [w for w in args.only.split(",") if w],
            )
        finally:
            for process, _ in servers:
                process.terminate()
                process.wait()

    lines = [
        f"Database: {database}. {serving}, {args.clients} concurrent clients, "
        f"{seconds:g} s per operation, {os.cpu_count()} cores.",
        "",
        "| operation | intents | ops/s | p50 ms | p99 ms | errors | notes |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, size, result, note in rows:
        lines.append(
            f"| {name} | {size:,} | {result['ops']:.0f} | {result['p50']:.1f} | {result['p99']:.1f} | "
            f"{result['errors']} | {note} |"
        )
    report = "\n".join(lines)
    print("\n" + report)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
