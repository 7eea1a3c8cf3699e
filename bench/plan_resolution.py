"""How the work of resolving a plan's dependencies grows with the plan (RFC-0012).

    .venv/bin/python bench/plan_resolution.py [--sizes 100,1000] [--fan-in 2]

Builds, through the services the routes call, an active plan of N tasks where task i depends on the ``fan-in``
tasks before it, then runs every task to completion in order (claim, start, complete), counting the SQL queries of
the completions (each completion makes its dependents ready in its own transaction) and timing them. Linear work
shows as queries per task that do not grow with N. Uses a throw-away SQLite file unless DATABASE_URL is set (then
point it at a scratch database: it is migrated and written to).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django():
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(Path(tempfile.mkdtemp(prefix="plan-bench-")) / "bench.sqlite3")
    os.environ.setdefault("OPENINTENT_VAR_DIR", tempfile.mkdtemp(prefix="plan-bench-var-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openintent_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class QueryCounter:
    """Counts the statements run through a connection (``connection.execute_wrapper``), without keeping them."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def run(size, fan_in):
    from django.db import connection

    from intents.core.services import create_intent
    from intents.plans import services

    agent = "bench-agent"
    intent = create_intent(agent, title=f"Plan of {size}")
    ids = []
    for index in range(size):
        depends_on = ids[max(0, index - fan_in) : index]
        ids.append(str(services.create_task(intent.pk, agent, name=f"t{index}", depends_on=depends_on).pk))
    plan = services.create_plan(intent.pk, agent, tasks=ids)
    services.activate_plan(plan.pk, agent)
    counter = QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        for task_id in ids:
            services.claim_task(task_id, agent)
            services.start_task(task_id, agent)
            services.complete_task(task_id, agent, {"ok": True})
    seconds = time.perf_counter() - started
    plan.refresh_from_db()
    assert plan.state == "completed", plan.state
    return counter.count, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--fan-in", type=int, default=2)
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    print(f"Database: {connection.vendor}; each task depends on the {args.fan_in} before it")
    print("| tasks | queries (claim+start+complete, all tasks) | queries per task | seconds | ms per task |")
    print("|---|---|---|---|---|")
    for size in (int(value) for value in args.sizes.split(",")):
        queries, seconds = run(size, args.fan_in)
        print(f"| {size} | {queries} | {queries / size:.1f} | {seconds:.2f} | {seconds * 1000 / size:.2f} |")


if __name__ == "__main__":
    main()
