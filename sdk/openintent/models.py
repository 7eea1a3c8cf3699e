"""Typed models of the protocol's resources.

Every model is a dataclass with ``from_dict`` (lenient: unknown keys are ignored, missing keys get defaults,
an enum value this SDK does not know is kept as its string, timestamps with or without ``Z`` become aware UTC
datetimes) and ``to_dict`` (enums as values, datetimes in ISO-8601).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from ._wire import (
    UTC,
    as_dict,
    as_float,
    as_int,
    as_list,
    as_opt_int,
    as_opt_str,
    as_str,
    as_str_list,
    dataclass_to_dict,
    first,
    items_of,
    parse_datetime,
    parse_enum,
    require_datetime,
)

__all__ = [
    "IntentStatus",
    "EventType",
    "LeaseStatus",
    "PortfolioStatus",
    "MembershipRole",
    "CostType",
    "RetryStrategy",
    "StreamStatus",
    "Permission",
    "AccessPolicy",
    "AccessRequestStatus",
    "ArbitrationStatus",
    "IntentState",
    "Intent",
    "IntentPage",
    "IntentEvent",
    "IntentLease",
    "AgentAssignment",
    "ArbitrationRequest",
    "Decision",
    "AggregateStatus",
    "PortfolioMembership",
    "IntentPortfolio",
    "IntentAttachment",
    "IntentCost",
    "CostSummary",
    "RetryPolicy",
    "IntentFailure",
    "IntentSubscription",
    "ToolCallPayload",
    "LLMRequestPayload",
    "StreamState",
    "ACLEntry",
    "IntentACL",
    "AccessRequest",
    "TaskStatus",
    "PlanState",
    "CheckpointTimeoutAction",
    "CheckpointStatus",
    "PlanFailureAction",
    "CoordinatorType",
    "CoordinatorStatus",
    "CoordinatorScope",
    "CompositeMode",
    "DecisionType",
    "GuardrailExceedAction",
    "AuthType",
    "CredentialStatus",
    "GrantStatus",
    "GrantSource",
    "InvocationStatus",
    "MemoryType",
    "MemoryPriority",
    "EvictionPolicy",
    "MemorySensitivity",
    "AgentStatus",
    "TriggerType",
    "DeduplicationMode",
    "TriggerState",
    "Checkpoint",
    "PlanCondition",
    "MemoryPolicy",
    "ToolRequirement",
    "Task",
    "Plan",
    "Guardrails",
    "CoordinatorLease",
    "DecisionRecord",
    "CredentialVault",
    "Credential",
    "GrantConstraints",
    "ToolGrant",
    "ToolInvocation",
    "Tool",
    "MemoryScope",
    "MemoryEntry",
    "MemoryPage",
    "NamespacePermissions",
    "HeartbeatConfig",
    "AgentCapacity",
    "AgentRecord",
    "Heartbeat",
    "HeartbeatAck",
    "IntentTemplate",
    "TriggerCondition",
    "TriggerLineage",
    "Trigger",
]


# Enums --------------------------------------------------------------------------------------------------------


class _WireEnum(str, Enum):
    """An enum whose members are their wire strings: equal to them, and printed as them."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)


