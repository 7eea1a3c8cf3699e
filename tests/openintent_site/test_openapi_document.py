"""The OpenAPI document tells the truth (issue 13, item 8): each answer a route gives, error or not, is one the document
lists for that operation, with a media type and a body its schema allows; the request constraints it states
(If-Match, a required body) are the server's own; every operation names the key it needs.

Each case makes the server answer through the API and checks the answer with schemathesis' own checks, the ones
``make fuzz`` runs over every operation."""

import datetime
import json
import re
import uuid

import httpx
import pytest
import schemathesis
from django.core.exceptions import FieldDoesNotExist
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework import serializers
from schemathesis.specs.openapi import checks

import governance.api  # noqa: F401  every app's serializers, for model_serializers()
import intents.urls  # noqa: F401
from tests.conftest import client_for, issue_key, new_intent

CONFORMANCE = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        response = client_for(None).get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def openapi(document):
    return schemathesis.openapi.from_dict(document)


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


def answered_as_documented(openapi, method, template, response):
    """Fail, with schemathesis' report, unless ``response`` is an answer the document gives ``method template``."""
    request = httpx.Request(method, f"http://testserver{response.wsgi_request.get_full_path()}")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    answer = httpx.Response(response.status_code, headers=list(response.items()), content=content)
    answer.request, answer.elapsed = request, datetime.timedelta(0)
    case = openapi[template][method].Case(path_parameters=response.resolver_match.kwargs)
    case.validate_response(answer, checks=CONFORMANCE)
    return response


def intent_path(intent, tail=""):
    return f"/api/v1/intents/{intent['id']}{tail}"


# Error answers: every status a route gives is documented, with the shared error schema --------------------------


def test_a_missing_key_is_a_documented_401(openapi, anonymous_api, db):
    response = anonymous_api.get(f"/api/v1/intents/{uuid.uuid4()}")

    assert response.status_code == 401
    answered_as_documented(openapi, "GET", "/api/v1/intents/{intent_id}", response)


def test_an_agent_the_key_may_not_act_for_is_a_documented_403(openapi, document, db):
    issue_key("narrow-key", "agent-narrow", acts_for=())

    response = client_for("narrow-key").get("/api/v1/intents", HTTP_X_AGENT_ID="agent-other")

    assert response.status_code == 403
    answered_as_documented(openapi, "GET", "/api/v1/intents", response)
    parameters = document["paths"]["/api/v1/intents"]["get"]["parameters"]
    assert "X-Agent-ID" in [parameter["name"] for parameter in parameters if parameter["in"] == "header"]


def test_a_missing_permission_is_a_documented_403_naming_it(openapi, api, other_api):
    intent = new_intent(api)
    api.put(intent_path(intent, "/acl"), {"default_policy": "private", "entries": []}, format="json")

    response = other_api.get(intent_path(intent, "/costs"))

    assert response.status_code == 403
    assert response.json()["required_permission"] == "read"
    answered_as_documented(openapi, "GET", "/api/v1/intents/{intent_id}/costs", response)


@pytest.mark.parametrize(
    ("method", "template", "path"),
    [
        ("GET", "/api/v1/intents/{intent_id}", "/api/v1/intents/{id}"),
        ("GET", "/api/v1/intents/{intent_id}/retry-policy", "/api/v1/intents/{id}/retry-policy"),
        ("DELETE", "/api/v1/subscriptions/{subscription_id}", "/api/v1/subscriptions/{id}"),
        ("GET", "/api/v1/portfolios/{portfolio_id}/intents", "/api/v1/portfolios/{id}/intents"),
    ],
)
def test_an_unknown_id_in_the_path_is_a_documented_404(openapi, api, method, template, path):
    response = api.generic(method, path.format(id=uuid.uuid4()))

    assert response.status_code == 404
    answered_as_documented(openapi, method, template, response)


def test_an_unknown_id_in_the_body_is_a_documented_404(openapi, api):
    response = api.post("/api/v1/intents", {"title": "child", "parent_intent_id": str(uuid.uuid4())}, format="json")

    assert response.status_code == 404
    answered_as_documented(openapi, "POST", "/api/v1/intents", response)


