"""Client methods of RFC-0012 (tasks and plans) and RFC-0013 (coordinator leases, guardrails and decision
records), written once for both clients like those of :mod:`openintent._api`.

Task moves (claim, start, progress, complete, ...) check ``version`` when it is given; plan writes and
:meth:`update_task` require it (the server answers 428, :class:`PreconditionRequiredError`, without)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._api import _many, _one, _raw, _seg
from ._core import Call, Response, api, endpoint
from ._wire import to_wire, wire_value
from .models import (
    Checkpoint,
    CoordinatorLease,
    CoordinatorType,
    DecisionRecord,
    DecisionType,
    Guardrails,
    Plan,
    PlanCondition,
    Task,
    TaskStatus,
    ToolRequirement,
)


def _task(task_id: str, tail: str = "") -> str:
    return api(f"/tasks/{_seg(task_id)}{tail}")


def _plan(plan_id: str, tail: str = "") -> str:
    return api(f"/plans/{_seg(plan_id)}{tail}")


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that are not ``None``, JSON-ready (enums by value, models as dicts)."""
    return {name: to_wire(value) for name, value in fields.items() if value is not None}


def _task_move(task_id: str, move: str, body: Mapping[str, Any] | None, version: int | None) -> Call[Task]:
    return Call("POST", _task(task_id, f"/{move}"), _one(Task.from_dict), json=dict(body or {}), if_match=version)


def _plan_move(plan_id: str, move: str, version: int, body: Mapping[str, Any] | None = None) -> Call[Plan]:
    return Call("POST", _plan(plan_id, f"/{move}"), _one(Plan.from_dict), json=dict(body or {}), if_match=version)


def _lease(lease_id: str, tail: str = "") -> str:
    return api(f"/coordinators/{_seg(lease_id)}{tail}")


def _lease_move(lease_id: str, move: str, body: Mapping[str, Any], version: int | None) -> Call[CoordinatorLease]:
    path = _lease(lease_id, f"/{move}")
    return Call("POST", path, _one(CoordinatorLease.from_dict), json=dict(body), if_match=version)


def _guardrails(value: Guardrails | Mapping[str, Any]) -> dict[str, Any]:
    return value.to_dict() if isinstance(value, Guardrails) else {str(k): to_wire(v) for k, v in value.items()}


