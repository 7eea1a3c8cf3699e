"""``manage.py stats``: how much there is of everything, by status, and what waits for a person (the desk's queues,
from ``governance.queues``), with the oldest item still waiting."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.db.models import Count
from django.utils import timezone

from agents.registry.models import Agent
from agents.vaults.models import ToolGrant
from governance.models import ArbitrationRequest
from governance.queues import QUEUES
from intents.models import AccessRequest, Intent, Lease, Plan, Portfolio, Task, WebhookDelivery

# What is counted by status, in the order printed: (label, model, status field).
COUNTED = [
    ("Intents", Intent, "status"),
    ("Tasks", Task, "status"),
    ("Plans", Plan, "state"),
    ("Portfolios", Portfolio, "status"),
    ("Leases", Lease, "status"),
    ("Arbitration requests", ArbitrationRequest, "status"),
    ("Access requests", AccessRequest, "status"),
    ("Webhook deliveries", WebhookDelivery, "status"),
    ("Agents", Agent, "status"),
    ("Tool grants", ToolGrant, "status"),
]

WAITING_EXIT_STATUS = 2


def wire(moment):
    return moment.isoformat(timespec="seconds") if moment else None


class Command(BaseCommand):
    help = (
        "Counts per status (intents, tasks, plans, portfolios, leases, arbitration and access requests, webhook "
        "deliveries, agents, tool grants), the queues waiting for people as the admin desk shows them, and the oldest "
        "item still waiting. Exit status: 0 when the counts were read (with --check: 0 only when nothing waits, "
        f"{WAITING_EXIT_STATUS} when something does), 1 when the database cannot be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="One JSON document instead of text.")
        parser.add_argument(
            "--check",
            action="store_true",
            help=f"Exit with status {WAITING_EXIT_STATUS} when anything waits for a person (for monitoring).",
        )

    def handle(self, *args, **options):
        try:
            report = self.gather()
        except DatabaseError as exc:
            raise CommandError(f"Could not read the database: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.write_text(report)
        if options["check"] and report["waiting_total"]:
            sys.exit(WAITING_EXIT_STATUS)

    def gather(self):
        counts = {}
        for label, model, field in COUNTED:
            rows = model.objects.order_by().values_list(field).annotate(n=Count("pk"))
            counts[label] = dict(sorted(rows))
        queues = []
        for queue in QUEUES:
            count = queue.count()
            queues.append(
                {
                    "key": queue.key,
                    "label": queue.label,
                    "count": count,
                    queue.since_label.replace(" ", "_"): wire(queue.oldest()) if count else None,
                }
            )
        waiting = [(queue.oldest(), queue.label) for queue in QUEUES if queue.ages and queue.count() and queue.oldest()]
        oldest = min(waiting, default=None)
        return {
            "at": wire(timezone.now()),
            "counts": counts,
            "queues": queues,
            "waiting_total": sum(entry["count"] for entry in queues),
            "oldest_waiting": {"queue": oldest[1], "since": wire(oldest[0])} if oldest else None,
        }

    def write_text(self, report):
        write = self.stdout.write
        width = max(len(label) for label, _, _ in COUNTED)
        for label, by_status in report["counts"].items():
            total = sum(by_status.values())
            detail = ", ".join(f"{status} {n}" for status, n in by_status.items())
            write(f"{label:<{width}}  {total:>7}" + (f"  ({detail})" if detail else ""))
        write("")
        write(f"Waiting for people: {report['waiting_total']}")
        label_width = max(len(queue["label"]) for queue in report["queues"])
        for queue in report["queues"]:
            when = next(
                (
                    f"  {key.replace('_', ' ')} {value}"
                    for key, value in queue.items()
                    if key not in ("key", "label", "count") and value
                ),
                "",
            )
            write(f"  {queue['label']:<{label_width}}  {queue['count']:>5}{when}")
        oldest = report["oldest_waiting"]
        write("")
        write(
            f"Oldest item waiting: {oldest['queue']}, since {oldest['since']}"
            if oldest
            else "Nothing waits for a person."
        )
