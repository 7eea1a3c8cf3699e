"""The README's namespaces: ``client.tasks``, ``client.coordinator``, ``client.tools``, ``client.memory``,
``client.agents`` and ``client.triggers``.

Each namespace method is another name for a flat client method (``client.tasks.create`` is
``client.create_task``), so it has the same signature, the same documentation and the same sync or async
behaviour as the client it is read from."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Generic, ParamSpec, TypeVar, overload

from ._core import AsyncTransport, SyncTransport, endpoint
from ._infrastructure import InfrastructureAPI
from ._orchestration import OrchestrationAPI

P = ParamSpec("P")
C_co = TypeVar("C_co", covariant=True)
C = TypeVar("C")
T = TypeVar("T")

__all__ = ["Namespace", "Tasks", "Coordinator", "Tools", "Memory", "Agents", "Triggers", "Namespaces"]


class Namespace(Generic[C_co]):
    """A group of a client's methods under one name."""

    def __init__(self, client: C_co) -> None:
        self._client = client

    @property
    def client(self) -> C_co:
        return self._client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

    def __dir__(self) -> list[str]:
        names = [name for name in dir(type(self)) if isinstance(getattr(type(self), name, None), via)]
        return sorted(set(names) | set(super().__dir__()))


class via(Generic[P, T]):  # noqa: N801  (used like property)
    """A namespace method: the client's ``target`` method."""

    def __init__(self, target: endpoint[P, T]) -> None:
        self.target = target
        self.__doc__ = target.__doc__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> via[P, T]: ...

    @overload
    def __get__(self, instance: Namespace[SyncTransport], owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(self, instance: Namespace[AsyncTransport], owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, instance: Namespace[Any] | None, owner: type[Any]) -> Any:
        if instance is None:
            return self
        client = instance.client
        return self.target.__get__(client, type(client))


class Tasks(Namespace[C_co]):
    """``client.tasks``: tasks and plans (RFC-0012)."""

    create = via(OrchestrationAPI.create_task)
    get = via(OrchestrationAPI.get_task)
    list = via(OrchestrationAPI.list_tasks)
    update = via(OrchestrationAPI.update_task)
    claim = via(OrchestrationAPI.claim_task)
    start = via(OrchestrationAPI.start_task)
    progress = via(OrchestrationAPI.report_task_progress)
    complete = via(OrchestrationAPI.complete_task)
    fail = via(OrchestrationAPI.fail_task)
    delegate = via(OrchestrationAPI.delegate_task)
    escalate = via(OrchestrationAPI.escalate_task)
    resolve = via(OrchestrationAPI.resolve_task_escalation)
    cancel = via(OrchestrationAPI.cancel_task)
    create_plan = via(OrchestrationAPI.create_plan)
    get_plan = via(OrchestrationAPI.get_plan)
    list_plans = via(OrchestrationAPI.list_plans)
    update_plan = via(OrchestrationAPI.update_plan)
    activate_plan = via(OrchestrationAPI.activate_plan)
    pause_plan = via(OrchestrationAPI.pause_plan)
    resume_plan = via(OrchestrationAPI.resume_plan)
    cancel_plan = via(OrchestrationAPI.cancel_plan)
    checkpoints = via(OrchestrationAPI.get_plan_checkpoints)
    approve_checkpoint = via(OrchestrationAPI.approve_checkpoint)
    reject_checkpoint = via(OrchestrationAPI.reject_checkpoint)


class Coordinator(Namespace[C_co]):
    """``client.coordinator``: coordinator leases, guardrails, plan reviews and decision records (RFC-0013)."""

    create_lease = via(OrchestrationAPI.create_coordinator_lease)
    get_lease = via(OrchestrationAPI.get_coordinator_lease)
    list_leases = via(OrchestrationAPI.list_coordinator_leases)
    heartbeat = via(OrchestrationAPI.coordinator_heartbeat)
    handoff = via(OrchestrationAPI.handoff_coordinator)
    release = via(OrchestrationAPI.release_coordinator_lease)
    pause = via(OrchestrationAPI.pause_coordinator)
    resume = via(OrchestrationAPI.resume_coordinator)
    replace = via(OrchestrationAPI.replace_coordinator)
    guardrails = via(OrchestrationAPI.get_guardrails)
    update_guardrails = via(OrchestrationAPI.update_guardrails)
    guardrail_status = via(OrchestrationAPI.get_guardrail_status)
    approve_plan = via(OrchestrationAPI.approve_plan)
    reject_plan = via(OrchestrationAPI.reject_plan)
    record_decision = via(OrchestrationAPI.create_decision_record)
    get_decision = via(OrchestrationAPI.get_decision_record)
    decisions = via(OrchestrationAPI.list_decision_records)


class Tools(Namespace[C_co]):
    """``client.tools``: credential vaults, grants, tools and invocations (RFC-0014)."""

    create_vault = via(InfrastructureAPI.create_vault)
    get_vault = via(InfrastructureAPI.get_vault)
    list_vaults = via(InfrastructureAPI.list_vaults)
    delete_vault = via(InfrastructureAPI.delete_vault)
    add_credential = via(InfrastructureAPI.create_credential)
    get_credential = via(InfrastructureAPI.get_credential)
    list_credentials = via(InfrastructureAPI.list_credentials)
    rotate_credential = via(InfrastructureAPI.rotate_credential)
    revoke_credential = via(InfrastructureAPI.revoke_credential)
    grant = via(InfrastructureAPI.create_tool_grant)
    get_grant = via(InfrastructureAPI.get_tool_grant)
    list_grants = via(InfrastructureAPI.list_grants)
    agent_grants = via(InfrastructureAPI.list_agent_grants)
    revoke = via(InfrastructureAPI.revoke_grant)
    suspend = via(InfrastructureAPI.suspend_grant)
    resume = via(InfrastructureAPI.resume_grant)
    delegate = via(InfrastructureAPI.delegate_grant)
    register = via(InfrastructureAPI.register_tool)
    list = via(InfrastructureAPI.list_tools)
    delete = via(InfrastructureAPI.delete_tool)
    granted = via(InfrastructureAPI.list_granted_tools)
    invoke = via(InfrastructureAPI.invoke_tool)
    record_invocation = via(InfrastructureAPI.record_invocation)
    invocations = via(InfrastructureAPI.list_invocations)
    get_invocation = via(InfrastructureAPI.get_invocation)


class Memory(Namespace[C_co]):
    """``client.memory``: agent memory (RFC-0015)."""

    store = via(InfrastructureAPI.create_memory)
    get = via(InfrastructureAPI.get_memory)
    recall = via(InfrastructureAPI.list_memory)
    query = via(InfrastructureAPI.query_memory)
    update = via(InfrastructureAPI.update_memory)
    forget = via(InfrastructureAPI.delete_memory)
    delete = via(InfrastructureAPI.delete_memory)
    batch = via(InfrastructureAPI.write_memory_batch)
    summary = via(InfrastructureAPI.get_memory_summary)
    namespaces = via(InfrastructureAPI.list_memory_namespaces)
    get_namespace = via(InfrastructureAPI.get_memory_namespace)
    set_namespace_permissions = via(InfrastructureAPI.set_memory_namespace_permissions)


class Agents(Namespace[C_co]):
    """``client.agents``: the agent registry and heartbeats (RFC-0016)."""

    register = via(InfrastructureAPI.register_agent)
    get = via(InfrastructureAPI.get_agent_record)
    list = via(InfrastructureAPI.list_agents)
    heartbeat = via(InfrastructureAPI.agent_heartbeat)
    set_status = via(InfrastructureAPI.update_agent_status)
    drain = via(InfrastructureAPI.drain_agent)
    deregister = via(InfrastructureAPI.deregister_agent)
    events = via(InfrastructureAPI.get_agent_events)
    pools = via(InfrastructureAPI.list_agent_pools)


class Triggers(Namespace[C_co]):
    """``client.triggers``: schedules, events and webhooks that create intents (RFC-0017)."""

    create = via(InfrastructureAPI.create_trigger)
    get = via(InfrastructureAPI.get_trigger)
    list = via(InfrastructureAPI.list_triggers)
    update = via(InfrastructureAPI.update_trigger)
    fire = via(InfrastructureAPI.fire_trigger)
    history = via(InfrastructureAPI.get_trigger_history)
    delete = via(InfrastructureAPI.delete_trigger)


class Namespaces:
    """The namespaces of a client, each typed by the client it is read from (so that, on the async client,
    ``await client.tasks.get(...)`` type-checks, and on the sync client ``client.tasks.get(...)`` does)."""

    @property
    def tasks(self: C) -> Tasks[C]:
        return Tasks(self)

    @property
    def tools(self: C) -> Tools[C]:
        return Tools(self)

    @property
    def memory(self: C) -> Memory[C]:
        return Memory(self)

    @property
    def agents(self: C) -> Agents[C]:
        return Agents(self)

    @property
    def coordinator(self: C) -> Coordinator[C]:
        return Coordinator(self)

    @property
    def triggers(self: C) -> Triggers[C]:
        return Triggers(self)
