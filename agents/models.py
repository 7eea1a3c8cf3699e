"""The agents app's models, one module per protocol area; Django finds them all through this one."""

from .registry.models import GONE, LIVE, Agent, AgentCapability, AgentEvent, AgentEventType, AgentStatus

__all__ = ["GONE", "LIVE", "Agent", "AgentCapability", "AgentEvent", "AgentEventType", "AgentStatus"]
