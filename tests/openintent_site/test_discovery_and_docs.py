"""Discovery documents, the OpenAPI schema and the documentation pages: public, and true to what is served."""

import re

import pytest
from django.conf import settings
from django.urls import resolve

from openintent_site import answers
from tests.conftest import api_routes, client_for, concrete_path

PROTOCOL = "/.well-known/openintent.json"
COMPAT = "/.well-known/openintent-compat.json"
SOME_ID = "00000000-0000-4000-8000-000000000000"

# A route that serves each advertised capability and RFC. A capability missing here fails the test below: add the
# route that implements it.
CAPABILITY_ROUTES = {
    "intents": "/api/v1/intents",
    "events": "/api/v1/intents/{id}/events",
    "agents": "/api/v1/intents/{id}/agents",
    "state-patches": "/api/v1/intents/{id}/state",
    "optimistic-concurrency": "/api/v1/intents/{id}/status",
    "intent-graphs": "/api/v1/intents/{id}/graph",
    "leasing": "/api/v1/intents/{id}/leases",
    "governance": "/api/v1/intents/{id}/arbitrate",
    "attachments": "/api/v1/intents/{id}/attachments",
    "cost-tracking": "/api/v1/intents/{id}/costs",
    "retry-policies": "/api/v1/intents/{id}/retry-policy",
    "access-control": "/api/v1/intents/{id}/acl",
    "portfolios": "/api/v1/portfolios",
    "webhook-subscriptions": "/api/v1/subscriptions",
    "subscriptions": "/api/v1/intents/{id}/subscribe",
    "tasks": "/api/v1/tasks/{id}/claim",
    "plans": "/api/v1/plans/{id}/activate",
    "streaming": "/api/v1/intents/{id}/subscribe",
    "agent-registry": "/api/v1/agents/{id}/heartbeat",
    "memory": "/api/v1/memory",
    "vaults": "/api/v1/vaults",
    "tools": "/api/v1/tools/invoke",
    "coordinators": "/api/v1/coordinators/{id}/heartbeat",
}
RFC_ROUTES = {
    "0001": "/api/v1/intents",
    "0002": "/api/v1/intents/{id}/children",
    "0003": "/api/v1/intents/{id}/leases",
    "0004": "/api/v1/intents/{id}/decisions",
    "0005": "/api/v1/intents/{id}/attachments",
    "0006": "/api/v1/intents/{id}/subscribe",
    "0007": "/api/v1/portfolios",
    "0009": "/api/v1/intents/{id}/costs",
    "0010": "/api/v1/intents/{id}/failures",
    "0011": "/api/v1/intents/{id}/access-requests",
    "0012": "/api/v1/checkpoints/{id}/approve",
    "0013": "/api/v1/coordinators/{id}/guardrails",
    "0014": "/api/v1/grants",
    "0015": "/api/v1/memory",
    "0016": "/api/v1/agents/{id}/heartbeat",
}
# What the README lists as done; all of it must be advertised.
IMPLEMENTED = set(CAPABILITY_ROUTES)
NOT_IMPLEMENTED = {"triggers"}


def served(path):
    """Whether ``path`` reaches a view of its own rather than the catch-all JSON 404."""
    return resolve(path.format(id=SOME_ID)).func is not answers.json_not_found


def camel(name):
    head, *rest = name.split("-")
    return head + "".join(part.title() for part in rest)


@pytest.fixture(params=[None, "wrong-key"], ids=["no-key", "wrong-key"])
def public(request, db):
    """Public pages answer whatever key is sent, or none."""
    return client_for(request.param)


