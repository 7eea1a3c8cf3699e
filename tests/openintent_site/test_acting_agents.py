"""One key, many agents: a request whose X-Agent-ID names an agent the key may act for is made as that agent."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.core.management import call_command
from django.db import connection

from openintent_site.models import ApiKey, IntentEvent
from tests.conftest import client_for, event_log, versioned

FLEET_KEY = "fleet-key"


@pytest.fixture
def fleet(db):
    """A key of the principal "fleet" that may act for the research agents."""
    api_key = ApiKey(agent_id="fleet", name="test", acts_for=["research-*"])
    api_key.set_key(FLEET_KEY)
    api_key.save()
    return api_key


def as_agent(agent_id, key=FLEET_KEY):
    client = client_for(key)
    if agent_id is not None:
        client.credentials(HTTP_X_API_KEY=key, HTTP_X_AGENT_ID=agent_id)
    return client


def create(client, title="Shared work", **fields):
    response = client.post("/api/v1/intents", {"title": title, **fields}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_each_agent_on_a_shared_key_is_its_own_creator_and_actor(fleet):
    first = create(as_agent("research-1"))
    second = create(as_agent("research-2"))

    assert (first["created_by"], second["created_by"]) == ("research-1", "research-2")
    created = event_log(as_agent("research-1"), first["id"])[0]
    assert (created["actor"], created["via"]) == ("research-1", "fleet")


def test_without_the_header_the_key_acts_as_its_own_principal(fleet):
    intent = create(as_agent(None))

    assert intent["created_by"] == "fleet"
    assert event_log(as_agent(None), intent["id"])[0]["via"] is None


def test_the_header_naming_the_keys_own_principal_is_that_principal(fleet):
    intent = create(as_agent("fleet"))

    assert intent["created_by"] == "fleet"
    assert event_log(as_agent(None), intent["id"])[0]["via"] is None


@pytest.mark.parametrize("agent", ["analyst", "research", "RESEARCH-1", "x" * 300])
def test_an_agent_the_key_may_not_act_for_is_refused_by_name(fleet, agent):
    response = as_agent(agent).post("/api/v1/intents", {"title": "Forged"}, format="json")

    assert response.status_code == 403
    assert response.json()["agent_id"] == agent[:200]
    assert agent[:200] in response.json()["detail"]
    assert not IntentEvent.objects.exists()


def test_a_key_acts_for_no_agent_unless_told(db):
    call_command("createapikey", "--agent", "solo", "--key", "solo-key", stdout=None)
    response = as_agent("someone-else", "solo-key").get("/api/v1/intents")

    assert response.status_code == 403
    assert response.json()["detail"] == "This key may not act for agent 'someone-else'"


def test_costs_failures_arbitrations_and_access_requests_name_the_acting_agent(fleet):
    owner = as_agent("research-1")
    intent = create(owner)
    other = as_agent("research-2")
    url = f"/api/v1/intents/{intent['id']}"

    cost = other.post(f"{url}/costs", {"cost_type": "tokens", "amount": 5, "unit": "tokens"}, format="json").json()
    failure = other.post(f"{url}/failures", {"error_code": "TIMEOUT"}, format="json").json()
    arbitration = other.post(f"{url}/arbitrate", {"reason": "Which way?"}, format="json").json()
    asked = other.post(f"{url}/access-requests", {"reason": "let me in"}, format="json").json()

    assert cost["agent_id"] == failure["agent_id"] == "research-2"
    assert arbitration["requested_by"] == asked["principal_id"] == "research-2"
    actors = {(event["event_type"], event["actor"], event["via"]) for event in event_log(owner, intent["id"])}
    assert ("arbitration_requested", "research-2", "fleet") in actors


def test_a_grant_to_an_agent_applies_to_that_agent_on_a_shared_key(fleet):
    owner = as_agent("research-1")
    intent = create(owner)
    url = f"/api/v1/intents/{intent['id']}"
    acl = {"default_policy": "restricted", "entries": [{"principal_id": "research-2", "permission": "read"}]}
    assert owner.put(f"{url}/acl", acl, format="json").status_code == 200

    assert as_agent("research-2").get(url).status_code == 200
    assert as_agent("research-3").get(url).status_code == 403
    assert as_agent(None).get(url).status_code == 403


def test_two_agents_on_one_key_cannot_renew_or_release_each_others_leases(fleet):
    holder, other = as_agent("research-1"), as_agent("research-2")
    intent = create(holder)
    leases = f"/api/v1/intents/{intent['id']}/leases"
    lease = holder.post(leases, {"scope": "analysis"}, format="json").json()

    assert lease["agent_id"] == "research-1"
    assert other.patch(f"{leases}/{lease['id']}", {"duration_seconds": 60}, format="json").status_code == 403
    assert other.delete(f"{leases}/{lease['id']}").status_code == 403
    assert other.post(leases, {"scope": "analysis"}, format="json").status_code == 409
    assert holder.delete(f"{leases}/{lease['id']}").status_code == 200


def test_a_state_patch_of_a_scope_leased_by_another_agent_on_the_key_is_refused(fleet):
    holder, other = as_agent("research-1"), as_agent("research-2")
    intent = create(holder)
    holder.post(f"/api/v1/intents/{intent['id']}/leases", {"scope": "draft"}, format="json")
    version = other.get(f"/api/v1/intents/{intent['id']}").json()["version"]

    refused = versioned(other, "post", f"/api/v1/intents/{intent['id']}/state", version, {"state": {"draft": "x"}})

    assert refused.status_code == 409
    assert refused.json()["existing_lease"]["agent_id"] == "research-1"


def test_createapikey_issues_a_key_that_acts_for_the_given_agents(db, capsys):
    call_command("createapikey", "--agent", "fleet", "--acts-for", "writer, research-*")
    raw_key = capsys.readouterr().out.strip()

    assert ApiKey.objects.get().acts_for == ["writer", "research-*"]
    assert create(as_agent("writer", raw_key))["created_by"] == "writer"
    assert as_agent("editor", raw_key).get("/api/v1/intents").status_code == 403


def test_the_development_keys_may_act_for_any_agent(db):
    call_command("seeddev", stdout=None)

    assert create(as_agent("anyone-at-all", "agent-research-key"))["created_by"] == "anyone-at-all"
    assert create(as_agent(None, "agent-research-key"))["created_by"] == "agent-research"


def test_an_agent_stream_is_opened_as_the_acting_agent(fleet, settings, live_server_url):
    ApiKey.objects.filter(pk=fleet.pk).update(acts_for=["research-*"])
    refused = httpx.get(
        f"{live_server_url}/api/v1/agents/research-1/subscribe",
        headers={"X-API-Key": FLEET_KEY, "X-Agent-ID": "analyst"},
        timeout=10,
    )

    assert refused.status_code == 403
    assert refused.json()["agent_id"] == "analyst"


# Proven with parallel clients on two server processes -----------------------------------------------------------


@pytest.mark.postgres
def test_parallel_agents_on_one_key_never_renew_or_release_each_others_lease(fleet, live_servers, live_server_url):
    if connection.vendor != "postgresql":
        pytest.skip("the parallel proof runs on PostgreSQL; the rule itself is tested above on every database")

    def client(index, agent):
        server = live_servers[index % len(live_servers)]
        return httpx.Client(base_url=server.url, headers={"X-API-Key": FLEET_KEY, "X-Agent-ID": agent}, timeout=60)

    holder = client(0, "research-1")
    intent = holder.post("/api/v1/intents", json={"title": "Contended"}).json()
    leases = f"/api/v1/intents/{intent['id']}/leases"
    lease = holder.post(leases, json={"scope": "analysis", "duration_seconds": 600}).json()
    url = f"{leases}/{lease['id']}"

    def attempt(index):
        if index % 2:  # the holder renews from both processes
            return "renew-own", client(index, "research-1").patch(url, json={"duration_seconds": 600}).status_code
        intruder = client(index, f"research-{index + 2}")
        if index % 4:
            return "release-other", intruder.delete(url).status_code
        return "renew-other", intruder.patch(url, json={"duration_seconds": 600}).status_code

    with ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(attempt, range(128)))

    assert {code for kind, code in outcomes if kind == "renew-own"} == {200}
    assert {code for kind, code in outcomes if kind != "renew-own"} == {403}
    current = holder.get(leases).json()["leases"]
    assert [(item["id"], item["agent_id"], item["status"]) for item in current] == [
        (lease["id"], "research-1", "active")
    ]
    released = [
        event
        for event in holder.get(f"/api/v1/intents/{intent['id']}/events").json()
        if event["event_type"] == "lease_released"
    ]
    assert released == []
