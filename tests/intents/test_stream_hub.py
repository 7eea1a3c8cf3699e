"""The stream hub in-process: races and failures a live server only shows by chance, made to happen on purpose."""

import asyncio
import gc

import pytest
from asgiref.sync import SyncToAsync
from channels.testing import WebsocketCommunicator
from django.db import OperationalError, connection, connections, transaction
from django.test import AsyncRequestFactory

from governance.services import grant, revoke_entry, set_acl
from intents import hub as hubs
from intents import services, streams, views
from intents.hub import StreamClosed, open_subscription

WAIT = 10

pytestmark = pytest.mark.usefixtures("in_memory_channel_layer")


def run(scenario):
    """Run ``scenario()`` in an event loop of its own; close what its worker threads left open afterwards."""
    try:
        return asyncio.run(scenario())
    finally:
        SyncToAsync.single_thread_executor.submit(connections.close_all).result()
        gc.collect()
        if connection.vendor == "postgresql":
            connection.close_pool()


def note(intent, text, actor="agent-research"):
    services.log_event(intent.pk, "note", actor, {"n": text})


def in_thread(function, *args):
    """Run blocking database work off the event loop, as the hub's own reads are."""
    return asyncio.to_thread(function, *args)


@pytest.fixture
def shared_intent(transactional_db, keys):
    """An intent agent-synth may read through a grant that tests revoke."""
    intent = services.create_intent("agent-research", title="Shared")
    set_acl(intent.pk, "agent-research", "closed", [])
    entry = grant(
        intent.pk,
        "agent-research",
        principal_id="agent-synth",
        principal_type="agent",
        permission="read",
        expires_at=None,
        reason="",
    )
    return intent, entry


def test_access_revoked_while_subscribing_is_not_skipped_with_the_events_before_the_subscriber(
    shared_intent, monkeypatch
):
    intent, entry = shared_intent
    committed_after = streams.committed_after

    def revoke_meanwhile(topic, position):
        revoke_entry(intent.pk, entry.pk, "agent-research")  # lands between the access check and this read
        return committed_after(topic, position)

    monkeypatch.setattr(streams, "committed_after", revoke_meanwhile)

    async def scenario():
        subscription = await open_subscription("agent-synth-key", "intent", str(intent.pk))
        await in_thread(note, intent, "secret")
        with pytest.raises(StreamClosed):
            while True:
                assert not await subscription.next_events(WAIT), "an event reached a revoked subscriber"

    run(scenario)


def test_an_assignment_while_subscribing_still_joins_the_agent_stream(transactional_db, keys, monkeypatch):
    intent = services.create_intent("agent-research", title="Assigned meanwhile")
    committed_after = streams.committed_after

    def assign_meanwhile(topic, position):
        services.assign_agent(intent.pk, "agent-synth", "worker", "agent-research")
        return committed_after(topic, position)

    monkeypatch.setattr(streams, "committed_after", assign_meanwhile)

    async def scenario():
        subscription = await open_subscription("agent-synth-key", "agent", "agent-synth")
        await in_thread(note, intent, "for synth")
        events = []
        while not events:
            events = await subscription.next_events(WAIT)
        subscription.close()
        return events

    events = run(scenario)
    assert [event.payload for event in events] == [{"n": "for synth"}]


def test_events_before_a_loss_of_access_in_the_same_batch_are_still_delivered(shared_intent):
    intent, entry = shared_intent

    def note_then_revoke():
        with transaction.atomic():
            note(intent, "still readable")
            revoke_entry(intent.pk, entry.pk, "agent-research")

    async def scenario():
        subscription = await open_subscription("agent-synth-key", "intent", str(intent.pk))
        await in_thread(note_then_revoke)
        delivered = []
        with pytest.raises(StreamClosed):
            while True:
                delivered += await subscription.next_events(WAIT)
        return delivered

    delivered = run(scenario)
    assert [event.payload.get("n") for event in delivered] == ["still readable"]


def test_a_subscription_that_fails_while_subscribing_leaves_nothing_behind(transactional_db, keys, monkeypatch):
    intent = services.create_intent("agent-research", title="Abandoned")

    def failing_read(topic, position):
        raise OperationalError("the database went away")

    monkeypatch.setattr(streams, "committed_after", failing_read)

    async def scenario():
        with pytest.raises(OperationalError):
            await open_subscription("agent-research-key", "intent", str(intent.pk))
        hub = hubs.hub()
        return hub.subscriptions, hub.tasks

    subscriptions, tasks = run(scenario)
    assert subscriptions == 0
    assert tasks == []  # with nobody subscribed the hub stops reading the log


def test_a_stream_response_dropped_before_it_is_read_leaves_the_hub(transactional_db, keys):
    intent = services.create_intent("agent-research", title="Never read")
    view = views.event_stream_view("intent")

    async def scenario():
        request = AsyncRequestFactory().get("/", headers={"X-API-Key": "agent-research-key"})
        response = await view(request, str(intent.pk))
        assert response.status_code == 200
        hub = hubs.hub()
        before = hub.subscriptions
        del response
        gc.collect()
        await asyncio.sleep(0)
        return before, hub.subscriptions

    before, after = run(scenario)
    assert (before, after) == (1, 0)


def test_a_websocket_whose_stream_fails_is_closed_so_the_client_reconnects(transactional_db, keys, monkeypatch):
    from openintent_site.asgi import application

    intent = services.create_intent("agent-research", title="Failing")

    def broken_read(*args):
        raise OperationalError("the database went away")

    async def scenario():
        communicator = WebsocketCommunicator(
            application, f"/ws/intents/{intent.pk}", headers=[(b"x-api-key", b"agent-research-key")]
        )
        connected, _ = await communicator.connect(timeout=WAIT)
        assert connected
        monkeypatch.setattr(streams.Topic, "may_read", broken_read)
        monkeypatch.setattr(streams.Topic, "known_readable", lambda self, intent_id: None)
        await in_thread(note, intent, "unreadable for now")
        return await communicator.receive_output(timeout=WAIT)

    assert run(scenario) == {"type": "websocket.close", "code": 1011}
