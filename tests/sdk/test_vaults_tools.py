"""RFC-0014 vaults, credentials, grants, tools and invocations with both clients against a live server (the tool
proxy calls a real HTTP service running in the test process): the flat methods and ``client.tools``."""

import pytest
from openintent import (
    AuthType,
    ConflictError,
    Credential,
    CredentialVault,
    NotFoundError,
    PermissionDeniedError,
    Tool,
    ToolGrant,
    ToolInvocation,
    ValidationError,
)
from openintent.models import CredentialStatus, GrantSource, GrantStatus, InvocationStatus

from tests.agents.tool_service import tool_service  # noqa: F401  the fixture

from .conftest import AGENT, MISSING

SECRET = "sk_live_never_comes_back_0123456789"


@pytest.fixture
def acme(oi, tool_service):  # noqa: F811
    vault = oi.create_vault(None, "prod")
    credential = oi.create_credential(
        vault.id,
        "acme",
        "acme-prod",
        AuthType.API_KEY,
        material=SECRET,
        scopes_available=["charges.read", "refunds.create"],
        auth_config={"header_name": "X-Service-Key"},
    )
    tool = oi.register_tool(
        "acme",
        "charges.read",
        tool_service.url + "/echo/charges/{charge_id}",
        parameters={"charge_id": {"type": "string", "required": True}},
    )
    grant = oi.create_tool_grant(credential.id, "agent-worker", AGENT, ["charges.read"])
    return {"vault": vault, "credential": credential, "tool": tool, "grant": grant, "service": tool_service}


def test_vaults_and_credentials(oi, acme):
    vault, credential = acme["vault"], acme["credential"]
    assert isinstance(vault, CredentialVault) and vault.owner_id == AGENT and vault.name == "prod"
    assert isinstance(credential, Credential) and credential.vault_id == vault.id and credential.has_material
    assert credential.auth_type == AuthType.API_KEY and credential.scopes_available == [
        "charges.read",
        "refunds.create",
    ]
    assert SECRET not in repr(credential.to_dict())
    assert oi.get_vault(vault.id).credentials == [credential.id]
    assert [v.id for v in oi.list_vaults()] == [vault.id]
    assert [c.id for c in oi.list_credentials(vault.id)] == [credential.id]
    assert oi.get_credential(credential.id).label == "acme-prod"
    rotated = oi.rotate_credential(credential.id, "sk_live_rotated_9876543210")
    assert rotated.rotated_at is not None and rotated.id == credential.id

    spare = oi.create_credential(vault.id, "other", "other-prod", material="x" * 20)
    revoked = oi.revoke_credential(spare.id, "leaked")
    assert revoked["status"] == "revoked" and revoked["credential_id"] == spare.id
    assert oi.get_credential(spare.id).status == CredentialStatus.REVOKED
    with pytest.raises(NotFoundError):
        oi.get_vault(MISSING)
    with pytest.raises(ValidationError):
        oi.create_credential(vault.id, "acme", "bad", "carrier_pigeon")
    extra = oi.create_vault(None, "scratch")
    assert oi.delete_vault(extra.id) is None
    with pytest.raises(NotFoundError):
        oi.get_vault(extra.id)


def test_grants_their_lifecycle_and_delegation(oi, acme):
    grant = acme["grant"]
    assert isinstance(grant, ToolGrant) and grant.agent_id == "agent-worker" and grant.granted_by == AGENT
    assert grant.scopes == ["charges.read"] and grant.status == GrantStatus.ACTIVE and grant.service == "acme"
    assert oi.get_tool_grant(grant.id).id == grant.id
    assert [g.id for g in oi.list_agent_grants("agent-worker")] == [grant.id]
    assert [g.id for g in oi.list_grants(agent_id="agent-worker")] == [grant.id]
    suspended = oi.suspend_grant(grant.id, "audit")
    assert suspended.status == GrantStatus.SUSPENDED
    with pytest.raises(ConflictError):
        oi.suspend_grant(grant.id)
    assert oi.resume_grant(grant.id).status == GrantStatus.ACTIVE

    parent = oi.create_tool_grant(acme["credential"].id, "agent-lead", scopes=["charges.read"], delegatable=True)
    child = oi.delegate_grant(parent.id, "agent-helper", ["charges.read"])
    assert child.source == GrantSource.DELEGATED and child.delegated_from == parent.id
    answer = oi.revoke_grant(parent.id)
    assert answer["status"] == "revoked" and answer["revoked_count"] == 2
    assert oi.get_tool_grant(child.id).status == GrantStatus.REVOKED
    with pytest.raises(NotFoundError):
        oi.get_tool_grant(MISSING)


def test_invoking_a_tool_through_the_proxy(oi, acme):
    answer = oi.invoke_tool("charges.read", "agent-worker", {"charge_id": "ch_1"})
    assert answer["status"] == "success" and answer["error"] is None
    received = acme["service"].received("/echo/charges/ch_1")
    assert len(received) == 1 and received[0]["headers"]["x-service-key"] == SECRET
    assert answer["result"]["headers"]["x-service-key"] == "[REDACTED]"

    with pytest.raises(PermissionDeniedError) as refused:
        oi.invoke_tool("charges.read", "stranger", {"charge_id": "ch_2"})
    assert refused.value.response["error"]["code"] == "GRANT_NOT_FOUND"

    [listed] = oi.list_invocations(acme["grant"].id)
    assert isinstance(listed, ToolInvocation) and listed.invocation_id == answer["invocation_id"]
    assert listed.status == InvocationStatus.SUCCESS and listed.tool == "charges.read"
    assert oi.get_invocation(listed.invocation_id).grant_id == acme["grant"].id

    recorded = oi.record_invocation(
        acme["grant"].id, "acme", "charges.read", "agent-worker", parameters={"charge_id": "ch_9"}, duration_ms=12
    )
    assert recorded.duration_ms == 12 and recorded.origin == "recorded"
    assert "parameters" not in recorded.to_dict()
    with pytest.raises(NotFoundError):
        oi.get_invocation(MISSING)


def test_the_tool_registry(oi, acme):
    tool = acme["tool"]
    assert isinstance(tool, Tool) and tool.service == "acme" and tool.name == "charges.read" and tool.owner_id == AGENT
    assert [t.name for t in oi.list_tools("acme")] == ["charges.read"]
    granted = oi.list_granted_tools("agent-worker")
    assert any(entry.get("service") == "acme" for entry in granted)
    assert oi.delete_tool("acme", "charges.read") is None
    assert oi.list_tools("acme") == []
    with pytest.raises(NotFoundError):
        oi.delete_tool("acme", "charges.read")


def test_the_tools_namespace_names_the_same_methods(oi, acme):
    vault = oi.tools.create_vault(None, "staging")
    assert oi.tools.get_vault(vault.id).name == "staging"
    credential = oi.tools.add_credential(vault.id, "acme", "acme-staging", material="m" * 20, scopes_available=["a"])
    grant = oi.tools.grant(credential.id, "agent-worker", scopes=["a"])
    assert oi.tools.get_grant(grant.id).scopes == ["a"]
    answer = oi.tools.invoke("charges.read", "agent-worker", {"charge_id": "ch_3"})
    assert answer["status"] == "success"
    assert oi.tools.revoke(grant.id)["status"] == "revoked"
    with pytest.raises(NotFoundError):
        oi.tools.get_credential(MISSING)
