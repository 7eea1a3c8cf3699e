"""Concurrency of agent memory, proven with real parallel HTTP clients against several server processes sharing one
database: the database decides each race (unique constraints, a conditional UPDATE, a per-agent lock on the tier
being counted), so there is one winner whatever the interleaving.

On PostgreSQL (CI's second run) with 24 clients; on SQLite with 8, to show the embedded set-up holds too."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from agents.models import MemoryEntry, MemoryEvent
from tests.conftest import start_server

KEY = "agent-research-key"
AGENT = "racer"
CAPACITY = 5


def clients_count():
    return 24 if connection.vendor == "postgresql" else 8


@pytest.fixture(scope="module")
def tight_servers(server_env):
    """Two server processes whose working and episodic tiers hold CAPACITY entries per agent."""
    env = {
        **server_env,
        "OPENINTENT_MEMORY_WORKING_CAPACITY": str(CAPACITY),
        "OPENINTENT_MEMORY_EPISODIC_CAPACITY": str(CAPACITY),
    }
    servers = [start_server(env), start_server(env)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def clients(tight_servers, transactional_db, keys):
    """One client per racer, spread over the servers, all acting as the same agent through a shared key."""
    made = [
        httpx.Client(
            base_url=tight_servers[index % len(tight_servers)].url,
            headers={"X-API-Key": KEY, "X-Agent-ID": AGENT},
            timeout=60,
        )
        for index in range(clients_count())
    ]
    yield made
    for client in made:
        client.close()


def race(clients, request):
    """Run ``request(index, client)`` in every client at once (after a barrier); the responses in client order."""
    barrier = threading.Barrier(len(clients))

    def run(index):
        barrier.wait()
        return request(index, clients[index])

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(run, range(len(clients))))


def body(key, **fields):
    return {"agent_id": AGENT, "namespace": "race", "key": key, "value": {"k": key}, **fields}


def test_racing_creates_of_one_key_leave_one_entry(clients):
    for tier in ("working", "episodic", "semantic"):
        responses = race(
            clients,
            lambda index, client, tier=tier: client.post("/api/v1/memory", json=body(tier, memory_type=tier)),
        )

        created = [response.json() for response in responses if response.status_code == 200]
        refused = [response for response in responses if response.status_code != 200]
        assert len(created) == 1, [response.text for response in responses]
        assert all(response.status_code == 409 for response in refused), [response.text for response in refused]
        assert {response.json()["entry_id"] for response in refused} == {created[0]["id"]}
        assert all(response.json()["current_version"] == 1 for response in refused)
        assert MemoryEntry.objects.filter(namespace="race", key=tier).count() == 1


def test_racing_updates_from_one_version_have_one_winner(clients):
    entry = clients[0].post("/api/v1/memory", json=body("counter")).json()

    responses = race(
        clients,
        lambda index, client: client.patch(
            f"/api/v1/memory/{entry['id']}", json={"value": {"writer": index}}, headers={"If-Match": "1"}
        ),
    )

    winners = [index for index, response in enumerate(responses) if response.status_code == 200]
    assert len(winners) == 1, [response.text for response in responses]
    losers = [response for response in responses if response.status_code != 200]
    assert all(response.status_code == 409 for response in losers)
    assert all(response.json()["current_version"] == 2 for response in losers)
    stored = MemoryEntry.objects.get(pk=entry["id"])
    assert (stored.version, stored.value) == (2, {"writer": winners[0]})
    assert MemoryEvent.objects.filter(entry_id=entry["id"], event_type="memory.updated").count() == 1


def test_racing_creates_never_overfill_working_memory(clients):
    responses = race(clients, lambda index, client: client.post("/api/v1/memory", json=body(f"w{index}")))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * CAPACITY + [429] * (len(clients) - CAPACITY), [r.text for r in responses]
    assert MemoryEntry.objects.filter(agent_id=AGENT, memory_type="working").count() == CAPACITY


def test_racing_creates_keep_episodic_memory_at_its_capacity(clients):
    responses = race(
        clients,
        lambda index, client: client.post("/api/v1/memory", json=body(f"e{index}", memory_type="episodic")),
    )

    assert all(response.status_code == 200 for response in responses), [r.text for r in responses]
    assert MemoryEntry.objects.filter(agent_id=AGENT, memory_type="episodic").count() == CAPACITY
    assert MemoryEvent.objects.filter(event_type="memory.evicted").count() == len(clients) - CAPACITY
