"""Tasks (RFC-0012) over HTTP: creation, the state machine move by move with its events, refusals, If-Match,
dependencies resolving by themselves, delegation, escalation, timeouts and retries."""

import datetime

import pytest

from intents.models import Lease, Task
from intents.tasks import fail_overdue_tasks, retry_due_tasks
from tests.conftest import new_intent, versioned

from .plans_helpers import TASKS, act, create_task, done, event_types, get_task, run_to_completion, task_events


@pytest.fixture
def intent(api):
    return new_intent(api, title="Quarterly report")


# Creation ----------------------------------------------------------------------------------------------------


def test_a_task_without_dependencies_is_ready_at_once_and_logged(api, intent):
    task = create_task(
        api, intent, "fetch", input={"quarter": "Q1"}, capabilities_required=["finance"], metadata={"k": 1}
    )

    assert task["status"] == "ready"
    assert task["version"] == 2
    assert (task["metadata"], task["task_metadata"]) == ({"k": 1}, {"k": 1})
    assert (task["attempt"], task["max_attempts"], task["permissions"], task["lease_id"]) == (1, 3, "inherit", None)
    assert task_events(api, intent) == [
        (
            "task.created",
            {
                "task_id": task["id"],
                "name": "fetch",
                "capabilities_required": ["finance"],
                "plan_id": None,
                "parent_task_id": None,
                "depends_on": [],
            },
        ),
        ("task.ready", {"task_id": task["id"], "resolved_dependencies": []}),
    ]


def test_a_task_with_unfinished_dependencies_waits_pending(api, intent):
    first = create_task(api, intent, "first")
    second = create_task(api, intent, "second", depends_on=[first["id"]])

    assert second["status"] == "pending"
    assert second["depends_on"] == [first["id"]]
    assert get_task(api, first)["blocks"] == [second["id"]]


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("status", "bogus", None),  # ignored on create
        ("priority", None, ["body", "priority"]),
        ("requires_tools", [{"scopes": []}], ["body", "requires_tools", 0, "service"]),
        ("permissions", {"deny": ["x"]}, ["body", "permissions"]),
        ("max_attempts", 0, ["body", "max_attempts"]),
        ("timeout_seconds", 2**40, ["body", "timeout_seconds"]),
        ("depends_on", ["00000000-0000-4000-8000-000000000000"], ["body", "depends_on", 0]),
        ("plan_id", "nope", ["body", "plan_id"]),
    ],
)
def test_bad_fields_are_refused_naming_them(api, intent, field, value, loc):
    response = api.post(TASKS, {"intent_id": intent["id"], "name": "x", field: value}, format="json")

    if loc is None:
        assert response.status_code == 200
        assert response.json()["status"] == "ready"
        return
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert Task.objects.count() == 0


def test_unknown_intent_is_404(api):
    response = api.post(TASKS, {"intent_id": "00000000-0000-4000-8000-000000000000", "name": "x"}, format="json")
    assert response.status_code == 404


def test_tasks_created_on_the_rfc_path_and_listed_with_filters(api, intent):
    response = api.post(f"/api/v1/intents/{intent['id']}/tasks", {"name": "a"}, format="json")
    assert response.status_code == 200
    first = response.json()
    second = create_task(api, intent, "b", depends_on=[first["id"]])

    listed = api.get(f"/api/v1/intents/{intent['id']}/tasks").json()
    assert [t["id"] for t in listed] == [first["id"], second["id"]]
    pending = api.get(f"/api/v1/intents/{intent['id']}/tasks", {"status": "pending"}).json()
    assert [t["id"] for t in pending] == [second["id"]]
    assert api.get(f"/api/v1/intents/{intent['id']}/tasks", {"status": "nope"}).status_code == 422
    assert api.get(f"/api/v1/intents/{intent['id']}/tasks", {"limit": 1, "offset": 1}).json()[0]["id"] == second["id"]


# The state machine -------------------------------------------------------------------------------------------


