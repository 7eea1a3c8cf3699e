"""Transport behaviour against a local scripted HTTP peer: retries, backoff, Retry-After, headers, connection
errors and timeouts, lenient parsing of both list shapes, and the lease context managers when releasing fails.
Both clients run every test."""

import socket
import time

import pytest
from openintent import (
    ConflictError,
    EventType,
    IntentStatus,
    LeaseConflictError,
    LeaseStatus,
    OpenIntentConnectionError,
    OpenIntentError,
    OpenIntentTimeoutError,
    RateLimitError,
    ServerError,
    ValidationError,
)

from .conftest import Clients
from .peer import DROP, Peer

FAST = {"backoff_factor": 0.01, "max_backoff": 1.0}
INTENT = {"id": "i1", "title": "T", "version": 2, "status": "active", "created_at": "2026-01-02T03:04:05Z"}
LEASE = {
    "id": "l1",
    "intent_id": "i1",
    "agent_id": "me",
    "scope": "s",
    "status": "active",
    "expires_at": "2030-01-01T00:00:00.123Z",
    "acquired_at": "2026-01-01T00:00:00",
}


@pytest.fixture
def peer():
    server = Peer()
    yield server
    server.stop()


@pytest.fixture(params=["sync", "async"])
def make(request, peer):
    made = Clients(peer.url, request.param)
    yield lambda **options: made("peer-key", "me", **{**FAST, **options})
    made.close()


def methods(peer):
    return [request["method"] for request in peer.requests]


def test_get_is_retried_on_5xx_and_connection_errors(peer, make):
    peer.answer((503, {"detail": "busy"}, {}), DROP, (502, b"<html>bad gateway</html>", {}), (200, INTENT, {}))
    intent = make().get_intent("i1")
    assert intent.id == "i1" and methods(peer) == ["GET"] * 4


def test_get_gives_up_after_max_retries(peer, make):
    peer.answer(*[(500, {"detail": "Internal Server Error"}, {})] * 5)
    with pytest.raises(ServerError) as caught:
        make(max_retries=2).get_intent("i1")
    assert caught.value.status_code == 500 and caught.value.message == "Internal Server Error"
    assert len(peer.requests) == 3


def test_put_and_delete_are_retried(peer, make):
    peer.answer((503, {}, {}), (200, {"id": "p", "strategy": "fixed"}, {}), (503, {}, {}), (204, b"", {}))
    client = make()
    assert client.set_retry_policy("i1", "fixed").strategy == "fixed"
    assert client.release_lease("i1", "l1") is None
    assert methods(peer) == ["PUT", "PUT", "DELETE", "DELETE"]


def test_post_and_patch_are_never_retried(peer, make):
    client = make()
    peer.answer((503, {"detail": "busy"}, {}))
    with pytest.raises(ServerError):
        client.create_intent("once")
    peer.answer(DROP)
    with pytest.raises(OpenIntentConnectionError):
        client.log_event("i1", "comment")
    peer.answer((429, {"detail": "slow down"}, {"Retry-After": "0"}))
    with pytest.raises(RateLimitError) as limited:
        client.renew_lease("i1", "l1")
    assert limited.value.retry_after == 0.0
    assert methods(peer) == ["POST", "POST", "PATCH"]


def test_429_honours_retry_after(peer, make):
    peer.answer((429, {"detail": "slow down"}, {"Retry-After": "0.3"}), (200, {"intents": []}, {}))
    started = time.monotonic()
    assert make(backoff_factor=0).list_intents() == []
    assert time.monotonic() - started >= 0.3 and len(peer.requests) == 2


def test_unreachable_server(make):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = make(max_retries=1, url=url)
    with pytest.raises(OpenIntentConnectionError) as caught:
        client.get_intent("i1")
    assert isinstance(caught.value, OpenIntentError) and url in str(caught.value)
    assert caught.value.status_code is None


def test_timeout(peer, make):
    peer.answer(("sleep", 1.0), (200, INTENT, {}))
    with pytest.raises(OpenIntentTimeoutError):
        make(timeout=0.2, max_retries=0).get_intent("i1")