class IntentStatus(_WireEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class EventType(_WireEnum):
    """Event types of the audit log. Types outside this list (custom ones, newer ones) are kept as strings."""

    INTENT_CREATED = "intent_created"
    STATE_PATCHED = "state_patched"
    STATUS_CHANGED = "status_changed"
    AGENT_ASSIGNED = "agent_assigned"
    AGENT_UNASSIGNED = "agent_unassigned"
    CONSTRAINT_ADDED = "constraint_added"
    CONSTRAINT_REMOVED = "constraint_removed"
    DEPENDENCY_ADDED = "dependency_added"
    DEPENDENCY_REMOVED = "dependency_removed"
    LEASE_ACQUIRED = "lease_acquired"
    LEASE_RELEASED = "lease_released"
    ARBITRATION_REQUESTED = "arbitration_requested"
    DECISION_RECORDED = "decision_recorded"
    ATTACHMENT_ADDED = "attachment_added"
    PORTFOLIO_CREATED = "portfolio_created"
    ADDED_TO_PORTFOLIO = "added_to_portfolio"
    REMOVED_FROM_PORTFOLIO = "removed_from_portfolio"
    FAILURE_RECORDED = "failure_recorded"
    COMMENT = "comment"
    COST_RECORDED = "cost_recorded"
    BUDGET_ALERT = "budget_alert"
    BUDGET_EXCEEDED = "budget_exceeded"
    RETRY_SCHEDULED = "retry_scheduled"
    FALLBACK_TRIGGERED = "fallback_triggered"
    RETRIES_EXHAUSTED = "retries_exhausted"
    TOOL_CALL_STARTED = "tool_call_started"
    TOOL_CALL_COMPLETED = "tool_call_completed"
    TOOL_CALL_FAILED = "tool_call_failed"
    LLM_REQUEST_STARTED = "llm_request_started"
    LLM_REQUEST_COMPLETED = "llm_request_completed"
    LLM_REQUEST_FAILED = "llm_request_failed"
    STREAM_STARTED = "stream_started"
    STREAM_CHUNK = "stream_chunk"
    STREAM_COMPLETED = "stream_completed"
    STREAM_CANCELLED = "stream_cancelled"
    ACCESS_GRANTED = "access_granted"
    ACCESS_REVOKED = "access_revoked"
    ACCESS_EXPIRED = "access_expired"
    ACCESS_REQUESTED = "access_requested"
    ACCESS_REQUEST_APPROVED = "access_request_approved"
    ACCESS_REQUEST_DENIED = "access_request_denied"
    # RFC-0012..0017: dotted values; each name is its value upper-cased, the dot an underscore.
    TASK_CREATED = "task.created"
    TASK_READY = "task.ready"
    TASK_CLAIMED = "task.claimed"
    TASK_STARTED = "task.started"
    TASK_PROGRESS = "task.progress"
    TASK_COMPLETED = "task.completed"
    TASK_FAILED = "task.failed"
    TASK_RETRYING = "task.retrying"
    TASK_BLOCKED = "task.blocked"
    TASK_UNBLOCKED = "task.unblocked"
    TASK_DELEGATED = "task.delegated"
    TASK_ESCALATED = "task.escalated"
    TASK_CANCELLED = "task.cancelled"
    TASK_SKIPPED = "task.skipped"
    PLAN_CREATED = "plan.created"
    PLAN_ACTIVATED = "plan.activated"
    PLAN_PAUSED = "plan.paused"
    PLAN_RESUMED = "plan.resumed"
    PLAN_COMPLETED = "plan.completed"
    PLAN_FAILED = "plan.failed"
    PLAN_CHECKPOINT_REACHED = "plan.checkpoint_reached"
    PLAN_CHECKPOINT_APPROVED = "plan.checkpoint_approved"
    PLAN_CHECKPOINT_REJECTED = "plan.checkpoint_rejected"
    COORDINATOR_DECISION = "coordinator.decision"
    COORDINATOR_HEARTBEAT = "coordinator.heartbeat"
    COORDINATOR_PAUSED = "coordinator.paused"
    COORDINATOR_RESUMED = "coordinator.resumed"
    COORDINATOR_REPLACED = "coordinator.replaced"
    COORDINATOR_UNRESPONSIVE = "coordinator.unresponsive"
    COORDINATOR_FAILED_OVER = "coordinator.failed_over"
    COORDINATOR_HANDOFF = "coordinator.handoff"
    COORDINATOR_PLAN_OVERRIDDEN = "coordinator.plan_overridden"
    COORDINATOR_GUARDRAILS_UPDATED = "coordinator.guardrails_updated"
    COORDINATOR_STALLED = "coordinator.stalled"
    COORDINATOR_ESCALATION_RESOLVED = "coordinator.escalation_resolved"
    TOOL_INVOKED = "tool.invoked"
    TOOL_DENIED = "tool.denied"
    GRANT_CREATED = "grant.created"
    GRANT_DELEGATED = "grant.delegated"
    GRANT_REVOKED = "grant.revoked"
    GRANT_EXPIRED = "grant.expired"
    GRANT_SUSPENDED = "grant.suspended"
    GRANT_RESUMED = "grant.resumed"
    CREDENTIAL_CREATED = "credential.created"
    CREDENTIAL_ROTATED = "credential.rotated"
    CREDENTIAL_EXPIRED = "credential.expired"
    CREDENTIAL_REVOKED = "credential.revoked"
    MEMORY_CREATED = "memory.created"
    MEMORY_UPDATED = "memory.updated"
    MEMORY_DELETED = "memory.deleted"
    MEMORY_ARCHIVED = "memory.archived"
    MEMORY_EVICTED = "memory.evicted"
    MEMORY_EXPIRED = "memory.expired"
    AGENT_LIFECYCLE = "agent.lifecycle"
    AGENT_REGISTERED = "agent.registered"
    AGENT_STATUS_CHANGED = "agent.status_changed"
    AGENT_DEAD = "agent.dead"
    TRIGGER_FIRED = "trigger.fired"
    TRIGGER_SKIPPED = "trigger.skipped"
    TRIGGER_CASCADE_LIMIT = "trigger.cascade_limit"
    TRIGGER_NAMESPACE_BLOCKED = "trigger.namespace_blocked"
    # Legacy aliases of 0.9.1.
    CREATED = "intent_created"
    STATE_UPDATED = "state_patched"


class LeaseStatus(_WireEnum):
    ACTIVE = "active"
    RELEASED = "released"
    EXPIRED = "expired"
    REVOKED = "revoked"


class PortfolioStatus(_WireEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class MembershipRole(_WireEnum):
    PRIMARY = "primary"
    MEMBER = "member"
    DEPENDENCY = "dependency"


class CostType(_WireEnum):
    TOKENS = "tokens"
    API_CALL = "api_call"
    COMPUTE = "compute"
    CUSTOM = "custom"


class RetryStrategy(_WireEnum):
    NONE = "none"
    FIXED = "fixed"
    EXPONENTIAL = "exponential"
    LINEAR = "linear"


class StreamStatus(_WireEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Permission(_WireEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class AccessPolicy(_WireEnum):
    OPEN = "open"
    CLOSED = "closed"
    RESTRICTED = "restricted"
    PRIVATE = "private"


class AccessRequestStatus(_WireEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class ArbitrationStatus(_WireEnum):
    PENDING = "pending"
    RESOLVED = "resolved"


class _Model:
    """``to_dict`` for every model: its fields, enums by value and datetimes in ISO-8601."""

    _omit_empty = False

    def to_dict(self) -> dict[str, Any]:
        return dataclass_to_dict(self, self._omit_empty)


# Intents (RFC-0001/0002) --------------------------------------------------------------------------------------


@dataclass
class IntentState:
    """An intent's state document: a dict with ``get``/``set`` and item access."""

    data: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_dict(cls, data: Any) -> IntentState:
        return cls(as_dict(data))


def _constraints(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {"rules": value} if value else {}
    return as_dict(value)


@dataclass
class Intent(_Model):
    id: str
    title: str
    description: str = ""
    version: int = 1
    status: IntentStatus | str = IntentStatus.ACTIVE
    state: IntentState = field(default_factory=IntentState)
    constraints: dict[str, Any] = field(default_factory=dict)
    parent_intent_id: str | None = None
    depends_on: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None
    confidence: int = 0
    trigger_lineage: TriggerLineage | None = None
    """Where a trigger (RFC-0017) created the intent: its id, type and cascade depth; ``None`` otherwise."""

    @property
    def has_parent(self) -> bool:
        return self.parent_intent_id is not None

    @property
    def has_dependencies(self) -> bool:
        return bool(self.depends_on)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["state"] = self.state.to_dict()
        if self.trigger_lineage is None:
            del data["trigger_lineage"]  # the shape 0.9.1 writes, for an intent no trigger made
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Intent:
        lineage = data.get("trigger_lineage")
        return cls(
            id=as_str(data.get("id")),
            title=as_str(data.get("title")),
            description=as_str(data.get("description")),
            version=as_int(data.get("version"), 1),
            status=parse_enum(IntentStatus, data.get("status"), IntentStatus.ACTIVE),
            state=IntentState.from_dict(data.get("state")),
            constraints=_constraints(data.get("constraints")),
            parent_intent_id=as_opt_str(first(data, "parent_intent_id", "parent_id", "parentIntentId")),
            depends_on=as_str_list(first(data, "depends_on", "dependsOn")),
            created_at=parse_datetime(first(data, "created_at", "createdAt")),
            updated_at=parse_datetime(first(data, "updated_at", "updatedAt")),
            created_by=as_opt_str(first(data, "created_by", "createdBy")),
            confidence=as_int(data.get("confidence")),
            trigger_lineage=TriggerLineage.from_dict(lineage) if isinstance(lineage, dict) else None,
        )


@dataclass
class IntentPage(_Model):
    """One page of ``list_intents``: ``next_cursor`` is ``None`` on the last page."""

    intents: list[Intent] = field(default_factory=list)
    limit: int = 0
    offset: int = 0
    next_cursor: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> IntentPage:
        body = as_dict(data)
        intents = [Intent.from_dict(row) for row in items_of(data, "intents")]
        return cls(
            intents=intents,
            limit=as_int(body.get("limit"), len(intents)),
            offset=as_int(body.get("offset")),
            next_cursor=as_opt_str(body.get("next_cursor")),
        )


@dataclass
class IntentEvent(_Model):
    id: str
    intent_id: str
    event_type: EventType | str
    actor: str | None
    payload: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentEvent:
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(data.get("intent_id")),
            event_type=parse_enum(EventType, data.get("event_type"), EventType.STATE_PATCHED),
            actor=as_opt_str(data.get("actor")),
            payload=as_dict(data.get("payload")),
            created_at=parse_datetime(first(data, "created_at", "createdAt")) or datetime.now(UTC),
        )


@dataclass
class IntentLease(_Model):
    id: str
    intent_id: str
    agent_id: str
    scope: str
    status: LeaseStatus | str
    expires_at: datetime
    created_at: datetime
    released_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        """Active and not yet past ``expires_at`` (compared in UTC)."""
        return self.status == LeaseStatus.ACTIVE and datetime.now(UTC) < self.expires_at

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentLease:
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(data.get("intent_id")),
            agent_id=as_str(first(data, "agent_id", "holder")),
            scope=as_str(data.get("scope")),
            status=parse_enum(LeaseStatus, data.get("status"), LeaseStatus.ACTIVE),
            expires_at=require_datetime(data.get("expires_at")),
            created_at=require_datetime(first(data, "created_at", "acquired_at")),
            released_at=parse_datetime(data.get("released_at")),
        )


@dataclass
class AgentAssignment(_Model):
    """An agent assigned to an intent."""

    id: str
    intent_id: str
    agent_id: str
    role: str = "worker"
    assigned_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentAssignment:
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(data.get("intent_id")),
            agent_id=as_str(data.get("agent_id")),
            role=as_str(data.get("role"), "worker"),
            assigned_at=parse_datetime(data.get("assigned_at")),
        )


# Governance (RFC-0004) ----------------------------------------------------------------------------------------


@dataclass
class ArbitrationRequest(_Model):
    id: str
    intent_id: str
    requester_id: str
    reason: str
    context: dict[str, Any]
    status: ArbitrationStatus | str
    created_at: datetime
    options: list[dict[str, Any]] = field(default_factory=list)
    resolution: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArbitrationRequest:
        resolution = data.get("resolution")
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(data.get("intent_id")),
            requester_id=as_str(first(data, "requester_id", "requested_by")),
            reason=as_str(data.get("reason")),
            context=as_dict(data.get("context")),
            status=parse_enum(ArbitrationStatus, data.get("status"), ArbitrationStatus.PENDING),
            created_at=require_datetime(data.get("created_at")),
            options=[as_dict(option) for option in as_list(data.get("options"))],
            resolution=as_dict(resolution) if isinstance(resolution, dict) else None,
        )


@dataclass
class Decision(_Model):
    id: str
    intent_id: str
    decision_maker_id: str
    decision_type: str
    outcome: str
    reasoning: str
    created_at: datetime
    arbitration_id: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return cls(
            id=as_str(first(data, "id", "decision_id")),
            intent_id=as_str(data.get("intent_id")),
            decision_maker_id=as_str(first(data, "decision_maker_id", "decided_by")),
            decision_type=as_str(data.get("decision_type")),
            outcome=as_str(data.get("outcome")),
            reasoning=as_str(first(data, "reasoning", "rationale")),
            created_at=require_datetime(data.get("created_at")),
            arbitration_id=as_opt_str(data.get("arbitration_id")),
            evidence=[as_dict(item) for item in as_list(data.get("evidence"))],
        )


# Portfolios (RFC-0007) ----------------------------------------------------------------------------------------


@dataclass
class AggregateStatus(_Model):
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    completion_percentage: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> AggregateStatus:
        body = as_dict(data)
        return cls(
            total=as_int(body.get("total")),
            by_status={str(key): as_int(value) for key, value in as_dict(first(body, "by_status", "byStatus")).items()},
            completion_percentage=as_int(first(body, "completion_percentage", "completionPercentage")),
        )


@dataclass
class PortfolioMembership(_Model):
    id: str
    portfolio_id: str = ""
    intent_id: str = ""
    role: MembershipRole | str = MembershipRole.MEMBER
    priority: int = 0
    added_at: datetime | None = None
    added_by: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortfolioMembership:
        return cls(
            id=as_str(first(data, "id", "membership_id")),
            portfolio_id=as_str(first(data, "portfolio_id", "portfolioId")),
            intent_id=as_str(first(data, "intent_id", "intentId")),
            role=parse_enum(MembershipRole, data.get("role"), MembershipRole.MEMBER),
            priority=as_int(data.get("priority")),
            added_at=parse_datetime(first(data, "added_at", "addedAt")),
            added_by=as_opt_str(first(data, "added_by", "addedBy")),
        )


@dataclass
class IntentPortfolio(_Model):
    id: str
    name: str
    description: str | None = None
    created_by: str = ""
    status: PortfolioStatus | str = PortfolioStatus.ACTIVE
    metadata: dict[str, Any] = field(default_factory=dict)
    governance_policy: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    intents: list[Intent] = field(default_factory=list)
    members: list[PortfolioMembership] = field(default_factory=list)
    aggregate_status: AggregateStatus | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentPortfolio:
        aggregate = first(data, "aggregate_status", "aggregateStatus")
        return cls(
            id=as_str(data.get("id")),
            name=as_str(data.get("name")),
            description=as_opt_str(data.get("description")),
            created_by=as_str(first(data, "created_by", "createdBy")),
            status=parse_enum(PortfolioStatus, data.get("status"), PortfolioStatus.ACTIVE),
            metadata=as_dict(data.get("metadata")),
            governance_policy=as_dict(first(data, "governance_policy", "governancePolicy")),
            created_at=parse_datetime(first(data, "created_at", "createdAt")),
            updated_at=parse_datetime(first(data, "updated_at", "updatedAt")),
            intents=[Intent.from_dict(row) for row in as_list(data.get("intents")) if isinstance(row, dict)],
            members=[
                PortfolioMembership.from_dict(row) for row in as_list(data.get("members")) if isinstance(row, dict)
            ],
            aggregate_status=AggregateStatus.from_dict(aggregate) if isinstance(aggregate, dict) else None,
        )


# Attachments, costs, retries (RFC-0005/0009/0010) -------------------------------------------------------------


@dataclass
class IntentAttachment(_Model):
    id: str
    intent_id: str
    filename: str
    mime_type: str
    size: int
    storage_url: str
    metadata: dict[str, Any] = field(default_factory=dict)
    uploaded_by: str = ""
    created_at: datetime | None = None
    sha256: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentAttachment:
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(first(data, "intent_id", "intentId")),
            filename=as_str(data.get("filename")),
            mime_type=as_str(first(data, "mime_type", "mimeType", "content_type")),
            size=as_int(first(data, "size", "size_bytes")),
            storage_url=as_str(first(data, "storage_url", "storageUrl", "url")),
            metadata=as_dict(data.get("metadata")),
            uploaded_by=as_str(first(data, "uploaded_by", "uploadedBy", "created_by")),
            created_at=parse_datetime(first(data, "created_at", "createdAt")),
            sha256=as_opt_str(data.get("sha256")),
        )


@dataclass
class IntentCost(_Model):
    id: str
    intent_id: str
    agent_id: str
    cost_type: CostType | str
    amount: float
    unit: str
    provider: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    recorded_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentCost:
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(first(data, "intent_id", "intentId")),
            agent_id=as_str(first(data, "agent_id", "agentId")),
            cost_type=parse_enum(CostType, first(data, "cost_type", "costType"), CostType.CUSTOM),
            amount=as_float(data.get("amount")),
            unit=as_str(data.get("unit")),
            provider=as_opt_str(data.get("provider")),
            metadata=as_dict(first(data, "metadata", "cost_metadata")),
            recorded_at=parse_datetime(first(data, "recorded_at", "recordedAt")),
        )


