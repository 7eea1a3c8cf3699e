"""The stream hub in-process: races and failures a live server only shows by chance, made to happen on purpose."""

import asyncio
import gc

import pytest
from asgiref.sync import SyncToAsync
from channels.testing import WebsocketCommunicator
from django.db import OperationalError, connections, transaction
from django.test import AsyncRequestFactory

from intents.access.services import grant, revoke_entry, set_acl
from intents.core import services
from intents.streams import hub as hubs
from intents.streams import topics as streams
from intents.streams import views
from intents.streams.hub import StreamClosed, open_subscription

WAIT = 10

pytestmark = pytest.mark.usefixtures("in_memory_channel_layer")


def run(scenario):
    """Run ``scenario()`` in an event loop of its own; close what its worker threads left open afterwards."""
    try:
        return asyncio.run(scenario())
    finally:
        SyncToAsync.single_thread_executor.submit(connections.close_all).result()
        gc.collect()


def note(intent, text, actor="agent-research"):
    services.log_event(intent.pk, "note", actor, {"n": text})


def note_then_lose_access(intent, entry):
    """A readable event, then the loss of read access, in one transaction: one read of the log."""
    with transaction.atomic():
        note(intent, "still readable")
        revoke_entry(intent.pk, entry.pk, "agent-research")


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
            async with asyncio.timeout(WAIT):  # a stream that never ends fails the test rather than hang it
                while True:
                    assert not await subscription.next_events(1), "an event reached a revoked subscriber"

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
        async with asyncio.timeout(WAIT):
            while not events:
                events = await subscription.next_events(1)
        subscription.close()
        return events

    events = run(scenario)
    assert [event.payload for event in events] == [{"n": "for synth"}]


def test_events_before_a_loss_of_access_in_the_same_batch_are_still_delivered(shared_intent):
    intent, entry = shared_intent

    async def scenario():
        subscription = await open_subscription("agent-synth-key", "intent", str(intent.pk))
        await in_thread(note_then_lose_access, intent, entry)
        delivered = []
        with pytest.raises(StreamClosed):
            async with asyncio.timeout(WAIT):
                while True:
                    delivered += await subscription.next_events(1)
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


# Events pushed by the hub while the subscriber's task idles ----------------------------------------------------


class Transport:
    """A subscriber's transport as the SSE view and the websocket consumer are: a task of its own forwards what
    ``next_events`` returns, the hub pushes the rest, and each event is recorded with the way it came."""

    def __init__(self, subscription, push=None):
        self.subscription = subscription
        self.delivered = []
        self.ended = None
        self.arrived = asyncio.Event()
        subscription.push = push or self.take_pushed
        self.task = asyncio.ensure_future(self.forward())

    def record(self, via, events):
        self.delivered += [(via, event.payload.get("n")) for event in events]
        self.arrived.set()

    async def take_pushed(self, events):
        self.record("pushed", events)

    async def forward(self):
        try:
            while True:
                self.record("task", await self.subscription.next_events(WAIT))
        except Exception as error:
            self.ended = error
            self.arrived.set()

    async def idle(self):
        """Once the task waits for the hub: what the hub reads next it may push."""
        async with asyncio.timeout(WAIT):
            while not self.subscription.idle:
                await asyncio.sleep(0.001)

    async def until(self, count):
        async with asyncio.timeout(WAIT):
            while len(self.delivered) < count and self.ended is None:
                self.arrived.clear()
                await self.arrived.wait()
        return self.delivered

    def close(self):
        self.task.cancel()
        self.subscription.close()


def test_the_hub_pushes_what_it_can_decide_and_the_task_delivers_the_rest_in_log_order(transactional_db, keys):
    known = services.create_intent("agent-research", title="Known")
    joining = services.create_intent("agent-research", title="Joining")
    services.assign_agent(known.pk, "agent-synth", "worker", "agent-research")

    def batch():
        # One transaction, so one read of the log: readable, then an intent whose access only the database
        # knows, then readable again.
        with transaction.atomic():
            note(known, "1")
            services.assign_agent(joining.pk, "agent-synth", "worker", "agent-research")
            note(joining, "2")
            note(known, "3")

    async def scenario():
        transport = Transport(await open_subscription("agent-synth-key", "agent", "agent-synth"))
        for write, count in [(lambda: note(known, "0"), 1), (lambda: note(known, "pushed"), 2), (batch, 6)]:
            await transport.idle()
            await in_thread(write)
            await transport.until(count)
        transport.close()
        return transport.delivered

    # The first event of an intent and the assignment (no "n" in its payload) that brings another in are
    # decided by reads, so the task delivers them, and what follows them in the same read.
    assert run(scenario) == [
        ("task", "0"),
        ("pushed", "pushed"),
        ("pushed", "1"),
        ("task", None),
        ("task", "2"),
        ("task", "3"),
    ]


def test_a_subscriber_whose_task_is_busy_gets_its_events_from_the_task(shared_intent):
    intent, _ = shared_intent

    async def scenario():
        subscription = await open_subscription("agent-synth-key", "intent", str(intent.pk))
        pushed = []

        async def push(events):
            pushed.extend(events)

        subscription.push = push
        await in_thread(note, intent, "while nobody waits")
        await asyncio.sleep(0.2)  # the hub reads and offers it meanwhile
        events = await subscription.next_events(WAIT)
        subscription.close()
        return pushed, [event.payload["n"] for event in events]

    assert run(scenario) == ([], ["while nobody waits"])


def test_a_loss_of_access_ends_a_pushed_stream_after_what_was_still_readable(shared_intent):
    intent, entry = shared_intent

    async def scenario():
        transport = Transport(await open_subscription("agent-synth-key", "intent", str(intent.pk)))
        await transport.idle()
        await in_thread(note_then_lose_access, intent, entry)
        await transport.until(2)  # ends first
        transport.close()
        return transport.delivered, transport.ended

    delivered, ended = run(scenario)
    assert delivered == [("pushed", "still readable")]
    assert isinstance(ended, StreamClosed)


def test_a_failed_push_ends_the_stream_so_the_client_resumes_from_what_it_has(shared_intent):
    intent, _ = shared_intent

    async def broken_push(events):
        raise ConnectionResetError("the client went away mid-write")

    async def scenario():
        transport = Transport(await open_subscription("agent-synth-key", "intent", str(intent.pk)), broken_push)
        await transport.idle()
        await in_thread(note, intent, "lost")
        await transport.until(1)
        transport.close()
        return transport.delivered, transport.ended

    delivered, ended = run(scenario)
    assert delivered == []
    assert isinstance(ended, ConnectionResetError)


class FullConnection:
    """A connection's backlog that already holds all it may: nothing more fits (intents.streams.backlog)."""

    def budget(self):
        return lambda event: False


def test_the_hub_leaves_to_the_task_what_the_connection_has_no_room_for(shared_intent):
    """The hub serves every subscriber and never waits for one: an event the connection has no room for goes to the
    subscriber's own task, which may wait for the client to read."""
    intent, _ = shared_intent

    async def scenario():
        subscription = await open_subscription("agent-synth-key", "intent", str(intent.pk))
        transport = Transport(subscription)
        await transport.idle()
        await in_thread(note, intent, "pushed")
        await transport.until(1)
        subscription.backlog = FullConnection()
        await transport.idle()
        await in_thread(note, intent, "waits for room")
        await transport.until(2)
        transport.close()
        return transport.delivered

    assert run(scenario) == [("pushed", "pushed"), ("task", "waits for room")]
