"""The tool proxy (RFC-0014 §3) through HTTP, calling a real HTTP service: the credential arrives at the service as
its auth type says and never comes back; grants, scopes, constraints, context and the rate limit refuse with the
RFC's codes; every call leaves an invocation row; retries with an idempotency key run once."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import client_for, event_log, issue_key, new_intent

from .tool_service import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    invoke,
    new_credential,
    new_grant,
    new_vault,
    register_tool,
    tool_service,  # noqa: F401  the fixture
)

SECRET = "sk_live_proxy_secret_4242"


@pytest.fixture
def stripe(api, tool_service):  # noqa: F811
    """A vault of agent-research's with an api_key credential, its echo tool, and a grant to agent-worker."""
    vault = new_vault(api)
    credential = new_credential(api, vault["id"], SECRET, auth_config={"header_name": "X-Service-Key"})
    tool = register_tool(api, tool_service.url)
    grant = new_grant(api, credential["id"])
    return {"vault": vault, "credential": credential, "tool": tool, "grant": grant, "service": tool_service}


def assert_no_secret(response, *secrets):
    for secret in secrets or (SECRET,):
        assert secret not in response.content.decode(), response.content


def test_the_api_key_reaches_the_service_in_its_header_and_never_comes_back(api, stripe):
    response = invoke(api, "charges.read", parameters={"charge_id": "ch_1"})
    assert response.status_code == 200, response.content
    received = stripe["service"].received("/echo/charges/ch_1")
    assert len(received) == 1
    assert received[0]["headers"]["x-service-key"] == SECRET
    answer = response.json()
    # The service echoed every header, the key included: the proxy stripped it.
    assert answer["result"]["headers"]["x-service-key"] == "[REDACTED]"
    assert_no_secret(response)
    assert answer["status"] == "success" and answer["error"] is None
    assert answer["grant_id"] == stripe["grant"]["id"] and answer["agent_id"] == "agent-worker"
    assert answer["service"] == "acme" and answer["tool_name"] == "charges.read"
    assert isinstance(answer["duration_ms"], int)
    # The id answered is the stored row's (0.9.1 answered one it never stored).
    rows = api.get(f"/api/v1/grants/{stripe['grant']['id']}/invocations").json()
    assert [row["id"] for row in rows] == [answer["invocation_id"]]
    assert rows[0]["status"] == "success" and rows[0]["origin"] == "proxy"
    assert_no_secret(api.get(f"/api/v1/grants/{stripe['grant']['id']}/invocations"))


@pytest.mark.parametrize("name", ["charges.read", "acme.charges.read"])
def test_a_tool_is_named_with_or_without_its_service(api, stripe, name):
    response = invoke(api, name, parameters={"charge_id": "ch_2"})
    assert response.status_code == 200, response.content
    assert response.json()["result"]["path"] == "/echo/charges/ch_2"


def test_query_and_body_parameters_are_sent_where_the_method_puts_them(api, stripe):
    register_tool(
        api,
        stripe["service"].url,
        name="charges.create",
        path="/echo/charges",
        method="POST",
        parameters={"amount": {"type": "integer", "required": True}, "currency": {"type": "string"}},
    )
    register_tool(
        api,
        stripe["service"].url,
        name="charges.list",
        scope="charges.read",
        path="/echo/charges",
        parameters={"limit": {"type": "integer"}},
    )
    grant = new_grant(
        api, stripe["credential"]["id"], agent_id="agent-biller", scopes=["charges.create", "charges.read"]
    )
    created = invoke(api, "charges.create", agent_id="agent-biller", parameters={"amount": 2500, "currency": "usd"})
    assert created.status_code == 200, created.content
    assert created.json()["result"]["body"] == {"amount": 2500, "currency": "usd"}
    assert created.json()["grant_id"] == grant["id"]
    # A tool whose scope differs from its name is allowed by the scope.
    listed = invoke(api, "charges.list", agent_id="agent-biller", parameters={"limit": 3})
    assert listed.status_code == 200, listed.content
    assert listed.json()["result"]["query"] == {"limit": "3"}


