"""The webhook receiver (RFC-0017 §4) at /webhooks/<path>: no API key, an HMAC-SHA256 signature over the timestamp
and the raw body, 401 and no fire when it does not verify, replays refused, a per-trigger rate limit, 202 with the
created intent's id, or 200 ``{"deduplicated": true}``."""

import json
import time

import pytest
from django.test import Client

from intents.models import Intent
from triggers.models import TriggerFire

from .helpers import SECRET, TRIGGERS, call_webhook, intents_of, signed_headers, webhook_trigger

PAYMENT = {"type": "payment_intent.succeeded", "amount": 5000, "customer": "cus_42"}


@pytest.fixture
def sender():
    """An outside system: no API key."""
    return Client()


def test_a_signed_call_creates_the_intent_and_answers_202(api, sender):
    hook = webhook_trigger(api)

    response = call_webhook(sender, "/hooks/payments", PAYMENT)

    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["trigger_id"] == hook["trigger_id"]
    intent = api.get(f"/api/v1/intents/{answer['intent_id']}").json()
    assert intent["title"] == "Payment of 5000 from cus_42"
    assert intent["state"] == {"amount": 5000, "customer": "cus_42"}
    assert intent["type"] == "billing.payment"
    assert intent["trigger_lineage"]["trigger_type"] == "webhook"
    history = api.get(f"{TRIGGERS}/{hook['trigger_id']}/history").json()
    assert [(entry["source"], entry["outcome"]) for entry in history] == [("webhook", "fired")]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw, headers: (raw + b" ", headers),
        lambda raw, headers: (raw, {**headers, "X-OpenIntent-Signature": "sha256=" + "0" * 64}),
        lambda raw, headers: (raw, {**signed_headers(raw, secret="whsec_another_secret_value")}),
        lambda raw, headers: (raw, {"X-OpenIntent-Timestamp": headers["X-OpenIntent-Timestamp"]}),
        lambda raw, headers: (raw, {}),
        lambda raw, headers: (raw, signed_headers(raw, timestamp=int(time.time()) - 3600)),
        lambda raw, headers: (raw, {**headers, "X-OpenIntent-Timestamp": "yesterday"}),
    ],
)
def test_a_call_whose_signature_does_not_verify_is_401_and_fires_nothing(api, sender, tamper):
    hook = webhook_trigger(api)
    raw = json.dumps(PAYMENT).encode()
    raw, headers = tamper(raw, signed_headers(raw))

    response = sender.post("/webhooks/hooks/payments", raw, content_type="application/json", headers=headers)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert intents_of(api, hook["trigger_id"]) == []
    assert not TriggerFire.objects.exists()


def test_the_same_signed_call_sent_again_is_a_replay_and_fires_nothing(api, sender):
    webhook_trigger(api)
    raw = json.dumps(PAYMENT).encode()
    headers = signed_headers(raw)

    first = sender.post("/webhooks/hooks/payments", raw, content_type="application/json", headers=headers)
    again = sender.post("/webhooks/hooks/payments", raw, content_type="application/json", headers=headers)

    assert first.status_code == 202
    assert again.status_code == 409
    assert "replay" in again.json()["detail"]
    assert Intent.objects.count() == 1


def test_only_the_path_and_method_of_a_trigger_answer(api, sender):
    webhook_trigger(api)

    assert call_webhook(sender, "/hooks/other", PAYMENT).status_code == 404
    assert call_webhook(sender, "/hooks/payments", PAYMENT, method="put").status_code == 404
    wrong_method = sender.get("/webhooks/hooks/payments")
    assert wrong_method.status_code == 405 and wrong_method.json() == {"detail": "Method Not Allowed"}
    assert Intent.objects.count() == 0


def test_a_disabled_trigger_or_one_without_a_secret_fires_nothing(api, sender):
    hook = webhook_trigger(api)
    url = f"{TRIGGERS}/{hook['trigger_id']}"
    api.patch(url, {"enabled": False}, format="json", HTTP_IF_MATCH="1")

    disabled = call_webhook(sender, "/hooks/payments", PAYMENT)
    api.patch(
        url,
        {"enabled": True, "condition": {"path": "/hooks/payments", "secret": None}},
        format="json",
        HTTP_IF_MATCH="2",
    )
    no_secret = call_webhook(sender, "/hooks/payments", PAYMENT)

    assert disabled.status_code == 409 and disabled.json()["detail"] == "Trigger is disabled"
    assert no_secret.status_code == 401
    assert Intent.objects.count() == 0


def test_a_body_without_what_the_template_names_is_422_and_fires_nothing(api, sender):
    webhook_trigger(api)

    response = call_webhook(sender, "/hooks/payments", {"amount": 5})
    not_json = sender.post(
        "/webhooks/hooks/payments", b"{nope", content_type="application/json", headers=signed_headers(b"{nope")
    )

    assert response.status_code == 422
    assert "customer" in response.json()["detail"][0]["msg"]
    assert not_json.status_code == 422
    assert Intent.objects.count() == 0


def test_deduplication_answers_200_deduplicated(api, sender):
    webhook_trigger(api, deduplication="skip")

    first = call_webhook(sender, "/hooks/payments", PAYMENT)
    second = call_webhook(sender, "/hooks/payments", {**PAYMENT, "amount": 7})

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["deduplicated"] is True
    assert Intent.objects.count() == 1