@dataclass
class CostSummary(_Model):
    total: float = 0.0
    by_type: dict[str, float] = field(default_factory=dict)
    by_agent: dict[str, float] = field(default_factory=dict)
    by_unit: dict[str, float] = field(default_factory=dict)
    spent_cents: float | None = None
    budget: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> CostSummary:
        body = as_dict(data)

        def totals(*keys: str) -> dict[str, float]:
            return {str(key): as_float(value) for key, value in as_dict(first(body, *keys)).items()}

        spent = body.get("spent_cents")
        budget = body.get("budget")
        return cls(
            total=as_float(first(body, "total", "total_cost")),
            by_type=totals("by_type", "byType"),
            by_agent=totals("by_agent", "byAgent"),
            by_unit=totals("by_unit", "byUnit"),
            spent_cents=None if spent is None else as_float(spent),
            budget=as_dict(budget) if isinstance(budget, dict) else None,
        )


@dataclass
class RetryPolicy(_Model):
    id: str
    intent_id: str
    strategy: RetryStrategy | str
    max_retries: int
    base_delay_ms: int
    max_delay_ms: int
    fallback_agent_id: str | None = None
    failure_threshold: int = 3
    jitter: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetryPolicy:
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(first(data, "intent_id", "intentId")),
            strategy=parse_enum(RetryStrategy, data.get("strategy"), RetryStrategy.EXPONENTIAL),
            max_retries=as_int(first(data, "max_retries", "maxRetries"), 3),
            base_delay_ms=as_int(first(data, "base_delay_ms", "baseDelayMs"), 1000),
            max_delay_ms=as_int(first(data, "max_delay_ms", "maxDelayMs"), 60000),
            fallback_agent_id=as_opt_str(first(data, "fallback_agent_id", "fallbackAgentId")),
            failure_threshold=as_int(first(data, "failure_threshold", "failureThreshold"), 3),
            jitter=bool(data.get("jitter", True)),
            created_at=parse_datetime(first(data, "created_at", "createdAt")),
            updated_at=parse_datetime(first(data, "updated_at", "updatedAt")),
        )


@dataclass
class IntentFailure(_Model):
    id: str
    intent_id: str
    agent_id: str
    attempt_number: int
    error_code: str | None = None
    error_message: str | None = None
    retry_scheduled_at: datetime | None = None
    resolved_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    recoverable: bool = True
    retried_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentFailure:
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(first(data, "intent_id", "intentId")),
            agent_id=as_str(first(data, "agent_id", "agentId")),
            attempt_number=as_int(first(data, "attempt_number", "attemptNumber"), 1),
            error_code=as_opt_str(first(data, "error_code", "error_type", "errorCode")),
            error_message=as_opt_str(first(data, "error_message", "errorMessage")),
            retry_scheduled_at=parse_datetime(first(data, "retry_scheduled_at", "retryScheduledAt")),
            resolved_at=parse_datetime(first(data, "resolved_at", "resolvedAt")),
            metadata=as_dict(data.get("metadata")),
            created_at=parse_datetime(first(data, "created_at", "occurred_at", "createdAt", "occurredAt")),
            recoverable=bool(data.get("recoverable", True)),
            retried_at=parse_datetime(data.get("retried_at")),
        )


# Webhook subscriptions (RFC-0006) -----------------------------------------------------------------------------


