"""The unmodified openintent 0.9.1 client (sync and async) against a live server: tasks and plans (RFC-0012).

Every task and plan method of both clients is called; the server enforces the state machine, resolves dependencies
and pauses at checkpoints, and the client parses every answer and reads back every event the server logged."""

import textwrap

import pytest

pytestmark = pytest.mark.interop

# Raw HTTP beside the client, for the routes 0.9.1's client has no method for (checkpoint decisions).
HELPERS = """
import httpx
from openintent.models import Plan, PlanState, Task, TaskStatus


def raw(method, path, key=KEY, **kwargs):
    response = httpx.request(method, URL + "/api/v1" + path, headers={"X-API-Key": key}, timeout=10, **kwargs)
    return {"status": response.status_code, "body": response.json() if response.content else None}


def as_task(value):
    assert isinstance(value, Task), type(value)
    assert isinstance(value.status, TaskStatus)
    return value.to_dict()


def as_plan(value):
    assert isinstance(value, Plan), type(value)
    assert isinstance(value.state, PlanState)
    return value.to_dict()
"""


def test_task_and_plan_methods_of_the_sync_client(run_client):
    out = run_client(
        HELPERS
        + textwrap.dedent(
            """
        intent = client.create_intent("Quarterly compliance report")
        fetch = client.create_task(intent.id, "fetch", input={"quarter": "Q1"}, capabilities_required=["finance"],
                                   metadata={"team": "data"}, requires_tools=[{"service": "accounting"}])
        analyse = client.create_task(intent.id, "analyse", depends_on=[fetch.id], timeout_seconds=300)
        report = client.create_task(intent.id, "report", depends_on=[analyse.id])
        out["created"] = [as_task(t) for t in (fetch, analyse, report)]

        plan = client.create_plan(
            intent.id,
            tasks=[fetch.id, analyse.id, report.id],
            checkpoints=[{"id": "cp1", "name": "review", "after_task": analyse.id, "approvers": [AGENT]}],
            metadata={"owner": "ops"},
        )
        out["plan"] = as_plan(plan)
        out["bad_plan"] = caught(lambda: client.create_plan(intent.id, on_failure="abort"))
        plan = client.update_plan(plan.id, plan.version, state="active")
        out["activated"] = as_plan(plan)
        out["stale_plan"] = caught(lambda: client.update_plan(plan.id, plan.version - 1, state="paused"))

        def run(task, output):
            task = client.update_task(task.id, task.version, status="claimed")
            task = client.update_task(task.id, task.version, status="running")
            return client.update_task(task.id, task.version, status="completed", output=output)

        out["illegal"] = caught(lambda: client.update_task(report.id, report.version, status="completed"))
        fetch = client.get_task(fetch.id)
        out["stale_task"] = caught(lambda: client.update_task(fetch.id, fetch.version - 1, status="claimed"))
        out["fetch_done"] = as_task(run(fetch, {"rows": 3}))
        analyse = client.get_task(analyse.id)
        out["analyse_ready"] = as_task(analyse)
        out["analyse_done"] = as_task(run(analyse, {"ok": True}))
        out["paused"] = as_plan(client.get_plan(plan.id))
        checkpoint_id = raw("GET", f"/plans/{plan.id}")["body"]["checkpoints"][0]["checkpoint_id"]
        out["approved"] = raw("POST", f"/checkpoints/{checkpoint_id}/approve")["status"]
        report = client.get_task(report.id)
        out["report_done"] = as_task(run(report, {"url": "r.pdf"}))
        out["finished"] = as_plan(client.get_plan(plan.id))

        out["listed"] = [t.name for t in client.list_tasks(intent.id)]
        out["listed_completed"] = [t.name for t in client.list_tasks(intent.id, status=TaskStatus.COMPLETED, limit=2)]
        out["plans"] = [as_plan(p) for p in client.list_plans(intent.id)]
        out["missing"] = caught(lambda: client.get_task(MISSING))
        out["events"] = [e.event_type.value for e in client.get_events(intent.id, limit=200)]
        """
        )
    )

    fetch, analyse, report = out["created"]
    assert (fetch["status"], analyse["status"], report["status"]) == ("ready", "pending", "pending")
    assert fetch["metadata"] == {"team": "data"}
    assert fetch["requires_tools"] == [{"service": "accounting", "scopes": [], "required": True}]
    assert analyse["depends_on"] == [fetch["id"]]
    assert out["plan"]["state"] == "draft"
    assert out["plan"]["metadata"] == {"owner": "ops"}
    assert out["plan"]["checkpoints"][0]["after_task"] == analyse["id"]
    assert out["bad_plan"]["status_code"] == 422
    assert out["activated"]["state"] == "active"
    assert out["stale_plan"]["type"] == "ConflictError"
    assert out["illegal"]["type"] == "ConflictError"
    assert out["illegal"]["message"] == "Cannot change status from pending to completed"
    assert out["stale_task"]["type"] == "ConflictError"
    assert out["fetch_done"]["status"] == "completed"
    assert out["fetch_done"]["output"] == {"rows": 3}
    assert out["analyse_ready"]["status"] == "ready"
    assert out["paused"]["state"] == "paused"
    assert out["paused"]["checkpoints"][0]["status"] == "waiting"
    assert out["approved"] == 200
    assert out["report_done"]["status"] == "completed"
    assert out["finished"]["state"] == "completed"
    assert out["listed"] == ["fetch", "analyse", "report"]
    assert out["listed_completed"] == ["fetch", "analyse"]
    assert [p["state"] for p in out["plans"]] == ["completed"]
    assert out["missing"]["type"] == "NotFoundError"
    # The log comes newest first.
    assert [e for e in reversed(out["events"]) if e.startswith(("task.", "plan."))] == [
        "task.created",
        "task.ready",
        "task.created",
        "task.created",
        "plan.created",
        "plan.activated",
        "task.claimed",
        "task.started",
        "task.completed",
        "task.ready",
        "task.claimed",
        "task.started",
        "task.completed",
        "task.ready",
        "plan.checkpoint_reached",
        "plan.paused",
        "plan.checkpoint_approved",
        "plan.resumed",
        "task.claimed",
        "task.started",
        "task.completed",
        "plan.completed",
    ]


