"""``manage.py firetrigger ID``: fires through the same service as the API, says what it did, and exits 1 with the
reason when it cannot."""

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import ROOT

from .helpers import TRIGGERS, intents_of, schedule_trigger


def test_it_fires_and_prints_the_created_intent(api, capsys):
    trigger = schedule_trigger(api, name="Nightly", deduplication="skip")

    call_command("firetrigger", trigger["trigger_id"])
    call_command("firetrigger", trigger["trigger_id"], "--actor", "ops-alice")

    runs = intents_of(api, trigger["trigger_id"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Fired Nightly ({trigger['trigger_id']}): created intent {runs[0]['id']}"
    assert out[1].startswith(f"Fired Nightly ({trigger['trigger_id']}) but created no intent: skipped")
    history = api.get(f"{TRIGGERS}/{trigger['trigger_id']}/history").json()
    assert [(entry["actor"], entry["outcome"]) for entry in history] == [
        ("ops-alice", "skipped"),
        ("operator", "fired"),
    ]


def test_an_unknown_or_disabled_trigger_is_an_error(api):
    trigger = schedule_trigger(api, enabled=False)

    with pytest.raises(CommandError, match="Trigger not found"):
        call_command("firetrigger", "no-such-trigger")
    with pytest.raises(CommandError, match="Trigger is disabled"):
        call_command("firetrigger", trigger["trigger_id"])
    assert intents_of(api, trigger["trigger_id"]) == []


def test_help_and_exit_status_from_the_shell(server_env):
    helped = subprocess.run(
        [sys.executable, "manage.py", "firetrigger", "--help"], cwd=ROOT, env=server_env, capture_output=True, text=True
    )
    unknown = subprocess.run(
        [sys.executable, "manage.py", "firetrigger", "00000000-0000-4000-8000-000000000000"],
        cwd=ROOT,
        env=server_env,
        capture_output=True,
        text=True,
    )

    assert helped.returncode == 0 and "deduplication" in helped.stdout
    assert unknown.returncode == 1 and "Trigger not found" in unknown.stderr
