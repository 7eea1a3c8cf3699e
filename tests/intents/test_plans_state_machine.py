"""The plan states (RFC-0012 §2.2) move by move: each route's move is made (and logged) exactly from the states
that allow it, and refused with a 409 naming the state everywhere else, writing nothing."""

import pytest

from tests.conftest import new_intent

from .plans_helpers import activate, create_plan, create_task, done, get_plan, plan_act, run_to_completion, task_events

STATES = ["draft", "active", "paused", "completed", "failed", "cancelled"]
MOVES = {
    "activate": ("active", "plan.activated", {"draft"}),
    "pause": ("paused", "plan.paused", {"active"}),
    "resume": ("active", "plan.resumed", {"paused"}),
    "cancel": ("cancelled", "plan.failed", {"draft", "active", "paused"}),
}


def plan_in(api, intent, state):
    first = create_task(api, intent, "first")
    second = create_task(api, intent, "second")
    plan = create_plan(api, intent, [first, second], on_failure="fail")
    if state == "draft":
        return get_plan(api, plan)
    activate(api, plan)
    if state == "paused":
        assert plan_act(api, plan, "pause").status_code == 200
    elif state == "completed":
        run_to_completion(api, first)
        run_to_completion(api, second)
    elif state == "failed":
        done(api, first, "claim")
        done(api, first, "start")
        done(api, first, "fail", {"error": "boom"})
    elif state == "cancelled":
        assert plan_act(api, plan, "cancel").status_code == 200
    return get_plan(api, plan)


@pytest.mark.parametrize("move", list(MOVES))
@pytest.mark.parametrize("state", STATES)
def test_each_plan_move_from_each_state(api, state, move):
    intent = new_intent(api)
    plan = plan_in(api, intent, state)
    assert plan["state"] == state
    target, event, sources = MOVES[move]
    logged_before = len(task_events(api, intent))

    response = plan_act(api, plan, move, plan["version"])

    if state in sources:
        assert response.status_code == 200, response.content
        after = response.json()
        assert (after["state"], after["version"]) == (target, plan["version"] + 1)
        assert event in [kind for kind, _ in task_events(api, intent)[logged_before:]]
    else:
        assert response.status_code == 409, response.content
        assert response.json()["current_status"] == state
        assert get_plan(api, plan) == plan
        assert len(task_events(api, intent)) == logged_before