@dataclass
class IntentSubscription(_Model):
    id: str
    subscriber_id: str = ""
    intent_id: str | None = None
    portfolio_id: str | None = None
    event_types: list[str] = field(default_factory=list)
    webhook_url: str | None = None
    active: bool = True
    expires_at: datetime | None = None
    created_at: datetime | None = None
    secret: str | None = None
    """The signing secret of the deliveries: only in the answer to ``subscribe``."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentSubscription:
        return cls(
            id=as_str(data.get("id")),
            subscriber_id=as_str(first(data, "subscriber_id", "subscriberId")),
            intent_id=as_opt_str(first(data, "intent_id", "intentId")),
            portfolio_id=as_opt_str(first(data, "portfolio_id", "portfolioId")),
            event_types=as_str_list(first(data, "event_types", "eventTypes")),
            webhook_url=as_opt_str(first(data, "webhook_url", "webhookUrl")),
            active=bool(data.get("active", True)),
            expires_at=parse_datetime(first(data, "expires_at", "expiresAt")),
            created_at=parse_datetime(first(data, "created_at", "createdAt")),
            secret=as_opt_str(data.get("secret")),
        )


# LLM observability payloads (RFC-0008) ------------------------------------------------------------------------


@dataclass
class ToolCallPayload(_Model):
    _omit_empty = True

    tool_name: str
    tool_id: str
    arguments: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None
    model: str | None = None
    parent_request_id: str | None = None
    result: Any = None
    error: str | None = None
    duration_ms: int | None = None
    token_count: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCallPayload:
        return cls(
            tool_name=as_str(data.get("tool_name")),
            tool_id=as_str(data.get("tool_id")),
            arguments=as_dict(data.get("arguments")),
            provider=as_opt_str(data.get("provider")),
            model=as_opt_str(data.get("model")),
            parent_request_id=as_opt_str(data.get("parent_request_id")),
            result=data.get("result"),
            error=as_opt_str(data.get("error")),
            duration_ms=as_opt_int(data.get("duration_ms")),
            token_count=as_opt_int(data.get("token_count")),
        )


@dataclass
class LLMRequestPayload(_Model):
    _omit_empty = True

    request_id: str
    provider: str
    model: str
    messages_count: int = 0
    tools_available: list[str] = field(default_factory=list)
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = False
    response_content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    duration_ms: int | None = None
    error: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LLMRequestPayload:
        temperature = data.get("temperature")
        return cls(
            request_id=as_str(data.get("request_id")),
            provider=as_str(data.get("provider")),
            model=as_str(data.get("model")),
            messages_count=as_int(data.get("messages_count")),
            tools_available=as_str_list(data.get("tools_available")),
            temperature=None if temperature is None else as_float(temperature),
            max_tokens=as_opt_int(data.get("max_tokens")),
            stream=bool(data.get("stream", False)),
            response_content=as_opt_str(data.get("response_content")),
            tool_calls=[as_dict(call) for call in as_list(data.get("tool_calls"))],
            finish_reason=as_opt_str(data.get("finish_reason")),
            prompt_tokens=as_opt_int(data.get("prompt_tokens")),
            completion_tokens=as_opt_int(data.get("completion_tokens")),
            total_tokens=as_opt_int(data.get("total_tokens")),
            duration_ms=as_opt_int(data.get("duration_ms")),
            error=as_opt_str(data.get("error")),
        )


@dataclass
class StreamState(_Model):
    _omit_empty = True

    stream_id: str
    intent_id: str
    agent_id: str
    status: StreamStatus | str
    provider: str
    model: str
    chunks_received: int = 0
    tokens_streamed: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        # Counters are part of the payload even when zero.
        data["chunks_received"] = self.chunks_received
        data["tokens_streamed"] = self.tokens_streamed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamState:
        return cls(
            stream_id=as_str(data.get("stream_id")),
            intent_id=as_str(data.get("intent_id")),
            agent_id=as_str(data.get("agent_id")),
            status=parse_enum(StreamStatus, data.get("status"), StreamStatus.ACTIVE),
            provider=as_str(data.get("provider")),
            model=as_str(data.get("model")),
            chunks_received=as_int(data.get("chunks_received")),
            tokens_streamed=as_int(data.get("tokens_streamed")),
            started_at=parse_datetime(data.get("started_at")),
            completed_at=parse_datetime(data.get("completed_at")),
            cancelled_at=parse_datetime(data.get("cancelled_at")),
            cancel_reason=as_opt_str(data.get("cancel_reason")),
            error=as_opt_str(data.get("error")),
        )


# Access control (RFC-0011) ------------------------------------------------------------------------------------


@dataclass
class ACLEntry(_Model):
    id: str
    principal_id: str
    principal_type: str = "agent"
    permission: Permission | str = Permission.READ
    granted_by: str = ""
    granted_at: datetime | None = None
    expires_at: datetime | None = None
    reason: str | None = None
    intent_id: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ACLEntry:
        return cls(
            id=as_str(data.get("id")),
            principal_id=as_str(data.get("principal_id")),
            principal_type=as_str(data.get("principal_type"), "agent"),
            permission=parse_enum(Permission, data.get("permission"), Permission.READ),
            granted_by=as_str(data.get("granted_by")),
            granted_at=parse_datetime(data.get("granted_at")),
            expires_at=parse_datetime(data.get("expires_at")),
            reason=as_opt_str(data.get("reason")),
            intent_id=as_opt_str(data.get("intent_id")),
        )


@dataclass
class IntentACL(_Model):
    intent_id: str
    default_policy: AccessPolicy | str = AccessPolicy.OPEN
    entries: list[ACLEntry] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentACL:
        return cls(
            intent_id=as_str(data.get("intent_id")),
            default_policy=parse_enum(AccessPolicy, data.get("default_policy"), AccessPolicy.OPEN),
            entries=[ACLEntry.from_dict(row) for row in as_list(data.get("entries")) if isinstance(row, dict)],
        )


@dataclass
class AccessRequest(_Model):
    id: str
    intent_id: str
    principal_id: str
    principal_type: str = "agent"
    requested_permission: Permission | str = Permission.WRITE
    reason: str = ""
    status: AccessRequestStatus | str = AccessRequestStatus.PENDING
    capabilities: list[str] = field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    created_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccessRequest:
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(data.get("intent_id")),
            principal_id=as_str(data.get("principal_id")),
            principal_type=as_str(data.get("principal_type"), "agent"),
            requested_permission=parse_enum(Permission, data.get("requested_permission"), Permission.WRITE),
            reason=as_str(data.get("reason")),
            status=parse_enum(AccessRequestStatus, data.get("status"), AccessRequestStatus.PENDING),
            capabilities=as_str_list(data.get("capabilities")),
            decided_by=as_opt_str(data.get("decided_by")),
            decided_at=parse_datetime(data.get("decided_at")),
            decision_reason=as_opt_str(data.get("decision_reason")),
            created_at=parse_datetime(data.get("created_at")),
        )


# Enums of RFC-0012..0017 ---------------------------------------------------------------------------------------


class TaskStatus(_WireEnum):
    PENDING = "pending"
    READY = "ready"
    CLAIMED = "claimed"
    RUNNING = "running"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class PlanState(_WireEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class CheckpointTimeoutAction(_WireEnum):
    ESCALATE = "escalate"
    AUTO_APPROVE = "auto_approve"
    FAIL = "fail"


class CheckpointStatus(_WireEnum):
    PENDING = "pending"
    WAITING = "waiting"
    ESCALATED = "escalated"
    PASSED = "passed"
    APPROVED = "approved"
    REJECTED = "rejected"


class PlanFailureAction(_WireEnum):
    PAUSE_AND_ESCALATE = "pause_and_escalate"
    NOTIFY = "notify"
    FAIL = "fail"
    RETRY = "retry"


class CoordinatorType(_WireEnum):
    LLM = "llm"
    HUMAN = "human"
    COMPOSITE = "composite"
    SYSTEM = "system"


class CoordinatorStatus(_WireEnum):
    REGISTERING = "registering"
    ACTIVE = "active"
    PAUSED = "paused"
    UNRESPONSIVE = "unresponsive"
    FAILED_OVER = "failed_over"
    COMPLETING = "completing"
    COMPLETED = "completed"


class CoordinatorScope(_WireEnum):
    INTENT = "intent"
    PORTFOLIO = "portfolio"


class CompositeMode(_WireEnum):
    PROPOSE_APPROVE = "propose-approve"
    ACT_NOTIFY = "act-notify"
    ACT_AUDIT = "act-audit"


class DecisionType(_WireEnum):
    PLAN_CREATED = "plan_created"
    PLAN_MODIFIED = "plan_modified"
    TASK_ASSIGNED = "task_assigned"
    TASK_DELEGATED = "task_delegated"
    ESCALATION_INITIATED = "escalation_initiated"
    ESCALATION_RESOLVED = "escalation_resolved"
    CHECKPOINT_EVALUATED = "checkpoint_evaluated"
    FAILURE_HANDLED = "failure_handled"
    GUARDRAIL_APPROACHED = "guardrail_approached"
    COORDINATOR_HANDOFF = "coordinator_handoff"
    CONFLICT_RESOLUTION = "conflict_resolution"  # these two are this server's, beyond RFC-0013
    QUORUM = "quorum"


class GuardrailExceedAction(_WireEnum):
    PAUSE = "pause"
    ESCALATE = "escalate"
    PAUSE_AND_ESCALATE = "pause_and_escalate"
    FAIL = "fail"


class AuthType(_WireEnum):
    API_KEY = "api_key"
    OAUTH2_TOKEN = "oauth2_token"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials"
    BEARER_TOKEN = "bearer_token"
    BASIC_AUTH = "basic_auth"
    CONNECTION_STRING = "connection_string"
    CUSTOM = "custom"


class CredentialStatus(_WireEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class GrantStatus(_WireEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


class GrantSource(_WireEnum):
    DIRECT = "direct"
    DELEGATED = "delegated"


class InvocationStatus(_WireEnum):
    SUCCESS = "success"
    DENIED = "denied"
    ERROR = "error"
    PENDING = "pending"


class MemoryType(_WireEnum):
    WORKING = "working"
    EPISODIC = "episodic"
    SEMANTIC = "semantic"


class MemoryPriority(_WireEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class EvictionPolicy(_WireEnum):
    LRU = "lru"


class MemorySensitivity(_WireEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class AgentStatus(_WireEnum):
    REGISTERING = "registering"
    ACTIVE = "active"
    DRAINING = "draining"
    UNHEALTHY = "unhealthy"
    DEAD = "dead"
    DEREGISTERED = "deregistered"


class TriggerType(_WireEnum):
    SCHEDULE = "schedule"
    EVENT = "event"
    WEBHOOK = "webhook"


class DeduplicationMode(_WireEnum):
    ALLOW = "allow"
    SKIP = "skip"
    QUEUE = "queue"


class TriggerState(_WireEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"


def _rows(value: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in as_list(value) if isinstance(row, dict)]


def _opt_dict(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) else None


def _opt_float(value: Any) -> float | None:
    return None if value is None else as_float(value)


# Tasks and plans (RFC-0012) ------------------------------------------------------------------------------------


@dataclass
class Checkpoint(_Model):
    """A plan's review gate after a task. ``id`` is the author's name for it; ``checkpoint_id`` is the server's,
    which :meth:`approve_checkpoint` and :meth:`reject_checkpoint` take."""

    id: str
    name: str = ""
    after_task: str = ""
    requires_approval: bool = True
    approvers: list[str] = field(default_factory=list)
    timeout_hours: float | None = None
    on_timeout: CheckpointTimeoutAction | str = CheckpointTimeoutAction.ESCALATE
    status: CheckpointStatus | str = CheckpointStatus.PENDING
    approved_by: str | None = None
    approved_at: datetime | None = None
    checkpoint_id: str | None = None
    plan_id: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(
            id=as_str(data.get("id")),
            name=as_str(data.get("name")),
            after_task=as_str(first(data, "after_task", "after")),
            requires_approval=bool(data.get("requires_approval", True)),
            approvers=as_str_list(data.get("approvers")),
            timeout_hours=_opt_float(data.get("timeout_hours")),
            on_timeout=parse_enum(CheckpointTimeoutAction, data.get("on_timeout"), CheckpointTimeoutAction.ESCALATE),
            status=parse_enum(CheckpointStatus, data.get("status"), CheckpointStatus.PENDING),
            approved_by=as_opt_str(data.get("approved_by")),
            approved_at=parse_datetime(data.get("approved_at")),
            checkpoint_id=as_opt_str(data.get("checkpoint_id")),
            plan_id=as_opt_str(data.get("plan_id")),
            decided_by=as_opt_str(data.get("decided_by")),
            decided_at=parse_datetime(data.get("decided_at")),
            reason=as_opt_str(data.get("reason")),
        )


@dataclass
class PlanCondition(_Model):
    """Run ``task_id`` only when ``when`` holds; ``otherwise`` it is skipped."""

    id: str
    task_id: str
    when: str
    otherwise: str = "skip"

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanCondition:
        return cls(
            id=as_str(data.get("id")),
            task_id=as_str(data.get("task_id")),
            when=as_str(data.get("when")),
            otherwise=as_str(data.get("otherwise"), "skip"),
        )


@dataclass
class MemoryPolicy(_Model):
    archive_on_completion: bool = True
    inherit_from_parent: bool = False
    max_entries: int | None = None
    max_total_size_kb: int | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryPolicy:
        return cls(
            archive_on_completion=bool(data.get("archive_on_completion", True)),
            inherit_from_parent=bool(data.get("inherit_from_parent", False)),
            max_entries=as_opt_int(data.get("max_entries")),
            max_total_size_kb=as_opt_int(data.get("max_total_size_kb")),
        )


@dataclass
class ToolRequirement(_Model):
    service: str
    scopes: list[str] = field(default_factory=list)
    required: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolRequirement:
        return cls(
            service=as_str(data.get("service")),
            scopes=as_str_list(data.get("scopes")),
            required=bool(data.get("required", True)),
        )


@dataclass
class Task(_Model):
    """A unit of work of an intent (RFC-0012). ``version`` guards :meth:`update_task`; the moves (claim, start,
    complete, ...) check it when given."""

    id: str
    intent_id: str
    name: str
    version: int = 1
    status: TaskStatus | str = TaskStatus.PENDING
    plan_id: str | None = None
    description: str | None = None
    priority: str = "normal"
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    artifacts: list[str] = field(default_factory=list)
    assigned_agent: str | None = None
    lease_id: str | None = None
    capabilities_required: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    parent_task_id: str | None = None
    retry_policy: str | None = None
    timeout_seconds: int | None = None
    attempt: int = 1
    max_attempts: int = 3
    permissions: str | dict[str, Any] = "inherit"
    memory_policy: MemoryPolicy | None = None
    requires_tools: list[ToolRequirement] = field(default_factory=list)
    blocked_reason: str | None = None
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None
    blocked_by: list[str] = field(default_factory=list)
    escalation: dict[str, Any] | None = None
    resolution: Any = None
    delegated_outputs: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, Any] | None = None
    next_attempt_at: datetime | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        permissions = data.get("permissions", "inherit")
        policy = data.get("memory_policy")
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(data.get("intent_id")),
            name=as_str(first(data, "name", "title")),
            version=as_int(data.get("version"), 1),
            status=parse_enum(TaskStatus, data.get("status"), TaskStatus.PENDING),
            plan_id=as_opt_str(data.get("plan_id")),
            description=as_opt_str(data.get("description")),
            priority=as_str(data.get("priority"), "normal"),
            input=as_dict(data.get("input")),
            output=_opt_dict(data.get("output")),
            artifacts=as_str_list(data.get("artifacts")),
            assigned_agent=as_opt_str(data.get("assigned_agent")),
            lease_id=as_opt_str(data.get("lease_id")),
            capabilities_required=as_str_list(data.get("capabilities_required")),
            depends_on=as_str_list(data.get("depends_on")),
            blocks=as_str_list(data.get("blocks")),
            parent_task_id=as_opt_str(data.get("parent_task_id")),
            retry_policy=as_opt_str(data.get("retry_policy")),
            timeout_seconds=as_opt_int(data.get("timeout_seconds")),
            attempt=as_int(data.get("attempt"), 1),
            max_attempts=as_int(data.get("max_attempts"), 3),
            permissions=dict(permissions) if isinstance(permissions, dict) else as_str(permissions, "inherit"),
            memory_policy=MemoryPolicy.from_dict(policy) if isinstance(policy, dict) else None,
            requires_tools=[ToolRequirement.from_dict(row) for row in _rows(data.get("requires_tools"))],
            blocked_reason=as_opt_str(data.get("blocked_reason")),
            error=as_opt_str(data.get("error")),
            metadata=as_dict(first(data, "metadata", "task_metadata")),
            created_at=parse_datetime(data.get("created_at")),
            started_at=parse_datetime(data.get("started_at")),
            completed_at=parse_datetime(data.get("completed_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            created_by=as_opt_str(data.get("created_by")),
            blocked_by=as_str_list(data.get("blocked_by")),
            escalation=_opt_dict(data.get("escalation")),
            resolution=data.get("resolution"),
            delegated_outputs=as_dict(data.get("delegated_outputs")),
            progress=_opt_dict(data.get("progress")),
            next_attempt_at=parse_datetime(data.get("next_attempt_at")),
        )


@dataclass
class Plan(_Model):
    """An intent's plan (RFC-0012): its tasks in order, checkpoints and conditions. ``version`` guards every
    write."""

    id: str
    intent_id: str
    version: int = 1
    state: PlanState | str = PlanState.DRAFT
    tasks: list[str] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    conditions: list[PlanCondition] = field(default_factory=list)
    on_failure: PlanFailureAction | str = PlanFailureAction.PAUSE_AND_ESCALATE
    on_complete: str = "notify"
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None
    paused_reason: str | None = None
    task_count: int = 0
    tasks_remaining: int = 0
    activated_at: datetime | None = None
    finished_at: datetime | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        tasks = as_str_list(data.get("tasks"))
        return cls(
            id=as_str(data.get("id")),
            intent_id=as_str(data.get("intent_id")),
            version=as_int(data.get("version"), 1),
            state=parse_enum(PlanState, data.get("state"), PlanState.DRAFT),
            tasks=tasks,
            checkpoints=[Checkpoint.from_dict(row) for row in _rows(data.get("checkpoints"))],
            conditions=[PlanCondition.from_dict(row) for row in _rows(data.get("conditions"))],
            on_failure=parse_enum(PlanFailureAction, data.get("on_failure"), PlanFailureAction.PAUSE_AND_ESCALATE),
            on_complete=as_str(data.get("on_complete"), "notify"),
            metadata=as_dict(first(data, "metadata", "plan_metadata")),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            created_by=as_opt_str(data.get("created_by")),
            paused_reason=as_opt_str(data.get("paused_reason")),
            task_count=as_int(data.get("task_count"), len(tasks)),
            tasks_remaining=as_int(data.get("tasks_remaining")),
            activated_at=parse_datetime(data.get("activated_at")),
            finished_at=parse_datetime(data.get("finished_at")),
        )


# Coordinator governance (RFC-0013) -----------------------------------------------------------------------------


@dataclass
class Guardrails(_Model):
    max_budget_usd: float | None = None
    warn_at_percentage: int = 80
    on_exceed: GuardrailExceedAction | str = GuardrailExceedAction.PAUSE_AND_ESCALATE
    max_tasks_per_plan: int = 20
    max_delegation_depth: int = 3
    max_concurrent_tasks: int = 10
    max_plan_versions: int = 5
    allowed_capabilities: list[str] | None = None
    max_plan_duration_hours: int | None = None
    max_task_wait_hours: int | None = None
    checkpoint_timeout_hours: int = 24
    require_progress_every_minutes: int | None = None
    requires_plan_review: bool = False
    requires_replan_review: bool = False
    auto_escalate_after_failures: int = 3
    require_human_for_capabilities: list[str] = field(default_factory=list)
    max_working_memory_per_task: int | None = None
    max_episodic_memory_per_agent: int | None = None
    allowed_semantic_namespaces: list[str] | None = None
    denied_semantic_namespaces: list[str] | None = None
    memory_archive_required: bool = True

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Guardrails:
        def opt_list(key: str) -> list[str] | None:
            value = data.get(key)
            return None if value is None else as_str_list(value)

        return cls(
            max_budget_usd=_opt_float(data.get("max_budget_usd")),
            warn_at_percentage=as_int(data.get("warn_at_percentage"), 80),
            on_exceed=parse_enum(
                GuardrailExceedAction, data.get("on_exceed"), GuardrailExceedAction.PAUSE_AND_ESCALATE
            ),
            max_tasks_per_plan=as_int(data.get("max_tasks_per_plan"), 20),
            max_delegation_depth=as_int(data.get("max_delegation_depth"), 3),
            max_concurrent_tasks=as_int(data.get("max_concurrent_tasks"), 10),
            max_plan_versions=as_int(data.get("max_plan_versions"), 5),
            allowed_capabilities=opt_list("allowed_capabilities"),
            max_plan_duration_hours=as_opt_int(data.get("max_plan_duration_hours")),
            max_task_wait_hours=as_opt_int(data.get("max_task_wait_hours")),
            checkpoint_timeout_hours=as_int(data.get("checkpoint_timeout_hours"), 24),
            require_progress_every_minutes=as_opt_int(data.get("require_progress_every_minutes")),
            requires_plan_review=bool(data.get("requires_plan_review", False)),
            requires_replan_review=bool(data.get("requires_replan_review", False)),
            auto_escalate_after_failures=as_int(data.get("auto_escalate_after_failures"), 3),
            require_human_for_capabilities=as_str_list(data.get("require_human_for_capabilities")),
            max_working_memory_per_task=as_opt_int(data.get("max_working_memory_per_task")),
            max_episodic_memory_per_agent=as_opt_int(data.get("max_episodic_memory_per_agent")),
            allowed_semantic_namespaces=opt_list("allowed_semantic_namespaces"),
            denied_semantic_namespaces=opt_list("denied_semantic_namespaces"),
            memory_archive_required=bool(data.get("memory_archive_required", True)),
        )


@dataclass
class CoordinatorLease(_Model):
    """The coordinator role over an intent or a portfolio, held by an agent under a supervisor."""

    id: str
    intent_id: str | None = None
    portfolio_id: str | None = None
    agent_id: str = ""
    role: str = "coordinator"
    supervisor_id: str | None = None
    coordinator_type: CoordinatorType | str = CoordinatorType.LLM
    scope: CoordinatorScope | str = CoordinatorScope.INTENT
    status: CoordinatorStatus | str = CoordinatorStatus.ACTIVE
    guardrails: Guardrails | None = None
    heartbeat_interval_seconds: int = 60
    last_heartbeat: datetime | None = None
    granted_at: datetime | None = None
    expires_at: datetime | None = None
    version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    supervisor_chain: list[str] = field(default_factory=list)
    status_reason: str | None = None
    failover_pool: list[str] = field(default_factory=list)
    ended_at: datetime | None = None
    successor_id: str | None = None

    _omit_empty = True

    @property
    def is_live(self) -> bool:
        """Whether the lease still holds the role (not ended, replaced or failed over)."""
        return self.status not in (CoordinatorStatus.COMPLETED, CoordinatorStatus.FAILED_OVER) and self.ended_at is None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CoordinatorLease:
        guardrails = data.get("guardrails")
        return cls(
            id=as_str(first(data, "id", "lease_id")),
            intent_id=as_opt_str(data.get("intent_id")),
            portfolio_id=as_opt_str(data.get("portfolio_id")),
            agent_id=as_str(data.get("agent_id")),
            role=as_str(data.get("role"), "coordinator"),
            supervisor_id=as_opt_str(data.get("supervisor_id")),
            coordinator_type=parse_enum(CoordinatorType, first(data, "coordinator_type", "type"), CoordinatorType.LLM),
            scope=parse_enum(CoordinatorScope, data.get("scope"), CoordinatorScope.INTENT),
            status=parse_enum(CoordinatorStatus, data.get("status"), CoordinatorStatus.ACTIVE),
            guardrails=Guardrails.from_dict(guardrails) if isinstance(guardrails, dict) and guardrails else None,
            heartbeat_interval_seconds=as_int(data.get("heartbeat_interval_seconds"), 60),
            last_heartbeat=parse_datetime(data.get("last_heartbeat")),
            granted_at=parse_datetime(data.get("granted_at")),
            expires_at=parse_datetime(data.get("expires_at")),
            version=as_int(data.get("version"), 1),
            metadata=as_dict(first(data, "metadata", "lease_metadata")),
            supervisor_chain=as_str_list(data.get("supervisor_chain")),
            status_reason=as_opt_str(data.get("status_reason")) or None,
            failover_pool=as_str_list(data.get("failover_pool")),
            ended_at=parse_datetime(data.get("ended_at")),
            successor_id=as_opt_str(data.get("successor_id")),
        )


@dataclass
class DecisionRecord(_Model):
    """A coordinator's recorded decision (RFC-0013), with its rationale and the alternatives it weighed."""

    id: str
    coordinator_id: str
    intent_id: str
    decision_type: DecisionType | str
    summary: str
    rationale: str
    alternatives_considered: list[dict[str, Any]] = field(default_factory=list)
    confidence: float | None = None
    timestamp: datetime | None = None

    _omit_empty = True

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["type"] = "coordinator.decision"
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionRecord:
        return cls(
            id=as_str(data.get("id")),
            coordinator_id=as_str(data.get("coordinator_id")),
            intent_id=as_str(data.get("intent_id")),
            decision_type=parse_enum(DecisionType, data.get("decision_type"), DecisionType.PLAN_CREATED),
            summary=as_str(data.get("summary")),
            rationale=as_str(data.get("rationale")),
            alternatives_considered=_rows(data.get("alternatives_considered")),
            confidence=_opt_float(data.get("confidence")),
            timestamp=parse_datetime(first(data, "timestamp", "created_at")),
        )


