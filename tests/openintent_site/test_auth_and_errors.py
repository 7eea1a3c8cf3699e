"""Authentication, identity, the error model and transport rules that hold on every route (core.md §1)."""

import datetime
import hashlib
import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from intents.core import services
from intents.models import Intent
from openintent_site.models import ApiKey, IntentEvent
from tests.conftest import KEYS, api_routes, client_for, concrete_path, event_log, new_intent, versioned

UNAUTHENTICATED = {"detail": "Invalid or missing API key"}
# The streams are async views with tests of their own under ASGI; these are the DRF routes.
ROUTES = [(method, route) for method, route, drf in api_routes() if drf]
WIRE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")


def request(client, method, path, data=None, **headers):
    return getattr(client, method)(path, data, format="json", **headers)


# 401 ----------------------------------------------------------------------------------------------------------


def test_the_route_list_covers_the_protocol():
    paths = {route for _, route in ROUTES}
    assert len(ROUTES) >= 50
    assert {"/api/v1/intents", "/api/v1/intents/<str:intent_id>/leases/<str:lease_id>"} <= paths


@pytest.mark.parametrize("key", [None, "wrong-key", ""], ids=["no-key", "wrong-key", "empty-key"])
@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m.upper()} {r}" for m, r in ROUTES])
def test_every_api_route_answers_401_without_a_valid_key(keys, method, route, key):
    client = client_for(None)
    if key is not None:
        client.credentials(HTTP_X_API_KEY=key)

    response = request(client, method, concrete_path(route), {"title": "x"}, HTTP_IF_MATCH="1")

    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert response["Content-Type"] == "application/json"
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_AUTHORIZATION": "Bearer agent-research-key"},
        {"HTTP_AUTHORIZATION": "agent-research-key"},
        {"HTTP_X_API_KEY": "AGENT-RESEARCH-KEY"},
        {"HTTP_X_API_KEY": "agent-research-key-and-more"},
    ],
)
def test_no_other_scheme_or_spelling_of_the_key_is_accepted(keys, headers):
    response = client_for(None).get("/api/v1/intents", **headers)

    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


def test_the_key_in_the_query_string_is_not_accepted(keys):
    response = client_for(None).get("/api/v1/intents", {"api_key": "agent-research-key"})

    assert response.status_code == 401


def test_the_header_name_is_case_insensitive(keys):
    response = client_for(None).get("/api/v1/intents", headers={"x-api-key": "agent-research-key"})

    assert response.status_code == 200


def test_a_refused_write_leaves_nothing(anonymous_api, db):
    response = anonymous_api.post("/api/v1/intents", {"title": "sneaky"}, format="json")

    assert response.status_code == 401
    assert not Intent.objects.exists()


def test_the_key_is_checked_before_the_body_schema(anonymous_api, db):
    response = anonymous_api.generic("POST", "/api/v1/intents", b"{}", content_type="application/json")

    assert response.status_code == 401


# Keys and identity --------------------------------------------------------------------------------------------


def test_keys_are_stored_hashed(keys):
    rows = list(ApiKey.objects.values())

    assert len(rows) == len(KEYS)
    for raw_key in KEYS:
        row = next(row for row in rows if row["key_hash"] == hashlib.sha256(raw_key.encode()).hexdigest())
        assert raw_key not in json.dumps(row, default=str)


def test_no_response_ever_contains_the_key(api):
    raw_key = "agent-research-key"
    responses = []
    intent = new_intent(api, title="secretive", created_by=raw_key)
    url = f"/api/v1/intents/{intent['id']}"
    responses.append(versioned(api, "post", f"{url}/state", 1, {"state": {"who": "me"}}))
    responses.append(api.post(f"{url}/events", {"event_type": "note", "actor": raw_key}, format="json"))
    responses.append(api.post(f"{url}/agents", {"agent_id": "agent-synth"}, format="json"))
    lease = api.post(f"{url}/leases", {"scope": "s"}, format="json")
    responses.append(lease)
    responses.append(api.patch(f"{url}/leases/{lease.json()['id']}", {}, format="json"))
    responses.append(api.post(f"{url}/children", {"title": "child"}, format="json"))
    responses.append(versioned(api, "post", f"{url}/status", 2, {"status": "abandoned"}))
    responses.append(api.post(f"{url}/leases", {"scope": "late"}, format="json"))
    for tail in ["", "/events", "/agents", "/leases?include=all", "/children", "/graph", "/acl"]:
        responses.append(api.get(f"{url}{tail}"))
    responses.append(api.get("/api/v1/intents"))

    assert len({response.status_code for response in responses} - {200, 409}) == 0
    for response in responses:
        assert raw_key not in response.content.decode()
        assert all(raw_key not in value for _, value in response.items())


