"""One live coordinator per intent and per portfolio, proven with real parallel clients against two server processes
sharing one database (32 clients on PostgreSQL, CI's second run; 8 on SQLite): exactly one grant wins each round,
every other is a 409 naming the winner's lease, and the database holds one live lease."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.contrib.auth import get_user_model
from django.db import connection

from governance.coordinators.models import LIVE, CoordinatorLease

KEYS = ["agent-research-key", "agent-synth-key", "dev-user-key"]


def clients_count():
    return 32 if connection.vendor == "postgresql" else 8


def make_client(servers, index):
    server = servers[index % len(servers)]
    headers = {"X-API-Key": KEYS[index % len(KEYS)], "X-Agent-ID": f"coordinator-{index}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


def race(clients, body_for):
    count = len(clients)
    barrier = threading.Barrier(count)

    def grant(index):
        barrier.wait()
        return index, clients[index].post("/api/v1/coordinators", json=body_for(index))

    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(grant, range(count)))
    granted = [(index, response.json()) for index, response in results if response.status_code == 200]
    assert len(granted) == 1, [(r.status_code, r.text[:200]) for _, r in results]
    winner, lease = granted[0]
    assert lease["agent_id"] == f"coordinator-{winner}"
    for _, response in results:
        if response.status_code != 200:
            assert response.status_code == 409, response.text
            assert "lease" in response.json()["detail"]
            assert response.json()["existing_lease"]["id"] == lease["id"]
    return lease


def test_parallel_grants_leave_one_live_coordinator(live_servers, live_server_url):
    get_user_model().objects.create_user("race-supervisor")
    count = clients_count()
    owner = make_client(live_servers, 0)
    clients = [make_client(live_servers, index) for index in range(count)]

    for _ in range(3):
        intent = owner.post("/api/v1/intents", json={"title": "Contended coordination"}).json()
        lease = race(
            clients,
            lambda index, intent=intent: {
                "agent_id": f"coordinator-{index}",
                "intent_id": intent["id"],
                "supervisor_id": "race-supervisor",
            },
        )
        assert CoordinatorLease.objects.filter(intent_id=intent["id"], status__in=LIVE).count() == 1
        events = owner.get(f"/api/v1/intents/{intent['id']}/events", params={"event_type": "lease_acquired"}).json()
        assert [event["payload"]["coordinator_lease_id"] for event in events] == [lease["id"]]

    portfolio = owner.post("/api/v1/portfolios", json={"name": "Contended", "created_by": "owner"}).json()
    race(
        clients,
        lambda index: {
            "agent_id": f"coordinator-{index}",
            "portfolio_id": portfolio["id"],
            "scope": "portfolio",
            "supervisor_id": "race-supervisor",
        },
    )
    assert CoordinatorLease.objects.filter(portfolio_id=portfolio["id"], status__in=LIVE).count() == 1