class OrchestrationAPI:
    """Tasks and plans (RFC-0012), coordinators (RFC-0013)."""

    # Tasks ----------------------------------------------------------------------------------------------------

    @endpoint
    def create_task(
        self,
        /,
        intent_id: str,
        name: str,
        *,
        description: str | None = None,
        plan_id: str | None = None,
        priority: str | None = None,
        input: Mapping[str, Any] | None = None,
        capabilities_required: list[str] | None = None,
        depends_on: list[str] | None = None,
        parent_task_id: str | None = None,
        timeout_seconds: int | None = None,
        max_attempts: int | None = None,
        permissions: str | Mapping[str, Any] | None = None,
        memory_policy: Mapping[str, Any] | None = None,
        requires_tools: list[ToolRequirement | Mapping[str, Any]] | None = None,
        metadata: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Call[Task]:
        """Create a task of the intent; it is ``ready`` once every task it ``depends_on`` has completed."""
        body = {"intent_id": intent_id, "name": name}
        body.update(
            _given(
                description=description,
                plan_id=plan_id,
                priority=priority,
                input=input,
                capabilities_required=capabilities_required,
                depends_on=depends_on,
                parent_task_id=parent_task_id,
                timeout_seconds=timeout_seconds,
                max_attempts=max_attempts,
                permissions=permissions,
                memory_policy=memory_policy,
                requires_tools=requires_tools,
                metadata=metadata,
                **extra,
            )
        )
        return Call("POST", api("/tasks"), _one(Task.from_dict), json=body)

    @endpoint
    def get_task(self, task_id: str) -> Call[Task]:
        return Call("GET", _task(task_id), _one(Task.from_dict))

    @endpoint
    def list_tasks(
        self,
        intent_id: str,
        status: TaskStatus | str | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        plan_id: str | None = None,
    ) -> Call[list[Task]]:
        """The intent's tasks in creation order, optionally of one status or one plan."""
        params = {
            "status": None if status is None else wire_value(status),
            "limit": limit,
            "offset": offset,
            "plan_id": plan_id,
        }
        return Call("GET", api(f"/intents/{_seg(intent_id)}/tasks"), _many(Task.from_dict, "tasks"), params=params)

    @endpoint
    def update_task(
        self, /, task_id: str, version: int, status: TaskStatus | str | None = None, **changes: Any
    ) -> Call[Task]:
        """Change a task at ``version``: its ``status`` (a legal transition) and any of ``output``, ``error``,
        ``blocked_reason``, ``artifacts``, ``description``, ``priority``, ``metadata``."""
        body = _given(status=status, **changes)
        return Call("PATCH", _task(task_id), _one(Task.from_dict), json=body, if_match=version)

    @endpoint
    def claim_task(self, task_id: str, version: int | None = None) -> Call[Task]:
        """Claim a ready task: the caller holds its lease (:class:`LeaseConflictError` when another agent does)."""
        return _task_move(task_id, "claim", None, version)

    @endpoint
    def start_task(self, task_id: str, version: int | None = None) -> Call[Task]:
        return _task_move(task_id, "start", None, version)

    @endpoint
    def report_task_progress(
        self, task_id: str, percentage: int, message: str | None = None, version: int | None = None
    ) -> Call[Task]:
        return _task_move(task_id, "progress", {"percentage": percentage, "message": message}, version)

    @endpoint
    def complete_task(
        self,
        task_id: str,
        output: Mapping[str, Any] | None = None,
        artifacts: list[str] | None = None,
        version: int | None = None,
    ) -> Call[Task]:
        """Complete a running task with its output; the tasks waiting on it become ready."""
        body = {"output": None if output is None else dict(output), "artifacts": artifacts}
        return _task_move(task_id, "complete", body, version)

    @endpoint
    def fail_task(self, task_id: str, error: str = "failed", version: int | None = None) -> Call[Task]:
        """Fail a running task; the intent's retry policy decides whether it is tried again."""
        return _task_move(task_id, "fail", {"error": error}, version)

    @endpoint
    def delegate_task(
        self,
        task_id: str,
        capability: str,
        input: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        delegated_to: str | None = None,
    ) -> Call[Task]:
        """Hand part of a running task to a sub-task needing ``capability``; answers the sub-task (the task waits
        blocked until it ends)."""
        body = {"capability": capability, "input": dict(input or {})}
        body.update(_given(name=name, description=description, delegated_to=delegated_to))
        return _task_move(task_id, "delegate", body, None)

    @endpoint
    def escalate_task(self, task_id: str, reason: str, escalated_to: str | None = None) -> Call[Task]:
        """Ask a person to decide: the task is blocked until :meth:`resolve_task_escalation`."""
        return _task_move(task_id, "escalate", {"reason": reason, "escalated_to": escalated_to}, None)

    @endpoint
    def resolve_task_escalation(self, task_id: str, decision: str) -> Call[Task]:
        """Decide an escalated task (an admin of its intent); it goes back to what it was doing."""
        return _task_move(task_id, "resolve", {"decision": decision}, None)

    @endpoint
    def cancel_task(self, task_id: str, reason: str | None = None, version: int | None = None) -> Call[Task]:
        return _task_move(task_id, "cancel", {"reason": reason}, version)

    # Plans ----------------------------------------------------------------------------------------------------

    @endpoint
    def create_plan(
        self,
        /,
        intent_id: str,
        tasks: list[str] | None = None,
        *,
        checkpoints: list[Checkpoint | Mapping[str, Any]] | None = None,
        conditions: list[PlanCondition | Mapping[str, Any]] | None = None,
        on_failure: str | None = None,
        on_complete: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Call[Plan]:
        """Create a draft plan ordering the intent's ``tasks`` (ids), with checkpoints and conditions."""
        body: dict[str, Any] = {"intent_id": intent_id}
        body.update(
            _given(
                tasks=tasks,
                checkpoints=[_checkpoint(item) for item in checkpoints] if checkpoints is not None else None,
                conditions=conditions,
                on_failure=on_failure,
                on_complete=on_complete,
                metadata=metadata,
                **extra,
            )
        )
        return Call("POST", api("/plans"), _one(Plan.from_dict), json=body)

    @endpoint
    def get_plan(self, plan_id: str) -> Call[Plan]:
        return Call("GET", _plan(plan_id), _one(Plan.from_dict))

    @endpoint
    def list_plans(self, intent_id: str) -> Call[list[Plan]]:
        """The intent's plans, oldest first."""
        return Call("GET", api(f"/intents/{_seg(intent_id)}/plans"), _many(Plan.from_dict, "plans"))

    @endpoint
    def update_plan(self, /, plan_id: str, version: int, **changes: Any) -> Call[Plan]:
        """Change a plan at ``version``: ``state``, ``tasks``, ``checkpoints``, ``conditions``, ``on_failure``,
        ``on_complete`` or ``metadata``."""
        if isinstance(changes.get("checkpoints"), list):
            changes["checkpoints"] = [_checkpoint(item) for item in changes["checkpoints"]]
        return Call("PATCH", _plan(plan_id), _one(Plan.from_dict), json=_given(**changes), if_match=version)

    @endpoint
    def activate_plan(self, plan_id: str, version: int) -> Call[Plan]:
        return _plan_move(plan_id, "activate", version)

    @endpoint
    def pause_plan(self, plan_id: str, version: int, reason: str | None = None) -> Call[Plan]:
        return _plan_move(plan_id, "pause", version, {"reason": reason})

    @endpoint
    def resume_plan(self, plan_id: str, version: int) -> Call[Plan]:
        return _plan_move(plan_id, "resume", version)

    @endpoint
    def cancel_plan(self, plan_id: str, version: int, reason: str | None = None) -> Call[Plan]:
        """Cancel the plan; its unfinished tasks are cancelled."""
        return _plan_move(plan_id, "cancel", version, {"reason": reason})

    @endpoint
    def get_plan_checkpoints(self, plan_id: str) -> Call[list[Checkpoint]]:
        return Call("GET", _plan(plan_id, "/checkpoints"), _many(Checkpoint.from_dict, "checkpoints"))

    @endpoint
    def get_plan_costs(self, plan_id: str) -> Call[dict[str, Any]]:
        """The costs recorded against the plan's tasks, per task and unit."""
        return Call("GET", _plan(plan_id, "/costs"), _raw)

    @endpoint
    def approve_checkpoint(self, checkpoint_id: str, reason: str | None = None) -> Call[Plan]:
        """Approve a waiting checkpoint (by its ``checkpoint_id``); the plan resumes."""
        path = api(f"/checkpoints/{_seg(checkpoint_id)}/approve")
        return Call("POST", path, _one(Plan.from_dict), json={"reason": reason})

    @endpoint
    def reject_checkpoint(self, checkpoint_id: str, reason: str | None = None) -> Call[Plan]:
        """Reject a waiting checkpoint; the plan fails."""
        path = api(f"/checkpoints/{_seg(checkpoint_id)}/reject")
        return Call("POST", path, _one(Plan.from_dict), json={"reason": reason})

    # Coordinators (RFC-0013) ------------------------------------------------------------------------------------

    @endpoint
    def create_coordinator_lease(
        self,
        /,
        agent_id: str,
        intent_id: str | None = None,
        *,
        supervisor_id: str | None = None,
        portfolio_id: str | None = None,
        coordinator_type: CoordinatorType | str | None = None,
        scope: str | None = None,
        guardrails: Guardrails | Mapping[str, Any] | None = None,
        failover_pool: list[str] | None = None,
        heartbeat_interval_seconds: int | None = None,
        expires_at: Any = None,
        metadata: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Call[CoordinatorLease]:
        """Make ``agent_id`` the coordinator of an intent (or of a ``portfolio_id``) under ``supervisor_id`` (a
        person, or a coordinator whose chain ends at one). The role is exclusive: :class:`LeaseConflictError`
        while another coordinator holds it; a refusal by the supervisor's guardrails is :class:`ConflictError`."""
        body: dict[str, Any] = {"agent_id": agent_id}
        body.update(
            _given(
                intent_id=intent_id,
                supervisor_id=supervisor_id,
                portfolio_id=portfolio_id,
                coordinator_type=coordinator_type,
                scope=scope,
                guardrails=None if guardrails is None else _guardrails(guardrails),
                failover_pool=failover_pool,
                heartbeat_interval_seconds=heartbeat_interval_seconds,
                expires_at=expires_at,
                metadata=metadata,
                **extra,
            )
        )
        return Call("POST", api("/coordinators"), _one(CoordinatorLease.from_dict), json=body)

    @endpoint
    def get_coordinator_lease(self, lease_id: str) -> Call[CoordinatorLease]:
        return Call("GET", _lease(lease_id), _one(CoordinatorLease.from_dict))

    @endpoint
    def list_coordinator_leases(self, intent_id: str) -> Call[list[CoordinatorLease]]:
        """Every coordinator lease the intent has had, live or ended."""
        path = api(f"/intents/{_seg(intent_id)}/coordinators")
        return Call("GET", path, _many(CoordinatorLease.from_dict, "coordinators", "leases"))

    @endpoint
    def coordinator_heartbeat(
        self,
        lease_id: str,
        *,
        active_tasks: int | None = None,
        pending_decisions: int | None = None,
        budget_used_usd: float | None = None,
        status_summary: str | None = None,
    ) -> Call[dict[str, Any]]:
        """Keep the role (two missed intervals make the coordinator unresponsive, three fail it over):
        ``{"status", "next_heartbeat_at", "lease_status", "version"}``."""
        body = _given(
            active_tasks=active_tasks,
            pending_decisions=pending_decisions,
            budget_used_usd=budget_used_usd,
            status_summary=status_summary,
        )
        return Call("POST", _lease(lease_id, "/heartbeat"), _raw, json=body)

    @endpoint
    def handoff_coordinator(
        self,
        lease_id: str,
        to_coordinator: str,
        reason: str = "",
        open_items: list[Any] | None = None,
        version: int | None = None,
    ) -> Call[CoordinatorLease]:
        """Hand the role to another agent (the coordinator itself); answers the new lease."""
        body = {"to_coordinator": to_coordinator, "reason": reason, "open_items": list(open_items or [])}
        return _lease_move(lease_id, "handoff", body, version)

    @endpoint
    def release_coordinator_lease(
        self, lease_id: str, reason: str | None = None, version: int | None = None
    ) -> Call[CoordinatorLease]:
        """End the role (the coordinator, or a supervisor): the lease is ``completed``."""
        return _lease_move(lease_id, "release", {"reason": reason}, version)

    @endpoint
    def pause_coordinator(
        self, lease_id: str, reason: str | None = None, version: int | None = None
    ) -> Call[CoordinatorLease]:
        """Pause the coordinator (a supervisor): it plans and assigns nothing until resumed."""
        return _lease_move(lease_id, "pause", {"reason": reason}, version)

    @endpoint
    def resume_coordinator(self, lease_id: str, version: int | None = None) -> Call[CoordinatorLease]:
        return _lease_move(lease_id, "resume", {}, version)

    @endpoint
    def replace_coordinator(
        self,
        lease_id: str,
        agent_id: str,
        reason: str | None = None,
        coordinator_type: CoordinatorType | str | None = None,
        version: int | None = None,
    ) -> Call[CoordinatorLease]:
        """Replace the coordinator (a supervisor): its lease ends; answers the new one."""
        body = {"agent_id": agent_id, "reason": reason}
        body.update(_given(coordinator_type=coordinator_type))
        return _lease_move(lease_id, "replace", body, version)

    @endpoint
    def get_guardrails(self, lease_id: str) -> Call[Guardrails]:
        def parse(response: Response) -> Guardrails:
            return Guardrails.from_dict(_raw(response))

        return Call("GET", _lease(lease_id, "/guardrails"), parse)

    @endpoint
    def update_guardrails(
        self, lease_id: str, guardrails: Guardrails | Mapping[str, Any], version: int | None = None
    ) -> Call[CoordinatorLease]:
        """Change a coordinator's guardrails (a supervisor): the keys given replace, a ``None`` removes one."""
        body = (
            _guardrails(guardrails)
            if isinstance(guardrails, Guardrails)
            else {str(k): to_wire(v) for k, v in guardrails.items()}
        )
        path = _lease(lease_id, "/guardrails")
        return Call("PATCH", path, _one(CoordinatorLease.from_dict), json=body, if_match=version)

    @endpoint
    def get_guardrail_status(self, lease_id: str) -> Call[dict[str, Any]]:
        """Where the coordinated intent stands against each guardrail: ``{"guardrails", "usage",
        "recent_hits"}``."""
        return Call("GET", _lease(lease_id, "/guardrails/status"), _raw)

    @endpoint
    def approve_plan(self, plan_id: str, reason: str = "") -> Call[Plan]:
        """Approve a draft plan as the supervisor of the intent's coordinator, so that it may be activated."""
        return Call("POST", _plan(plan_id, "/approve"), _one(Plan.from_dict), json={"reason": reason})

    @endpoint
    def reject_plan(self, plan_id: str, reason: str = "") -> Call[Plan]:
        return Call("POST", _plan(plan_id, "/reject"), _one(Plan.from_dict), json={"reason": reason})

    @endpoint
    def create_decision_record(
        self,
        /,
        coordinator_id: str,
        intent_id: str,
        decision_type: DecisionType | str,
        summary: str,
        rationale: str,
        *,
        alternatives_considered: list[Mapping[str, Any]] | None = None,
        confidence: float | None = None,
        **extra: Any,
    ) -> Call[DecisionRecord]:
        """Record a coordinator's decision, with the alternatives it weighed (``{"description",
        "rejected_reason"}``) and its ``confidence`` (0 to 1). Records are immutable."""
        body: dict[str, Any] = {
            "coordinator_id": coordinator_id,
            "intent_id": intent_id,
            "decision_type": wire_value(decision_type),
            "summary": summary,
            "rationale": rationale,
        }
        body.update(_given(alternatives_considered=alternatives_considered, confidence=confidence, **extra))
        return Call("POST", api("/decisions"), _one(DecisionRecord.from_dict), json=body)

    @endpoint
    def get_decision_record(self, record_id: str) -> Call[DecisionRecord]:
        return Call("GET", api(f"/decisions/{_seg(record_id)}"), _one(DecisionRecord.from_dict))

    @endpoint
    def list_decision_records(self, intent_id: str, limit: int = 50, offset: int = 0) -> Call[list[DecisionRecord]]:
        """The intent's decision records, newest first."""
        path = api(f"/intents/{_seg(intent_id)}/coordinator-decisions")
        params = {"limit": limit, "offset": offset}
        return Call("GET", path, _many(DecisionRecord.from_dict, "decisions", "records"), params=params)


def _checkpoint(item: Checkpoint | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(item, Checkpoint):
        data = item.to_dict()
        # Only what an author writes: the server keeps the status and the decision.
        keep = ("id", "name", "after_task", "requires_approval", "approvers", "timeout_hours", "on_timeout")
        return {key: data[key] for key in keep if key in data}
    return {str(key): to_wire(value) for key, value in item.items()}
