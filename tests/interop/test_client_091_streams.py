"""The unmodified openintent 0.9.1 client's SSE helpers against a live server: ``subscribe_sse``,
``subscribe_agent``, ``subscribe_portfolio``, ``create_event_queue`` and ``SSESubscription`` (RFC-0006 streams).

0.9.1's ``SSEStream`` is a blocking iterator, so each script reads it in a thread (or through ``EventQueue``) and
writes from its main thread with other client instances. Every wait is bounded: a stream that delivers nothing
fails the test instead of hanging it. A stream is known to be open once a probe event written after starting it
has come through; everything written after that is new to it.
"""

import textwrap

import httpx
import pytest

from .conftest import AGENT, KEY, OTHER_AGENT

pytestmark = pytest.mark.interop

STREAM_HELPERS = r'''
import queue
import threading
import time

from openintent.streaming import EventQueue, SSEEvent, SSEEventType, SSEStream, SSESubscription

WAIT = 10  # seconds a script waits for one event
writer = OpenIntentClient(URL, KEY, AGENT)  # writes from the main thread; the streams belong to ``client``


def as_sse(event):
    assert isinstance(event, SSEEvent), type(event)
    return {"type": getattr(event.type, "value", event.type), "id": event.id, "data": event.data}


def is_probe(event):
    payload = event.data.get("payload") if isinstance(event.data, dict) else None
    return isinstance(payload, dict) and "probe" in payload


class Source:
    """Events of one subscription through a ``get(timeout)`` function; remembers every event it handed out."""

    def __init__(self, get):
        self._get = get
        self.seen = []

    def get(self, timeout):
        event = self._get(timeout)
        if event is not None:
            self.seen.append(event)
        return event

    def connect(self, probe):
        """Write probes (``probe(n)``) until one comes through: the stream is then open. Whether it did."""
        for attempt in range(20):
            probe(attempt)
            deadline = time.monotonic() + 0.5
            while (left := deadline - time.monotonic()) > 0:
                event = self.get(left)
                if event is None:
                    break
                if is_probe(event):
                    return True
        return False

    def take(self, count, timeout=WAIT):
        """The next ``count`` events other than probes, or fewer when ``timeout`` seconds pass first."""
        taken = []
        deadline = time.monotonic() + timeout
        while len(taken) < count and (left := deadline - time.monotonic()) > 0:
            event = self.get(left)
            if event is None:
                break
            if not is_probe(event):
                taken.append(event)
        return [as_sse(event) for event in taken]

    def errors(self):
        return [as_sse(e) for e in self.seen if e.type == SSEEventType.ERROR or "raw" in e.data]


class StreamReader(Source):
    """Iterates a 0.9.1 ``SSEStream`` in a daemon thread."""

    def __init__(self, stream):
        self.stream = stream
        self.events = queue.Queue()
        self.failure = None
        super().__init__(self._next)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for event in self.stream:
                self.events.put(event)
        except Exception as exc:  # recorded; a stream that was stopped may end with a closed-connection error
            self.failure = repr(exc)

    def _next(self, timeout):
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self):
        failure_before_stop = self.failure
        self.stream.stop()
        return failure_before_stop


def stop_all(stoppables, wake, timeout=6):
    """Stop subscriptions side by side. 0.9.1's readers only notice a stop when a line arrives, and each
    ``SSESubscription.stop()`` waits up to 5 s for its reader, so ``wake()`` writes an event meanwhile."""
    threads = [threading.Thread(target=stoppable.stop, daemon=True) for stoppable in stoppables]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    while any(thread.is_alive() for thread in threads) and time.monotonic() < deadline:
        time.sleep(0.2)
        wake()


def note(intent_id, text, by=None):
    """Post a comment event (a type clients may post) and return its log id."""
    return (by or writer).log_event(intent_id, EventType.COMMENT, {"text": text}).id


def probe_on(intent_id, by=None):
    return lambda n: (by or writer).log_event(intent_id, EventType.COMMENT, {"probe": n})

'''


def script(body):
    return STREAM_HELPERS + textwrap.dedent(body)


def texts(events):
    """The texts of the comments among ``events``."""
    return [event["data"]["payload"]["text"] for event in events if event["type"] == "COMMENT"]


def log_ids(live_server_url, intent_id):
    """The intent's event ids and types, oldest first, from the REST log, without the scripts' probes and wake-ups."""
    response = httpx.get(f"{live_server_url}/api/v1/intents/{intent_id}/events", headers={"X-API-Key": KEY}, timeout=10)
    assert response.status_code == 200, response.text
    helpers = [{"text": "wake up"}]  # written by stop_all
    return [
        (event["id"], event["event_type"])
        for event in reversed(response.json())
        if "probe" not in event["payload"] and event["payload"] not in helpers
    ]


