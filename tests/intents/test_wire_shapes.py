"""Hand-built response bodies must match the fields their serializers declare (and document in /openapi.json)."""

from rest_framework import serializers

from intents.core.serializers import IntentSerializer
from intents.models import Intent


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
