"""A tool call that waits on its service does not hold up the server's other requests: tool calls run on threads of
their own (settings.WAITING_PATHS, openintent_site.threaded_http)."""

import threading

import httpx
import pytest

from agents.vaults import crypto
from tests.conftest import client_for, start_server, wait_for

from .tool_service import new_credential, new_grant, new_vault, register_tool, tool_service  # noqa: F401


@pytest.fixture
def one_turn_server(server_env, transactional_db, keys):
    """A server process with one thread for plain requests and one for waiting ones, opening this process's vault."""
    keys_text, _ = crypto.configured_key_texts()
    server = start_server(
        {
            **server_env,
            "OPENINTENT_HTTP_THREADS": "1",
            "OPENINTENT_HTTP_WAITING_THREADS": "1",
            "OPENINTENT_VAULT_KEYS": ",".join(keys_text),
        }
    )
    yield server
    server.stop()


def test_a_tool_call_waiting_on_its_service_leaves_the_only_request_thread_to_other_requests(
    one_turn_server,
    tool_service,  # noqa: F811
):
    api = client_for("agent-research-key")
    vault = new_vault(api)
    credential = new_credential(
        api,
        vault["id"],
        "sk_live_held_1234",
        auth_config={"header_name": "X-Service-Key"},
        scopes_available=["charges.held"],
    )
    register_tool(api, tool_service.url, name="charges.held", path="/held", parameters={})
    new_grant(api, credential["id"], scopes=["charges.held"])
    intent = api.post("/api/v1/intents", {"title": "read while a tool call waits"}, format="json").json()
    url, headers = one_turn_server.url, {"X-API-Key": "agent-research-key"}
    answers = {}

    def call_the_tool():
        answers["tool"] = httpx.post(
            f"{url}/api/v1/tools/invoke",
            json={"tool_name": "charges.held", "agent_id": "agent-worker"},
            headers=headers,
            timeout=60,
        )

    caller = threading.Thread(target=call_the_tool)
    try:
        caller.start()
        assert wait_for(lambda: tool_service.received("/held"), timeout=30), (
            answers.get("tool") and answers["tool"].content
        )

        # The server's one thread for plain requests is free while the call waits on its service.
        read = httpx.get(f"{url}/api/v1/intents/{intent['id']}", headers=headers, timeout=20)
        assert read.status_code == 200
        assert "tool" not in answers

        tool_service.release.set()
        caller.join(timeout=60)
        assert answers["tool"].status_code == 200, answers["tool"].content
        assert answers["tool"].json()["result"] == {"held": True}
    finally:
        tool_service.release.set()
        caller.join(timeout=60)
