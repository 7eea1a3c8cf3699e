from datetime import datetime, timedelta

import pytest

from intents.models import Failure, RetryPolicy
from intents.tasks import run_retry
from openintent_site.celery import app as celery_app


@pytest.fixture
def intent(api):
    intent = api.post("/api/v1/intents", {"title": "Flaky job"}, format="json").json()
    api.post(f"/api/v1/intents/{intent['id']}/agents", {"agent_id": "agent-synth"}, format="json")
    return intent


def set_policy(api, intent, **fields):
    body = {"strategy": "exponential", "base_delay_ms": 100, "max_delay_ms": 250, "jitter": False, **fields}
    return api.put(f"/api/v1/intents/{intent['id']}/retry-policy", body, format="json")


def fail(client, intent, **fields):
    body = {"error_code": "TIMEOUT", "error_message": "took too long", **fields}
    return client.post(f"/api/v1/intents/{intent['id']}/failures", body, format="json")


def events(api, intent, event_type):
    return api.get(f"/api/v1/intents/{intent['id']}/events?event_type={event_type}").json()


def test_policy_is_replaced_whole_and_read_back(api, intent):
    assert api.get(f"/api/v1/intents/{intent['id']}/retry-policy").status_code == 404
    first = set_policy(api, intent, fallback_agent_id="agent-backup", failure_threshold=5).json()
    assert (first["strategy"], first["fallback_agent_id"], first["failure_threshold"]) == (
        "exponential",
        "agent-backup",
        5,
    )
    second = set_policy(api, intent).json()
    assert second["id"] == first["id"]
    assert (second["fallback_agent_id"], second["failure_threshold"]) == (None, 3)
    assert api.get(f"/api/v1/intents/{intent['id']}/retry-policy").json() == second


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"strategy": "sometimes"}, "strategy"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_delay_ms": 10}, "max_delay_ms"),
    ],
)
def test_invalid_policies_name_the_field(api, intent, fields, loc):
    response = set_policy(api, intent, **fields)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", loc]
    assert api.get(f"/api/v1/intents/{intent['id']}/retry-policy").status_code == 404


def test_a_failure_schedules_a_retry_with_the_policys_backoff(
    api, other_api, intent, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        celery_app,
        "send_task",
        lambda name, args, kwargs=None, countdown=None, **options: sent.append((name, args, countdown)),
    )
    set_policy(api, intent)
    with django_capture_on_commit_callbacks(execute=True):
        first = fail(other_api, intent).json()
        second = fail(other_api, intent).json()
        third = fail(other_api, intent).json()
    assert sent == [
        ("intents.tasks.run_retry", [failure["id"]], delay)
        for failure, delay in ((first, 0.1), (second, 0.2), (third, 0.25))
    ]
    assert [item["attempt_number"] for item in (first, second, third)] == [1, 2, 3]
    delays = [event["payload"]["retry_delay_ms"] for event in reversed(events(api, intent, "failure_recorded"))]
    assert delays == [100, 200, 250]
    assert first["error_code"] == first["error_type"] == "TIMEOUT"
    assert first["agent_id"] == "agent-synth"
    scheduled = datetime.fromisoformat(first["retry_scheduled_at"])
    occurred = datetime.fromisoformat(first["occurred_at"])
    assert scheduled - occurred >= timedelta(milliseconds=100)


def test_the_scheduled_retry_assigns_the_agent_again_once(api, other_api, intent):
    set_policy(api, intent)
    failure = fail(other_api, intent).json()
    assert run_retry(failure["id"]) is True
    assert run_retry(failure["id"]) is False
    retried = [event for event in events(api, intent, "agent_assigned") if event["payload"].get("retry")]
    assert len(retried) == 1
    assert retried[0]["payload"] == {
        "agent_id": "agent-synth",
        "role": "worker",
        "retry": True,
        "failure_id": failure["id"],
        "attempt_number": 2,
    }
    assert Failure.objects.get(pk=failure["id"]).retried_at is not None


def test_no_retry_after_the_intent_finished(api, other_api, intent):
    set_policy(api, intent)
    failure = fail(other_api, intent).json()
    api.post(f"/api/v1/intents/{intent['id']}/status", {"status": "abandoned"}, format="json", HTTP_IF_MATCH="1")
    assert run_retry(failure["id"]) is False


def test_exhausted_retries_hand_the_leases_to_the_fallback_agent(api, other_api, intent):
    set_policy(api, intent, max_retries=1, failure_threshold=10, fallback_agent_id="agent-backup")
    lease = other_api.post(f"/api/v1/intents/{intent['id']}/leases", {"scope": "draft"}, format="json").json()
    fail(other_api, intent)
    assert events(api, intent, "fallback_triggered") == []
    fail(other_api, intent)

    fallback = events(api, intent, "fallback_triggered")
    assert len(fallback) == 1
    assert fallback[0]["payload"]["from_agent_id"] == "agent-synth"
    assert fallback[0]["payload"]["to_agent_id"] == "agent-backup"
    leases = api.get(f"/api/v1/intents/{intent['id']}/leases?include=all").json()["leases"]
    assert {(item["agent_id"], item["status"]) for item in leases} == {
        ("agent-synth", "revoked"),
        ("agent-backup", "active"),
    }
    assert lease["id"] in {item["id"] for item in leases}
    agents = {item["agent_id"] for item in api.get(f"/api/v1/intents/{intent['id']}/agents").json()}
    assert "agent-backup" in agents


def test_failure_threshold_switches_agents_before_retries_run_out(api, other_api, intent):
    set_policy(api, intent, max_retries=10, failure_threshold=2, fallback_agent_id="agent-backup")
    fail(other_api, intent)
    fail(other_api, intent)
    assert len(events(api, intent, "fallback_triggered")) == 1


def test_without_a_fallback_exhaustion_is_logged(api, other_api, intent):
    set_policy(api, intent, max_retries=0)
    fail(other_api, intent)
    assert len(events(api, intent, "retries_exhausted")) == 1


def test_unrecoverable_failures_and_strategy_none_schedule_nothing(api, other_api, intent):
    set_policy(api, intent, strategy="none")
    assert fail(other_api, intent).json()["retry_scheduled_at"] is None
    set_policy(api, intent)
    assert fail(other_api, intent, recoverable=False).json()["retry_scheduled_at"] is None


def test_failures_accept_the_clients_field_names(api, other_api, intent):
    sync_style = fail(other_api, intent, attempt_number=4, metadata={"http_status": 429}, retry_scheduled_at=None)
    assert sync_style.status_code == 200
    async_style = other_api.post(
        f"/api/v1/intents/{intent['id']}/failures",
        {"error_type": "RATE_LIMIT", "error_message": "slow down"},
        format="json",
    )
    assert async_style.json()["error_code"] == "RATE_LIMIT"
    unnamed = other_api.post(
        f"/api/v1/intents/{intent['id']}/failures", {"error_code": None, "attempt_number": 5}, format="json"
    )
    assert unnamed.status_code == 200
    assert unnamed.json()["error_code"] == "UNKNOWN"
    listed = api.get(f"/api/v1/intents/{intent['id']}/failures").json()["failures"]
    assert [item["attempt_number"] for item in listed] == [4, 2, 5]
    assert not RetryPolicy.objects.exists()