def test_the_happy_path_moves_are_logged_with_the_rfc_payloads(api, intent):
    task = create_task(api, intent, "work", timeout_seconds=60)

    claimed = done(api, task, "claim")
    assert (claimed["status"], claimed["assigned_agent"]) == ("claimed", "agent-research")
    lease = Lease.objects.get(pk=claimed["lease_id"])
    assert (lease.scope, lease.holder, lease.status) == (f"task:{task['id']}", "agent-research", "active")
    started = done(api, task, "start")
    assert started["status"] == "running" and started["started_at"]
    progressed = done(api, task, "progress", {"percentage": 40, "message": "halfway"})
    assert progressed["progress"] == {"percentage": 40, "message": "halfway"}
    completed = done(api, task, "complete", {"output": {"rows": 3}, "artifacts": ["report.csv"]})
    assert (completed["status"], completed["output"], completed["artifacts"]) == (
        "completed",
        {"rows": 3},
        ["report.csv"],
    )
    assert completed["completed_at"]
    assert Lease.objects.get(pk=claimed["lease_id"]).status == "released"

    events = dict(task_events(api, intent)[2:])
    assert events["task.claimed"] == {"task_id": task["id"], "agent_id": "agent-research", "lease_id": str(lease.pk)}
    assert events["task.started"] == {"task_id": task["id"], "agent_id": "agent-research"}
    assert events["task.progress"] == {"task_id": task["id"], "percentage": 40, "message": "halfway"}
    assert events["task.completed"]["output"] == {"rows": 3}
    assert events["task.completed"]["artifacts"] == ["report.csv"]
    assert isinstance(events["task.completed"]["duration_ms"], int)
    assert event_types(api, intent) == [
        "task.created",
        "task.ready",
        "task.claimed",
        "task.started",
        "task.progress",
        "task.completed",
    ]


@pytest.mark.parametrize(
    ("setup", "move", "current", "requested"),
    [
        ([], "start", "ready", "running"),
        ([], "complete", "ready", "completed"),
        ([], "fail", "ready", "failed"),
        (["claim"], "complete", "claimed", "completed"),
        (["claim"], "claim", None, None),  # a second claim is a lease conflict, below
        (["claim", "start", "complete"], "cancel", "completed", "cancelled"),
        (["claim", "start", "complete"], "escalate", "completed", "blocked"),
        (["claim", "start"], "start", "running", "running"),
    ],
)
def test_illegal_moves_are_409_naming_both_statuses_and_write_nothing(api, intent, setup, move, current, requested):
    task = create_task(api, intent)
    for step in setup:
        body = {"output": {}} if step == "complete" else None
        done(api, task, step, body)
    before = get_task(api, task)
    events_before = len(task_events(api, intent, prefix=("",)))

    body = {"reason": "why"} if move == "escalate" else None
    response = act(api, task, move, body)

    assert response.status_code == 409
    if current is not None:
        answer = response.json()
        assert answer["detail"] == f"Cannot change status from {current} to {requested}"
        assert answer["current_status"] == current
        assert "lease" not in response.text.lower()
    assert get_task(api, task) == before
    assert len(task_events(api, intent, prefix=("",))) == events_before


def test_a_second_claim_is_refused_naming_the_lease(api, other_api, intent):
    task = create_task(api, intent)
    claimed = done(api, task, "claim")

    response = act(other_api, task, "claim")

    assert response.status_code == 409
    assert "lease" in response.json()["detail"].lower()
    assert response.json()["existing_lease"]["id"] == claimed["lease_id"]


def test_only_the_claiming_agent_starts_completes_fails_and_reports(api, other_api, intent):
    task = create_task(api, intent)
    done(api, task, "claim")
    assert act(other_api, task, "start").status_code == 403
    done(api, task, "start")
    for move, body in [("complete", {"output": {}}), ("fail", {"error": "x"}), ("progress", {"percentage": 5})]:
        response = act(other_api, task, move, body)
        assert response.status_code == 403, move
        assert response.json()["assigned_agent"] == "agent-research"