@pytest.mark.parametrize(
    ("method", "template", "path", "data"),
    [
        ("POST", "/api/v1/intents", "/api/v1/intents", {"title": ""}),
        ("GET", "/api/v1/intents", "/api/v1/intents?limit=0", None),
        ("GET", "/api/v1/intents/{intent_id}/events", "/api/v1/intents/{id}/events?since=yesterday", None),
        ("POST", "/api/v1/intents/{intent_id}/costs", "/api/v1/intents/{id}/costs", {"cost_type": "tokens"}),
    ],
)
def test_input_that_breaks_a_rule_is_a_documented_422(openapi, api, method, template, path, data):
    intent = new_intent(api)

    response = api.generic(method, path.format(id=intent["id"]), **({} if data is None else json_body(data)))

    assert response.status_code == 422
    answered_as_documented(openapi, method, template, response)


def json_body(data):
    return {"data": json.dumps(data), "content_type": "application/json"}


@pytest.mark.parametrize(
    ("method", "template", "tail"),
    [
        ("POST", "/api/v1/intents/{intent_id}/access-requests", "/access-requests"),
        ("POST", "/api/v1/intents/{intent_id}/state", "/state"),
        ("PUT", "/api/v1/intents/{intent_id}/acl", "/acl"),
    ],
)
def test_a_missing_body_is_refused_and_documented_as_required(openapi, document, api, method, template, tail):
    # Every field of these bodies is optional; the body itself is not (api.body answers "Field required").
    intent = new_intent(api)

    response = api.generic(method, intent_path(intent, tail), HTTP_IF_MATCH="1")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]
    answered_as_documented(openapi, method, template, response)
    assert document["paths"][template][method.lower()]["requestBody"]["required"] is True


