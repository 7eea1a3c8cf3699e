"""The unmodified openintent 0.9.1 client against a live server: the agent registry and health (RFC-0016).

Against 0.9.1's own server, registering an id twice was a text/plain 500 that also broke the client's next call,
and an out-of-enum status made every later read of the agent raise. Here a restart's registration refreshes the
record, bad statuses are refused, and a dead agent's expired lease is logged in a form ``get_events`` parses."""

from datetime import timedelta
from textwrap import dedent

import pytest
from django.db.models import F

from agents.models import Agent
from agents.registry.services import sweep_health

pytestmark = pytest.mark.interop

AS_AGENT = """
from openintent.models import AgentRecord, AgentStatus

def as_agent(value):
    assert isinstance(value, AgentRecord), type(value)
    data = value.to_dict()
    data["status_is_enum"] = isinstance(value.status, AgentStatus)
    data["parsed_metadata"] = value.metadata
    data["max_concurrent_tasks"] = value.capacity.max_concurrent_tasks if value.capacity else None
    data["current_load"] = value.capacity.current_load if value.capacity else None
    data["thresholds"] = value.heartbeat_config.to_dict() if value.heartbeat_config else None
    return data

worker = OpenIntentClient(URL, KEY, "worker-1")
"""


def test_registry_methods_of_the_sync_client(run_client):
    out = run_client(
        AS_AGENT
        + dedent(
            """
        config = {"interval_seconds": 5, "unhealthy_after_seconds": 15, "dead_after_seconds": 40}
        out["registered"] = as_agent(worker.register_agent(
            "worker-1", capabilities=["search"], role_id="research", name="Worker one",
            capacity={"max_concurrent_tasks": 3}, heartbeat_config=config, metadata={"build": "42"},
        ))
        # A restart registers again: a refresh, and the same client object keeps working.
        out["again"] = as_agent(worker.register_agent("worker-1", capabilities=["search", "news"], role_id="research",
                                                      heartbeat_config=config))
        out["record"] = as_agent(worker.get_agent_record("worker-1"))
        out["heartbeat"] = worker.agent_heartbeat("worker-1", current_load=2, tasks_in_progress=["t1", "t2"])
        out["loaded"] = as_agent(worker.get_agent_record("worker-1"))
        out["taken_id"] = caught(lambda: other.register_agent("worker-1"))
        out["stranger_heartbeat"] = caught(lambda: other.agent_heartbeat("worker-1"))
        out["stranger_drain"] = caught(lambda: other.update_agent_status("worker-1", "draining"))
        out["bad_status"] = caught(lambda: worker.update_agent_status("worker-1", "retired"))
        out["missing"] = caught(lambda: client.get_agent_record("nobody"))
        helper = OpenIntentClient(URL, KEY, "helper-1")
        helper.register_agent("helper-1", capabilities=["prose"], role_id="writing")
        out["all"] = [(a.agent_id, a.status.value) for a in client.list_agents()]
        out["research"] = [a.agent_id for a in client.list_agents(role_id="research")]
        out["drained"] = worker.update_agent_status("worker-1", "draining")
        out["active"] = [a.agent_id for a in client.list_agents(status="active")]
        out["draining"] = [as_agent(a)["status"] for a in client.list_agents(status="draining")]
        """
        )
    )

    registered = out["registered"]
    assert registered["agent_id"] == "worker-1"
    assert registered["status"] == "active" and registered["status_is_enum"]
    assert registered["parsed_metadata"] == {"build": "42"}
    assert registered["max_concurrent_tasks"] == 3
    assert registered["thresholds"] == {"interval_seconds": 5, "unhealthy_after_seconds": 15, "dead_after_seconds": 40}
    assert out["again"]["capabilities"] == ["search", "news"]
    assert out["again"]["version"] == 2
    assert out["record"]["capabilities"] == ["search", "news"]
    assert out["heartbeat"]["status"] == "ok"
    assert out["heartbeat"]["agent_status"] == "active"
    assert out["heartbeat"]["pending_commands"] == []
    assert out["loaded"]["current_load"] == 2
    assert out["taken_id"]["status_code"] == 409
    assert out["taken_id"]["type"] == "ConflictError"
    assert out["stranger_heartbeat"]["status_code"] == 403
    assert out["stranger_drain"]["status_code"] == 403
    assert out["bad_status"]["status_code"] == 422
    assert out["missing"]["type"] == "NotFoundError"
    assert out["all"] == [["worker-1", "active"], ["helper-1", "active"]]
    assert out["research"] == ["worker-1"]
    assert out["drained"]["status"] == "draining"
    assert out["drained"]["agent_metadata"] == {}
    assert out["active"] == ["helper-1"]
    assert out["draining"] == ["draining"]