def test_an_agent_acting_through_a_key_is_the_claimer(api, keys, intent):
    task = create_task(api, intent)
    claimed = act(api, task, "claim", HTTP_X_AGENT_ID="worker-7").json()
    assert claimed["assigned_agent"] == "worker-7"
    assert act(api, task, "start").status_code == 403
    assert act(api, task, "start", HTTP_X_AGENT_ID="worker-7").status_code == 200


def test_a_permission_override_limits_who_claims(api, other_api, intent):
    task = create_task(api, intent, permissions={"allow": ["agent-synth"]})
    assert act(api, task, "claim").status_code == 403
    assert act(other_api, task, "claim").status_code == 200


def test_the_intent_acl_is_respected(api, other_api, intent):
    api.put(
        f"/api/v1/intents/{intent['id']}/acl",
        {"default_policy": "closed", "entries": [{"principal_id": "agent-synth", "permission": "read"}]},
        format="json",
    )
    task = create_task(api, intent)
    assert other_api.get(f"{TASKS}/{task['id']}").status_code == 200
    assert act(other_api, task, "claim").status_code == 403
    assert other_api.post(TASKS, {"intent_id": intent["id"], "name": "x"}, format="json").status_code == 403


def test_cancel_from_any_unfinished_status(api, intent):
    for setup in ([], ["claim"], ["claim", "start"]):
        task = create_task(api, intent)
        for step in setup:
            done(api, task, step)
        cancelled = done(api, task, "cancel", {"reason": "not needed"})
        assert cancelled["status"] == "cancelled"
    assert ("task.cancelled", {"task_id": cancelled["id"], "reason": "not needed"}) in task_events(api, intent)


# PATCH (0.9.1) -----------------------------------------------------------------------------------------------


def test_patch_needs_if_match_and_refuses_stale_or_unknown_as_0_9_1(api, intent):
    task = create_task(api, intent)
    url = f"{TASKS}/{task['id']}"

    assert api.patch(url, {"status": "claimed"}, format="json").status_code == 428
    assert api.patch(url, {"status": "claimed"}, format="json").json()["detail"] == "If-Match header required"
    stale = versioned(api, "patch", url, 1, {"status": "claimed"})
    assert stale.status_code == 409
    assert stale.json()["detail"] == "Version conflict or task not found"
    assert stale.json()["current_version"] == 2
    unknown = versioned(api, "patch", f"{TASKS}/00000000-0000-4000-8000-000000000000", 1, {"status": "claimed"})
    assert (unknown.status_code, unknown.json()["detail"]) == (409, "Version conflict or task not found")
    bogus = versioned(api, "patch", url, 2, {"status": "bogus"})
    assert bogus.status_code == 422
    assert bogus.json()["detail"][0]["loc"] == ["body", "status"]
    assert "'pending', 'ready', 'claimed', 'running', 'blocked'" in bogus.json()["detail"][0]["msg"]


@pytest.mark.parametrize("if_match", ["2", '"2"', 'W/"2"'])
def test_patch_accepts_every_spelling_of_the_version(api, intent, if_match):
    task = create_task(api, intent)
    response = api.patch(f"{TASKS}/{task['id']}", {"status": "claimed"}, format="json", HTTP_IF_MATCH=if_match)
    assert response.status_code == 200
    assert response.json()["status"] == "claimed"


def test_patch_walks_the_machine_as_the_moves_do(api, intent):
    task = create_task(api, intent)
    url = f"{TASKS}/{task['id']}"
    version = task["version"]
    for status, extra in [
        ("claimed", {}),
        ("running", {}),
        ("blocked", {"blocked_reason": "need input"}),
        ("running", {}),
        ("completed", {"output": {"n": 1}}),
    ]:
        response = versioned(api, "patch", url, version, {"status": status, **extra})
        assert response.status_code == 200, (status, response.content)
        version = response.json()["version"]
    final = get_task(api, task)
    assert (final["status"], final["output"]) == ("completed", {"n": 1})
    assert event_types(api, intent)[2:] == [
        "task.claimed",
        "task.started",
        "task.blocked",
        "task.unblocked",
        "task.completed",
    ]


