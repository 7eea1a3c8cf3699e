"""The agent runtime: :class:`Worker`, the ``@Agent`` decorator and the lifecycle decorators.

An agent is a program that listens on its own live stream (``/api/v1/agents/{id}/subscribe``) and reacts to what
the server tells it. Everything it does to the protocol goes through the server, so several copies of one agent,
or one restarted after a crash, agree through server-side facts and not through anything kept locally:

* an assignment is taken under a **work lease** (scope :data:`WORK_SCOPE`) on the intent, so one copy works on an
  intent at a time; a copy that finds the lease held tries again when that lease ends (released, or lapsed
  because its holder died);
* an intent that is already ``completed`` or ``abandoned`` is never worked on again, whatever replay of the
  stream delivers its assignment once more;
* the result is written and the intent completed with ``If-Match`` on the version read under the lease.

The runtime is async; sync handlers run in a worker thread, so a slow one does not stop the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import inspect
import logging
import math
import re
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from ._declarations import Memory, MemoryDeclaration, Plan, Trigger, Vault, _topological
from ._namespaces import Tasks
from .client import AsyncOpenIntentClient, OpenIntentClient
from .exceptions import (
    ConflictError,
    GoneError,
    GuardrailViolationError,
    LeaseConflictError,
    NotFoundError,
    OpenIntentError,
)
from .models import (
    AccessRequest,
    ACLEntry,
    ArbitrationRequest,
    CoordinatorLease,
    DecisionRecord,
    EventType,
    Intent,
    IntentLease,
    IntentPortfolio,
    IntentStatus,
    MemoryEntry,
    Permission,
)
from .streaming import AsyncSSEStream, SSEEvent

__all__ = [
    "AgentConfig",
    "BaseAgent",
    "Agent",
    "Worker",
    "GuardrailError",
    "WORK_SCOPE",
    "on_assignment",
    "on_complete",
    "on_state_change",
    "on_event",
    "on_lease_available",
    "on_access_requested",
    "on_task",
    "on_trigger",
    "on_drain",
    "on_handoff",
    "on_retry",
    "input_guardrail",
    "output_guardrail",
    "Plan",
    "Vault",
    "Trigger",
    "Memory",
    "Coordinator",
    "BaseCoordinator",
    "IntentSpec",
    "PortfolioSpec",
    "PortfolioEnded",
    "on_escalation",
    "on_all_complete",
    "on_conflict",
    "on_quorum",
    "CONFLICT_EVENT",
    "VOTE_EVENT",
]

logger = logging.getLogger("openintent.agents")

WORK_SCOPE = "openintent.work"
"""The lease scope an agent holds on an intent while it works on it."""

COORDINATOR_ROLE = "coordinator"
"""The assignment role a coordinator takes on the intents it coordinates: their events reach its stream."""

DELEGATE_ROLE = "delegate"
"""The assignment role :meth:`BaseAgent.delegate` uses; it routes the assignment to the target's ``@on_handoff``."""

HANDLER_ATTR = "_openintent_handler"

CONFLICT_EVENT = "state_conflict"
"""The event an agent logs on an intent when one of its versioned writes was refused as stale: ``agent_id``,
``keys`` it wrote, ``refused`` (each try's ``expected_version`` and ``current_version``) and ``resolved`` (whether
a later try went through)."""

VOTE_EVENT = "vote"
"""The event :meth:`BaseAgent.vote` logs: ``in_favor`` and what else the voter adds."""

_F = TypeVar("_F", bound=Callable[..., Any])
_HANDLING: contextvars.ContextVar[str | None] = contextvars.ContextVar("openintent_handling", default=None)
"""The id of the intent whose handler is running (for a coordinator's ``record_decision``)."""
_FINISHED = frozenset({IntentStatus.COMPLETED.value, IntentStatus.ABANDONED.value})


class GuardrailError(OpenIntentError):
    """Raised by a guardrail to reject an assignment (input) or a result (output)."""


# Decorators ---------------------------------------------------------------------------------------------------


def _mark(kind: str, **options: Any) -> Callable[[_F], _F]:
    def decorate(function: _F) -> _F:
        setattr(function, HANDLER_ATTR, kind)
        for name, value in options.items():
            setattr(function, f"_openintent_{name}", value)
        return function

    return decorate


def on_assignment(function: _F) -> _F:
    """``(self, intent)``: the agent was assigned an intent. A returned dict is written into the intent's state;
    the intent is then completed (unless ``auto_complete`` is off). An exception records a failure (RFC-0010)."""
    return _mark("assignment")(function)


def on_complete(function: _F) -> _F:
    """``(self, intent)``: an intent assigned to the agent was completed."""
    return _mark("complete")(function)


def on_state_change(keys: Iterable[str] | None = None) -> Callable[[_F], _F]:
    """``(self, intent, old_state, new_state)``: another principal changed the state of an intent assigned to the
    agent, touching one of ``keys`` (any key when ``None``). A returned dict is written into the state."""
    return _mark("state_change", keys=None if keys is None else list(keys))


def on_event(event_type: EventType | str) -> Callable[[_F], _F]:
    """``(self, intent, event)``: an event of this type (``"note"``, ``EventType.COMMENT``, or the stream's name
    such as ``"STATE_CHANGED"``; case does not matter) on an intent assigned to the agent."""
    name = event_type.value if isinstance(event_type, EventType) else str(event_type)
    return _mark("event", event_type=name)


def on_lease_available(scope: str) -> Callable[[_F], _F]:
    """``(self, intent, scope)``: a lease on ``scope`` of an intent assigned to the agent was released."""
    return _mark("lease_available", scope=scope)


def on_access_requested(function: _F) -> _F:
    """``(self, intent, request)``: someone asked for access to an intent assigned to the agent. Return
    ``"approve"`` or ``"deny"`` to decide it (the agent needs ``admin`` on the intent); anything else leaves it
    pending."""
    return _mark("access_requested")(function)


def on_task(status: str | None = None) -> Callable[[_F], _F]:
    """``(self, intent, task)``: a task event (RFC-0012) on an intent assigned to the agent, ``task`` being the
    event's data (``task_id`` and the rest); only events of ``status`` (``"completed"``, ``"failed"``, ...) when
    given."""
    return _mark("task", task_status=status)


def on_trigger(name: str | None = None) -> Callable[[_F], _F]:
    """``(self, intent)``: a trigger (RFC-0017) named ``name`` (any, when ``None``) created an intent assigned to
    the agent (its template's ``assignee``). For such an intent the matching trigger handlers run instead of the
    ``@on_assignment`` ones, under the same guardrails, and their returned dict is written and the intent
    completed in the same way; an intent no trigger created, or one of a trigger no handler names, is an
    ordinary assignment."""
    return _mark("trigger", trigger_name=name)


def on_drain(function: _F) -> _F:
    """``(self)``: the agent is draining (SIGTERM, :meth:`BaseAgent.drain`, or the server asked it to). It takes
    no new work from then on."""
    return _mark("drain")(function)


def on_handoff(function: _F) -> _F:
    """``(self, intent, from_agent)``: another agent delegated the intent to this one (:meth:`BaseAgent.delegate`).
    Without handoff handlers, a delegation is an ordinary assignment."""
    return _mark("handoff")(function)


def on_retry(function: _F) -> _F:
    """``(self, intent, attempt, last_error)``: the server assigned the intent again after a recorded failure
    (RFC-0010). Without retry handlers, a retry is an ordinary assignment."""
    return _mark("retry")(function)


def input_guardrail(function: _F) -> _F:
    """``(self, intent)``: runs before the assignment handlers; returning ``False`` or raising rejects the
    assignment, which is then recorded as a failure."""
    return _mark("input_guardrail")(function)


