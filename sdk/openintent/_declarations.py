"""Protocol objects declared as classes: ``@Plan`` (RFC-0012), ``@Vault`` (RFC-0014) and ``@Trigger`` (RFC-0017), and
an agent's memory configuration, ``@Memory`` (RFC-0015).

A declaration is checked when the class is defined (unknown keys, unknown dependencies and cycles are errors
then, not at run time) and creates its server objects with ``create(client, ...)``, on a sync client (returns the
object) or an async one (returns a coroutine). ``create`` is idempotent: the objects carry the declaration's name
in their metadata, and a second ``create`` (a restarted program) finds and returns them instead of duplicating them.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ._core import AsyncTransport
from .models import Credential, CredentialVault, Task, ToolGrant
from .models import Plan as PlanModel
from .models import Trigger as TriggerModel

__all__ = [
    "Plan",
    "Vault",
    "Trigger",
    "Memory",
    "PlanDeclaration",
    "VaultDeclaration",
    "TriggerDeclaration",
    "MemoryDeclaration",
]

# A step is a zero-argument callable making one client call; the driver runs it (awaiting it on an async client)
# and sends the result back into the generator.
Steps = Generator[Callable[[], Any], Any, Any]


def _drive(client: Any, steps: Steps) -> Any:
    if isinstance(client, AsyncTransport):

        async def run_async() -> Any:
            value: Any = None
            try:
                while True:
                    value = await steps.send(value)()
            except StopIteration as done:
                return done.value

        return run_async()
    value: Any = None
    try:
        while True:
            value = steps.send(value)()
    except StopIteration as done:
        return done.value


def _declared(cls: type) -> dict[str, dict[str, Any]]:
    """The class's public dict attributes, in the order they were written."""
    return {
        name: dict(value)
        for name, value in vars(cls).items()
        if not name.startswith("_") and isinstance(value, Mapping)
    }


# Plans --------------------------------------------------------------------------------------------------------

TASK_KEYS = {
    "assign",
    "timeout",
    "depends_on",
    "description",
    "input",
    "capabilities",
    "max_attempts",
    "priority",
}
STRATEGIES = ("sequential", "topological", "parallel")


@dataclass(frozen=True)
class PlanDeclaration:
    name: str
    strategy: str
    tasks: dict[str, dict[str, Any]]
    order: list[str]
    dependencies: dict[str, list[str]]
    checkpoints: list[str]
    on_failure: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def create(self, client: Any, intent_id: str) -> Any:
        """The plan on ``intent_id`` with its tasks, dependencies and checkpoints (a draft: activate it to start);
        the existing one if this declaration was created on the intent before."""
        return _drive(client, self._steps(client, intent_id))

    def _steps(self, client: Any, intent_id: str) -> Steps:
        plans: list[PlanModel] = yield lambda: client.list_plans(intent_id)
        for plan in plans:
            if plan.metadata.get("declared_plan") == self.name:
                return plan
        # Tasks a create interrupted before its plan was made are taken up again, not made twice.
        tasks: list[Task] = yield lambda: client.list_tasks(intent_id, limit=1000)
        made = {
            task.name: task.id
            for task in tasks
            if task.plan_id is None and task.metadata.get("declared_plan") == self.name
        }
        for name in self.order:
            if name in made:
                continue
            spec = self.tasks[name]
            options: dict[str, Any] = {
                "description": spec.get("description"),
                "input": spec.get("input"),
                "capabilities_required": spec.get("capabilities"),
                "depends_on": [made[dependency] for dependency in self.dependencies[name]] or None,
                "timeout_seconds": spec.get("timeout"),
                "max_attempts": spec.get("max_attempts"),
                "priority": spec.get("priority"),
                "metadata": {"declared_plan": self.name, **({"assign": spec["assign"]} if "assign" in spec else {})},
            }
            if "assign" in spec:
                options["permissions"] = {"allow": [spec["assign"]]}
            task: Task = yield partial(client.create_task, intent_id, name, **options)
            made[name] = task.id
        checkpoints = [
            {"id": f"after-{name}", "name": f"after {name}", "after_task": made[name], "requires_approval": True}
            for name in self.checkpoints
        ]
        plan_model: PlanModel = yield lambda: client.create_plan(
            intent_id,
            [made[name] for name in self.order],
            checkpoints=checkpoints or None,
            on_failure=self.on_failure,
            metadata={"declared_plan": self.name, "strategy": self.strategy, **self.metadata},
        )
        return plan_model