# Credential vaults and tool scoping (RFC-0014) -----------------------------------------------------------------


@dataclass
class CredentialVault(_Model):
    id: str
    owner_id: str
    name: str
    credentials: list[str] = field(default_factory=list)
    created_at: datetime | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CredentialVault:
        return cls(
            id=as_str(data.get("id")),
            owner_id=as_str(data.get("owner_id")),
            name=as_str(data.get("name")),
            credentials=as_str_list(data.get("credentials")),
            created_at=parse_datetime(data.get("created_at")),
        )


@dataclass
class Credential(_Model):
    """A credential's description; the secret material never leaves the server."""

    id: str
    vault_id: str
    service: str
    label: str
    auth_type: AuthType | str = AuthType.API_KEY
    scopes_available: list[str] = field(default_factory=list)
    status: CredentialStatus | str = CredentialStatus.ACTIVE
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    rotated_at: datetime | None = None
    expires_at: datetime | None = None
    auth_config: dict[str, Any] = field(default_factory=dict)
    has_material: bool = False
    revoked_at: datetime | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credential:
        return cls(
            id=as_str(data.get("id")),
            vault_id=as_str(data.get("vault_id")),
            service=as_str(data.get("service")),
            label=as_str(data.get("label")),
            auth_type=parse_enum(AuthType, data.get("auth_type"), AuthType.API_KEY),
            scopes_available=as_str_list(data.get("scopes_available")),
            status=parse_enum(CredentialStatus, data.get("status"), CredentialStatus.ACTIVE),
            metadata=as_dict(first(data, "metadata", "credential_metadata")),
            created_at=parse_datetime(data.get("created_at")),
            rotated_at=parse_datetime(data.get("rotated_at")),
            expires_at=parse_datetime(data.get("expires_at")),
            auth_config=as_dict(data.get("auth_config")),
            has_material=bool(data.get("has_material", False)),
            revoked_at=parse_datetime(data.get("revoked_at")),
        )


