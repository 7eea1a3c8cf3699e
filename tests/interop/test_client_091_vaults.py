"""The unmodified openintent 0.9.1 client (sync and async) against a live server: credential vaults, grants,
invocation records and the tool proxy (RFC-0014). Every vault method of the client is called; against 0.9.1's own
server ``invoke_tool`` answered a canned echo, here the tool really runs, on a service in this test process that
checks the credential it receives."""

import pytest

from tests.agents.tool_service import tool_service  # noqa: F401  the fixture

from .conftest import AGENT, OTHER_AGENT

pytestmark = pytest.mark.interop

SECRET = "sk_live_interop_secret_5150"


def test_every_vault_method_of_the_sync_client(run_client, tool_service):  # noqa: F811
    out = run_client(
        f"""
        from openintent.models import GrantSource, GrantStatus, ToolGrant

        SECRET, SERVICE_URL = {SECRET!r}, {tool_service.url!r}

        def as_grant(value):
            assert isinstance(value, ToolGrant), type(value)
            data = value.to_dict()
            data["status_is_enum"] = isinstance(value.status, GrantStatus)
            data["source_is_enum"] = isinstance(value.source, GrantSource)
            return data

        vault = client.create_vault("whoever", "prod")
        out["vault"] = vault
        out["got_vault"] = client.get_vault(vault["id"])
        out["missing_vault"] = caught(lambda: client.get_vault(MISSING))
        credential = client.create_credential(
            vault["id"], "acme", "acme-prod", "api_key", scopes_available=["charges.read", "charges.create"],
            material=SECRET, auth_config={{"header_name": "X-Service-Key"}}, metadata={{"env": "prod"}},
        )
        out["credential"] = credential
        out["got_credential"] = client.get_credential(credential["id"])
        out["vault_later"] = client.get_vault(vault["id"])
        # Registering the tool is no 0.9.1 client method: the request goes through the client's own connection.
        tool = client._client.post(
            "/api/v1/tools",
            json={{"service": "acme", "name": "charges.read", "url_template": SERVICE_URL + "/echo/charges/{{id}}",
                   "parameters": {{"id": {{"type": "string", "required": True}}}}}},
        )
        out["tool_status"] = tool.status_code

        grant = client.create_tool_grant(
            credential["id"], OTHER_AGENT, "whoever", scopes=["charges.read"],
            constraints={{"max_invocations_per_hour": 2}},
        )
        out["grant"] = as_grant(grant)
        out["got_grant"] = as_grant(client.get_tool_grant(grant.id))
        out["agent_grants"] = [as_grant(item) for item in client.list_agent_grants(OTHER_AGENT)]
        out["refused_scope"] = caught(lambda: client.create_tool_grant(credential["id"], AGENT, "x",
                                                                       scopes=["refunds.create"]))

        out["invoked"] = other.invoke_tool("charges.read", OTHER_AGENT, parameters={{"id": "ch_1"}})
        out["invoked_again"] = other.invoke_tool("acme.charges.read", OTHER_AGENT, parameters={{"id": "ch_2"}})
        out["limited"] = caught(lambda: other.invoke_tool("charges.read", OTHER_AGENT, parameters={{"id": "ch_3"}}))
        out["no_grant"] = caught(lambda: client.invoke_tool("charges.read", AGENT, parameters={{"id": "x"}}))

        out["recorded"] = client.record_invocation(
            grant.id, "acme", "charges.read", OTHER_AGENT, status="success", duration_ms=7, result={{"ok": 1}},
        )
        out["invocations"] = client.list_invocations(grant.id)
        out["invocations_limited"] = client.list_invocations(grant.id, limit=1)
        out["revoked"] = client.revoke_grant(grant.id)
        out["after_revoke"] = caught(lambda: other.invoke_tool("charges.read", OTHER_AGENT, parameters={{"id": "x"}}))
        out["revoked_grant"] = as_grant(client.get_tool_grant(grant.id))
        """
    )
    vault = out["vault"]
    assert vault["owner_id"] == AGENT and vault["name"] == "prod" and vault["credentials"] == []
    assert out["got_vault"] == vault
    assert out["vault_later"]["credentials"] == [out["credential"]["id"]]
    assert out["missing_vault"]["type"] == "NotFoundError"
    credential = out["credential"]
    assert credential["credential_metadata"] == {"env": "prod"} and credential["has_material"] is True
    assert out["got_credential"] == credential
    assert out["tool_status"] == 200

    grant = out["grant"]
    assert grant["agent_id"] == OTHER_AGENT and grant["granted_by"] == AGENT
    assert grant["status"] == "active" and grant["status_is_enum"] and grant["source_is_enum"]
    assert grant["constraints"]["max_invocations_per_hour"] == 2
    assert out["got_grant"] == grant
    assert [item["id"] for item in out["agent_grants"]] == [grant["id"]]
    assert out["refused_scope"]["type"] == "ValidationError" and out["refused_scope"]["status_code"] == 400

    invoked = out["invoked"]
    assert invoked["status"] == "success" and invoked["error"] is None and invoked["tool_name"] == "charges.read"
    assert invoked["result"]["path"] == "/echo/charges/ch_1"
    assert invoked["result"]["headers"]["x-service-key"] == "[REDACTED]"
    assert out["invoked_again"]["result"]["path"] == "/echo/charges/ch_2"
    received = tool_service.received("/echo/charges")
    assert [request["headers"]["x-service-key"] for request in received] == [SECRET, SECRET]

    limited = out["limited"]
    assert limited["type"] == "OpenIntentError" and limited["status_code"] == 429
    assert limited["response"]["detail"] == "Rate limit exceeded: 2 invocations per hour"
    assert limited["response"]["error"]["code"] == "GRANT_RATE_LIMITED"
    assert out["no_grant"]["status_code"] == 403
    assert out["no_grant"]["response"]["error"]["code"] == "GRANT_NOT_FOUND"

    assert out["recorded"]["origin"] == "recorded" and out["recorded"]["duration_ms"] == 7
    listed = out["invocations"]
    assert listed[0]["id"] == out["recorded"]["id"]
    assert {row["id"] for row in listed} >= {invoked["invocation_id"], out["invoked_again"]["invocation_id"]}
    assert [row["status"] for row in listed] == ["success", "denied", "success", "success"]
    assert len(out["invocations_limited"]) == 1
    assert out["revoked"] == {"status": "revoked", "grant_id": grant["id"], "revoked_count": 1}
    assert out["after_revoke"]["status_code"] == 403
    assert out["after_revoke"]["response"]["error"]["code"] == "GRANT_REVOKED"
    assert out["revoked_grant"]["status"] == "revoked" and out["revoked_grant"]["revoked_at"]
    assert SECRET not in str(out)


