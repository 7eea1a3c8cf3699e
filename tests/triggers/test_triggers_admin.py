"""The Triggers section of the admin, through Django's test client: next due time, last fire and fire history;
enable, disable and "fire now" actions through the API's services; nothing edited or deleted there."""

import pytest

from triggers.models import Trigger

from .helpers import TRIGGERS, fire, intents_of, schedule_trigger, webhook_trigger


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.test", "pw"))
    return client


def act(admin_client, action, *triggers):
    return admin_client.post(
        "/admin/triggers/trigger/",
        {"action": action, "_selected_action": [trigger["trigger_id"] for trigger in triggers]},
        follow=True,
    )


def test_the_list_shows_next_due_time_and_last_fire(admin_client, api):
    daily = schedule_trigger(api, name="Daily digest", deduplication="skip")
    fire(api, daily["trigger_id"])
    fire(api, daily["trigger_id"])
    schedule_trigger(api, name="Never fired")

    page = admin_client.get("/admin/triggers/trigger/").content.decode()

    assert "Daily digest" in page and "Never fired" in page
    assert "skipped (manual)" in page and "never" in page
    assert " 09:00:00" in page  # the next due time (cron 0 9 * * *, UTC), to the second as every admin time


def test_a_triggers_page_shows_its_history_and_never_its_secret(admin_client, api):
    hook = webhook_trigger(api, name="Payments")
    fired = fire(api, hook["trigger_id"], {"body": {"amount": 1, "customer": "c"}}).json()

    page = admin_client.get(f"/admin/triggers/trigger/{hook['trigger_id']}/change/").content.decode()

    assert fired["intent_id"] in page
    assert "set (sealed; never shown)" in page
    assert "whsec_" not in page
    history = admin_client.get(f"/admin/triggers/triggerfire/?trigger_id={hook['trigger_id']}").content.decode()
    assert "Payments" in history


def test_enable_disable_and_fire_now_go_through_the_services(admin_client, api):
    first = schedule_trigger(api, name="First")
    second = schedule_trigger(api, name="Second", enabled=False)

    disabled = act(admin_client, "disable", first)
    assert "Disabled: First" in disabled.content.decode()
    after = api.get(f"{TRIGGERS}/{first['trigger_id']}").json()
    assert after["enabled"] is False and after["version"] == 2 and after["next_fire_at"] is None

    refused = act(admin_client, "fire_now", first)
    assert "Trigger is disabled" in refused.content.decode()

    act(admin_client, "enable", first, second)
    fired = act(admin_client, "fire_now", first, second).content.decode()

    assert "First created intent" in fired and "Second created intent" in fired
    assert len(intents_of(api, first["trigger_id"])) == 1
    history = api.get(f"{TRIGGERS}/{second['trigger_id']}/history").json()
    assert history[0]["actor"] == "boss"


def test_history_of_a_deleted_trigger_stays_in_the_admin(admin_client, api):
    trigger = schedule_trigger(api, name="Short-lived")
    fire(api, trigger["trigger_id"])
    api.delete(f"{TRIGGERS}/{trigger['trigger_id']}")

    page = admin_client.get("/admin/triggers/triggerfire/").content.decode()

    assert "Short-lived" in page


def test_triggers_are_not_added_edited_or_deleted_in_the_admin(admin_client, api):
    trigger = schedule_trigger(api)

    assert admin_client.get("/admin/triggers/trigger/add/").status_code == 403
    assert admin_client.post(f"/admin/triggers/trigger/{trigger['trigger_id']}/delete/").status_code == 403
    admin_client.post(f"/admin/triggers/trigger/{trigger['trigger_id']}/change/", {"name": "Renamed"})
    assert Trigger.objects.get().name == "A trigger"
