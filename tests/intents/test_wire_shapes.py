"""Hand-built response bodies must match the fields their serializers declare (and document in /openapi.json)."""

import json

from rest_framework import serializers

from intents.core.serializers import EventSerializer, IntentSerializer
from intents.leases.serializers import LeaseSerializer
from intents.models import Intent, Lease
from openintent_site.models import IntentEvent


def test_intent_body_equals_the_declared_fields(api):
    parent = api.post("/api/v1/intents", {"title": "parent"}, format="json").json()
    other = api.post("/api/v1/intents", {"title": "other"}, format="json").json()
    child = api.post(
        f"/api/v1/intents/{parent['id']}/children",
        {"title": "child", "depends_on": [other["id"]], "constraints": {"budget": {"max_total_cents": 5}}},
        format="json",
    ).json()
    intent = Intent.objects.get(pk=child["id"])

    declared = serializers.Serializer.to_representation(IntentSerializer(), intent)

    assert IntentSerializer(intent).data == declared
    assert child == declared
    assert declared["parent_id"] == parent["id"]
    assert declared["depends_on"] == [other["id"]]


def test_event_body_equals_the_declared_fields(api):
    intent = api.post("/api/v1/intents", {"title": "logged"}, format="json").json()
    posted = api.post(
        f"/api/v1/intents/{intent['id']}/events",
        {"event_type": "comment", "payload": {"note": "hello", "n": [1, 2]}},
        format="json",
        HTTP_X_AGENT_ID="agent-helper",
    ).json()
    event = IntentEvent.objects.get(pk=posted["id"])

    declared = serializers.Serializer.to_representation(EventSerializer(), event)

    assert EventSerializer(event).data == declared
    assert posted == declared
    assert declared["via"] is not None  # an agent acting through a key: the key's principal
    listed = api.get(f"/api/v1/intents/{intent['id']}/events").json()
    assert declared in listed


TRICKY_PAYLOADS = [
    {"quote": 'say "hi"\\ back\\slash', "control": "tab\tnew\nline\u0001", "unicode": "é中😀"},
    {"separators": "line\u2028paragraph\u2029", "nested": {"a": [1, 2.5, -0.0, 1e-7, None, True, False]}},
    {"big": 123456789012345678901234567890, "float": 0.1, "empty": {}, "list": [], "blank": ""},
    {},
]


def test_a_page_of_the_log_equals_its_events_declared_fields(api):
    """The log's pages splice each payload in as the database holds it (IntentEvent.objects.page): read back, a
    page must say what the serializer declares for each of its events, whatever the payload holds."""
    intent = api.post("/api/v1/intents", {"title": "logged"}, format="json").json()
    url = f"/api/v1/intents/{intent['id']}/events"
    for payload in TRICKY_PAYLOADS:
        api.post(url, {"event_type": "comment", "payload": payload}, format="json", HTTP_X_AGENT_ID="agent-helper")
    answer = api.get(url)

    assert answer["Content-Type"] == "application/json"
    # As DRF's renderer writes them: escaped, so that the page can sit inside a script.
    assert "\u2028".encode() not in answer.content and b"\\u2028" in answer.content
    listed = json.loads(answer.content)
    events = IntentEvent.objects.filter(intent_id=intent["id"]).order_by("-id")
    assert listed == [serializers.Serializer.to_representation(EventSerializer(), event) for event in events]
    assert [event["payload"] for event in listed[:4]] == TRICKY_PAYLOADS[::-1]


def test_a_page_of_the_log_follows_its_filters_and_bounds(api):
    intent = api.post("/api/v1/intents", {"title": "logged"}, format="json").json()
    url = f"/api/v1/intents/{intent['id']}/events"
    posted = [api.post(url, {"event_type": "comment", "payload": {"n": n}}, format="json").json() for n in range(5)]
    everything = api.get(url).json()

    assert [event["id"] for event in api.get(url, {"limit": 2, "offset": 1}).json()] == [
        event["id"] for event in everything[1:3]
    ]
    comments = api.get(url, {"event_type": "comment"}).json()
    assert [event["payload"] for event in comments] == [{"n": n} for n in range(4, -1, -1)]
    since = api.get(url, {"since": posted[2]["created_at"]}).json()
    assert [event["payload"]["n"] for event in since] == [4, 3]
    assert api.get(url, {"event_type": "no_such_type"}).json() == []
    refused = api.get(url, {"limit": "0"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "limit"]


def test_lease_body_equals_the_declared_fields(api, other_api):
    intent = api.post("/api/v1/intents", {"title": "leased"}, format="json").json()
    url = f"/api/v1/intents/{intent['id']}/leases"
    granted = api.post(url, {"scope": "report", "duration_seconds": 60}, format="json").json()
    refused = other_api.post(url, {"scope": "report", "duration_seconds": 60}, format="json").json()
    held = Lease.objects.get(pk=granted["id"])
    declared_held = serializers.Serializer.to_representation(LeaseSerializer(), held)

    api.delete(f"{url}/{granted['id']}")
    released = Lease.objects.get(pk=granted["id"])
    declared_released = serializers.Serializer.to_representation(LeaseSerializer(), released)

    assert granted == declared_held
    assert refused["existing_lease"] == declared_held
    assert LeaseSerializer(released).data == declared_released
    assert declared_released["released_at"] is not None
    assert api.get(url, {"include": "all"}).json()["leases"] == [declared_released]
