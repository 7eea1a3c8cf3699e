"""Reviewers acting at once, from parallel sessions against two server processes: an overrun is acknowledged once
and an arbitration decided once, whatever the number of reviewers pressing the button together."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from governance.models import Decision
from intents.models import BudgetOverrun
from openintent_site.models import IntentEvent
from tests.conftest import start_server

OWNER = {"X-API-Key": "agent-research-key"}


@pytest.fixture
def live_servers(server_env, transactional_db, keys):
    """Two server processes of each test's own. The admin history (LogEntry) makes a server process cache content
    type ids, which the database flush between tests renumbers: servers shared with other tests would go stale."""
    servers = [start_server(server_env), start_server(server_env)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def live_server_url(live_servers):
    return live_servers[0].url


def sessions_count():
    return 16 if connection.vendor == "postgresql" else 6


def reviewer_session(server, username):
    client = httpx.Client(base_url=server.url, timeout=60)
    client.get("/admin/login/")
    answer = client.post(
        "/admin/login/",
        data={
            "username": username,
            "password": "pw",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
            "next": "/admin/",
        },
    )
    assert answer.status_code == 302, answer.text
    return client


def all_at_once(servers, path, data):
    count = sessions_count()
    users = get_user_model()
    for index in range(count):
        users.objects.create_superuser(f"reviewer-{index}", f"r{index}@example.test", "pw")
    sessions = [reviewer_session(servers[index % len(servers)], f"reviewer-{index}") for index in range(count)]
    barrier = threading.Barrier(count)

    def press(client):
        client.get(path)  # the confirmation page, and a fresh CSRF cookie
        barrier.wait()
        return client.post(path, data={**data, "csrfmiddlewaretoken": client.cookies["csrftoken"]}).status_code

    with ThreadPoolExecutor(count) as pool:
        statuses = list(pool.map(press, sessions))
    for client in sessions:
        client.close()
    assert set(statuses) == {302}, statuses


def test_an_overrun_pressed_by_every_reviewer_at_once_is_acknowledged_once(live_servers, live_server_url):
    base = live_servers[0].url
    paid = httpx.post(
        f"{base}/api/v1/intents",
        json={"title": "Paid", "constraints": {"budget": {"max_total_cents": 100}}},
        headers=OWNER,
    ).json()
    httpx.post(
        f"{base}/api/v1/intents/{paid['id']}/costs",
        json={"cost_type": "api_call", "amount": 2, "unit": "USD"},
        headers=OWNER,
    )
    overrun = BudgetOverrun.objects.get()

    all_at_once(live_servers, f"/admin/intents/budgetoverrun/{overrun.pk}/acknowledge/", {})

    overrun.refresh_from_db()
    logged = IntentEvent.objects.filter(intent_id=paid["id"], event_type="budget_overrun_acknowledged")
    assert [event.actor for event in logged] == [overrun.acknowledged_by]


def test_an_arbitration_decided_by_every_reviewer_at_once_is_decided_once(live_servers, live_server_url):
    base = live_servers[0].url
    intent = httpx.post(f"{base}/api/v1/intents", json={"title": "Contested"}, headers=OWNER).json()
    arbitration = httpx.post(
        f"{base}/api/v1/intents/{intent['id']}/arbitrate",
        json={"reason": "tie", "options": [{"id": "a"}, {"id": "b"}]},
        headers=OWNER,
    ).json()

    path = f"/admin/governance/arbitrationrequest/{arbitration['id']}/decide/"
    all_at_once(live_servers, path, {"choice": "a", "rationale": "first come", "confirmed": "yes"})

    assert Decision.objects.filter(arbitration_id=arbitration["id"]).count() == 1
    logged = IntentEvent.objects.filter(intent_id=intent["id"], event_type="decision_recorded")
    assert logged.count() == 1