@dataclass
class GrantConstraints(_Model):
    max_invocations_per_hour: int | None = None
    max_cost_per_invocation: float | None = None
    allowed_parameters: dict[str, Any] | None = None
    denied_parameters: dict[str, Any] | None = None
    ip_allowlist: list[str] | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GrantConstraints:
        allowlist = data.get("ip_allowlist")
        return cls(
            max_invocations_per_hour=as_opt_int(data.get("max_invocations_per_hour")),
            max_cost_per_invocation=_opt_float(data.get("max_cost_per_invocation")),
            allowed_parameters=_opt_dict(data.get("allowed_parameters")),
            denied_parameters=_opt_dict(data.get("denied_parameters")),
            ip_allowlist=None if allowlist is None else as_str_list(allowlist),
        )


@dataclass
class ToolGrant(_Model):
    """An agent's permission to use a credential's scopes, directly or by delegation."""

    id: str
    credential_id: str
    agent_id: str
    granted_by: str
    scopes: list[str] = field(default_factory=list)
    constraints: GrantConstraints | None = None
    source: GrantSource | str = GrantSource.DIRECT
    delegatable: bool = False
    delegation_depth: int = 0
    delegated_from: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    status: GrantStatus | str = GrantStatus.ACTIVE
    expires_at: datetime | None = None
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    service: str | None = None
    suspended_at: datetime | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolGrant:
        constraints = data.get("constraints")
        return cls(
            id=as_str(data.get("id")),
            credential_id=as_str(data.get("credential_id")),
            agent_id=as_str(data.get("agent_id")),
            granted_by=as_str(data.get("granted_by")),
            scopes=as_str_list(data.get("scopes")),
            constraints=GrantConstraints.from_dict(constraints) if isinstance(constraints, dict) else None,
            source=parse_enum(GrantSource, data.get("source"), GrantSource.DIRECT),
            delegatable=bool(data.get("delegatable", False)),
            delegation_depth=as_int(data.get("delegation_depth")),
            delegated_from=as_opt_str(data.get("delegated_from")),
            context=as_dict(data.get("context")),
            status=parse_enum(GrantStatus, data.get("status"), GrantStatus.ACTIVE),
            expires_at=parse_datetime(data.get("expires_at")),
            created_at=parse_datetime(data.get("created_at")),
            revoked_at=parse_datetime(data.get("revoked_at")),
            service=as_opt_str(data.get("service")),
            suspended_at=parse_datetime(data.get("suspended_at")),
        )