def _topological(names: list[str], dependencies: dict[str, list[str]]) -> list[str]:
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError(f"plan tasks depend on each other in a cycle: {' -> '.join([*path, name])}")
        state[name] = "visiting"
        for dependency in dependencies[name]:
            visit(dependency, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in names:
        visit(name, [])
    return order


def Plan(  # noqa: N802  (a class decorator named like what it declares)
    name: str | None = None,
    strategy: str = "sequential",
    checkpoints: bool | list[str] = False,
    on_failure: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[type], Any]:
    """Declare a plan: each public dict attribute is a task (``assign``: the only agent that may claim it;
    ``timeout`` seconds; ``depends_on``: names of other tasks; ``description``, ``input``, ``capabilities``,
    ``max_attempts``, ``priority``). ``strategy="sequential"`` makes a task without ``depends_on`` depend on the
    one written before it; ``"topological"`` and ``"parallel"`` keep only the dependencies written.
    ``checkpoints=True`` asks a person's approval after every task but the last, a list after the tasks it
    names. ``DeclaredPlan.create(client, intent_id)`` makes it on the server."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")

    def decorate(cls: type) -> Any:
        plan_name = name or cls.__name__
        tasks = _declared(cls)
        if not tasks:
            raise ValueError(f"plan {plan_name} declares no task")
        names = list(tasks)
        dependencies: dict[str, list[str]] = {}
        for index, task_name in enumerate(names):
            spec = tasks[task_name]
            unknown = sorted(set(spec) - TASK_KEYS)
            if unknown:
                raise TypeError(f"task {task_name} of plan {plan_name}: unknown keys {', '.join(unknown)}")
            depends = spec.get("depends_on")
            if depends is None:
                depends = [names[index - 1]] if strategy == "sequential" and index else []
            elif isinstance(depends, str):
                depends = [depends]
            missing = [dependency for dependency in depends if dependency not in tasks]
            if missing:
                raise ValueError(f"task {task_name} of plan {plan_name} depends on unknown {', '.join(missing)}")
            dependencies[task_name] = list(depends)
        order = _topological(names, dependencies)
        if checkpoints is True:
            after = order[:-1]
        elif checkpoints is False:
            after = []
        else:
            after = list(checkpoints)
            unknown_checkpoints = [task for task in after if task not in tasks]
            if unknown_checkpoints:
                raise ValueError(f"checkpoints after unknown tasks: {', '.join(unknown_checkpoints)}")
        declaration = PlanDeclaration(
            plan_name, strategy, tasks, order, dependencies, after, on_failure, dict(metadata or {})
        )
        cls._plan = declaration  # type: ignore[attr-defined]
        cls.create = staticmethod(declaration.create)  # type: ignore[attr-defined]
        return cls

    return decorate


# Vaults -------------------------------------------------------------------------------------------------------

CREDENTIAL_KEYS = {"scopes", "rate_limit", "agents", "auth_type", "auth_config", "label", "delegatable"}
_PERIOD = re.compile(r"^(\d+)([dhw])$")


@dataclass(frozen=True)
class VaultDeclaration:
    name: str
    rotation_policy: str | None
    credentials: dict[str, dict[str, Any]]

    def create(self, client: Any, secrets: Mapping[str, Any], grants: Mapping[str, list[str]] | None = None) -> Any:
        """The vault with a credential per declared service (its secret from ``secrets[service]``) and a grant
        of the declared scopes to each agent of ``agents`` (or ``grants[service]``), at most ``rate_limit``
        calls an hour. What exists already (a vault of that name, a credential of that service and label, an
        active grant) is kept; answers the vault."""
        return _drive(client, self._steps(client, secrets, grants or {}))

    def _steps(self, client: Any, secrets: Mapping[str, Any], grants: Mapping[str, list[str]]) -> Steps:
        vaults: list[CredentialVault] = yield lambda: client.list_vaults()
        vault = next((v for v in vaults if v.name == self.name), None)
        if vault is None:
            vault = yield lambda: client.create_vault(None, self.name)
        assert vault is not None
        existing: list[Credential] = yield lambda: client.list_credentials(vault.id)
        for service, spec in self.credentials.items():
            label = spec.get("label") or f"{self.name}/{service}"
            credential = next(
                (c for c in existing if c.service == service and c.label == label and c.status == "active"), None
            )
            if credential is None:
                if service not in secrets:
                    raise KeyError(f"no secret given for {service} of vault {self.name}")
                metadata = {"declared_vault": self.name}
                if self.rotation_policy:
                    metadata["rotation_policy"] = self.rotation_policy
                credential = yield partial(
                    client.create_credential,
                    vault.id,
                    service,
                    label,
                    spec.get("auth_type", "api_key"),
                    material=secrets[service],
                    scopes_available=list(spec.get("scopes") or []),
                    auth_config=spec.get("auth_config"),
                    metadata=metadata,
                )
            assert credential is not None
            for agent_id in [*spec.get("agents", []), *grants.get(service, [])]:
                held: list[ToolGrant] = yield partial(
                    client.list_grants, agent_id, credential_id=credential.id, status="active"
                )
                if held:
                    continue
                constraints = {"max_invocations_per_hour": spec["rate_limit"]} if spec.get("rate_limit") else None
                yield partial(
                    client.create_tool_grant,
                    credential.id,
                    agent_id,
                    None,
                    list(spec.get("scopes") or []),
                    constraints=constraints,
                    delegatable=spec.get("delegatable"),
                )
        return vault


def Vault(  # noqa: N802  (a class decorator named like what it declares)
    name: str, rotation_policy: str | None = None
) -> Callable[[type], Any]:
    """Declare a credential vault: each public dict attribute is a service's credential (``scopes``;
    ``rate_limit``: calls an hour per grant; ``agents``: who is granted the scopes; ``auth_type``,
    ``auth_config``, ``label``, ``delegatable``). ``rotation_policy`` (``"90d"``, ``"12w"``, ``"48h"``) is
    recorded on each credential. ``DeclaredVault.create(client, secrets={...})`` makes it on the server."""
    if rotation_policy is not None and not _PERIOD.match(rotation_policy):
        raise ValueError(f"rotation_policy is a number of days, weeks or hours ('90d'), not {rotation_policy!r}")

    def decorate(cls: type) -> Any:
        credentials = _declared(cls)
        for service, spec in credentials.items():
            unknown = sorted(set(spec) - CREDENTIAL_KEYS)
            if unknown:
                raise TypeError(f"credential {service} of vault {name}: unknown keys {', '.join(unknown)}")
        declaration = VaultDeclaration(name, rotation_policy, credentials)
        cls._vault = declaration  # type: ignore[attr-defined]
        cls.create = staticmethod(declaration.create)  # type: ignore[attr-defined]
        return cls

    return decorate


# Triggers -----------------------------------------------------------------------------------------------------

TRIGGER_TYPES = ("schedule", "event", "webhook")
DEDUPLICATION = ("allow", "skip", "queue")
TRIGGER_ATTRIBUTES = {"intent_template", "assign", "condition", "namespace", "enabled"}


@dataclass(frozen=True)
class TriggerDeclaration:
    name: str
    type: str
    condition: dict[str, Any]
    intent_template: dict[str, Any]
    deduplication: str | None = None
    namespace: str | None = None
    enabled: bool | None = None

    def create(self, client: Any) -> Any:
        """The trigger on the server; the existing one (same name, type and namespace) if it was created
        before, kept as it is: a restarted program does not make a second one. To change a trigger that exists,
        update it (``client.update_trigger``) or delete it first."""
        return _drive(client, self._steps(client))

    def _steps(self, client: Any) -> Steps:
        existing: list[TriggerModel] = yield partial(client.list_triggers, self.namespace, self.type)
        for trigger in existing:
            if trigger.name == self.name and trigger.namespace == self.namespace:
                return trigger
        created: TriggerModel = yield partial(
            client.create_trigger,
            self.name,
            self.type,
            condition=self.condition or None,
            intent_template=self.intent_template or None,
            deduplication=self.deduplication,
            namespace=self.namespace,
            enabled=self.enabled,
        )
        return created


def Trigger(  # noqa: N802  (a class decorator named like what it declares)
    name: str | None = None,
    type: str = "schedule",  # noqa: A002  (the name RFC-0017 and 0.9.1 give it)
    condition: Mapping[str, Any] | None = None,
    cron: str | None = None,
    dedup: str | None = None,
    *,
    event: str | None = None,
    filter: Mapping[str, Any] | None = None,  # noqa: A002
    path: str | None = None,
    timezone: str | None = None,
    namespace: str | None = None,
) -> Callable[[builtins.type], Any]:
    """Declare a trigger (RFC-0017): ``type`` ``"schedule"`` (``cron=``), ``"event"`` (``event=``, ``filter=``)
    or ``"webhook"`` (``path=``), or the whole ``condition``; ``dedup``: ``"allow"``, ``"skip"`` or ``"queue"``.
    The class attributes are ``intent_template`` (the intent each fire creates: ``title``, ``type``,
    ``context``, ...; ``{{ date }}`` and the other variables of RFC-0017 are filled in by the server), ``assign``
    (the agent the intent is assigned to: its ``@on_trigger`` handlers run), and optionally ``condition``,
    ``namespace`` and ``enabled``. The name is the class's unless given. ``Declared.create(client)`` makes it
    on the server, once."""
    if type not in TRIGGER_TYPES:
        raise ValueError(f"type must be one of {', '.join(TRIGGER_TYPES)}, not {type!r}")
    if dedup is not None and dedup not in DEDUPLICATION:
        raise ValueError(f"dedup must be one of {', '.join(DEDUPLICATION)}, not {dedup!r}")

    def decorate(cls: builtins.type) -> Any:
        trigger_name = name or cls.__name__
        attributes = {key: value for key, value in vars(cls).items() if not key.startswith("_")}
        unknown = sorted(
            key for key, value in attributes.items() if key not in TRIGGER_ATTRIBUTES and not callable(value)
        )
        if unknown:
            raise TypeError(f"trigger {trigger_name}: unknown attributes {', '.join(unknown)}")
        given = {"cron": cron, "timezone": timezone, "event": event, "filter": filter, "path": path}
        merged = {**dict(attributes.get("condition") or condition or {})}
        merged.update({key: value for key, value in given.items() if value is not None})
        if type == "schedule" and not (merged.get("cron") or merged.get("at")):
            raise ValueError(f"schedule trigger {trigger_name} needs a cron (or a condition with cron or at)")
        if type == "event" and not merged.get("event"):
            raise ValueError(f"event trigger {trigger_name} needs the event type it fires on")
        if type == "webhook" and not merged.get("path"):
            raise ValueError(f"webhook trigger {trigger_name} needs a path")
        template = dict(attributes.get("intent_template") or {})
        if attributes.get("assign"):
            template["assignee"] = attributes["assign"]
        declaration = TriggerDeclaration(
            trigger_name,
            type,
            merged,
            template,
            dedup,
            attributes.get("namespace") or namespace,
            attributes.get("enabled"),
        )
        cls._trigger = declaration  # type: ignore[attr-defined]
        cls.create = staticmethod(declaration.create)  # type: ignore[attr-defined]
        return cls

    return decorate


# Memory -------------------------------------------------------------------------------------------------------

MEMORY_TIERS = ("working", "episodic", "semantic")
EVICTIONS = ("lru", "fifo")
MEMORY_ATTRIBUTES = {"namespace", "tier", "ttl", "capacity", "max_entries", "eviction", "auto_archive"}


@dataclass(frozen=True)
class MemoryDeclaration:
    """An agent's memory configuration, applied by ``self.memory`` (RFC-0015 has no server object for it)."""

    namespace: str | None = None
    tier: str = "episodic"
    ttl: str | None = None
    capacity: int | None = None
    eviction: str = "lru"
    auto_archive: bool = False


