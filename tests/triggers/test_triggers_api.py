"""Triggers (RFC-0017) through HTTP: the 0.9.1 routes and shapes, validation that names the field, write-only
webhook secrets sealed at rest, If-Match on updates, manual fires that create a real intent with lineage, and the
fire history that outlives the trigger."""

import pytest
from django.db import connection

from triggers.models import Trigger

from .helpers import SECRET, TRIGGERS, create, fire, intents_of, schedule_trigger, webhook_trigger

MISSING = "00000000-0000-4000-8000-000000000000"


def test_create_answers_the_091_shape_with_the_schedule_beside_it(api):
    trigger = schedule_trigger(api, name="Daily report", deduplication="skip", trigger_id="trg_x", fire_count=9)

    assert trigger["name"] == "Daily report"
    assert trigger["type"] == "schedule"
    assert trigger["enabled"] is True
    assert trigger["deduplication"] == "skip"
    assert trigger["trigger_id"] != "trg_x" and trigger["fire_count"] == 0 and trigger["version"] == 1
    assert trigger["condition"] == {"cron": "0 9 * * *", "timezone": "UTC"}
    assert trigger["next_fire_at"].endswith("T09:00:00.000000+00:00")
    assert trigger["last_fired_at"] is None
    assert trigger["created_by"] == "agent-research"
    assert api.get(f"{TRIGGERS}/{trigger['trigger_id']}").json() == trigger


def test_enabled_false_at_creation_is_kept_and_such_a_trigger_is_never_due(api):
    trigger = schedule_trigger(api, enabled=False)

    assert trigger["enabled"] is False
    assert trigger["next_fire_at"] is None


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"type": "cron", "condition": {"cron": "* * * * *"}}, ["body", "type"]),
        ({"type": "schedule", "condition": {"cron": "not a cron"}}, ["body", "condition", "cron"]),
        ({"type": "schedule", "condition": {"cron": "* * * * * *"}}, ["body", "condition", "cron"]),
        (
            {"type": "schedule", "condition": {"cron": "* * * * *", "timezone": "Mars/Olympus"}},
            ["body", "condition", "timezone"],
        ),
        ({"type": "schedule", "condition": {}}, ["body", "condition"]),
        ({"type": "schedule", "condition": {"at": "2020-01-01T00:00:00Z"}}, ["body", "condition", "at"]),
        ({"type": "schedule", "condition": {"at": "tomorrow"}}, ["body", "condition", "at"]),
        (
            {
                "type": "schedule",
                "condition": {"cron": "* * * * *", "starts_at": "2030-01-02", "ends_at": "2030-01-01"},
            },
            ["body", "condition", "ends_at"],
        ),
        ({"type": "event", "condition": {"filter": {}}}, ["body", "condition", "event"]),
        ({"type": "webhook", "condition": {"path": "/hooks/x"}}, ["body", "condition", "secret"]),
        ({"type": "webhook", "condition": {"path": "/hooks/x", "secret": "short"}}, ["body", "condition", "secret"]),
        (
            {"type": "webhook", "condition": {"path": "/hooks/x", "method": "GET", "secret": SECRET}},
            ["body", "condition", "method"],
        ),
        (
            {"type": "schedule", "deduplication": "sometimes", "condition": {"cron": "* * * * *"}},
            ["body", "deduplication"],
        ),
        ({"type": "schedule", "deduplication": None, "condition": {"cron": "* * * * *"}}, ["body", "deduplication"]),
        ({"type": "schedule", "condition": []}, ["body", "condition"]),
        ({"type": "schedule", "name": None, "condition": {"cron": "* * * * *"}}, ["body", "name"]),
    ],
)
def test_create_refuses_bad_input_naming_the_field(api, fields, loc):
    fields = {"name": "Bad", **fields}
    response = api.post(TRIGGERS, fields, format="json")

    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert not Trigger.objects.exists()


