import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings


@pytest.fixture
def intent(api):
    return api.post("/api/v1/intents", {"title": "Report"}, format="json").json()


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(api, intent, content=b"hello, world", name="notes.txt", **fields):
    data = {"file": SimpleUploadedFile(name, content, content_type="text/plain"), **fields}
    return api.post(f"/api/v1/intents/{intent['id']}/attachments", data, format="multipart")


def test_upload_stores_the_file_with_its_digest_and_serves_it_to_readers(api, intent, media):
    response = upload(api, intent, metadata='{"pages": 1}')
    assert response.status_code == 200, response.content
    attachment = response.json()
    assert attachment["filename"] == "notes.txt"
    assert attachment["mime_type"] == "text/plain"
    assert attachment["size"] == 12
    assert attachment["sha256"] == hashlib.sha256(b"hello, world").hexdigest()
    assert attachment["metadata"] == {"pages": 1}
    assert attachment["uploaded_by"] == attachment["created_by"] == "agent-research"
    assert attachment["storage_url"].endswith(f"/attachments/{attachment['id']}/content")
    assert len(list(media.rglob("notes.txt"))) == 1

    download = api.get(f"/api/v1/intents/{intent['id']}/attachments/{attachment['id']}/content")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"hello, world"
    listed = api.get(f"/api/v1/intents/{intent['id']}/attachments").json()["attachments"]
    assert [item["id"] for item in listed] == [attachment["id"]]
    types = [event["event_type"] for event in api.get(f"/api/v1/intents/{intent['id']}/events").json()]
    assert types[0] == "attachment_added"


def test_download_needs_a_key(anonymous_api, api, intent):
    attachment = upload(api, intent).json()
    response = anonymous_api.get(f"/api/v1/intents/{intent['id']}/attachments/{attachment['id']}/content")
    assert response.status_code == 401


@override_settings(OPENINTENT_MAX_ATTACHMENT_BYTES=4)
def test_files_over_the_limit_are_refused_and_nothing_is_stored(api, intent, media):
    response = upload(api, intent, content=b"too large")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
    assert list(media.rglob("*.txt")) == []
    assert api.get(f"/api/v1/intents/{intent['id']}/attachments").json()["attachments"] == []


def test_registering_by_url_accepts_both_clients_field_names(api, intent):
    sync_style = {
        "filename": "a.pdf",
        "mime_type": "application/pdf",
        "size": 10,
        "storage_url": "https://files.example/a.pdf",
        "metadata": {"pages": 3},
    }
    first = api.post(f"/api/v1/intents/{intent['id']}/attachments", sync_style, format="json")
    assert first.status_code == 200
    assert first.json()["metadata"] == {"pages": 3}
    async_style = {"filename": "b.png", "content_type": "image/png", "url": "https://files.example/b.png"}
    second = api.post(f"/api/v1/intents/{intent['id']}/attachments", async_style, format="json").json()
    assert (second["mime_type"], second["size"], second["storage_url"]) == ("image/png", 0, async_style["url"])
    content = api.get(f"/api/v1/intents/{intent['id']}/attachments/{second['id']}/content")
    assert content.status_code == 404


@pytest.mark.parametrize(
    "location", ["s3://bucket/reports/q3.pdf", "gs://bucket/object", "https://files.example/a.pdf", "urn:isbn:0451"]
)
def test_registering_by_any_absolute_uri_as_storage_systems_name_objects(api, intent, location):
    response = api.post(
        f"/api/v1/intents/{intent['id']}/attachments",
        {"filename": "q3.pdf", "mime_type": "application/pdf", "size": 5, "storage_url": location},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["storage_url"] == location
    listed = api.get(f"/api/v1/intents/{intent['id']}/attachments").json()["attachments"]
    assert [item["storage_url"] for item in listed] == [location]


@pytest.mark.parametrize("location", ["bucket/key", "s3://has space", "://no-scheme", "3d://x", "s3://a\u0001b"])
def test_a_location_that_is_no_absolute_uri_names_the_field(api, intent, location):
    response = api.post(
        f"/api/v1/intents/{intent['id']}/attachments",
        {"filename": "a", "mime_type": "x/y", "storage_url": location},
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "storage_url"]
    assert api.get(f"/api/v1/intents/{intent['id']}/attachments").json()["attachments"] == []


def test_registering_without_a_location_names_the_field(api, intent):
    response = api.post(
        f"/api/v1/intents/{intent['id']}/attachments", {"filename": "a", "mime_type": "x/y"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "storage_url"]


def test_delete_removes_the_record_and_the_file(api, intent, media, django_capture_on_commit_callbacks):
    attachment = upload(api, intent).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/intents/{intent['id']}/attachments/{attachment['id']}")
    assert response.status_code == 204
    assert list(media.rglob("notes.txt")) == []
    assert api.delete(f"/api/v1/intents/{intent['id']}/attachments/{attachment['id']}").status_code == 404


def test_an_attachment_is_only_reachable_through_its_own_intent(api, intent):
    other = api.post("/api/v1/intents", {"title": "Other"}, format="json").json()
    attachment = upload(api, intent).json()
    assert api.delete(f"/api/v1/intents/{other['id']}/attachments/{attachment['id']}").status_code == 404
    assert api.get(f"/api/v1/intents/{intent['id']}/attachments").json()["attachments"][0]["id"] == attachment["id"]


def test_unknown_intent_is_404(api):
    assert api.get("/api/v1/intents/nope/attachments").status_code == 404
