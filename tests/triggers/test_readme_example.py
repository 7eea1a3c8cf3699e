"""The README's trigger example runs as written against a live server with a Celery worker and beat: the schedule
triggers (one fired by beat), the webhook trigger, and the signed curl call that fires it."""

import json
import re
import subprocess
import sys

import httpx

from tests.conftest import ROOT, running_celery_worker

from .helpers import running_beat

INTRO = "A schedule trigger and a webhook trigger end to end"


def readme_blocks():
    text = (ROOT / "README.md").read_text()
    after = text[text.index(INTRO) :]
    python = re.search(r"```python\n(.*?)```", after, re.S).group(1)
    shell = re.search(r"```sh\n(.*?)```", after, re.S).group(1)
    return python, shell


def test_the_readme_trigger_example_runs(live_server_url, server_env, tmp_path):
    python, shell = readme_blocks()
    env = {**server_env, "OPENINTENT_TRIGGER_TICK_SECONDS": "0.5"}

    with running_beat(env, tmp_path / "beat"), running_celery_worker(env):
        result = subprocess.run(
            [sys.executable, "-c", python.replace("http://localhost:8000", live_server_url)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True", "schedule False", "/webhooks/hooks/payments False"]

    called = subprocess.run(
        ["bash", "-c", shell.replace("http://localhost:8000", live_server_url)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert called.returncode == 0, called.stderr
    answer = json.loads(called.stdout)
    api = httpx.Client(base_url=f"{live_server_url}/api/v1", headers={"X-API-Key": "dev-user-key"})
    intent = api.get(f"/intents/{answer['intent_id']}").json()
    assert intent["title"] == "Payment pi_42"
    assert intent["state"] == {"amount": 5000, "customer": "cus_7"}
    history = api.get(f"/triggers/{answer['trigger_id']}/history").json()
    assert [(entry["source"], entry["outcome"]) for entry in history] == [("webhook", "fired")]
