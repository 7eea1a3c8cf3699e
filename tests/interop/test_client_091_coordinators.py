"""The unmodified openintent 0.9.1 client (sync and async) against a live server: coordinator leases, heartbeats and
decision records (RFC-0013). Every coordinator method of both clients is called; the client parses every lease
(whatever status the server gave it) and reads back every event the server logged, guardrail refusals included."""

import textwrap

import pytest

pytestmark = pytest.mark.interop

PERSON_KEY, PERSON = "reviewer-key", "reviewer"  # the Django user key made by the person_api fixture

HELPERS = f"""
import httpx
from openintent.models import CoordinatorLease, CoordinatorStatus, DecisionType

PERSON_KEY, PERSON = {PERSON_KEY!r}, {PERSON!r}


def raw(method, path, key=KEY, **kwargs):
    response = httpx.request(method, URL + "/api/v1" + path, headers={{"X-API-Key": key}}, timeout=10, **kwargs)
    return {{"status": response.status_code, "body": response.json() if response.content else None}}


def as_lease(value):
    assert isinstance(value, CoordinatorLease), type(value)
    assert isinstance(value.status, CoordinatorStatus)
    return value.to_dict()
"""


def test_coordinator_methods_of_the_sync_client(run_client, person_api):
    out = run_client(
        HELPERS
        + textwrap.dedent(
            """
        intent = client.create_intent("Coordinated report")
        guardrails = {"max_budget_usd": 50.0, "max_tasks_per_plan": 2, "on_exceed": "pause"}
        lease = client.create_coordinator_lease(
            AGENT, intent.id, supervisor_id=PERSON, guardrails=guardrails, heartbeat_interval_seconds=30,
            metadata={"team": "ops"},
        )
        out["lease"] = as_lease(lease)
        out["got"] = as_lease(client.get_coordinator_lease(lease.id))
        out["listed"] = [as_lease(item) for item in client.list_coordinator_leases(intent.id)]
        out["heartbeat"] = client.coordinator_heartbeat(lease.id)
        out["foreign_heartbeat"] = caught(lambda: other.coordinator_heartbeat(lease.id))
        out["clash"] = caught(lambda: other.create_coordinator_lease(OTHER_AGENT, intent.id, supervisor_id=PERSON))
        out["no_supervisor"] = caught(lambda: other.create_coordinator_lease(OTHER_AGENT, intent.id))

        tasks = [client.create_task(intent.id, f"t{i}") for i in range(3)]
        out["too_many"] = caught(lambda: client.create_plan(intent.id, tasks=[t.id for t in tasks]))

        out["record"] = client.create_decision_record(
            AGENT, intent.id, DecisionType.PLAN_CREATED, "Two-step plan", "Fits the guardrails",
            alternatives_considered=[{"description": "three steps", "rejected_reason": "over the limit"}],
            confidence=0.9,
        )
        # 0.9.1's own tests post "assignment", outside the RFC's list: refused here, not stored to break reads.
        out["bad_record"] = raw("POST", "/decisions", json={
            "coordinator_id": AGENT, "intent_id": intent.id, "decision_type": "assignment", "summary": "s",
            "rationale": "r",
        })
        out["records"] = client.list_decision_records(intent.id)

        out["pause"] = raw("POST", f"/coordinators/{lease.id}/pause", PERSON_KEY, json={"reason": "review"})
        out["paused"] = as_lease(client.get_coordinator_lease(lease.id))
        out["replace"] = raw("POST", f"/coordinators/{lease.id}/replace", PERSON_KEY, json={"agent_id": OTHER_AGENT})
        out["after"] = [as_lease(item) for item in client.list_coordinator_leases(intent.id)]
        out["events"] = [event["event_type"] for event in as_events(client.get_events(intent.id))]
        """
        )
    )

    lease = out["lease"]
    assert (lease["agent_id"], lease["status"], lease["supervisor_id"]) == ("agent-research", "active", "reviewer")
    assert lease["metadata"] == {"team": "ops"}
    assert lease["guardrails"]["max_tasks_per_plan"] == 2 and lease["guardrails"]["on_exceed"] == "pause"
    assert out["got"]["id"] == lease["id"] and [item["id"] for item in out["listed"]] == [lease["id"]]
    assert out["heartbeat"]["status"] == "ok" and out["heartbeat"]["next_heartbeat_at"]
    assert out["foreign_heartbeat"]["status_code"] == 403
    assert (out["clash"]["type"], out["clash"]["status_code"]) == ("LeaseConflictError", 409)
    assert out["no_supervisor"]["status_code"] == 422
    assert (out["too_many"]["type"], out["too_many"]["status_code"]) == ("ConflictError", 409)
    assert out["too_many"]["response"]["error"] == "guardrail_violation"
    assert out["record"]["decision_type"] == "plan_created" and out["record"]["confidence"] == 0.9
    assert out["bad_record"]["status"] == 422
    assert [record["id"] for record in out["records"]] == [out["record"]["id"]]
    assert out["pause"]["status"] == 200 and out["paused"]["status"] == "paused"
    assert out["replace"]["status"] == 200
    assert [(item["agent_id"], item["status"]) for item in out["after"]] == [
        ("agent-research", "completed"),
        ("agent-synth", "active"),
    ]
    assert {"lease_acquired", "coordinator.decision", "coordinator.paused", "coordinator.replaced"} <= set(
        out["events"]
    )


def test_coordinator_methods_of_the_async_client(run_client, person_api):
    out = run_client(
        HELPERS
        + textwrap.dedent(
            """
        async def main():
            async with AsyncOpenIntentClient(URL, KEY, AGENT) as aclient:
                intent = await aclient.create_intent("Async coordination", "")
                lease = await aclient.create_coordinator_lease(AGENT, intent.id, supervisor_id=PERSON)
                out["lease"] = as_lease(lease)
                out["got"] = as_lease(await aclient.get_coordinator_lease(lease.id))
                out["listed"] = [as_lease(item) for item in await aclient.list_coordinator_leases(intent.id)]
                out["heartbeat"] = await aclient.coordinator_heartbeat(lease.id)
                out["record"] = await aclient.create_decision_record(
                    AGENT, intent.id, DecisionType.TASK_ASSIGNED, "assigned", "capacity"
                )
                out["records"] = await aclient.list_decision_records(intent.id)

        asyncio.run(main())
        """
        )
    )

    assert out["lease"]["status"] == "active"
    assert out["got"]["id"] == out["lease"]["id"] == out["listed"][0]["id"]
    assert out["heartbeat"]["status"] == "ok"
    assert [record["id"] for record in out["records"]] == [out["record"]["id"]]
