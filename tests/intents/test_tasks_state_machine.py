"""The task state machine (RFC-0012 §1.2) move by move: from every status, each route's move is made (and logged)
exactly where the table allows it, and refused with a 409 naming both statuses everywhere else, writing nothing."""

import pytest

from tests.conftest import new_intent

from .plans_helpers import act, activate, create_plan, create_task, done, get_task, run_to_completion, task_events

STATUSES = ["pending", "ready", "claimed", "running", "blocked", "completed", "failed", "cancelled", "skipped"]
# The route, the status it moves to, its event, and the statuses it moves from.
MOVES = {
    "claim": ("claimed", "task.claimed", {"ready"}),
    "start": ("running", "task.started", {"claimed"}),
    "complete": ("completed", "task.completed", {"running"}),
    "fail": ("failed", "task.failed", {"running"}),
    "cancel": ("cancelled", "task.cancelled", {"pending", "ready", "claimed", "running", "blocked", "failed"}),
    "escalate": ("blocked", "task.escalated", {"pending", "ready", "claimed", "running"}),
}
BODIES = {"complete": {"output": {}}, "fail": {"error": "boom"}, "escalate": {"reason": "help"}}


def task_in(api, intent, status):
    """A task of ``intent`` in ``status``, brought there through the API."""
    if status == "pending":
        first = create_task(api, intent, "first")
        return create_task(api, intent, "waiting", depends_on=[first["id"]])
    if status == "skipped":
        audit = create_task(api, intent, "audit")
        fix = create_task(api, intent, "fix", depends_on=[audit["id"]])
        plan = create_plan(
            api, intent, [audit, fix], conditions=[{"task_id": "fix", "when": "tasks['audit'].output.x"}]
        )
        activate(api, plan)
        run_to_completion(api, audit, {"x": False})
        return get_task(api, fix)
    task = create_task(api, intent, status)
    steps = {
        "ready": [],
        "claimed": ["claim"],
        "running": ["claim", "start"],
        "blocked": ["claim", "start", "escalate"],
        "completed": ["claim", "start", "complete"],
        "failed": ["claim", "start", "fail"],
        "cancelled": ["cancel"],
    }[status]
    for step in steps:
        done(api, task, step, BODIES.get(step))
    return get_task(api, task)


@pytest.mark.parametrize("move", list(MOVES))
@pytest.mark.parametrize("status", STATUSES)
def test_each_move_from_each_status(api, status, move):
    intent = new_intent(api)
    task = task_in(api, intent, status)
    assert task["status"] == status
    target, event, sources = MOVES[move]
    logged_before = len(task_events(api, intent))

    response = act(api, task, move, BODIES.get(move))

    if status in sources:
        assert response.status_code == 200, response.content
        assert get_task(api, task)["status"] == target
        assert event in [
            kind for kind, payload in task_events(api, intent)[logged_before:] if payload["task_id"] == task["id"]
        ]
    else:
        assert response.status_code == 409, response.content
        answer = response.json()
        assert answer["current_status"] == status
        assert answer["detail"].startswith(f"Cannot change status from {status} to {target}")
        assert get_task(api, task) == task
        assert len(task_events(api, intent)) == logged_before


@pytest.mark.parametrize("before", ["pending", "ready", "claimed", "running"])
def test_a_decision_on_an_escalation_returns_the_task_where_it_was(api, before):
    intent = new_intent(api)
    task = task_in(api, intent, before)
    done(api, task, "escalate", {"reason": "unclear"})
    assert get_task(api, task)["status"] == "blocked"

    resolved = done(api, task, "resolve", {"decision": "go on"})

    assert resolved["status"] == before
    unblocked = task_events(api, intent)[-1]
    assert unblocked[0] == "task.unblocked"
    assert unblocked[1]["resolution"] == {"decision": "go on", "decided_by": "agent-research"}