def _duration(ttl: Any) -> str | None:
    """The server's form of a ttl: ``"duration:<ISO-8601>"`` or ``"task_lifetime"``."""
    if ttl is None:
        return None
    if isinstance(ttl, str):
        return ttl if ttl == "task_lifetime" or ttl.startswith("duration:") else f"duration:{ttl}"
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(f"ttl is a number of seconds or an ISO-8601 duration ('PT1H'), not {ttl!r}")
    return f"duration:PT{ttl}S"


def Memory(  # noqa: N802  (a class decorator named like what it declares)
    namespace: str | None = None,
    tier: str = "episodic",
    ttl: int | str | None = None,
    max_entries: int | None = None,
    *,
    capacity: int | None = None,
    eviction: str = "lru",
) -> Callable[[builtins.type], Any]:
    """Declare an agent's memory configuration, used with ``@Agent(..., memory=TheClass)``: ``self.memory`` then
    stores in ``namespace`` (the agent's id when absent) and ``tier``, gives new entries ``ttl`` (seconds or an
    ISO-8601 duration), and keeps at most ``capacity`` (or 0.9.1's ``max_entries``) entries there, evicting the
    least recently used (``eviction="lru"``) or the oldest (``"fifo"``) unpinned ones. Class attributes of the
    same names (``namespace``, ``auto_archive``...) override the arguments."""

    def decorate(cls: builtins.type) -> Any:
        attributes = {key: value for key, value in vars(cls).items() if not key.startswith("_")}
        unknown = sorted(
            key for key, value in attributes.items() if key not in MEMORY_ATTRIBUTES and not callable(value)
        )
        if unknown:
            raise TypeError(f"memory {cls.__name__}: unknown attributes {', '.join(unknown)}")
        chosen_tier = attributes.get("tier", tier)
        if chosen_tier not in MEMORY_TIERS:
            raise ValueError(f"tier must be one of {', '.join(MEMORY_TIERS)}, not {chosen_tier!r}")
        chosen_eviction = attributes.get("eviction", eviction)
        if chosen_eviction not in EVICTIONS:
            raise ValueError(f"eviction must be one of {', '.join(EVICTIONS)}, not {chosen_eviction!r}")
        limit = attributes.get(
            "capacity", attributes.get("max_entries", capacity if capacity is not None else max_entries)
        )
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"capacity is a number of entries, at least 1, not {limit!r}")
        declaration = MemoryDeclaration(
            attributes.get("namespace", namespace),
            chosen_tier,
            _duration(attributes.get("ttl", ttl)),
            limit,
            chosen_eviction,
            bool(attributes.get("auto_archive", False)),
        )
        cls._memory = declaration  # type: ignore[attr-defined]
        return cls

    return decorate
