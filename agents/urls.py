from django.urls import path

from .registry import api as registry

# Literal segments come before the id captures (``agents/register`` before ``agents/<agent_id>``).
urlpatterns = [
    path("agents", registry.AgentListView.as_view()),
    path("agents/register", registry.AgentRegisterView.as_view()),
    path("agents/<str:agent_id>", registry.AgentDetailView.as_view()),
    path("agents/<str:agent_id>/record", registry.AgentRecordView.as_view()),
    path("agents/<str:agent_id>/heartbeat", registry.HeartbeatView.as_view()),
    path("agents/<str:agent_id>/status", registry.AgentStatusView.as_view()),
    path("agents/<str:agent_id>/events", registry.AgentEventListView.as_view()),
    path("agent-pools", registry.PoolListView.as_view()),
]
