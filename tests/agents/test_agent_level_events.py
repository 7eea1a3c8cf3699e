"""A transition of an agent that works on no intent reaches the agent's own stream (``/api/v1/agents/{id}/subscribe``
and ``/ws/agents/{id}``), through a live server: the registry logs it as an entry about the agent alone, which only
that agent's stream delivers, and only to the agent itself.

Each "does not get it" is shown without waiting on a clock: a probe event written after the transition reaches the
stream, and streams deliver in commit order, so had the transition been delivered it would have come first."""

import json

import httpx
import pytest
from celery import current_app
from websockets.sync.client import connect as websocket_connect

from intents.subscriptions.models import PendingFanOut
from openintent_site.models import ApiKey, IntentEvent
from tests.intents.test_streams import SSEReader

WAIT = 10
IDLE = {"X-API-Key": "dev-user-key", "X-Agent-ID": "idle-1"}
OTHER_AGENT = {"X-API-Key": "dev-user-key", "X-Agent-ID": "idle-2"}
# A principal of its own (agent-research), not the agent whose stream it opens.
SOMEONE_ELSE = {"X-API-Key": "agent-research-key"}


@pytest.fixture
def staff_key(db, django_user_model):
    operator = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    api_key = ApiKey(user=operator, name="test")
    api_key.set_key("operator-key")
    api_key.save()
    return {"X-API-Key": "operator-key"}


@pytest.fixture
def api(live_server_url):
    with httpx.Client(base_url=f"{live_server_url}/api/v1", timeout=10) as client:
        yield client


@pytest.fixture
def streams():
    readers = []

    def open_stream(url, headers, last_event_id=None):
        reader = SSEReader(url, headers, last_event_id)
        assert reader.response.status_code == 200
        readers.append(reader)
        return reader

    yield open_stream
    for reader in readers:
        reader.close()


def register(api, headers):
    assert api.post("/agents/register", json={"agent_id": headers["X-Agent-ID"]}, headers=headers).status_code == 200


def drain(api, agent_id, staff_key):
    answer = api.patch(
        f"/agents/{agent_id}/status", json={"status": "draining", "reason": "patching"}, headers=staff_key
    )
    assert answer.status_code == 200, answer.text


