"""Webhook subscriptions (RFC-0006): the subscription routes, which events are delivered where, signed delivery
to a real HTTP receiver, retries with backoff, and a delivery carried out by a real Celery worker."""

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from celery import current_app
from django.utils import timezone

from intents import tasks
from intents.models import Subscription, WebhookDelivery
from intents.subscriptions.delivery import FAN_OUT_GRACE
from intents.subscriptions.models import PendingFanOut
from tests.conftest import running_celery_worker, wait_for

SUBSCRIPTIONS = "/api/v1/subscriptions"
MISSING = "00000000-0000-4000-8000-000000000000"


class Receiver:
    """A local HTTP endpoint that records each request and answers with the next status of ``statuses``."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": raw})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def sent(monkeypatch):
    """The deliver_webhook tasks queued, as (delivery id, countdown), instead of sending them to the broker."""
    queued = []
    monkeypatch.setattr(
        current_app,
        "send_task",
        lambda name, args, kwargs=None, countdown=0, **options: queued.append((name, args[0], countdown)),
    )
    return queued


def verify(request, secret):
    """What a receiver does: recompute the signature over "<timestamp>.<raw body>" and compare in constant time."""
    headers = {key.lower(): value for key, value in request["headers"].items()}
    timestamp = headers["x-openintent-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256).hexdigest()
    assert abs(time.time() - int(timestamp)) < 300
    return hmac.compare_digest(headers["x-openintent-signature"], f"sha256={expected}")


def make_intent(client, title="Watched"):
    response = client.post("/api/v1/intents", {"title": title, "status": "active"}, format="json")
    assert response.status_code == 200
    return response.json()


def subscribe(client, **fields):
    response = client.post(SUBSCRIPTIONS, fields, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def post_event(client, intent, event_type="note", capture=None, **payload):
    """Post an event, then run its fan-out task as the worker would (the request only queues it)."""
    with capture(execute=True):
        response = client.post(
            f"/api/v1/intents/{intent['id']}/events", {"event_type": event_type, "payload": payload}, format="json"
        )
    assert response.status_code == 200
    event = response.json()
    tasks.fan_out(event["id"])
    return event


# The routes --------------------------------------------------------------------------------------------------


def test_create_returns_the_subscription_and_its_secret_once(api, receiver):
    intent = make_intent(api)
    body = subscribe(
        api,
        intent_id=intent["id"],
        subscriber_id="my-agent",
        event_types=["state_patched", "status_changed", "state_patched"],
        webhook_url=receiver.url,
        expires_at=(timezone.now() + timedelta(hours=1)).replace(tzinfo=None).isoformat(),
    )
    assert body["intent_id"] == intent["id"] and body["portfolio_id"] is None
    assert body["subscriber_id"] == "my-agent"
    assert body["event_types"] == ["state_patched", "status_changed"]
    assert body["webhook_url"] == receiver.url
    assert body["active"] is True
    assert body["expiresAt"] == body["expires_at"] is not None
    assert body["createdAt"] == body["created_at"]
    assert len(body["secret"]) == 64
    assert Subscription.objects.get(pk=body["id"]).created_by == "agent-research"

    shown = api.get(f"{SUBSCRIPTIONS}/{body['id']}").json()
    assert "secret" not in shown
    assert shown == {key: value for key, value in body.items() if key != "secret"}
    assert "secret" not in api.get(SUBSCRIPTIONS).json()["subscriptions"][0]


def test_create_accepts_what_the_091_client_sends(api, receiver):
    body = subscribe(
        api,
        intent_id=None,
        portfolio_id=None,
        subscriber_id="agent-x",
        event_types=[],
        webhook_url=receiver.url,
        expires_at=None,
    )
    assert (body["intent_id"], body["portfolio_id"], body["event_types"], body["expires_at"]) == (None, None, [], None)


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({}, ["body", "webhook_url"]),
        ({"webhook_url": None}, ["body", "webhook_url"]),
        ({"webhook_url": "not a url"}, ["body", "webhook_url"]),
        ({"webhook_url": "ftp://files.example.com/drop"}, ["body", "webhook_url"]),
        ({"webhook_url": "https://h.example.com:99999/in"}, ["body", "webhook_url"]),
        ({"webhook_url": "https://h.example.com:0/in"}, ["body", "webhook_url"]),
        ({"webhook_url": "https://h.example.com", "event_types": "status_changed"}, ["body", "event_types"]),
        ({"webhook_url": "https://h.example.com", "event_types": [""]}, ["body", "event_types", 0]),
        ({"webhook_url": "https://h.example.com", "expires_at": "soon"}, ["body", "expires_at"]),
        ({"webhook_url": "https://h.example.com", "expires_at": "2001-01-01T00:00:00"}, ["body", "expires_at"]),
        ({"webhook_url": "https://h.example.com", "intent_id": MISSING, "portfolio_id": MISSING}, None),
    ],
)
def test_create_rejects_bad_input_naming_the_field(api, payload, loc):
    response = api.post(SUBSCRIPTIONS, payload, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == (loc or ["body", "portfolio_id"])
    assert not Subscription.objects.exists()


def test_the_scope_must_exist_and_be_readable(api, other_api):
    url = "https://hooks.example.com/in"
    unknown = api.post(SUBSCRIPTIONS, {"webhook_url": url, "intent_id": MISSING}, format="json")
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Intent not found"
    theirs = other_api.post("/api/v1/portfolios", {"name": "Theirs"}, format="json").json()
    refused = api.post(SUBSCRIPTIONS, {"webhook_url": url, "portfolio_id": theirs["id"]}, format="json")
    assert refused.status_code == 404 and refused.json()["detail"] == "Portfolio not found"

    closed = make_intent(other_api)
    other_api.put(f"/api/v1/intents/{closed['id']}/acl", {"default_policy": "closed"}, format="json")
    forbidden = api.post(SUBSCRIPTIONS, {"webhook_url": url, "intent_id": closed["id"]}, format="json")
    assert forbidden.status_code == 403
    assert not Subscription.objects.exists()


def test_list_filters_get_and_delete(api, other_api, anonymous_api, receiver):
    intent = make_intent(api)
    portfolio = api.post("/api/v1/portfolios", {"name": "P"}, format="json").json()
    on_intent = subscribe(api, webhook_url=receiver.url, intent_id=intent["id"])
    on_portfolio = subscribe(api, webhook_url=receiver.url, portfolio_id=portfolio["id"])
    everything = subscribe(api, webhook_url=receiver.url)
    subscribe(other_api, webhook_url=receiver.url, intent_id=intent["id"])

    def listed(**params):
        return [item["id"] for item in api.get(SUBSCRIPTIONS, params).json()["subscriptions"]]

    assert listed() == [on_intent["id"], on_portfolio["id"], everything["id"]]
    assert listed(intent_id=intent["id"]) == [on_intent["id"]]
    assert listed(portfolio_id=portfolio["id"]) == [on_portfolio["id"]]
    assert listed(intent_id="not-a-uuid") == []
    assert anonymous_api.get(SUBSCRIPTIONS).status_code == 401

    assert other_api.get(f"{SUBSCRIPTIONS}/{on_intent['id']}").status_code == 404
    assert other_api.delete(f"{SUBSCRIPTIONS}/{on_intent['id']}").status_code == 404
    deleted = api.delete(f"{SUBSCRIPTIONS}/{on_intent['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    missing = api.get(f"{SUBSCRIPTIONS}/{on_intent['id']}")
    assert missing.status_code == 404 and missing.json()["detail"] == "Subscription not found"
    assert api.delete(f"{SUBSCRIPTIONS}/not-a-uuid").status_code == 404
    assert listed() == [on_portfolio["id"], everything["id"]]


# Which events go where ---------------------------------------------------------------------------------------


def test_deliveries_follow_scope_event_types_and_expiry(api, receiver, sent, django_capture_on_commit_callbacks):
    watched, member, elsewhere = make_intent(api, "Watched"), make_intent(api, "Member"), make_intent(api, "Other")
    portfolio = api.post("/api/v1/portfolios", {"name": "P"}, format="json").json()
    api.post(f"/api/v1/portfolios/{portfolio['id']}/intents", {"intent_id": member["id"]}, format="json")
    on_intent = subscribe(api, webhook_url=receiver.url, intent_id=watched["id"], event_types=["note"])
    on_portfolio = subscribe(api, webhook_url=receiver.url, portfolio_id=portfolio["id"])
    everything = subscribe(api, webhook_url=receiver.url, event_types=["note"])
    expired = subscribe(api, webhook_url=receiver.url, expires_at=(timezone.now() + timedelta(hours=1)).isoformat())
    Subscription.objects.filter(pk=expired["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    inactive = subscribe(api, webhook_url=receiver.url)
    Subscription.objects.filter(pk=inactive["id"]).update(active=False)

    def targets(intent, event_type="note"):
        event = post_event(api, intent, event_type, capture=django_capture_on_commit_callbacks)
        deliveries = WebhookDelivery.objects.filter(event_id=event["id"])
        return {str(delivery.subscription_id) for delivery in deliveries}

    assert targets(watched) == {on_intent["id"], everything["id"]}
    assert targets(watched, "comment") == set()
    assert targets(member, "comment") == {on_portfolio["id"]}
    assert targets(member) == {on_portfolio["id"], everything["id"]}
    assert targets(elsewhere) == {everything["id"]}
    queued = [pk for name, pk, countdown in sent if name == "intents.tasks.deliver_webhook"]
    assert sorted(queued) == sorted(WebhookDelivery.objects.values_list("pk", flat=True))
    assert receiver.requests == []  # nothing is POSTed until the worker runs the task


def test_events_on_intents_the_subscriber_cannot_read_are_not_delivered(
    api, other_api, receiver, sent, django_capture_on_commit_callbacks
):
    everything = subscribe(other_api, webhook_url=receiver.url)
    secret_intent = make_intent(api, "Secret")
    with django_capture_on_commit_callbacks(execute=True):
        api.put(f"/api/v1/intents/{secret_intent['id']}/acl", {"default_policy": "closed"}, format="json")
    before = WebhookDelivery.objects.count()
    post_event(api, secret_intent, capture=django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == before
    open_intent = make_intent(api, "Open")
    event = post_event(api, open_intent, capture=django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.get(event_id=event["id"]).subscription_id.hex == everything["id"].replace("-", "")


# Delivering --------------------------------------------------------------------------------------------------


def test_a_delivery_is_posted_with_a_valid_signature(api, receiver, sent, django_capture_on_commit_callbacks):
    intent = make_intent(api)
    subscription = subscribe(api, webhook_url=receiver.url, intent_id=intent["id"], event_types=["note"])
    event = post_event(api, intent, capture=django_capture_on_commit_callbacks, text="hello")
    delivery = WebhookDelivery.objects.get(event_id=event["id"])

    assert tasks.deliver_webhook(delivery.pk) == "delivered"
    [request] = receiver.requests
    assert verify(request, subscription["secret"])
    assert not verify(request, "another secret")
    assert request["headers"]["X-OpenIntent-Event"] == "note"
    assert request["headers"]["X-OpenIntent-Delivery"] == str(delivery.pk)
    assert request["headers"]["Content-Type"] == "application/json"
    document = json.loads(request["body"])
    assert document["subscription_id"] == subscription["id"]
    assert document["delivery_id"] == delivery.pk
    assert document["event"] == event
    assert document["event"]["payload"] == {"text": "hello"}

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert tasks.deliver_webhook(delivery.pk) is None  # a repeated task does not post again
    assert len(receiver.requests) == 1


def test_a_failed_attempt_is_retried_with_exponential_backoff_then_delivered(
    api, sent, settings, django_capture_on_commit_callbacks
):
    settings.OPENINTENT_WEBHOOK_BACKOFF_SECONDS = 4
    flaky = Receiver(statuses=[500, 503])
    try:
        intent = make_intent(api)
        subscription = subscribe(api, webhook_url=flaky.url, intent_id=intent["id"])
        event = post_event(api, intent, capture=django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get(event_id=event["id"])
        sent.clear()

        assert tasks.deliver_webhook(delivery.pk) == "pending"
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.last_status_code) == (1, 500)
        assert delivery.last_error.startswith("HTTP 500")
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=3)
        assert sent == [("intents.tasks.deliver_webhook", delivery.pk, 4)]
        assert tasks.deliver_webhook(delivery.pk) is None  # not due yet: nothing is posted
        assert len(flaky.requests) == 1

        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert tasks.deliver_webhook(delivery.pk) == "pending"
        assert sent[-1] == ("intents.tasks.deliver_webhook", delivery.pk, 8)  # doubled

        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert tasks.deliver_webhook(delivery.pk) == "delivered"
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
            "delivered",
            3,
            200,
            "",
        )
        assert all(verify(request, subscription["secret"]) for request in flaky.requests)
        assert len({request["body"] for request in flaky.requests}) == 1  # the same document each time
    finally:
        flaky.close()


def test_delivery_gives_up_after_the_last_attempt(api, sent, settings, django_capture_on_commit_callbacks):
    settings.OPENINTENT_WEBHOOK_BACKOFF_SECONDS = 0
    settings.OPENINTENT_WEBHOOK_MAX_ATTEMPTS = 2
    intent = make_intent(api)
    # Nothing listens on port 9 (discard) here: the connection is refused.
    subscribe(api, webhook_url="http://127.0.0.1:9/hook", intent_id=intent["id"])
    event = post_event(api, intent, capture=django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(event_id=event["id"])

    assert tasks.deliver_webhook(delivery.pk) == "pending"
    assert tasks.deliver_webhook(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 2, None)
    assert "ConnectError" in delivery.last_error
    assert delivery.next_attempt_at is None
    assert tasks.deliver_webhook(delivery.pk) is None


def test_a_subscription_deactivated_before_delivery_fails_its_deliveries(
    api, receiver, sent, django_capture_on_commit_callbacks
):
    intent = make_intent(api)
    subscription = subscribe(api, webhook_url=receiver.url, intent_id=intent["id"])
    event = post_event(api, intent, capture=django_capture_on_commit_callbacks)
    Subscription.objects.filter(pk=subscription["id"]).update(active=False)
    delivery = WebhookDelivery.objects.get(event_id=event["id"])
    assert tasks.deliver_webhook(delivery.pk) == "failed"
    assert receiver.requests == []


def test_the_sweep_queues_due_deliveries_again(api, receiver, sent, django_capture_on_commit_callbacks):
    intent = make_intent(api)
    subscribe(api, webhook_url=receiver.url, intent_id=intent["id"])
    event = post_event(api, intent, capture=django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(event_id=event["id"])
    sent.clear()
    assert tasks.deliver_due_webhooks() == 1
    assert sent == [("intents.tasks.deliver_webhook", delivery.pk, 0)]
    tasks.deliver_webhook(delivery.pk)
    sent.clear()
    assert tasks.deliver_due_webhooks() == 0


def test_a_broken_queue_does_not_fail_the_write_and_the_sweep_fans_out_later(
    api, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    def unreachable(*args, **kwargs):
        raise ConnectionError("broker down")

    intent = make_intent(api)
    subscribe(api, webhook_url=receiver.url, intent_id=intent["id"])
    monkeypatch.setattr(current_app, "send_task", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "note"}, format="json")
    assert response.status_code == 200
    event = response.json()
    assert not WebhookDelivery.objects.filter(event_id=event["id"]).exists()

    # The broker is back; the fan-out task never came. Once it is overdue, the sweep does its work.
    queued = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args, *rest, **options: queued.append((name, args[0])))
    assert tasks.deliver_due_webhooks() == 0
    assert not WebhookDelivery.objects.filter(event_id=event["id"]).exists()  # not overdue yet
    PendingFanOut.objects.update(created_at=timezone.now() - FAN_OUT_GRACE)
    assert tasks.deliver_due_webhooks() == 1
    recorded = WebhookDelivery.objects.get(event_id=event["id"])
    assert recorded.status == "pending"
    assert queued == [("intents.tasks.deliver_webhook", recorded.pk)]
    assert tasks.deliver_webhook(recorded.pk) == "delivered"
    assert len(receiver.requests) == 1
    assert tasks.deliver_due_webhooks() == 0  # fanned out once


# Fan-out off the request path, and its limits --------------------------------------------------------------


def test_the_write_only_queues_the_fan_out_and_the_task_records_the_deliveries(
    api, receiver, sent, django_capture_on_commit_callbacks
):
    def write(intent):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "note"}, format="json")
        assert response.status_code == 200
        return int(response.json()["id"])

    watched, elsewhere = make_intent(api, "Watched"), make_intent(api, "Elsewhere")
    on_intent = subscribe(api, webhook_url=receiver.url, intent_id=watched["id"])
    sent.clear()
    write(elsewhere)
    assert sent == []  # no subscription's scope takes the event in: nothing to queue

    everything = subscribe(api, webhook_url=receiver.url)
    event_id = write(watched)
    # The request answered having queued one task, with no worker running it yet: no delivery exists.
    assert sent == [("intents.tasks.fan_out", event_id, 0)]
    assert not WebhookDelivery.objects.filter(event_id=event_id).exists()

    assert tasks.fan_out(event_id) == 2
    deliveries = WebhookDelivery.objects.filter(event_id=event_id)
    assert {str(row.subscription_id) for row in deliveries} == {on_intent["id"], everything["id"]}
    queued = sorted(pk for name, pk, countdown in sent if name == "intents.tasks.deliver_webhook")
    assert queued == sorted(row.pk for row in deliveries)
    tasks.fan_out(event_id)  # a repeated task records nothing twice
    assert WebhookDelivery.objects.filter(event_id=event_id).count() == 2


def test_a_principal_holds_at_most_the_configured_number_of_live_subscriptions(api, other_api, settings):
    settings.OPENINTENT_MAX_SUBSCRIPTIONS_PER_PRINCIPAL = 2
    url = "https://hooks.example.com/in"
    first, _ = subscribe(api, webhook_url=url), subscribe(api, webhook_url=url)

    refused = api.post(SUBSCRIPTIONS, {"webhook_url": url}, format="json")
    assert refused.status_code == 409
    body = refused.json()
    assert "at most 2 live subscriptions" in body["detail"] and body["max_subscriptions"] == 2
    assert Subscription.objects.filter(created_by="agent-research").count() == 2
    subscribe(other_api, webhook_url=url)  # the limit is per principal

    # Expired or deleted ones no longer count.
    Subscription.objects.filter(pk=first["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    third = subscribe(api, webhook_url=url)
    assert api.post(SUBSCRIPTIONS, {"webhook_url": url}, format="json").status_code == 409
    assert api.delete(f"{SUBSCRIPTIONS}/{third['id']}").status_code == 204
    subscribe(api, webhook_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:8080/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:10.1.2.3]/hook",
        "http://10.1.2.3/hook",
        "http://172.16.5.4/hook",
        "https://192.168.1.20/hook",
        "http://100.64.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/hook",
        "http://[fd12:3456::1]/hook",
        "http://0.0.0.0/hook",
        "http://[::]/hook",
        "http://224.0.0.1/hook",
        "http://[ff02::1]/hook",
        "http://240.0.0.1/hook",
    ],
)
def test_webhook_urls_on_non_public_addresses_are_refused_at_creation(api, settings, url):
    settings.OPENINTENT_WEBHOOKS_ALLOW_PRIVATE = False
    response = api.post(SUBSCRIPTIONS, {"webhook_url": url}, format="json")
    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "webhook_url"]
    assert "public addresses only" in error["msg"]
    assert not Subscription.objects.exists()


def test_public_and_unresolvable_webhook_urls_are_accepted_at_creation(api, settings):
    settings.OPENINTENT_WEBHOOKS_ALLOW_PRIVATE = False
    # An address that is public, and a name that resolves nowhere yet (each delivery checks it again).
    for url in ["http://93.184.215.14/hook", "https://hooks.openintent.invalid/in"]:
        assert api.post(SUBSCRIPTIONS, {"webhook_url": url}, format="json").status_code == 200


class FakeDNS:
    """``socket.getaddrinfo`` for one name, whose answers change from one lookup to the next; the public address
    ``ROUTED`` is routed to a local receiver, and every other host resolves as usual."""

    ROUTED = "93.184.215.14"

    def __init__(self, monkeypatch, name, answers, receiver_port):
        self.name, self.answers, self.receiver_port = name, list(answers), receiver_port
        self.lookups = 0
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        if host == self.name:
            self.lookups += 1
            address, port = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        elif host == self.ROUTED:
            address, port = "127.0.0.1", self.receiver_port
        else:
            return self.real(host, port, family, type, proto, flags)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


def test_a_delivery_to_a_host_now_on_a_private_address_is_not_sent(
    api, receiver, sent, settings, monkeypatch, django_capture_on_commit_callbacks
):
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    intent = make_intent(api)
    local = subscribe(api, webhook_url=receiver.url, intent_id=intent["id"])  # while private addresses were allowed
    dns = FakeDNS(monkeypatch, "hooks.moved.test", [(FakeDNS.ROUTED, port), ("127.0.0.1", port)], port)
    settings.OPENINTENT_WEBHOOKS_ALLOW_PRIVATE = False
    subscribe(api, webhook_url=f"http://hooks.moved.test:{port}/hook", intent_id=intent["id"])
    event = post_event(api, intent, capture=django_capture_on_commit_callbacks)
    # The name now resolves to the loopback, where the receiver listens: no request is sent there.
    moved = WebhookDelivery.objects.get(event_id=event["id"], subscription__webhook_url__contains="moved")
    assert tasks.deliver_webhook(moved.pk) == "pending"
    moved.refresh_from_db()
    assert (moved.attempts, moved.last_status_code) == (1, None)
    assert moved.last_error.startswith("Not sent: The host hooks.moved.test resolves to 127.0.0.1")
    assert "loopback" in moved.last_error
    assert receiver.requests == [] and dns.lookups == 2

    # One made while private addresses were allowed is checked at each delivery too.
    kept = WebhookDelivery.objects.get(event_id=event["id"], subscription_id=local["id"])
    assert tasks.deliver_webhook(kept.pk) == "pending"
    kept.refresh_from_db()
    assert "Not sent: The host 127.0.0.1 is a loopback address" in kept.last_error
    assert receiver.requests == []


def test_a_delivery_connects_to_the_address_it_checked(
    api, receiver, sent, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """DNS rebinding: the name resolves to a public address for the checks, then to a private one. The request
    goes to the address checked (routed here to the receiver), naming the host, and the name is not looked up
    again behind the check's back."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    public, private = (FakeDNS.ROUTED, port), ("10.0.0.7", 9)
    dns = FakeDNS(monkeypatch, "hooks.rebind.test", [public, public, private], port)
    settings.OPENINTENT_WEBHOOKS_ALLOW_PRIVATE = False
    settings.OPENINTENT_WEBHOOK_TIMEOUT_SECONDS = 2
    intent = make_intent(api)
    subscription = subscribe(api, webhook_url=f"http://hooks.rebind.test:{port}/hook", intent_id=intent["id"])
    event = post_event(api, intent, capture=django_capture_on_commit_callbacks)
    pk = WebhookDelivery.objects.get(event_id=event["id"]).pk

    assert tasks.deliver_webhook(pk) == "delivered"
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"hooks.rebind.test:{port}"
    assert verify(request, subscription["secret"])
    assert dns.lookups == 2  # once at creation, once for the delivery's check


