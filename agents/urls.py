from django.urls import path

from .memory import api as memory
from .registry import api as registry
from .vaults import api as vaults

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
    # RFC-0014 credential vaults, tools and grants. Literal segments (tools/invoke, tools/granted) come before the
    # captures that would take them.
    path("vaults", vaults.VaultListView.as_view()),
    path("vaults/<str:vault_id>", vaults.VaultDetailView.as_view()),
    path("vaults/<str:vault_id>/credentials", vaults.VaultCredentialListView.as_view()),
    path("credentials", vaults.CredentialListView.as_view()),
    path("credentials/<str:credential_id>", vaults.CredentialDetailView.as_view()),
    path("credentials/<str:credential_id>/rotate", vaults.CredentialRotateView.as_view()),
    path("tools", vaults.ToolListView.as_view()),
    path("tools/invoke", vaults.InvokeView.as_view()),
    path("tools/granted", vaults.GrantedToolsView.as_view()),
    path("tools/<str:service>", vaults.ServiceToolsView.as_view()),
    path("tools/<str:service>/<str:name>", vaults.ToolDetailView.as_view()),
    path("grants", vaults.GrantListView.as_view()),
    path("grants/<str:grant_id>", vaults.GrantDetailView.as_view()),
    path("grants/<str:grant_id>/suspend", vaults.GrantSuspendView.as_view()),
    path("grants/<str:grant_id>/resume", vaults.GrantResumeView.as_view()),
    path("grants/<str:grant_id>/delegate", vaults.GrantDelegateView.as_view()),
    path("grants/<str:grant_id>/invocations", vaults.GrantInvocationsView.as_view()),
    path("agents/<str:agent_id>/grants", vaults.AgentGrantsView.as_view()),
    path("invocations", vaults.InvocationListView.as_view()),
    path("invocations/<str:invocation_id>", vaults.InvocationDetailView.as_view()),
    path("intents/<str:intent_id>/invocations", vaults.IntentInvocationsView.as_view()),
]
