"""Fan-out of the event log to the live subscribers of one server process (SSE and websockets).

Each event loop of a process has one hub while it has subscribers. The hub follows the log in commit order and
offers every new event to the subscribers whose topic may want it; a subscriber filters and checks access, and
the hub writes what passes straight to the subscriber's transport, or leaves it to the subscriber's own task
where that needs the database (``Subscription.hand_over``). The hub reads the log when woken (a write committed
in this process wakes it directly, one in another process or a Celery worker through the channel layer with
``REDIS_URL``, and without it through the wake-up sockets of the processes of this machine, ``wakes``) and every
``OPENINTENT_STREAM_POLL_SECONDS`` anyway, so delivery never depends on a wake-up arriving: wakes only shorten the
wait.

What one subscriber may cost is bounded: the hub holds at most ``MAX_QUEUED`` events for it (past that it is served
from the log), and its connection at most ``OPENINTENT_STREAM_MAX_BUFFER_BYTES`` unread (``backlog``).
"""

import asyncio
import contextlib
import contextvars
import logging
import os
import threading
from collections import defaultdict, deque

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from openintent_site.auth import authenticate

from . import topics, wakes

logger = logging.getLogger(__name__)

GROUP = "openintent.events"
WAKE = {"type": "events.committed"}
# A subscriber this far behind is served from the log instead of from memory until it has caught up.
MAX_QUEUED = 1000
HELD_BACK_RETRY_SECONDS = 0.005


def cross_process_layer():
    """What carries wakes between processes: the channel layer where it spans them (Redis, across machines), else
    this machine's wake-up sockets (None where they are turned off or cannot be used)."""
    layer = get_channel_layer()
    if layer is not None and not isinstance(layer, InMemoryChannelLayer):
        return layer
    folder = settings.OPENINTENT_STREAM_WAKE_DIR
    return wakes.local_wakes_in(folder) if folder else None


def read_log(function):
    """``function`` run on a worker thread with a connection of its own for the call: subscribers' reads must not
    queue behind one another on a single shared thread."""
    return database_sync_to_async(function, thread_sensitive=False)


class StreamClosed(Exception):
    """The subscriber may no longer read what it follows."""


