"""Client methods of RFC-0014 (credential vaults, grants, tools), RFC-0015 (agent memory), RFC-0016 (the agent
registry) and RFC-0017 (triggers), written once for both clients like those of :mod:`openintent._api`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ._api import _iso, _many, _nothing, _one, _raw, _seg
from ._core import Call, Response, api, endpoint
from ._wire import items_of, to_wire, wire_value
from .models import (
    AgentRecord,
    AgentStatus,
    AuthType,
    Credential,
    CredentialVault,
    DeduplicationMode,
    HeartbeatAck,
    IntentTemplate,
    MemoryEntry,
    MemoryPage,
    MemoryType,
    NamespacePermissions,
    Tool,
    ToolGrant,
    ToolInvocation,
    Trigger,
    TriggerCondition,
    TriggerType,
)


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that are not ``None``, JSON-ready (enums by value, datetimes in ISO-8601, models as dicts)."""
    return {name: to_wire(value) for name, value in fields.items() if value is not None}


def _comma(values: list[str] | None) -> str | None:
    return ",".join(values) if values else None


def _rows(*keys: str) -> Any:
    def parse(response: Response) -> list[dict[str, Any]]:
        return items_of(response.json(), *keys)

    return parse


class InfrastructureAPI:
    """Vaults and tools (RFC-0014), memory (RFC-0015), the agent registry (RFC-0016) and triggers (RFC-0017)."""

    agent_id: str

    # Vaults and credentials (RFC-0014) ------------------------------------------------------------------------

    @endpoint
    def create_vault(self, owner_id: str | None, name: str) -> Call[CredentialVault]:
        """Create a vault. The server makes the caller its owner, whatever ``owner_id`` says."""
        body = _given(owner_id=owner_id, name=name)
        return Call("POST", api("/vaults"), _one(CredentialVault.from_dict), json=body)

    @endpoint
    def get_vault(self, vault_id: str) -> Call[CredentialVault]:
        return Call("GET", api(f"/vaults/{_seg(vault_id)}"), _one(CredentialVault.from_dict))

    @endpoint
    def list_vaults(self) -> Call[list[CredentialVault]]:
        """The caller's vaults."""
        return Call("GET", api("/vaults"), _many(CredentialVault.from_dict, "vaults"))

    @endpoint
    def delete_vault(self, vault_id: str) -> Call[None]:
        """Delete a vault: its credentials and their grants are revoked."""
        return Call("DELETE", api(f"/vaults/{_seg(vault_id)}"), _nothing)

    @endpoint
    def create_credential(
        self,
        /,
        vault_id: str,
        service: str,
        label: str,
        auth_type: AuthType | str = AuthType.API_KEY,
        *,
        material: Any = None,
        scopes_available: list[str] | None = None,
        auth_config: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        expires_at: datetime | str | None = None,
        **extra: Any,
    ) -> Call[Credential]:
        """Store a credential for ``service``. ``material`` (the secret: a string or an object) is encrypted by
        the server and never answered back."""
        body = {"vault_id": vault_id, "service": service, "label": label, "auth_type": wire_value(auth_type)}
        body.update(
            _given(
                material=material,
                scopes_available=scopes_available,
                auth_config=auth_config,
                metadata=metadata,
                expires_at=_iso(expires_at) if not isinstance(expires_at, str) else expires_at,
                **extra,
            )
        )
        return Call("POST", api("/credentials"), _one(Credential.from_dict), json=body)

    @endpoint
    def get_credential(self, credential_id: str) -> Call[Credential]:
        return Call("GET", api(f"/credentials/{_seg(credential_id)}"), _one(Credential.from_dict))

    @endpoint
    def list_credentials(self, vault_id: str) -> Call[list[Credential]]:
        path = api(f"/vaults/{_seg(vault_id)}/credentials")
        return Call("GET", path, _many(Credential.from_dict, "credentials"))

    @endpoint
    def rotate_credential(
        self, credential_id: str, material: Any, expires_at: datetime | str | None = None
    ) -> Call[Credential]:
        """Replace the secret material; every grant on the credential is kept."""
        body = _given(material=material, expires_at=_iso(expires_at) if not isinstance(expires_at, str) else expires_at)
        return Call("PATCH", api(f"/credentials/{_seg(credential_id)}/rotate"), _one(Credential.from_dict), json=body)

    @endpoint
    def revoke_credential(self, credential_id: str, reason: str = "") -> Call[dict[str, Any]]:
        """Revoke a credential and every grant on it: ``{"status", "credential_id", "affected_grants_count"}``."""
        return Call("DELETE", api(f"/credentials/{_seg(credential_id)}"), _raw, json={"reason": reason})

    # Grants ---------------------------------------------------------------------------------------------------

    @endpoint
    def create_tool_grant(
        self,
        /,
        credential_id: str,
        agent_id: str,
        granted_by: str | None = None,
        scopes: list[str] | None = None,
        *,
        constraints: Mapping[str, Any] | None = None,
        delegatable: bool | None = None,
        delegation_depth: int | None = None,
        context: Mapping[str, Any] | None = None,
        expires_at: datetime | str | None = None,
        **extra: Any,
    ) -> Call[ToolGrant]:
        """Let ``agent_id`` use ``scopes`` of the credential (the server records the caller as ``granted_by``)."""
        body: dict[str, Any] = {
            "credential_id": credential_id,
            "agent_id": agent_id,
            "granted_by": granted_by or self.agent_id,
            "scopes": list(scopes or []),
        }
        body.update(
            _given(
                constraints=constraints,
                delegatable=delegatable,
                delegation_depth=delegation_depth,
                context=context,
                expires_at=_iso(expires_at) if not isinstance(expires_at, str) else expires_at,
                **extra,
            )
        )
        return Call("POST", api("/grants"), _one(ToolGrant.from_dict), json=body)

    @endpoint
    def get_tool_grant(self, grant_id: str) -> Call[ToolGrant]:
        return Call("GET", api(f"/grants/{_seg(grant_id)}"), _one(ToolGrant.from_dict))

    @endpoint
    def list_agent_grants(self, agent_id: str) -> Call[list[ToolGrant]]:
        """An agent's grants, in every status."""
        return Call("GET", api(f"/agents/{_seg(agent_id)}/grants"), _many(ToolGrant.from_dict, "grants"))

    @endpoint
    def list_grants(
        self,
        agent_id: str | None = None,
        service: str | None = None,
        credential_id: str | None = None,
        status: str | None = None,
    ) -> Call[list[ToolGrant]]:
        """Grants the caller holds, gave, or that use its credentials."""
        params = {"agent_id": agent_id, "service": service, "credential_id": credential_id, "status": status}
        return Call("GET", api("/grants"), _many(ToolGrant.from_dict, "grants"), params=params)

    @endpoint
    def revoke_grant(self, grant_id: str) -> Call[dict[str, Any]]:
        """Revoke a grant and every grant delegated from it: ``{"status", "grant_id", "revoked_count"}``."""
        return Call("DELETE", api(f"/grants/{_seg(grant_id)}"), _raw)

    @endpoint
    def suspend_grant(self, grant_id: str, reason: str = "") -> Call[ToolGrant]:
        path = api(f"/grants/{_seg(grant_id)}/suspend")
        return Call("PATCH", path, _one(ToolGrant.from_dict), json={"reason": reason})

    @endpoint
    def resume_grant(self, grant_id: str) -> Call[ToolGrant]:
        return Call("PATCH", api(f"/grants/{_seg(grant_id)}/resume"), _one(ToolGrant.from_dict), json={})

    @endpoint
    def delegate_grant(
        self,
        grant_id: str,
        agent_id: str,
        scopes: list[str] | None = None,
        *,
        constraints: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        expires_at: datetime | str | None = None,
        delegatable: bool = False,
    ) -> Call[ToolGrant]:
        """Pass a subset of a delegatable grant on to ``agent_id``."""
        body: dict[str, Any] = {"target_agent_id": agent_id, "delegatable": delegatable}
        body.update(
            _given(
                scopes=scopes,
                constraints=constraints,
                context=context,
                expires_at=_iso(expires_at) if not isinstance(expires_at, str) else expires_at,
            )
        )
        return Call("POST", api(f"/grants/{_seg(grant_id)}/delegate"), _one(ToolGrant.from_dict), json=body)

    # Tools and invocations ------------------------------------------------------------------------------------

    @endpoint
    def register_tool(
        self,
        service: str,
        name: str,
        url_template: str,
        *,
        scope: str | None = None,
        method: str = "GET",
        description: str = "",
        parameters: Mapping[str, Any] | None = None,
        estimated_cost_usd: float | None = None,
        timeout_seconds: float | None = None,
        idempotent: bool = False,
    ) -> Call[Tool]:
        """Register (or update) a tool of the caller's: the HTTP endpoint the server's proxy calls."""
        body: dict[str, Any] = {
            "service": service,
            "name": name,
            "url_template": url_template,
            "method": method,
            "description": description,
            "idempotent": idempotent,
        }
        body.update(
            _given(
                scope=scope,
                parameters=parameters,
                estimated_cost_usd=estimated_cost_usd,
                timeout_seconds=timeout_seconds,
            )
        )
        return Call("POST", api("/tools"), _one(Tool.from_dict), json=body)

    @endpoint
    def list_tools(self, service: str | None = None) -> Call[list[Tool]]:
        return Call("GET", api("/tools"), _many(Tool.from_dict, "tools"), params={"service": service})

    @endpoint
    def delete_tool(self, service: str, name: str) -> Call[None]:
        """Remove the caller's registration of the tool."""
        return Call("DELETE", api(f"/tools/{_seg(service)}/{_seg(name)}"), _nothing)

    @endpoint
    def list_granted_tools(self, agent_id: str | None = None, service: str | None = None) -> Call[list[dict[str, Any]]]:
        """What an agent (this client's by default) may invoke: one entry per usable scope of its grants."""
        params = {"agent_id": agent_id or self.agent_id, "service": service}
        return Call("GET", api("/tools/granted"), _rows("tools"), params=params)

    @endpoint
    def invoke_tool(
        self,
        /,
        tool_name: str,
        agent_id: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        grant_id: str | None = None,
        idempotency_key: str | None = None,
        context: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Call[dict[str, Any]]:
        """Invoke a tool through the server's proxy, which finds the grant, injects the credential, calls the
        service and records the invocation: ``{"invocation_id", "tool_name", "status", "result", "error",
        "duration_ms"}``. A refusal by the grants is :class:`PermissionDeniedError` (``response["error"]["code"]``
        says why); a used-up rate limit :class:`RateLimitError`."""
        body: dict[str, Any] = {
            "tool_name": tool_name,
            "agent_id": agent_id or self.agent_id,
            "parameters": dict(parameters or {}),
        }
        body.update(_given(grant_id=grant_id, idempotency_key=idempotency_key, context=context, **extra))
        # Idempotent only with a key: the server then answers a repeat with the first call's outcome.
        return Call("POST", api("/tools/invoke"), _raw, json=body, idempotent=idempotency_key is not None)

    @endpoint
    def record_invocation(
        self, /, grant_id: str, service: str, tool: str, agent_id: str | None = None, **fields: Any
    ) -> Call[ToolInvocation]:
        """Record a call the agent made itself (``parameters``, ``status``, ``result``, ``error``, ``cost``,
        ``duration_ms``, ``idempotency_key``, ``context``)."""
        body = {"grant_id": grant_id, "service": service, "tool": tool, "agent_id": agent_id or self.agent_id}
        body.update(_given(**fields))
        return Call("POST", api("/invocations"), _one(ToolInvocation.from_dict), json=body)

    @endpoint
    def list_invocations(self, grant_id: str, limit: int = 50) -> Call[list[ToolInvocation]]:
        """A grant's invocations, newest first."""
        path = api(f"/grants/{_seg(grant_id)}/invocations")
        return Call("GET", path, _many(ToolInvocation.from_dict, "invocations"), params={"limit": limit})

    @endpoint
    def get_invocation(self, invocation_id: str) -> Call[ToolInvocation]:
        return Call("GET", api(f"/invocations/{_seg(invocation_id)}"), _one(ToolInvocation.from_dict))

    # Memory (RFC-0015) ----------------------------------------------------------------------------------------

    @endpoint
    def create_memory(
        self,
        /,
        agent_id: str | None,
        namespace: str,
        key: str,
        value: Mapping[str, Any],
        memory_type: MemoryType | str = MemoryType.WORKING,
        *,
        tags: list[str] | None = None,
        scope: Mapping[str, Any] | None = None,
        ttl: str | None = None,
        expires_at: datetime | str | None = None,
        pinned: bool | None = None,
        priority: str | None = None,
        sensitivity: str | None = None,
        **extra: Any,
    ) -> Call[MemoryEntry]:
        """Store an entry under ``namespace``/``key`` for ``agent_id`` (the acting agent when ``None``).
        ``ttl`` is an ISO-8601 duration (``"PT1H"``); a taken key is :class:`ConflictError`, a full tier
        :class:`RateLimitError`."""
        body: dict[str, Any] = {"namespace": namespace, "key": key, "value": dict(value)}
        body["memory_type"] = wire_value(memory_type)
        body.update(
            _given(
                agent_id=agent_id,
                tags=tags,
                scope=scope,
                ttl=ttl,
                expires_at=_iso(expires_at) if not isinstance(expires_at, str) else expires_at,
                pinned=pinned,
                priority=priority,
                sensitivity=sensitivity,
                **extra,
            )
        )
        return Call("POST", api("/memory"), _one(MemoryEntry.from_dict), json=body)

    @endpoint
    def get_memory(self, entry_id: str) -> Call[MemoryEntry]:
        return Call("GET", api(f"/memory/{_seg(entry_id)}"), _one(MemoryEntry.from_dict))

    @endpoint
    def list_memory(
        self,
        agent_id: str,
        namespace: str | None = None,
        memory_type: MemoryType | str | None = None,
        tags: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        key: str | None = None,
        key_prefix: str | None = None,
    ) -> Call[list[MemoryEntry]]:
        """An agent's entries the caller may read, oldest first; ``tags`` keeps those holding all of them,
        ``namespace`` may end in ``*`` to match a prefix."""
        params = {
            "namespace": namespace,
            "memory_type": None if memory_type is None else wire_value(memory_type),
            "tags": _comma(tags),
            "key": key,
            "key_prefix": key_prefix,
            "limit": limit,
            "offset": offset,
        }
        path = api(f"/agents/{_seg(agent_id)}/memory")
        return Call("GET", path, _many(MemoryEntry.from_dict, "entries"), params=params)

    @endpoint
    def query_memory(
        self,
        agent_id: str | None = None,
        namespace: str | None = None,
        memory_type: MemoryType | str | None = None,
        tags: list[str] | None = None,
        *,
        tags_any: list[str] | None = None,
        key: str | None = None,
        key_prefix: str | None = None,
        task_id: str | None = None,
        intent_id: str | None = None,
        pinned: bool | None = None,
        updated_after: datetime | str | None = None,
        updated_before: datetime | str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Call[MemoryPage]:
        """Every entry the caller may read that matches the filters, with the total count."""
        params = {
            "agent_id": agent_id,
            "namespace": namespace,
            "memory_type": None if memory_type is None else wire_value(memory_type),
            "tags": _comma(tags),
            "tags_any": _comma(tags_any),
            "key": key,
            "key_prefix": key_prefix,
            "scope.task_id": task_id,
            "scope.intent_id": intent_id,
            "pinned": None if pinned is None else str(pinned).lower(),
            "updated_after": _iso(updated_after) if not isinstance(updated_after, str) else updated_after,
            "updated_before": _iso(updated_before) if not isinstance(updated_before, str) else updated_before,
            "limit": limit,
            "offset": offset,
        }
        return Call("GET", api("/memory"), lambda response: MemoryPage.from_dict(response.json()), params=params)

    @endpoint
    def update_memory(self, /, entry_id: str, version: int, **changes: Any) -> Call[MemoryEntry]:
        """Change an entry at ``version``: ``value``, ``tags``, ``pinned``, ``priority``, ``ttl``,
        ``sensitivity`` or ``expires_at``."""
        return Call(
            "PATCH",
            api(f"/memory/{_seg(entry_id)}"),
            _one(MemoryEntry.from_dict),
            json=_given(**changes),
            if_match=version,
        )

    @endpoint
    def delete_memory(self, entry_id: str, version: int | None = None) -> Call[None]:
        """Delete an entry for good; with ``version``, only if it is still at that version."""
        return Call("DELETE", api(f"/memory/{_seg(entry_id)}"), _nothing, if_match=version)

    @endpoint
    def write_memory_batch(self, entries: list[Mapping[str, Any]]) -> Call[list[MemoryEntry]]:
        """Create or update several entries, all or none: an item with ``version`` updates the entry it names
        (by ``id``, or by ``namespace`` and ``key``), one without creates."""
        body = {"entries": [{str(k): to_wire(v) for k, v in entry.items()} for entry in entries]}
        return Call("POST", api("/memory/batch"), _many(MemoryEntry.from_dict, "entries"), json=body)

    @endpoint
    def get_memory_summary(self, agent_id: str) -> Call[dict[str, Any]]:
        """An agent's memory use per tier: counts, sizes and capacities."""
        return Call("GET", api(f"/agents/{_seg(agent_id)}/memory/summary"), _raw)

    @endpoint
    def list_memory_namespaces(self) -> Call[list[NamespacePermissions]]:
        """The semantic namespaces the caller may read."""
        return Call("GET", api("/memory/namespaces"), _many(NamespacePermissions.from_dict, "namespaces"))

    @endpoint
    def get_memory_namespace(self, namespace: str) -> Call[NamespacePermissions]:
        path = api(f"/memory/namespaces/{_seg(namespace)}")
        return Call("GET", path, _one(NamespacePermissions.from_dict, "namespace"))

    @endpoint
    def set_memory_namespace_permissions(
        self,
        namespace: str,
        default: str = "read",
        allow: list[Mapping[str, str]] | None = None,
        version: int | None = None,
    ) -> Call[NamespacePermissions]:
        """Set who may do what in a semantic namespace: ``default`` access and ``allow`` rules
        ``{"agent", "access"}``; with ``version``, only if the permissions are still at it."""
        body = {"permissions": {"default": default, "allow": [dict(rule) for rule in allow or []]}}
        path = api(f"/memory/namespaces/{_seg(namespace)}")
        return Call("PATCH", path, _one(NamespacePermissions.from_dict, "namespace"), json=body, if_match=version)

    # Agent registry (RFC-0016) --------------------------------------------------------------------------------

    @endpoint
    def register_agent(
        self,
        /,
        agent_id: str,
        capabilities: list[str] | None = None,
        *,
        name: str | None = None,
        role_id: str | None = None,
        capacity: Mapping[str, Any] | None = None,
        endpoint: str | None = None,
        heartbeat_config: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        drain_timeout_seconds: int | None = None,
        **extra: Any,
    ) -> Call[AgentRecord]:
        """Register an agent, or register it again after a restart (a live one is refreshed in place)."""
        body: dict[str, Any] = {"agent_id": agent_id, "capabilities": list(capabilities or [])}
        body.update(
            _given(
                name=name,
                role_id=role_id,
                capacity=capacity,
                endpoint=endpoint,
                heartbeat_config=heartbeat_config,
                metadata=metadata,
                drain_timeout_seconds=drain_timeout_seconds,
                **extra,
            )
        )
        return Call("POST", api("/agents/register"), _one(AgentRecord.from_dict, "agent_id"), json=body)

    @endpoint
    def get_agent_record(self, agent_id: str) -> Call[AgentRecord]:
        return Call("GET", api(f"/agents/{_seg(agent_id)}/record"), _one(AgentRecord.from_dict, "agent_id"))

    @endpoint
    def list_agents(
        self,
        status: AgentStatus | str | list[AgentStatus | str] | None = None,
        role_id: str | None = None,
        *,
        capabilities: list[str] | None = None,
        min_available_capacity: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Call[list[AgentRecord]]:
        """The registry, in registration order: every agent, or those of a status (or several), a pool
        (``role_id``), holding every capability, or with room for more work."""
        statuses = status if isinstance(status, list) else ([status] if status is not None else [])
        params = {
            "status": _comma([wire_value(item) for item in statuses]),
            "role_id": role_id,
            "capabilities": _comma(capabilities),
            "min_available_capacity": min_available_capacity,
            "limit": limit,
            "offset": offset or None,
        }
        return Call("GET", api("/agents"), _many(AgentRecord.from_dict, "agents"), params=params)

    @endpoint
    def agent_heartbeat(
        self,
        agent_id: str,
        current_load: int = 0,
        tasks_in_progress: list[str] | None = None,
        *,
        status: str = "active",
        client_timestamp: datetime | None = None,
    ) -> Call[HeartbeatAck]:
        """Tell the server the agent is alive, as the agent (``X-Agent-ID`` is ``agent_id``, so the key must be
        the agent's, or one that may act for it). The answer carries the commands waiting for it (a ``drain``:
        :attr:`HeartbeatAck.drain_requested`); a dead or deregistered agent gets :class:`GoneError` and must
        register again."""
        body: dict[str, Any] = {
            "status": status,
            "current_load": current_load,
            "tasks_in_progress": list(tasks_in_progress or []),
        }
        if client_timestamp is not None:
            body["client_timestamp"] = _iso(client_timestamp)
        path = api(f"/agents/{_seg(agent_id)}/heartbeat")
        # A heartbeat speaks for the agent itself: a key that may act for it sends it under its id.
        headers = {"X-Agent-ID": agent_id}
        return Call("POST", path, _one(HeartbeatAck.from_dict, "agent_id"), json=body, headers=headers)

    @endpoint
    def update_agent_status(
        self,
        agent_id: str,
        status: AgentStatus | str,
        *,
        drain_timeout_seconds: int | None = None,
        reason: str = "",
        version: int | None = None,
    ) -> Call[AgentRecord]:
        """Drain (``draining``), deregister or mark dead an agent; with ``version``, only at that version."""
        body = {"status": wire_value(status), "reason": reason}
        body.update(_given(drain_timeout_seconds=drain_timeout_seconds))
        path = api(f"/agents/{_seg(agent_id)}/status")
        return Call("PATCH", path, _one(AgentRecord.from_dict, "agent_id"), json=body, if_match=version)

    @endpoint
    def drain_agent(
        self, agent_id: str | None = None, drain_timeout_seconds: int | None = None, reason: str = ""
    ) -> Call[AgentRecord]:
        """Start a graceful shutdown of an agent (this client's by default): it takes no new work and finishes
        or hands back what it holds within ``drain_timeout_seconds``."""
        body = {"status": AgentStatus.DRAINING.value, "reason": reason}
        body.update(_given(drain_timeout_seconds=drain_timeout_seconds))
        path = api(f"/agents/{_seg(agent_id or self.agent_id)}/status")
        return Call("PATCH", path, _one(AgentRecord.from_dict, "agent_id"), json=body)

    @endpoint
    def deregister_agent(self, agent_id: str) -> Call[AgentRecord]:
        """Deregister at once, without a drain; the leases the agent holds end."""
        return Call("DELETE", api(f"/agents/{_seg(agent_id)}"), _one(AgentRecord.from_dict, "agent_id"))

    @endpoint
    def get_agent_events(self, agent_id: str, limit: int = 50, offset: int = 0) -> Call[list[dict[str, Any]]]:
        """An agent's lifecycle log, newest first."""
        params = {"limit": limit, "offset": offset}
        return Call("GET", api(f"/agents/{_seg(agent_id)}/events"), _rows("events"), params=params)

    @endpoint
    def list_agent_pools(self, status: AgentStatus | str | None = None) -> Call[list[dict[str, Any]]]:
        """Agents grouped by ``role_id``: each pool's members and capacity."""
        params = {"status": None if status is None else wire_value(status)}
        return Call("GET", api("/agent-pools"), _rows("pools"), params=params)

    # Triggers (RFC-0017) --------------------------------------------------------------------------------------

    @endpoint
    def create_trigger(
        self,
        /,
        name: str,
        trigger_type: TriggerType | str,
        *,
        condition: TriggerCondition | Mapping[str, Any] | None = None,
        intent_template: IntentTemplate | Mapping[str, Any] | None = None,
        deduplication: DeduplicationMode | str | None = None,
        namespace: str | None = None,
        enabled: bool | None = None,
        **extra: Any,
    ) -> Call[Trigger]:
        """Create a trigger: a ``schedule`` (``condition={"cron": ...}`` or ``{"at": ...}``), an ``event``
        (``{"event": type, "filter": {...}}``) or a ``webhook`` (``{"path", "method", "secret"}``) that creates
        an intent from ``intent_template`` each time it fires."""
        body: dict[str, Any] = {"name": name, "type": wire_value(trigger_type)}
        body.update(
            _given(
                condition=_condition(condition),
                intent_template=intent_template,
                deduplication=deduplication,
                namespace=namespace,
                enabled=enabled,
                **extra,
            )
        )
        return Call("POST", api("/triggers"), _one(Trigger.from_dict, "trigger_id"), json=body)

    @endpoint
    def get_trigger(self, trigger_id: str) -> Call[Trigger]:
        return Call("GET", api(f"/triggers/{_seg(trigger_id)}"), _one(Trigger.from_dict, "trigger_id"))

    @endpoint
    def list_triggers(
        self,
        namespace: str | None = None,
        trigger_type: TriggerType | str | None = None,
        *,
        enabled: bool | None = None,
    ) -> Call[list[Trigger]]:
        """Triggers, oldest first, of a namespace, a type, or only the enabled (or disabled) ones."""
        params = {
            "namespace": namespace,
            "type": None if trigger_type is None else wire_value(trigger_type),
            "enabled": None if enabled is None else str(enabled).lower(),
        }
        return Call("GET", api("/triggers"), _many(Trigger.from_dict, "triggers"), params=params)

    @endpoint
    def update_trigger(self, /, trigger_id: str, version: int, **changes: Any) -> Call[Trigger]:
        """Change a trigger at ``version``: ``name``, ``enabled``, ``condition``, ``intent_template`` or
        ``deduplication``."""
        if "condition" in changes:
            changes["condition"] = _condition(changes["condition"])
        path = api(f"/triggers/{_seg(trigger_id)}")
        return Call("PATCH", path, _one(Trigger.from_dict, "trigger_id"), json=_given(**changes), if_match=version)

    @endpoint
    def fire_trigger(
        self,
        trigger_id: str,
        *,
        event: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Call[dict[str, Any]]:
        """Fire a trigger now, whatever its condition (deduplication still applies), optionally with the
        ``event`` (or webhook ``body``, ``headers``, ``query``) its template reads: ``{"status": "fired" |
        "skipped" | "queued" | ..., "fire_count", "intent_id", "intent", "deduplicated", "fire"}``."""
        inputs = _given(event=event, body=body, headers=headers, query=query)
        return Call("POST", api(f"/triggers/{_seg(trigger_id)}/fire"), _raw, json=inputs)

    @endpoint
    def get_trigger_history(self, trigger_id: str, limit: int = 100) -> Call[list[dict[str, Any]]]:
        """The trigger's fires, newest first, with what each did (``outcome``, ``intent_id``, ...)."""
        path = api(f"/triggers/{_seg(trigger_id)}/history")
        return Call("GET", path, _rows("fires", "history"), params={"limit": limit})

    @endpoint
    def delete_trigger(self, trigger_id: str) -> Call[None]:
        """Delete a trigger; the intents it created and its fire history stay."""
        return Call("DELETE", api(f"/triggers/{_seg(trigger_id)}"), _nothing)


def _condition(value: TriggerCondition | Mapping[str, Any] | None) -> Any:
    """A condition as sent: a :class:`TriggerCondition`'s ``to_dict`` leaves out the webhook secret (it is never
    read back), so the secret is added to what is written."""
    if isinstance(value, TriggerCondition):
        data = value.to_dict()
        if value.secret is not None:
            data["secret"] = value.secret
        return data
    return value