def assert_well_formed(events, intent_id=None):
    """SSE events as the 0.9.1 client parsed them: JSON objects with their log id, never ``{"raw": ...}``."""
    for event in events:
        assert isinstance(event["data"], dict) and "raw" not in event["data"], event
        assert event["id"] is not None and event["id"] == event["data"]["id"], event
        assert event["data"]["event_type"] and event["data"]["created_at"], event
        if intent_id is not None:
            assert event["data"]["intent_id"] == intent_id, event
    ids = [int(event["id"]) for event in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids


def test_subscribe_sse_receives_every_write_on_the_intent(run_client, live_server_url):
    out = run_client(
        script(
            """
            intent = client.create_intent("Streamed")
            intent = client.set_status(intent.id, intent.version, IntentStatus.ACTIVE)
            out["intent_id"] = intent.id
            stream = client.subscribe_sse(intent.id)
            assert isinstance(stream, SSEStream), type(stream)
            out["url"] = stream.url
            reader = StreamReader(stream)
            out["connected"] = reader.connect(probe_on(intent.id))

            patched = other.update_state(intent.id, intent.version, {"progress": 0.5})
            out["note_id"] = note(intent.id, "halfway", by=other)
            lease = writer.acquire_lease(intent.id, "analysis")
            writer.release_lease(intent.id, lease.id)
            writer.set_status(intent.id, patched.version, IntentStatus.COMPLETED)
            out["events"] = reader.take(5)
            out["failure_before_stop"] = reader.stop()
            out["errors"] = reader.errors()
            """
        )
    )
    intent_id = out["intent_id"]
    assert out["url"] == f"{live_server_url}/api/v1/intents/{intent_id}/subscribe"
    assert out["connected"], "no probe came through the stream"
    events = out["events"]
    assert [e["type"] for e in events] == [
        "STATE_CHANGED",
        "COMMENT",
        "LEASE_ACQUIRED",
        "LEASE_RELEASED",
        "STATUS_CHANGED",
    ]
    assert_well_formed(events, intent_id)
    state, comment, acquired, released, status = events
    assert state["data"]["event_type"] == "state_patched" and state["data"]["actor"] == OTHER_AGENT
    assert comment["id"] == out["note_id"] and texts([comment]) == ["halfway"]
    assert comment["data"]["actor"] == OTHER_AGENT
    assert acquired["data"]["scope"] == "analysis" and acquired["data"]["actor"] == AGENT
    assert released["data"]["scope"] == "analysis"
    assert status["data"]["new_status"] == "completed" and status["data"]["old_status"] == "active"
    # The stream carries exactly the log's events, with the log's ids.
    logged = log_ids(live_server_url, intent_id)
    assert [(e["id"], e["data"]["event_type"]) for e in events] == logged[-5:]
    assert out["errors"] == [] and out["failure_before_stop"] is None


def test_subscribe_agent_follows_the_intents_assigned_to_the_agent(run_client, live_server_url):
    out = run_client(
        script(
            """
            home = writer.create_intent("Probe home")
            writer.assign_agent(home.id, AGENT)
            other_home = other.create_intent("Other probe home")
            other.assign_agent(other_home.id, OTHER_AGENT)

            mine = StreamReader(client.subscribe_agent())
            out["mine_url"] = mine.stream.url
            named = StreamReader(other.subscribe_agent(OTHER_AGENT))
            out["named_url"] = named.stream.url
            out["connected"] = [mine.connect(probe_on(home.id)), named.connect(probe_on(other_home.id, other))]

            work = writer.create_intent("Work for research")
            work = writer.set_status(work.id, work.version, IntentStatus.ACTIVE)
            out["work_id"] = work.id
            writer.assign_agent(work.id)
            work = writer.update_state(work.id, work.version, {"step": 1})
            work = writer.set_status(work.id, work.version, IntentStatus.COMPLETED)
            unrelated = writer.create_intent("Nobody's")
            note(unrelated.id, "not for research")
            out["marker_id"] = note(home.id, "marker")
            out["mine"] = mine.take(4)

            handed = writer.create_intent("Work for synth")
            out["handed_id"] = handed.id
            writer.assign_agent(handed.id, OTHER_AGENT)
            note(handed.id, "for synth")
            writer.unassign_agent(handed.id, OTHER_AGENT)
            note(handed.id, "after unassignment")
            out["other_marker_id"] = note(other_home.id, "synth marker", by=other)
            out["named"] = named.take(4)

            for reader in (mine, named):
                reader.stop()
            out["errors"] = mine.errors() + named.errors()
            """
        )
    )
    assert out["mine_url"] == f"{live_server_url}/api/v1/agents/{AGENT}/subscribe"
    assert out["named_url"] == f"{live_server_url}/api/v1/agents/{OTHER_AGENT}/subscribe"
    assert out["connected"] == [True, True]

    mine = out["mine"]
    assert [e["type"] for e in mine] == ["AGENT_ASSIGNED", "STATE_CHANGED", "STATUS_CHANGED", "COMMENT"]
    assert_well_formed(mine)
    assigned, state, status, marker = mine
    assert assigned["data"]["intent_id"] == out["work_id"] and assigned["data"]["agent_id"] == AGENT
    assert state["data"]["intent_id"] == out["work_id"]
    assert status["data"]["new_status"] == "completed"
    # The note on the unrelated intent never came: the next event after the work is the marker.
    assert marker["id"] == out["marker_id"] and texts([marker]) == ["marker"]

    named = out["named"]
    assert [e["type"] for e in named] == ["AGENT_ASSIGNED", "COMMENT", "AGENT_UNASSIGNED", "COMMENT"]
    assert_well_formed(named)
    assert named[0]["data"]["intent_id"] == out["handed_id"] and named[0]["data"]["agent_id"] == OTHER_AGENT
    assert texts(named) == ["for synth", "synth marker"]
    assert named[2]["data"]["intent_id"] == out["handed_id"]
    assert named[3]["id"] == out["other_marker_id"]
    assert out["errors"] == []


def test_subscribe_portfolio_carries_its_members_events(run_client, live_server_url):
    out = run_client(
        script(
            """
            portfolio = client.create_portfolio("Streamed portfolio")
            home = writer.create_intent("Probe member")
            client.add_intent_to_portfolio(portfolio.id, home.id)
            stream = client.subscribe_portfolio(portfolio.id)
            out["url"] = stream.url
            reader = StreamReader(stream)
            out["connected"] = reader.connect(probe_on(home.id))

            member = writer.create_intent("New member")
            member = writer.set_status(member.id, member.version, IntentStatus.ACTIVE)
            out["member_id"] = member.id
            client.add_intent_to_portfolio(portfolio.id, member.id)
            member = other.update_state(member.id, member.version, {"done": True})
            other.set_status(member.id, member.version, IntentStatus.COMPLETED)
            client.remove_intent_from_portfolio(portfolio.id, member.id)
            note(member.id, "after removal")
            outsider = writer.create_intent("Outsider")
            note(outsider.id, "outside")
            out["marker_id"] = note(home.id, "marker")
            out["events"] = reader.take(5)
            reader.stop()
            out["errors"] = reader.errors()
            out["portfolio_id"] = portfolio.id
            """
        )
    )
    assert out["url"] == f"{live_server_url}/api/v1/portfolios/{out['portfolio_id']}/subscribe"
    assert out["connected"]
    events = out["events"]
    assert [e["type"] for e in events] == [
        "ADDED_TO_PORTFOLIO",
        "STATE_CHANGED",
        "STATUS_CHANGED",
        "REMOVED_FROM_PORTFOLIO",
        "COMMENT",
    ]
    assert_well_formed(events)
    added, state, status, removed, marker = events
    assert added["data"]["portfolio_id"] == out["portfolio_id"] and added["data"]["intent_id"] == out["member_id"]
    assert state["data"]["intent_id"] == out["member_id"] and state["data"]["actor"] == OTHER_AGENT
    assert status["data"]["new_status"] == "completed" and status["data"]["intent_id"] == out["member_id"]
    assert removed["data"]["portfolio_id"] == out["portfolio_id"]
    # Neither the removed member's note nor the outsider's came through.
    assert marker["id"] == out["marker_id"]
    assert out["errors"] == []


def test_create_event_queue_for_an_intent_a_portfolio_and_agents(run_client, live_server_url):
    out = run_client(
        script(
            """
            intent = writer.create_intent("Queued")
            intent = writer.set_status(intent.id, intent.version, IntentStatus.ACTIVE)
            portfolio = client.create_portfolio("Queued portfolio")
            client.add_intent_to_portfolio(portfolio.id, intent.id)
            writer.assign_agent(intent.id, AGENT)
            writer.assign_agent(intent.id, OTHER_AGENT)
            out["intent_id"] = intent.id

            queues = {
                "intent": client.create_event_queue(intent_id=intent.id),
                "portfolio": client.create_event_queue(portfolio_id=portfolio.id),
                "agent": other.create_event_queue(agent_id=OTHER_AGENT),
                "own_agent": client.create_event_queue(),
            }
            out["urls"] = {}
            sources = {}
            for name, event_queue in queues.items():
                assert isinstance(event_queue, EventQueue), type(event_queue)
                out["urls"][name] = event_queue.url
                event_queue.start()
                sources[name] = Source(event_queue.get)
            out["connected"] = {name: source.connect(probe_on(intent.id)) for name, source in sources.items()}

            intent = other.update_state(intent.id, intent.version, {"queued": True})
            out["note_id"] = note(intent.id, "to everyone")
            writer.set_status(intent.id, intent.version, IntentStatus.COMPLETED)
            out["events"] = {name: source.take(3) for name, source in sources.items()}
            stop_all(queues.values(), lambda: note(intent.id, "wake up"))
            out["errors"] = {name: source.errors() for name, source in sources.items()}
            out["portfolio_id"] = portfolio.id
            """
        )
    )
    intent_id = out["intent_id"]
    base = f"{live_server_url}/api/v1"
    assert out["urls"] == {
        "intent": f"{base}/intents/{intent_id}/subscribe",
        "portfolio": f"{base}/portfolios/{out['portfolio_id']}/subscribe",
        "agent": f"{base}/agents/{OTHER_AGENT}/subscribe",
        "own_agent": f"{base}/agents/{AGENT}/subscribe",
    }
    assert out["connected"] == {"intent": True, "portfolio": True, "agent": True, "own_agent": True}
    logged = log_ids(live_server_url, intent_id)[-3:]
    for name, events in out["events"].items():
        assert [e["type"] for e in events] == ["STATE_CHANGED", "COMMENT", "STATUS_CHANGED"], name
        assert_well_formed(events, intent_id)
        assert [(e["id"], e["data"]["event_type"]) for e in events] == logged, name
        assert events[1]["id"] == out["note_id"]
        assert events[2]["data"]["new_status"] == "completed"
    assert out["errors"] == {"intent": [], "portfolio": [], "agent": [], "own_agent": []}


def test_sse_subscription_calls_back_for_each_event(run_client, live_server_url):
    out = run_client(
        script(
            """
            intent = writer.create_intent("Called back")
            intent = writer.set_status(intent.id, intent.version, IntentStatus.ACTIVE)
            received = queue.Queue()
            errors = []
            stopping = threading.Event()

            def on_error(exc):
                if not stopping.is_set():
                    errors.append(repr(exc))

            template = client.subscribe_sse(intent.id)  # only for its URL and headers
            subscription = SSESubscription(template.url, template.headers, received.put, on_error)

            def get(timeout):
                try:
                    return received.get(timeout=timeout)
                except queue.Empty:
                    return None

            source = Source(get)
            subscription.start()
            try:
                out["connected"] = source.connect(probe_on(intent.id))
                intent = writer.update_state(intent.id, intent.version, {"n": 1})
                intent = other.update_state(intent.id, intent.version, {"n": 2})
                out["note_id"] = note(intent.id, "called back")
                out["events"] = source.take(3)
            finally:
                stopping.set()
                stop_all([subscription], lambda: note(intent.id, "wake up"))
            out["callback_errors"] = errors
            out["errors"] = source.errors()
            out["intent_id"] = intent.id
            """
        )
    )
    assert out["connected"]
    events = out["events"]
    assert [e["type"] for e in events] == ["STATE_CHANGED", "STATE_CHANGED", "COMMENT"]
    assert_well_formed(events, out["intent_id"])
    assert [e["data"]["actor"] for e in events] == [AGENT, OTHER_AGENT, AGENT]
    assert events[2]["id"] == out["note_id"]
    assert out["callback_errors"] == [] and out["errors"] == []


def test_refused_streams_yield_the_clients_error_event(run_client, live_server_url):
    out = run_client(
        script(
            """
            from openintent.models import AccessPolicy

            closed = client.create_intent("Closed to synth")
            client.set_acl(closed.id, AccessPolicy.CLOSED)
            results = {}
            for name, stream in {
                "closed": other.subscribe_sse(closed.id),
                "missing_intent": client.subscribe_sse(MISSING),
                "missing_portfolio": client.subscribe_portfolio(MISSING),
                "bad_key": OpenIntentClient(URL, "not-a-key", AGENT).subscribe_sse(closed.id),
            }.items():
                reader = StreamReader(stream)
                first = reader.get(WAIT)
                reader.stop()
                results[name] = as_sse(first) if first is not None else None
            out["results"] = results
            """
        )
    )
    # 0.9.1's SSEStream turns a refusal into an "error" event carrying the status (then reconnects at once, B-12).
    assert out["results"] == {
        "closed": {"type": "error", "id": None, "data": {"error": "HTTP 403", "status_code": 403}},
        "missing_intent": {"type": "error", "id": None, "data": {"error": "HTTP 404", "status_code": 404}},
        "missing_portfolio": {"type": "error", "id": None, "data": {"error": "HTTP 404", "status_code": 404}},
        "bad_key": {"type": "error", "id": None, "data": {"error": "HTTP 401", "status_code": 401}},
    }
