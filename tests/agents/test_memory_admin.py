"""Agent memory in the admin: read-only, filterable by agent, sensitive values never shown."""

import pytest

from agents.models import MemoryEntry

SECRET = "card-4242-4242-secret"


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.test", "pw"))
    return client


def create(client, agent_id, key, **fields):
    body = {"agent_id": agent_id, "namespace": "billing", "key": key, "value": {"note": key}, **fields}
    response = client.post("/api/v1/memory", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def entries(api, other_api):
    return {
        "plain": create(api, "agent-research", "plain-research-entry"),
        "confidential": create(
            api, "agent-research", "card", value={"pan": SECRET}, sensitivity="confidential", memory_type="episodic"
        ),
        "restricted": create(
            other_api, "agent-synth", "restricted-synth-entry", value={"pan": SECRET}, sensitivity="restricted"
        ),
        "internal": create(
            other_api, "agent-synth", "internal-synth-entry", value={"note": "visible-internal"}, sensitivity="internal"
        ),
    }


def test_the_list_filters_by_agent_id(admin_client, entries):
    response = admin_client.get("/admin/agents/memoryentry/", {"agent_id": "agent-synth"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "restricted-synth-entry" in page
    assert "internal-synth-entry" in page
    assert "plain-research-entry" not in page
    unfiltered = admin_client.get("/admin/agents/memoryentry/").content.decode()
    assert "plain-research-entry" in unfiltered


@pytest.mark.parametrize("which", ["confidential", "restricted"])
def test_a_sensitive_value_never_appears_in_the_admin(admin_client, entries, which):
    entry = entries[which]

    change = admin_client.get(f"/admin/agents/memoryentry/{entry['id']}/change/")
    listed = admin_client.get("/admin/agents/memoryentry/", {"agent_id": entry["agent_id"]})
    searched = admin_client.get("/admin/agents/memoryentry/", {"q": SECRET})
    events = admin_client.get("/admin/agents/memoryevent/")

    assert change.status_code == 200
    for response in (change, listed, events):
        assert SECRET not in response.content.decode()
    # Values are not searched: a search would reveal a hidden value one guess at a time.
    assert searched.context["cl"].result_count == 0
    assert f"hidden: {which} entry" in change.content.decode()


def test_other_values_are_shown(admin_client, entries):
    page = admin_client.get(f"/admin/agents/memoryentry/{entries['internal']['id']}/change/").content.decode()

    assert "visible-internal" in page


def test_entries_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, entries):
    url = f"/admin/agents/memoryentry/{entries['plain']['id']}"

    admin_client.post(f"{url}/change/", {"key": "renamed", "version": 9})

    assert admin_client.get("/admin/agents/memoryentry/add/").status_code == 403
    assert admin_client.post(f"{url}/delete/", {"post": "yes"}).status_code == 403
    entry = MemoryEntry.objects.get(pk=entries["plain"]["id"])
    assert (entry.key, entry.version) == ("plain-research-entry", 1)
