"""The hourly rate limit of a grant holds across server processes: parallel callers on two servers sharing the
database start no more calls than the limit, whatever the interleaving (the count and the row that counts a call are
written under the grant's row lock). On PostgreSQL with 32 callers, on SQLite with 8."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.db import connection

from agents.vaults.models import Invocation

from .tool_service import tool_service  # noqa: F401  the fixture

LIMIT = 5


def test_parallel_callers_on_two_servers_never_exceed_the_limit(live_servers, live_server_url, tool_service):  # noqa: F811
    callers, calls_each = (32, 3) if connection.vendor == "postgresql" else (8, 3)
    owner = httpx.Client(base_url=live_servers[0].url, headers={"X-API-Key": "dev-user-key"}, timeout=60)
    vault = owner.post("/api/v1/vaults", json={"owner_id": "x", "name": "limits"}).json()
    credential = owner.post(
        "/api/v1/credentials",
        json={"vault_id": vault["id"], "service": "acme", "label": "l", "material": "sk_parallel_secret"},
    ).json()
    tool = owner.post(
        "/api/v1/tools",
        json={"service": "acme", "name": "ping", "url_template": tool_service.url + "/echo/ping"},
    )
    assert tool.status_code == 200, tool.text
    grant = owner.post(
        "/api/v1/grants",
        json={
            "credential_id": credential["id"],
            "agent_id": "agent-busy",
            "granted_by": "x",
            "scopes": ["ping"],
            "constraints": {"max_invocations_per_hour": LIMIT},
        },
    ).json()
    barrier = threading.Barrier(callers)

    def work(index):
        server = live_servers[index % len(live_servers)]
        statuses = []
        with httpx.Client(base_url=server.url, headers={"X-API-Key": "agent-synth-key"}, timeout=60) as client:
            barrier.wait()
            for _ in range(calls_each):
                response = client.post(
                    "/api/v1/tools/invoke", json={"tool_name": "acme.ping", "agent_id": "agent-busy"}
                )
                statuses.append(response.status_code)
                if response.status_code == 429:
                    assert response.json()["error"]["code"] == "GRANT_RATE_LIMITED"
        return statuses

    with ThreadPoolExecutor(callers) as pool:
        outcomes = Counter(status for statuses in pool.map(work, range(callers)) for status in statuses)

    assert outcomes == {200: LIMIT, 429: callers * calls_each - LIMIT}
    assert len(tool_service.received("/echo/ping")) == LIMIT
    rows = Counter(Invocation.objects.filter(grant_id=grant["id"]).values_list("status", flat=True))
    assert rows == {"success": LIMIT, "denied": callers * calls_each - LIMIT}


def test_parallel_retries_with_one_idempotency_key_run_the_call_once(live_servers, live_server_url, tool_service):  # noqa: F811
    callers = 16 if connection.vendor == "postgresql" else 6
    owner = httpx.Client(base_url=live_servers[0].url, headers={"X-API-Key": "dev-user-key"}, timeout=60)
    vault = owner.post("/api/v1/vaults", json={"owner_id": "x", "name": "retries"}).json()
    credential = owner.post(
        "/api/v1/credentials",
        json={"vault_id": vault["id"], "service": "acme", "label": "l", "material": "sk_retry_secret"},
    ).json()
    owner.post("/api/v1/tools", json={"service": "acme", "name": "ping", "url_template": tool_service.url + "/echo/p"})
    owner.post(
        "/api/v1/grants",
        json={"credential_id": credential["id"], "agent_id": "agent-retrying", "granted_by": "x", "scopes": ["ping"]},
    )
    barrier = threading.Barrier(callers)

    def work(index):
        server = live_servers[index % len(live_servers)]
        with httpx.Client(base_url=server.url, headers={"X-API-Key": "agent-synth-key"}, timeout=60) as client:
            barrier.wait()
            response = client.post(
                "/api/v1/tools/invoke",
                json={"tool_name": "acme.ping", "agent_id": "agent-retrying", "idempotency_key": "order-42"},
            )
            return response.status_code, response.json()

    with ThreadPoolExecutor(callers) as pool:
        answers = list(pool.map(work, range(callers)))

    assert len(tool_service.received("/echo/p")) == 1
    assert {status for status, _ in answers} <= {200, 409}
    ran = {body["invocation_id"] for status, body in answers if status == 200}
    assert len(ran) == 1
    assert sum(1 for status, body in answers if status == 200 and not body["idempotent_replay"]) == 1
    assert all("under way" in body["detail"] for status, body in answers if status == 409)
