"""Every exception mapped from a real answer of the live server, and the product README's Client Usage and
Error Handling blocks run verbatim (base_url changed)."""

import contextlib
import io
import socket

import pytest
from openintent import (
    AuthenticationError,
    ConflictError,
    LeaseConflictError,
    NotFoundError,
    OpenIntentClient,
    OpenIntentConnectionError,
    OpenIntentError,
    PermissionDeniedError,
    ValidationError,
)

from .conftest import MISSING


def test_not_found(oi):
    for intent_id in (MISSING, "nonexistent"):
        with pytest.raises(NotFoundError) as caught:
            oi.get_intent(intent_id)
        assert caught.value.status_code == 404 and caught.value.message == "Intent not found"
        assert caught.value.response["detail"] == "Intent not found"
    with pytest.raises(NotFoundError):
        oi.get_events(MISSING)


def test_conflicts(oi, other):
    intent = oi.create_intent("Conflicted")
    oi.update_state(intent.id, intent.version, {"a": 1})
    with pytest.raises(ConflictError) as stale:
        oi.update_state(intent.id, intent.version, {"a": 2})
    assert stale.value.current_version == intent.version + 1 and stale.value.status_code == 409
    with pytest.raises(ConflictError) as illegal:
        oi.set_status(intent.id, intent.version + 1, "draft")
    assert illegal.value.current_version is None and "draft" in illegal.value.message
    other.acquire_lease(intent.id, "scope")
    with pytest.raises(LeaseConflictError) as held:
        oi.acquire_lease(intent.id, "scope")
    assert held.value.existing_lease["agent_id"] == "agent-synth"
    assert not isinstance(held.value, ConflictError)


def test_validation_errors_400_and_422(oi):
    with pytest.raises(ValidationError) as schema:
        oi.create_intent("")
    assert schema.value.status_code == 422
    assert schema.value.errors[0]["loc"] == ["body", "title"] and schema.value.errors[0]["type"]
    assert "title" in schema.value.message
    intent = oi.create_intent("Self")
    with pytest.raises(ValidationError) as rule:
        oi.add_dependency(intent.id, intent.id, intent.version)
    assert rule.value.status_code == 400 and "cycle" in rule.value.message and rule.value.errors == []


def test_authentication_error(clients):
    with pytest.raises(AuthenticationError) as caught:
        clients("not-a-key", "nobody").list_intents()
    assert caught.value.status_code == 401 and caught.value.message == "Invalid or missing API key"


def test_permission_denied(oi, other):
    intent = oi.create_intent("Mine")
    oi.set_acl(intent.id, "restricted")
    with pytest.raises(PermissionDeniedError) as caught:
        other.get_acl(intent.id)
    assert caught.value.required_permission == "read" and caught.value.status_code == 403
    assert not isinstance(caught.value, PermissionError)


def test_connection_error(clients):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(OpenIntentConnectionError) as caught:
        clients(url=url, max_retries=0).discover()
    assert isinstance(caught.value, OpenIntentError)


PRODUCT_CLIENT_USAGE = """
from openintent import OpenIntentClient

client = OpenIntentClient(
    base_url="https://api.openintent.ai",
    api_key="your-api-key",
    agent_id="my-agent"
)

intent = client.create_intent(
    title="Research market trends",
    description="Analyze Q4 market data",
    constraints={"deadline": "2024-02-01"}
)

client.update_state(
    intent.id, intent.version,
    {"progress": 0.5, "phase": "analysis"}
)

with client.lease(intent.id, "analysis", duration_seconds=300) as lease:
    pass  # Exclusive scope access

client.set_status(intent.id, intent.version + 1, "completed")
"""

PRODUCT_ERROR_HANDLING = """
from openintent import (
    OpenIntentError, ConflictError,
    NotFoundError, LeaseConflictError, ValidationError,
)

try:
    intent = client.get_intent("nonexistent")
except NotFoundError:
    print("Not found")
except ConflictError:
    print("Version conflict")
except LeaseConflictError:
    print("Lease conflict")
"""


def test_product_readme_client_usage_verbatim(live_server_url):
    code = PRODUCT_CLIENT_USAGE.replace("https://api.openintent.ai", live_server_url)
    code = code.replace("your-api-key", "agent-research-key")
    namespace: dict = {}
    exec(compile(code, "product-readme-client-usage", "exec"), namespace)
    client = namespace["client"]
    final = client.get_intent(namespace["intent"].id)
    assert final.status == "completed" and final.state.to_dict() == {"progress": 0.5, "phase": "analysis"}
    assert client.get_leases(final.id) == []
    client.close()


def test_product_readme_error_handling_verbatim(live_server_url):
    out = io.StringIO()
    client = OpenIntentClient(live_server_url, "agent-research-key", "agent-research")
    with client, contextlib.redirect_stdout(out):
        exec(compile(PRODUCT_ERROR_HANDLING, "product-readme-error-handling", "exec"), {"client": client})
    assert out.getvalue() == "Not found\n"