def test_bearer_and_basic_credentials_are_injected_as_their_auth_type_says(api, tool_service):  # noqa: F811
    vault = new_vault(api)
    bearer = new_credential(
        api, vault["id"], "bearer-token-xyz", service="bearing", auth_type="bearer_token", scopes_available=[]
    )
    basic = new_credential(
        api,
        vault["id"],
        {"username": "svc-user", "password": "pa55word-secret"},
        service="basic",
        auth_type="basic_auth",
        scopes_available=[],
    )
    for service in ("bearing", "basic"):
        register_tool(api, tool_service.url, service=service, name="ping", path=f"/echo/{service}", parameters={})
    new_grant(api, bearer["id"], scopes=["ping"])
    new_grant(api, basic["id"], agent_id="agent-basic", scopes=["ping"])

    response = invoke(api, "bearing.ping")
    assert response.status_code == 200, response.content
    assert tool_service.received("/echo/bearing")[0]["headers"]["authorization"] == "Bearer bearer-token-xyz"
    assert_no_secret(response, "bearer-token-xyz")

    response = invoke(api, "basic.ping", agent_id="agent-basic")
    assert response.status_code == 200, response.content
    encoded = base64.b64encode(b"svc-user:pa55word-secret").decode()
    assert tool_service.received("/echo/basic")[0]["headers"]["authorization"] == f"Basic {encoded}"
    assert_no_secret(response, "pa55word-secret", encoded)


def test_oauth2_client_credentials_fetch_a_token_and_send_it(api, tool_service):  # noqa: F811
    vault = new_vault(api)
    credential = new_credential(
        api,
        vault["id"],
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        service="oauthsvc",
        auth_type="oauth2_client_credentials",
        auth_config={"token_url": tool_service.url + "/token", "scope": "read"},
        scopes_available=[],
    )
    register_tool(api, tool_service.url, service="oauthsvc", name="me", path="/echo/me", parameters={})
    new_grant(api, credential["id"], scopes=["me"])
    for _ in range(2):
        response = invoke(api, "oauthsvc.me")
        assert response.status_code == 200, response.content
        assert_no_secret(response, CLIENT_SECRET, ACCESS_TOKEN)
    token_requests = tool_service.received("/token")
    # The token is kept (in the process) for its lifetime: one request for two calls.
    assert len(token_requests) == 1
    assert "grant_type=client_credentials" in token_requests[0]["body"]
    assert [request["headers"]["authorization"] for request in tool_service.received("/echo/me")] == [
        f"Bearer {ACCESS_TOKEN}"
    ] * 2


def test_an_oauth2_credential_needs_its_token_url(api):
    vault = new_vault(api)
    response = api.post(
        "/api/v1/credentials",
        {
            "vault_id": vault["id"],
            "service": "x",
            "label": "x",
            "auth_type": "oauth2_client_credentials",
            "material": {"client_id": "a", "client_secret": SECRET},
        },
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "auth_config", "token_url"]
    assert_no_secret(response)


def test_no_grant_is_refused_with_grant_not_found_and_recorded(api, stripe):
    response = invoke(api, "charges.read", agent_id="stranger", parameters={"charge_id": "c"})
    assert response.status_code == 403
    answer = response.json()
    assert answer["detail"] == "No active grant found for agent 'stranger' to use tool 'charges.read'"
    assert answer["status"] == "denied" and answer["error"]["code"] == "GRANT_NOT_FOUND"
    row = api.get(f"/api/v1/invocations/{answer['invocation_id']}", HTTP_X_AGENT_ID="stranger").json()
    assert row["status"] == "denied" and row["error"]["code"] == "GRANT_NOT_FOUND"
    assert stripe["service"].requests == []


def test_a_scope_outside_the_grant_is_refused_with_the_scopes_available(api, stripe):
    register_tool(api, stripe["service"].url, name="refunds.create", path="/echo/refunds", method="POST", parameters={})
    response = invoke(api, "acme.refunds.create")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "GRANT_SCOPE_INSUFFICIENT"
    assert error["requested_scope"] == "refunds.create" and error["available_scopes"] == ["charges.read"]
    assert stripe["service"].requests == []