def test_a_dead_agents_lease_expires_readably_and_another_agent_takes_the_scope(run_client):
    first = run_client(
        AS_AGENT
        + dedent(
            """
        worker.register_agent("worker-1", heartbeat_config={"interval_seconds": 5})
        intent = client.create_intent("Nightly import")
        lease = worker.acquire_lease(intent.id, "import", duration_seconds=3600)
        out["intent_id"] = intent.id
        out["lease_id"] = lease.id
        out["taken"] = caught(lambda: other.acquire_lease(intent.id, "import"))
        """
        )
    )
    assert first["taken"]["type"] == "LeaseConflictError"

    # Five minutes of silence, as far as the server's records go; then the sweep a Celery beat would run.
    back = timedelta(minutes=5)
    Agent.objects.filter(pk="worker-1").update(
        last_heartbeat_at=F("last_heartbeat_at") - back,
        unhealthy_at=F("unhealthy_at") - back,
        dead_at=F("dead_at") - back,
    )
    assert sweep_health()["dead"] == 1

    second = run_client(
        AS_AGENT
        + dedent(
            f"""
        intent_id = {first["intent_id"]!r}
        out["record"] = as_agent(client.get_agent_record("worker-1"))
        out["events"] = as_events(client.get_events(intent_id))
        out["heartbeat"] = caught(lambda: worker.agent_heartbeat("worker-1"))
        out["taken"] = other.acquire_lease(intent_id, "import").to_dict()
        out["leases"] = [lease.to_dict() for lease in client.get_leases(intent_id)]
        out["back"] = as_agent(worker.register_agent("worker-1"))
        """
        )
    )

    assert second["record"]["status"] == "dead"
    events = {event["event_type"]: event for event in second["events"]}
    assert all(event["event_type_is_enum"] for event in second["events"])
    assert events["lease_released"]["payload"]["reason"] == "agent_dead"
    assert events["lease_released"]["payload"]["lease_id"] == first["lease_id"]
    assert events["agent.lifecycle"]["payload"]["new_status"] in {"unhealthy", "dead"}
    assert second["heartbeat"]["status_code"] == 410
    assert second["taken"]["agent_id"] == "agent-synth"
    assert second["back"]["status"] == "active"
    assert second["back"]["version"] == 1


def test_registry_methods_of_the_async_client(run_client):
    out = run_client(
        AS_AGENT
        + dedent(
            """
        async def main():
            worker = AsyncOpenIntentClient(URL, KEY, "async-1")
            stranger = AsyncOpenIntentClient(URL, OTHER_KEY, OTHER_AGENT)
            out["registered"] = as_agent(await worker.register_agent("async-1", capabilities=["search"]))
            out["again"] = as_agent(await worker.register_agent("async-1", capabilities=["search"]))
            out["heartbeat"] = await worker.agent_heartbeat("async-1", current_load=1)
            out["record"] = as_agent(await worker.get_agent_record("async-1"))
            out["listed"] = [a.agent_id for a in await worker.list_agents(status="active")]
            out["stranger"] = await caught_async(stranger.agent_heartbeat("async-1"))
            out["drained"] = await worker.update_agent_status("async-1", "draining")
            out["after"] = await worker.agent_heartbeat("async-1")

        asyncio.run(main())
        """
        )
    )

    assert out["registered"]["status_is_enum"] and out["registered"]["status"] == "active"
    assert out["again"]["version"] == 1  # the same registration again: idempotent
    assert out["heartbeat"]["status"] == "ok"
    assert out["record"]["current_load"] == 1
    assert out["listed"] == ["async-1"]
    assert out["stranger"]["status_code"] == 403
    assert out["drained"]["status"] == "draining"
    assert out["after"]["agent_status"] == "draining"
