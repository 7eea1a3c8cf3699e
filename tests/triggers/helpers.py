"""What the trigger tests share: creating triggers through the API, signing webhook calls as a sender does, and
running the jobs a committed write queues in the test process, as a worker would."""

import hashlib
import hmac
import json
import subprocess
import sys
import time
from contextlib import contextmanager

from celery import current_app

from tests.conftest import ROOT

TRIGGERS = "/api/v1/triggers"
SECRET = "whsec_test_0123456789abcdef"


def create(client, **fields):
    fields.setdefault("name", "A trigger")
    response = client.post(TRIGGERS, fields, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def schedule_trigger(client, cron="0 9 * * *", template=None, **fields):
    condition = fields.pop("condition", {"cron": cron, "timezone": "UTC"})
    template = template or {"type": "report.daily", "title": "Daily report {{ date }}"}
    return create(client, type="schedule", condition=condition, intent_template=template, **fields)


def webhook_trigger(client, path="/hooks/payments", template=None, **fields):
    condition = {"path": path, "method": "POST", "secret": SECRET, **fields.pop("condition", {})}
    template = template or {
        "type": "billing.payment",
        "title": "Payment of {{ body.amount }} from {{ body.customer }}",
        "context": {"amount": "{{ body.amount }}", "customer": "{{ body.customer }}"},
    }
    return create(client, type="webhook", condition=condition, intent_template=template, **fields)


def signed_headers(raw, secret=SECRET, timestamp=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {"X-OpenIntent-Timestamp": timestamp, "X-OpenIntent-Signature": f"sha256={digest}"}


def call_webhook(client, path, payload, secret=SECRET, timestamp=None, headers=None, method="post"):
    raw = json.dumps(payload).encode()
    headers = {**signed_headers(raw, secret, timestamp), **(headers or {})}
    return getattr(client, method)(f"/webhooks{path}", raw, content_type="application/json", headers=headers)


def fire(client, trigger_id, payload=None):
    return client.post(f"{TRIGGERS}/{trigger_id}/fire", payload, format="json")


def intents_of(client, trigger_id):
    response = client.get("/api/v1/intents", {"trigger_id": trigger_id, "limit": 200})
    assert response.status_code == 200, response.content
    return response.json()["intents"]


@contextmanager
def worker_inline(capture):
    """Run what committed writes queue (event trigger fires, released queues) in this process, as a worker would,
    once the block's writes have committed."""
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        with capture(execute=True):
            yield
    finally:
        current_app.conf.task_always_eager = eager


@contextmanager
def running_beat(env, schedule_file):
    """A Celery beat process of its own (its own schedule file), stopped on exit."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "openintent_site",
            "beat",
            "--loglevel=WARNING",
            "-s",
            str(schedule_file),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
