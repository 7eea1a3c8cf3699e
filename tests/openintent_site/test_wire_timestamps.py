"""Every timestamp the server writes carries its UTC offset: REST bodies, event payloads, webhook bodies, streams."""

import json
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from intents import tasks
from intents.models import WebhookDelivery
from tests.conftest import event_log, new_intent

WIRE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")
# Anything that starts like a date and a time of day is a timestamp, however the rest of it is written.
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
RESEARCH = {"X-API-Key": "agent-research-key"}


def timestamps(document, path=()):
    """Every (path, text) in a JSON document whose text reads as a timestamp."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from timestamps(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from timestamps(value, (*path, index))
    elif isinstance(document, str) and LOOKS_LIKE_TIME.match(document):
        yield path, document


def assert_wire_times(documents):
    """Every timestamp in ``documents`` is in the wire format; returns the field names that held one."""
    found = list(timestamps(documents))
    wrong = [(path, text) for path, text in found if not WIRE_TIME.match(text)]
    assert not wrong, wrong
    return {path[-1] for path, _ in found}


def ok(response):
    assert response.status_code == 200, response.content
    return response.json()


def versioned_write(client, url, path, body):
    version = client.get(url).json()["version"]
    return ok(client.post(f"{url}/{path}", body, format="json", HTTP_IF_MATCH=str(version)))


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def queued(monkeypatch):
    """Background tasks are not sent to a broker: this test runs the ones it needs itself."""
    monkeypatch.setattr(current_app, "send_task", lambda *args, **kwargs: None)


def test_every_rest_body_and_event_payload_writes_utc_with_its_offset(api, other_api, person_api, media, queued):
    intent = new_intent(api, title="Timed")
    url = f"/api/v1/intents/{intent['id']}"
    soon = (timezone.now() + timedelta(hours=1)).isoformat()
    bodies = [intent]

    bodies.append(versioned_write(api, url, "state", {"patches": [{"op": "set", "path": "phase", "value": "a"}]}))
    bodies.append(ok(api.post(f"{url}/agents", {"agent_id": "agent-synth"}, format="json")))
    lease = ok(api.post(f"{url}/leases", {"scope": "analysis", "duration_seconds": 60}, format="json"))
    bodies.append(lease)
    bodies.append(ok(api.patch(f"{url}/leases/{lease['id']}", {"duration_seconds": 120}, format="json")))
    api.delete(f"{url}/leases/{lease['id']}")
    bodies.append(ok(api.get(f"{url}/leases", {"include": "all"})))
    bodies.append(ok(api.post(f"{url}/events", {"event_type": "note", "payload": {"n": 1}}, format="json")))
    bodies.append(ok(api.post(f"{url}/costs", {"cost_type": "api_call", "amount": 1, "unit": "USD"}, format="json")))
    bodies.append(ok(api.get(f"{url}/costs")))
    policy = {"strategy": "exponential", "base_delay_ms": 100, "max_delay_ms": 250, "jitter": False}
    bodies.append(ok(api.put(f"{url}/retry-policy", policy, format="json")))
    bodies.append(ok(other_api.post(f"{url}/failures", {"error_code": "TIMEOUT"}, format="json")))
    bodies.append(ok(api.get(f"{url}/failures")))
    upload = {"file": SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")}
    bodies.append(ok(api.post(f"{url}/attachments", upload, format="multipart")))
    bodies.append(ok(api.get(f"{url}/attachments")))
    portfolio = ok(api.post("/api/v1/portfolios", {"name": "Timed work"}, format="json"))
    bodies.append(portfolio)
    bodies.append(
        ok(api.post(f"/api/v1/portfolios/{portfolio['id']}/intents", {"intent_id": intent["id"]}, format="json"))
    )
    bodies.append(ok(api.get(f"/api/v1/portfolios/{portfolio['id']}")))
    bodies.append(ok(api.get(f"/api/v1/portfolios/{portfolio['id']}/intents")))
    subscription = {"webhook_url": "https://hooks.example.com/in", "intent_id": intent["id"], "expires_at": soon}
    bodies.append(ok(api.post("/api/v1/subscriptions", subscription, format="json")))
    bodies.append(ok(api.get("/api/v1/subscriptions")))
    arbitration = ok(api.post(f"{url}/arbitrate", {"reason": "tie"}, format="json"))
    bodies.append(arbitration)
    settle = {"decision_type": "arbitration", "outcome": "a", "arbitration_id": arbitration["id"]}
    bodies.append(ok(person_api.post(f"{url}/decisions", settle, format="json")))
    bodies.append(ok(api.get(f"{url}/arbitrations")))
    bodies.append(ok(api.get(f"{url}/decisions")))
    grant = {"principal_id": "agent-other", "permission": "read", "expires_at": soon}
    bodies.append(ok(api.post(f"{url}/acl/entries", grant, format="json")))
    bodies.append(ok(api.put(f"{url}/acl", {"default_policy": "closed"}, format="json")))
    asked = ok(other_api.post(f"{url}/access-requests", {"requested_permission": "write"}, format="json"))
    bodies.append(asked)
    bodies.append(ok(api.post(f"{url}/access-requests/{asked['id']}/approve", {"reason": "ok"}, format="json")))
    bodies.append(ok(api.get(f"{url}/acl")))
    bodies.append(ok(api.get(url)))
    bodies.append(ok(api.get("/api/v1/intents")))
    events = event_log(api, intent["id"])
    bodies.append(events)

    fields = assert_wire_times(bodies)
    # What the walk must have met, so that it cannot pass by finding nothing.
    assert {
        "acquired_at",
        "addedAt",
        "added_at",
        "assigned_at",
        "createdAt",
        "created_at",
        "decided_at",
        "expiresAt",
        "expires_at",
        "granted_at",
        "occurredAt",
        "occurred_at",
        "recordedAt",
        "recorded_at",
        "released_at",
        "retryScheduledAt",
        "retry_scheduled_at",
        "updatedAt",
        "updated_at",
    } <= fields, fields
    assert {"expires_at", "retry_scheduled_at"} <= assert_wire_times([event["payload"] for event in events])


@pytest.fixture
def received():
    """A local webhook endpoint: its URL, and the bodies POSTed to it."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    server.shutdown()
    server.server_close()


