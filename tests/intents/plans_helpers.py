"""Request helpers shared by the task and plan tests (RFC-0012)."""

from tests.conftest import event_log

TASKS = "/api/v1/tasks"
PLANS = "/api/v1/plans"


def create_task(client, intent, name="step", **fields):
    response = client.post(TASKS, {"intent_id": intent["id"], "name": name, **fields}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def get_task(client, task):
    response = client.get(f"{TASKS}/{task['id']}")
    assert response.status_code == 200, response.content
    return response.json()


def act(client, task, move, data=None, **headers):
    """POST /tasks/{id}/<move>."""
    return client.post(f"{TASKS}/{task['id']}/{move}", data, format="json", **headers)


def done(client, task, move, data=None):
    response = act(client, task, move, data)
    assert response.status_code == 200, response.content
    return response.json()


def run_to_completion(client, task, output=None):
    done(client, task, "claim")
    done(client, task, "start")
    return done(client, task, "complete", {"output": output or {"ok": True}})


def create_plan(client, intent, tasks, **fields):
    response = client.post(
        PLANS, {"intent_id": intent["id"], "tasks": [t["id"] for t in tasks], **fields}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def get_plan(client, plan):
    response = client.get(f"{PLANS}/{plan['id']}")
    assert response.status_code == 200, response.content
    return response.json()


def plan_act(client, plan, move, version=None, data=None):
    version = get_plan(client, plan)["version"] if version is None else version
    return client.post(f"{PLANS}/{plan['id']}/{move}", data, format="json", HTTP_IF_MATCH=str(version))


def activate(client, plan):
    response = plan_act(client, plan, "activate")
    assert response.status_code == 200, response.content
    return response.json()


def task_events(client, intent, prefix=("task.", "plan.")):
    return [
        (event["event_type"], event["payload"])
        for event in event_log(client, intent["id"], limit=1000)
        if event["event_type"].startswith(prefix)
    ]


def event_types(client, intent, prefix=("task.", "plan.")):
    return [event_type for event_type, _ in task_events(client, intent, prefix)]