@pytest.mark.parametrize(
    ("template", "loc", "words"),
    [
        ({"title": "Report for {{ customer }}"}, ["body", "intent_template", "title"], "Unknown name customer"),
        ({"title": "Hi {{ body.name }}"}, ["body", "intent_template", "title"], "Unknown name body"),
        ({"title": "{% for x in event %}x{% endfor %}"}, ["body", "intent_template", "title"], "Only {{ expression }}"),
        ({"title": "{{ trigger.__class__ }}"}, ["body", "intent_template", "title"], "may not be read"),
        ({"title": "{{ trigger['__class__'] }}"}, ["body", "intent_template", "title"], "may not be read"),
        ({"title": "{{ trigger.name.__class__.__mro__ }}"}, ["body", "intent_template", "title"], "may not be read"),
        ({"title": "{{ trigger.name.upper() }}"}, ["body", "intent_template", "title"], "Call"),
        ({"title": "{{ 'x' * 1000000000 }}"}, ["body", "intent_template", "title"], "Mul"),
        ({"title": "{{ trigger.name | attr('x') }}"}, ["body", "intent_template", "title"], "Unknown filter"),
        ({"title": "{{ trigger.name "}, ["body", "intent_template", "title"], "syntax"),
        ({"title": "x", "context": {"who": "{{ nobody }}"}}, ["body", "intent_template", "context", "who"], "nobody"),
        ({"type": "t"}, ["body", "intent_template", "title"], "needs a title"),
        ({"title": "x", "priority": "urgent"}, ["body", "intent_template", "priority"], "low, medium"),
        ({"title": "x", "colour": "red"}, ["body", "intent_template", "colour"], "Unknown key"),
        ({"title": "x", "tags": "a,b"}, ["body", "intent_template", "tags"], "list of strings"),
    ],
)
def test_templates_are_checked_at_creation_not_at_fire_time(api, template, loc, words):
    response = api.post(
        TRIGGERS,
        {"name": "T", "type": "schedule", "condition": {"cron": "* * * * *"}, "intent_template": template},
        format="json",
    )

    assert response.status_code == 422, response.content
    error = response.json()["detail"][0]
    assert error["loc"] == loc
    assert words in error["msg"]


def test_deduplication_other_than_allow_needs_a_template_type(api):
    response = api.post(
        TRIGGERS,
        {
            "name": "T",
            "type": "schedule",
            "condition": {"cron": "* * * * *"},
            "deduplication": "skip",
            "intent_template": {"title": "untyped"},
        },
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "intent_template", "type"]


def test_condition_times_with_z_are_written_back_in_utc_with_an_offset(api):
    trigger = schedule_trigger(
        api,
        condition={"cron": "0 9 * * *", "starts_at": "2030-02-08T00:00:00Z", "ends_at": "2030-03-01T10:00:00+02:00"},
    )

    assert trigger["condition"]["starts_at"] == "2030-02-08T00:00:00.000000+00:00"
    assert trigger["condition"]["ends_at"] == "2030-03-01T08:00:00.000000+00:00"
    assert trigger["next_fire_at"] == "2030-02-08T09:00:00.000000+00:00"


def sealed_secret(trigger_id):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sealed_secret, condition FROM {Trigger._meta.db_table} WHERE id = %s",
            [Trigger._meta.pk.get_db_prep_value(trigger_id, connection)],
        )
        return cursor.fetchone()


def test_a_webhook_secret_is_write_only_and_sealed_at_rest(api):
    trigger = webhook_trigger(api)

    assert "secret" not in trigger["condition"]
    assert trigger["has_secret"] is True
    assert trigger["webhook_url"] == "/webhooks/hooks/payments"
    for answer in (api.get(f"{TRIGGERS}/{trigger['trigger_id']}").content, api.get(TRIGGERS).content):
        assert SECRET.encode() not in answer
    sealed, condition = sealed_secret(trigger["trigger_id"])
    assert sealed.startswith("v1.") and SECRET not in sealed and SECRET not in str(condition)


def test_a_patched_webhook_condition_without_its_secret_keeps_it_and_null_removes_it(api):
    trigger = webhook_trigger(api)
    url = f"{TRIGGERS}/{trigger['trigger_id']}"
    sealed_before, _ = sealed_secret(trigger["trigger_id"])

    kept = api.patch(url, {"condition": {**trigger["condition"], "method": "PUT"}}, format="json", HTTP_IF_MATCH="1")
    assert kept.status_code == 200, kept.content
    assert kept.json()["condition"]["method"] == "PUT" and kept.json()["has_secret"] is True
    assert sealed_secret(trigger["trigger_id"])[0] == sealed_before

    cleared = api.patch(
        url, {"condition": {"path": "/hooks/payments", "secret": None}}, format="json", HTTP_IF_MATCH="2"
    )
    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["has_secret"] is False
    assert sealed_secret(trigger["trigger_id"])[0] == ""


