from django.urls import path

from .memory import api as memory
from .registry import api as registry

# Literal segments come before the id captures (``agents/register`` before ``agents/<agent_id>``, ``memory/batch``
# before ``memory/<entry_id>``).
urlpatterns = [
    # Agent registry and health (RFC-0016)
    path("agents", registry.AgentListView.as_view()),
    path("agents/register", registry.AgentRegisterView.as_view()),
    path("agents/<str:agent_id>", registry.AgentDetailView.as_view()),
    path("agents/<str:agent_id>/record", registry.AgentRecordView.as_view()),
    path("agents/<str:agent_id>/heartbeat", registry.HeartbeatView.as_view()),
    path("agents/<str:agent_id>/status", registry.AgentStatusView.as_view()),
    path("agents/<str:agent_id>/events", registry.AgentEventListView.as_view()),
    path("agent-pools", registry.PoolListView.as_view()),
    # Agent memory (RFC-0015)
    path("memory", memory.MemoryListView.as_view()),
    path("memory/batch", memory.MemoryBatchView.as_view()),
    path("memory/namespaces", memory.NamespaceListView.as_view()),
    path("memory/namespaces/<path:namespace>", memory.NamespaceDetailView.as_view()),
    path("memory/<str:entry_id>", memory.MemoryDetailView.as_view()),
    path("agents/<str:agent_id>/memory", memory.AgentMemoryView.as_view()),
    path("agents/<str:agent_id>/memory/summary", memory.AgentMemorySummaryView.as_view()),
    path("agents/<str:agent_id>/memory/events", memory.AgentMemoryEventsView.as_view()),
    path("agents/<str:agent_id>/memory/grants", memory.AgentMemoryGrantListView.as_view()),
    path("agents/<str:agent_id>/memory/grants/<str:grant_id>", memory.AgentMemoryGrantDetailView.as_view()),
]
