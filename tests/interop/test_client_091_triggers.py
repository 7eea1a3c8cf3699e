"""The unmodified openintent 0.9.1 client (sync and async) against a live server: every trigger method (RFC-0017).
Against 0.9.1's own server fire_trigger created nothing; here it creates the template's intent, which the client
then reads like any other intent (the RFC-0017 keys beside 0.9.1's are ignored by its parser)."""

import pytest

from .conftest import AGENT

pytestmark = pytest.mark.interop


def test_every_trigger_method_of_the_sync_client(run_client):
    out = run_client(
        """
        from openintent.models import DeduplicationMode, Trigger, TriggerType

        def as_trigger(value):
            assert isinstance(value, Trigger), type(value)
            data = value.to_dict()
            data["type_is_enum"] = isinstance(value.type, TriggerType)
            data["dedup_is_enum"] = isinstance(value.deduplication, DeduplicationMode)
            data["starts_at"] = repr(value.condition.starts_at) if value.condition else None
            return data

        created = client.create_trigger(
            "Daily Compliance Review", "schedule",
            condition={"cron": "0 9 * * MON-FRI", "timezone": "America/New_York",
                       "starts_at": "2026-02-08T00:00:00Z"},
            intent_template={"type": "compliance.review", "title": "Daily compliance review", "priority": "medium",
                             "tags": ["automated"]},
            deduplication="skip",
        )
        out["created"] = as_trigger(created)
        out["got"] = as_trigger(client.get_trigger(created.trigger_id))
        hook = client.create_trigger(
            "Stripe", "webhook",
            condition={"path": "/hooks/stripe", "method": "POST", "secret": "whsec_0123456789abcdef"},
            intent_template={"title": "Payment {{ body.id }}"}, namespace="billing",
        )
        out["hook"] = as_trigger(hook)
        out["listed"] = [as_trigger(t) for t in client.list_triggers()]
        out["listed_webhooks"] = [t.trigger_id for t in client.list_triggers(trigger_type="webhook")]
        out["listed_billing"] = [t.trigger_id for t in client.list_triggers(namespace="billing")]
        out["bad_type"] = caught(lambda: client.create_trigger("Bad", "cron", condition={"cron": "* * * * *"}))
        out["bad_cron"] = caught(lambda: client.create_trigger("Bad", "schedule", condition={"cron": "not a cron"}))

        fired = client.fire_trigger(created.trigger_id)
        out["fired"] = fired
        out["fired_intent"] = as_intent(client.get_intent(fired["intent_id"]))
        out["intents"] = [i.id for i in client.list_intents()]
        out["skipped"] = client.fire_trigger(created.trigger_id)

        paused = client.update_trigger(created.trigger_id, created.version, enabled=False)
        out["paused"] = as_trigger(paused)
        out["stale"] = caught(lambda: client.update_trigger(created.trigger_id, created.version, enabled=True))
        out["unknown_update"] = caught(lambda: client.update_trigger(MISSING, 1, enabled=True))
        out["fire_disabled"] = caught(lambda: client.fire_trigger(created.trigger_id))
        out["fire_missing"] = caught(lambda: client.fire_trigger(MISSING))
        out["deleted"] = caught(lambda: client.delete_trigger(created.trigger_id))
        out["get_deleted"] = caught(lambda: client.get_trigger(created.trigger_id))
        out["delete_again"] = caught(lambda: client.delete_trigger(created.trigger_id))
        """
    )

    created = out["created"]
    assert created["type"] == "schedule" and created["type_is_enum"] and created["dedup_is_enum"]
    assert created["deduplication"] == "skip" and created["enabled"] is True and created["version"] == 1
    assert created["condition"]["cron"] == "0 9 * * MON-FRI"
    assert created["starts_at"] == "datetime.datetime(2026, 2, 8, 0, 0, tzinfo=datetime.timezone.utc)"
    assert created["intent_template"]["type"] == "compliance.review"
    assert out["got"] == created
    assert "secret" not in str(out["hook"]["condition"])
    assert [t["trigger_id"] for t in out["listed"]] == [created["trigger_id"], out["hook"]["trigger_id"]]
    assert out["listed_webhooks"] == out["listed_billing"] == [out["hook"]["trigger_id"]]
    assert out["bad_type"]["status_code"] == 422  # refused, where 0.9.1 stored it and its own parser then broke
    assert out["bad_cron"]["status_code"] == 422

    fired = out["fired"]
    assert fired["status"] == "fired" and fired["fire_count"] == 1
    intent = out["fired_intent"]
    assert intent["id"] == fired["intent_id"] and intent["title"] == "Daily compliance review"
    assert intent["status_is_enum"] and intent["created_by"] == AGENT
    assert fired["intent_id"] in out["intents"]
    assert out["skipped"]["status"] == "skipped" and out["skipped"]["deduplicated"] is True

    assert out["paused"]["enabled"] is False and out["paused"]["version"] == 2
    assert out["stale"]["type"] == "ConflictError" and out["stale"]["status_code"] == 409
    assert out["unknown_update"]["type"] == "ConflictError"
    assert out["fire_disabled"]["type"] == "ConflictError"
    assert out["fire_missing"]["type"] == "NotFoundError"
    assert out["deleted"]["type"] is None
    assert out["get_deleted"]["type"] == "NotFoundError"
    assert out["delete_again"]["type"] == "NotFoundError"


def test_the_async_client_creates_fires_and_deletes(run_client):
    out = run_client(
        """
        async def main():
            async with AsyncOpenIntentClient(URL, KEY, AGENT) as aclient:
                trigger = await aclient.create_trigger(
                    "Hourly", "schedule", condition={"cron": "0 * * * *"}, intent_template={"title": "Hourly run"}
                )
                out["got"] = (await aclient.get_trigger(trigger.trigger_id)).to_dict()
                out["listed"] = [t.trigger_id for t in await aclient.list_triggers(trigger_type="schedule")]
                updated = await aclient.update_trigger(trigger.trigger_id, 1, condition={"cron": "30 * * * *"})
                out["updated"] = updated.to_dict()
                out["fired"] = await aclient.fire_trigger(trigger.trigger_id)
                await aclient.delete_trigger(trigger.trigger_id)
                out["gone"] = await caught_async(aclient.get_trigger(trigger.trigger_id))

        asyncio.run(main())
        """
    )

    assert out["listed"] == [out["got"]["trigger_id"]]
    assert out["updated"]["condition"] == {"cron": "30 * * * *", "timezone": "UTC"}
    assert out["updated"]["version"] == 2
    assert out["fired"]["status"] == "fired" and out["fired"]["intent"]["title"] == "Hourly run"
    assert out["gone"]["type"] == "NotFoundError"