def test_identity_is_the_principal_and_never_the_key(api):
    intent = new_intent(api, created_by="forged-creator")
    url = f"/api/v1/intents/{intent['id']}"
    event = api.post(f"{url}/events", {"event_type": "note", "actor": "forged-actor"}, format="json").json()
    lease = api.post(f"{url}/leases", {"scope": "s", "agent_id": "forged-holder"}, format="json").json()

    assert intent["created_by"] == "agent-research"
    assert event["actor"] == "agent-research"
    assert lease["agent_id"] == "agent-research"
    assert {event["actor"] for event in event_log(api, intent["id"])} == {"agent-research"}


def test_the_agent_id_header_names_the_acting_agent_of_a_key_allowed_to_act_for_it(api):
    intent = new_intent(api)
    response = api.post(
        f"/api/v1/intents/{intent['id']}/events", {"event_type": "note"}, format="json", HTTP_X_AGENT_ID="agent-synth"
    )

    assert (response.json()["actor"], response.json()["via"]) == ("agent-synth", "agent-research")


def test_a_user_key_acts_as_the_username(person_api, django_user_model):
    intent = new_intent(person_api)

    assert intent["created_by"] == "reviewer"
    django_user_model.objects.filter(username="reviewer").update(is_active=False)
    assert person_api.get("/api/v1/intents").status_code == 401


def test_a_revoked_key_is_refused(api):
    ApiKey.objects.get(agent_id="agent-research").revoke()

    assert api.get("/api/v1/intents").status_code == 401


def test_keys_from_settings_are_honoured(settings, db):
    settings.OPENINTENT_API_KEYS = ["bare-settings-key", "settings-agent=named-settings-key"]

    named = new_intent(client_for("named-settings-key"))
    bare = new_intent(client_for("bare-settings-key"))

    assert named["created_by"] == "settings-agent"
    assert bare["created_by"] == "key-" + hashlib.sha256(b"bare-settings-key").hexdigest()[:12]
    assert client_for("settings-agent").get("/api/v1/intents").status_code == 401
    assert not ApiKey.objects.exists()

    settings.OPENINTENT_API_KEYS = []
    assert client_for("named-settings-key").get("/api/v1/intents").status_code == 401


def test_settings_keys_do_not_replace_the_database_keys(settings, api):
    settings.OPENINTENT_API_KEYS = ["other=settings-key"]

    assert api.get("/api/v1/intents").status_code == 200


# Key commands -------------------------------------------------------------------------------------------------