def test_a_body_past_the_limit_is_a_documented_413(openapi, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048

    response = api.post("/api/v1/intents", {"title": "t", "description": "x" * 4096}, format="json")

    assert response.status_code == 413
    answered_as_documented(openapi, "POST", "/api/v1/intents", response)


def test_more_query_fields_than_django_reads_is_a_documented_400(openapi, api):
    query = "&".join(f"f{number}=1" for number in range(1100))

    response = api.get(f"/api/v1/intents?{query}")

    assert response.status_code == 400
    answered_as_documented(openapi, "GET", "/api/v1/intents", response)


@pytest.mark.parametrize(("if_match", "status"), [("abc", 400), ("5", 409)])
def test_if_match_answers_are_documented(openapi, api, if_match, status):
    intent = new_intent(api)

    response = api.post(intent_path(intent, "/state"), {"state": {"a": 1}}, format="json", HTTP_IF_MATCH=if_match)

    assert response.status_code == status
    answered_as_documented(openapi, "POST", "/api/v1/intents/{intent_id}/state", response)


def test_a_conflict_with_a_lease_is_a_documented_409_naming_the_lease(openapi, api, other_api):
    intent = new_intent(api)
    assert api.post(intent_path(intent, "/leases"), {"scope": "s"}, format="json").status_code == 200

    response = other_api.post(intent_path(intent, "/leases"), {"scope": "s"}, format="json")

    assert response.status_code == 409
    assert response.json()["existing_lease"]["scope"] == "s"
    answered_as_documented(openapi, "POST", "/api/v1/intents/{intent_id}/leases", response)


def test_a_status_the_current_one_cannot_move_to_is_a_documented_409(openapi, api):
    intent = new_intent(api)
    version = 1
    for status in ["active", "abandoned"]:
        moved = api.post(intent_path(intent, "/status"), {"status": status}, format="json", HTTP_IF_MATCH=str(version))
        version = moved.json()["version"]

    response = api.post(intent_path(intent, "/status"), {"status": "active"}, format="json", HTTP_IF_MATCH=str(version))

    assert response.status_code == 409
    answered_as_documented(openapi, "POST", "/api/v1/intents/{intent_id}/status", response)


def test_a_dependency_cycle_is_a_documented_400(openapi, api):
    first, second = new_intent(api, "first"), new_intent(api, "second")
    added = api.post(
        intent_path(first, "/dependencies"), {"dependency_id": second["id"]}, format="json", HTTP_IF_MATCH="1"
    )
    assert added.status_code == 200

    response = api.post(
        intent_path(second, "/dependencies"), {"dependency_id": first["id"]}, format="json", HTTP_IF_MATCH="1"
    )

    assert response.status_code == 400
    answered_as_documented(openapi, "POST", "/api/v1/intents/{intent_id}/dependencies", response)


def test_renewing_a_released_lease_is_a_documented_409(openapi, api):
    intent = new_intent(api)
    lease = api.post(intent_path(intent, "/leases"), {"scope": "s"}, format="json").json()
    api.delete(intent_path(intent, f"/leases/{lease['id']}"))

    response = api.patch(intent_path(intent, f"/leases/{lease['id']}"), {"duration_seconds": 60}, format="json")

    assert response.status_code == 409
    answered_as_documented(openapi, "PATCH", "/api/v1/intents/{intent_id}/leases/{lease_id}", response)


# Success answers: what they hold is what the schema says ---------------------------------------------------------


def test_a_lease_in_force_has_a_null_released_at(openapi, api):
    intent = new_intent(api)

    acquired = api.post(intent_path(intent, "/leases"), {"scope": "s"}, format="json")
    listed = api.get(intent_path(intent, "/leases"))

    assert acquired.json()["released_at"] is None
    answered_as_documented(openapi, "POST", "/api/v1/intents/{intent_id}/leases", acquired)
    answered_as_documented(openapi, "GET", "/api/v1/intents/{intent_id}/leases", listed)


def test_a_failure_without_a_scheduled_retry_has_null_retry_times(openapi, api):
    intent = new_intent(api)

    recorded = api.post(intent_path(intent, "/failures"), {"error_code": "E"}, format="json")

    assert recorded.json()["retryScheduledAt"] is None
    answered_as_documented(openapi, "POST", "/api/v1/intents/{intent_id}/failures", recorded)


def test_an_answer_that_is_one_intent_documents_its_etag(openapi, document, api):
    intent = new_intent(api)

    response = api.get(intent_path(intent))

    assert response["ETag"] == '"1"'
    assert "ETag" in document["paths"]["/api/v1/intents/{intent_id}"]["get"]["responses"]["200"]["headers"]
    answered_as_documented(openapi, "GET", "/api/v1/intents/{intent_id}", response)


def model_serializers():
    """Every ModelSerializer of the apps (the answers written from a model's columns)."""
    found, pending = [], list(serializers.ModelSerializer.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in ("intents", "governance", "openintent_site"):
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__qualname__)


@pytest.mark.parametrize("serializer_class", model_serializers(), ids=lambda cls: cls.__qualname__)
def test_a_field_written_from_a_nullable_column_is_documented_nullable(serializer_class):
    # drf-spectacular documents a field nullable when it allows null; a field declared by hand over a NULL column
    # (FailureSerializer's retryScheduledAt) did not, and the answer's null broke the schema.
    model = serializer_class.Meta.model
    for name, field in serializer_class().fields.items():
        if field.source == "*" or "." in field.source:
            continue
        try:
            column = model._meta.get_field(field.source)
        except FieldDoesNotExist:
            continue
        if column.null:
            assert field.allow_null, f"{serializer_class.__name__}.{name} is written from a NULL column"


def test_a_download_is_served_with_its_stored_media_type_as_documented(openapi, api):
    intent = new_intent(api)
    upload = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    attachment = api.post(intent_path(intent, "/attachments"), {"file": upload}, format="multipart").json()

    response = api.get(intent_path(intent, f"/attachments/{attachment['id']}/content"))

    assert response["Content-Type"] == "text/plain"
    template = "/api/v1/intents/{intent_id}/attachments/{attachment_id}/content"
    answered_as_documented(openapi, "GET", template, response)


def test_taking_an_intent_out_of_a_portfolio_answers_the_documented_200(openapi, api):
    intent = new_intent(api)
    portfolio = api.post("/api/v1/portfolios", {"name": "p"}, format="json").json()
    api.post(f"/api/v1/portfolios/{portfolio['id']}/intents", {"intent_id": intent["id"]}, format="json")

    response = api.delete(f"/api/v1/portfolios/{portfolio['id']}/intents/{intent['id']}")

    assert response.status_code == 200
    answered_as_documented(openapi, "DELETE", "/api/v1/portfolios/{portfolio_id}/intents/{intent_id}", response)


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("0517-10-31T00:52:48.1Z", "0517-10-31T00:52:48.100000+00:00"),
        ("0074-01-21T13:02:41+01:00", "0074-01-21T12:02:41.000000+00:00"),
        ("2030-01-02T03:04:05.123456+00:00", "2030-01-02T03:04:05.123456+00:00"),
    ],
)
def test_a_timestamp_a_client_gives_is_written_in_the_documented_form(openapi, api, given, written):
    # strftime's %Y writes a year before 1000 with fewer than four digits on Linux: "517-10-31T...".
    intent = new_intent(api)

    granted = api.post(
        intent_path(intent, "/acl/entries"), {"principal_id": "agent-x", "expires_at": given}, format="json"
    )
    acl = api.get(intent_path(intent, "/acl"))

    assert granted.json()["expires_at"] == written
    assert [entry["expires_at"] for entry in acl.json()["entries"]] == [written]
    answered_as_documented(openapi, "POST", "/api/v1/intents/{intent_id}/acl/entries", granted)
    answered_as_documented(openapi, "GET", "/api/v1/intents/{intent_id}/acl", acl)