def test_the_async_client_and_an_agents_tool_proxy(run_client, tool_service):  # noqa: F811
    out = run_client(
        f"""
        from openintent.agents import Agent

        SECRET, SERVICE_URL = {SECRET!r}, {tool_service.url!r}

        async def main():
            async with AsyncOpenIntentClient(URL, KEY, AGENT) as aclient:
                vault = await aclient.create_vault("x", "async")
                credential = await aclient.create_credential(
                    vault["id"], "search", "search-key", "bearer_token", material=SECRET
                )
                out["credential"] = await aclient.get_credential(credential["id"])
                out["vault"] = await aclient.get_vault(vault["id"])
                await aclient._client.post(
                    "/api/v1/tools",
                    json={{"service": "search", "name": "web_search", "url_template": SERVICE_URL + "/echo/search",
                           "parameters": {{"query": {{"type": "string", "required": True}}}}}},
                )
                grant = await aclient.create_tool_grant(credential["id"], "agent-searcher", "x",
                                                        scopes=["web_search"])
                out["grant"] = (await aclient.get_tool_grant(grant.id)).to_dict()
                out["grants"] = [g.id for g in await aclient.list_agent_grants("agent-searcher")]
                out["invoked"] = await aclient.invoke_tool("web_search", "agent-searcher",
                                                           parameters={{"query": "OpenIntent"}})
                out["invocations"] = await aclient.list_invocations(grant.id)
                out["recorded"] = await aclient.record_invocation(grant.id, "search", "web_search", "agent-searcher")
                out["revoked"] = await aclient.revoke_grant(grant.id)

        asyncio.run(main())

        @Agent("agent-searcher2")
        class Searcher:
            pass

        with OpenIntentClient(URL, KEY, AGENT) as sync:
            credential = sync.create_credential(sync.create_vault("x", "agent")["id"], "search", "k", "bearer_token",
                                                material=SECRET)
            sync.create_tool_grant(credential["id"], "agent-searcher2", "x", scopes=["web_search"])

        async def run_agent():
            searcher = Searcher(base_url=URL, api_key=KEY)
            return await searcher.tools.invoke("web_search", query="agents")

        out["agent_invoked"] = asyncio.run(run_agent())
        """
    )
    assert out["credential"]["auth_type"] == "bearer_token" and out["credential"]["has_material"]
    assert out["vault"]["credentials"] == [out["credential"]["id"]]
    assert out["grants"] == [out["grant"]["id"]]
    assert out["invoked"]["status"] == "success"
    assert out["invoked"]["result"]["query"] == {"query": "OpenIntent"}
    assert [row["id"] for row in out["invocations"]] == [out["invoked"]["invocation_id"]]
    assert out["revoked"]["status"] == "revoked"
    assert out["agent_invoked"]["status"] == "success"
    assert out["agent_invoked"]["result"]["query"] == {"query": "agents"}
    authorizations = [request["headers"]["authorization"] for request in tool_service.received("/echo/search")]
    assert authorizations == [f"Bearer {SECRET}"] * 2
    assert SECRET not in str(out)