def command(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_createapikey_for_an_agent_prints_a_working_key_stored_hashed(db):
    raw_key = command("createapikey", "--agent", "agent-new", "--name", "ci")

    api_key = ApiKey.objects.get()
    assert (api_key.agent_id, api_key.name, api_key.key_hash) == (
        "agent-new",
        "ci",
        hashlib.sha256(raw_key.encode()).hexdigest(),
    )
    assert raw_key not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert new_intent(client_for(raw_key))["created_by"] == "agent-new"
    assert command("createapikey", "--agent", "agent-new") != raw_key


def test_createapikey_for_a_user_with_a_chosen_key(db, django_user_model):
    django_user_model.objects.create_user("alice")

    assert command("createapikey", "--user", "alice", "--key", "alice-key") == "alice-key"
    assert new_intent(client_for("alice-key"))["created_by"] == "alice"


@pytest.mark.parametrize(
    "args",
    [
        ["--user", "nobody"],
        ["--agent", "a", "--key", "agent-research-key"],
        ["--agent", "a", "--user", "b"],
        [],
    ],
)
def test_createapikey_refuses(keys, args):
    before = ApiKey.objects.count()

    with pytest.raises(CommandError):
        command("createapikey", *args)
    assert ApiKey.objects.count() == before


@pytest.mark.parametrize(
    ("args", "still_working"),
    [
        (["--key", "agent-research-key"], ["agent-synth-key", "agent-research-two"]),
        (["--agent", "agent-research"], ["agent-synth-key"]),
    ],
)
def test_revokeapikey(keys, args, still_working):
    command("createapikey", "--agent", "agent-research", "--key", "agent-research-two")

    assert command("revokeapikey", *args).startswith("Revoked")

    assert client_for("agent-research-key").get("/api/v1/intents").status_code == 401
    for raw_key in still_working:
        assert client_for(raw_key).get("/api/v1/intents").status_code == 200
    assert ApiKey.objects.filter(revoked_at__isnull=False).exists()


def test_revokeapikey_for_a_user(person_api):
    assert command("revokeapikey", "--user", "reviewer") == "Revoked 1 key(s)."
    assert person_api.get("/api/v1/intents").status_code == 401


@pytest.mark.parametrize("args", [["--key", "never-issued"], ["--agent", "nobody"]])
def test_revokeapikey_with_nothing_to_revoke_fails(keys, args):
    with pytest.raises(CommandError, match="No active key"):
        command("revokeapikey", *args)


def test_revoking_twice_fails_the_second_time(keys):
    command("revokeapikey", "--key", "agent-synth-key")

    with pytest.raises(CommandError):
        command("revokeapikey", "--key", "agent-synth-key")


# Unknown routes, methods, trailing slashes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nope", "/nope", "/api/v1/intents/x/nope", "/api/v2/intents", "/rfc/9999", "/api/v1/intents/x/state/y"],
)
def test_unknown_routes_answer_json_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/intents/",
        "/api/v1/intents/00000000-0000-4000-8000-000000000000/",
        "/api/v1/intents/00000000-0000-4000-8000-000000000000/events/",
        "/.well-known/openintent.json/",
        "/openapi.json/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_no_route_has_a_trailing_slash(api, path, method):
    response = getattr(api, method)(path, {"title": "x"}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert "Location" not in response


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/api/v1/intents", {"GET", "POST"}),
        ("delete", "/api/v1/intents/{id}", {"GET"}),
        ("get", "/api/v1/intents/{id}/state", {"POST"}),
        ("patch", "/api/v1/intents/{id}/events", {"GET", "POST"}),
        ("get", "/api/v1/intents/{id}/leases/{id}", {"PATCH", "DELETE"}),
    ],
)
def test_a_wrong_method_is_405_json_with_allow(api, method, path, allowed):
    intent = new_intent(api)

    response = getattr(api, method)(path.format(id=intent["id"]), {}, format="json")

    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert allowed <= {method.strip() for method in response["Allow"].split(",")}


@pytest.mark.parametrize(
    ("tail", "data", "loc"),
    [
        ("", {"title": "t", "state": {"note": "a\x00b"}}, ["body", "state", "note"]),
        ("", {"title": "t", "constraints": {"k\x00": 1}}, ["body", "constraints", "k\x00"]),
        ("", {"title": "t", "constraints": ["fine", "not\x00fine"]}, ["body", "constraints", 1]),
        (
            "/{id}/events",
            {"event_type": "note", "payload": {"deep": [{"x": "\x00"}]}},
            ["body", "payload", "deep", 0, "x"],
        ),
        ("/{id}/state", {"patches": [{"op": "set", "path": "a", "value": "\x00"}]}, ["body", "patches", 0, "value"]),
        ("/{id}/children", {"title": "t", "state": {"\x00": None}}, ["body", "state", "\x00"]),
    ],
)
def test_text_with_a_nul_character_is_422_naming_where(api, tail, data, loc):
    intent = new_intent(api)

    response = versioned(api, "post", f"/api/v1/intents{tail.format(id=intent['id'])}", 1, data)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert Intent.objects.count() == 1
    assert api.get(f"/api/v1/intents/{intent['id']}").json() == intent
    assert IntentEvent.objects.count() == 1


def test_an_escaped_backslash_before_u0000_is_plain_text(api):
    intent = new_intent(api, state={"path": "C:\\u0000"})

    assert intent["state"] == {"path": "C:\\u0000"}


