"""``manage.py exportevents``: an intent's log (or the whole log) as JSON lines, each event as the API answers it,
streamed from a server-side cursor on PostgreSQL; bad input is a non-zero exit with a message on stderr."""

import json
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from intents.management.commands import exportevents
from openintent_site.models import IntentEvent
from tests.agents.test_registry_api import acting_as
from tests.conftest import ROOT, new_intent


def export(*args):
    out = StringIO()
    call_command("exportevents", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def note(api, intent_id, label):
    response = api.post(
        f"/api/v1/intents/{intent_id}/events", {"event_type": "note", "payload": {"label": label}}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_an_intents_log_is_written_oldest_first_as_the_api_answers_it(api):
    intent = new_intent(api)
    other = new_intent(api, title="Another")
    for label in ("one", "two", "three"):
        note(api, intent["id"], label)
    note(api, other["id"], "elsewhere")

    exported = export("--intent", intent["id"])

    answered = api.get(f"/api/v1/intents/{intent['id']}/events").json()
    assert exported == list(reversed(answered))
    assert [event["payload"].get("label") for event in exported][-3:] == ["one", "two", "three"]


def test_since_keeps_the_events_created_after_it(api):
    intent = new_intent(api)
    old = note(api, intent["id"], "old")
    new = note(api, intent["id"], "new")
    IntentEvent.objects.filter(intent_id=intent["id"]).exclude(pk=new["id"]).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    yesterday = timezone.now() - timedelta(days=1)

    assert [event["id"] for event in export("--intent", intent["id"], "--since", yesterday.isoformat())] == [new["id"]]
    # No offset is UTC, and a bare date is its midnight.
    naive = yesterday.replace(tzinfo=None).isoformat()
    assert [event["id"] for event in export("--intent", intent["id"], "--since", naive)] == [new["id"]]
    everything = export("--intent", intent["id"], "--since", "2000-01-01")
    assert [event["id"] for event in everything][-2:] == [old["id"], new["id"]]


def test_all_writes_every_intents_log_and_the_entries_about_an_agent_alone(api, keys):
    intent = new_intent(api)
    idle = acting_as("idle-1")
    assert idle.post("/api/v1/agents/register", {"agent_id": "idle-1"}, format="json").status_code == 200
    assert (
        idle.patch("/api/v1/agents/idle-1/status", {"status": "draining", "reason": "patching"}, format="json")
    ).status_code == 200

    exported = export("--all")

    assert [event["id"] for event in exported] == sorted((event["id"] for event in exported), key=int)
    assert {event["intent_id"] for event in exported} == {intent["id"], None}
    alone = [event for event in exported if event["intent_id"] is None]
    assert [(event["payload"]["agent_id"], event["payload"]["new_status"]) for event in alone] == [
        ("idle-1", "active"),  # registered
        ("idle-1", "draining"),
    ]
    # An intent's own export never holds them: they are in no intent's log.
    assert all(event["intent_id"] == intent["id"] for event in export("--intent", intent["id"]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--intent", "00000000-0000-4000-8000-000000000000"],
            "No intent with id '00000000-0000-4000-8000-000000000000'.",
        ),
        (["--intent", "not-an-id"], "No intent with id 'not-an-id'."),
        (["--all", "--since", "last tuesday"], "--since 'last tuesday' is not a timestamp"),
    ],
)
def test_bad_input_is_refused_with_a_message(db, args, message):
    with pytest.raises(CommandError, match=message):
        export(*args)


def run(args, env, **kwargs):
    return subprocess.run(
        [sys.executable, "manage.py", "exportevents", *args], cwd=ROOT, env=env, capture_output=True, **kwargs
    )


def test_an_unknown_intent_exits_non_zero_with_the_message_on_stderr(server_env):
    done = run(["--intent", "00000000-0000-4000-8000-000000000000"], server_env, text=True)

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == "CommandError: No intent with id '00000000-0000-4000-8000-000000000000'."


def test_neither_intent_nor_all_is_a_usage_error(server_env):
    done = run([], server_env, text=True)

    assert done.returncode == 2
    assert "one of the arguments --intent --all is required" in done.stderr


def many_events(intent_id, count):
    IntentEvent.objects.bulk_create(
        IntentEvent(intent_id=intent_id, event_type="note", actor="agent-research", payload={"n": n, "pad": "x" * 200})
        for n in range(count)
    )


def test_a_reader_that_stops_early_ends_the_export_quietly(api, transactional_db, server_env):
    intent = new_intent(api)
    many_events(intent["id"], 3 * exportevents.CHUNK_SIZE)  # several chunks, far more than a pipe's buffer

    done = subprocess.run(
        f"{sys.executable} manage.py exportevents --intent {intent['id']} | head -n 2",
        shell=True,
        cwd=ROOT,
        env=server_env,
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0
    assert [json.loads(line)["intent_id"] for line in done.stdout.splitlines()] == [intent["id"]] * 2
    assert done.stderr == ""


class CursorWatchingOutput(StringIO):
    """Records, at the first line written, the server-side cursors open on the export's connection."""

    cursors_at_first_line = None

    def write(self, text):
        if self.cursors_at_first_line is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT statement FROM pg_cursors")
                self.cursors_at_first_line = [statement for (statement,) in cursor.fetchall()]
        return super().write(text)


@pytest.mark.postgres
def test_on_postgresql_the_log_is_read_through_a_server_side_cursor_one_chunk_at_a_time(api):
    if connection.vendor != "postgresql":
        pytest.skip("server-side cursors are PostgreSQL's")
    intent = new_intent(api)
    count = 2 * exportevents.CHUNK_SIZE + 1
    many_events(intent["id"], count)
    out = CursorWatchingOutput()

    call_command("exportevents", "--intent", intent["id"], stdout=out)

    # While the first line was written the rows came from a cursor held open on the server, which psycopg reads
    # CHUNK_SIZE rows at a time, rather than from a result the client had read whole.
    assert len(out.cursors_at_first_line) == 1
    assert IntentEvent._meta.db_table in out.cursors_at_first_line[0]
    assert len(out.getvalue().splitlines()) == count + 1  # and the intent's own "created"
