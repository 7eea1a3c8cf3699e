from django.urls import path

from .memory import api as memory

urlpatterns = [
    # Agent memory (RFC-0015). Literal segments before the id capture: /memory/batch is no entry id.
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
