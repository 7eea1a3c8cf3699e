"""Event triggers (RFC-0017 §3): fired by the events the server writes, once their write has committed, with exact
or glob filters, at most once per event, and stopped at the cascade depth limit with ``trigger.cascade_limit``."""

import pytest

from triggers.models import TriggerFire

from .helpers import TRIGGERS, create, intents_of, schedule_trigger, worker_inline

INTENTS = "/api/v1/intents"


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    return lambda: worker_inline(django_capture_on_commit_callbacks)


def event_trigger(client, event, template=None, **fields):
    condition = {"event": event, **({"filter": fields.pop("filter")} if "filter" in fields else {})}
    template = template or {"type": "follow.up", "title": "Follow up {{ event.intent_id }}"}
    return create(client, type="event", condition=condition, intent_template=template, **fields)


def new_intent(client, **fields):
    fields.setdefault("title", "Source")
    response = client.post(INTENTS, fields, format="json")
    assert response.status_code == 200
    return response.json()


def finish(client, intent, status="completed"):
    if status == "completed":
        intent = client.post(
            f"{INTENTS}/{intent['id']}/status",
            {"status": "active"},
            format="json",
            HTTP_IF_MATCH=str(intent["version"]),
        ).json()
    response = client.post(
        f"{INTENTS}/{intent['id']}/status", {"status": status}, format="json", HTTP_IF_MATCH=str(intent["version"])
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_an_intent_created_with_a_matching_type_fires_the_trigger(api, worker):
    trigger = event_trigger(
        api,
        "intent.created",
        filter={"type": "billing.*"},
        template={
            "type": "audit.entry",
            "title": "Audit {{ event.intent.title }}",
            "context": {"source": "{{ event.intent_id }}"},
        },
    )

    with worker():
        billing = new_intent(api, title="Invoice", type="billing.invoice")
        new_intent(api, title="Unrelated", type="support.ticket")

    created = intents_of(api, trigger["trigger_id"])
    assert [intent["title"] for intent in created] == ["Audit Invoice"]
    assert created[0]["state"] == {"source": billing["id"]}
    assert created[0]["trigger_lineage"]["trigger_type"] == "event"
    assert created[0]["trigger_lineage"]["event_id"] is not None


@pytest.mark.parametrize(
    ("listens_for", "status", "fires"),
    [
        ("intent.resolved", "completed", True),
        ("intent.completed", "completed", True),
        ("intent.resolved", "abandoned", False),
        ("intent.failed", "abandoned", True),
        ("intent.abandoned", "abandoned", True),
        ("status_changed", "abandoned", True),
    ],
)
def test_finished_intents_fire_the_rfc_names_and_the_logs_own(api, worker, listens_for, status, fires):
    trigger = event_trigger(api, listens_for, filter={"to_state": status})
    source = new_intent(api)

    with worker():
        finish(api, source, status)

    assert len(intents_of(api, trigger["trigger_id"])) == (1 if fires else 0)


def test_a_custom_event_type_with_a_nested_filter(api, worker):
    trigger = event_trigger(
        api,
        "x-deploy-finished",
        filter={"payload.env": "prod", "result": "fail*"},
        template={"title": "Deploy of {{ event.service }} failed"},
    )
    source = new_intent(api)

    with worker():
        for payload in (
            {"env": "prod", "result": "failed", "service": "api"},
            {"env": "dev", "result": "failed"},
            {"env": "prod", "result": "ok"},
        ):
            response = api.post(
                f"{INTENTS}/{source['id']}/events",
                {"event_type": "x-deploy-finished", "payload": payload},
                format="json",
            )
            assert response.status_code == 200

    assert [intent["title"] for intent in intents_of(api, trigger["trigger_id"])] == ["Deploy of api failed"]


def test_an_agent_registering_fires_agent_registered(api, worker):
    trigger = event_trigger(api, "agent.registered", template={"title": "Welcome {{ event.agent_id }}"})

    with worker():
        assert api.post("/api/v1/agents/register", {"agent_id": "newcomer"}, format="json").status_code == 200

    assert [intent["title"] for intent in intents_of(api, trigger["trigger_id"])] == ["Welcome newcomer"]


def test_a_disabled_event_trigger_does_not_fire(api, worker):
    trigger = event_trigger(api, "intent.created", enabled=False)

    with worker():
        new_intent(api)

    assert intents_of(api, trigger["trigger_id"]) == []


def test_a_write_that_rolls_back_fires_nothing(api, worker):
    trigger = event_trigger(api, "intent.created")

    with worker():
        refused = api.post(
            INTENTS, {"title": "Child of nothing", "parent_id": "00000000-0000-4000-8000-000000000000"}, format="json"
        )

    assert refused.status_code == 404
    assert intents_of(api, trigger["trigger_id"]) == []


def test_a_trigger_on_what_it_creates_stops_at_the_cascade_limit(api, worker, settings, caplog):
    settings.OPENINTENT_TRIGGER_MAX_CASCADE_DEPTH = 10
    trigger = event_trigger(api, "intent.created", template={"title": "Echo {{ event.intent.title }}"})

    with worker():
        source = new_intent(api, title="Seed")

    created = intents_of(api, trigger["trigger_id"])
    assert sorted(intent["trigger_lineage"]["trigger_depth"] for intent in created) == list(range(1, 11))
    deepest = max(created, key=lambda intent: intent["trigger_lineage"]["trigger_depth"])
    assert deepest["trigger_lineage"]["trigger_chain"] == [trigger["trigger_id"]] * 10
    limit_events = api.get(f"{INTENTS}/{deepest['id']}/events", {"event_type": "trigger.cascade_limit"}).json()
    assert limit_events[0]["payload"]["trigger_depth"] == 11
    history = api.get(f"{TRIGGERS}/{trigger['trigger_id']}/history").json()
    assert history[0]["outcome"] == "cascade_limit"
    assert "trigger.cascade_limit" in caplog.text
    assert source["trigger_lineage"] is None


def test_trigger_fired_chains_two_triggers(api, worker):
    first = schedule_trigger(api, name="First", template={"type": "a", "title": "First run"})
    second = event_trigger(
        api,
        "trigger.fired",
        filter={"trigger_id": first["trigger_id"]},
        template={"title": "After {{ event.trigger_name }}"},
    )

    with worker():
        assert api.post(f"{TRIGGERS}/{first['trigger_id']}/fire", format="json").status_code == 200

    chained = intents_of(api, second["trigger_id"])
    assert [intent["title"] for intent in chained] == ["After First"]
    assert chained[0]["trigger_lineage"]["trigger_chain"] == [first["trigger_id"], second["trigger_id"]]
    assert chained[0]["trigger_lineage"]["trigger_depth"] == 2


def test_each_event_fires_a_trigger_at_most_once(api, worker):
    from triggers import services

    trigger = event_trigger(api, "intent.created", filter={"intent.title": "Source"})
    with worker():
        new_intent(api)
    record = TriggerFire.objects.get(trigger_id=trigger["trigger_id"])

    again = services.fire_for_event(trigger["trigger_id"], record.event_id)

    assert again is None
    assert len(intents_of(api, trigger["trigger_id"])) == 1


def test_queue_deduplication_fires_once_the_unfinished_intent_finishes(api, worker):
    trigger = schedule_trigger(api, deduplication="queue", template={"type": "nightly.run", "title": "Run"})
    url = f"{TRIGGERS}/{trigger['trigger_id']}/fire"
    first = api.post(url, format="json").json()

    queued = api.post(url, format="json").json()
    beyond = api.post(url, format="json").json()

    assert queued["status"] == "queued" and queued["deduplicated"] is True
    assert beyond["status"] == "skipped"
    assert len(intents_of(api, trigger["trigger_id"])) == 1
    with worker():
        finish(api, first["intent"])
    runs = intents_of(api, trigger["trigger_id"])
    assert len(runs) == 2
    history = api.get(f"{TRIGGERS}/{trigger['trigger_id']}/history").json()
    assert sorted(entry["outcome"] for entry in history) == ["fired", "fired", "skipped"]


def test_a_live_worker_fires_event_triggers_after_the_write_commits(live_server_url, celery_worker):
    import httpx

    from tests.conftest import wait_for

    api = httpx.Client(base_url=f"{live_server_url}/api/v1", headers={"X-API-Key": "dev-user-key"}, timeout=10)
    trigger = api.post(
        "/triggers",
        json={
            "name": "Escalate",
            "type": "event",
            "condition": {"event": "intent.failed", "filter": {"intent.type": "billing.*"}},
            "intent_template": {"title": "Escalate {{ event.intent.title }}", "priority": "critical"},
        },
    ).json()
    billing = api.post("/intents", json={"title": "Invoice run", "type": "billing.invoice"}).json()
    other = api.post("/intents", json={"title": "Ticket", "type": "support.ticket"}).json()
    for intent in (billing, other):
        response = api.post(f"/intents/{intent['id']}/status", json={"status": "abandoned"}, headers={"If-Match": "1"})
        assert response.status_code == 200

    def escalations():
        return api.get("/intents", params={"trigger_id": trigger["trigger_id"]}).json()["intents"]

    found = wait_for(escalations, timeout=60)

    assert found, "the worker fired nothing within 60 s"
    assert [(intent["title"], intent["priority"]) for intent in found] == [("Escalate Invoice run", "critical")]
    assert celery_worker.poll() is None


def test_leases_claimed_and_expired_fire_their_rfc_names(api, worker):
    from datetime import timedelta

    from django.utils import timezone

    from intents.models import Lease
    from intents.tasks import expire_leases

    claimed = event_trigger(api, "lease.claimed", template={"title": "Claimed {{ event.scope }}"})
    expired = event_trigger(api, "lease.expired", template={"title": "Expired {{ event.scope }}"})
    source = new_intent(api)

    with worker():
        response = api.post(
            f"{INTENTS}/{source['id']}/leases", {"scope": "report", "duration_seconds": 60}, format="json"
        )
        assert response.status_code == 200, response.content
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with worker():
        expire_leases()

    assert [i["title"] for i in intents_of(api, claimed["trigger_id"])] == ["Claimed report"]
    assert [i["title"] for i in intents_of(api, expired["trigger_id"])] == ["Expired report"]


def test_an_agent_found_dead_fires_agent_dead(api, worker):
    from agents.registry.services import sweep_health
    from tests.agents.test_health import silent_for

    trigger = event_trigger(api, "agent.dead", template={"title": "Replace {{ event.agent_id }}"})
    assert api.post("/api/v1/agents/register", {"agent_id": "fragile"}, format="json").status_code == 200
    silent_for("fragile", 3600)

    with worker():
        sweep_health()

    assert [i["title"] for i in intents_of(api, trigger["trigger_id"])] == ["Replace fragile"]


def test_an_agent_dying_while_on_two_intents_fires_once(api, worker):
    from agents.registry.services import sweep_health
    from tests.agents.test_health import silent_for

    trigger = event_trigger(api, "agent.dead", template={"title": "Replace {{ event.agent_id }}"})
    assert api.post("/api/v1/agents/register", {"agent_id": "busy"}, format="json").status_code == 200
    for title in ("One", "Two"):
        intent = new_intent(api, title=title)
        api.post(f"{INTENTS}/{intent['id']}/agents", {"agent_id": "busy"}, format="json")
    silent_for("busy", 3600)

    with worker():
        sweep_health()

    lifecycle = [
        event
        for intent in api.get(INTENTS, {"q": "", "limit": 10}).json()["intents"]
        for event in api.get(f"{INTENTS}/{intent['id']}/events", {"event_type": "agent.lifecycle"}).json()
        if event["payload"]["new_status"] == "dead"
    ]
    assert len(lifecycle) == 2  # the transition is on the log of each intent the agent worked on
    assert [i["title"] for i in intents_of(api, trigger["trigger_id"])] == ["Replace busy"]


def test_an_event_whose_fire_task_was_lost_is_fired_by_the_tick_once(api, worker, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from triggers import tasks
    from triggers.models import PendingEventFire

    trigger = event_trigger(api, "intent.created", filter={"intent.title": "Source"})

    def broker_down(*args, **kwargs):
        raise ConnectionError("the broker is down")

    with monkeypatch.context() as patched:
        patched.setattr(tasks.fire_event_trigger, "delay", broker_down)
        with worker():
            source = new_intent(api)
    assert source["id"]
    assert intents_of(api, trigger["trigger_id"]) == []
    tasks.fire_due_triggers()  # too early: the task may still be on its way
    assert intents_of(api, trigger["trigger_id"]) == []

    PendingEventFire.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    tasks.fire_due_triggers()
    tasks.fire_due_triggers()

    assert len(intents_of(api, trigger["trigger_id"])) == 1
    assert not PendingEventFire.objects.exists()


def test_a_fire_task_that_ran_leaves_nothing_pending(api, worker):
    from triggers.models import PendingEventFire

    trigger = event_trigger(api, "intent.created", filter={"intent.title": "Source"})

    with worker():
        new_intent(api)

    assert len(intents_of(api, trigger["trigger_id"])) == 1
    assert not PendingEventFire.objects.exists()
