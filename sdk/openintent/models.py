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

    @property
    def has_parent(self) -> bool:
        return self.parent_intent_id is not None

    @property
    def has_dependencies(self) -> bool:
        return bool(self.depends_on)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["state"] = self.state.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Intent:
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
