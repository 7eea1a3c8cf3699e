"""Expired memory entries removed by the periodic job as deployed: Celery beat sending it and a real worker
process running it, on the broker the deployment uses."""

import subprocess
import sys

import httpx
from django.utils import timezone

from agents.models import MemoryEntry, MemoryEvent
from tests.conftest import ROOT, wait_for


def test_beat_and_a_worker_remove_an_expired_entry(live_server_url, server_env, tmp_path):
    headers = {"X-API-Key": "agent-research-key"}
    body = {"namespace": "n", "key": "k", "value": {}, "ttl": "duration:PT1H"}
    doomed = httpx.post(f"{live_server_url}/api/v1/memory", json=body, headers=headers).json()
    kept = httpx.post(f"{live_server_url}/api/v1/memory", json={**body, "key": "kept"}, headers=headers).json()
    MemoryEntry.objects.filter(pk=doomed["id"]).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    # Beat's schedule file in a folder of this test's own; the sweep every half second.
    env = {**server_env, "OPENINTENT_MEMORY_SWEEP_SECONDS": "0.5"}
    command = [sys.executable, "-m", "celery", "-A", "openintent_site", "worker", "--beat", "--pool=solo"]
    command += ["--loglevel=WARNING", f"--schedule={tmp_path / 'celerybeat-schedule'}"]
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        removed = wait_for(lambda: not MemoryEntry.objects.filter(pk=doomed["id"]).exists())
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()

    assert removed, "the expired entry was not removed within 60 s"
    assert MemoryEvent.objects.filter(entry_id=doomed["id"], event_type="memory.expired").exists()
    assert MemoryEntry.objects.filter(pk=kept["id"]).exists()