def output_guardrail(function: _F) -> _F:
    """``(self, intent, result)``: runs on each dict an assignment handler returns; returning ``False`` or raising
    rejects the result, which is then recorded as a failure."""
    return _mark("output_guardrail")(function)


# Configuration ------------------------------------------------------------------------------------------------


@dataclass
class AgentConfig:
    """How an agent runs. ``lease_seconds`` is the work lease's duration (renewed at half of it)."""

    base_url: str = "http://localhost:8000"
    api_key: str = ""
    auto_subscribe: bool = True
    auto_complete: bool = True
    reconnect_delay: float = 5.0
    max_reconnects: int | None = None
    log_level: int = logging.INFO
    capabilities: list[str] = field(default_factory=list)
    auto_request_access: bool = False
    auto_heartbeat: bool = True
    heartbeat_interval: float = 30.0
    drain_timeout: float = 60.0
    memory: Any = None
    """The tier ``self.memory`` uses (``"episodic"`` when unset), or a class declared with ``@Memory``."""
    memory_namespace: str | None = None
    tools: list[Any] = field(default_factory=list)
    lease_seconds: int = 60
    max_concurrent: int = 5


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    """Run a handler, a coroutine function on the loop and a plain one in a thread."""
    token = _HANDLING.set(args[0].id) if args and isinstance(args[0], Intent) else None
    try:
        if inspect.iscoroutinefunction(function):
            return await function(*args)
        result = await asyncio.to_thread(function, *args)
        if inspect.isawaitable(result):
            result = await result
        return result
    finally:
        if token is not None:
            _HANDLING.reset(token)


def _status(intent: Intent) -> str:
    status = intent.status
    return status.value if isinstance(status, IntentStatus) else str(status)


def _segments(path: str) -> list[str]:
    parts = [part for part in path.split("/") if part]
    if path.startswith("/"):
        parts = [part.replace("~1", "/").replace("~0", "~") for part in parts]
    return parts


def _changed_keys(data: Mapping[str, Any]) -> set[str]:
    """The top-level state keys a ``state_patched`` event touched."""
    keys: set[str] = set()
    for patch in data.get("patches") or []:
        if isinstance(patch, dict):
            segments = _segments(str(patch.get("path", "")))
            if segments:
                keys.add(segments[0])
    return keys


def _applied(state: Mapping[str, Any], patches: Iterable[Any]) -> dict[str, Any] | None:
    """``state`` after the patches of a ``state_patched`` event, as the server applied them (None if they do not
    apply, which means the state known here is not the one they were applied to)."""
    result = copy.deepcopy(dict(state))
    for patch in patches:
        if not isinstance(patch, dict):
            return None
        *parents, leaf = _segments(str(patch.get("path", ""))) or [""]
        container: Any = result
        for segment in parents:
            if segment not in container:
                if patch.get("op") == "remove":
                    container = None
                    break
                container[segment] = {}
            container = container[segment]
            if not isinstance(container, dict):
                return None
        if container is None:
            continue
        if patch.get("op") == "set":
            container[leaf] = copy.deepcopy(patch.get("value"))
        elif patch.get("op") == "append":
            target = container.setdefault(leaf, [])
            if not isinstance(target, list):
                return None
            target.append(copy.deepcopy(patch.get("value")))
        else:
            container.pop(leaf, None)
    return result


class AgentMemory:
    """``self.memory``: the agent's own memory (RFC-0015) in one tier and namespace (``memory=`` and
    ``memory_namespace`` of the config; ``episodic`` and the agent's id by default). With a ``@Memory`` class as
    ``memory=``, its namespace, tier, ``ttl`` for new entries and ``capacity`` (evicting on store) apply."""

    def __init__(self, agent: BaseAgent) -> None:
        self._agent = agent
        memory = agent.config.memory
        declared = getattr(memory, "_memory", memory)
        self.declared = declared if isinstance(declared, MemoryDeclaration) else None

    @property
    def tier(self) -> str:
        if self.declared is not None:
            return self.declared.tier
        return str(self._agent.config.memory or "episodic")

    @property
    def namespace(self) -> str:
        declared = self.declared.namespace if self.declared is not None else None
        return declared or self._agent.config.memory_namespace or self._agent.agent_id

    async def store(self, key: str, value: Any, tags: list[str] | None = None, **options: Any) -> MemoryEntry:
        """Store ``value`` under ``key``, replacing what the key held. A value that is not a dict is stored as
        ``{"value": value}``. ``options`` go to the server as they are (``ttl``, ``pinned``, ``priority``...).
        A declared capacity is then kept by evicting the entries its ``eviction`` names."""
        if self.declared is not None and self.declared.ttl and "ttl" not in options:
            options["ttl"] = self.declared.ttl
        entry = await self._store(key, value, tags, **options)
        if self.declared is not None and self.declared.capacity is not None:
            await self._evict(self.declared.capacity, keep=entry.id)
        return entry

    async def _evict(self, capacity: int, keep: str) -> None:
        client = self._agent.async_client
        entries: list[MemoryEntry] = []
        while True:
            page = await client.list_memory(
                self._agent.agent_id, self.namespace, self.tier, limit=500, offset=len(entries)
            )
            entries.extend(page)
            if len(page) < 500:
                break
        excess = len(entries) - capacity
        if excess <= 0:
            return
        lru = self.declared is None or self.declared.eviction == "lru"
        oldest = datetime.min.replace(tzinfo=timezone.utc)

        def age(entry: MemoryEntry) -> tuple[datetime, datetime]:
            created = entry.created_at or oldest
            return ((entry.last_accessed_at or entry.updated_at or created) if lru else created, created)

        for entry in sorted((e for e in entries if not e.pinned and e.id != keep), key=age)[:excess]:
            with contextlib.suppress(NotFoundError):
                await client.delete_memory(entry.id)

    async def _store(self, key: str, value: Any, tags: list[str] | None = None, **options: Any) -> MemoryEntry:
        client, agent_id = self._agent.async_client, self._agent.agent_id
        body = dict(value) if isinstance(value, Mapping) else {"value": value}
        tag_list = [str(tag) for tag in tags or []]
        try:
            return await client.create_memory(agent_id, self.namespace, key, body, self.tier, tags=tag_list, **options)
        except ConflictError:
            for attempt in range(5):
                current = await self.get(key)
                if current is None:
                    return await client.create_memory(
                        agent_id, self.namespace, key, body, self.tier, tags=tag_list, **options
                    )
                try:
                    return await client.update_memory(current.id, current.version, value=body, tags=tag_list)
                except ConflictError:
                    if attempt == 4:
                        raise
            raise

    async def get(self, key: str) -> MemoryEntry | None:
        entries = await self._agent.async_client.list_memory(
            self._agent.agent_id, self.namespace, self.tier, key=key, limit=1
        )
        return entries[0] if entries else None

    async def recall(
        self, key: str | None = None, tags: list[str] | None = None, limit: int = 100
    ) -> list[MemoryEntry]:
        """The entries of this tier and namespace, those of ``key``, or those carrying every one of ``tags``."""
        return await self._agent.async_client.list_memory(
            self._agent.agent_id, self.namespace, self.tier, [str(tag) for tag in tags or []] or None, limit, key=key
        )

    async def forget(self, key: str) -> bool:
        """Delete ``key``'s entry; whether there was one."""
        entry = await self.get(key)
        if entry is None:
            return False
        with contextlib.suppress(NotFoundError):
            await self._agent.async_client.delete_memory(entry.id)
        return True

    async def pin(self, key: str) -> MemoryEntry:
        """Pin ``key``'s entry, so that eviction never takes it."""
        entry = await self.get(key)
        if entry is None:
            raise NotFoundError(f"no memory entry {key!r} in {self.namespace}", 404)
        return await self._agent.async_client.update_memory(entry.id, entry.version, pinned=True)


