"""Schedule triggers (RFC-0017 §2): cron in the trigger's IANA timezone, the starts_at/ends_at window, one-shot
``at`` that disables itself, no backfill after downtime, and each due time fired once. The scheduler's clock is
passed in (``fire_due(now)``), as beat's tick passes the real one."""

from datetime import UTC, datetime, timedelta

from openintent_site.celery import app
from triggers import services

from .helpers import TRIGGERS, create, intents_of, schedule_trigger


def utc(text):
    return datetime.fromisoformat(text).astimezone(UTC)


def test_the_tick_is_a_registered_task_on_the_beat_schedule(settings):
    app.loader.import_default_modules()

    entry = settings.CELERY_BEAT_SCHEDULE["fire-due-triggers"]

    assert entry["task"] in app.tasks
    assert app.tasks[entry["task"]].run.__module__ == "triggers.tasks"


def test_cron_is_read_in_the_triggers_timezone_across_daylight_saving(api):
    trigger = schedule_trigger(
        api,
        condition={"cron": "0 9 * * *", "timezone": "America/New_York", "starts_at": "2030-03-09T00:00:00Z"},
    )
    url = f"{TRIGGERS}/{trigger['trigger_id']}"

    # 09:00 in New York is 14:00 UTC before the change to summer time (10 March 2030) and 13:00 UTC after it.
    assert trigger["next_fire_at"] == "2030-03-09T14:00:00.000000+00:00"
    services.fire_due(utc(trigger["next_fire_at"]) + timedelta(seconds=2))
    assert api.get(url).json()["next_fire_at"] == "2030-03-10T13:00:00.000000+00:00"
    runs = intents_of(api, trigger["trigger_id"])
    assert [run["trigger_lineage"]["scheduled_for"] for run in runs] == ["2030-03-09T14:00:00.000000+00:00"]


def test_each_due_time_fires_once_however_often_the_tick_runs(api):
    trigger = schedule_trigger(api, cron="*/5 * * * *")
    due = utc(trigger["next_fire_at"])

    for seconds in (0, 1, 2, 30):
        services.fire_due(due + timedelta(seconds=seconds))
    services.fire_due(due - timedelta(seconds=1))

    runs = intents_of(api, trigger["trigger_id"])
    assert len(runs) == 1
    after = api.get(f"{TRIGGERS}/{trigger['trigger_id']}").json()
    assert utc(after["next_fire_at"]) == due + timedelta(minutes=5)
    assert after["fire_count"] == 1


def test_due_times_missed_while_the_scheduler_was_down_are_not_backfilled(api, settings):
    settings.OPENINTENT_TRIGGER_MISFIRE_GRACE_SECONDS = 300
    trigger = schedule_trigger(api, cron="0 * * * *")
    due = utc(trigger["next_fire_at"])

    services.fire_due(due + timedelta(hours=5, minutes=10))

    assert intents_of(api, trigger["trigger_id"]) == []
    history = api.get(f"{TRIGGERS}/{trigger['trigger_id']}/history").json()
    assert [(entry["outcome"], utc(entry["scheduled_for"])) for entry in history] == [("missed", due)]
    after = api.get(f"{TRIGGERS}/{trigger['trigger_id']}").json()
    assert utc(after["next_fire_at"]) == due + timedelta(hours=6)


def test_a_late_tick_within_the_grace_fires_the_due_time_once_and_skips_the_rest(api, settings):
    settings.OPENINTENT_TRIGGER_MISFIRE_GRACE_SECONDS = 300
    trigger = schedule_trigger(api, cron="* * * * *")
    due = utc(trigger["next_fire_at"])

    services.fire_due(due + timedelta(minutes=4))

    assert len(intents_of(api, trigger["trigger_id"])) == 1
    after = api.get(f"{TRIGGERS}/{trigger['trigger_id']}").json()
    assert utc(after["next_fire_at"]) == due + timedelta(minutes=5)


def test_the_window_bounds_the_due_times(api):
    trigger = schedule_trigger(
        api,
        condition={"cron": "0 12 * * *", "starts_at": "2030-01-01T12:00:00Z", "ends_at": "2030-01-02T12:30:00Z"},
    )
    url = f"{TRIGGERS}/{trigger['trigger_id']}"

    assert trigger["next_fire_at"] == "2030-01-01T12:00:00.000000+00:00"
    services.fire_due(utc("2030-01-01T12:00:01Z"))
    assert api.get(url).json()["next_fire_at"] == "2030-01-02T12:00:00.000000+00:00"
    services.fire_due(utc("2030-01-02T12:00:01Z"))
    assert api.get(url).json()["next_fire_at"] is None
    assert len(intents_of(api, trigger["trigger_id"])) == 2


def test_a_one_shot_fires_once_then_disables_itself(api):
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    trigger = create(
        api, type="schedule", condition={"at": at.isoformat()}, intent_template={"title": "Once at {{ scheduled_for }}"}
    )

    services.fire_due(at + timedelta(seconds=1))
    services.fire_due(at + timedelta(seconds=2))

    runs = intents_of(api, trigger["trigger_id"])
    assert [run["title"] for run in runs] == [f"Once at {at.isoformat(timespec='microseconds')}"]
    after = api.get(f"{TRIGGERS}/{trigger['trigger_id']}").json()
    assert after["enabled"] is False and after["next_fire_at"] is None and after["version"] == 2


def test_a_disabled_schedule_is_not_due_and_resumes_from_now(api):
    trigger = schedule_trigger(api, cron="0 * * * *")
    url = f"{TRIGGERS}/{trigger['trigger_id']}"
    due = utc(trigger["next_fire_at"])
    api.patch(url, {"enabled": False}, format="json", HTTP_IF_MATCH="1")

    services.fire_due(due + timedelta(seconds=1))

    assert intents_of(api, trigger["trigger_id"]) == []
    assert (
        api.patch(url, {"enabled": True}, format="json", HTTP_IF_MATCH="2").json()["next_fire_at"]
        == trigger["next_fire_at"]
    )


def test_a_template_that_fails_at_fire_time_is_recorded_and_the_schedule_goes_on(api):
    parent = api.post("/api/v1/intents", {"title": "Done"}, format="json").json()
    api.post(f"/api/v1/intents/{parent['id']}/status", {"status": "abandoned"}, format="json", HTTP_IF_MATCH="1")
    trigger = schedule_trigger(api, cron="0 * * * *", template={"title": "Child", "graph_id": parent["id"]})
    due = utc(trigger["next_fire_at"])

    services.fire_due(due + timedelta(seconds=1))

    history = api.get(f"{TRIGGERS}/{trigger['trigger_id']}/history").json()
    assert [entry["outcome"] for entry in history] == ["failed"]
    assert "abandoned" in history[0]["detail"]
    assert utc(api.get(f"{TRIGGERS}/{trigger['trigger_id']}").json()["next_fire_at"]) == due + timedelta(hours=1)
