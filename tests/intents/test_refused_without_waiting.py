"""Losers of a race are refused from what is committed, without queueing on the intent's row lock; the locked checks
still decide every write that gets past them.

Each test holds a lock from a connection of its own, as a writer in the middle of its transaction would, and sends
requests to a live server meanwhile. A request that queued on that lock would not be answered before the test lets
go of it: the client's timeout then fails the test. PostgreSQL only: SQLite takes no row locks.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from django.db import connection

from intents.models import Intent, Lease

pytestmark = pytest.mark.postgres

# Long enough for a loaded machine; a request that waits on the test's lock never comes back within it.
TIMEOUT = 20


@pytest.fixture
def database_url(server_env):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers")
    return server_env["DATABASE_URL"]


@pytest.fixture
def client(live_server_url):
    with httpx.Client(base_url=live_server_url, headers={"X-API-Key": "agent-research-key"}, timeout=TIMEOUT) as c:
        yield c


@pytest.fixture
def rival(live_server_url):
    with httpx.Client(base_url=live_server_url, headers={"X-API-Key": "agent-synth-key"}, timeout=TIMEOUT) as c:
        yield c


@contextmanager
def writer_holding(database_url, intent_id):
    """A transaction of another connection that holds the intent's row lock, as a write in progress does."""
    import psycopg

    with psycopg.connect(database_url) as writer:
        writer.execute(f"SELECT 1 FROM {Intent._meta.db_table} WHERE id = %s FOR NO KEY UPDATE", [intent_id])
        yield writer
        writer.rollback()


def until_a_request_waits_on_a_lock(database_url):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as watcher:
        for _ in range(TIMEOUT * 20):
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("no request ever waited on the lock")


def new_intent(client, **fields):
    response = client.post("/api/v1/intents", json={"title": "Contended", **fields})
    assert response.status_code == 200, response.text
    return response.json()


def patch(client, intent, version, value="x"):
    body = {"patches": [{"op": "set", "path": "/key", "value": value}]}
    return client.post(f"/api/v1/intents/{intent['id']}/state", json=body, headers={"If-Match": str(version)})


def test_a_stale_patch_is_refused_while_a_writer_holds_the_intent(database_url, client):
    intent = new_intent(client)
    assert patch(client, intent, 1, "first").status_code == 200

    with writer_holding(database_url, intent["id"]):
        refused = patch(client, intent, 1, "stale")

    assert refused.status_code == 409
    assert refused.json()["current_version"] == 2
    assert "lease" not in refused.text.lower()
    assert client.get(f"/api/v1/intents/{intent['id']}").json()["state"] == {"key": "first"}


def test_a_stale_status_change_is_refused_while_a_writer_holds_the_intent(database_url, client):
    intent = new_intent(client, status="active")
    assert patch(client, intent, 1).status_code == 200

    with writer_holding(database_url, intent["id"]):
        refused = client.post(
            f"/api/v1/intents/{intent['id']}/status", json={"status": "completed"}, headers={"If-Match": "1"}
        )

    assert refused.status_code == 409
    assert refused.json()["current_version"] == 2
    assert client.get(f"/api/v1/intents/{intent['id']}").json()["status"] == "active"


def test_an_intent_the_writer_may_not_touch_is_refused_as_such_not_as_a_conflict(database_url, client, rival):
    intent = new_intent(client)
    assert patch(client, intent, 1).status_code == 200
    closed = client.put(f"/api/v1/intents/{intent['id']}/acl", json={"default_policy": "closed", "entries": []})
    assert closed.status_code == 200, closed.text

    with writer_holding(database_url, intent["id"]):
        stale = patch(rival, intent, 1)
        unknown = patch(rival, {"id": str(uuid.uuid4())}, 1)

    assert stale.status_code == 403
    assert stale.json()["required_permission"] == "write"
    assert "current_version" not in stale.json()
    assert unknown.status_code == 404


def test_a_patch_that_matched_before_the_lock_is_judged_again_under_it(database_url, client):
    """A version that matched when read without the lock proves nothing: the write in progress may move it."""
    intent = new_intent(client)
    table = Intent._meta.db_table

    with ThreadPoolExecutor(1) as pool, writer_holding(database_url, intent["id"]) as writer:
        waiting = pool.submit(patch, client, intent, 1, "late")
        until_a_request_waits_on_a_lock(database_url)
        writer.execute(f"UPDATE {table} SET version = version + 1 WHERE id = %s", [intent["id"]])
        writer.commit()
        refused = waiting.result()

    assert refused.status_code == 409
    assert refused.json()["current_version"] == 2
    assert client.get(f"/api/v1/intents/{intent['id']}").json()["state"] == {}


def test_an_attempt_on_a_held_scope_is_refused_while_the_intent_is_locked(database_url, client, rival):
    intent = new_intent(client)
    url = f"/api/v1/intents/{intent['id']}/leases"
    held = client.post(url, json={"scope": "report", "duration_seconds": 60}).json()

    with writer_holding(database_url, intent["id"]):
        refused = rival.post(url, json={"scope": "report", "duration_seconds": 60})

    assert refused.status_code == 409
    assert "lease" in refused.text.lower()
    assert refused.json()["existing_lease"] == held


def test_a_contender_that_found_the_scope_free_is_refused_by_a_grant_made_while_it_waited(database_url, client, rival):
    intent = new_intent(client)
    url = f"/api/v1/intents/{intent['id']}/leases"
    granted = str(uuid.uuid4())

    with ThreadPoolExecutor(1) as pool, writer_holding(database_url, intent["id"]) as writer:
        waiting = pool.submit(rival.post, url, json={"scope": "report", "duration_seconds": 60})
        until_a_request_waits_on_a_lock(database_url)
        writer.execute(
            f"INSERT INTO {Lease._meta.db_table} (id, intent_id, scope, holder, status, acquired_at, expires_at)"
            " VALUES (%s, %s, 'report', 'agent-research', 'active', now(), now() + interval '1 minute')",
            [granted, intent["id"]],
        )
        writer.commit()
        refused = waiting.result()

    assert refused.status_code == 409
    assert refused.json()["existing_lease"]["id"] == granted
    assert [lease["id"] for lease in client.get(url).json()["leases"]] == [granted]


def test_a_release_is_not_held_up_by_a_writer_of_the_intent(database_url, client):
    intent = new_intent(client)
    url = f"/api/v1/intents/{intent['id']}/leases"
    lease = client.post(url, json={"scope": "report", "duration_seconds": 60}).json()

    with writer_holding(database_url, intent["id"]):
        released = client.delete(f"{url}/{lease['id']}")

    assert released.status_code == 200
    assert released.json() == {"message": "Lease released"}
    assert client.get(url).json()["leases"] == []