def test_two_webhook_triggers_cannot_answer_the_same_path_and_method(api):
    first = webhook_trigger(api)

    response = api.post(
        TRIGGERS,
        {"name": "Twin", "type": "webhook", "condition": {"path": "hooks/payments/", "secret": SECRET}},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["trigger_id"] == first["trigger_id"]


def test_update_needs_if_match_and_answers_091s_conflicts(api):
    trigger = schedule_trigger(api)
    url = f"{TRIGGERS}/{trigger['trigger_id']}"

    assert api.patch(url, {"enabled": False}, format="json").status_code == 428
    stale = api.patch(url, {"enabled": False}, format="json", HTTP_IF_MATCH="7")
    assert stale.status_code == 409
    assert stale.json()["detail"] == "Version conflict or trigger not found"
    assert stale.json()["current_version"] == 1
    unknown = api.patch(f"{TRIGGERS}/{MISSING}", {"enabled": False}, format="json", HTTP_IF_MATCH="1")
    assert unknown.status_code == 409
    assert api.patch(url, {"enabled": "maybe"}, format="json", HTTP_IF_MATCH="1").status_code == 422

    paused = api.patch(
        url, {"enabled": False, "deduplication": None, "type": "event"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert paused.status_code == 200, paused.content
    assert paused.json()["enabled"] is False and paused.json()["version"] == 2
    assert paused.json()["deduplication"] == "allow" and paused.json()["type"] == "schedule"
    assert paused.json()["next_fire_at"] is None

    resumed = api.patch(url, {"enabled": True, "condition": {"cron": "30 6 * * *"}}, format="json", HTTP_IF_MATCH="2")
    assert resumed.json()["next_fire_at"].endswith("T06:30:00.000000+00:00")


def test_list_filters_by_type_namespace_and_enabled(api):
    daily = schedule_trigger(api, namespace="ops")
    paused = schedule_trigger(api, enabled=False)
    hook = webhook_trigger(api, namespace="ops")

    def ids(**params):
        return [trigger["trigger_id"] for trigger in api.get(TRIGGERS, params).json()]

    assert ids() == [daily["trigger_id"], paused["trigger_id"], hook["trigger_id"]]
    assert ids(type="schedule") == [daily["trigger_id"], paused["trigger_id"]]
    assert ids(namespace="ops") == [daily["trigger_id"], hook["trigger_id"]]
    assert ids(enabled="false") == [paused["trigger_id"]]
    assert api.get(TRIGGERS, {"type": "cron"}).status_code == 422


def test_a_manual_fire_creates_the_intent_of_the_template_with_lineage(api, other_api):
    trigger = create(
        api,
        name="Compliance",
        type="schedule",
        namespace="compliance",
        condition={"cron": "0 9 * * MON-FRI", "timezone": "America/New_York"},
        intent_template={
            "type": "compliance.review",
            "title": "Review by {{ trigger.name }} #{{ trigger.fire_count }}",
            "description": "Fired at {{ trigger.fired_at }}",
            "priority": "high",
            "assignee": "agent-synth",
            "tags": ["automated", "{{ trigger.type }}"],
            "context": {
                "scope": "all",
                "source_trigger": "{{ trigger.trigger_id }}",
                "count": "{{ trigger.fire_count }}",
            },
        },
    )

    response = fire(api, trigger["trigger_id"])

    assert response.status_code == 200, response.content
    fired = response.json()
    assert fired["status"] == "fired" and fired["fire_count"] == 1 and fired["deduplicated"] is False
    intent = fired["intent"]
    assert fired["intent_id"] == intent["id"]
    assert intent["title"] == "Review by Compliance #1"
    assert intent["type"] == "compliance.review" and intent["namespace"] == "compliance"
    assert intent["priority"] == "high" and intent["tags"] == ["automated", "schedule"]
    assert intent["state"] == {"scope": "all", "source_trigger": trigger["trigger_id"], "count": 1}
    assert intent["created_by"] == "agent-research"
    assert intent["trigger_lineage"] == {
        "created_by": "trigger",
        "trigger_id": trigger["trigger_id"],
        "trigger_type": "schedule",
        "trigger_depth": 1,
        "trigger_chain": [trigger["trigger_id"]],
        "fire_id": fired["fire"]["fire_id"],
    }
    agents = api.get(f"/api/v1/intents/{intent['id']}/agents").json()
    assert [agent["agent_id"] for agent in agents] == ["agent-synth"]
    events = api.get(f"/api/v1/intents/{intent['id']}/events").json()
    fired_events = [event for event in events if event["event_type"] == "trigger.fired"]
    assert fired_events[0]["payload"]["created_intent_id"] == intent["id"]
    assert fired_events[0]["payload"]["trigger_id"] == trigger["trigger_id"]
    again = api.get(f"{TRIGGERS}/{trigger['trigger_id']}").json()
    assert again["fire_count"] == 1 and again["last_fired_at"] is not None and again["version"] == 1
    assert [found["id"] for found in intents_of(api, trigger["trigger_id"])] == [intent["id"]]


def test_lineage_cannot_be_written_or_changed_by_clients(api):
    trigger = schedule_trigger(api)
    intent = fire(api, trigger["trigger_id"]).json()["intent"]

    forged = api.post("/api/v1/intents", {"title": "Forged", "trigger_lineage": {"trigger_id": "x"}}, format="json")
    patched = api.post(
        f"/api/v1/intents/{intent['id']}/state",
        {"patches": [{"op": "set", "path": "trigger_lineage", "value": None}]},
        format="json",
        HTTP_IF_MATCH=str(intent["version"]),
    )

    assert forged.json()["trigger_lineage"] is None
    assert patched.status_code == 200
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["trigger_lineage"]["trigger_id"] == trigger["trigger_id"]


def test_a_disabled_trigger_does_not_fire_by_hand_either(api):
    trigger = schedule_trigger(api, enabled=False)

    response = fire(api, trigger["trigger_id"])

    assert response.status_code == 409
    assert response.json()["detail"] == "Trigger is disabled"
    assert fire(api, MISSING).status_code == 404
    assert intents_of(api, trigger["trigger_id"]) == []


def test_a_manual_fire_can_carry_stand_ins_for_what_the_condition_would(api):
    hook = webhook_trigger(api)

    without = fire(api, hook["trigger_id"])
    with_body = fire(api, hook["trigger_id"], {"body": {"amount": 5000, "customer": "cus_1"}})

    assert without.status_code == 422
    assert without.json()["detail"][0]["loc"] == ["intent_template", "title"]
    assert with_body.status_code == 200, with_body.content
    assert with_body.json()["intent"]["state"] == {"amount": 5000, "customer": "cus_1"}
    assert with_body.json()["intent"]["title"] == "Payment of 5000 from cus_1"


def test_skip_deduplication_fires_again_once_the_unfinished_intent_is_finished(api):
    trigger = schedule_trigger(api, deduplication="skip")
    first = fire(api, trigger["trigger_id"]).json()

    skipped = fire(api, trigger["trigger_id"])

    assert skipped.status_code == 200
    assert skipped.json()["deduplicated"] is True and skipped.json()["status"] == "skipped"
    assert skipped.json()["intent"] is None and skipped.json()["fire_count"] == 1
    events = api.get(f"/api/v1/intents/{first['intent_id']}/events", {"event_type": "trigger.skipped"}).json()
    assert events[0]["payload"]["trigger_id"] == trigger["trigger_id"]
    api.post(
        f"/api/v1/intents/{first['intent_id']}/status",
        {"status": "abandoned"},
        format="json",
        HTTP_IF_MATCH=str(first["intent"]["version"]),
    )
    assert fire(api, trigger["trigger_id"]).json()["status"] == "fired"


def test_skip_deduplication_is_scoped_to_the_namespace_of_the_trigger(api):
    billing = schedule_trigger(api, namespace="billing", deduplication="skip")
    support = schedule_trigger(api, namespace="support", deduplication="skip")
    global_one = schedule_trigger(api, deduplication="skip")

    assert fire(api, billing["trigger_id"]).json()["status"] == "fired"
    assert fire(api, support["trigger_id"]).json()["status"] == "fired"
    # A global trigger looks in every namespace.
    assert fire(api, global_one["trigger_id"]).json()["status"] == "skipped"


def test_history_lists_each_fire_and_outlives_the_trigger(api):
    trigger = schedule_trigger(api, deduplication="skip")
    first = fire(api, trigger["trigger_id"]).json()
    fire(api, trigger["trigger_id"])
    url = f"{TRIGGERS}/{trigger['trigger_id']}/history"

    history = api.get(url).json()
    deleted = api.delete(f"{TRIGGERS}/{trigger['trigger_id']}")

    assert [entry["outcome"] for entry in history] == ["skipped", "fired"]
    assert history[1]["intent_id"] == first["intent_id"] and history[1]["source"] == "manual"
    assert history[0]["duplicate_of"] == first["intent_id"]
    assert deleted.status_code == 200
    assert deleted.json() == {"status": "deleted", "trigger_id": trigger["trigger_id"]}
    assert api.get(f"{TRIGGERS}/{trigger['trigger_id']}").status_code == 404
    assert api.delete(f"{TRIGGERS}/{trigger['trigger_id']}").status_code == 404
    assert api.get(url).json() == history
    assert api.get(f"/api/v1/intents/{first['intent_id']}").status_code == 200
    assert api.get(f"{TRIGGERS}/{MISSING}/history").status_code == 404
    assert api.get(url, {"limit": "0"}).status_code == 422


def test_every_route_needs_a_key(anonymous_api):
    assert anonymous_api.get(TRIGGERS).status_code == 401
    assert anonymous_api.post(TRIGGERS, {}, format="json").status_code == 401