# A real worker -----------------------------------------------------------------------------------------------


@pytest.fixture
def webhook_worker(server_env, live_server_url):
    with running_celery_worker({**server_env, "OPENINTENT_WEBHOOK_BACKOFF_SECONDS": "0.2"}) as process:
        yield process


def test_a_worker_retries_a_failed_delivery_and_delivers_it(live_server_url, webhook_worker):
    flaky = Receiver(statuses=[500])
    try:
        headers = {"X-API-Key": "agent-research-key"}
        api = f"{live_server_url}/api/v1"
        intent = httpx.post(f"{api}/intents", json={"title": "Watched"}, headers=headers).json()
        subscription = httpx.post(
            f"{api}/subscriptions",
            json={"intent_id": intent["id"], "event_types": ["state_patched"], "webhook_url": flaky.url},
            headers=headers,
        ).json()
        patched = httpx.post(
            f"{api}/intents/{intent['id']}/state",
            json={"patches": [{"op": "set", "path": "/progress", "value": 1}]},
            headers={**headers, "If-Match": "1"},
        )
        assert patched.status_code == 200

        assert wait_for(lambda: len(flaky.requests) >= 2), webhook_worker.stderr.read1().decode()[-2000:]
        first, second = flaky.requests[:2]
        assert first["body"] == second["body"]
        assert verify(second, subscription["secret"])
        event = json.loads(second["body"])["event"]
        assert (event["intent_id"], event["event_type"]) == (intent["id"], "state_patched")

        def delivered():
            delivery = WebhookDelivery.objects.filter(subscription_id=subscription["id"]).first()
            return delivery if delivery and delivery.status == "delivered" else None

        delivery = wait_for(delivered)
        assert delivery is not None
        assert (delivery.attempts, delivery.last_status_code) == (2, 200)
    finally:
        flaky.close()


def test_admin_lists_subscriptions_and_deliveries_without_the_secret(
    client, django_user_model, api, receiver, sent, django_capture_on_commit_callbacks
):
    client.force_login(django_user_model.objects.create_superuser("staff", "staff@example.test", "pw"))
    intent = make_intent(api)
    subscription = subscribe(api, webhook_url=receiver.url, intent_id=intent["id"], subscriber_id="hook-agent")
    event = post_event(api, intent, capture=django_capture_on_commit_callbacks)
    tasks.deliver_webhook(WebhookDelivery.objects.get(event_id=event["id"]).pk)

    listed = client.get("/admin/intents/subscription/").content.decode()
    assert "hook-agent" in listed and "1 delivered" in listed and "0 failed" in listed
    detail = client.get(f"/admin/intents/subscription/{subscription['id']}/change/").content.decode()
    assert receiver.url in detail
    assert subscription["secret"] not in detail
    deliveries = client.get("/admin/intents/webhookdelivery/?status__exact=delivered").content.decode()
    assert "note" in deliveries and "200" in deliveries