def test_headers_and_if_match(peer, make):
    peer.default = (200, INTENT, {})
    client = make()
    client.get_intent("i1")
    client.update_state("i1", 7, {"a": 1})
    get, post = peer.requests
    assert get["headers"]["X-API-Key"] == "peer-key" and get["headers"]["X-Agent-ID"] == "me"
    assert "If-Match" not in get["headers"] and "Content-Type" not in get["headers"]
    assert post["headers"]["If-Match"] == "7" and post["headers"]["Content-Type"] == "application/json"
    assert post["body"] == b'{"patches":[{"op":"set","path":"a","value":1}]}'
    assert client.headers["X-API-Key"] == "peer-key" and client.url("/x") == peer.url + "/x"


def test_both_list_shapes_unknown_values_and_z_timestamps(peer, make):
    client = make()
    peer.answer((200, [LEASE], {}), (200, {"leases": [LEASE]}, {}))
    bare, wrapped = client.get_leases("i1"), client.get_leases("i1")
    assert bare == wrapped and bare[0].status == LeaseStatus.ACTIVE
    assert bare[0].expires_at.tzinfo is not None and bare[0].expires_at.microsecond == 123000
    assert bare[0].created_at.utcoffset().total_seconds() == 0

    odd = {**INTENT, "status": "failed", "brand_new_field": 1, "parent_id": "p0"}
    peer.answer((200, [odd], {}), (200, {"intents": [odd], "next_cursor": None}, {}))
    intents = client.list_intents()
    assert intents[0].status == "failed" and not isinstance(intents[0].status, IntentStatus)
    assert intents[0].parent_intent_id == "p0" and intents[0].created_at.tzinfo is not None
    assert client.list_intents()[0].id == "i1"

    event = {"id": "e", "intent_id": "i1", "event_type": "budget_alert", "payload": {}, "created_at": "2026-01-01"}
    custom = {**event, "event_type": "tool_invocation"}
    peer.answer((200, [event, custom], {}), (200, {"events": [custom]}, {}))
    events = client.get_events("i1")
    assert [e.event_type for e in events] == [EventType.BUDGET_ALERT, "tool_invocation"]
    assert client.get_events("i1")[0].event_type == "tool_invocation"


def test_error_bodies_map_by_their_fields(peer, make):
    client = make(max_retries=0)
    peer.answer(
        (409, {"detail": "Version conflict", "current_version": 4}, {}),
        (409, {"detail": "Lease held", "existing_lease": LEASE}, {}),
        (409, {"error": "lease_conflict", "message": "Lease is taken"}, {}),
        (409, {"detail": "Intent is completed; lease wording here is not a lease conflict"}, {}),
        (400, {"message": "Bad", "errors": ["x"]}, {}),
        (418, b"teapot", {}),
    )
    with pytest.raises(ConflictError) as version:
        client.update_state("i1", 3, {})
    assert version.value.current_version == 4
    with pytest.raises(LeaseConflictError) as lease:
        client.acquire_lease("i1", "s")
    assert lease.value.existing_lease == LEASE
    with pytest.raises(LeaseConflictError) as tagged:
        client.acquire_lease("i1", "s")
    assert tagged.value.message == "Lease is taken" and tagged.value.existing_lease is None
    with pytest.raises(ConflictError) as other:
        client.set_status("i1", 1, "active")
    assert other.value.current_version is None
    with pytest.raises(ValidationError) as invalid:
        client.create_intent("x")
    assert invalid.value.errors == [{"msg": "x"}] and invalid.value.status_code == 400
    with pytest.raises(OpenIntentError) as odd:
        client.create_intent("x")
    assert odd.value.status_code == 418 and "teapot" in odd.value.message and odd.value.response is None


def test_lease_release_failure_after_a_clean_block_is_raised(peer, make):
    client = make(max_retries=0)
    peer.answer((200, LEASE, {}), (500, {"detail": "down"}, {}))
    with pytest.raises(ServerError), client.lease("i1", "s") as lease:
        assert lease.id == "l1"
    assert methods(peer) == ["POST", "DELETE"]


def test_lease_release_failure_does_not_hide_the_block_error(peer, make):
    client = make(max_retries=0)
    peer.answer((200, LEASE, {}), (500, {"detail": "down"}, {}))
    with pytest.raises(KeyError), client.lease("i1", "s"):
        raise KeyError("from the block")
    assert methods(peer) == ["POST", "DELETE"]