def nested(levels):
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize("levels", [99, 900, 100_000])
def test_json_nested_too_deeply_is_422(api, levels):
    body = b'{"title": "t", "state": {"a": ' + nested(levels) + b"}}"

    response = api.generic("POST", "/api/v1/intents", body, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert not Intent.objects.exists()


def test_json_at_the_deepest_level_allowed_is_stored_patched_and_read(api):
    body = b'{"title": "t", "state": {"a": ' + nested(98) + b"}}"
    created = api.generic("POST", "/api/v1/intents", body, content_type="application/json")
    assert created.status_code == 200
    url = f"/api/v1/intents/{created.json()['id']}"

    patch = b'{"patches": [{"op": "set", "path": "b", "value": ' + nested(97) + b"}]}"
    patched = api.generic("POST", f"{url}/state", patch, content_type="application/json", HTTP_IF_MATCH="1")

    assert patched.status_code == 200
    assert json.dumps(api.get(url).json()["state"]["b"]).count("[") == 97


def test_an_unexpected_failure_is_json_500_and_rolls_back(api, monkeypatch):
    intent = new_intent(api, state={"a": 1})

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "append_event", broken)
    api.raise_request_exception = False

    response = versioned(api, "post", f"/api/v1/intents/{intent['id']}/state", 1, {"state": {"a": 2}})

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    monkeypatch.undo()
    assert api.get(f"/api/v1/intents/{intent['id']}").json() == intent
    assert IntentEvent.objects.filter(intent_id=intent["id"]).count() == 1


@pytest.mark.parametrize(
    ("route", "data"),
    [
        ("/state", {"patches": [{"op": "set", "path": "a", "value": 1}, {"op": "append", "path": "a", "value": 2}]}),
        ("/state", {"patches": [{"op": "set", "path": "analysis/x", "value": 1}]}),
        ("/status", {"status": "draft"}),
        ("/dependencies", {"dependency_id": "self"}),
    ],
)
def test_a_refused_write_leaves_version_state_and_log_unchanged(api, other_api, route, data):
    intent = new_intent(api, state={"kept": True})
    url = f"/api/v1/intents/{intent['id']}"
    other_api.post(f"{url}/leases", {"scope": "analysis"}, format="json")
    intent = api.get(url).json()
    before = event_log(api, intent["id"])
    if data.get("dependency_id") == "self":
        data = {"dependency_id": intent["id"]}

    response = versioned(api, "post", f"{url}{route}", intent["version"], data)

    assert response.status_code in (400, 409, 422)
    assert api.get(url).json() == intent
    assert event_log(api, intent["id"]) == before


# CORS ---------------------------------------------------------------------------------------------------------

ORIGIN = "https://app.example.test"


def test_a_preflight_reflects_the_origin_and_allows_the_protocol_headers(anonymous_api, db):
    wanted = ["x-api-key", "if-match", "x-agent-id", "content-type", "last-event-id"]

    response = anonymous_api.options(
        "/api/v1/intents",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=", ".join(wanted),
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed_headers = {header.strip().lower() for header in response["Access-Control-Allow-Headers"].split(",")}
    assert set(wanted) <= allowed_headers
    allowed_methods = {method.strip() for method in response["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} <= allowed_methods


@pytest.mark.parametrize(("client_name", "status"), [("api", 200), ("anonymous_api", 401)])
def test_responses_carry_the_cors_headers(request, db, client_name, status):
    client = request.getfixturevalue(client_name)

    response = client.get("/api/v1/intents", HTTP_ORIGIN=ORIGIN)

    assert response.status_code == status
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "etag" in response["Access-Control-Expose-Headers"].lower()


def test_cors_can_be_limited_to_listed_origins(settings, api):
    settings.CORS_ALLOW_ALL_ORIGINS = False
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]

    assert api.get("/api/v1/intents", HTTP_ORIGIN=ORIGIN)["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Origin" not in api.get("/api/v1/intents", HTTP_ORIGIN="https://elsewhere.test")


# Timestamps ---------------------------------------------------------------------------------------------------


def test_timestamps_are_utc_with_microseconds_and_their_offset(api):
    intent = new_intent(api)
    url = f"/api/v1/intents/{intent['id']}"
    assignment = api.post(f"{url}/agents", {"agent_id": "a"}, format="json").json()
    lease = api.post(f"{url}/leases", {"scope": "s"}, format="json").json()
    api.delete(f"{url}/leases/{lease['id']}")
    released = api.get(f"{url}/leases", {"include": "all"}).json()["leases"][0]
    event = event_log(api, intent["id"])[0]

    stamps = [
        intent["created_at"],
        intent["updated_at"],
        assignment["assigned_at"],
        released["acquired_at"],
        released["created_at"],
        released["expires_at"],
        released["released_at"],
        event["created_at"],
    ]
    for stamp in stamps:
        assert WIRE_TIME.match(stamp), stamp
    stored = Intent.objects.get(pk=intent["id"]).created_at
    assert intent["created_at"] == stored.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
