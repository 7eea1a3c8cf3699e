"""Model parsing rules: lenient enums and fields, timestamps in every spelling, round trips."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from openintent import Intent, IntentLease, IntentPortfolio, IntentStatus, LeaseStatus
from openintent._wire import parse_datetime


@pytest.mark.parametrize(
    "raw",
    [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.000Z",
        "2026-01-02T03:04:05+00:00",
        "2026-01-02T03:04:05.0000000",
        "2026-01-02T04:04:05+01:00",
        "2026-01-02 03:04:05",
    ],
)
def test_timestamps_become_aware_utc(raw):
    assert parse_datetime(raw) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_datetime(raw).tzinfo == UTC


def test_unreadable_timestamps_and_other_inputs():
    assert parse_datetime("yesterday") is None and parse_datetime(None) is None
    assert parse_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
    aware = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert parse_datetime(aware) == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_round_trips_and_lenient_parsing():
    intent = Intent.from_dict(
        {"id": "i", "title": "t", "status": "failed", "constraints": ["a"], "state": {"k": 1}, "extra": True}
    )
    assert intent.status == "failed" and intent.constraints == {"rules": ["a"]}
    assert Intent.from_dict(intent.to_dict()) == intent
    assert str(IntentStatus.ACTIVE) == "active" and f"{IntentStatus.ACTIVE}" == "active"
    lease = IntentLease.from_dict({"id": "l", "expires_at": "2000-01-01T00:00:00Z"})
    assert lease.status == LeaseStatus.ACTIVE and not lease.is_active
    assert IntentLease.from_dict(lease.to_dict()) == lease
    portfolio = IntentPortfolio.from_dict({"id": "p", "name": "n", "createdAt": "2026-01-01T00:00:00Z"})
    assert IntentPortfolio.from_dict(portfolio.to_dict()).created_at == portfolio.created_at


def test_rfc_0012_to_0017_models_read_leniently_and_write_back():
    from openintent import CoordinatorLease, EventType, MemoryEntry, Task, Trigger, TriggerCondition
    from openintent.models import DecisionRecord, Plan, ToolInvocation

    assert EventType("task.created") is EventType.TASK_CREATED and EventType.PLAN_CHECKPOINT_REACHED == (
        "plan.checkpoint_reached"
    )
    assert {member.value for member in EventType if "." in member.value} >= {"grant.resumed", "trigger.fired"}
    task = Task.from_dict({"id": "t", "intent_id": "i", "name": "n", "status": "thinking", "task_metadata": {"a": 1}})
    assert task.status == "thinking" and task.metadata == {"a": 1} and "description" not in task.to_dict()
    plan = Plan.from_dict({"id": "p", "intent_id": "i", "checkpoints": [{"id": "c", "after": "fetch"}], "tasks": ["t"]})
    assert plan.checkpoints[0].after_task == "fetch" and plan.task_count == 1
    lease = CoordinatorLease.from_dict({"id": "l", "type": "human", "lease_metadata": {"k": 1}, "guardrails": {}})
    assert lease.coordinator_type == "human" and lease.metadata == {"k": 1} and lease.guardrails is None
    assert DecisionRecord.from_dict({"id": "d", "decision_type": "plan_created"}).to_dict()["type"] == (
        "coordinator.decision"
    )
    invocation = ToolInvocation.from_dict({"id": "v", "parameters": {"secret": "x"}, "status": "denied"})
    assert invocation.invocation_id == "v" and "parameters" not in invocation.to_dict()
    entry = MemoryEntry.from_dict({"id": "m", "value": {"v": 1}, "updated_at": "2026-01-01T00:00:00Z"})
    assert entry.updated_at.tzinfo is not None and entry.memory_type == "working"
    trigger = Trigger.from_dict({"trigger_id": "g", "type": "webhook", "condition": {"path": "/h", "secret": "s"}})
    assert trigger.id == "g" and trigger.condition.secret == "s"
    assert TriggerCondition(path="/h", secret="s").to_dict() == {"path": "/h", "method": "POST"}
    assert TriggerCondition(cron="* * * * *").to_dict() == {"cron": "* * * * *", "timezone": "UTC"}