def test_the_transform_puts_values_of_the_call_into_the_intents_state(api, sender):
    webhook_trigger(
        api,
        path="/hooks/stripe",
        template={"type": "billing.payment", "title": "Payment", "context": {"source": "stripe"}},
        condition={"transform": {"amount": "{{ body.data.amount }}", "event": "{{ headers['x-stripe-event'] }}"}},
    )

    response = call_webhook(
        sender, "/hooks/stripe", {"data": {"amount": 12}}, headers={"X-Stripe-Event": "charge.succeeded"}
    )

    assert response.status_code == 202, response.content
    state = api.get(f"/api/v1/intents/{response.json()['intent_id']}").json()["state"]
    assert state == {"source": "stripe", "amount": 12, "event": "charge.succeeded"}


def test_a_trigger_takes_at_most_its_rate_limit_of_calls_a_minute(api, sender):
    webhook_trigger(api, condition={"rate_limit_per_minute": 2})

    answers = [call_webhook(sender, "/hooks/payments", {**PAYMENT, "n": n}).status_code for n in range(3)]

    assert answers == [202, 202, 429]
    assert Intent.objects.count() == 2


def test_the_secret_is_never_in_a_template_or_an_intent(api, sender):
    webhook_trigger(
        api,
        template={"title": "Headers", "context": {"headers": "{{ headers }}"}},
    )

    response = call_webhook(sender, "/hooks/payments", PAYMENT, headers={"Authorization": "Bearer abc"})

    state = api.get(f"/api/v1/intents/{response.json()['intent_id']}").json()["state"]
    assert "x-openintent-signature" not in state["headers"] and "authorization" not in state["headers"]
    assert SECRET not in json.dumps(state)


def test_a_secret_sealed_under_a_key_no_longer_configured_refuses_calls_without_a_500(api, sender, settings):
    from agents.vaults import crypto

    settings.OPENINTENT_VAULT_KEYS = [crypto.generate_key()]
    webhook_trigger(api)
    settings.OPENINTENT_VAULT_KEYS = [crypto.generate_key()]

    response = call_webhook(sender, "/hooks/payments", PAYMENT)

    assert response.status_code == 401
    assert "cannot be opened" in response.json()["detail"]
    assert Intent.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"amount": 1, "customer": "nul\\u0000here"}', b"[" * 500 + b"]" * 500, b'{"amount": NaN, "customer": "c"}'],
)
def test_bodies_the_database_cannot_store_are_422_not_500(api, sender, raw):
    webhook_trigger(api)

    response = sender.post(
        "/webhooks/hooks/payments", raw, content_type="application/json", headers=signed_headers(raw)
    )

    assert response.status_code == 422, response.content
    assert Intent.objects.count() == 0


def test_a_rendered_state_past_the_json_limit_is_422(api, sender, settings):
    settings.OPENINTENT_MAX_JSON_BYTES = 200
    webhook_trigger(api)

    response = call_webhook(sender, "/hooks/payments", {"amount": 1, "customer": "c" * 500})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["intent_template", "context"]
    assert Intent.objects.count() == 0


def test_template_syntax_in_a_call_is_data_never_rendered(api, sender):
    webhook_trigger(api)

    response = call_webhook(sender, "/hooks/payments", {"amount": "{{ 7 * 7 }}", "customer": "{% raw %}x"})

    assert response.status_code == 202
    state = api.get(f"/api/v1/intents/{response.json()['intent_id']}").json()["state"]
    assert state == {"amount": "{{ 7 * 7 }}", "customer": "{% raw %}x"}


def test_rotatevaultkey_reseals_webhook_secrets_so_calls_verify_once_the_old_key_is_gone(api, sender, settings):
    from django.core.management import call_command

    from agents.vaults import crypto
    from triggers.models import Trigger

    old, new = crypto.generate_key(), crypto.generate_key()
    settings.OPENINTENT_VAULT_KEYS = [old]
    hook = webhook_trigger(api)
    settings.OPENINTENT_VAULT_KEYS = [new, old]
    new_id = crypto.newest_key_id()

    call_command("rotatevaultkey")

    assert Trigger.objects.get(pk=hook["trigger_id"]).sealed_secret.startswith(f"v1.{new_id}.")
    settings.OPENINTENT_VAULT_KEYS = [new]
    response = call_webhook(sender, "/hooks/payments", PAYMENT)
    assert response.status_code == 202, response.content
    assert Intent.objects.count() == 1


def test_doctor_names_webhook_secrets_sealed_under_a_key_no_longer_configured(api, settings):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from agents.vaults import crypto

    old, new = crypto.generate_key(), crypto.generate_key()
    settings.OPENINTENT_VAULT_KEYS = [old]
    webhook_trigger(api)
    settings.OPENINTENT_VAULT_KEYS = [new]
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError):
        call_command("doctor", stdout=out, stderr=err)

    [line] = [line for line in err.getvalue().splitlines() if "webhook secrets" in line]
    assert line.split()[:3] == ["PROBLEM", "webhook", "secrets"]
    assert "1 webhook secret(s) are sealed under a key that is not configured, so they cannot be used" in line