def test_task_and_plan_methods_of_the_async_client(run_client):
    out = run_client(
        HELPERS
        + textwrap.dedent(
            """
        async def main():
            async with AsyncOpenIntentClient(URL, KEY, AGENT) as aclient:
                intent = await aclient.create_intent("Async plan", "")
                task = await aclient.create_task(intent.id, "only", metadata={"k": 1})
                plan = await aclient.create_plan(intent.id, tasks=[task.id])
                plan = await aclient.update_plan(plan.id, plan.version, state="active")
                out["plan"] = as_plan(plan)
                task = await aclient.update_task(task.id, task.version, status="claimed")
                task = await aclient.update_task(task.id, task.version, status="running")
                task = await aclient.update_task(task.id, task.version, output={"partial": 1})
                out["partial"] = as_task(task)
                task = await aclient.update_task(task.id, task.version, status="completed", output={"done": 1})
                out["task"] = as_task(await aclient.get_task(task.id))
                out["listed"] = [t.name for t in await aclient.list_tasks(intent.id)]
                out["plans"] = [as_plan(p) for p in await aclient.list_plans(intent.id)]
                out["got"] = as_plan(await aclient.get_plan(plan.id))

        asyncio.run(main())
        """
        )
    )

    assert out["plan"]["state"] == "active"
    assert out["partial"]["output"] == {"partial": 1}
    assert out["task"]["status"] == "completed"
    assert out["task"]["output"] == {"done": 1}
    assert out["task"]["metadata"] == {"k": 1}
    assert out["listed"] == ["only"]
    assert out["got"]["state"] == "completed"
    assert [p["id"] for p in out["plans"]] == [out["got"]["id"]]