def test_a_webhook_body_writes_utc_with_its_offset(api, django_capture_on_commit_callbacks, queued, received):
    webhook_url, bodies = received
    intent = new_intent(api, title="Watched")
    subscription = {"webhook_url": webhook_url, "intent_id": intent["id"], "event_types": ["lease_acquired"]}
    ok(api.post("/api/v1/subscriptions", subscription, format="json"))
    with django_capture_on_commit_callbacks(execute=True):
        ok(api.post(f"/api/v1/intents/{intent['id']}/leases", {"scope": "s"}, format="json"))
    [acquired] = [event for event in event_log(api, intent["id"]) if event["event_type"] == "lease_acquired"]
    tasks.fan_out(acquired["id"])  # what the worker does with the task the write queued
    delivery = WebhookDelivery.objects.get(subscription__webhook_url=webhook_url)

    assert tasks.deliver_webhook(delivery.pk) == "delivered"
    [body] = bodies
    event = json.loads(body)["event"]
    assert WIRE_TIME.match(event["created_at"]), event
    assert WIRE_TIME.match(event["payload"]["expires_at"]), event


def test_stream_event_data_writes_utc_with_its_offset(live_server_url):
    base = f"{live_server_url}/api/v1"

    def call(method, path, **kwargs):
        response = httpx.request(method, f"{base}{path}", headers=RESEARCH, timeout=10, **kwargs)
        assert response.status_code == 200, response.text
        return response.json() if response.content else None

    intent = call("POST", "/intents", json={"title": "Streamed"})
    lease = call("POST", f"/intents/{intent['id']}/leases", json={"scope": "s"})
    call("DELETE", f"/intents/{intent['id']}/leases/{lease['id']}")
    call("POST", f"/intents/{intent['id']}/events", json={"event_type": "note", "payload": {"n": 1}})
    log = call("GET", f"/intents/{intent['id']}/events")
    created = next(event for event in log if event["event_type"] == "intent_created")

    # Resuming after the first event replays the rest of the log as the stream writes it.
    frames = []
    headers = {**RESEARCH, "Accept": "text/event-stream", "Last-Event-ID": str(created["id"])}
    deadline = time.monotonic() + 10  # keep-alive comments would otherwise wait forever for a missing frame
    with httpx.stream("GET", f"{base}/intents/{intent['id']}/subscribe", headers=headers, timeout=10) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data:"):
                frames.append(json.loads(line[len("data:") :]))
            if len(frames) == len(log) - 1 or time.monotonic() > deadline:
                break
    assert len(frames) == len(log) - 1, frames

    assert {frame["event_type"] for frame in frames} >= {"lease_acquired", "lease_released", "note"}
    assert_wire_times(frames)
    assert all(WIRE_TIME.match(frame["created_at"]) for frame in frames), frames
    acquired = next(frame for frame in frames if frame["event_type"] == "lease_acquired")
    assert acquired["payload"]["expires_at"] == lease["expires_at"] and WIRE_TIME.match(lease["expires_at"])
