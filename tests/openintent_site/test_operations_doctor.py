"""``manage.py doctor``: the healthy deployment passes, and each failure an operator meets (the database unreachable
or not migrated, no vault key, credentials sealed under a key no longer configured, Redis down, no worker, no beat)
is named in plain words on stderr with a non-zero exit."""

import sqlite3
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from agents.vaults import crypto
from openintent_site import beat
from openintent_site import doctor as checks
from tests.agents.tool_service import new_credential, new_vault
from tests.conftest import ROOT, running_celery_worker, wait_for


def doctor(env):
    return subprocess.run(
        [sys.executable, "manage.py", "doctor"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def lines_of(text, status):
    """``{topic: message}`` of the report's lines with ``status`` (``ok``, ``PROBLEM``, ``skipped``)."""
    found = {}
    for line in text.splitlines():
        if line[:7].strip() == status:
            topic, _, message = line[9:].partition("  ")
            found[topic.strip()] = message.strip()
    return found


def forget_beat(env):
    """No heartbeat left from a beat an earlier test ran (on Redis it outlives the process)."""
    if env.get("REDIS_URL"):
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).delete(beat.REDIS_KEY)


@pytest.fixture
def fresh_env(server_env, tmp_path):
    """The test database, with a var folder (embedded broker, beat's heartbeat, development vault key) of its own."""
    env = {**server_env, "OPENINTENT_VAR_DIR": str(tmp_path / "var")}
    forget_beat(env)
    return env


def test_a_healthy_deployment_passes_with_a_worker_and_beat_running(fresh_env, transactional_db, tmp_path):
    beat_log = (tmp_path / "beat.log").open("w")
    beat_process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "openintent_site", "beat", "--loglevel=WARNING"],
        cwd=ROOT,
        env=fresh_env,
        stdout=beat_log,
        stderr=subprocess.STDOUT,
    )
    try:
        with running_celery_worker(fresh_env) as worker:
            done = wait_for(lambda: (report := doctor(fresh_env)).returncode == 0 and report, timeout=90)
            assert worker.poll() is None
        assert beat_process.poll() is None, (tmp_path / "beat.log").read_text()
    finally:
        beat_process.terminate()
        beat_process.wait(timeout=15)
    assert done, doctor(fresh_env).stderr
    assert done.stderr == ""
    report = lines_of(done.stdout, "ok")
    assert set(report) >= {"database", "migrations", "configuration", "vault keys", "credentials", "worker", "beat"}
    assert report["worker"].startswith("1 Celery worker(s) answered: celery@")
    assert report["beat"].startswith("Celery beat ticked ")
    assert done.stdout.splitlines()[-1] == "Everything checked is working."


def test_no_worker_and_no_beat_are_named(fresh_env, transactional_db):
    done = doctor(fresh_env)

    assert done.returncode == 1
    problems = lines_of(done.stderr, "PROBLEM")
    assert set(problems) == {"worker", "beat"}
    assert problems["worker"].startswith("No Celery worker answered on ")
    assert problems["beat"].startswith("Celery beat has never recorded a heartbeat on ")
    assert "`manage.py sweep` runs the jobs once meanwhile" in problems["beat"]
    assert done.stderr.splitlines()[-1] == "CommandError: 2 problem(s) found: worker, beat."
    assert set(lines_of(done.stdout, "ok")) >= {"database", "migrations", "vault keys", "credentials"}


