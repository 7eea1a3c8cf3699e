"""Concurrency proofs: real parallel HTTP clients against two server processes sharing one database.

On PostgreSQL (CI's second run) with 32 clients; on SQLite with 8, to show the embedded set-up holds too.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import httpx
import pytest
from django.db import connection

from intents.models import Lease

KEYS = ["agent-research-key", "agent-synth-key", "dev-user-key"]


def clients_count():
    return 32 if connection.vendor == "postgresql" else 8


def make_client(servers, index):
    server = servers[index % len(servers)]
    return httpx.Client(base_url=server.url, headers={"X-API-Key": KEYS[index % len(KEYS)]}, timeout=60)


def test_parallel_patches_with_retry_lose_no_update(live_servers, live_server_url):
    count, per_client = clients_count(), 4
    owner = make_client(live_servers, 0)
    intent = owner.post("/api/v1/intents", json={"title": "Counter", "initial_state": {}}).json()
    url = f"/api/v1/intents/{intent['id']}"
    conflicts = []

    def work(index):
        client = make_client(live_servers, index)
        successes = 0
        while successes < per_client:
            current = client.get(url).json()
            mine = current["state"].get("counters", {}).get(f"c{index}", 0)
            response = client.post(
                f"{url}/state",
                json={
                    "patches": [
                        {"op": "set", "path": f"/counters/c{index}", "value": mine + 1},
                        {"op": "append", "path": "/log", "value": index},
                    ]
                },
                headers={"If-Match": str(current["version"])},
            )
            if response.status_code == 409:
                assert "lease" not in response.text.lower()
                assert response.json()["current_version"] >= current["version"]
                conflicts.append(index)
                continue
            assert response.status_code == 200, response.text
            successes += 1
        return successes

    with ThreadPoolExecutor(count) as pool:
        committed = sum(pool.map(work, range(count)))

    final = owner.get(url).json()
    assert committed == count * per_client
    assert final["version"] == 1 + committed
    assert final["state"]["counters"] == {f"c{index}": per_client for index in range(count)}
    assert sorted(final["state"]["log"]) == sorted(index for index in range(count) for _ in range(per_client))
    patched = owner.get(f"{url}/events", params={"event_type": "state_patched", "limit": 1000}).json()
    assert len(patched) == committed
    assert conflicts, "the clients never collided, so this run proved nothing"


def test_contenders_for_one_lease_never_see_two_holders(live_servers, live_server_url):
    count, rounds = clients_count(), 5
    owner = make_client(live_servers, 0)
    intent = owner.post("/api/v1/intents", json={"title": "Contended"}).json()
    url = f"/api/v1/intents/{intent['id']}/leases"
    barrier = threading.Barrier(count)
    clients = [make_client(live_servers, index) for index in range(count)]

    def contend(index):
        barrier.wait()
        response = clients[index].post(url, json={"scope": "report", "duration_seconds": 60})
        return index, response

    for _ in range(rounds):
        with ThreadPoolExecutor(count) as pool:
            results = list(pool.map(contend, range(count)))
        granted = [(index, response.json()) for index, response in results if response.status_code == 200]
        refused = [response for _, response in results if response.status_code != 200]
        assert len(granted) == 1
        assert all(response.status_code == 409 and "lease" in response.text.lower() for response in refused)
        assert all(response.json()["existing_lease"]["id"] == granted[0][1]["id"] for response in refused)
        active = owner.get(url).json()["leases"]
        assert [lease["id"] for lease in active] == [granted[0][1]["id"]]
        holder, lease = granted[0]
        assert clients[holder].delete(f"{url}/{lease['id']}").status_code == 200


def test_acquire_and_release_churn_never_overlaps(live_servers, live_server_url):
    count, attempts = clients_count(), 12
    owner = make_client(live_servers, 0)
    intent = owner.post("/api/v1/intents", json={"title": "Churn"}).json()
    url = f"/api/v1/intents/{intent['id']}/leases"
    stop = threading.Event()
    seen_two = []

    def watch():
        while not stop.is_set():
            active = owner.get(url).json()["leases"]
            if len(active) > 1:
                seen_two.append(active)

    def churn(index):
        client = make_client(live_servers, index)
        held = 0
        for _ in range(attempts):
            response = client.post(url, json={"scope": "shared", "duration_seconds": 30})
            if response.status_code == 200:
                held += 1
                assert client.delete(f"{url}/{response.json()['id']}").status_code == 200
            else:
                assert response.status_code == 409
        return held

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(count) as pool:
        granted = sum(pool.map(churn, range(count)))
    stop.set()
    watcher.join()

    assert seen_two == []
    assert granted > 0
    leases = list(Lease.objects.filter(intent_id=intent["id"], scope="shared").order_by("acquired_at"))
    assert len(leases) == granted
    for earlier, later in pairwise(leases):
        ended = earlier.released_at or earlier.expires_at
        assert ended <= later.acquired_at, f"{earlier.pk} and {later.pk} were held at once"


@pytest.mark.postgres
def test_the_database_refuses_a_second_active_lease_whatever_the_code_does(live_server_url):
    if connection.vendor != "postgresql":
        pytest.skip("partial unique indexes are checked here on PostgreSQL; SQLite runs the HTTP proofs above")
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from intents.models import Intent

    intent = Intent.objects.create(title="Direct", created_by="test")
    expires = timezone.now() + timezone.timedelta(minutes=1)
    Lease.objects.create(intent=intent, scope="s", holder="a", expires_at=expires)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lease.objects.create(intent=intent, scope="s", holder="b", expires_at=expires)
