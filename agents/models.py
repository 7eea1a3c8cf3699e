"""The agents app's models, one module per protocol area; Django finds them all through this one."""

from .memory.models import (
    MemoryEntry,
    MemoryEvent,
    MemoryEventType,
    MemoryGrant,
    MemoryNamespace,
    MemoryPriority,
    MemorySensitivity,
    MemoryTag,
    MemoryType,
)
from .registry.models import GONE, LIVE, Agent, AgentCapability, AgentEvent, AgentEventType, AgentStatus
from .vaults.models import Credential, Invocation, Tool, ToolGrant, Vault, VaultEvent

__all__ = [
    "GONE",
    "LIVE",
    "Agent",
    "AgentCapability",
    "AgentEvent",
    "AgentEventType",
    "AgentStatus",
    "MemoryEntry",
    "MemoryEvent",
    "MemoryEventType",
    "MemoryGrant",
    "MemoryNamespace",
    "MemoryPriority",
    "MemorySensitivity",
    "MemoryTag",
    "MemoryType",
    "Credential",
    "Invocation",
    "Tool",
    "ToolGrant",
    "Vault",
    "VaultEvent",
]
