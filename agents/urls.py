from django.urls import path

from .vaults import api as vaults

urlpatterns = [
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
