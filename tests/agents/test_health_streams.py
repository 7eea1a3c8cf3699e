"""A server-initiated drain reaches the agent on its stream (``/api/v1/agents/{id}/subscribe``), through a live server:
the lifecycle event is written into the logs of the intents the agent works on, which its stream follows."""

import httpx
import pytest

from openintent_site.models import ApiKey
from tests.intents.test_streams import SSEReader

AGENT = {"X-API-Key": "dev-user-key", "X-Agent-ID": "billing-1"}


@pytest.fixture
def staff_key(live_server_url, django_user_model):
    operator = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    api_key = ApiKey(user=operator, name="test")
    api_key.set_key("operator-key")
    api_key.save()
    return {"X-API-Key": "operator-key"}


def test_a_drain_asked_by_an_administrator_reaches_the_agents_stream_and_heartbeat(live_server_url, staff_key):
    api = httpx.Client(base_url=f"{live_server_url}/api/v1", timeout=10)
    assert api.post("/agents/register", json={"agent_id": "billing-1"}, headers=AGENT).status_code == 200
    intent = api.post("/intents", json={"title": "Invoices"}, headers=AGENT).json()
    assert api.post(f"/intents/{intent['id']}/leases", json={"scope": "batch"}, headers=AGENT).status_code == 200
    reader = SSEReader(f"{live_server_url}/api/v1/agents/billing-1/subscribe", AGENT)
    try:
        assert reader.response.status_code == 200

        drained = api.patch(
            "/agents/billing-1/status", json={"status": "draining", "reason": "maintenance"}, headers=staff_key
        )

        assert drained.status_code == 200, drained.text
        frame = reader.next()
        while frame["event"] != "AGENT.LIFECYCLE":
            frame = reader.next()
        payload = frame["data"]["payload"]
        assert (payload["agent_id"], payload["new_status"], payload["reason"]) == (
            "billing-1",
            "draining",
            "drain_requested",
        )
        assert payload["command"] == "drain"
        assert frame["data"]["intent_id"] == intent["id"]
        assert frame["data"]["actor"] == "operator"
    finally:
        reader.close()
    answer = api.post("/agents/billing-1/heartbeat", json={}, headers=AGENT).json()
    assert answer["pending_commands"][0]["reason"] == "maintenance"
    refused = api.post(f"/intents/{intent['id']}/leases", json={"scope": "more"}, headers=AGENT)
    assert refused.status_code == 409