def test_patch_without_status_edits_fields(api, intent):
    task = create_task(api, intent)
    response = versioned(api, "patch", f"{TASKS}/{task['id']}", 2, {"output": {"partial": 1}, "priority": "high"})
    assert response.status_code == 200
    assert (response.json()["output"], response.json()["priority"], response.json()["version"]) == (
        {"partial": 1},
        "high",
        3,
    )


def test_patch_refuses_the_statuses_only_the_server_sets(api, intent):
    task = create_task(api, intent)
    for status in ("pending", "skipped"):
        response = versioned(api, "patch", f"{TASKS}/{task['id']}", 2, {"status": status})
        assert response.status_code == 409
        assert response.json()["current_status"] == "ready"


def test_an_optional_if_match_on_moves_is_checked_when_sent(api, intent):
    task = create_task(api, intent)
    assert act(api, task, "claim", HTTP_IF_MATCH="1").status_code == 409
    malformed = act(api, task, "claim", HTTP_IF_MATCH="abc")
    assert malformed.status_code == 428
    assert "got 'abc'" in malformed.json()["detail"]
    assert act(api, task, "claim", HTTP_IF_MATCH="2").status_code == 200


# Dependencies ------------------------------------------------------------------------------------------------


def test_completion_makes_ready_every_dependent_whose_dependencies_are_all_complete(api, intent):
    a = create_task(api, intent, "a")
    b = create_task(api, intent, "b")
    c = create_task(api, intent, "c", depends_on=[a["id"], b["id"]])
    d = create_task(api, intent, "d", depends_on=[a["id"]])

    run_to_completion(api, a)
    assert (get_task(api, c)["status"], get_task(api, d)["status"]) == ("pending", "ready")
    run_to_completion(api, b)
    assert get_task(api, c)["status"] == "ready"
    ready = [p for t, p in task_events(api, intent) if t == "task.ready" and p["task_id"] == c["id"]]
    assert ready == [{"task_id": c["id"], "resolved_dependencies": [a["id"], b["id"]]}]


# Delegation and escalation -----------------------------------------------------------------------------------


def test_delegation_blocks_the_parent_until_the_sub_task_completes(api, other_api, intent):
    parent = create_task(api, intent, "review")
    done(api, parent, "claim")
    done(api, parent, "start")

    sub = done(api, parent, "delegate", {"capability": "legal", "input": {"doc": 1}, "delegated_to": "agent-synth"})
    assert (sub["parent_task_id"], sub["status"], sub["permissions"]) == (
        parent["id"],
        "ready",
        {"allow": ["agent-synth"]},
    )
    blocked = get_task(api, parent)
    assert (blocked["status"], blocked["blocked_reason"], blocked["blocked_by"]) == (
        "blocked",
        "delegation",
        [sub["id"]],
    )
    assert act(api, sub, "claim").status_code == 403

    run_to_completion(other_api, sub, {"verdict": "fine"})

    resumed = get_task(api, parent)
    assert resumed["status"] == "running"
    assert resumed["delegated_outputs"][sub["id"]]["output"] == {"verdict": "fine"}
    events = task_events(api, intent)
    assert (
        "task.delegated",
        {"task_id": parent["id"], "sub_task_id": sub["id"], "capability": "legal", "delegated_to": "agent-synth"},
    ) in events
    unblocked = [p for t, p in events if t == "task.unblocked"]
    assert unblocked[0]["task_id"] == parent["id"]
    assert unblocked[0]["resolution"]["output"] == {"verdict": "fine"}


