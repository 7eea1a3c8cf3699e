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

__all__ = [
    "MemoryEntry",
    "MemoryEvent",
    "MemoryEventType",
    "MemoryGrant",
    "MemoryNamespace",
    "MemoryPriority",
    "MemorySensitivity",
    "MemoryTag",
    "MemoryType",
]