def test_the_protocol_document(public):
    response = public.get(PROTOCOL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["protocol"] == "OpenIntent Coordination Protocol"
    assert document["version"] == settings.OPENINTENT_PROTOCOL_VERSION
    assert document["openApiUrl"] == "/openapi.json"
    assert all(re.fullmatch(r"/rfc/\d{4}", url) for url in document["rfcUrls"])


def test_the_compatibility_document(public):
    response = public.get(COMPAT)

    assert response.status_code == 200
    document = response.json()
    assert document["implementation"] == "OpenIntent Django Server"
    assert isinstance(document["version"], str)
    assert set(document["rfcCompliance"].values()) <= {"full", "partial"}


def test_every_advertised_capability_is_served(client, db):
    capabilities = client.get(PROTOCOL).json()["capabilities"]

    assert len(capabilities) == len(set(capabilities))
    unknown = set(capabilities) - set(CAPABILITY_ROUTES)
    assert not unknown, f"advertised, but this test does not know the route serving it: {unknown}"
    assert [name for name in capabilities if not served(CAPABILITY_ROUTES[name])] == []
    assert not set(capabilities) & NOT_IMPLEMENTED


def test_everything_implemented_is_advertised(client, db):
    assert set(client.get(PROTOCOL).json()["capabilities"]) >= IMPLEMENTED


def test_every_advertised_rfc_is_served_and_both_documents_agree(client, db):
    rfc_urls = client.get(PROTOCOL).json()["rfcUrls"]
    compliance = client.get(COMPAT).json()["rfcCompliance"]

    numbers = [url.rsplit("/", 1)[1] for url in rfc_urls]
    assert {f"RFC-{number}" for number in numbers} == set(compliance)
    assert {"0001", "0002", "0003"} <= set(numbers)
    assert set(numbers) <= set(RFC_ROUTES), "an RFC is advertised that this test does not know"
    assert [number for number in numbers if not served(RFC_ROUTES[number])] == []


def test_the_feature_flags_match_the_capabilities(client, db):
    capabilities = client.get(PROTOCOL).json()["capabilities"]
    features = client.get(COMPAT).json()["features"]

    assert features == {camel(name): True for name in capabilities}


def test_every_advertised_rfc_url_resolves_to_the_rfcs_text(client, db):
    for url in client.get(PROTOCOL).json()["rfcUrls"]:
        response = client.get(url)
        number = url.rsplit("/", 1)[1]
        assert response.status_code == 302, url
        assert re.fullmatch(
            rf"https://github\.com/openintent-ai/openintent/blob/3cb285d/docs/rfcs/{number}-[a-z-]+\.md",
            response["Location"],
        )


def test_an_rfc_this_server_does_not_implement_is_not_found(client, db):
    for number in ("0008", "0017", "9999", "x"):
        response = client.get(f"/rfc/{number}")
        assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


# OpenAPI and documentation ------------------------------------------------------------------------------------


@pytest.fixture
def schema(db):
    response = client_for(None).get("/openapi.json")
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    return response.json()


def openapi_path(route):
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


ROUTES = [(method, route) for method, route, _ in api_routes()]


@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m.upper()} {r}" for m, r in ROUTES])
def test_the_schema_documents_every_api_route(schema, method, route):
    operation = schema["paths"][openapi_path(route)][method]

    assert operation["operationId"]
    assert any(code.startswith("2") for code in operation["responses"])


def test_the_schema_documents_no_route_that_is_not_served(schema):
    for path in schema["paths"]:
        assert served(concrete_path(re.sub(r"\{\w+\}", "<x>", path))), path


def test_the_schema_is_openapi_with_the_key_scheme_and_unique_operations(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    operation_ids = [operation["operationId"] for item in schema["paths"].values() for operation in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_versioned_writes_document_if_match(schema):
    for path in ["/api/v1/intents/{intent_id}/state", "/api/v1/intents/{intent_id}/status"]:
        parameters = schema["paths"][path]["post"]["parameters"]
        assert {"name": "If-Match", "in": "header"}.items() <= next(
            p for p in parameters if p["in"] == "header"
        ).items()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_documentation_pages_are_html_without_a_key(public, path):
    response = public.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<html" in page.lower()
    assert "/openapi.json" in page