class Subscription:
    """One subscriber's place in the log: what it has been given, and what the hub has offered it since.

    The hub pushes new events straight to the subscriber's transport (``push``) while its task idles and nothing
    calls for the database; the task itself delivers replays, events whose access must be read, and keepalives.
    Only one of the two holds the subscriber's events at a time, so they go out in log order."""

    def __init__(self, hub, topic, position, catch_up):
        self.hub = hub
        self.topic = topic
        self.position = position
        self.catch_up = catch_up
        self.queue = deque()
        self.offered = asyncio.Event()
        self.overflowed = False
        self.written_before = set()
        self.access_ended = False
        self.closed = False
        self.replay_until = None
        self.push = None
        # The connection's Backlog, where the server lets it be read: the hub pushes only what fits.
        self.backlog = None
        self.idle = False
        self.push_failure = None

    def offer(self, event):
        if len(self.queue) >= MAX_QUEUED:
            self.overflowed = True
            self.queue.clear()
        elif not self.overflowed:
            self.queue.append(event)

    async def hand_over(self):
        """Deliver what the hub has offered: pushed when the subscriber takes pushes, its task idles, the cached
        access answers decide every event and the connection has room for it; otherwise by waking the task, from the
        first event that is not so."""
        if self.closed:
            return
        if self.push is None or not self.idle or self.catch_up or self.overflowed or not self.queue:
            self.offered.set()
            return
        candidates = list(self.queue)
        self.queue.clear()
        admitted = []
        fits = None if self.backlog is None else self.backlog.budget()
        try:
            undecided = self.admit_known(candidates, admitted, fits=fits)
        except StreamClosed:
            self.offered.set()  # the task ends the stream
            return
        if admitted:
            try:
                await self.push(admitted)
            except Exception as error:
                # Admitted but perhaps not sent: the stream must end, so that the client resumes from what it has.
                logger.exception("pushing events to a live stream failed")
                self.push_failure = error
                self.offered.set()
                return
        if undecided is not None:
            self.queue.extendleft(reversed(candidates[undecided:]))
        if undecided is not None or self.access_ended:
            self.offered.set()

    async def next_events(self, timeout):
        """The next events for this subscriber, or [] when ``timeout`` seconds pass without any."""
        self.raise_if_ended()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.catch_up:
                # Everything up to the hub's position has been offered already; the log has it all. It is read a
                # batch at a time, so a long absence costs no more memory than a short one.
                first = self.replay_until is None
                if first:
                    self.replay_until, self.overflowed = self.hub.position, False
                    self.queue.clear()
                candidates, done = await read_log(topics.replay)(self.topic, self.position, self.replay_until, first)
                if done:
                    self.catch_up, self.replay_until = False, None
            elif self.queue:
                candidates = list(self.queue)
                self.queue.clear()
            else:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                self.offered.clear()
                # asyncio.timeout rather than wait_for: every event wakes every subscriber, and wait_for would
                # wrap each wait in a task of its own.
                self.idle = True
                try:
                    async with asyncio.timeout(remaining):
                        await self.offered.wait()
                except TimeoutError:
                    return []
                finally:
                    self.idle = False
                self.raise_if_ended()
                self.catch_up = self.overflowed
                continue
            events = await self.admit(candidates)
            if events:
                return events

    def raise_if_ended(self):
        if self.push_failure is not None:
            raise self.push_failure
        if self.access_ended:
            raise StreamClosed("Read access to this intent has ended")

    async def admit(self, candidates):
        admitted, answer = [], None
        while (undecided := self.admit_known(candidates, admitted, answer)) is not None:
            candidates = candidates[undecided:]
            answer = await read_log(self.topic.may_read)(candidates[0].intent_id)
        return admitted

    def admit_known(self, candidates, admitted, answer=None, fits=None):
        """Admit ``candidates`` in order into ``admitted`` while the topic's cached access answers decide them (and
        ``fits``, when given, says the connection has room for them).

        Returns the index of the first event that only the database can decide (or that does not fit), with this
        subscriber left just before it, or None when all are done (or access has ended). ``answer`` decides
        ``candidates[0]``."""
        for index, event in enumerate(candidates):
            if event.position <= self.position:
                continue
            before = self.position
            self.position = event.position
            # Access and membership follow every event, even one the subscriber is not given.
            self.topic.forget_access(event)
            followed = self.topic.follow(event)
            if event.id in self.written_before:
                self.written_before.discard(event.id)
                continue
            if not followed:
                continue
            if index == 0 and answer is not None:
                self.topic.remember_readable(event.intent_id, answer)
            readable = self.topic.known_readable(event.intent_id)
            if readable is None:
                # Taking the event again from ``before`` repeats only what repeats harmlessly: forgetting access,
                # and joining or leaving the same intent.
                self.position = before
                return index
            if readable:
                if fits is not None and not fits(event):
                    self.position = before
                    return index
                admitted.append(event)
            elif self.topic.kind == "intent":
                # What was readable before the loss still goes out; the stream ends at the next call.
                self.access_ended = True
                if not admitted:
                    raise StreamClosed("Read access to this intent has ended")
                return None
        return None

    def close(self):
        """Leave the hub, once, from any thread (a response dropped unread is collected wherever)."""
        if self.closed:
            return
        self.closed = True
        try:
            in_hub_loop = asyncio.get_running_loop() is self.hub.loop
        except RuntimeError:
            in_hub_loop = False
        if in_hub_loop:
            self.hub.leave(self)
        else:
            with contextlib.suppress(RuntimeError):  # the hub's loop has closed: nothing left to leave
                self.hub.loop.call_soon_threadsafe(self.hub.leave, self)


