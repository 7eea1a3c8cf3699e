"""A retry policy carried out by a real Celery worker process, on the broker the deployment uses."""

import httpx

from tests.conftest import wait_for

OWNER = {"X-API-Key": "agent-research-key"}
WORKER = {"X-API-Key": "agent-synth-key"}


def test_worker_runs_the_scheduled_retry_and_reassigns_the_agent(live_server_url, celery_worker):
    intents = f"{live_server_url}/api/v1/intents"
    intent = httpx.post(intents, json={"title": "Flaky export"}, headers=OWNER).json()
    url = f"{intents}/{intent['id']}"
    policy = {"strategy": "fixed", "max_retries": 2, "base_delay_ms": 300, "jitter": False}
    assert httpx.put(f"{url}/retry-policy", json=policy, headers=OWNER).status_code == 200

    failure = httpx.post(f"{url}/failures", json={"error_code": "TIMEOUT"}, headers=WORKER).json()
    assert failure["retry_scheduled_at"] is not None

    def retried():
        events = httpx.get(f"{url}/events", params={"event_type": "agent_assigned"}, headers=OWNER).json()
        return [event for event in events if event["payload"].get("failure_id") == failure["id"]]

    events = wait_for(retried)
    assert celery_worker.poll() is None, celery_worker.stderr.read().decode()[-2000:]
    assert events, "the worker did not run the retry within 60 s"
    assert events[0]["payload"]["agent_id"] == "agent-synth"
    assert events[0]["payload"]["attempt_number"] == 2
    listed = httpx.get(f"{url}/failures", headers=OWNER).json()["failures"]
    assert listed[0]["retried_at"] is not None
    agents = httpx.get(f"{url}/agents", headers=OWNER).json()
    assert [agent["agent_id"] for agent in agents] == ["agent-synth"]
