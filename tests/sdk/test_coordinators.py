"""RFC-0013 coordinator leases, guardrails, plan reviews and decision records with both clients against a live
server: the flat methods (0.9.1's names) and ``client.coordinator``. The supervisor is the person "reviewer"."""

import pytest
from openintent import (
    ConflictError,
    CoordinatorLease,
    CoordinatorStatus,
    DecisionRecord,
    DecisionType,
    Guardrails,
    GuardrailViolationError,
    LeaseConflictError,
    NotFoundError,
    PermissionDeniedError,
    PlanState,
    ValidationError,
)

from .conftest import AGENT, MISSING, OTHER_AGENT

SUPERVISOR = "reviewer"


def test_a_lease_its_heartbeat_and_its_end(oi, other, person):
    intent = oi.create_intent("Coordinated")
    lease = oi.create_coordinator_lease(
        AGENT, intent.id, supervisor_id=SUPERVISOR, guardrails=Guardrails(max_budget_usd=50.0), metadata={"k": 1}
    )
    assert isinstance(lease, CoordinatorLease) and lease.agent_id == AGENT and lease.intent_id == intent.id
    assert lease.status == CoordinatorStatus.ACTIVE and lease.is_live and lease.supervisor_id == SUPERVISOR
    assert lease.guardrails.max_budget_usd == 50.0 and lease.metadata == {"k": 1}
    assert oi.get_coordinator_lease(lease.id).id == lease.id
    assert [held.id for held in oi.list_coordinator_leases(intent.id)] == [lease.id]
    with pytest.raises(LeaseConflictError) as taken:
        other.create_coordinator_lease(OTHER_AGENT, intent.id, supervisor_id=SUPERVISOR)
    assert taken.value.existing_lease["id"] == lease.id

    beat = oi.coordinator_heartbeat(lease.id, active_tasks=2, budget_used_usd=1.5)
    assert beat["status"] == "ok" and beat["lease_status"] == "active"
    with pytest.raises(PermissionDeniedError):
        other.coordinator_heartbeat(lease.id)
    assert oi.get_guardrails(lease.id).max_budget_usd == 50.0
    assert "usage" in oi.get_guardrail_status(lease.id)

    ended = oi.release_coordinator_lease(lease.id, "done")
    assert ended.status == CoordinatorStatus.COMPLETED and not ended.is_live
    with pytest.raises(ConflictError):
        oi.coordinator_heartbeat(lease.id)
    with pytest.raises(NotFoundError):
        oi.get_coordinator_lease(MISSING)
    with pytest.raises(ValidationError):
        oi.create_coordinator_lease(AGENT, intent.id, supervisor_id=AGENT)


def test_supervisor_moves_and_handoff(oi, other, person):
    intent = oi.create_intent("Supervised")
    lease = oi.create_coordinator_lease(AGENT, intent.id, supervisor_id=SUPERVISOR)
    with pytest.raises(PermissionDeniedError):
        other.pause_coordinator(lease.id)
    paused = person.pause_coordinator(lease.id, "review", version=lease.version)
    assert paused.status == CoordinatorStatus.PAUSED
    with pytest.raises(ConflictError):
        person.resume_coordinator(lease.id, version=lease.version)
    assert person.resume_coordinator(lease.id).status == CoordinatorStatus.ACTIVE

    guarded = person.update_guardrails(lease.id, {"max_tasks_per_plan": 2})
    assert guarded.guardrails.max_tasks_per_plan == 2
    tasks = [oi.create_task(intent.id, f"t{i}") for i in range(3)]
    with pytest.raises(GuardrailViolationError) as refused:
        oi.create_plan(intent.id, [task.id for task in tasks])
    assert (refused.value.guardrail, refused.value.attempted_value, refused.value.limit) == ("max_tasks_per_plan", 3, 2)
    assert refused.value.coordinator_id == AGENT and refused.value.status_code == 409

    successor = oi.handoff_coordinator(lease.id, OTHER_AGENT, "shift change", [{"task": tasks[0].id}])
    assert successor.agent_id == OTHER_AGENT and successor.id != lease.id and successor.is_live
    assert oi.get_coordinator_lease(lease.id).successor_id == successor.id
    replaced = person.replace_coordinator(successor.id, AGENT, "back again")
    assert replaced.agent_id == AGENT and oi.get_coordinator_lease(successor.id).status == CoordinatorStatus.COMPLETED


def test_plan_review_by_the_supervisor(oi, other, person):
    intent = oi.create_intent("Reviewed")
    oi.create_coordinator_lease(AGENT, intent.id, supervisor_id=SUPERVISOR, guardrails={"requires_plan_review": True})
    task = oi.create_task(intent.id, "only")
    plan = oi.create_plan(intent.id, [task.id])
    with pytest.raises(ConflictError):  # not reviewed yet
        oi.activate_plan(plan.id, plan.version)
    with pytest.raises(PermissionDeniedError):
        other.approve_plan(plan.id)
    rejected = person.reject_plan(plan.id, "too vague")
    assert rejected.state == PlanState.DRAFT
    approved = person.approve_plan(plan.id, "fine now")
    assert oi.activate_plan(approved.id, approved.version).state == PlanState.ACTIVE
    with pytest.raises(ConflictError):
        person.approve_plan(plan.id)


def test_decision_records(oi, person):
    intent = oi.create_intent("Decided")
    record = oi.create_decision_record(
        AGENT,
        intent.id,
        DecisionType.TASK_DELEGATED,
        "Gave the translation to agent-synth",
        "It holds the capability",
        alternatives_considered=[{"description": "do it myself", "rejected_reason": "too slow"}],
        confidence=0.8,
    )
    assert isinstance(record, DecisionRecord) and record.decision_type == DecisionType.TASK_DELEGATED
    assert record.confidence == 0.8 and record.alternatives_considered[0]["description"] == "do it myself"
    assert record.to_dict()["type"] == "coordinator.decision" and record.timestamp is not None
    assert oi.get_decision_record(record.id).summary == "Gave the translation to agent-synth"
    second = oi.create_decision_record(AGENT, intent.id, "plan_created", "Planned", "Three steps")
    assert [r.id for r in oi.list_decision_records(intent.id)] == [second.id, record.id]
    assert [r.id for r in oi.list_decision_records(intent.id, limit=1)] == [second.id]
    with pytest.raises(ValidationError):
        oi.create_decision_record(AGENT, intent.id, "coin_flip", "s", "r")
    with pytest.raises(ValidationError):
        oi.create_decision_record(AGENT, intent.id, "plan_created", "s", "r", confidence=7)
    with pytest.raises(NotFoundError):
        oi.get_decision_record(MISSING)


def test_the_coordinator_namespace_names_the_same_methods(oi, person):
    intent = oi.create_intent("Namespaced coordinator")
    lease = oi.coordinator.create_lease(AGENT, intent.id, supervisor_id=SUPERVISOR)
    assert oi.coordinator.get_lease(lease.id).id == lease.id
    assert [held.id for held in oi.coordinator.list_leases(intent.id)] == [lease.id]
    assert oi.coordinator.heartbeat(lease.id)["status"] == "ok"
    record = oi.coordinator.record_decision(AGENT, intent.id, DecisionType.PLAN_CREATED, "s", "r")
    assert [r.id for r in oi.coordinator.decisions(intent.id)] == [record.id]
    assert person.coordinator.pause(lease.id).status == CoordinatorStatus.PAUSED
    assert oi.coordinator.release(lease.id).status == CoordinatorStatus.COMPLETED
    with pytest.raises(NotFoundError):
        oi.coordinator.get_lease(MISSING)