@dataclass
class ToolInvocation(_Model):
    """One call of a tool under a grant: made by the server's proxy, or recorded by the agent afterwards."""

    invocation_id: str
    grant_id: str
    service: str
    tool: str
    agent_id: str
    parameters: dict[str, Any] = field(default_factory=dict)
    status: InvocationStatus | str = InvocationStatus.SUCCESS
    result: Any = None
    error: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    duration_ms: int | None = None
    idempotency_key: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    origin: str | None = None

    _omit_empty = True

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.pop("parameters", None)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolInvocation:
        return cls(
            invocation_id=as_str(first(data, "invocation_id", "id")),
            grant_id=as_str(data.get("grant_id")),
            service=as_str(data.get("service")),
            tool=as_str(first(data, "tool", "tool_name")),
            agent_id=as_str(data.get("agent_id")),
            parameters=as_dict(data.get("parameters")),
            status=parse_enum(InvocationStatus, data.get("status"), InvocationStatus.SUCCESS),
            result=data.get("result"),
            error=_opt_dict(data.get("error")),
            cost=_opt_dict(data.get("cost")),
            duration_ms=as_opt_int(data.get("duration_ms")),
            idempotency_key=as_opt_str(data.get("idempotency_key")),
            context=as_dict(data.get("context")),
            timestamp=parse_datetime(data.get("timestamp")),
            origin=as_opt_str(data.get("origin")),
        )


@dataclass
class Tool(_Model):
    """A registered tool: the HTTP endpoint the server's proxy calls for ``service``/``name``."""

    id: str
    service: str
    name: str
    owner_id: str = ""
    scope: str = ""
    description: str = ""
    method: str = "GET"
    url_template: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    estimated_cost_usd: float | None = None
    timeout_seconds: float | None = None
    idempotent: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tool:
        timeout = data.get("timeout_seconds")
        return cls(
            id=as_str(data.get("id")),
            service=as_str(data.get("service")),
            name=as_str(data.get("name")),
            owner_id=as_str(data.get("owner_id")),
            scope=as_str(data.get("scope")),
            description=as_str(data.get("description")),
            method=as_str(data.get("method"), "GET"),
            url_template=as_str(data.get("url_template")),
            parameters=as_dict(data.get("parameters")),
            estimated_cost_usd=_opt_float(data.get("estimated_cost_usd")),
            timeout_seconds=None if timeout is None else as_float(timeout),
            idempotent=bool(data.get("idempotent", False)),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
        )


# Agent memory (RFC-0015) ---------------------------------------------------------------------------------------


@dataclass
class MemoryScope(_Model):
    task_id: str | None = None
    intent_id: str | None = None
    agent_role_id: str | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryScope:
        return cls(
            task_id=as_opt_str(data.get("task_id")),
            intent_id=as_opt_str(data.get("intent_id")),
            agent_role_id=as_opt_str(data.get("agent_role_id")),
        )


@dataclass
class MemoryEntry(_Model):
    """One memory entry of an agent (RFC-0015). ``version`` guards :meth:`update_memory`."""

    id: str
    agent_id: str
    namespace: str
    key: str
    value: dict[str, Any]
    memory_type: MemoryType | str = MemoryType.WORKING
    version: int = 1
    scope: MemoryScope | None = None
    tags: list[str] = field(default_factory=list)
    ttl: str | None = None
    pinned: bool = False
    priority: MemoryPriority | str = MemoryPriority.NORMAL
    sensitivity: MemorySensitivity | str | None = None
    curated_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    last_accessed_at: datetime | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryEntry:
        scope = data.get("scope")
        sensitivity = data.get("sensitivity")
        return cls(
            id=as_str(data.get("id")),
            agent_id=as_str(data.get("agent_id")),
            namespace=as_str(data.get("namespace")),
            key=as_str(data.get("key")),
            value=as_dict(data.get("value")),
            memory_type=parse_enum(MemoryType, data.get("memory_type"), MemoryType.WORKING),
            version=as_int(data.get("version"), 1),
            scope=MemoryScope.from_dict(scope) if isinstance(scope, dict) else None,
            tags=as_str_list(data.get("tags")),
            ttl=as_opt_str(data.get("ttl")),
            pinned=bool(data.get("pinned", False)),
            priority=parse_enum(MemoryPriority, data.get("priority"), MemoryPriority.NORMAL),
            sensitivity=None if sensitivity is None else parse_enum(MemorySensitivity, sensitivity, sensitivity),
            curated_by=as_opt_str(data.get("curated_by")),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            expires_at=parse_datetime(data.get("expires_at")),
            last_accessed_at=parse_datetime(data.get("last_accessed_at")),
        )


@dataclass
class MemoryPage(_Model):
    """One page of :meth:`query_memory`: the entries and how many matched in all."""

    entries: list[MemoryEntry] = field(default_factory=list)
    total: int = 0
    limit: int = 0
    offset: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> MemoryPage:
        body = as_dict(data)
        entries = [MemoryEntry.from_dict(row) for row in items_of(data, "entries")]
        return cls(
            entries=entries,
            total=as_int(body.get("total"), len(entries)),
            limit=as_int(body.get("limit"), len(entries)),
            offset=as_int(body.get("offset")),
        )


@dataclass
class NamespacePermissions(_Model):
    """A semantic namespace's permissions: ``default`` access, and ``allow`` rules ``{"agent", "access"}``."""

    namespace: str
    default: str = "read"
    allow: list[dict[str, str]] = field(default_factory=list)
    version: int = 0
    configured: bool = False
    access: str | None = None
    entry_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "permissions": {"default": self.default, "allow": list(self.allow)}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NamespacePermissions:
        permissions = as_dict(data.get("permissions"))
        return cls(
            namespace=as_str(data.get("namespace")),
            default=as_str(permissions.get("default"), "read"),
            allow=[{str(k): str(v) for k, v in row.items()} for row in _rows(permissions.get("allow"))],
            version=as_int(data.get("version")),
            configured=bool(data.get("configured", False)),
            access=as_opt_str(data.get("access")),
            entry_count=as_int(data.get("entry_count")),
        )


# Agent lifecycle (RFC-0016) ------------------------------------------------------------------------------------


@dataclass
class HeartbeatConfig(_Model):
    interval_seconds: int = 30
    unhealthy_after_seconds: int = 90
    dead_after_seconds: int = 300

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeartbeatConfig:
        return cls(
            interval_seconds=as_int(data.get("interval_seconds"), 30),
            unhealthy_after_seconds=as_int(data.get("unhealthy_after_seconds"), 90),
            dead_after_seconds=as_int(data.get("dead_after_seconds"), 300),
        )


