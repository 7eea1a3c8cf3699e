"""Every API method of the OpenIntent clients, written once.

Each method builds a :class:`~openintent._core.Call`; :class:`~openintent._core.endpoint` runs it on the sync or
the async transport of the client it is read from. Both clients inherit :class:`OpenIntentAPI`.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import quote

from ._core import Call, Response, api, endpoint, unexpected
from ._wire import UTC, as_dict, first, format_datetime, items_of, wire_value
from .exceptions import NotFoundError
from .models import (
    AccessPolicy,
    AccessRequest,
    ACLEntry,
    AgentAssignment,
    AggregateStatus,
    ArbitrationRequest,
    CostSummary,
    Decision,
    EventType,
    Intent,
    IntentACL,
    IntentAttachment,
    IntentCost,
    IntentEvent,
    IntentFailure,
    IntentLease,
    IntentPage,
    IntentPortfolio,
    IntentStatus,
    IntentSubscription,
    LLMRequestPayload,
    MembershipRole,
    Permission,
    PortfolioMembership,
    PortfolioStatus,
    RetryPolicy,
    RetryStrategy,
    StreamState,
    StreamStatus,
    ToolCallPayload,
)

M = TypeVar("M")

Constraints = list[str] | Mapping[str, Any]
FileInput = bytes | str | os.PathLike[str] | IO[bytes]


# Parsers ------------------------------------------------------------------------------------------------------


def _object(response: Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise unexpected(response, "a JSON object")
    return body


def _one(model: Callable[[dict[str, Any]], M], identity: str = "id") -> Callable[[Response], M]:
    """An answer holding one object, which must name itself with ``identity``: an empty or foreign object (a
    proxy's, another server's) raises :class:`UnexpectedResponseError` instead of becoming an empty model."""

    def parse(response: Response) -> M:
        body = _object(response)
        if body.get(identity) in (None, ""):
            name = getattr(model, "__self__", model).__name__
            raise unexpected(response, f"{name} (an object with {identity!r})")
        return model(body)

    return parse


def _many(model: Callable[[dict[str, Any]], M], *keys: str) -> Callable[[Response], list[M]]:
    """A list answer in either shape: a bare array or an envelope holding it under one of ``keys``."""

    def parse(response: Response) -> list[M]:
        body = response.json()
        if not isinstance(body, list) and not (isinstance(body, dict) and isinstance(first(body, *keys), list)):
            shapes = " or ".join([f"an object with {key!r}" for key in keys] + ["a JSON array"])
            raise unexpected(response, shapes)
        return [model(row) for row in items_of(body, *keys)]

    return parse


def _nothing(response: Response) -> None:
    return None


def _raw(response: Response) -> dict[str, Any]:
    return _object(response)


def _content(response: Response) -> bytes:
    return response.content


def _seg(value: str) -> str:
    """A path segment, escaped."""
    return quote(str(value), safe="")


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return format_datetime(value)


def _intent_path(intent_id: str, tail: str = "") -> str:
    return api(f"/intents/{_seg(intent_id)}{tail}")


def _intents(*keys: str) -> Callable[[Response], list[Intent]]:
    return _many(Intent.from_dict, *keys)


def _read_file(file: FileInput, filename: str | None) -> tuple[bytes, str]:
    if isinstance(file, bytes):
        return file, filename or "upload.bin"
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        return path.read_bytes(), filename or path.name
    content = file.read()
    name = filename or Path(str(getattr(file, "name", "upload.bin"))).name
    return content, name


def _acl_entry(entry: ACLEntry | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(entry, ACLEntry):
        return {
            "principal_id": entry.principal_id,
            "principal_type": entry.principal_type,
            "permission": wire_value(entry.permission),
            "reason": entry.reason,
            "expires_at": _iso(entry.expires_at),
        }
    data = dict(entry)
    for key, value in data.items():
        if isinstance(value, Enum):
            data[key] = value.value
        elif isinstance(value, datetime):
            data[key] = format_datetime(value)
    return data


class OpenIntentAPI:
    """The API methods, shared by :class:`~openintent.OpenIntentClient` and
    :class:`~openintent.AsyncOpenIntentClient`. Each returns the parsed answer (sync) or a coroutine of it
    (async)."""

    agent_id: str

    # Discovery ------------------------------------------------------------------------------------------------

    @endpoint
    def discover(self) -> Call[dict[str, Any]]:
        """The server's discovery document (``/.well-known/openintent.json``)."""
        return Call("GET", "/.well-known/openintent.json", _raw)

    @endpoint
    def get_compatibility(self) -> Call[dict[str, Any]]:
        """The server's compatibility document (``/.well-known/openintent-compat.json``)."""
        return Call("GET", "/.well-known/openintent-compat.json", _raw)

    # Intents (RFC-0001) ---------------------------------------------------------------------------------------

    @endpoint
    def create_intent(
        self,
        title: str,
        description: str = "",
        constraints: Constraints | None = None,
        initial_state: Mapping[str, Any] | None = None,
        parent_intent_id: str | None = None,
        depends_on: list[str] | None = None,
        *,
        status: IntentStatus | str | None = None,
        confidence: int | None = None,
    ) -> Call[Intent]:
        """Create an intent. ``constraints`` is an object, or a list of rules (stored as ``{"rules": [...]}``);
        ``status`` may be ``draft`` (the default) or ``active``."""
        body: dict[str, Any] = {
            "title": title,
            "description": description,
            "constraints": dict(constraints) if isinstance(constraints, Mapping) else list(constraints or []),
            "state": dict(initial_state or {}),
            "created_by": self.agent_id,
        }
        if parent_intent_id is not None:
            body["parent_intent_id"] = parent_intent_id
        if depends_on:
            body["depends_on"] = list(depends_on)
        if status is not None:
            body["status"] = wire_value(status)
        if confidence is not None:
            body["confidence"] = confidence
        return Call("POST", api("/intents"), _one(Intent.from_dict), json=body)

    @endpoint
    def get_intent(self, intent_id: str) -> Call[Intent]:
        return Call("GET", _intent_path(intent_id), _one(Intent.from_dict))

    @endpoint
    def list_intents(
        self,
        status: IntentStatus | str | None = None,
        limit: int = 50,
        offset: int = 0,
        *,
        created_by: str | None = None,
        parent_id: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
    ) -> Call[list[Intent]]:
        """Intents the caller may read, newest first. ``q`` searches titles; ``cursor`` continues a page."""
        params = _intent_query(status, limit, offset, created_by, parent_id, q, cursor)
        return Call("GET", api("/intents"), _intents("intents"), params=params)

    @endpoint
    def list_intents_page(
        self,
        status: IntentStatus | str | None = None,
        limit: int = 50,
        offset: int = 0,
        *,
        created_by: str | None = None,
        parent_id: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
    ) -> Call[IntentPage]:
        """Like :meth:`list_intents`, with the page's ``next_cursor`` (``None`` on the last page)."""
        params = _intent_query(status, limit, offset, created_by, parent_id, q, cursor)
        return Call("GET", api("/intents"), lambda response: IntentPage.from_dict(response.json()), params=params)

    @endpoint
    def update_state(self, intent_id: str, version: int, state_patch: Mapping[str, Any]) -> Call[Intent]:
        """Set top-level keys of the state, if the intent is still at ``version``."""
        patches = [{"op": "set", "path": key, "value": value} for key, value in state_patch.items()]
        return Call(
            "POST",
            _intent_path(intent_id, "/state"),
            _one(Intent.from_dict),
            json={"patches": patches},
            if_match=version,
        )

    @endpoint
    def patch_state(self, intent_id: str, version: int, patches: list[Mapping[str, Any]]) -> Call[Intent]:
        """Apply structured operations (``{"op": "set" | "append" | "remove", "path": "/a/b", "value": ...}``),
        all or none, if the intent is still at ``version``."""
        body = {"patches": [dict(patch) for patch in patches]}
        return Call("POST", _intent_path(intent_id, "/state"), _one(Intent.from_dict), json=body, if_match=version)

    @endpoint
    def set_status(
        self, intent_id: str, version: int, status: IntentStatus | str, reason: str | None = None
    ) -> Call[Intent]:
        body: dict[str, Any] = {"status": wire_value(status)}
        if reason is not None:
            body["reason"] = reason
        return Call("POST", _intent_path(intent_id, "/status"), _one(Intent.from_dict), json=body, if_match=version)

    @endpoint
    def log_event(
        self, intent_id: str, event_type: EventType | str, payload: Mapping[str, Any] | None = None
    ) -> Call[IntentEvent]:
        """Append an event; any type but those the server writes itself (custom types are welcome)."""
        return _event(intent_id, self.agent_id, event_type, payload)

    @endpoint
    def get_events(
        self,
        intent_id: str,
        event_type: EventType | str | None = None,
        since: datetime | str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Call[list[IntentEvent]]:
        """The log, newest first."""
        params = {
            "event_type": None if event_type is None else wire_value(event_type),
            "since": _iso(since),
            "limit": limit,
            "offset": offset,
        }
        return Call("GET", _intent_path(intent_id, "/events"), _many(IntentEvent.from_dict, "events"), params=params)

    @endpoint
    def assign_agent(self, intent_id: str, agent_id: str | None = None, role: str = "worker") -> Call[AgentAssignment]:
        """Assign an agent (this client's by default); assigning again changes nothing."""
        body = {"agent_id": agent_id or self.agent_id, "role": role}
        return Call("POST", _intent_path(intent_id, "/agents"), _one(AgentAssignment.from_dict), json=body)

    @endpoint
    def unassign_agent(self, intent_id: str, agent_id: str | None = None) -> Call[None]:
        return Call("DELETE", _intent_path(intent_id, f"/agents/{_seg(agent_id or self.agent_id)}"), _nothing)

    @endpoint
    def get_agents(self, intent_id: str) -> Call[list[AgentAssignment]]:
        """The agents assigned to an intent."""
        return Call("GET", _intent_path(intent_id, "/agents"), _many(AgentAssignment.from_dict, "agents"))

    # Graphs (RFC-0002) ----------------------------------------------------------------------------------------

    @endpoint
    def create_child_intent(
        self,
        parent_id: str,
        title: str,
        description: str = "",
        constraints: Constraints | None = None,
        initial_state: Mapping[str, Any] | None = None,
        depends_on: list[str] | None = None,
    ) -> Call[Intent]:
        body = {
            "title": title,
            "description": description,
            "constraints": dict(constraints) if isinstance(constraints, Mapping) else list(constraints or []),
            "state": dict(initial_state or {}),
            "depends_on": list(depends_on or []),
        }
        return Call("POST", _intent_path(parent_id, "/children"), _one(Intent.from_dict), json=body)

    @endpoint
    def get_children(self, intent_id: str) -> Call[list[Intent]]:
        return Call("GET", _intent_path(intent_id, "/children"), _intents("children"))

    @endpoint
    def get_descendants(self, intent_id: str) -> Call[list[Intent]]:
        return Call("GET", _intent_path(intent_id, "/descendants"), _intents("descendants"))

    @endpoint
    def get_ancestors(self, intent_id: str) -> Call[list[Intent]]:
        """The parent chain, nearest first."""
        return Call("GET", _intent_path(intent_id, "/ancestors"), _intents("ancestors"))

    @endpoint
    def get_dependencies(self, intent_id: str) -> Call[list[Intent]]:
        return Call("GET", _intent_path(intent_id, "/dependencies"), _intents("dependencies"))

    @endpoint
    def get_dependents(self, intent_id: str) -> Call[list[Intent]]:
        return Call("GET", _intent_path(intent_id, "/dependents"), _intents("dependents"))

    @endpoint
    def add_dependency(self, intent_id: str, dependency_id: str, version: int) -> Call[Intent]:
        """Make ``intent_id`` depend on ``dependency_id``; a cycle is refused (:class:`ValidationError`)."""
        body = {"dependency_id": dependency_id}
        return Call(
            "POST", _intent_path(intent_id, "/dependencies"), _one(Intent.from_dict), json=body, if_match=version
        )

    @endpoint
    def remove_dependency(self, intent_id: str, dependency_id: str, version: int) -> Call[Intent]:
        path = _intent_path(intent_id, f"/dependencies/{_seg(dependency_id)}")
        return Call("DELETE", path, _one(Intent.from_dict), if_match=version)

    @endpoint
    def get_ready_intents(self, intent_id: str) -> Call[list[Intent]]:
        """Children whose dependencies are all completed."""
        return Call("GET", _intent_path(intent_id, "/ready"), _intents("ready"))

    @endpoint
    def get_blocked_intents(self, intent_id: str) -> Call[list[Intent]]:
        return Call("GET", _intent_path(intent_id, "/blocked"), _intents("blocked"))

    @endpoint
    def get_intent_graph(self, intent_id: str) -> Call[dict[str, Any]]:
        """``{"root_id", "nodes", "edges", "aggregate_status"}`` of everything reachable from the intent."""
        return Call("GET", _intent_path(intent_id, "/graph"), _raw)

    # Leases (RFC-0003) ----------------------------------------------------------------------------------------

    @endpoint
    def acquire_lease(self, intent_id: str, scope: str, duration_seconds: int = 300) -> Call[IntentLease]:
        """Exclusive access to ``scope``; :class:`LeaseConflictError` while someone else holds it."""
        body = {"scope": scope, "duration_seconds": duration_seconds}
        return Call("POST", _intent_path(intent_id, "/leases"), _one(IntentLease.from_dict), json=body)

    @endpoint
    def get_leases(self, intent_id: str, include_all: bool = False) -> Call[list[IntentLease]]:
        """The active leases; with ``include_all``, released and expired ones too."""
        params = {"include": "all"} if include_all else None
        return Call("GET", _intent_path(intent_id, "/leases"), _many(IntentLease.from_dict, "leases"), params=params)

    @endpoint
    def get_lease(self, intent_id: str, lease_id: str) -> Call[IntentLease]:
        """One lease of the intent, whatever its status (:class:`NotFoundError` if it has none by that id)."""

        def parse(response: Response) -> IntentLease:
            for row in items_of(response.json(), "leases"):
                if str(row.get("id")) == str(lease_id):
                    return IntentLease.from_dict(row)
            raise NotFoundError("Lease not found", status_code=404, response=None)

        return Call("GET", _intent_path(intent_id, "/leases"), parse, params={"include": "all"})

    @endpoint
    def renew_lease(self, intent_id: str, lease_id: str, duration_seconds: int = 300) -> Call[IntentLease]:
        """Extend a held lease to ``duration_seconds`` from now (holder only)."""
        path = _intent_path(intent_id, f"/leases/{_seg(lease_id)}")
        return Call("PATCH", path, _one(IntentLease.from_dict), json={"duration_seconds": duration_seconds})

    @endpoint
    def release_lease(self, intent_id: str, lease_id: str) -> Call[None]:
        """Release a held lease (holder only); releasing twice is harmless."""
        return Call("DELETE", _intent_path(intent_id, f"/leases/{_seg(lease_id)}"), _nothing)

    # Governance (RFC-0004) ------------------------------------------------------------------------------------

    @endpoint
    def request_arbitration(
        self,
        intent_id: str,
        reason: str,
        context: Mapping[str, Any] | None = None,
        options: list[Mapping[str, Any]] | None = None,
    ) -> Call[ArbitrationRequest]:
        """Ask people to settle something; the intent is ``blocked`` until they do."""
        body = {"reason": reason, "context": dict(context or {}), "options": [dict(o) for o in options or []]}
        return Call("POST", _intent_path(intent_id, "/arbitrate"), _one(ArbitrationRequest.from_dict), json=body)

    @endpoint
    def get_arbitrations(self, intent_id: str) -> Call[list[ArbitrationRequest]]:
        path = _intent_path(intent_id, "/arbitrations")
        return Call("GET", path, _many(ArbitrationRequest.from_dict, "arbitrations"))

    @endpoint
    def record_decision(
        self,
        intent_id: str,
        decision_type: str,
        outcome: str,
        reasoning: str,
        arbitration_id: str | None = None,
        evidence: list[Mapping[str, Any]] | None = None,
    ) -> Call[Decision]:
        """Record a decision; with ``arbitration_id`` it settles that request (a person's key only)."""
        body: dict[str, Any] = {"decision_type": decision_type, "outcome": outcome, "reasoning": reasoning}
        if arbitration_id is not None:
            body["arbitration_id"] = arbitration_id
        if evidence:
            body["evidence"] = [dict(item) for item in evidence]
        return Call("POST", _intent_path(intent_id, "/decisions"), _one(Decision.from_dict), json=body)

    @endpoint
    def get_decisions(self, intent_id: str) -> Call[list[Decision]]:
        return Call("GET", _intent_path(intent_id, "/decisions"), _many(Decision.from_dict, "decisions"))

    # Attachments (RFC-0005) -----------------------------------------------------------------------------------

    @endpoint
    def add_attachment(
        self,
        intent_id: str,
        filename: str,
        mime_type: str,
        size: int,
        storage_url: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> Call[IntentAttachment]:
        """Register a file stored elsewhere, by URL."""
        body = {
            "filename": filename,
            "mime_type": mime_type,
            "size": size,
            "storage_url": storage_url,
            "metadata": dict(metadata or {}),
        }
        return Call("POST", _intent_path(intent_id, "/attachments"), _one(IntentAttachment.from_dict), json=body)

    @endpoint
    def upload_attachment(
        self,
        intent_id: str,
        file: FileInput,
        filename: str | None = None,
        mime_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Call[IntentAttachment]:
        """Upload a file (bytes, a path or a binary file object) to the server's storage."""
        import json

        content, name = _read_file(file, filename)
        content_type = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        data = {"filename": name, "mime_type": content_type}
        if metadata:
            data["metadata"] = json.dumps(dict(metadata))
        return Call(
            "POST",
            _intent_path(intent_id, "/attachments"),
            _one(IntentAttachment.from_dict),
            files={"file": (name, content, content_type)},
            data=data,
        )

    @endpoint
    def get_attachments(self, intent_id: str) -> Call[list[IntentAttachment]]:
        path = _intent_path(intent_id, "/attachments")
        return Call("GET", path, _many(IntentAttachment.from_dict, "attachments"))

    @endpoint
    def download_attachment(self, intent_id: str, attachment_id: str) -> Call[bytes]:
        """The content of an uploaded file."""
        path = _intent_path(intent_id, f"/attachments/{_seg(attachment_id)}/content")
        return Call("GET", path, _content, headers={"Accept": "*/*"}, expects_json=False)

    @endpoint
    def delete_attachment(self, intent_id: str, attachment_id: str) -> Call[None]:
        return Call("DELETE", _intent_path(intent_id, f"/attachments/{_seg(attachment_id)}"), _nothing)

    # Costs (RFC-0009) -----------------------------------------------------------------------------------------

    @endpoint
    def record_cost(
        self,
        intent_id: str,
        cost_type: str,
        amount: float,
        unit: str,
        provider: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Call[IntentCost]:
        """Record a cost (``cost_type``: tokens, api_call, compute or custom); checked against the budget in
        ``constraints.budget``."""
        body = {
            "agent_id": self.agent_id,
            "cost_type": wire_value(cost_type),
            "amount": amount,
            "unit": unit,
            "provider": provider,
            "metadata": dict(metadata or {}),
        }
        return Call("POST", _intent_path(intent_id, "/costs"), _one(IntentCost.from_dict), json=body)

    @endpoint
    def get_costs(self, intent_id: str) -> Call[tuple[list[IntentCost], CostSummary]]:
        """The costs and their summary (totals per type, agent and unit, and the budget)."""

        def parse(response: Response) -> tuple[list[IntentCost], CostSummary]:
            body = response.json()
            costs = [IntentCost.from_dict(row) for row in items_of(body, "costs")]
            return costs, CostSummary.from_dict(as_dict(body).get("summary"))

        return Call("GET", _intent_path(intent_id, "/costs"), parse)

    # Retries (RFC-0010) ---------------------------------------------------------------------------------------

    @endpoint
    def set_retry_policy(
        self,
        intent_id: str,
        strategy: RetryStrategy | str = RetryStrategy.EXPONENTIAL,
        max_retries: int = 3,
        base_delay_ms: int = 1000,
        max_delay_ms: int = 60000,
        fallback_agent_id: str | None = None,
        failure_threshold: int = 3,
        jitter: bool = True,
    ) -> Call[RetryPolicy]:
        """Replace the intent's retry policy."""
        body = {
            "strategy": wire_value(strategy),
            "max_retries": max_retries,
            "base_delay_ms": base_delay_ms,
            "max_delay_ms": max_delay_ms,
            "fallback_agent_id": fallback_agent_id,
            "failure_threshold": failure_threshold,
            "jitter": jitter,
        }
        return Call("PUT", _intent_path(intent_id, "/retry-policy"), _one(RetryPolicy.from_dict), json=body)

    @endpoint
    def get_retry_policy(self, intent_id: str) -> Call[RetryPolicy | None]:
        """The retry policy, or ``None`` when none is set."""
        path = _intent_path(intent_id, "/retry-policy")
        return Call("GET", path, _one(RetryPolicy.from_dict), on_not_found=_no_policy)

    @endpoint
    def record_failure(
        self,
        intent_id: str,
        attempt_number: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        retry_scheduled_at: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        recoverable: bool = True,
    ) -> Call[IntentFailure]:
        """Record a failed attempt; the server schedules the retry from the policy."""
        body = {
            "agent_id": self.agent_id,
            "attempt_number": attempt_number,
            "error_code": error_code,
            "error_message": error_message,
            "retry_scheduled_at": _iso(retry_scheduled_at),
            "metadata": dict(metadata or {}),
            "recoverable": recoverable,
        }
        return Call("POST", _intent_path(intent_id, "/failures"), _one(IntentFailure.from_dict), json=body)

    @endpoint
    def get_failures(self, intent_id: str) -> Call[list[IntentFailure]]:
        return Call("GET", _intent_path(intent_id, "/failures"), _many(IntentFailure.from_dict, "failures"))

    # Webhook subscriptions (RFC-0006) -------------------------------------------------------------------------

    @endpoint
    def subscribe(
        self,
        intent_id: str | None = None,
        portfolio_id: str | None = None,
        event_types: list[EventType | str] | None = None,
        webhook_url: str | None = None,
        expires_at: datetime | None = None,
    ) -> Call[IntentSubscription]:
        """Deliver events (of one intent, a portfolio's members, or every intent) to ``webhook_url``. The
        answer's ``secret`` signs the deliveries and is shown only here."""
        body = {
            "intent_id": intent_id,
            "portfolio_id": portfolio_id,
            "subscriber_id": self.agent_id,
            "event_types": [wire_value(event_type) for event_type in event_types or []],
            "webhook_url": webhook_url,
            "expires_at": _iso(expires_at),
        }
        return Call("POST", api("/subscriptions"), _one(IntentSubscription.from_dict), json=body)

    @endpoint
    def get_subscriptions(
        self, intent_id: str | None = None, portfolio_id: str | None = None
    ) -> Call[list[IntentSubscription]]:
        params = {"intent_id": intent_id, "portfolio_id": portfolio_id}
        parse = _many(IntentSubscription.from_dict, "subscriptions")
        return Call("GET", api("/subscriptions"), parse, params=params)

    @endpoint
    def get_subscription(self, subscription_id: str) -> Call[IntentSubscription]:
        return Call("GET", api(f"/subscriptions/{_seg(subscription_id)}"), _one(IntentSubscription.from_dict))

    @endpoint
    def unsubscribe(self, subscription_id: str) -> Call[None]:
        return Call("DELETE", api(f"/subscriptions/{_seg(subscription_id)}"), _nothing)

    # Portfolios (RFC-0007) ------------------------------------------------------------------------------------

    @endpoint
    def create_portfolio(
        self,
        name: str,
        description: str | None = None,
        governance_policy: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Call[IntentPortfolio]:
        body = {
            "name": name,
            "description": description,
            "created_by": self.agent_id,
            "governance_policy": dict(governance_policy or {}),
            "metadata": dict(metadata or {}),
        }
        return Call("POST", api("/portfolios"), _one(IntentPortfolio.from_dict), json=body)

    @endpoint
    def get_portfolio(self, portfolio_id: str) -> Call[IntentPortfolio]:
        """A portfolio with its member intents, memberships and aggregate status."""
        return Call("GET", api(f"/portfolios/{_seg(portfolio_id)}"), _one(IntentPortfolio.from_dict))

    @endpoint
    def list_portfolios(
        self, created_by: str | None = None, status: PortfolioStatus | str | None = None
    ) -> Call[list[IntentPortfolio]]:
        params = {"created_by": created_by, "status": None if status is None else wire_value(status)}
        return Call("GET", api("/portfolios"), _many(IntentPortfolio.from_dict, "portfolios"), params=params)

    @endpoint
    def update_portfolio(
        self,
        portfolio_id: str,
        name: str | None = None,
        description: str | None = None,
        governance_policy: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Call[IntentPortfolio]:
        """Change the fields given; the others stay."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if description is not None:
            body["description"] = description
        if governance_policy is not None:
            body["governance_policy"] = dict(governance_policy)
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return Call("PATCH", api(f"/portfolios/{_seg(portfolio_id)}"), _one(IntentPortfolio.from_dict), json=body)

    @endpoint
    def update_portfolio_status(self, portfolio_id: str, status: PortfolioStatus | str) -> Call[IntentPortfolio]:
        path = api(f"/portfolios/{_seg(portfolio_id)}/status")
        return Call("PATCH", path, _one(IntentPortfolio.from_dict), json={"status": wire_value(status)})

    @endpoint
    def add_intent_to_portfolio(
        self,
        portfolio_id: str,
        intent_id: str,
        role: MembershipRole | str = MembershipRole.MEMBER,
        priority: int = 0,
    ) -> Call[PortfolioMembership]:
        """Add a member; adding it again changes its role and priority."""
        body = {"intent_id": intent_id, "role": wire_value(role), "priority": priority}
        path = api(f"/portfolios/{_seg(portfolio_id)}/intents")
        return Call("POST", path, _one(PortfolioMembership.from_dict), json=body)

    @endpoint
    def remove_intent_from_portfolio(self, portfolio_id: str, intent_id: str) -> Call[None]:
        return Call("DELETE", api(f"/portfolios/{_seg(portfolio_id)}/intents/{_seg(intent_id)}"), _nothing)

    @endpoint
    def get_portfolio_intents(self, portfolio_id: str) -> Call[tuple[list[Intent], AggregateStatus]]:
        """The member intents, highest priority first, and their aggregate status."""

        def parse(response: Response) -> tuple[list[Intent], AggregateStatus]:
            body = response.json()
            intents = [Intent.from_dict(row) for row in items_of(body, "intents")]
            return intents, AggregateStatus.from_dict(as_dict(body).get("aggregate_status"))

        return Call("GET", api(f"/portfolios/{_seg(portfolio_id)}/intents"), parse)

    @endpoint
    def get_portfolio_members(self, portfolio_id: str) -> Call[list[PortfolioMembership]]:
        """The memberships (role, priority) of a portfolio, highest priority first."""
        path = api(f"/portfolios/{_seg(portfolio_id)}/intents")
        return Call("GET", path, _many(PortfolioMembership.from_dict, "members"))

    @endpoint
    def get_intent_portfolios(self, intent_id: str) -> Call[list[IntentPortfolio]]:
        """The caller's portfolios holding the intent."""
        path = _intent_path(intent_id, "/portfolios")
        return Call("GET", path, _many(IntentPortfolio.from_dict, "portfolios"))

    # Access control (RFC-0011) --------------------------------------------------------------------------------

    @endpoint
    def get_acl(self, intent_id: str) -> Call[IntentACL]:
        return Call("GET", _intent_path(intent_id, "/acl"), _one(IntentACL.from_dict, "intent_id"))

    @endpoint
    def set_acl(
        self,
        intent_id: str,
        default_policy: AccessPolicy | str = AccessPolicy.OPEN,
        entries: list[ACLEntry | Mapping[str, Any]] | None = None,
    ) -> Call[IntentACL]:
        """Replace the policy and every grant (admin)."""
        body = {"default_policy": wire_value(default_policy), "entries": [_acl_entry(e) for e in entries or []]}
        return Call("PUT", _intent_path(intent_id, "/acl"), _one(IntentACL.from_dict, "intent_id"), json=body)

    @endpoint
    def grant_access(
        self,
        intent_id: str,
        principal_id: str,
        principal_type: str = "agent",
        permission: Permission | str = Permission.READ,
        reason: str | None = None,
        expires_at: datetime | None = None,
    ) -> Call[ACLEntry]:
        body: dict[str, Any] = {
            "principal_id": principal_id,
            "principal_type": principal_type,
            "permission": wire_value(permission),
        }
        if reason is not None:
            body["reason"] = reason
        if expires_at is not None:
            body["expires_at"] = _iso(expires_at)
        return Call("POST", _intent_path(intent_id, "/acl/entries"), _one(ACLEntry.from_dict), json=body)

    @endpoint
    def revoke_access(self, intent_id: str, entry_id: str) -> Call[None]:
        """Remove a grant; the principal's leases on the intent end with it."""
        return Call("DELETE", _intent_path(intent_id, f"/acl/entries/{_seg(entry_id)}"), _nothing)

    @endpoint
    def request_access(
        self,
        intent_id: str,
        principal_id: str | None = None,
        principal_type: str = "agent",
        permission: Permission | str = Permission.WRITE,
        reason: str = "",
        capabilities: list[str] | None = None,
    ) -> Call[AccessRequest]:
        """Ask for access (anyone may); the server records the caller as the principal."""
        body: dict[str, Any] = {
            "principal_id": principal_id or self.agent_id,
            "principal_type": principal_type,
            "requested_permission": wire_value(permission),
            "reason": reason,
        }
        if capabilities:
            body["capabilities"] = list(capabilities)
        return Call("POST", _intent_path(intent_id, "/access-requests"), _one(AccessRequest.from_dict), json=body)

    @endpoint
    def list_access_requests(self, intent_id: str, status: str | None = None) -> Call[list[AccessRequest]]:
        """Access requests of the intent (admin), optionally ``pending``, ``approved`` or ``denied`` only."""
        path = _intent_path(intent_id, "/access-requests")
        return Call("GET", path, _many(AccessRequest.from_dict, "access_requests"), params={"status": status})

    @endpoint
    def approve_access_request(
        self,
        intent_id: str,
        request_id: str,
        permission: Permission | str | None = None,
        expires_at: datetime | None = None,
        reason: str | None = None,
    ) -> Call[AccessRequest]:
        """Approve (admin); ``permission`` grants another level than the one asked for."""
        body: dict[str, Any] = {"decided_by": self.agent_id}
        if permission is not None:
            body["permission"] = wire_value(permission)
        if expires_at is not None:
            body["expires_at"] = _iso(expires_at)
        if reason is not None:
            body["reason"] = reason
        path = _intent_path(intent_id, f"/access-requests/{_seg(request_id)}/approve")
        return Call("POST", path, _one(AccessRequest.from_dict), json=body)

    @endpoint
    def deny_access_request(self, intent_id: str, request_id: str, reason: str | None = None) -> Call[AccessRequest]:
        body: dict[str, Any] = {"decided_by": self.agent_id}
        if reason is not None:
            body["reason"] = reason
        path = _intent_path(intent_id, f"/access-requests/{_seg(request_id)}/deny")
        return Call("POST", path, _one(AccessRequest.from_dict), json=body)

    # LLM observability (RFC-0008): events on the intent's log -------------------------------------------------

    @endpoint
    def log_tool_call_started(
        self,
        intent_id: str,
        tool_name: str,
        tool_id: str,
        arguments: Mapping[str, Any],
        provider: str | None = None,
        model: str | None = None,
        parent_request_id: str | None = None,
    ) -> Call[IntentEvent]:
        payload = ToolCallPayload(tool_name, tool_id, dict(arguments), provider, model, parent_request_id)
        return _event(intent_id, self.agent_id, EventType.TOOL_CALL_STARTED, payload.to_dict())

    @endpoint
    def log_tool_call_completed(
        self,
        intent_id: str,
        tool_name: str,
        tool_id: str,
        arguments: Mapping[str, Any],
        result: Any,
        duration_ms: int | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> Call[IntentEvent]:
        payload = ToolCallPayload(
            tool_name, tool_id, dict(arguments), provider, model, result=result, duration_ms=duration_ms
        )
        return _event(intent_id, self.agent_id, EventType.TOOL_CALL_COMPLETED, payload.to_dict())

    @endpoint
    def log_tool_call_failed(
        self,
        intent_id: str,
        tool_name: str,
        tool_id: str,
        arguments: Mapping[str, Any],
        error: str,
        duration_ms: int | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> Call[IntentEvent]:
        payload = ToolCallPayload(
            tool_name, tool_id, dict(arguments), provider, model, error=error, duration_ms=duration_ms
        )
        return _event(intent_id, self.agent_id, EventType.TOOL_CALL_FAILED, payload.to_dict())

    @endpoint
    def log_llm_request_started(
        self,
        intent_id: str,
        request_id: str,
        provider: str,
        model: str,
        messages_count: int,
        tools_available: list[str] | None = None,
        stream: bool = False,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Call[IntentEvent]:
        payload = LLMRequestPayload(
            request_id,
            provider,
            model,
            messages_count,
            tools_available=list(tools_available or []),
            temperature=temperature,
            max_tokens=max_tokens,
            stream=stream,
        ).to_dict()
        payload["stream"] = stream
        return _event(intent_id, self.agent_id, EventType.LLM_REQUEST_STARTED, payload)

    @endpoint
    def log_llm_request_completed(
        self,
        intent_id: str,
        request_id: str,
        provider: str,
        model: str,
        messages_count: int,
        response_content: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        finish_reason: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        total_tokens: int | None = None,
        duration_ms: int | None = None,
    ) -> Call[IntentEvent]:
        payload = LLMRequestPayload(
            request_id,
            provider,
            model,
            messages_count,
            response_content=response_content,
            tool_calls=list(tool_calls or []),
            finish_reason=finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=total_tokens,
            duration_ms=duration_ms,
        ).to_dict()
        payload["stream"] = False
        return _event(intent_id, self.agent_id, EventType.LLM_REQUEST_COMPLETED, payload)

    @endpoint
    def log_llm_request_failed(
        self,
        intent_id: str,
        request_id: str,
        provider: str,
        model: str,
        messages_count: int,
        error: str,
        duration_ms: int | None = None,
    ) -> Call[IntentEvent]:
        payload = LLMRequestPayload(
            request_id, provider, model, messages_count, error=error, duration_ms=duration_ms
        ).to_dict()
        payload["stream"] = False
        return _event(intent_id, self.agent_id, EventType.LLM_REQUEST_FAILED, payload)

    @endpoint
    def start_stream(self, intent_id: str, stream_id: str, provider: str, model: str) -> Call[IntentEvent]:
        state = StreamState(
            stream_id, intent_id, self.agent_id, StreamStatus.ACTIVE, provider, model, started_at=_now_dt()
        )
        return _event(intent_id, self.agent_id, EventType.STREAM_STARTED, state.to_dict())

    @endpoint
    def log_stream_chunk(
        self, intent_id: str, stream_id: str, chunk_index: int, token_count: int = 1
    ) -> Call[IntentEvent]:
        payload = {"stream_id": stream_id, "chunk_index": chunk_index, "token_count": token_count}
        return _event(intent_id, self.agent_id, EventType.STREAM_CHUNK, payload)

    @endpoint
    def complete_stream(
        self,
        intent_id: str,
        stream_id: str,
        provider: str,
        model: str,
        chunks_received: int,
        tokens_streamed: int,
    ) -> Call[IntentEvent]:
        state = StreamState(
            stream_id,
            intent_id,
            self.agent_id,
            StreamStatus.COMPLETED,
            provider,
            model,
            chunks_received,
            tokens_streamed,
            completed_at=_now_dt(),
        )
        return _event(intent_id, self.agent_id, EventType.STREAM_COMPLETED, state.to_dict())

    @endpoint
    def cancel_stream(
        self,
        intent_id: str,
        stream_id: str,
        provider: str,
        model: str,
        reason: str | None = None,
        chunks_received: int = 0,
        tokens_streamed: int = 0,
    ) -> Call[IntentEvent]:
        state = StreamState(
            stream_id,
            intent_id,
            self.agent_id,
            StreamStatus.CANCELLED,
            provider,
            model,
            chunks_received,
            tokens_streamed,
            cancelled_at=_now_dt(),
            cancel_reason=reason,
        )
        return _event(intent_id, self.agent_id, EventType.STREAM_CANCELLED, state.to_dict())


def _intent_query(
    status: IntentStatus | str | None,
    limit: int,
    offset: int,
    created_by: str | None,
    parent_id: str | None,
    q: str | None,
    cursor: str | None,
) -> dict[str, Any]:
    return {
        "status": None if status is None else wire_value(status),
        "limit": limit,
        "offset": offset,
        "created_by": created_by,
        "parent_id": parent_id,
        "q": q,
        "cursor": cursor,
    }


def _event(
    intent_id: str, agent_id: str, event_type: EventType | str, payload: Mapping[str, Any] | None
) -> Call[IntentEvent]:
    body = {"event_type": wire_value(event_type), "actor": agent_id, "payload": dict(payload or {})}
    return Call("POST", _intent_path(intent_id, "/events"), _one(IntentEvent.from_dict), json=body)


def _no_policy() -> RetryPolicy | None:
    return None


def _now_dt() -> datetime:
    return datetime.now(UTC)