class AgentTools:
    """``self.tools``: tools called through the server's tool proxy (RFC-0014), as this agent."""

    def __init__(self, agent: BaseAgent) -> None:
        self._agent = agent

    async def invoke(self, tool_name: str, **parameters: Any) -> dict[str, Any]:
        """Call a granted tool; the server injects the credential and records the invocation."""
        return await self._agent.async_client.invoke_tool(tool_name, self._agent.agent_id, parameters)


class BaseAgent:
    """An agent: its clients, its handlers (found by their decorators) and the runtime that dispatches the events of
    its stream to them. Subclass it, or decorate a plain class with :func:`Agent`.

    ``BaseAgent(base_url=None, api_key=None, config=None, *, agent_id=None, last_event_id=None)``: the URL and key
    override the config's; ``last_event_id`` resumes the stream after that event (a program that stores the id of
    the last event it handled gets, on restart, what it missed)."""

    default_agent_id: str = ""
    default_config: AgentConfig | None = None

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        config: AgentConfig | None = None,
        *,
        agent_id: str | None = None,
        last_event_id: str | int | None = None,
    ) -> None:
        base = config or self.default_config
        self.config = AgentConfig(**vars(base)) if base is not None else AgentConfig()
        if base_url is not None:
            self.config.base_url = base_url
        if api_key is not None:
            self.config.api_key = api_key
        self._agent_id = agent_id or self.default_agent_id
        if not self._agent_id:
            raise ValueError("an agent needs an agent_id")
        self._last_event_id = last_event_id
        self._client: OpenIntentClient | None = None
        self._async_client: AsyncOpenIntentClient | None = None
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        for name in dir(type(self)):
            if name.startswith("_"):
                continue
            member = getattr(self, name, None)
            kind = getattr(member, HANDLER_ATTR, None)
            if isinstance(kind, str) and callable(member):
                self._handlers.setdefault(kind, []).append(member)
        self._running = False
        self._draining = False
        self._stream: AsyncSSEStream | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._work: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.Task[Any]] = set()
        self._in_hand: set[str] = set()
        self._waiting: dict[str, str] = {}
        self._states: dict[str, tuple[int, dict[str, Any]]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._done: asyncio.Event | None = None
        self._stop_requested = False

    # Identity and clients ---------------------------------------------------------------------------------------

    @property
    def agent_id(self) -> str:
        return self._agent_id

    @property
    def client(self) -> OpenIntentClient:
        """A sync client acting as this agent (for use in sync handlers)."""
        if self._client is None:
            self._client = OpenIntentClient(self.config.base_url, self.config.api_key, self._agent_id)
        return self._client

    @property
    def async_client(self) -> AsyncOpenIntentClient:
        """The async client the runtime uses."""
        if self._async_client is None:
            self._async_client = AsyncOpenIntentClient(self.config.base_url, self.config.api_key, self._agent_id)
        return self._async_client

    @property
    def memory(self) -> AgentMemory:
        return AgentMemory(self)

    @property
    def tools(self) -> AgentTools:
        return AgentTools(self)

    @property
    def tasks(self) -> Tasks[AsyncOpenIntentClient]:
        """``client.tasks`` of the agent's async client: tasks and plans (RFC-0012)."""
        return self.async_client.tasks

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event the stream delivered."""
        return None if self._stream is None else self._stream.last_event_id

    async def aclose(self) -> None:
        """Close the agent's clients (``run()`` does it on its way out; this is for agents used without it)."""
        if self._async_client is not None:
            await self._async_client.close()
            self._async_client = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def handlers(self, kind: str) -> list[Callable[..., Any]]:
        return list(self._handlers.get(kind, []))

    # Protocol helpers -------------------------------------------------------------------------------------------

    async def patch_state(self, intent_id: str, updates: Mapping[str, Any], *, attempts: int = 5) -> Intent:
        """Set top-level keys of the state at the intent's current version, reading it again after a conflict
        (another writer came between the read and the write): the latest write wins. A write that met a conflict
        is reported on the intent (a ``state_conflict`` event, which fires its coordinator's ``@on_conflict``)."""
        refused: list[dict[str, Any]] = []
        try:
            for attempt in range(attempts):
                intent = await self.async_client.get_intent(intent_id)
                try:
                    written = await self.async_client.update_state(intent_id, intent.version, dict(updates))
                except ConflictError as exc:
                    if isinstance(exc, GuardrailViolationError):
                        raise
                    refused.append({"expected_version": intent.version, "current_version": exc.current_version})
                    if attempt == attempts - 1:
                        raise
                else:
                    return written
        finally:
            if refused:
                await self._report_conflict(intent_id, sorted(updates), refused, resolved=len(refused) < attempts)
        raise AssertionError("unreachable")

    async def _report_conflict(
        self, intent_id: str, keys: list[str], refused: list[dict[str, Any]], *, resolved: bool
    ) -> None:
        report = {"agent_id": self._agent_id, "keys": keys, "refused": refused, "resolved": resolved}
        try:
            await self.async_client.log_event(intent_id, CONFLICT_EVENT, report)
        except OpenIntentError:
            logger.warning("agent %s could not report its write conflict on %s", self._agent_id, intent_id)

    async def vote(self, intent_id: str, in_favor: bool = True, **data: Any) -> None:
        """Vote on an intent (a ``vote`` event; a later vote of the same agent replaces its earlier one). The
        intent's coordinator counts the votes for its ``@on_quorum`` handlers."""
        await self.async_client.log_event(intent_id, VOTE_EVENT, {"in_favor": bool(in_favor), **data})

    async def complete_intent(self, intent_id: str, final_state: Mapping[str, Any] | None = None) -> Intent:
        """Write ``final_state`` (if any) and complete the intent, each at the version just read."""
        if final_state:
            intent = await self.patch_state(intent_id, final_state)
        else:
            intent = await self.async_client.get_intent(intent_id)
        for attempt in range(5):
            try:
                return await self.async_client.set_status(intent_id, intent.version, IntentStatus.COMPLETED)
            except ConflictError:
                if attempt == 4:
                    raise
                intent = await self.async_client.get_intent(intent_id)
        raise AssertionError("unreachable")

    async def log(self, intent_id: str, message: str, **data: Any) -> None:
        await self.async_client.log_event(intent_id, EventType.COMMENT, {"message": message, **data})

    async def grant_access(
        self, intent_id: str, principal_id: str, permission: Permission | str = "write", reason: str | None = None
    ) -> ACLEntry:
        return await self.async_client.grant_access(
            intent_id, principal_id, principal_type="agent", permission=permission, reason=reason
        )

    async def revoke_access(self, intent_id: str, entry_id: str) -> None:
        await self.async_client.revoke_access(intent_id, entry_id)

    @contextlib.asynccontextmanager
    async def temp_access(
        self, intent_id: str, principal_id: str, permission: Permission | str = "write", reason: str | None = None
    ) -> AsyncIterator[ACLEntry]:
        """Grant access for the ``async with`` block, revoked on the way out."""
        entry = await self.grant_access(intent_id, principal_id, permission, reason)
        try:
            yield entry
        finally:
            with contextlib.suppress(OpenIntentError):
                await self.revoke_access(intent_id, entry.id)

    def lease(
        self, intent_id: str, scope: str, duration_seconds: int = 300, *, auto_renew: bool = True
    ) -> contextlib.AbstractAsyncContextManager[IntentLease]:
        """``async with self.lease(intent_id, scope):`` holds a lease (renewed while held) for the block."""
        return self.async_client.lease(intent_id, scope, duration_seconds, auto_renew=auto_renew)

    async def delegate(self, intent_id: str, target_agent_id: str, payload: Mapping[str, Any] | None = None) -> None:
        """Hand the intent to another agent: it is assigned with the role ``delegate``, which runs the target's
        ``@on_handoff`` handlers (``from_agent`` being this agent). ``payload`` is logged on the intent."""
        await self.async_client.log_event(
            intent_id, "delegation", {"to_agent": target_agent_id, "delegated_by": self._agent_id, **(payload or {})}
        )
        await self.async_client.assign_agent(intent_id, target_agent_id, role=DELEGATE_ROLE)

    async def escalate(self, intent_id: str, reason: str, data: Mapping[str, Any] | None = None) -> ArbitrationRequest:
        """Ask a person to decide (RFC-0004); the intent is blocked until it is settled."""
        return await self.async_client.request_arbitration(intent_id, reason=reason, context=dict(data or {}))

    # Running ----------------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Run until stopped or drained (SIGTERM drains). Blocks."""
        asyncio.run(self.arun())

    def stop(self) -> None:
        """Stop at once: the stream closes and work in hand is cancelled (its leases released). Thread-safe, and
        may come before ``run()`` has started."""
        if self._loop is None:
            self._stop_requested = True
        self._running = False
        loop, stream = self._loop, self._stream
        if stream is not None:
            stream.stop()
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._finish)

    def _finish(self) -> None:
        self._cancel_work()
        if self._done is not None:
            self._done.set()

    def request_drain(self) -> None:
        """Start draining from any thread (what SIGTERM does)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.drain()))

    async def drain(self, reason: str = "drain requested") -> None:
        """Take no new work, run the ``@on_drain`` handlers, let the work in hand finish within ``drain_timeout``
        (then cancel it, which releases its leases), and stop."""
        if self._draining:
            return
        self._draining = True
        logger.info("agent %s draining: %s", self._agent_id, reason)
        if self.config.auto_heartbeat:
            await self._beat()  # the server grants a draining agent no new lease
        for handler in self.handlers("drain"):
            await self._guarded(handler)
        for timer in list(self._timers):
            timer.cancel()
        this = asyncio.current_task()
        pending = [task for task in self._work if not task.done() and task is not this]
        if pending:
            done, still = await asyncio.wait(pending, timeout=self.config.drain_timeout)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still)
        self._running = False
        if self._stream is not None:
            self._stream.stop()
        if self._done is not None:
            self._done.set()

    # The registry (RFC-0016) ------------------------------------------------------------------------------------

    async def _register(self) -> None:
        interval = max(1, math.ceil(self.config.heartbeat_interval))
        try:
            await self.async_client.register_agent(
                self._agent_id,
                self.config.capabilities,
                capacity={"max_concurrent_tasks": self.config.max_concurrent},
                heartbeat_config={
                    "interval_seconds": interval,
                    "unhealthy_after_seconds": interval * 3,
                    "dead_after_seconds": interval * 6,
                },
                drain_timeout_seconds=max(1, math.ceil(self.config.drain_timeout)),
            )
        except OpenIntentError:
            # Registered and draining from an earlier run, say: the stream and the work go on regardless.
            logger.exception("agent %s could not register", self._agent_id)

    async def _beat(self) -> None:
        try:
            ack = await self.async_client.agent_heartbeat(
                self._agent_id,
                len(self._in_hand),
                sorted(self._in_hand),
                status="draining" if self._draining else "active",
            )
        except GoneError:
            # Declared dead (a long pause, say) or deregistered: a live agent registers again.
            if not self._draining:
                await self._register()
            return
        except OpenIntentError:
            logger.exception("agent %s: heartbeat failed", self._agent_id)
            return
        if ack.drain_requested and not self._draining:
            self._spawn(self.drain("the server asked the agent to drain"))

    async def _heartbeats(self) -> None:
        while self._running:
            await asyncio.sleep(self.config.heartbeat_interval)
            if self._running:
                await self._beat()

    def _cancel_work(self) -> None:
        for task in [*self._work, *self._timers]:
            task.cancel()

    async def arun(self) -> None:
        """The runtime, as a coroutine: read the agent's stream and dispatch its events until stopped or drained.
        With ``auto_subscribe`` off, the agent only registers and heartbeats (and drains when told to)."""
        self._loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        if self._stop_requested:  # stop() came before the loop did
            self._stop_requested = False
            return
        self._running = True
        self._draining = False
        self._slots = asyncio.Semaphore(self.config.max_concurrent)
        installed = self._install_sigterm()
        heartbeats: asyncio.Task[None] | None = None
        try:
            if self.config.auto_heartbeat:
                await self._register()
                heartbeats = asyncio.ensure_future(self._heartbeats())
            if self.config.auto_subscribe:
                self._stream = self.async_client.subscribe_agent(
                    self._agent_id,
                    last_event_id=self._last_event_id,
                    reconnect_delay=self.config.reconnect_delay,
                    max_reconnects=self.config.max_reconnects,
                )
                async for event in self._stream:
                    if not self._running:
                        break
                    await self._dispatch(event)
            elif self._running:
                await self._done.wait()
        finally:
            self._running = False
            self._stop_requested = False
            if heartbeats is not None:
                heartbeats.cancel()
            pending = [*self._work, *self._timers]
            if pending:
                self._cancel_work()
                await asyncio.wait(pending)
            if self._draining and self.config.auto_heartbeat:
                # Drained: the agent leaves the registry (the server may have done it on the last lease's release).
                with contextlib.suppress(OpenIntentError):
                    await self.async_client.deregister_agent(self._agent_id)
            if self._stream is not None:
                await self._stream.aclose()
            if installed:
                with contextlib.suppress(Exception):
                    self._loop.remove_signal_handler(signal.SIGTERM)
            if self._async_client is not None:
                await self._async_client.close()
                self._async_client = None

    def _install_sigterm(self) -> bool:
        if threading.current_thread() is not threading.main_thread() or self._loop is None:
            return False
        try:
            self._loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(self.drain("SIGTERM")))
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        return True

    async def _guarded(self, handler: Callable[..., Any], *args: Any) -> Any:
        """Run a handler whose failure must not stop the agent: it is logged."""
        try:
            return await _call(handler, *args)
        except Exception:
            logger.exception("handler %s of agent %s failed", getattr(handler, "__name__", handler), self._agent_id)
            return None

    async def _read(self, intent_id: str, *, remember: bool = True) -> Intent | None:
        try:
            intent = await self.async_client.get_intent(intent_id)
        except NotFoundError:
            return None
        known = self._states.get(intent_id)
        if remember and self.handlers("state_change") and (known is None or known[0] < intent.version):
            self._remember(intent)
        return intent

    # Dispatch ---------------------------------------------------------------------------------------------------

    async def _dispatch(self, event: SSEEvent) -> None:
        name = event.type.upper()
        data = event.data
        intent_id = event.intent_id
        if name in ("CONNECTED", "KEEPALIVE", "ERROR"):
            return
        if name == "AGENT.LIFECYCLE":
            if data.get("agent_id") == self._agent_id and data.get("new_status") == "draining":
                self._spawn(self.drain(str(data.get("reason") or "draining")))
            await self._generic(event, intent_id)
            return
        if intent_id is None:
            return
        if name == "AGENT_ASSIGNED" and data.get("agent_id") == self._agent_id and data.get("role") != COORDINATOR_ROLE:
            self._take(intent_id, event)
        elif name == "STATUS_CHANGED":
            known, version = self._states.get(intent_id), data.get("version")
            if known is not None and isinstance(version, int) and known[0] == version - 1:
                self._states[intent_id] = (version, known[1])  # a status step leaves the state as it was
            new_status = data.get("new_status")
            if new_status == IntentStatus.COMPLETED.value:
                await self._run_all("complete", intent_id)
            elif new_status == IntentStatus.ACTIVE.value and intent_id in self._waiting:
                self._take(intent_id, None)
        elif name == "INTENT_COMPLETED":
            await self._run_all("complete", intent_id)
        elif name == "STATE_CHANGED":
            await self._state_changed(intent_id, data)
        elif name == "LEASE_RELEASED":
            scope = data.get("scope")
            if scope == WORK_SCOPE and intent_id in self._waiting:
                self._take(intent_id, None)
            handlers = [h for h in self.handlers("lease_available") if getattr(h, "_openintent_scope", None) == scope]
            if handlers:
                intent = await self._read(intent_id)
                for handler in handlers if intent else []:
                    await self._guarded(handler, intent, scope)
        elif name == "ACCESS_REQUESTED":
            await self._access_requested(intent_id, data)
        elif name.startswith("TASK."):
            status = name.split(".", 1)[1].lower()
            handlers = [
                h for h in self.handlers("task") if getattr(h, "_openintent_task_status", None) in (None, status)
            ]
            if handlers:
                intent = await self._read(intent_id)
                for handler in handlers if intent else []:
                    await self._guarded(handler, intent, dict(data))
        await self._generic(event, intent_id)

    async def _generic(self, event: SSEEvent, intent_id: str | None) -> None:
        wanted = {event.type.lower(), (event.event_type or "").lower()}
        handlers = [
            h for h in self.handlers("event") if str(getattr(h, "_openintent_event_type", "")).lower() in wanted
        ]
        if not handlers:
            return
        intent = await self._read(intent_id) if intent_id else None
        for handler in handlers:
            await self._guarded(handler, intent, event)

    async def _run_all(self, kind: str, intent_id: str) -> None:
        handlers = self.handlers(kind)
        if handlers:
            intent = await self._read(intent_id)
            for handler in handlers if intent else []:
                await self._guarded(handler, intent)

    def _remember(self, intent: Intent) -> None:
        self._states[intent.id] = (intent.version, intent.state.to_dict())

    async def _state_changed(self, intent_id: str, data: Mapping[str, Any]) -> None:
        handlers = self.handlers("state_change")
        if not handlers:
            return
        # The state before and after this patch: the patch applied to the state known at the version before it.
        # The intent read now may be past this patch already (the stream runs behind the writes).
        version = data.get("version")
        known = self._states.get(intent_id)
        new_state: dict[str, Any] | None = None
        if known is not None and isinstance(version, int) and known[0] == version - 1:
            old_state = known[1]
            new_state = _applied(old_state, data.get("patches") or [])
        if new_state is None:
            intent = await self._read(intent_id)
            if intent is None:
                return
            new_state = intent.state.to_dict()
            changed = _changed_keys(data)
            old_state = {key: value for key, value in new_state.items() if key not in changed}
        if isinstance(version, int):
            self._states[intent_id] = (version, new_state)
        if data.get("actor") == self._agent_id:
            # The agent's own writes do not wake its state handlers: a handler's returned patch would wake itself.
            return
        intent = await self._read(intent_id, remember=False)
        if intent is None:
            return
        changed = _changed_keys(data)
        for handler in handlers:
            keys = getattr(handler, "_openintent_keys", None)
            if keys is not None and not changed.intersection(keys):
                continue
            result = await self._guarded(handler, intent, old_state, new_state)
            if isinstance(result, dict) and result:
                await self._write(intent_id, result)

    async def _write(self, intent_id: str, result: Mapping[str, Any]) -> None:
        try:
            await self.patch_state(intent_id, result)
        except OpenIntentError:
            logger.exception("agent %s could not write its result into %s", self._agent_id, intent_id)

    async def _access_requested(self, intent_id: str, data: Mapping[str, Any]) -> None:
        handlers = self.handlers("access_requested")
        request_id = data.get("request_id")
        if not handlers or not request_id:
            return
        intent = await self._read(intent_id)
        if intent is None:
            return
        request = AccessRequest.from_dict({**data, "id": request_id, "intent_id": intent_id})
        for handler in handlers:
            verdict = await self._guarded(handler, intent, request)
            try:
                if verdict == "approve":
                    await self.async_client.approve_access_request(
                        intent_id, str(request_id), request.requested_permission, reason="Approved by agent policy"
                    )
                    return
                if verdict == "deny":
                    await self.async_client.deny_access_request(intent_id, str(request_id), "Denied by agent policy")
                    return
            except OpenIntentError:
                logger.exception("agent %s could not decide access request %s", self._agent_id, request_id)
                return

    # Work ---------------------------------------------------------------------------------------------------------

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    def _take(self, intent_id: str, event: SSEEvent | None) -> None:
        if self._draining or not self._running or intent_id in self._in_hand:
            return
        self._in_hand.add(intent_id)
        self._spawn(self._work_on(intent_id, event))

    async def _work_on(self, intent_id: str, event: SSEEvent | None) -> None:
        assert self._slots is not None
        try:
            async with self._slots:
                if self._draining:
                    return
                await self._under_lease(intent_id, event)
        except OpenIntentError:
            logger.exception("agent %s could not work on %s", self._agent_id, intent_id)
        finally:
            self._in_hand.discard(intent_id)
        if self._waiting.get(intent_id) == "blocked" and self._running and not self._draining:
            # Its return to active may have arrived while it was in hand, and been passed over: look once more.
            with contextlib.suppress(OpenIntentError):
                intent = await self._read(intent_id)
                if intent is not None and _status(intent) == IntentStatus.ACTIVE.value:
                    self._take(intent_id, event)

    async def _under_lease(self, intent_id: str, event: SSEEvent | None) -> None:
        intent = await self._read(intent_id)
        if intent is None or _status(intent) in _FINISHED:
            self._waiting.pop(intent_id, None)
            return
        if _status(intent) == IntentStatus.BLOCKED.value:
            # Blocked by a dependency or an arbitration: its return to active arrives on the stream.
            self._waiting[intent_id] = "blocked"
            return
        try:
            lease_cm = self.async_client.lease(intent_id, WORK_SCOPE, self.config.lease_seconds, auto_renew=True)
            await lease_cm.__aenter__()
        except LeaseConflictError as exc:
            # Another copy of the agent (or one that died) holds it: try again when that lease ends.
            self._waiting[intent_id] = "leased"
            self._retry_at_expiry(intent_id, exc.existing_lease)
            return
        self._waiting.pop(intent_id, None)
        failed: BaseException | None = None
        try:
            # Read again under the lease: the version to write at, and a finish by a holder before us.
            intent = await self._read(intent_id)
            if intent is not None and _status(intent) == IntentStatus.BLOCKED.value:
                # The lease began work on a draft with an unfinished dependency, which blocked it: wait for it.
                self._waiting[intent_id] = "blocked"
            elif intent is not None and _status(intent) not in _FINISHED:
                await self._handle(intent, event)
        except BaseException as exc:
            failed = exc
            raise
        finally:
            with contextlib.suppress(OpenIntentError):
                await lease_cm.__aexit__(
                    type(failed) if failed else None, failed, failed.__traceback__ if failed else None
                )

    def _retry_at_expiry(self, intent_id: str, lease: Mapping[str, Any] | None) -> None:
        delay = float(self.config.lease_seconds)
        expires = (lease or {}).get("expires_at")
        if isinstance(expires, str):
            with contextlib.suppress(ValueError):
                when = datetime.fromisoformat(expires.replace("Z", "+00:00"))
                delay = max((when - datetime.now(timezone.utc)).total_seconds(), 0.0) + 0.5

        async def later() -> None:
            await asyncio.sleep(delay)
            if self._waiting.get(intent_id) == "leased":
                self._take(intent_id, None)

        # A timer, not work: a drain does not wait for it.
        timer = asyncio.ensure_future(later())
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def _handle(self, intent: Intent, event: SSEEvent | None) -> None:
        data = event.data if event is not None else {}
        try:
            result = await self._route(intent, data)
        except Exception as exc:
            await self._record_failure(intent, data, exc)
            return
        if result is None:
            return
        if result and self.config.auto_complete:
            intent = await self.patch_state(intent.id, result)
        if self.config.auto_complete:
            await self.complete_intent(intent.id)

    async def _route(self, intent: Intent, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """Run the handlers the assignment is for; their merged dict result, or None to leave the intent as is."""
        retries, handoffs = self.handlers("retry"), self.handlers("handoff")
        if data.get("retry") and retries:
            attempt = int(data.get("attempt_number") or 1)
            last_error = await self._last_error(intent.id, data.get("failure_id"))
            return await self._results(retries, intent, attempt, last_error)
        if data.get("role") == DELEGATE_ROLE and handoffs:
            return await self._results(handoffs, intent, str(data.get("actor") or ""))
        for guard in self.handlers("input_guardrail"):
            if await _call(guard, intent) is False:
                raise GuardrailError(f"input guardrail {guard.__name__} rejected the assignment")
        fired = await self._trigger_handlers(intent)
        return await self._results(fired or self.handlers("assignment"), intent, guard_output=True)

    async def _trigger_handlers(self, intent: Intent) -> list[Callable[..., Any]]:
        """The ``@on_trigger`` handlers for an intent a trigger created: those of its trigger's name and those of
        no name. The lineage the server recorded on the intent says which trigger; its name is read from the
        trigger (one that was deleted since matches only the handlers of no name)."""
        handlers = self.handlers("trigger")
        lineage = intent.trigger_lineage
        if not handlers or lineage is None or not lineage.trigger_id:
            return []
        name: str | None = None
        with contextlib.suppress(NotFoundError):
            name = (await self.async_client.get_trigger(lineage.trigger_id)).name
        return [h for h in handlers if getattr(h, "_openintent_trigger_name", None) in (None, name)]

    async def _results(
        self, handlers: list[Callable[..., Any]], intent: Intent, *args: Any, guard_output: bool = False
    ) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for handler in handlers:
            result = await _call(handler, intent, *args)
            if isinstance(result, dict) and result:
                if guard_output:
                    for guard in self.handlers("output_guardrail"):
                        if await _call(guard, intent, result) is False:
                            raise GuardrailError(f"output guardrail {guard.__name__} rejected the result")
                merged.update(result)
        return merged

    async def _last_error(self, intent_id: str, failure_id: Any) -> str | None:
        with contextlib.suppress(OpenIntentError):
            for failure in await self.async_client.get_failures(intent_id):
                if failure.id == failure_id:
                    return failure.error_message
        return None

    async def _record_failure(self, intent: Intent, data: Mapping[str, Any], exc: Exception) -> None:
        logger.warning("agent %s failed on %s: %r", self._agent_id, intent.id, exc)
        attempt = int(data.get("attempt_number") or 1) if data.get("retry") else None
        try:
            await self.async_client.record_failure(
                intent.id,
                attempt_number=attempt,
                error_code=type(exc).__name__,
                error_message=str(exc) or repr(exc),
                metadata={"handler_agent": self._agent_id},
            )
        except OpenIntentError:
            logger.exception("agent %s could not record its failure on %s", self._agent_id, intent.id)


# The decorator and the Worker ---------------------------------------------------------------------------------


def Agent(  # noqa: N802  (a class decorator named like the class it makes)
    agent_id: str,
    config: AgentConfig | None = None,
    capabilities: list[str] | None = None,
    memory: Any = None,
    tools: list[Any] | None = None,
    auto_heartbeat: bool = True,
    **options: Any,
) -> Callable[[type], Any]:
    """Make a plain class an agent: ``@Agent("id")`` returns a subclass of the class and of :class:`BaseAgent`,
    built with ``(base_url=None, api_key=None, config=None)``; its ``run()`` blocks. Methods of the class win over
    :class:`BaseAgent`'s of the same name. ``options`` set :class:`AgentConfig` fields (``base_url``,
    ``drain_timeout``, ...); an unknown one is a ``TypeError``."""
    base = AgentConfig(**vars(config)) if config is not None else AgentConfig()
    unknown = sorted(set(options) - set(vars(base)))
    if unknown:
        raise TypeError(f"unknown agent options: {', '.join(unknown)}")
    for name, value in options.items():
        setattr(base, name, value)
    if capabilities:
        base.capabilities = list(capabilities)
    if memory:
        base.memory = memory
    if tools:
        base.tools = list(tools)
    base.auto_heartbeat = auto_heartbeat

    def decorate(cls: type) -> Any:
        return _runtime_class(cls, BaseAgent, {"default_agent_id": agent_id, "default_config": base})

    return decorate


def _runtime_class(cls: type, runtime: type[BaseAgent], attributes: dict[str, Any]) -> Any:
    """A subclass of ``cls`` and ``runtime`` whose constructor runs the runtime's, then the class's own
    ``__init__(self)`` if it has one."""
    bases: tuple[type, ...] = (cls,) if issubclass(cls, runtime) else (cls, runtime)
    user_init = cls.__dict__.get("__init__")

    def __init__(self: BaseAgent, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        runtime.__init__(self, *args, **kwargs)
        if user_init is not None:
            user_init(self)

    namespace = {
        "__init__": __init__,
        "__doc__": cls.__doc__,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        **attributes,
    }
    return type(cls.__name__, bases, namespace)


class Worker(BaseAgent):
    """The simplest agent: one function per assigned intent. ``handler(intent)`` (sync or async) returns a dict
    written into the state, and the intent is completed; an exception records a failure (RFC-0010).

    ``Worker(agent_id, handler, base_url="http://localhost:8000", api_key="", *, config=None, last_event_id=None)``
    """

    def __init__(
        self,
        agent_id: str,
        handler: Callable[[Intent], Any],
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        config: AgentConfig | None = None,
        last_event_id: str | int | None = None,
    ) -> None:
        super().__init__(base_url, api_key, config, agent_id=agent_id, last_event_id=last_event_id)
        self.handler = handler
        self._handlers["assignment"] = [handler]

    @property
    def base_url(self) -> str:
        return self.config.base_url

    @property
    def api_key(self) -> str:
        return self.config.api_key


# Coordinators (RFC-0013) ---------------------------------------------------------------------------------------


def on_escalation(function: _F) -> _F:
    """``(self, intent, source_agent)`` (coordinators): an agent asked for a person's decision on an intent the
    coordinator coordinates (an arbitration request, or a task escalated)."""
    return _mark("escalation")(function)


def on_conflict(function: _F) -> _F:
    """``(self, intent, conflict)`` (coordinators): an agent's write to an intent the coordinator coordinates was
    refused for a stale version (another writer came between its read and its write), as that agent reported it
    (a ``state_conflict`` event, which the runtime of every agent writes). ``conflict`` is its data plus
    ``event_id``: ``agent_id``, ``keys``, ``refused`` and ``resolved``."""
    return _mark("conflict")(function)


def on_quorum(threshold: float = 0.5) -> Callable[[_F], _F]:
    """``(self, intent, votes)`` (coordinators): the votes in favor on an intent the coordinator coordinates reached
    ``threshold``: a share (0 < threshold <= 1) of the intent's voters (the agents assigned to it other than its
    coordinators, or whoever voted when none is), or a number of votes when above 1. Each agent's latest vote
    (:meth:`BaseAgent.vote`) counts; ``votes`` are the votes in favor (``agent_id``, ``in_favor`` and the rest of
    each vote's data). Fires once per intent and threshold while the coordinator runs."""
    if not (isinstance(threshold, (int, float)) and threshold > 0) or isinstance(threshold, bool):
        raise ValueError(f"a quorum threshold is a share in (0, 1] or a number of votes, not {threshold!r}")
    return _mark("quorum", threshold=float(threshold))


def on_all_complete(function: _F) -> _F:
    """``(self, portfolio)`` (coordinators): every intent of the portfolio :meth:`BaseCoordinator.execute` made
    is completed; the first truthy result is ``execute``'s result."""
    return _mark("all_complete")(function)


@dataclass
class IntentSpec:
    """An intent of a :class:`PortfolioSpec`: ``assign`` the agent that does it, ``depends_on`` titles of siblings."""

    title: str
    description: str = ""
    assign: str | None = None
    depends_on: list[str] = field(default_factory=list)
    constraints: dict[str, Any] = field(default_factory=dict)
    initial_state: dict[str, Any] = field(default_factory=dict)


@dataclass
class PortfolioSpec:
    name: str
    description: str = ""
    intents: list[IntentSpec] = field(default_factory=list)
    governance_policy: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


class PortfolioEnded(OpenIntentError):
    """:meth:`BaseCoordinator.execute` ended without every intent completed (one was abandoned)."""

    def __init__(self, message: str, portfolio: IntentPortfolio, intents: list[Intent]) -> None:
        super().__init__(message)
        self.portfolio = portfolio
        self.intents = intents


class BaseCoordinator(BaseAgent):
    """An agent that coordinates others: it holds a coordinator lease (RFC-0013) under its ``supervisor`` on each
    intent or portfolio it coordinates, heartbeats it, delegates, records its decisions on the server, and runs
    portfolios to completion. Guardrails are the server's: a refused action raises the client's error."""

    default_agents: list[str] = []
    default_supervisor: str | None = None
    default_guardrails: dict[str, Any] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agents = list(self.default_agents)
        self.supervisor = self.default_supervisor
        self._leases: dict[str, str] = {}
        self._lease_beats: dict[str, asyncio.Task[None]] = {}
        self._quorums: set[tuple[str, float]] = set()

    async def arun(self) -> None:
        try:
            await super().arun()
        finally:
            for beat in self._lease_beats.values():
                beat.cancel()
            self._lease_beats.clear()

    async def coordinate(
        self, intent_id: str | None = None, *, portfolio_id: str | None = None, heartbeat_interval: int = 30
    ) -> CoordinatorLease:
        """Take the coordinator lease of an intent (or a portfolio), heartbeat it every ``heartbeat_interval``
        seconds while the program runs, and follow the intent's events on the agent's stream."""
        if not self.supervisor:
            raise ValueError("a coordinator needs a supervisor (supervisor= in @Coordinator)")
        lease = await self.async_client.create_coordinator_lease(
            self._agent_id,
            intent_id,
            supervisor_id=self.supervisor,
            portfolio_id=portfolio_id,
            guardrails=self.default_guardrails,
            heartbeat_interval_seconds=heartbeat_interval,
        )
        key = intent_id or portfolio_id or lease.id
        self._leases[key] = lease.id
        if intent_id is not None:
            # Its events then reach the coordinator's stream; the role keeps the runtime from working on it.
            await self.async_client.assign_agent(intent_id, self._agent_id, role=COORDINATOR_ROLE)
            if self.handlers("quorum"):
                await self._count_votes(intent_id)  # votes cast before it coordinated may make a quorum already

        async def beat() -> None:
            while True:
                await asyncio.sleep(heartbeat_interval)
                try:
                    await self.async_client.coordinator_heartbeat(lease.id, active_tasks=len(self._in_hand))
                except OpenIntentError:
                    logger.exception("coordinator %s: heartbeat of lease %s failed", self._agent_id, lease.id)

        self._lease_beats[key] = asyncio.ensure_future(beat())
        return lease

    async def release(self, key: str, reason: str = "done") -> None:
        """End the coordinator lease taken on an intent or portfolio id."""
        beat = self._lease_beats.pop(key, None)
        if beat is not None:
            beat.cancel()
        lease_id = self._leases.pop(key, None)
        if lease_id is not None:
            await self.async_client.release_coordinator_lease(lease_id, reason)

    async def record_decision(
        self,
        decision_type: str,
        summary: str,
        rationale: str = "",
        *,
        intent_id: str | None = None,
        **data: Any,
    ) -> DecisionRecord:
        """Write a decision record on the server (immutable), on ``intent_id`` or the intent being handled."""
        target = intent_id or _HANDLING.get()
        if target is None:
            raise ValueError("record_decision needs an intent_id outside a handler")
        return await self.async_client.create_decision_record(
            self._agent_id, target, decision_type, summary, rationale, **data
        )

    async def delegate(
        self,
        intent: Intent | str,
        agent_id: str | None = None,
        payload: Mapping[str, Any] | None = None,
        *,
        agents: list[str] | None = None,
    ) -> None:
        """Delegate an intent (an ``Intent``, its id, or its exact title) to ``agent_id`` (or the first of
        ``agents``): assigned with the role ``delegate``, it runs the target's ``@on_handoff``."""
        target = agent_id or next(iter(agents or []), None)
        if target is None:
            raise ValueError("delegate needs an agent_id")
        intent_id = await self._intent_id(intent)
        await BaseAgent.delegate(self, intent_id, target, payload)

    async def _intent_id(self, intent: Intent | str) -> str:
        if isinstance(intent, Intent):
            return intent.id
        with contextlib.suppress(NotFoundError, OpenIntentError):
            return (await self.async_client.get_intent(intent)).id
        matches = [found for found in await self.async_client.list_intents(q=intent) if found.title == intent]
        if len(matches) != 1:
            raise NotFoundError(f"{len(matches)} intents are titled {intent!r}", 404)
        return matches[0].id

    async def execute(self, spec: PortfolioSpec, *, poll_seconds: float = 0.5) -> Any:
        """Make the portfolio (its intents in dependency order, each assigned to its agent), coordinate it, and
        wait until every intent is completed: then the ``@on_all_complete`` handlers run and the first truthy
        result is returned (else a merge of the intents' states). An abandoned intent ends the wait with
        :class:`PortfolioEnded`."""
        client = self.async_client
        portfolio = await client.create_portfolio(spec.name, spec.description, spec.governance_policy, spec.metadata)
        made: dict[str, str] = {}
        by_title = {item.title: item for item in spec.intents}
        for title in _topological([item.title for item in spec.intents], {t: by_title[t].depends_on for t in by_title}):
            item = by_title[title]
            intent = await client.create_intent(
                item.title,
                item.description,
                item.constraints,
                item.initial_state,
                depends_on=[made[dependency] for dependency in item.depends_on] or None,
            )
            made[title] = intent.id
            await client.add_intent_to_portfolio(portfolio.id, intent.id)
        if self.supervisor:
            await self.coordinate(portfolio_id=portfolio.id)
        for title, intent_id in made.items():
            if by_title[title].assign:
                await client.assign_agent(intent_id, by_title[title].assign)
                with contextlib.suppress(OpenIntentError):
                    await client.create_decision_record(
                        self._agent_id,
                        intent_id,
                        "task_assigned",
                        f"{title} to {by_title[title].assign}",
                        "declared in the portfolio spec",
                    )
        try:
            while True:
                intents, _ = await client.get_portfolio_intents(portfolio.id)
                statuses = {_status(intent) for intent in intents}
                if statuses == {IntentStatus.COMPLETED.value}:
                    break
                if IntentStatus.ABANDONED.value in statuses:
                    raise PortfolioEnded(f"portfolio {spec.name} has an abandoned intent", portfolio, intents)
                await asyncio.sleep(poll_seconds)
        finally:
            if portfolio.id in self._leases:
                with contextlib.suppress(OpenIntentError):
                    await self.release(portfolio.id)
        portfolio = await client.get_portfolio(portfolio.id)
        for handler in self.handlers("all_complete"):
            result = await _call(handler, portfolio)
            if result:
                return result
        return self._merge_results(portfolio, intents)

    def _merge_results(self, portfolio: IntentPortfolio, intents: list[Intent] | None = None) -> dict[str, Any]:
        members = intents if intents is not None else list(getattr(portfolio, "intents", []) or [])
        return {
            "portfolio_id": portfolio.id,
            "name": portfolio.name,
            "intents": {intent.title: intent.state.to_dict() for intent in members},
        }

    async def _dispatch(self, event: SSEEvent) -> None:
        name = event.type.upper()
        intent_id = event.intent_id
        if intent_id and name in ("ARBITRATION_REQUESTED", "TASK.ESCALATED") and self.handlers("escalation"):
            intent = await self._read(intent_id)
            source = str(event.data.get("actor") or "")
            for handler in self.handlers("escalation") if intent else []:
                await self._guarded(handler, intent, source)
        logged = (event.event_type or event.type).lower()
        if intent_id and logged == CONFLICT_EVENT and self.handlers("conflict"):
            intent = await self._read(intent_id)
            conflict = {**event.data, "event_id": event.id}
            for handler in self.handlers("conflict") if intent else []:
                await self._guarded(handler, intent, conflict)
        elif intent_id and logged == VOTE_EVENT and self.handlers("quorum"):
            await self._count_votes(intent_id)
        await super()._dispatch(event)

    async def _count_votes(self, intent_id: str) -> None:
        """Count the intent's votes from its log (so votes cast while the coordinator was away count too)."""
        client = self.async_client
        latest: dict[str, dict[str, Any]] = {}
        for logged in await client.get_events(intent_id, VOTE_EVENT, limit=1000):  # newest first
            if logged.actor and logged.actor not in latest:
                latest[logged.actor] = {**logged.payload, "agent_id": logged.actor}
        voters = {a.agent_id for a in await client.get_agents(intent_id) if a.role != COORDINATOR_ROLE}
        voters.discard(self._agent_id)
        votes = [vote for agent, vote in latest.items() if vote.get("in_favor") and (not voters or agent in voters)]
        electorate = len(voters) or len(latest)
        for handler in self.handlers("quorum"):
            threshold = float(getattr(handler, "_openintent_threshold", 0.5))
            needed = threshold * electorate if threshold <= 1 else threshold
            if not votes or len(votes) < needed or (intent_id, threshold) in self._quorums:
                continue
            self._quorums.add((intent_id, threshold))
            intent = await self._read(intent_id)
            if intent is not None:
                await self._guarded(handler, intent, votes)


GUARDRAILS = frozenset(
    {
        "max_budget_usd",
        "warn_at_percentage",
        "on_exceed",
        "max_tasks_per_plan",
        "max_delegation_depth",
        "max_concurrent_tasks",
        "allowed_capabilities",
        "requires_plan_review",
        "require_human_for_capabilities",
        "require_progress_every_minutes",
        "auto_escalate_after_failures",
        "max_plan_duration_hours",
        "max_plan_versions",
        "max_task_wait_hours",
        "checkpoint_timeout_hours",
        "requires_replan_review",
    }
)
"""The guardrails of RFC-0013 §5 the server enforces on a coordinator lease."""

_GUARDRAIL_ALIASES = {
    "budget": "max_budget_usd",
    "max_budget": "max_budget_usd",
    # The server's nearest rule to a retry limit: after that many task failures the coordinator escalates.
    "max_retries": "auto_escalate_after_failures",
}
_GUARDRAIL_RULE = re.compile(r"^\s*([A-Za-z_]+)\s*(<=|<|:|=)\s*(.+?)\s*$")


def _guardrail_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(text)
    return [part.strip() for part in text.split(",")] if "," in text else text


def _guardrails(guardrails: Mapping[str, Any] | Iterable[str] | None) -> dict[str, Any] | None:
    """The server's guardrails from a mapping of them, or from rules written as strings, as the product README
    does: ``"budget < 1000"`` (``max_budget_usd``), ``"max_retries: 3"`` (``auto_escalate_after_failures``), or
    any guardrail of RFC-0013 as ``"name: value"``."""
    if guardrails is None:
        return None
    if isinstance(guardrails, Mapping):
        return dict(guardrails)
    if isinstance(guardrails, str):
        guardrails = [guardrails]
    result: dict[str, Any] = {}
    for rule in guardrails:
        match = _GUARDRAIL_RULE.match(rule) if isinstance(rule, str) else None
        if match is None:
            raise ValueError(f"a guardrail rule reads 'name: value' or 'budget < amount', not {rule!r}")
        name, operator, text = match.groups()
        name = _GUARDRAIL_ALIASES.get(name.lower(), name.lower())
        if name not in GUARDRAILS:
            raise ValueError(
                f"unknown guardrail {match.group(1)!r} in {rule!r}: one of budget, max_retries, "
                f"{', '.join(sorted(GUARDRAILS))}"
            )
        if operator in ("<", "<=") and not name.startswith("max_"):
            raise ValueError(f"guardrail {rule!r}: only limits (budget, max_...) take '<'")
        result[name] = _guardrail_value(text)
    return result


def Coordinator(  # noqa: N802  (a class decorator named like the class it makes)
    coordinator_id: str,
    agents: list[str] | None = None,
    strategy: str = "sequential",
    guardrails: Mapping[str, Any] | Iterable[str] | None = None,
    supervisor: str | None = None,
    **options: Any,
) -> Callable[[type], Any]:
    """``@Agent`` for coordinators: the class also becomes a :class:`BaseCoordinator`. ``guardrails`` are the
    server's (RFC-0013: ``max_budget_usd``, ``max_tasks_per_plan``, ``allowed_capabilities``...), as a mapping or
    as rules (``["budget < 1000", "max_retries: 3"]``, see :func:`_guardrails`), set on every coordinator lease it
    takes under ``supervisor``; a rule the server has no guardrail for is refused here."""
    server_guardrails = _guardrails(guardrails)
    as_agent = Agent(coordinator_id, **options)
    config = as_agent(type("Config", (), {})).default_config

    def decorate(cls: type) -> Any:
        attributes = {
            "default_agent_id": coordinator_id,
            "default_config": config,
            "default_agents": list(agents or []),
            "default_supervisor": supervisor,
            "default_guardrails": server_guardrails,
            "strategy": strategy,
        }
        return _runtime_class(cls, BaseCoordinator, attributes)

    return decorate
