"""The RFC-0017 keys every intent may carry (type, namespace, priority, tags) and the lineage of intents a trigger
created: written at creation, listed with filters, invisible to what 0.9.1 clients parse."""

import pytest

INTENTS = "/api/v1/intents"


def test_type_namespace_priority_and_tags_are_kept_and_filtered_on(api):
    review = api.post(
        INTENTS,
        {
            "title": "Review",
            "type": "compliance.review",
            "namespace": "eu",
            "priority": "high",
            "tags": ["a", "b", "a"],
        },
        format="json",
    ).json()
    api.post(INTENTS, {"title": "Other", "type": "billing.run", "namespace": "us"}, format="json")

    assert (review["type"], review["namespace"], review["priority"], review["tags"]) == (
        "compliance.review",
        "eu",
        "high",
        ["a", "b"],
    )

    def titles(**params):
        return [intent["title"] for intent in api.get(INTENTS, params).json()["intents"]]

    assert titles(type="compliance.review") == ["Review"]
    assert titles(namespace="us") == ["Other"]
    assert titles(priority="high") == ["Review"]
    assert titles(priority="medium") == ["Other"]
    assert api.get(INTENTS, {"priority": "urgent"}).status_code == 422


def test_the_keys_are_kept_on_child_intents_and_in_the_created_event(api):
    parent = api.post(INTENTS, {"title": "Parent"}, format="json").json()

    child = api.post(
        f"{INTENTS}/{parent['id']}/children", {"title": "Child", "type": "step", "namespace": "ops"}, format="json"
    ).json()

    assert (child["type"], child["namespace"]) == ("step", "ops")
    created = api.get(f"{INTENTS}/{child['id']}/events", {"event_type": "intent_created"}).json()[0]
    assert created["payload"]["type"] == "step" and created["payload"]["namespace"] == "ops"


@pytest.mark.parametrize(
    ("field", "value"),
    [("priority", "urgent"), ("tags", "a,b"), ("type", ["x"]), ("namespace", "n" * 256), ("tags", ["t" * 256])],
)
def test_bad_values_are_refused_naming_the_field(api, field, value):
    response = api.post(INTENTS, {"title": "Bad", field: value}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]