def probe(api, intent_id, label, agent_id="idle-1"):
    """A note naming ``agent_id``: the agent's stream follows it whoever subscribes, and so does the intent's."""
    answer = api.post(
        f"/intents/{intent_id}/events",
        json={"event_type": "note", "payload": {"agent_id": agent_id, "probe": label}},
        headers=SOMEONE_ELSE,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_drain_of(data, agent_id):
    payload = data["payload"]
    assert data["intent_id"] is None
    assert data["actor"] == "operator"
    assert (payload["agent_id"], payload["previous_status"], payload["new_status"]) == (agent_id, "active", "draining")
    assert (payload["reason"], payload["command"], payload["note"]) == ("drain_requested", "drain", "patching")


def is_probe(data, label):
    return data["event_type"] == "note" and data["payload"]["probe"] == label


def test_an_idle_agent_drained_by_an_administrator_gets_the_event_on_its_stream_and_no_one_else_does(
    live_server_url, api, streams, staff_key
):
    register(api, IDLE)
    register(api, OTHER_AGENT)
    intent = api.post("/intents", json={"title": "Elsewhere"}, headers=SOMEONE_ELSE).json()
    url = f"{live_server_url}/api/v1/agents/idle-1/subscribe"
    own = streams(url, IDLE)
    foreign = streams(url, SOMEONE_ELSE)
    other_agent = streams(f"{live_server_url}/api/v1/agents/idle-2/subscribe", OTHER_AGENT)
    intent_stream = streams(f"{live_server_url}/api/v1/intents/{intent['id']}/subscribe", SOMEONE_ELSE)

    drain(api, "idle-1", staff_key)
    probe(api, intent["id"], "after the drain")
    probe(api, intent["id"], "for the other agent", agent_id="idle-2")

    frame = own.next()
    assert frame["event"] == "AGENT.LIFECYCLE"
    assert_drain_of(frame["data"], "idle-1")
    assert is_probe(own.next()["data"], "after the drain")
    # The entry is the agent's alone: a principal that is not the agent gets what follows it, not it.
    assert is_probe(foreign.next()["data"], "after the drain")
    assert is_probe(other_agent.next()["data"], "for the other agent")
    assert is_probe(intent_stream.next()["data"], "after the drain")
    # The heartbeat answer carries the same drain.
    beat = api.post("/agents/idle-1/heartbeat", json={}, headers=IDLE).json()
    assert beat["pending_commands"][0]["reason"] == "patching"


def test_a_reconnect_with_last_event_id_gets_the_agents_event_once(live_server_url, api, streams, staff_key):
    register(api, IDLE)
    intent = api.post("/intents", json={"title": "Elsewhere"}, headers=SOMEONE_ELSE).json()
    url = f"{live_server_url}/api/v1/agents/idle-1/subscribe"
    before = probe(api, intent["id"], "before")
    drain(api, "idle-1", staff_key)

    # From an id before the drain, the replay (read from the log) carries it, once.
    replayed = streams(url, IDLE, last_event_id=before["id"])
    frame = replayed.next()
    assert frame["event"] == "AGENT.LIFECYCLE"
    assert_drain_of(frame["data"], "idle-1")
    # From its own id, it is not repeated.
    resumed = streams(url, IDLE, last_event_id=frame["id"])
    probe(api, intent["id"], "after")
    assert is_probe(resumed.next()["data"], "after")
    assert is_probe(replayed.next()["data"], "after")
    # Nor is it replayed to a principal that is not the agent.
    foreign = streams(url, SOMEONE_ELSE, last_event_id=before["id"])
    assert is_probe(foreign.next()["data"], "after")


def ws_url(base, path):
    return "ws" + base.removeprefix("http") + path


def receive(socket):
    return json.loads(socket.recv(timeout=WAIT))


def test_the_agents_event_travels_over_its_websocket_and_resumes_without_repeating(live_server_url, api, staff_key):
    register(api, IDLE)
    intent = api.post("/intents", json={"title": "Elsewhere"}, headers=SOMEONE_ELSE).json()
    path = "/ws/agents/idle-1"
    with (
        websocket_connect(ws_url(live_server_url, path), additional_headers=IDLE) as own,
        websocket_connect(ws_url(live_server_url, path), additional_headers=SOMEONE_ELSE) as foreign,
    ):
        drain(api, "idle-1", staff_key)
        probe(api, intent["id"], "after the drain")
        message = receive(own)
        assert message["event"] == "AGENT.LIFECYCLE"
        assert_drain_of(message["data"], "idle-1")
        assert is_probe(receive(own)["data"], "after the drain")
        assert is_probe(receive(foreign)["data"], "after the drain")

    query = f"?api_key=dev-user-key&agent_id=idle-1&last_event_id={message['id']}"
    with websocket_connect(ws_url(live_server_url, path + query)) as resumed:
        # What followed the drain, and then what is new: the drain is not repeated.
        assert is_probe(receive(resumed)["data"], "after the drain")
        probe(api, intent["id"], "after the reconnect")
        assert is_probe(receive(resumed)["data"], "after the reconnect")


def test_the_agents_event_stays_off_intent_logs_and_webhooks(
    keys, staff_key, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.conftest import client_for

    queued = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args, *rest, **options: queued.append(name))
    research, operator = client_for("agent-research-key"), client_for("operator-key")
    intent = research.post("/api/v1/intents", {"title": "Watched"}, format="json").json()
    webhook = {"webhook_url": "https://hooks.example.com/in"}
    assert research.post("/api/v1/subscriptions", webhook, format="json").status_code == 200
    registered = research.post(
        "/api/v1/agents/register", {"agent_id": "idle-1"}, format="json", HTTP_X_AGENT_ID="idle-1"
    )
    assert registered.status_code == 200, registered.content
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        answer = operator.patch("/api/v1/agents/idle-1/status", {"status": "draining"}, format="json")

    assert answer.status_code == 200, answer.content
    logged = IntentEvent.objects.get(event_type="agent.lifecycle", payload__new_status="draining")
    assert logged.intent_id is None and logged.payload["agent_id"] == "idle-1"
    # A subscription to every intent takes in no entry about an agent alone.
    assert queued == [] and not PendingFanOut.objects.exists()
    events = research.get(f"/api/v1/intents/{intent['id']}/events").json()
    assert [event["event_type"] for event in events] == ["intent_created"]
