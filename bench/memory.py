"""Recall from agent memory (RFC-0015) with 100,000 entries held by one agent.

    .venv/bin/python bench/memory.py [--entries 100000] [--reads 200]

Fills a throw-away SQLite database (or the database of DATABASE_URL, which is emptied: point it at a scratch one)
with ``--entries`` entries of one agent (bulk inserts: 20 namespaces, keys ``k0000000``..., three of 30 tags each,
a third of them episodic), runs ``ANALYZE``, then times ``--reads`` requests of each kind of recall through the
whole Django stack in-process (key check, routing, the query, serialization; no network). Prints a Markdown table
of the median and 95th percentile per kind, and writes it to bench/results/memory.md.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-memory-key-0123456789"
AGENT = "bench-agent"
NAMESPACES = 20
TAGS = 30


def prepare_environment(entries):
    var_dir = tempfile.mkdtemp(prefix="openintent-bench-memory-")
    os.environ["OPENINTENT_VAR_DIR"] = var_dir
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(Path(var_dir) / "bench.sqlite3")
    # Room for every entry: the tiers' capacities bound what the API adds, not what is recalled.
    for tier in ("WORKING", "EPISODIC"):
        os.environ[f"OPENINTENT_MEMORY_{tier}_CAPACITY"] = str(entries * 2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openintent_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def fill(count):
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from agents.models import MemoryEntry, MemoryTag
    from openintent_site.models import ApiKey

    call_command("migrate", verbosity=0)
    if os.environ.get("DATABASE_URL"):
        call_command("flush", interactive=False, verbosity=0)
    api_key = ApiKey(agent_id=AGENT, name="bench")
    api_key.set_key(KEY)
    api_key.save()
    rng = random.Random(7)
    now = timezone.now()
    batch, tags = [], []
    for index in range(count):
        chosen = rng.sample(range(TAGS), 3)
        entry = MemoryEntry(
            agent_id=AGENT,
            namespace=f"ns-{index % NAMESPACES:02d}",
            key=f"k{index:07d}",
            value={"index": index, "note": "a remembered fact of modest size", "score": rng.random()},
            value_bytes=70,
            memory_type="episodic" if index % 3 == 0 else "working",
            tags=[f"t{tag}" for tag in chosen],
            created_at=now,
            updated_at=now,
            last_accessed_at=now,
        )
        batch.append(entry)
        tags.extend(MemoryTag(entry=entry, agent_id=AGENT, tag=f"t{tag}") for tag in chosen)
        if len(batch) == 5000:
            MemoryEntry.objects.bulk_create(batch)
            MemoryTag.objects.bulk_create(tags)
            batch, tags = [], []
    MemoryEntry.objects.bulk_create(batch)
    MemoryTag.objects.bulk_create(tags)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return list(MemoryEntry.objects.values_list("pk", flat=True)[:: max(1, count // 1000)])


def recalls(ids, count, rng):
    """``(name, path maker)`` for each kind of recall; each maker returns one request's path and query."""
    agent = f"/api/v1/agents/{AGENT}/memory"
    return [
        ("one entry by id", lambda: (f"/api/v1/memory/{rng.choice(ids)}", {})),
        (
            "one entry by namespace and key",
            lambda: (
                "/api/v1/memory",
                {
                    "agent_id": AGENT,
                    "namespace": f"ns-{(i := rng.randrange(count)) % NAMESPACES:02d}",
                    "key": f"k{i:07d}",
                },
            ),
        ),
        ("a namespace, first 100", lambda: (agent, {"namespace": f"ns-{rng.randrange(NAMESPACES):02d}"})),
        ("key prefix (10 entries)", lambda: (agent, {"key_prefix": f"k{rng.randrange(count // 10):06d}"})),
        ("two tags (all), first 100", lambda: (agent, {"tags": f"t{rng.randrange(TAGS)},t{rng.randrange(TAGS)}"})),
        ("episodic tier, page at offset 5,000", lambda: (agent, {"memory_type": "episodic", "offset": 5000})),
        (
            "RFC query with total: namespace prefix and a tag",
            lambda: ("/api/v1/memory", {"agent_id": AGENT, "namespace": "ns-1*", "tags": f"t{rng.randrange(TAGS)}"}),
        ),
    ]


def measure(reads, ids, count):
    from django.test import Client

    client = Client(HTTP_X_API_KEY=KEY)
    rng = random.Random(11)
    rows = []
    for name, make in recalls(ids, count, rng):
        timings = []
        for _ in range(reads):
            path, params = make()
            started = time.perf_counter()
            response = client.get(path, params)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")
        timings.sort()
        rows.append((name, statistics.median(timings), timings[int(len(timings) * 0.95) - 1]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=200)
    options = parser.parse_args()
    prepare_environment(options.entries)
    from django.db import connection

    started = time.perf_counter()
    ids = fill(options.entries)
    filled = time.perf_counter() - started
    rows = measure(options.reads, ids, options.entries)
    lines = [
        f"Recall from {options.entries:,} memory entries of one agent ({connection.vendor}; filled in {filled:.0f} s; "
        f"{options.reads} requests each, in-process through the whole Django stack)",
        "",
        "| recall | median ms | p95 ms |",
        "|---|---:|---:|",
        *(f"| {name} | {median:.1f} | {p95:.1f} |" for name, median, p95 in rows),
    ]
    text = "\n".join(lines)
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "memory.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