def test_a_beat_that_stopped_ticking_is_named(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    beat.record_heartbeat(time.time() - 600)
    err = StringIO()
    try:
        with pytest.raises(CommandError):
            call_command("doctor", stdout=StringIO(), stderr=err)
    finally:
        forget_beat({"REDIS_URL": django_settings.REDIS_URL})

    message = lines_of(err.getvalue(), "PROBLEM")["beat"]
    assert message.startswith("Celery beat's last heartbeat is 6")
    assert " s old: the periodic jobs " in message


def test_an_unreachable_postgresql_database_is_named_within_seconds(server_env):
    # A connect_timeout of the URL's own is overridden, not passed twice.
    url = "postgresql://postgres:hunter2@127.0.0.1:1/nowhere?connect_timeout=30"
    done = doctor({**server_env, "DATABASE_URL": url})

    assert done.returncode == 1
    problem = lines_of(done.stderr, "PROBLEM")["database"]
    assert problem.startswith("Cannot reach the PostgreSQL database 127.0.0.1:1/nowhere (DATABASE_URL): ")
    assert "refused" in problem
    assert "hunter2" not in done.stdout + done.stderr
    assert lines_of(done.stdout, "skipped")["migrations"] == "not checked: the database is unreachable"


def sqlite_env(server_env, path):
    env = {key: value for key, value in server_env.items() if key != "DATABASE_URL"}
    return {**env, "SQLITE_PATH": str(path)}


def test_a_missing_sqlite_database_is_named_and_not_created(server_env, tmp_path):
    path = tmp_path / "nothing-here.sqlite3"

    done = doctor(sqlite_env(server_env, path))

    assert done.returncode == 1
    assert lines_of(done.stderr, "PROBLEM")["database"] == (
        f"No SQLite database at {path}: run `manage.py migrate` to create it."
    )
    assert not path.exists()


def test_pending_migrations_are_named(server_env, tmp_path):
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()

    done = doctor(sqlite_env(server_env, path))

    assert done.returncode == 1
    problem = lines_of(done.stderr, "PROBLEM")["migrations"]
    assert "migration(s) not applied (contenttypes.0001_initial, " in problem
    assert problem.endswith("more): run `manage.py migrate`.")


def test_no_vault_key_outside_development_is_named(server_env):
    env = {
        **server_env,
        "OPENINTENT_DEV": "0",
        "DJANGO_SECRET_KEY": "a-production-secret-key-of-some-length-0123456789",
        "OPENINTENT_VAULT_KEYS": "",
        "OPENINTENT_VAULT_KEY_FILE": "",
    }

    done = doctor(env)

    assert done.returncode == 1
    assert lines_of(done.stderr, "PROBLEM")["configuration"].startswith("agents.E001: No vault key: set ")
    assert lines_of(done.stdout, "skipped")["vault keys"].startswith("not checked further")


def test_credentials_sealed_under_a_key_no_longer_configured_are_named(api, settings):
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.OPENINTENT_VAULT_KEYS = [old]
    new_credential(api, new_vault(api)["id"], "sk_live_doctor")

    def run_doctor():
        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError):  # no worker runs here
            call_command("doctor", stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    settings.OPENINTENT_VAULT_KEYS = [new]
    _, err = run_doctor()
    assert lines_of(err, "PROBLEM")["credentials"].startswith(
        "1 credential(s) are sealed under a key that is not configured, so they cannot be used"
    )

    settings.OPENINTENT_VAULT_KEYS = [new, old]
    out, err = run_doctor()
    assert "credentials" not in lines_of(err, "PROBLEM")
    assert lines_of(out, "ok")["credentials"] == (
        "1 sealed credential(s) open with the configured keys; 1 still under an older key "
        "(`manage.py rotatevaultkey` re-seals them)"
    )


def test_an_unreachable_redis_is_named_and_the_celery_checks_wait_for_it(server_env):
    done = doctor({**server_env, "REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"})

    assert done.returncode == 1
    problems = lines_of(done.stderr, "PROBLEM")
    assert problems["redis"].startswith("Cannot reach Redis at redis://:***@127.0.0.1:1/0 (REDIS_URL): ")
    assert "hunter2" not in done.stdout + done.stderr
    assert lines_of(done.stdout, "skipped") == {
        "worker": "not checked: Redis is unreachable",
        "beat": "not checked: Redis is unreachable",
    }


def test_on_postgresql_the_server_version_is_reported(server_env):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's")
    done = doctor(server_env)

    assert lines_of(done.stdout, "ok")["database"].startswith("PostgreSQL ")


def test_a_check_that_breaks_is_reported_as_a_problem_and_the_others_still_run(db, monkeypatch):
    def broken(database_ok):
        raise RuntimeError("no such thing")

    monkeypatch.setitem(checks._APP_CHECKS, "gadgets", broken)
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="gadgets"):
        call_command("doctor", stdout=out, stderr=err)

    assert lines_of(err.getvalue(), "PROBLEM")["gadgets"] == "the check itself failed: RuntimeError: no such thing"
    assert {"database", "vault keys", "credentials"} <= set(lines_of(out.getvalue(), "ok"))