def test_an_expired_grant_is_skipped_for_a_valid_one_and_alone_is_refused(api, stripe):
    credential_id = stripe["credential"]["id"]
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    new_grant(api, credential_id, agent_id="agent-late", expires_at=past)
    alone = invoke(api, "charges.read", agent_id="agent-late", parameters={"charge_id": "c"})
    assert alone.status_code == 403 and alone.json()["error"]["code"] == "GRANT_EXPIRED"
    assert api.get("/api/v1/agents/agent-late/grants").json()[0]["status"] == "expired"
    valid = new_grant(api, credential_id, agent_id="agent-late")
    response = invoke(api, "charges.read", agent_id="agent-late", parameters={"charge_id": "c"})
    assert response.status_code == 200, response.content
    assert response.json()["grant_id"] == valid["id"]


def test_parameters_are_checked_against_the_schema_and_the_grants_constraints(api, stripe):
    register_tool(
        api,
        stripe["service"].url,
        name="charges.create",
        path="/echo/charges",
        method="POST",
        parameters={
            "amount": {"type": "integer", "required": True},
            "currency": {"type": "string"},
            "metadata": {"type": "object"},
        },
    )
    new_grant(
        api,
        stripe["credential"]["id"],
        agent_id="agent-biller",
        scopes=["charges.create"],
        constraints={
            "allowed_parameters": {"currency": ["usd", "eur"], "amount_max": 5000},
            "denied_parameters": {"metadata.test_mode": [True]},
        },
    )

    def call(**parameters):
        return invoke(api, "charges.create", agent_id="agent-biller", parameters=parameters)

    missing = call(currency="usd")
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "INVALID_PARAMETERS"
    assert "'amount' is required" in missing.json()["detail"]
    assert call(amount="12").json()["error"]["code"] == "INVALID_PARAMETERS"
    assert call(amount=1, extra=1).json()["error"]["code"] == "INVALID_PARAMETERS"
    for refused in (
        {"amount": 100, "currency": "jpy"},
        {"amount": 9000, "currency": "usd"},
        {"amount": 100, "metadata": {"test_mode": True}},
    ):
        response = call(**refused)
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "GRANT_PARAMETER_DENIED"
    assert stripe["service"].requests == []
    assert call(amount=100, currency="eur", metadata={"test_mode": False}).status_code == 200


def test_the_rate_limit_counts_proxy_calls_only_and_says_when_to_retry(api, stripe):
    grant = new_grant(
        api, stripe["credential"]["id"], agent_id="agent-limited", constraints={"max_invocations_per_hour": 2}
    )
    # Calls an agent reports itself do not use the proxy's allowance (0.9.1 counted them).
    recorded = api.post(
        "/api/v1/invocations",
        {"grant_id": grant["id"], "service": "acme", "tool": "charges.read", "agent_id": "agent-limited"},
        format="json",
    )
    assert recorded.status_code == 200, recorded.content
    statuses = [invoke(api, "charges.read", agent_id="agent-limited", parameters={"charge_id": "c"}) for _ in range(3)]
    assert [response.status_code for response in statuses] == [200, 200, 429]
    refused = statuses[-1]
    assert refused.json()["error"]["code"] == "GRANT_RATE_LIMITED"
    assert refused.json()["detail"] == "Rate limit exceeded: 2 invocations per hour"
    assert int(refused["Retry-After"]) > 0
    assert len(stripe["service"].received("/echo")) == 2
    # Denials are recorded too (and do not count).
    rows = api.get(f"/api/v1/grants/{grant['id']}/invocations").json()
    assert [row["status"] for row in rows] == ["denied", "success", "success", "success"]


