"""``manage.py stats``: counts per status, the desk's queues, the oldest item waiting, and its exit status."""

import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from governance.queues import QUEUES
from tests.conftest import new_intent, versioned


def stats(*args):
    out = StringIO()
    call_command("stats", *args, stdout=out)
    return out.getvalue()


def test_an_empty_server_has_nothing_waiting(db):
    text = stats()
    assert "Waiting for people: 0" in text
    assert "Nothing waits for a person." in text
    for queue in QUEUES:
        assert queue.label in text
    stats("--check")  # exits 0: no SystemExit


def test_counts_per_status_queues_and_the_oldest_item(api):
    new_intent(api, title="Draft one")
    blocked = new_intent(api, title="Blocked one")
    versioned(api, "post", f"/api/v1/intents/{blocked['id']}/state", 1, {"state": {"go": True}})
    api.post(f"/api/v1/intents/{blocked['id']}/arbitrate", {"reason": "first"}, format="json")
    api.post(f"/api/v1/intents/{blocked['id']}/arbitrate", {"reason": "second"}, format="json")

    report = json.loads(stats("--json"))
    assert report["counts"]["Intents"] == {"blocked": 1, "draft": 1}
    assert report["counts"]["Arbitration requests"] == {"pending": 2}
    queues = {queue["key"]: queue for queue in report["queues"]}
    assert queues["arbitrations"]["count"] == 2
    assert queues["blocked"]["count"] == 1
    assert report["waiting_total"] == 3
    first = api.get(f"/api/v1/intents/{blocked['id']}/arbitrations").json()["arbitrations"][0]
    assert report["oldest_waiting"]["queue"] == "Arbitration requests"
    assert report["oldest_waiting"]["since"][:19] == first["created_at"][:19]

    text = stats()
    assert "Intents" in text and "(blocked 1, draft 1)" in text
    assert "Waiting for people: 3" in text
    assert "Oldest item waiting: Arbitration requests, since" in text
    with pytest.raises(SystemExit) as exited:
        stats("--check")
    assert exited.value.code == 2


def test_help_says_what_it_counts_and_what_the_exit_status_means():
    answer = subprocess.run(
        [sys.executable, "manage.py", "stats", "--help"], capture_output=True, text=True, check=True, timeout=120
    )
    assert "Counts per status" in answer.stdout
    assert "--check" in answer.stdout and "Exit status" in answer.stdout


def test_a_database_it_cannot_read_is_exit_status_1_in_plain_words(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["SQLITE_PATH"] = str(tmp_path / "never-migrated.sqlite3")
    answer = subprocess.run(
        [sys.executable, "manage.py", "stats"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert answer.returncode == 1
    assert "Could not read the database" in answer.stderr
