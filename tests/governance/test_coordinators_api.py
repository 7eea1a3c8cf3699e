"""Coordinator leases over HTTP (RFC-0013): granting the role, exclusivity, supervision ending at a person,
heartbeats checked by the server, supervisors' actions, handoff and the permissions behind them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.registry.models import Agent
from governance.coordinators import services
from governance.coordinators.models import CoordinatorLease
from tests.conftest import client_for, event_log, new_intent

from .coordinator_helpers import COORDINATORS, SUPERVISOR, get_lease, grant, lease_act

pytestmark = pytest.mark.django_db


@pytest.fixture
def intent(api):
    return new_intent(api, "Coordinated work")


def test_a_lease_is_granted_with_0_9_1_fields_and_the_rfc_s_and_logged(api, person_api, intent):
    lease = grant(api, intent, guardrails={"max_budget_usd": 50, "on_exceed": "pause"}, metadata={"team": "a"})

    assert lease["status"] == "active"
    assert lease["agent_id"] == "agent-research"
    assert (lease["supervisor_id"], lease["supervisor_chain"]) == (SUPERVISOR, [SUPERVISOR])
    assert (lease["coordinator_type"], lease["scope"], lease["role"]) == ("llm", "intent", "coordinator")
    assert lease["guardrails"] == {"max_budget_usd": 50.0, "on_exceed": "pause"}
    assert lease["lease_metadata"] == lease["metadata"] == {"team": "a"}
    assert (lease["version"], lease["last_heartbeat"], lease["heartbeat_interval_seconds"]) == (1, None, 60)
    assert get_lease(api, lease) == lease
    assert api.get(f"/api/v1/intents/{intent['id']}/coordinators").json() == [lease]
    acquired = [e for e in event_log(api, intent["id"]) if e["event_type"] == "lease_acquired"]
    assert acquired[-1]["payload"]["coordinator_lease_id"] == lease["id"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"supervisor_id": None}, "supervisor_id"),
        ({"supervisor_id": "nobody-at-all"}, "supervisor_id"),
        ({"supervisor_id": "agent-research"}, "supervisor_id"),
        ({"coordinator_type": "robot"}, "coordinator_type"),
        ({"scope": "galaxy"}, "scope"),
        ({"heartbeat_interval_seconds": 0}, "heartbeat_interval_seconds"),
        ({"heartbeat_interval_seconds": 2**70}, "heartbeat_interval_seconds"),
        ({"guardrails": {"on_exceed": "explode"}}, "guardrails"),
        ({"guardrails": ["max_budget_usd"]}, "guardrails"),
        ({"intent_id": None}, "intent_id"),
    ],
)
def test_bad_grants_are_422_naming_the_field_and_write_nothing(api, person_api, intent, body, field):
    data = {"agent_id": "agent-research", "intent_id": intent["id"], "supervisor_id": SUPERVISOR, **body}
    data = {key: value for key, value in data.items() if value is not None or key == "supervisor_id"}
    if body.get("supervisor_id", "") is None:
        del data["supervisor_id"]

    response = api.post(COORDINATORS, data, format="json")

    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]
    assert not CoordinatorLease.objects.exists()


def test_an_unknown_intent_is_404(api, person_api):
    response = api.post(
        COORDINATORS, {"agent_id": "a", "intent_id": "nope", "supervisor_id": SUPERVISOR}, format="json"
    )
    assert response.status_code == 404


def test_a_chain_through_a_coordinating_agent_must_reach_a_person(api, other_api, person_api, keys):
    portfolio = api.post("/api/v1/portfolios", {"name": "Q1", "created_by": "agent-research"}, format="json").json()
    top = api.post(
        COORDINATORS,
        {"agent_id": "agent-synth", "portfolio_id": portfolio["id"], "scope": "portfolio", "supervisor_id": SUPERVISOR},
        format="json",
    )
    assert top.status_code == 200, top.content
    intent = new_intent(api)

    lease = grant(api, intent, supervisor_id="agent-synth")

    assert lease["supervisor_chain"] == ["agent-synth", SUPERVISOR]


def test_one_live_coordinator_per_intent_and_the_refusal_names_the_lease(api, other_api, person_api, intent):
    first = grant(api, intent)

    second = other_api.post(
        COORDINATORS,
        {"agent_id": "agent-synth", "intent_id": intent["id"], "supervisor_id": SUPERVISOR},
        format="json",
    )

    assert second.status_code == 409
    assert "lease" in second.json()["detail"]
    assert second.json()["existing_lease"]["id"] == first["id"]
    released = lease_act(api, first, "release", {"reason": "done"})
    assert released.status_code == 200 and released.json()["status"] == "completed"
    assert grant(other_api, intent, agent_id="agent-synth")["status"] == "active"


def test_an_expired_lease_gives_way_to_a_new_one(api, other_api, person_api, intent):
    first = grant(api, intent, expires_at=(timezone.now() - timedelta(seconds=1)).isoformat())

    second = grant(other_api, intent, agent_id="agent-synth")

    assert get_lease(api, first)["status"] == "completed"
    assert get_lease(api, first)["status_reason"] == "expired"
    assert second["status"] == "active"


def test_heartbeats_only_from_the_coordinator(api, other_api, person_api, intent):
    lease = grant(api, intent)

    ok = lease_act(api, lease, "heartbeat", {"active_tasks": 2, "budget_used_usd": 1.5})
    foreign = lease_act(other_api, lease, "heartbeat")
    unknown = api.post(f"{COORDINATORS}/00000000-0000-4000-8000-000000000000/heartbeat")

    assert ok.status_code == 200
    assert ok.json()["status"] == "ok" and ok.json()["lease_status"] == "active"
    assert get_lease(api, lease)["last_report"] == {"active_tasks": 2, "budget_used_usd": 1.5}
    assert get_lease(api, lease)["last_heartbeat"] is not None
    assert foreign.status_code == 403
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "Coordinator lease not found")
    lease_act(api, lease, "release")
    assert lease_act(api, lease, "heartbeat").status_code == 409


def test_an_empty_json_heartbeat_as_the_0_9_1_client_sends_it(api, person_api, intent):
    lease = grant(api, intent)
    response = api.post(f"{COORDINATORS}/{lease['id']}/heartbeat", content_type="application/json")
    assert response.status_code == 200, response.content


def test_two_missed_intervals_make_it_unresponsive_and_three_fail_it_over_to_the_pool(api, person_api, intent):
    register = client_for("agent-synth-key").post("/api/v1/agents/register", {"agent_id": "agent-synth"}, format="json")
    assert register.status_code == 200, register.content
    lease = grant(api, intent, heartbeat_interval_seconds=10, failover_pool=["ghost", "agent-synth"])
    granted = CoordinatorLease.objects.get(pk=lease["id"]).granted_at

    services.sweep(now=granted + timedelta(seconds=19))
    assert get_lease(api, lease)["status"] == "active"
    services.sweep(now=granted + timedelta(seconds=21))
    assert get_lease(api, lease)["status"] == "unresponsive"
    assert list(CoordinatorLease.objects.waiting_for_supervisor()) == [CoordinatorLease.objects.get(pk=lease["id"])]
    services.sweep(now=granted + timedelta(seconds=31))

    old = get_lease(api, lease)
    assert (old["status"], old["status_reason"]) == ("failed_over", "heartbeat_timeout")
    new = api.get(f"{COORDINATORS}/{old['successor_id']}").json()
    assert (new["agent_id"], new["status"], new["supervisor_id"]) == ("agent-synth", "active", SUPERVISOR)
    events = event_log(api, intent["id"])
    unresponsive = next(e for e in events if e["event_type"] == "coordinator.unresponsive")
    assert unresponsive["payload"]["missed_count"] == 2
    failed_over = next(e for e in events if e["event_type"] == "coordinator.failed_over")
    assert failed_over["payload"]["old_coordinator_id"] == "agent-research"
    assert failed_over["payload"]["new_coordinator_id"] == "agent-synth"
    assert set(failed_over["payload"]["state_transferred"]) >= {"plan_id", "plan_state", "task_counts"}


def test_without_a_healthy_pool_the_supervisor_takes_the_role(api, person_api, intent):
    lease = grant(api, intent, heartbeat_interval_seconds=5, failover_pool=["never-registered"])
    granted = CoordinatorLease.objects.get(pk=lease["id"]).granted_at

    services.sweep(now=granted + timedelta(seconds=16))

    new = api.get(f"{COORDINATORS}/{get_lease(api, lease)['successor_id']}").json()
    assert (new["agent_id"], new["coordinator_type"], new["status"]) == (SUPERVISOR, "human", "active")
    # The person at the end of the chain sends no heartbeats and is not failed over.
    services.sweep(now=granted + timedelta(hours=1))
    assert get_lease(api, new)["status"] == "active"


def test_a_coordinator_the_registry_found_dead_fails_over_at_once(api, person_api, intent):
    register = api.post("/api/v1/agents/register", {"agent_id": "agent-research"}, format="json")
    assert register.status_code == 200, register.content
    lease = grant(api, intent, heartbeat_interval_seconds=3600)
    Agent.objects.filter(pk="agent-research").update(status="dead")

    services.sweep()

    old = get_lease(api, lease)
    assert (old["status"], old["status_reason"]) == ("failed_over", "agent_dead")


def test_a_heartbeat_brings_an_unresponsive_coordinator_back(api, person_api, intent):
    lease = grant(api, intent, heartbeat_interval_seconds=10)
    granted = CoordinatorLease.objects.get(pk=lease["id"]).granted_at
    services.sweep(now=granted + timedelta(seconds=25))
    assert get_lease(api, lease)["status"] == "unresponsive"

    assert lease_act(api, lease, "heartbeat").json()["lease_status"] == "active"

    assert get_lease(api, lease)["status"] == "active"
    assert "coordinator.heartbeat" in [e["event_type"] for e in event_log(api, intent["id"])]


def test_supervisor_actions_only_by_the_supervisor(api, other_api, person_api, intent):
    lease = grant(api, intent)

    for action in ("pause", "resume", "replace"):
        refused = lease_act(other_api, lease, action, {"agent_id": "agent-synth"})
        assert refused.status_code == 403, action
        assert lease_act(api, lease, action, {"agent_id": "agent-synth"}).status_code == 403, action
    assert (
        other_api.patch(
            f"{COORDINATORS}/{lease['id']}/guardrails", {"max_tasks_per_plan": 1}, format="json"
        ).status_code
        == 403
    )
    assert get_lease(api, lease)["version"] == 1


def test_pause_resume_and_the_paused_coordinator_plans_nothing(api, person_api, intent):
    lease = grant(api, intent)

    paused = lease_act(person_api, lease, "pause", {"reason": "checking costs"})
    refused = api.post("/api/v1/tasks", {"intent_id": intent["id"], "name": "more"}, format="json")
    again = lease_act(person_api, lease, "pause")
    resumed = lease_act(person_api, lease, "resume", HTTP_IF_MATCH="2")

    assert (paused.status_code, paused.json()["status"], paused.json()["version"]) == (200, "paused", 2)
    assert refused.status_code == 409 and "paused" in refused.json()["detail"]
    assert again.status_code == 409
    assert (resumed.status_code, resumed.json()["status"]) == (200, "active")
    assert lease_act(person_api, lease, "pause", HTTP_IF_MATCH="1").status_code == 409
    types = [e["event_type"] for e in event_log(api, intent["id"])]
    assert types.count("coordinator.paused") == 1 and types.count("coordinator.resumed") == 1
    assert "task.created" not in types


def test_replace_ends_the_lease_and_grants_the_new_coordinator(api, person_api, intent):
    lease = grant(api, intent, guardrails={"max_tasks_per_plan": 5})

    new = lease_act(person_api, lease, "replace", {"agent_id": "agent-synth", "reason": "too slow"})

    assert new.status_code == 200, new.content
    assert (new.json()["agent_id"], new.json()["status"], new.json()["guardrails"]) == (
        "agent-synth",
        "active",
        {"max_tasks_per_plan": 5},
    )
    old = get_lease(api, lease)
    assert (old["status"], old["status_reason"], old["successor_id"]) == ("completed", "replaced", new.json()["id"])
    replaced = next(e for e in event_log(api, intent["id"]) if e["event_type"] == "coordinator.replaced")
    assert replaced["actor"] == SUPERVISOR
    assert replaced["payload"]["new_coordinator_id"] == "agent-synth"


def test_handoff_by_the_coordinator_with_its_state(api, other_api, person_api, intent):
    lease = grant(api, intent)

    foreign = lease_act(other_api, lease, "handoff", {"to_coordinator": "agent-synth"})
    new = lease_act(
        api, lease, "handoff", {"to_coordinator": "agent-synth", "reason": "shift ends", "open_items": ["x"]}
    )

    assert foreign.status_code == 403
    assert new.status_code == 200 and new.json()["agent_id"] == "agent-synth"
    handoff = next(e for e in event_log(api, intent["id"]) if e["event_type"] == "coordinator.handoff")
    assert handoff["payload"]["from_coordinator"] == "agent-research"
    assert handoff["payload"]["state_summary"]["open_items"] == ["x"]
    assert get_lease(api, lease)["status"] == "completed"


def test_guardrails_changed_by_the_supervisor_and_logged(api, person_api, intent):
    lease = grant(api, intent, guardrails={"max_tasks_per_plan": 5, "max_budget_usd": 10})

    changed = person_api.patch(
        f"{COORDINATORS}/{lease['id']}/guardrails", {"max_tasks_per_plan": 8, "max_budget_usd": None}, format="json"
    )
    bad = person_api.patch(f"{COORDINATORS}/{lease['id']}/guardrails", {"max_tasks_per_plan": 0}, format="json")

    assert changed.status_code == 200 and changed.json()["guardrails"] == {"max_tasks_per_plan": 8}
    assert api.get(f"{COORDINATORS}/{lease['id']}/guardrails").json() == {"max_tasks_per_plan": 8}
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "max_tasks_per_plan"]
    updated = next(e for e in event_log(api, intent["id"]) if e["event_type"] == "coordinator.guardrails_updated")
    assert updated["payload"]["previous"] == {"max_tasks_per_plan": 5, "max_budget_usd": 10.0}


def test_the_coordinate_permission_on_a_closed_intent(api, other_api, person_api, intent):
    api.put(f"/api/v1/intents/{intent['id']}/acl", {"default_policy": "closed"}, format="json")
    refused = other_api.post(
        COORDINATORS, {"agent_id": "agent-synth", "intent_id": intent["id"], "supervisor_id": SUPERVISOR}, format="json"
    )
    assert refused.status_code == 403, refused.content
    assert refused.json()["required_permission"] == "coordinate"
    grant_response = api.post(
        f"/api/v1/intents/{intent['id']}/acl/entries",
        {"principal_id": "agent-synth", "permission": "coordinate"},
        format="json",
    )
    assert grant_response.status_code in (200, 201), grant_response.content

    assert grant(other_api, intent, agent_id="agent-synth")["status"] == "active"