@dataclass
class AgentCapacity(_Model):
    max_concurrent_tasks: int = 5
    current_load: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentCapacity:
        return cls(
            max_concurrent_tasks=as_int(data.get("max_concurrent_tasks"), 5),
            current_load=as_int(data.get("current_load")),
        )


@dataclass
class AgentRecord(_Model):
    """An agent in the registry (RFC-0016): its status, capabilities, capacity and heartbeat settings."""

    agent_id: str
    status: AgentStatus | str = AgentStatus.ACTIVE
    role_id: str | None = None
    name: str | None = None
    capabilities: list[str] = field(default_factory=list)
    capacity: AgentCapacity | None = None
    endpoint: str | None = None
    heartbeat_config: HeartbeatConfig | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    registered_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    drain_timeout_seconds: int | None = None
    version: int = 1
    available_capacity: int | None = None
    registered_by: str | None = None
    status_reason: str | None = None
    draining_since: datetime | None = None
    drain_deadline: datetime | None = None

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentRecord:
        capacity = data.get("capacity")
        heartbeat = data.get("heartbeat_config")
        return cls(
            agent_id=as_str(first(data, "agent_id", "id")),
            status=parse_enum(AgentStatus, data.get("status"), AgentStatus.ACTIVE),
            role_id=as_opt_str(data.get("role_id")),
            name=as_opt_str(data.get("name")),
            capabilities=as_str_list(data.get("capabilities")),
            capacity=AgentCapacity.from_dict(capacity) if isinstance(capacity, dict) else None,
            endpoint=as_opt_str(data.get("endpoint")),
            heartbeat_config=HeartbeatConfig.from_dict(heartbeat) if isinstance(heartbeat, dict) else None,
            metadata=as_dict(first(data, "metadata", "agent_metadata")),
            registered_at=parse_datetime(data.get("registered_at")),
            last_heartbeat_at=parse_datetime(data.get("last_heartbeat_at")),
            drain_timeout_seconds=as_opt_int(data.get("drain_timeout_seconds")),
            version=as_int(data.get("version"), 1),
            available_capacity=as_opt_int(data.get("available_capacity")),
            registered_by=as_opt_str(data.get("registered_by")),
            status_reason=as_opt_str(data.get("status_reason")) or None,
            draining_since=parse_datetime(data.get("draining_since")),
            drain_deadline=parse_datetime(data.get("drain_deadline")),
        )


@dataclass
class Heartbeat(_Model):
    """What an agent sends with a heartbeat."""

    agent_id: str
    status: str = "active"
    current_load: int = 0
    tasks_in_progress: list[str] = field(default_factory=list)
    client_timestamp: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Heartbeat:
        return cls(
            agent_id=as_str(data.get("agent_id")),
            status=as_str(data.get("status"), "active"),
            current_load=as_int(data.get("current_load")),
            tasks_in_progress=as_str_list(data.get("tasks_in_progress")),
            client_timestamp=parse_datetime(data.get("client_timestamp")),
        )


@dataclass
class HeartbeatAck(_Model):
    """The server's answer to a heartbeat: the agent's status and the commands waiting for it (``drain``...)."""

    agent_id: str
    agent_status: AgentStatus | str = AgentStatus.ACTIVE
    status: str = "ok"
    acknowledged: bool = True
    server_timestamp: datetime | None = None
    next_heartbeat_at: datetime | None = None
    pending_commands: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1

    @property
    def drain_requested(self) -> bool:
        """Whether the server asks the agent to drain."""
        return any(
            command.get("command") == "drain" or command.get("type") == "drain" for command in self.pending_commands
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeartbeatAck:
        return cls(
            agent_id=as_str(data.get("agent_id")),
            agent_status=parse_enum(AgentStatus, data.get("agent_status"), AgentStatus.ACTIVE),
            status=as_str(data.get("status"), "ok"),
            acknowledged=bool(data.get("acknowledged", True)),
            server_timestamp=parse_datetime(data.get("server_timestamp")),
            next_heartbeat_at=parse_datetime(data.get("next_heartbeat_at")),
            pending_commands=_rows(data.get("pending_commands")),
            version=as_int(data.get("version"), 1),
        )


# Triggers (RFC-0017) -------------------------------------------------------------------------------------------


@dataclass
class IntentTemplate(_Model):
    type: str
    title: str
    priority: str = "medium"
    assignee: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    graph_id: str | None = None
    tags: list[str] = field(default_factory=list)

    _omit_empty = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentTemplate:
        return cls(
            type=as_str(data.get("type")),
            title=as_str(data.get("title")),
            priority=as_str(data.get("priority"), "medium"),
            assignee=as_opt_str(data.get("assignee")),
            context=as_dict(data.get("context")),
            graph_id=as_opt_str(data.get("graph_id")),
            tags=as_str_list(data.get("tags")),
        )


@dataclass
class TriggerCondition(_Model):
    """When a trigger fires: a ``cron`` schedule (or a one-off ``at``), an ``event`` type with a ``filter``, or a
    webhook ``path``. The webhook ``secret`` is sent on create and never read back."""

    cron: str | None = None
    timezone: str = "UTC"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    at: datetime | None = None
    event: str | None = None
    filter: dict[str, Any] | None = None
    path: str | None = None
    method: str = "POST"
    secret: str | None = None
    transform: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclass_to_dict(self, omit_empty=True)
        data.pop("secret", None)
        if self.cron is None:
            data.pop("timezone", None)
        if self.path is None:
            data.pop("method", None)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriggerCondition:
        transform = data.get("transform")
        return cls(
            cron=as_opt_str(data.get("cron")),
            timezone=as_str(data.get("timezone"), "UTC"),
            starts_at=parse_datetime(data.get("starts_at")),
            ends_at=parse_datetime(data.get("ends_at")),
            at=parse_datetime(data.get("at")),
            event=as_opt_str(data.get("event")),
            filter=_opt_dict(data.get("filter")),
            path=as_opt_str(data.get("path")),
            method=as_str(data.get("method"), "POST"),
            secret=as_opt_str(data.get("secret")),
            transform={str(k): str(v) for k, v in transform.items()} if isinstance(transform, dict) else None,
        )


@dataclass
class TriggerLineage(_Model):
    created_by: str = "trigger"
    trigger_id: str = ""
    trigger_type: str = ""
    trigger_depth: int = 1
    trigger_chain: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TriggerLineage:
        return cls(
            created_by=as_str(data.get("created_by"), "trigger"),
            trigger_id=as_str(data.get("trigger_id")),
            trigger_type=as_str(data.get("trigger_type")),
            trigger_depth=as_int(data.get("trigger_depth"), 1),
            trigger_chain=as_str_list(data.get("trigger_chain")),
        )


@dataclass
class Trigger(_Model):
    """A standing rule that creates intents (RFC-0017). Its id is ``trigger_id`` on the wire."""

    trigger_id: str
    name: str
    type: TriggerType | str
    enabled: bool = True
    condition: TriggerCondition | None = None
    intent_template: IntentTemplate | None = None
    deduplication: DeduplicationMode | str = DeduplicationMode.ALLOW
    namespace: str | None = None
    fire_count: int = 0
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_fired_at: datetime | None = None
    next_fire_at: datetime | None = None
    created_by: str | None = None
    webhook_url: str | None = None
    has_secret: bool = False

    _omit_empty = True

    @property
    def id(self) -> str:
        return self.trigger_id

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trigger:
        condition = data.get("condition")
        template = data.get("intent_template")
        return cls(
            trigger_id=as_str(first(data, "trigger_id", "id")),
            name=as_str(data.get("name")),
            type=parse_enum(TriggerType, first(data, "type", "trigger_type"), TriggerType.EVENT),
            enabled=bool(data.get("enabled", True)),
            condition=TriggerCondition.from_dict(condition) if isinstance(condition, dict) else None,
            intent_template=IntentTemplate.from_dict(template) if isinstance(template, dict) else None,
            deduplication=parse_enum(DeduplicationMode, data.get("deduplication"), DeduplicationMode.ALLOW),
            namespace=as_opt_str(data.get("namespace")),
            fire_count=as_int(data.get("fire_count")),
            version=as_int(data.get("version"), 1),
            created_at=parse_datetime(data.get("created_at")),
            updated_at=parse_datetime(data.get("updated_at")),
            last_fired_at=parse_datetime(data.get("last_fired_at")),
            next_fire_at=parse_datetime(data.get("next_fire_at")),
            created_by=as_opt_str(data.get("created_by")),
            webhook_url=as_opt_str(data.get("webhook_url")),
            has_secret=bool(data.get("has_secret", False)),
        )
