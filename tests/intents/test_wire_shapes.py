"""Hand-built response bodies must match the fields their serializers declare (and document in /openapi.json)."""

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