def test_a_string_rate_limit_is_refused_when_the_grant_is_made(api, stripe):
    response = api.post(
        "/api/v1/grants",
        {
            "credential_id": stripe["credential"]["id"],
            "agent_id": "a",
            "granted_by": "x",
            "constraints": {"max_invocations_per_hour": "5"},
        },
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "constraints"]


def test_an_idempotency_key_makes_a_retried_call_run_once(api, stripe):
    first = invoke(api, "charges.read", parameters={"charge_id": "c"}, idempotency_key="retry-1")
    second = invoke(api, "charges.read", parameters={"charge_id": "c"}, idempotency_key="retry-1")
    assert first.status_code == second.status_code == 200
    assert second.json()["invocation_id"] == first.json()["invocation_id"]
    assert second.json()["idempotent_replay"] is True and first.json()["idempotent_replay"] is False
    assert second.json()["result"] == first.json()["result"]
    assert len(stripe["service"].received("/echo")) == 1
    other = invoke(api, "acme.charges.create", parameters={}, idempotency_key="retry-1")
    assert other.status_code == 409


def test_a_slow_tool_times_out_as_a_proxy_error(api, stripe):
    register_tool(
        api,
        stripe["service"].url,
        name="charges.slow",
        scope="charges.read",
        path="/slow",
        parameters={},
        timeout_seconds=0.5,
    )
    response = invoke(api, "charges.slow")
    assert response.status_code == 504, response.content
    answer = response.json()
    assert answer["status"] == "error" and answer["error"]["code"] == "PROXY_ERROR"
    assert "timed out" in answer["error"]["message"]
    row = api.get(f"/api/v1/invocations/{answer['invocation_id']}").json()
    assert row["status"] == "error" and row["error"]["code"] == "PROXY_ERROR"


def test_a_failing_service_is_a_service_error_with_the_secret_stripped(api, stripe):
    register_tool(api, stripe["service"].url, name="charges.fail", scope="charges.read", path="/fail", parameters={})
    response = invoke(api, "charges.fail")
    assert response.status_code == 502, response.content
    error = response.json()["error"]
    assert error["code"] == "SERVICE_ERROR" and error["service_status"] == 500
    # The service put the key in its error; the agent sees it redacted.
    assert "[REDACTED]" in error["service_answer"]["debug"]
    assert_no_secret(response)


def test_an_unregistered_tool_is_a_proxy_error(api, stripe):
    response = invoke(api, "charges.create", parameters={})
    assert response.status_code == 403  # not in the grant's scopes
    grant = new_grant(api, stripe["credential"]["id"], agent_id="agent-x", scopes=["charges.create"])
    response = invoke(api, "charges.create", agent_id="agent-x", parameters={})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "PROXY_ERROR"
    assert response.json()["grant_id"] == grant["id"]


def test_a_call_for_an_intent_books_its_cost_and_is_logged_there(api, stripe):
    register_tool(api, stripe["service"].url, estimated_cost_usd=0.02)
    intent = new_intent(api, "Bill the customer")
    response = invoke(api, "charges.read", parameters={"charge_id": "c"}, context={"intent_id": intent["id"]})
    assert response.status_code == 200, response.content
    assert response.json()["cost"] == {"api_units": 1, "estimated_cost_usd": 0.02}
    costs = api.get(f"/api/v1/intents/{intent['id']}/costs").json()["costs"]
    assert len(costs) == 1
    assert costs[0]["amount"] == 0.02 and costs[0]["unit"] == "USD"
    assert costs[0]["metadata"]["category"] == "external_tool"
    assert costs[0]["metadata"]["invocation_id"] == response.json()["invocation_id"]
    invoked = [event for event in event_log(api, intent["id"]) if event["event_type"] == "tool.invoked"]
    assert len(invoked) == 1
    assert invoked[0]["payload"]["invocation_id"] == response.json()["invocation_id"]
    listed = api.get(f"/api/v1/intents/{intent['id']}/invocations").json()
    assert [row["id"] for row in listed] == [response.json()["invocation_id"]]


