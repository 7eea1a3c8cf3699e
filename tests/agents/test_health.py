"""Agent health enforced by the server (RFC-0016): heartbeats, the sweep that marks silent agents unhealthy then dead,
revival, 410 for agents that have left, a dead agent's leases expired for others to take, drains that end in
deregistration or death, and server-initiated drains reaching the agent.

Time passing is shown by moving an agent's receipt times and deadlines back (:func:`silent_for`), never by waiting."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from agents.models import Agent, AgentEvent
from agents.registry.services import sweep_health
from agents.tasks import sweep_agent_health
from intents.models import Lease
from tests.agents.test_registry_api import REGISTRATION, acting_as, lifecycle, register
from tests.conftest import event_log, new_intent


def silent_for(agent_id, seconds):
    """As if ``seconds`` had passed since the agent was last heard from (and since its drain began)."""
    back = timedelta(seconds=seconds)
    agents = Agent.objects.filter(pk=agent_id)
    agents.update(
        last_heartbeat_at=F("last_heartbeat_at") - back,
        unhealthy_at=F("unhealthy_at") - back,
        dead_at=F("dead_at") - back,
    )
    agents.exclude(drain_deadline=None).update(
        draining_since=F("draining_since") - back, drain_deadline=F("drain_deadline") - back
    )


def status_of(agent_id):
    return Agent.objects.get(pk=agent_id).status


@pytest.fixture
def billing(keys):
    client = acting_as("billing-1")
    register(client)  # interval 10 s, unhealthy after 30 s, dead after 60 s
    return client


def heartbeat(client, agent_id="billing-1", **body):
    return client.post(f"/api/v1/agents/{agent_id}/heartbeat", body, format="json")


def test_a_heartbeat_records_the_load_and_answers_when_the_next_one_is_due(billing):
    before = timezone.now()

    response = heartbeat(billing, current_load=3, tasks_in_progress=["t1", "t2"])

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "ok"
    assert answer["acknowledged"] is True
    assert answer["agent_status"] == "active"
    assert answer["pending_commands"] == []
    sent = timezone.datetime.fromisoformat(answer["server_timestamp"])
    assert sent >= before
    assert timezone.datetime.fromisoformat(answer["next_heartbeat_at"]) - sent == timedelta(seconds=10)
    agent = billing.get("/api/v1/agents/billing-1").json()
    assert agent["capacity"] == {"max_concurrent_tasks": 4, "current_load": 3, "tasks_in_progress": ["t1", "t2"]}
    assert agent["available_capacity"] == 1
    assert agent["last_heartbeat_at"] == answer["server_timestamp"]


def test_health_goes_by_the_server_clock_and_the_client_clock_is_only_recorded(billing):
    skewed = (timezone.now() - timedelta(hours=2)).isoformat()

    assert heartbeat(billing, client_timestamp=skewed).status_code == 200

    agent = Agent.objects.get()
    assert agent.clock_drift_seconds < -7000
    assert agent.last_heartbeat_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"current_load": -1}, ["body", "current_load"]),
        ({"current_load": 2.5}, ["body", "current_load"]),
        ({"tasks_in_progress": None}, ["body", "tasks_in_progress"]),
        ({"client_timestamp": "yesterday"}, ["body", "client_timestamp"]),
    ],
)
def test_a_bad_heartbeat_is_a_422_naming_the_field_and_changes_nothing(billing, body, loc):
    before = Agent.objects.get().last_heartbeat_at

    response = heartbeat(billing, **body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert Agent.objects.get().last_heartbeat_at == before


def test_a_silent_agent_turns_unhealthy_then_dead_and_each_step_is_logged_once(billing):
    silent_for("billing-1", 20)
    assert sweep_health()["unhealthy"] == 0
    assert status_of("billing-1") == "active"

    silent_for("billing-1", 15)
    assert sweep_agent_health()["unhealthy"] == 1
    assert status_of("billing-1") == "unhealthy"
    assert sweep_health() == {"unhealthy": 0, "dead": 0, "drain_timed_out": 0, "drained": 0}

    silent_for("billing-1", 30)
    assert sweep_health()["dead"] == 1
    assert status_of("billing-1") == "dead"
    assert lifecycle("billing-1") == [
        ("registering", "active", "registered"),
        ("active", "unhealthy", "heartbeat_timeout"),
        ("unhealthy", "dead", "heartbeat_timeout"),
    ]
    assert Agent.objects.get().version == 3


def test_one_sweep_takes_an_agent_silent_past_both_thresholds_through_unhealthy_to_dead(billing):
    silent_for("billing-1", 3600)

    assert sweep_health() == {"unhealthy": 1, "dead": 1, "drain_timed_out": 0, "drained": 0}
    assert [step[1] for step in lifecycle("billing-1")] == ["active", "unhealthy", "dead"]


def test_an_unhealthy_agent_is_active_again_on_its_next_heartbeat(billing):
    silent_for("billing-1", 40)
    sweep_health()

    answer = heartbeat(billing).json()

    assert answer["agent_status"] == "active"
    assert lifecycle("billing-1")[-1] == ("unhealthy", "active", "heartbeat_resumed")
    silent_for("billing-1", 25)
    assert sweep_health()["unhealthy"] == 0


@pytest.mark.parametrize("how", ["dead", "deregistered"])
def test_a_heartbeat_of_an_agent_that_has_left_is_a_410_until_it_registers_again(billing, how):
    if how == "dead":
        silent_for("billing-1", 3600)
        sweep_health()
    else:
        billing.delete("/api/v1/agents/billing-1")

    response = heartbeat(billing)

    assert response.status_code == 410
    assert response.json()["agent_status"] == how
    assert "register it again" in response.json()["detail"]
    assert status_of("billing-1") == how
    register(billing)
    assert heartbeat(billing).status_code == 200


def test_a_dead_agents_leases_expire_logged_on_each_intent_and_another_agent_takes_the_work(billing, api):
    intent = new_intent(api, title="Invoices")
    url = f"/api/v1/intents/{intent['id']}"
    lease = billing.post(f"{url}/leases", {"scope": "batch-7", "duration_seconds": 3600}, format="json").json()
    other = acting_as("billing-2")
    assert other.post(f"{url}/leases", {"scope": "batch-7"}, format="json").status_code == 409

    silent_for("billing-1", 3600)
    sweep_health()

    assert Lease.objects.get(pk=lease["id"]).status == "expired"
    log = event_log(api, intent["id"])
    released = [event for event in log if event["event_type"] == "lease_released"]
    assert [event["payload"]["reason"] for event in released] == ["agent_dead"]
    assert released[0]["payload"]["lease_id"] == lease["id"]
    assert released[0]["payload"]["agent_id"] == "billing-1"
    transitions = [event["payload"]["new_status"] for event in log if event["event_type"] == "agent.lifecycle"]
    assert transitions == ["unhealthy", "dead"]
    taken = other.post(f"{url}/leases", {"scope": "batch-7"}, format="json")
    assert taken.status_code == 200
    assert taken.json()["agent_id"] == "billing-2"
    assert billing.get(f"{url}/leases", {"include": "all"}).json()["leases"][0]["status"] == "expired"


def test_an_unhealthy_agent_keeps_its_leases_and_may_take_new_ones(billing, api):
    intent = new_intent(api)
    url = f"/api/v1/intents/{intent['id']}/leases"
    kept = billing.post(url, {"scope": "a"}, format="json").json()
    silent_for("billing-1", 40)
    sweep_health()

    assert billing.post(url, {"scope": "b"}, format="json").status_code == 200
    assert Lease.objects.get(pk=kept["id"]).status == "active"


def test_a_draining_agent_gets_no_new_lease_and_is_deregistered_when_it_releases_its_last_one(
    billing, api, django_capture_on_commit_callbacks
):
    intent = new_intent(api)
    url = f"/api/v1/intents/{intent['id']}/leases"
    first = billing.post(url, {"scope": "a"}, format="json").json()
    second = billing.post(url, {"scope": "b"}, format="json").json()
    drained = billing.patch("/api/v1/agents/billing-1/status", {"status": "draining"}, format="json").json()
    assert drained["status"] == "draining"

    refused = billing.post(url, {"scope": "c"}, format="json")

    assert refused.status_code == 409
    assert refused.json()["agent_status"] == "draining"
    assert "lease" not in refused.json()["detail"].lower()
    assert heartbeat(billing).json()["agent_status"] == "draining"
    with django_capture_on_commit_callbacks(execute=True):
        billing.delete(f"{url}/{first['id']}")
    assert status_of("billing-1") == "draining"
    with django_capture_on_commit_callbacks(execute=True):
        billing.delete(f"{url}/{second['id']}")
    assert status_of("billing-1") == "deregistered"
    assert lifecycle("billing-1")[-2:] == [
        ("active", "draining", "drain_initiated"),
        ("draining", "deregistered", "drain_complete"),
    ]
    assert heartbeat(billing).status_code == 410


def test_a_draining_agent_without_leases_is_deregistered_by_the_sweep(billing):
    billing.patch("/api/v1/agents/billing-1/status", {"status": "draining"}, format="json")

    assert sweep_health()["drained"] == 1
    assert status_of("billing-1") == "deregistered"


def test_a_drain_that_runs_out_of_time_with_leases_held_warns_then_kills_the_agent(billing, api):
    intent = new_intent(api)
    url = f"/api/v1/intents/{intent['id']}/leases"
    lease = billing.post(url, {"scope": "a", "duration_seconds": 3600}, format="json").json()
    billing.patch("/api/v1/agents/billing-1/status", {"status": "draining", "drain_timeout_seconds": 50}, format="json")
    heartbeat(billing)
    silent_for("billing-1", 45)
    assert sweep_health()["drain_timed_out"] == 0

    silent_for("billing-1", 10)

    assert sweep_health()["drain_timed_out"] == 1
    assert status_of("billing-1") == "dead"
    types = list(AgentEvent.objects.filter(agent_id="billing-1").order_by("id").values_list("event_type", flat=True))
    assert types[-2:] == ["agent.drain_timeout", "agent.lifecycle"]
    assert lifecycle("billing-1")[-1] == ("draining", "dead", "drain_timeout")
    assert Lease.objects.get(pk=lease["id"]).status == "expired"


def test_a_server_initiated_drain_is_a_command_in_heartbeat_answers_until_the_agent_takes_it_up(billing, settings):
    settings.OPENINTENT_AGENT_ADMINS = ["ops"]
    ops = acting_as("ops")

    asked = ops.patch(
        "/api/v1/agents/billing-1/status",
        {"status": "draining", "reason": "maintenance window", "drain_timeout_seconds": 90},
        format="json",
    )

    assert asked.status_code == 200
    commands = heartbeat(billing).json()["pending_commands"]
    assert commands == [
        {
            "command": "drain",
            "reason": "maintenance window",
            "drain_timeout_seconds": 90,
            "drain_deadline": asked.json()["drain_deadline"],
            "requested_by": "ops",
        }
    ]
    assert lifecycle("billing-1")[-1] == ("active", "draining", "drain_requested")
    assert sweep_health()["drained"] == 0  # not taken up yet: it may still be finishing work it has not leased
    taken_up = heartbeat(billing, status="draining").json()
    assert taken_up["pending_commands"] == []
    assert taken_up["agent_status"] == "draining"
    assert sweep_health()["drained"] == 1


def test_a_server_initiated_drain_never_taken_up_ends_at_its_deadline(billing, settings):
    settings.OPENINTENT_AGENT_ADMINS = ["ops"]
    acting_as("ops").patch("/api/v1/agents/billing-1/status", {"status": "draining"}, format="json")
    silent_for("billing-1", 125)  # past the registration's drain timeout of 120 s

    assert heartbeat(billing).json()["pending_commands"][0]["command"] == "drain"  # alive, still not taking it up
    assert sweep_health()["drain_timed_out"] == 1
    assert lifecycle("billing-1")[-1] == ("draining", "deregistered", "drain_timeout")


def test_a_heartbeat_reporting_draining_starts_the_agents_own_drain(billing):
    answer = heartbeat(billing, status="draining").json()

    assert answer["agent_status"] == "draining"
    assert answer["pending_commands"] == []
    assert lifecycle("billing-1")[-1] == ("active", "draining", "drain_initiated")
    assert Agent.objects.get().drain_timeout_seconds == REGISTRATION["drain_timeout_seconds"]


def test_a_draining_agent_silent_past_its_dead_threshold_dies(billing, api):
    billing.patch(
        "/api/v1/agents/billing-1/status", {"status": "draining", "drain_timeout_seconds": 3000}, format="json"
    )
    intent = new_intent(api)
    Lease.objects.create(
        intent_id=intent["id"], scope="x", holder="billing-1", expires_at=timezone.now() + timedelta(hours=1)
    )
    silent_for("billing-1", 61)

    assert sweep_health()["dead"] == 1
    assert lifecycle("billing-1")[-1] == ("draining", "dead", "heartbeat_timeout")
    assert Lease.objects.get().status == "expired"


def test_lifecycle_events_are_written_into_the_logs_of_the_intents_the_agent_works_on(billing, api):
    assigned, leased, unrelated = new_intent(api), new_intent(api), new_intent(api)
    api.post(f"/api/v1/intents/{assigned['id']}/agents", {"agent_id": "billing-1"}, format="json")
    billing.post(f"/api/v1/intents/{leased['id']}/leases", {"scope": "s"}, format="json")

    silent_for("billing-1", 40)
    sweep_health()

    for intent in (assigned, leased):
        events = [e for e in event_log(api, intent["id"]) if e["event_type"] == "agent.lifecycle"]
        assert [e["payload"]["new_status"] for e in events] == ["unhealthy"], intent
        assert events[0]["payload"]["agent_id"] == "billing-1"
        assert events[0]["payload"]["reason"] == "heartbeat_timeout"
        assert events[0]["actor"] == "system"
    assert not [e for e in event_log(api, unrelated["id"]) if e["event_type"] == "agent.lifecycle"]
    refused = api.post(
        f"/api/v1/intents/{unrelated['id']}/events",
        {"event_type": "agent.lifecycle", "payload": {"agent_id": "billing-1"}},
        format="json",
    )
    assert refused.status_code == 422
