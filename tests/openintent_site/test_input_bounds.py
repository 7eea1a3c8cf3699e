"""Bounds of what the API stores (issue 13, items 3, 5 and 7): every number within its column, every text that becomes
a header printable ASCII, stored text and JSON within documented sizes, a body past its limit a JSON 413, and an
If-Match that names no version told what is wrong with it. Each refusal is a JSON 4xx naming the field, and stores
nothing."""

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from intents.models import Attachment
from tests.conftest import event_log, new_intent

# The documented defaults (OPENINTENT_MAX_TEXT_LENGTH, OPENINTENT_MAX_JSON_BYTES).
MAX_TEXT = 20_000
MAX_JSON = 256 * 1024


@pytest.fixture
def intent(api):
    return new_intent(api)


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def url(intent, tail=""):
    return f"/api/v1/intents/{intent['id']}{tail}"


def refused(response, loc, status=422):
    """The answer is ``status`` in JSON, naming ``loc`` among its errors."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    locs = [error["loc"] for error in response.json()["detail"]]
    assert loc in locs, locs
    return response.json()["detail"]


def raw_post(api, path, raw):
    return api.post(path, raw, content_type="application/json")


def listed(api, intent, tail, envelope):
    response = api.get(url(intent, tail))
    assert response.status_code == 200
    return response.json()[envelope]


# Item 3: numbers within their columns --------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [1e14, 1e15, 1e30, "1e30", 10**400, -1e30])
def test_a_cost_past_what_its_column_holds_is_a_422(api, intent, amount):
    # Cost.amount is DECIMAL(20, 6): below 10^14. 1e15 was stored on SQLite and a 500 on PostgreSQL; 1e30 failed
    # rounding it to six places, a 500 everywhere.
    response = api.post(url(intent, "/costs"), {"cost_type": "tokens", "amount": amount, "unit": "t"}, format="json")

    refused(response, ["body", "amount"])
    assert listed(api, intent, "/costs", "costs") == []


def test_the_largest_cost_the_column_holds_is_stored_and_rounded_to_its_places(api, intent):
    cost = {"cost_type": "tokens", "unit": "t"}
    largest = api.post(
        url(intent, "/costs"), {"cost_type": "api_call", "amount": 99999999999999, "unit": "usd"}, format="json"
    )
    rounded = api.post(url(intent, "/costs"), {"cost_type": "tokens", "amount": 0.1234567, "unit": "t"}, format="json")

    assert largest.status_code == 200, largest.content
    assert largest.json()["amount"] == 99999999999999
    # The schema's maximum, the largest double below the column's 10^14.
    assert api.post(url(intent, "/costs"), {**cost, "amount": 99999999999999.98}, format="json").status_code == 200
    assert rounded.json()["amount"] == 0.123457


@pytest.mark.parametrize("attempt", [2**31, 2**63])
def test_a_failure_attempt_number_past_its_column_is_a_422(api, intent, attempt):
    response = api.post(url(intent, "/failures"), {"attempt_number": attempt}, format="json")

    refused(response, ["body", "attempt_number"])
    assert listed(api, intent, "/failures", "failures") == []
    assert api.post(url(intent, "/failures"), {"attempt_number": 2**31 - 1}, format="json").status_code == 200


@pytest.mark.parametrize("field", ["size", "size_bytes"])
def test_an_attachment_size_past_its_column_is_a_422(api, intent, field):
    registration = {"filename": "a.bin", "mime_type": "application/octet-stream", "storage_url": "s3://b/a.bin"}

    response = api.post(url(intent, "/attachments"), {**registration, field: 2**63}, format="json")

    refused(response, ["body", field])
    assert listed(api, intent, "/attachments", "attachments") == []
    stored = api.post(url(intent, "/attachments"), {**registration, field: 2**63 - 1}, format="json")
    assert stored.json()["size"] == 2**63 - 1


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
@pytest.mark.parametrize(
    ("tail", "template"),
    [
        ("", b'{"title": "t", "state": {"x": %s}}'),
        ("/events", b'{"event_type": "note", "payload": {"x": [%s]}}'),
        ("/costs", b'{"cost_type": "tokens", "amount": 1, "unit": "t", "metadata": {"x": %s}}'),
    ],
)
def test_json_numbers_no_json_column_holds_are_a_422(api, intent, tail, template, number):
    # Python reads NaN, Infinity and 1e400 (as inf); PostgreSQL's JSON columns take none of them (a 500 there).
    path = "/api/v1/intents" if tail == "" else url(intent, tail)

    response = raw_post(api, path, template % number)

    [error] = refused(response, ["body"])
    assert error["type"] == "finite_number"
    assert [event["event_type"] for event in event_log(api, intent["id"])] == ["intent_created"]


# Item 3: multipart uploads are held to what JSON bodies are held to ---------------------------------------------


def upload(api, intent, content=b"hello", name="notes.txt", content_type="text/plain", **fields):
    data = {"file": SimpleUploadedFile(name, content, content_type=content_type), **fields}
    return api.post(url(intent, "/attachments"), data, format="multipart")


@pytest.mark.parametrize(
    ("metadata", "kind"),
    [
        ('{"note": "a\\u0000b"}', "string_nul"),
        ('{"a\\u0000": 1}', "string_nul"),
        ('{"pages": NaN}', "finite_number"),
        ('{"pages": 1e400}', "finite_number"),
        ("[" * 5000 + "]" * 5000, "json_invalid"),
        ('{"pages": ', "json_invalid"),
        ("[1, 2]", "dict_type"),
    ],
)
def test_upload_metadata_that_cannot_be_stored_is_a_422(api, intent, media, metadata, kind):
    # A NUL or NaN was stored (a 500 on PostgreSQL); JSON nested 5000 deep was a RecursionError (a 500 everywhere).
    response = upload(api, intent, metadata=metadata)

    [error] = refused(response, ["body", "metadata"])
    assert error["type"] == kind
    assert listed(api, intent, "/attachments", "attachments") == []
    assert [path for path in media.rglob("*") if path.is_file()] == []


def test_upload_metadata_past_the_json_limit_is_a_422(api, intent):
    metadata = json.dumps({"blob": "x" * MAX_JSON})

    [error] = refused(upload(api, intent, metadata=metadata), ["body", "metadata"])

    assert error["type"] == "too_long"
    assert str(MAX_JSON) in error["msg"]


# Item 3: text that becomes a header --------------------------------------------------------------------------

BAD_MEDIA_TYPES = [
    "text/plain\x01",
    "text/plain\x7f",
    "text/pl\tain",
    "text/plain; charset=\x1b[31m",
    "texte/é",
    "nope",
]


@pytest.mark.parametrize("mime_type", BAD_MEDIA_TYPES)
@pytest.mark.parametrize("field", ["mime_type", "content_type"])
def test_a_registered_media_type_that_cannot_be_a_header_is_a_422(api, intent, field, mime_type):
    # The type is the download's Content-Type: gunicorn answers its own 500 page for a control character in it.
    registration = {"filename": "a.txt", field: mime_type, "storage_url": "s3://bucket/a.txt"}

    refused(api.post(url(intent, "/attachments"), registration, format="json"), ["body", field])
    assert listed(api, intent, "/attachments", "attachments") == []


@pytest.mark.parametrize("mime_type", ["text/plain\x01", "text/plain\x7f", "texte/é"])
def test_an_uploaded_media_type_that_cannot_be_a_header_is_a_422(api, intent, media, mime_type):
    refused(upload(api, intent, mime_type=mime_type), ["body", "mime_type"])
    assert listed(api, intent, "/attachments", "attachments") == []
    assert [path for path in media.rglob("*") if path.is_file()] == []


def multipart(part_headers, content=b"hello"):
    boundary = "BoUnDaRy"
    body = f"--{boundary}\r\n".encode() + part_headers + b"\r\n\r\n" + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_file_part_whose_content_type_cannot_be_a_header_is_a_422(api, intent, media):
    # Without a mime_type field the part's own Content-Type is stored: it is held to the same rule.
    body, content_type = multipart(
        b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\x01'
    )

    response = api.post(url(intent, "/attachments"), body, content_type=content_type)

    refused(response, ["body", "file"])
    assert listed(api, intent, "/attachments", "attachments") == []
    assert [path for path in media.rglob("*") if path.is_file()] == []


def test_media_types_with_parameters_are_stored_and_served(api, intent):
    attachment = upload(api, intent, mime_type="text/plain; charset=utf-8").json()

    download = api.get(url(intent, f"/attachments/{attachment['id']}/content"))

    assert attachment["mime_type"] == "text/plain; charset=utf-8"
    assert download["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("event_type", ["note\nevent: forged", "note\x01", "nöte", "no\rte"])
def test_an_event_type_that_cannot_be_a_header_or_a_stream_line_is_a_422(api, intent, event_type):
    # Webhooks send it as X-OpenIntent-Event, streams as an "event:" line: a newline forged a second SSE field.
    response = api.post(url(intent, "/events"), {"event_type": event_type}, format="json")

    refused(response, ["body", "event_type"])
    assert [event["event_type"] for event in event_log(api, intent["id"])] == ["intent_created"]


def test_a_storage_url_ending_in_a_newline_is_a_422(api, intent):
    registration = {"filename": "a.txt", "mime_type": "text/plain", "storage_url": "s3://bucket/a.txt\n"}

    refused(api.post(url(intent, "/attachments"), registration, format="json"), ["body", "storage_url"])


# Item 5: stored text and JSON within documented sizes -----------------------------------------------------------

TEXT = "x" * MAX_TEXT
BLOB = {"blob": "x" * MAX_JSON}  # a little more than MAX_JSON bytes written as JSON


def long_text_writes(intent):
    """``(path, body, field)`` of every write with a free-text field, ``field`` at most MAX_TEXT characters."""
    return [
        ("/api/v1/intents", {"title": "t"}, "description"),
        (url(intent, "/status"), {"status": "active"}, "reason"),
        (url(intent, "/failures"), {}, "error_message"),
        (url(intent, "/arbitrate"), {}, "reason"),
        (url(intent, "/decisions"), {"decision_type": "d", "outcome": "o"}, "rationale"),
        (url(intent, "/decisions"), {"decision_type": "d", "outcome": "o"}, "reasoning"),
        (url(intent, "/access-requests"), {}, "reason"),
        (url(intent, "/acl/entries"), {"principal_id": "agent-synth"}, "reason"),
        (url(intent, "/access-requests/00000000-0000-4000-8000-000000000000/approve"), {}, "reason"),
        ("/api/v1/portfolios", {"name": "p"}, "description"),
    ]


@pytest.mark.parametrize("index", range(10))
def test_free_text_past_the_limit_is_a_422(api, intent, index):
    path, data, field = long_text_writes(intent)[index]

    response = api.post(path, {**data, field: TEXT + "x"}, format="json", HTTP_IF_MATCH="1")

    [error] = refused(response, ["body", field])
    assert error["type"] == "string_too_long"
    assert str(MAX_TEXT) in error["msg"]


def test_free_text_at_the_limit_is_stored(api, intent):
    created = api.post("/api/v1/intents", {"title": "t", "description": TEXT}, format="json")
    arbitration = api.post(url(intent, "/arbitrate"), {"reason": TEXT}, format="json")

    assert created.json()["description"] == TEXT
    assert arbitration.json()["reason"] == TEXT


def json_writes(intent):
    """``(path, body, loc)`` of every write storing a JSON value, that value past MAX_JSON bytes."""
    intents = "/api/v1/intents"
    registration = {"filename": "a", "mime_type": "a/b", "url": "s3://a/b"}
    return [
        (intents, {"title": "t", "state": BLOB}, ["body", "state"]),
        (intents, {"title": "t", "constraints": BLOB}, ["body", "constraints"]),
        (intents, {"title": "t", "constraints": [BLOB["blob"]]}, ["body", "constraints"]),
        (intents, {"title": "t", "depends_on": [BLOB["blob"]]}, ["body", "depends_on"]),
        (url(intent, "/state"), {"state": BLOB}, ["body", "state"]),
        (url(intent, "/state"), {"patches": [{"op": "set", "path": "a", "value": BLOB}]}, ["body", "patches"]),
        (url(intent, "/events"), {"event_type": "note", "payload": BLOB}, ["body", "payload"]),
        (
            url(intent, "/costs"),
            {"cost_type": "tokens", "amount": 1, "unit": "t", "metadata": BLOB},
            ["body", "metadata"],
        ),
        (
            url(intent, "/costs"),
            {"cost_type": "tokens", "amount": 1, "unit": "t", "cost_metadata": BLOB},
            ["body", "cost_metadata"],
        ),
        (url(intent, "/failures"), {"metadata": BLOB}, ["body", "metadata"]),
        (url(intent, "/attachments"), {**registration, "metadata": BLOB}, ["body", "metadata"]),
        (url(intent, "/arbitrate"), {"reason": "r", "context": BLOB}, ["body", "context"]),
        (url(intent, "/arbitrate"), {"reason": "r", "options": [BLOB]}, ["body", "options"]),
        (url(intent, "/decisions"), {"decision_type": "d", "outcome": "o", "evidence": [BLOB]}, ["body", "evidence"]),
        (url(intent, "/access-requests"), {"capabilities": [BLOB["blob"]]}, ["body", "capabilities"]),
        ("/api/v1/portfolios", {"name": "p", "metadata": BLOB}, ["body", "metadata"]),
        ("/api/v1/portfolios", {"name": "p", "governance_policy": BLOB}, ["body", "governance_policy"]),
        ("/api/v1/portfolios", {"name": "p", "governancePolicy": BLOB}, ["body", "governancePolicy"]),
    ]


@pytest.mark.parametrize("index", range(18))
def test_a_json_value_past_the_limit_is_a_422(api, intent, index):
    path, data, loc = json_writes(intent)[index]

    response = api.post(path, data, format="json", HTTP_IF_MATCH="1")

    [error] = refused(response, loc)
    assert error["type"] == "too_long"
    assert f"At most {MAX_JSON} bytes" in error["msg"]


def test_a_json_value_within_the_limit_is_stored(api):
    state = {"blob": "x" * (MAX_JSON - 20)}

    created = api.post("/api/v1/intents", {"title": "t", "state": state}, format="json")

    assert created.status_code == 200, created.content[:300]
    assert created.json()["state"] == state


def test_a_portfolio_update_past_the_limits_is_a_422(api):
    portfolio = api.post("/api/v1/portfolios", {"name": "p"}, format="json").json()
    path = f"/api/v1/portfolios/{portfolio['id']}"

    refused(api.patch(path, {"description": TEXT + "x"}, format="json"), ["body", "description"])
    refused(api.patch(path, {"metadata": BLOB}, format="json"), ["body", "metadata"])
    assert api.get(path).json()["description"] == ""


# Item 5: request bodies past their limit are a JSON 413 ---------------------------------------------------------


def assert_too_large(response):
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"].startswith("Request body too large")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in body["detail"]
    assert body["max_bytes"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_a_20_mb_json_body_is_a_json_413(api):
    # It was Django's RequestDataTooBig answered as a bare "Bad Request" 400.
    big = json.dumps({"title": "t", "description": "x" * (20 * 1024 * 1024)})

    assert_too_large(raw_post(api, "/api/v1/intents", big))
    assert api.get("/api/v1/intents").json()["intents"] == []


def test_a_multipart_form_whose_fields_pass_the_body_limit_is_a_json_413(api, intent, media):
    metadata = json.dumps({"blob": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    assert_too_large(upload(api, intent, metadata=metadata))
    assert listed(api, intent, "/attachments", "attachments") == []


def test_a_form_posted_outside_the_api_past_the_body_limit_is_a_json_413(db):
    # Django's own views read the body too (the admin's login form, through CSRF protection).
    form = "username=a&password=" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = Client().post("/admin/login/", form, content_type="application/x-www-form-urlencoded")

    assert_too_large(response)


def test_files_larger_than_the_body_limit_still_upload(api, intent):
    # A multipart upload's file is not counted against the body limit: OPENINTENT_MAX_ATTACHMENT_BYTES bounds it.
    content = b"y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024 * 1024)
    assert len(content) < settings.OPENINTENT_MAX_ATTACHMENT_BYTES

    response = upload(api, intent, content=content, name="big.bin", content_type="application/octet-stream")

    assert response.status_code == 200, response.content[:300]
    assert response.json()["size"] == len(content)


# Item 7: If-Match says what is wrong with it --------------------------------------------------------------------


@pytest.mark.parametrize("if_match", ["abc", "*", "-1", "1.5", "0", '"x"', 'W/"0"', "1, 2", "x" * 300])
def test_an_if_match_naming_no_version_says_what_it_got_and_what_is_expected(api, intent, if_match):
    response = api.post(url(intent, "/state"), {"state": {"a": 1}}, format="json", HTTP_IF_MATCH=if_match)

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail != "If-Match header required"
    assert detail.startswith("If-Match must be the version the write is based on, a whole number from 1")
    assert if_match[:100] in detail
    assert len(detail) < 400
    assert api.get(url(intent)).json()["version"] == 1


def test_a_star_if_match_is_told_why_it_is_not_enough(api, intent):
    response = api.post(url(intent, "/status"), {"status": "active"}, format="json", HTTP_IF_MATCH="*")

    assert "a write must name the version it was based on" in response.json()["detail"]


@pytest.mark.parametrize("if_match", [None, "", "   "])
def test_a_missing_if_match_is_required(api, intent, if_match):
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}

    response = api.post(url(intent, "/state"), {"state": {"a": 1}}, format="json", **headers)

    assert response.status_code == 400
    assert response.json()["detail"] == "If-Match header required"


@pytest.mark.parametrize("if_match", ["1", '"1"', 'W/"1"', " 1 ", "W/1", "01"])
def test_every_spelling_of_a_version_is_taken(api, intent, if_match):
    response = api.post(url(intent, "/state"), {"state": {"a": 1}}, format="json", HTTP_IF_MATCH=if_match)

    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2


def test_a_version_that_cannot_exist_is_a_conflict(api, intent):
    response = api.post(url(intent, "/state"), {"state": {"a": 1}}, format="json", HTTP_IF_MATCH="9" * 40)

    assert response.status_code == 409


# Item 3, the same hole in a query: a datetime the database cannot compare ---------------------------------------


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_since_out_of_range_in_utc_is_a_422(api, intent, since):
    # Compared in UTC: these offsets move the instant before year 1 or past 9999 (a 500 on SQLite).
    response = api.get(url(intent, "/events"), {"since": since})

    refused(response, ["query", "since"])


def test_a_since_with_an_offset_within_range_still_filters(api, intent):
    assert len(api.get(url(intent, "/events"), {"since": "2000-01-01T00:00:00+14:00"}).json()) == 1
    assert api.get(url(intent, "/events"), {"since": "9999-12-31T00:00:00+14:00"}).json() == []


def test_patches_that_would_grow_the_state_past_the_json_limit_are_a_422(api, intent, settings):
    settings.OPENINTENT_MAX_JSON_BYTES = 300
    state = url(intent, "/state")
    version = intent["version"]
    for number in range(3):
        response = api.post(state, {"state": {f"k{number}": "x" * 80}}, format="json", HTTP_IF_MATCH=str(version))
        assert response.status_code == 200, response.content
        version = response.json()["version"]

    grown = api.post(state, {"state": {"k3": "x" * 80}}, format="json", HTTP_IF_MATCH=str(version))

    refused(grown, ["body", "patches"])
    after = api.get(url(intent)).json()
    assert (after["version"], sorted(after["state"])) == (version, ["k0", "k1", "k2"])


def test_a_file_stored_with_a_media_type_that_cannot_be_a_header_is_still_served(api, intent, media):
    stored = upload(api, intent).json()
    Attachment.objects.filter(pk=stored["id"]).update(mime_type="text/plain\r\nX-Injected: 1")

    response = api.get(url(intent, f"/attachments/{stored['id']}/content"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert "X-Injected" not in response