def test_a_grant_bound_to_an_intent_serves_only_calls_for_it(api, stripe):
    intent = new_intent(api, "Bound work")
    new_grant(api, stripe["credential"]["id"], agent_id="agent-bound", context={"intent_id": intent["id"]})
    unbound = invoke(api, "charges.read", agent_id="agent-bound", parameters={"charge_id": "c"})
    assert unbound.status_code == 403 and unbound.json()["error"]["code"] == "GRANT_CONTEXT_MISMATCH"
    bound = invoke(
        api, "charges.read", agent_id="agent-bound", parameters={"charge_id": "c"}, context={"intent_id": intent["id"]}
    )
    assert bound.status_code == 200, bound.content
    denied = [event for event in event_log(api, intent["id"]) if event["event_type"] == "tool.denied"]
    assert denied == []  # the refused call named no intent


def test_the_rfc_request_shape_with_a_grant_id_works(api, stripe):
    response = api.post(
        "/api/v1/tools/invoke",
        {"grant_id": stripe["grant"]["id"], "tool": "acme.charges.read", "parameters": {"charge_id": "c9"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["agent_id"] == "agent-worker"
    unknown = api.post(
        "/api/v1/tools/invoke",
        {"grant_id": "00000000-0000-4000-8000-000000000000", "tool": "x", "agent_id": "agent-worker"},
        format="json",
    )
    assert unknown.status_code == 403 and unknown.json()["error"]["code"] == "GRANT_NOT_FOUND"


def test_a_key_invokes_only_as_agents_it_may_act_for(stripe, db):
    issue_key("narrow-key", "agent-narrow", acts_for=["agent-narrow"])
    narrow = client_for("narrow-key")
    response = invoke(narrow, "charges.read", agent_id="agent-worker", parameters={"charge_id": "c"})
    assert response.status_code == 403
    assert stripe["service"].requests == []


def test_tools_are_discovered_and_granted_tools_listed_per_agent(api, stripe):
    assert [tool["name"] for tool in api.get("/api/v1/tools").json()] == ["charges.read"]
    assert api.get("/api/v1/tools/acme").json()[0]["url_template"].endswith("/echo/charges/{charge_id}")
    assert api.get("/api/v1/tools/nothing").json() == []
    granted = api.get("/api/v1/tools/granted", {"agent_id": "agent-worker"}).json()
    assert granted["agent_id"] == "agent-worker"
    assert [(tool["service"], tool["tool"], tool["registered"]) for tool in granted["tools"]] == [
        ("acme", "charges.read", True)
    ]
    assert granted["tools"][0]["grant_id"] == stripe["grant"]["id"]
    api.delete(f"/api/v1/grants/{stripe['grant']['id']}")
    assert api.get("/api/v1/tools/granted", {"agent_id": "agent-worker"}).json()["tools"] == []
    # Without agent_id: the caller's own.
    assert api.get("/api/v1/tools/granted").json()["agent_id"] == "agent-research"


def test_credentials_that_could_not_go_into_a_request_are_refused_when_stored(api):
    vault = new_vault(api)

    def create(**fields):
        return api.post(
            "/api/v1/credentials", {"vault_id": vault["id"], "service": "s", "label": "l", **fields}, format="json"
        )

    not_a_header = create(material="clé-secrète", auth_type="bearer_token")
    assert not_a_header.status_code == 422 and "clé" not in not_a_header.content.decode()
    assert create(material="x", auth_config={"header_name": "X Bad"}).status_code == 422
    bad_url = create(
        material={"client_id": "a", "client_secret": "b"},
        auth_type="oauth2_client_credentials",
        auth_config={"token_url": "ftp://tokens"},
    )
    assert bad_url.status_code == 422 and bad_url.json()["detail"][0]["loc"] == ["body", "auth_config", "token_url"]


def test_a_malformed_context_agent_is_refused_naming_the_field(api, stripe):
    response = api.post(
        "/api/v1/tools/invoke", {"tool_name": "charges.read", "context": {"agent_id": {"a": 1}}}, format="json"
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "context", "agent_id"]
    too_long = invoke(api, "x" * 256)
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["body", "tool_name"]