def test_escalation_blocks_until_a_decision_then_goes_back(api, intent):
    task = create_task(api, intent)
    done(api, task, "claim")
    done(api, task, "start")

    escalated = done(api, task, "escalate", {"reason": "Ambiguous compliance requirement"})
    assert (escalated["status"], escalated["blocked_reason"]) == ("blocked", "escalation")
    assert escalated["escalation"]["reason"] == "Ambiguous compliance requirement"
    assert act(api, task, "complete", {"output": {}}).status_code == 409
    refused = versioned(api, "patch", f"{TASKS}/{task['id']}", escalated["version"], {"status": "running"})
    assert refused.status_code == 409

    resolved = done(api, task, "resolve", {"decision": "Use the 2025 rules"})
    assert resolved["status"] == "running"
    assert resolved["resolution"] == {"decision": "Use the 2025 rules", "decided_by": "agent-research"}
    types = event_types(api, intent)
    assert types[-3:] == ["task.escalated", "task.blocked", "task.unblocked"]


def test_resolving_needs_admin_on_the_intent(api, other_api, intent):
    api.put(
        f"/api/v1/intents/{intent['id']}/acl",
        {"default_policy": "closed", "entries": [{"principal_id": "agent-synth", "permission": "write"}]},
        format="json",
    )
    task = create_task(api, intent)
    done(other_api, task, "escalate", {"reason": "help"})
    assert act(other_api, task, "resolve", {"decision": "go"}).status_code == 403
    assert act(api, task, "resolve", {"decision": "go"}).status_code == 200
    assert get_task(api, task)["status"] == "ready"


# Timeouts and retries ----------------------------------------------------------------------------------------


def overdue(task):
    Task.objects.filter(pk=task["id"]).update(deadline_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))


def test_the_periodic_job_fails_a_running_task_past_its_timeout(api, intent):
    task = create_task(api, intent, timeout_seconds=30, max_attempts=1)
    done(api, task, "claim")
    done(api, task, "start")
    assert fail_overdue_tasks() == 0
    overdue(task)

    assert fail_overdue_tasks() == 1

    failed = get_task(api, task)
    assert (failed["status"], failed["error"]) == ("failed", "Timed out after 30 s")
    assert task_events(api, intent)[-1] == (
        "task.failed",
        {"task_id": task["id"], "error": "Timed out after 30 s", "attempt": 1, "will_retry": False},
    )
    assert fail_overdue_tasks() == 0


def test_without_a_retry_policy_a_failure_is_final(api, intent):
    task = create_task(api, intent)
    done(api, task, "claim")
    done(api, task, "start")
    failed = done(api, task, "fail", {"error": "boom"})
    assert (failed["status"], failed["next_attempt_at"]) == ("failed", None)


def test_failures_retry_under_the_intents_policy_up_to_max_attempts(api, intent):
    api.put(
        f"/api/v1/intents/{intent['id']}/retry-policy",
        {"strategy": "fixed", "base_delay_ms": 60000, "max_delay_ms": 60000, "jitter": False, "max_retries": 10},
        format="json",
    )
    task = create_task(api, intent, max_attempts=2)
    done(api, task, "claim")
    done(api, task, "start")

    failed = done(api, task, "fail", {"error": "flaky"})
    assert failed["status"] == "failed" and failed["next_attempt_at"]
    assert retry_due_tasks() == 0
    Task.objects.filter(pk=task["id"]).update(retry_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    assert retry_due_tasks() == 1

    retried = get_task(api, task)
    assert (retried["status"], retried["attempt"], retried["assigned_agent"]) == ("ready", 2, None)
    retrying = task_events(api, intent)[-1]
    assert retrying[0] == "task.retrying" and retrying[1]["attempt"] == 2
    done(api, task, "claim")
    done(api, task, "start")
    last = done(api, task, "fail", {"error": "flaky again"})
    assert (last["status"], last["attempt"], last["next_attempt_at"]) == ("failed", 2, None)
    assert task_events(api, intent)[-1][1]["will_retry"] is False


def test_a_failed_task_can_be_retried_by_hand_within_its_attempts(api, intent):
    task = create_task(api, intent, max_attempts=2)
    done(api, task, "claim")
    done(api, task, "start")
    failed = done(api, task, "fail", {"error": "x"})
    again = versioned(api, "patch", f"{TASKS}/{task['id']}", failed["version"], {"status": "ready"})
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["attempt"]) == ("ready", 2)