class Hub:
    def __init__(self, loop):
        self.loop = loop
        self.wake = asyncio.Event()
        self.position = None
        self.by_intent = defaultdict(set)
        self.spanning = set()
        self.tasks = []
        self.starting = None

    @property
    def subscriptions(self):
        return sum(len(group) for group in self.by_intent.values()) + len(self.spanning)

    async def subscribe(self, topic, last_event_id=None):
        """Register a subscriber; it receives what follows ``last_event_id`` (or, without one, what comes next)."""
        position = None
        if last_event_id:
            position = await read_log(topics.position_of)(last_event_id)
        # From here to the registration nothing waits unless the hub must start: a running hub cannot stop (its
        # last subscriber leaving) between the check and the registration.
        if self.starting is None:
            self.starting = asyncio.ensure_future(self.start())
        starting = self.starting
        try:
            await asyncio.shield(starting)
        except asyncio.CancelledError:
            # The subscriber went away while the hub started: the hub must not run on for nobody.
            starting.add_done_callback(lambda _: self.subscriptions or self.stop())
            raise
        except Exception:
            self.starting = None
            raise
        subscription = Subscription(self, topic, position or self.position, catch_up=position is not None)
        if topic.kind == "intent":
            self.by_intent[topic.key].add(subscription)
        else:
            self.spanning.add(subscription)
        if position is None:
            # The hub's position trails what is committed (a write not yet read, or one settled only once an older
            # transaction ends): what is already there when the subscriber comes is not "what comes next".
            try:
                subscription.written_before = await read_log(topics.committed_after)(topic, subscription.position)
            except BaseException:
                self.leave(subscription)
                raise
        return subscription

    def leave(self, subscription):
        subscription.closed = True
        key = subscription.topic.key
        if subscription.topic.kind == "intent":
            group = self.by_intent.get(key, set())
            group.discard(subscription)
            if not group:
                self.by_intent.pop(key, None)
        else:
            self.spanning.discard(subscription)
        if not self.subscriptions:
            self.stop()

    async def start(self):
        self.position = await read_log(topics.head)()
        # A fresh context: the hub outlives the request whose subscriber started it.
        context = contextvars.Context()
        self.tasks = [self.loop.create_task(self.follow_log(), context=context)]
        layer = cross_process_layer()
        if layer is not None:
            self.tasks.append(self.loop.create_task(self.listen(layer), context=context))

    def stop(self):
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        self.starting = None

    def dispatch(self, events):
        """Offer each event to the subscribers whose topic may want it; returns those offered any, in order."""
        offered = {}
        for event in events:
            for subscription in self.by_intent.get(event.intent_id, ()):
                subscription.offer(event)
                offered[subscription] = None
            for subscription in self.spanning:
                subscription.offer(event)
                offered[subscription] = None
        return offered

    async def follow_log(self):
        read = read_log(topics.settled_after)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), settings.OPENINTENT_STREAM_POLL_SECONDS)
            self.wake.clear()
            try:
                pending, delay = True, HELD_BACK_RETRY_SECONDS
                while pending:
                    events, reached, pending = await read(self.position)
                    offered = self.dispatch(events)
                    self.position = reached
                    for subscription in offered:
                        await subscription.hand_over()
                    if pending and not events:
                        # Committed rows wait behind an older transaction that is still running: look again soon,
                        # then less and less often should that transaction take long.
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, settings.OPENINTENT_STREAM_POLL_SECONDS)
                    elif events:
                        delay = HELD_BACK_RETRY_SECONDS
            except Exception:
                logger.exception("reading the event log for live streams failed; retrying")
                await asyncio.sleep(1)

    async def listen(self, layer):
        while True:
            channel = None
            try:
                channel = await layer.new_channel()
                await layer.group_add(GROUP, channel)
                while True:
                    await layer.receive(channel)
                    self.wake.set()
            except asyncio.CancelledError:
                # Leave the group if the layer answers soon; a stopping hub must not wait on an unreachable Redis
                # (the subscription ends with the connection anyway). Awaited in this task, not in one of
                # wait_for's: a discard that needs no I/O (a wake-up socket's) is done even when a closing loop
                # cancels this task again at once.
                if channel is not None:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(1):
                            await layer.group_discard(GROUP, channel)
                raise
            except Exception:
                logger.exception("listening for events of other processes failed; retrying")
                await asyncio.sleep(1)


async def open_subscription(raw_key, kind, key, last_event_id=None, agent_id=None):
    """Authenticate the caller (acting for ``agent_id`` when given) and subscribe it to a topic. Raises
    NotAuthenticated or another DomainError."""
    principal = await read_log(authenticate)(raw_key, agent_id)
    topic = await read_log(topics.open_topic)(kind, key, principal.id)
    return await hub().subscribe(topic, last_event_id)


_hubs = {}
_hubs_lock = threading.Lock()


def hub():
    """The hub of the running event loop."""
    loop = asyncio.get_running_loop()
    with _hubs_lock:
        found = _hubs.get(loop)
        if found is None:
            found = _hubs[loop] = Hub(loop)
        return found


class Announcer:
    """Tells other processes that events were committed: one group message per burst, sent from a loop of its own
    so that the write that committed never waits for the channel layer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.loop = None
        self.pid = None
        self.scheduled = False

    def announce(self, layer):
        with self.lock:
            if self.pid != os.getpid():  # a fork inherits no running thread
                self.loop, self.pid, self.scheduled = None, os.getpid(), False
            if self.scheduled:
                return
            self.scheduled = True
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
                threading.Thread(target=self.loop.run_forever, name="event-announcer", daemon=True).start()
        asyncio.run_coroutine_threadsafe(self.send(layer), self.loop)

    async def send(self, layer):
        with self.lock:
            self.scheduled = False
        try:
            await layer.group_send(GROUP, WAKE)
        except Exception:
            logger.exception("could not announce committed events to other processes")


announcer = Announcer()


def on_event_committed(sender, event, **kwargs):
    """Wake this process's hubs now, and those of other processes through the channel layer or the sockets."""
    with _hubs_lock:
        hubs = [found for found in _hubs.values() if found.tasks]
    for found in hubs:
        try:
            found.loop.call_soon_threadsafe(found.wake.set)
        except RuntimeError:  # its loop has closed
            with _hubs_lock:
                _hubs.pop(found.loop, None)
    layer = cross_process_layer()
    if isinstance(layer, wakes.LocalWakes):
        # A few non-blocking sends, cheaper than handing them to the announcer's thread.
        layer.wake_others()
    elif layer is not None:
        announcer.announce(layer)
