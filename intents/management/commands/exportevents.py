import json
import os
import sys
import uuid
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from intents.core.serializers import EventSerializer
from intents.models import Intent
from openintent_site.models import IntentEvent

# Rows fetched per round trip. On PostgreSQL they come from a server-side cursor, so the export holds one chunk at a
# time, however long the log.
CHUNK_SIZE = 2000


def parse_since(text):
    """A timestamp as the events API's ``since`` takes it (ISO 8601; a bare date is its midnight; no offset is UTC)."""
    moment = parse_datetime(text)
    if moment is None and (day := parse_date(text)) is not None:
        moment = datetime(day.year, day.month, day.day)
    if moment is None:
        raise ValueError
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Write an intent's event log to stdout as JSON lines, oldest first, each event as GET "
        "/api/v1/intents/{id}/events answers it. The log is streamed (constant memory, whatever its length). "
        "--all writes every intent's log instead, with the entries about an agent alone (intent_id null) that no "
        "intent's log holds."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--intent", metavar="ID", help="The intent whose log to write.")
        which.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help="Every entry of the log, of every intent and of agents alone, in the order they were written.",
        )
        parser.add_argument(
            "--since",
            metavar="TIMESTAMP",
            help="Only events created after this time (ISO 8601, e.g. 2026-12-01T09:00:00Z; UTC when no offset).",
        )

    def handle(self, *args, intent, everything, since, **options):
        events = IntentEvent.objects.all()
        if intent is not None:
            try:
                found = Intent.objects.filter(pk=uuid.UUID(intent)).exists()
            except ValueError:
                found = False
            if not found:
                raise CommandError(f"No intent with id {intent!r}.")
            events = events.filter(intent_id=intent)
        if since is not None:
            try:
                events = events.filter(created_at__gt=parse_since(since))
            except ValueError:
                raise CommandError(
                    f"--since {since!r} is not a timestamp (ISO 8601, e.g. 2026-12-01T09:00:00Z)."
                ) from None
        rows = events.order_by("id").values_list(*EventSerializer.ROW_FIELDS, named=True)
        as_wire = EventSerializer().to_representation
        write = self.stdout.write
        try:
            for row in rows.iterator(chunk_size=CHUNK_SIZE):
                event = as_wire(row)
                if row.intent_id is None:
                    event["intent_id"] = None  # an entry about an agent alone
                write(json.dumps(event, separators=(",", ":")))
            self.stdout.flush()
        except BrokenPipeError:
            # The reader stopped early (`| head`): not an error of the export. Python's own flush of stdout at exit
            # would hit the closed pipe again, so it goes nowhere instead.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
