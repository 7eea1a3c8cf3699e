"""Claiming a task is a lease with one holder, proven with real parallel claimers against two server processes
sharing one database (32 clients on PostgreSQL, CI's second run; 8 on SQLite)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.db import connection

from intents.models import Lease, Task

KEYS = ["agent-research-key", "agent-synth-key", "dev-user-key"]


def clients_count():
    return 32 if connection.vendor == "postgresql" else 8


def make_client(servers, index):
    server = servers[index % len(servers)]
    # Each client acts as an agent of its own, so that each claim is a different claimer.
    headers = {"X-API-Key": KEYS[index % len(KEYS)], "X-Agent-ID": f"worker-{index}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


def test_parallel_claimers_of_one_task_leave_exactly_one_holder(live_servers, live_server_url):
    count, rounds = clients_count(), 4
    owner = make_client(live_servers, 0)
    intent = owner.post("/api/v1/intents", json={"title": "Contended tasks"}).json()
    clients = [make_client(live_servers, index) for index in range(count)]

    for _ in range(rounds):
        task = owner.post("/api/v1/tasks", json={"intent_id": intent["id"], "name": "hot"}).json()
        assert task["status"] == "ready"
        barrier = threading.Barrier(count)

        def claim(index, task=task, barrier=barrier):
            barrier.wait()
            return index, clients[index].post(f"/api/v1/tasks/{task['id']}/claim")

        with ThreadPoolExecutor(count) as pool:
            results = list(pool.map(claim, range(count)))

        granted = [(index, response.json()) for index, response in results if response.status_code == 200]
        refused = [response for _, response in results if response.status_code != 200]
        assert len(granted) == 1, [r.status_code for _, r in results]
        winner, claimed = granted[0]
        assert claimed["assigned_agent"] == f"worker-{winner}"
        assert all(response.status_code == 409 for response in refused), [r.text for r in refused]
        # Refused as a lease conflict (the 0.9.1 client's LeaseConflictError), naming the winner's lease; or, for a
        # claimer that read the task after the winner's claim had committed, as the move it no longer allows.
        for response in refused:
            answer = response.json()
            if "lease" in answer["detail"].lower():
                assert answer["existing_lease"]["id"] == claimed["lease_id"]
            else:
                assert answer["current_status"] == "claimed"

        stored = Task.objects.get(pk=task["id"])
        assert (stored.status, stored.assigned_agent, str(stored.lease_id)) == (
            "claimed",
            f"worker-{winner}",
            claimed["lease_id"],
        )
        assert Lease.objects.filter(scope=f"task:{task['id']}", status="active").count() == 1
        events = owner.get(
            f"/api/v1/intents/{intent['id']}/events", params={"event_type": "task.claimed", "limit": 1000}
        ).json()
        assert [event["payload"]["task_id"] for event in events].count(task["id"]) == 1
