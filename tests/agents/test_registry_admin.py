"""The Agents section of the admin, through Django's test client: the registry with badges, heartbeats and load,
the health filters, drain and deregister actions that go through the API's services, and an agent's page."""

import re

import pytest

from agents.models import Agent, AgentEvent
from agents.registry.services import sweep_health
from intents.models import Lease
from tests.agents.test_health import silent_for
from tests.agents.test_registry_api import acting_as, register
from tests.conftest import new_intent


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.test", "pw"))
    return client


@pytest.fixture
def fleet(keys, api):
    """billing-1 active with a lease and an assignment, search-1 unhealthy, writer-1 draining (a lease to finish),
    old-1 dead."""
    for agent_id in ["billing-1", "search-1", "writer-1", "old-1"]:
        register(acting_as(agent_id), agent_id=agent_id, name=f"{agent_id} name")
    intent = new_intent(api, title="Quarterly invoices")
    billing = acting_as("billing-1")
    billing.post(f"/api/v1/intents/{intent['id']}/leases", {"scope": "batch-9"}, format="json")
    api.post(f"/api/v1/intents/{intent['id']}/agents", {"agent_id": "billing-1", "role": "worker"}, format="json")
    billing.post("/api/v1/agents/billing-1/heartbeat", {"current_load": 3}, format="json")
    acting_as("writer-1").post(f"/api/v1/intents/{intent['id']}/leases", {"scope": "prose"}, format="json")
    acting_as("writer-1").patch("/api/v1/agents/writer-1/status", {"status": "draining"}, format="json")
    silent_for("search-1", 40)
    silent_for("old-1", 3600)
    sweep_health()
    return intent


def rows(page):
    return re.findall(r"<tr[^>]*>(?:(?!</tr>).)*</tr>", page, re.S)


def row_of(page, agent_id):
    found = [row for row in rows(page) if f">{agent_id}<" in row]
    assert len(found) == 1, agent_id
    return found[0]


def test_the_registry_shows_status_badges_last_heartbeats_and_load(admin_client, fleet):
    response = admin_client.get("/admin/agents/agent/")

    assert response.status_code == 200
    page = response.content.decode()
    for agent_id, status in [
        ("billing-1", "active"),
        ("search-1", "unhealthy"),
        ("writer-1", "draining"),
        ("old-1", "dead"),
    ]:
        assert f"agent-status-{status}" in row_of(page, agent_id), agent_id
    assert "3 / 4" in row_of(page, "billing-1")
    assert "heartbeat_timeout" in row_of(page, "old-1")


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("health=attention", {"search-1", "writer-1", "old-1"}),
        ("health=unhealthy", {"search-1"}),
        ("health=draining", {"writer-1"}),
        ("health=dead", {"old-1"}),
        ("status__exact=active", {"billing-1"}),
    ],
)
def test_the_registry_filters_unhealthy_dead_and_draining_agents(admin_client, fleet, query, shown):
    page = admin_client.get(f"/admin/agents/agent/?{query}").content.decode()

    listed = {agent_id for agent_id in ["billing-1", "search-1", "writer-1", "old-1"] if f">{agent_id}<" in page}
    assert listed == shown


def test_the_drain_action_drains_through_the_service_and_the_agent_hears_of_it(admin_client, fleet):
    response = admin_client.post(
        "/admin/agents/agent/",
        {"action": "drain", "_selected_action": ["billing-1", "old-1"]},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Drained 1 agent(s)." in page
    assert "old-1: Agent is dead; register it again to take part" in page
    agent = Agent.objects.get(pk="billing-1")
    assert agent.status == "draining"
    assert agent.drain_requested_by == "boss"
    event = AgentEvent.objects.filter(agent_id="billing-1").first()
    assert (event.payload["new_status"], event.payload["reason"], event.actor) == (
        "draining",
        "drain_requested",
        "boss",
    )
    answer = acting_as("billing-1").post("/api/v1/agents/billing-1/heartbeat", {}, format="json").json()
    assert answer["pending_commands"][0]["command"] == "drain"
    assert answer["pending_commands"][0]["requested_by"] == "boss"


def test_the_deregister_action_ends_the_agents_leases(admin_client, fleet):
    selected = {"action": "deregister", "_selected_action": ["billing-1"]}
    asked = admin_client.post("/admin/agents/agent/", selected)
    assert "This cannot be undone." in asked.content.decode()
    assert Agent.objects.get(pk="billing-1").status == "active"
    admin_client.post("/admin/agents/agent/", {**selected, "confirmed": "yes"})

    assert Agent.objects.get(pk="billing-1").status == "deregistered"
    assert Lease.objects.get(scope="batch-9").status == "expired"
    assert AgentEvent.objects.filter(agent_id="billing-1").first().payload["reason"] == "deregistered"


def test_an_agents_page_shows_its_leases_assignments_events_and_memory_link(admin_client, fleet):
    response = admin_client.get("/admin/agents/agent/billing-1/change/")

    assert response.status_code == 200
    page = response.content.decode()
    lease = Lease.objects.get(scope="batch-9")
    assert f"/admin/intents/lease/{lease.pk}/change/" in page
    assert f"/admin/intents/intent/{fleet['id']}/change/" in page
    assert "Quarterly invoices" in page
    assert "registering → active" in page
    assert "/admin/agents/memoryentry/?agent_id=billing-1" in page
    assert "/admin/agents/agentevent/?agent_id=billing-1" in page
    assert 'name="_save"' not in page
    dead = admin_client.get("/admin/agents/agent/old-1/change/").content.decode()
    assert "unhealthy → dead" in dead
    assert "heartbeat_timeout" in dead


def test_the_event_log_lists_one_agents_events(admin_client, fleet):
    page = admin_client.get("/admin/agents/agentevent/?agent_id=old-1").content.decode()

    assert page.count("old-1") >= 3
    assert "billing-1" not in page


def test_agents_cannot_be_added_edited_or_deleted_in_the_admin(admin_client, fleet):
    assert admin_client.get("/admin/agents/agent/add/").status_code == 403
    assert admin_client.post("/admin/agents/agent/billing-1/change/", {"status": "dead"}).status_code == 403
    assert admin_client.post("/admin/agents/agent/billing-1/delete/", {"post": "yes"}).status_code == 403
    assert Agent.objects.get(pk="billing-1").status == "active"
