"""Celery beat starts and keeps sending its periodic jobs on the production set-up, from a fresh checkout."""

import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import ROOT, wait_for


@pytest.mark.postgres
def test_beat_runs_with_database_url_and_redis_and_a_var_dir_that_does_not_exist_yet(server_env, tmp_path):
    # On SQLite or the filesystem broker, something else made the var folder before beat looked for it; with
    # DATABASE_URL and REDIS_URL both set nothing did, and beat died opening its schedule file there.
    if connection.vendor != "postgresql" or not server_env.get("REDIS_URL"):
        pytest.skip("the production set-up: DATABASE_URL (PostgreSQL) and REDIS_URL")
    var_dir = tmp_path / "fresh" / "var"
    env = {
        **server_env,
        "OPENINTENT_VAR_DIR": str(var_dir),
        # Sweeps every half second, so that beat shows it keeps sending jobs within a few seconds.
        "OPENINTENT_LEASE_SWEEP_SECONDS": "0.5",
    }
    log_path = tmp_path / "beat.log"
    with log_path.open("w") as log:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "openintent_site", "beat", "--loglevel=INFO"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def sent_twice_or_exited():
            return beat.poll() is not None or log_path.read_text().count("Sending due task expire-leases") >= 2

        assert wait_for(sent_twice_or_exited, timeout=60), "beat sent no job within 60 s:\n" + log_path.read_text()
        assert beat.poll() is None, f"beat exited with status {beat.returncode}:\n{log_path.read_text()}"
    finally:
        beat.terminate()
        try:
            beat.wait(timeout=15)
        except subprocess.TimeoutExpired:
            beat.kill()
            beat.wait()
