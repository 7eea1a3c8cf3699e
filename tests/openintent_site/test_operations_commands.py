"""The operator's commands as an operator meets them: each explains itself and every option in --help, and says
what went wrong on stderr with a non-zero exit, changing nothing. (What each command does is tested beside the
feature: the key commands in test_auth_and_errors.py, sweep, exportevents and doctor in their own files.)"""

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, load_command_class
from django.core.management.base import BaseCommand

from openintent_site.models import ApiKey
from tests.conftest import ROOT

OPERATOR_COMMANDS = {
    "createapikey": "openintent_site",
    "revokeapikey": "openintent_site",
    "seeddev": "openintent_site",
    "serve": "openintent_site",
    "sweep": "openintent_site",
    "doctor": "openintent_site",
    "expireleases": "intents",
    "exportevents": "intents",
    "rotatevaultkey": "agents",
}
# Django's own options, which every command has and Django explains.
DJANGO_OPTIONS = {
    "help",
    "version",
    "verbosity",
    "settings",
    "pythonpath",
    "traceback",
    "no_color",
    "force_color",
    "skip_checks",
}


@pytest.mark.parametrize("name", sorted(OPERATOR_COMMANDS))
def test_every_operator_command_explains_itself_and_each_option(name):
    command = load_command_class(OPERATOR_COMMANDS[name], name)
    parser = command.create_parser("manage.py", name)

    assert command.help and command.help != BaseCommand.help
    unexplained = [
        action.dest for action in parser._actions if action.dest not in DJANGO_OPTIONS and not (action.help or "")
    ]
    assert unexplained == []


def test_help_is_printed_with_a_zero_exit():
    done = subprocess.run(
        [sys.executable, "manage.py", "exportevents", "--help"], cwd=ROOT, capture_output=True, text=True
    )

    assert done.returncode == 0
    assert "--since TIMESTAMP" in done.stdout
    assert "JSON lines" in done.stdout


def run(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_key_commands_exit_non_zero_with_a_message_on_stderr(server_env, transactional_db, keys):
    issued = run("createapikey", "--agent", "agent-ops", "--name", "ops", env=server_env)
    assert issued.returncode == 0, issued.stderr
    assert issued.stdout.startswith("oi_")

    again = run("createapikey", "--agent", "agent-ops", "--key", "agent-research-key", env=server_env)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr.strip() == "CommandError: That key is already issued."

    revoked = run("revokeapikey", "--agent", "agent-ops", env=server_env)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, "Revoked 1 key(s).")
    nothing = run("revokeapikey", "--agent", "agent-ops", env=server_env)
    assert (nothing.returncode, nothing.stdout) == (1, "")
    assert nothing.stderr.strip() == "CommandError: No active key matched."


def command(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agent", ""], "--agent takes an agent id"),
        (["--agent", "  "], "--agent takes an agent id"),
        (["--agent", "two words"], "--agent takes an agent id"),
        (["--agent", "a" * 201], "--agent takes an agent id: 1 to 200"),
        (["--agent", "a", "--key", " "], "--key is empty"),
        (["--agent", "a", "--acts-for", "research-* writer"], "--acts-for: .* has a space"),
    ],
)
def test_createapikey_refuses_malformed_arguments_and_issues_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        command("createapikey", *args)

    assert not ApiKey.objects.exists()


def test_createapikey_takes_acts_for_as_the_admin_does(db):
    command("createapikey", "--agent", "fleet", "--acts-for", " research-*, writer,,writer ")

    assert ApiKey.objects.get().acts_for == ["research-*", "writer"]


@pytest.mark.parametrize("option", ["--key", "--agent", "--user"])
def test_revokeapikey_refuses_an_empty_value_rather_than_matching_every_user_key(person_api, option):
    with pytest.raises(CommandError, match=f"{option} is empty"):
        command("revokeapikey", option, "")

    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 0
    assert person_api.get("/api/v1/intents").status_code == 200