def test_every_timestamp_in_an_answer_is_documented_in_its_one_form(document):
    timestamp = document["components"]["schemas"]["Intent"]["properties"]["created_at"]

    assert re.fullmatch(timestamp["pattern"], "2026-01-02T03:04:05.123456+00:00")
    assert not re.fullmatch(timestamp["pattern"], "2026-01-02T03:04:05Z")


# Request constraints: what the document allows is what the server takes -----------------------------------------


IF_MATCH_VALUES = [
    "1",
    "01",
    '"1"',
    'W/"1"',
    "W/1",
    "0" * 1200 + "1",
    "9" * 1000,
    "0",
    '"0"',
    "-1",
    "1.5",
    "*",
    "abc",
    '"1',
    "W/",
    "1, 2",
    "9" * 1001,
]


@pytest.mark.parametrize("if_match", IF_MATCH_VALUES, ids=lambda value: value[:12])
def test_the_documented_if_match_pattern_is_what_the_server_takes(document, api, if_match):
    intent = new_intent(api)
    parameter = next(
        parameter
        for parameter in document["paths"]["/api/v1/intents/{intent_id}/state"]["post"]["parameters"]
        if parameter["name"] == "If-Match"
    )

    response = api.post(intent_path(intent, "/state"), {"state": {"a": 1}}, format="json", HTTP_IF_MATCH=if_match)

    taken = response.status_code != 400
    assert response.status_code in (200, 400, 409)
    assert bool(re.fullmatch(parameter["schema"].get("pattern", ".*"), if_match)) is taken, response.content[:200]


def test_every_operation_names_the_key_it_needs(document):
    schemes = document["components"]["securitySchemes"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            security = operation.get("security", document.get("security", []))
            names = {name for requirement in security for name in requirement}
            assert names == {"ApiKeyAuth"}, (method, path)
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}


# The streams and webhook subscriptions ---------------------------------------------------------------------------


def test_a_stream_reached_through_wsgi_is_a_documented_421(openapi, api):
    intent = new_intent(api)

    response = api.get(intent_path(intent, "/subscribe"))

    assert response.status_code == 421
    answered_as_documented(openapi, "GET", "/api/v1/intents/{key}/subscribe", response)


def test_streams_document_x_agent_id(document):
    parameters = document["paths"]["/api/v1/agents/{key}/subscribe"]["get"]["parameters"]

    assert "X-Agent-ID" in [parameter["name"] for parameter in parameters]


def test_a_subscription_past_the_limit_is_a_documented_409(openapi, api, settings):
    settings.OPENINTENT_MAX_SUBSCRIPTIONS_PER_PRINCIPAL = 1
    hook = {"webhook_url": "http://127.0.0.1:9/hook"}
    assert api.post("/api/v1/subscriptions", hook, format="json").status_code == 200

    response = api.post("/api/v1/subscriptions", hook, format="json")

    assert response.status_code == 409
    answered_as_documented(openapi, "POST", "/api/v1/subscriptions", response)
