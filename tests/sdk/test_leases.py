"""RFC-0003 leases: acquire, list, get, renew, release, and the context managers of both clients."""

import asyncio
import time

import httpx
import pytest
from openintent import (
    AsyncOpenIntentClient,
    IntentLease,
    LeaseConflictError,
    LeaseStatus,
    NotFoundError,
    PermissionDeniedError,
)

from .conftest import AGENT, KEY


def test_acquire_list_get_renew_release(oi, other):
    intent = oi.create_intent("Leased")
    lease = oi.acquire_lease(intent.id, "analysis", duration_seconds=60)
    assert isinstance(lease, IntentLease) and lease.agent_id == AGENT and lease.scope == "analysis"
    assert lease.status == LeaseStatus.ACTIVE and lease.is_active
    assert lease.expires_at.tzinfo is not None and lease.created_at < lease.expires_at
    with pytest.raises(LeaseConflictError) as caught:
        other.acquire_lease(intent.id, "analysis")
    assert caught.value.existing_lease["id"] == lease.id and caught.value.status_code == 409
    assert [held.id for held in oi.get_leases(intent.id)] == [lease.id]

    renewed = oi.renew_lease(intent.id, lease.id, duration_seconds=600)
    assert renewed.id == lease.id and renewed.expires_at > lease.expires_at
    with pytest.raises(PermissionDeniedError):
        other.renew_lease(intent.id, lease.id)

    assert oi.release_lease(intent.id, lease.id) is None
    oi.release_lease(intent.id, lease.id)  # twice is harmless
    assert oi.get_leases(intent.id) == []
    history = oi.get_leases(intent.id, include_all=True)
    assert [(held.id, held.status) for held in history] == [(lease.id, LeaseStatus.RELEASED)]
    assert not history[0].is_active and history[0].released_at is not None
    assert oi.get_lease(intent.id, lease.id).status == LeaseStatus.RELEASED
    with pytest.raises(NotFoundError):
        oi.get_lease(intent.id, intent.id)
    with pytest.raises(LeaseConflictError) as ended:  # renewing an ended lease
        oi.renew_lease(intent.id, lease.id)
    assert ended.value.existing_lease is None


def test_lease_context_manager_releases(oi):
    intent = oi.create_intent("Scoped")
    with oi.lease(intent.id, "analysis", duration_seconds=300) as lease:
        assert [held.id for held in oi.get_leases(intent.id)] == [lease.id]
    assert oi.get_leases(intent.id) == []


def test_lease_context_manager_releases_when_the_body_raises(oi, other):
    intent = oi.create_intent("Scoped")
    with pytest.raises(RuntimeError, match="boom"), oi.lease(intent.id, "analysis") as lease:
        raise RuntimeError("boom")
    assert oi.get_lease(intent.id, lease.id).status == LeaseStatus.RELEASED
    other.acquire_lease(intent.id, "analysis")  # free again


def test_lease_conflict_on_enter_propagates(oi, other):
    intent = oi.create_intent("Contended")
    other.acquire_lease(intent.id, "analysis")
    with pytest.raises(LeaseConflictError), oi.lease(intent.id, "analysis"):
        pytest.fail("the block must not run")


def test_sync_lease_auto_renew(live_server_url):
    from openintent import OpenIntentClient

    with OpenIntentClient(live_server_url, KEY, AGENT) as client:
        intent = client.create_intent("Renewed")
        with client.lease(intent.id, "analysis", duration_seconds=30, auto_renew=True, renew_every=0.2) as lease:
            first_expiry = lease.expires_at
            time.sleep(0.9)
            assert lease.expires_at > first_expiry
        renewals = [e for e in client.get_events(intent.id, event_type="lease_acquired") if e.payload.get("renewed")]
        assert len(renewals) >= 2
        assert client.get_leases(intent.id) == []


def test_a_lease_block_cancelled_while_releasing_still_releases_its_lease(live_server_url):
    """An agent stopped while its block's release was on its way: the release goes on to its end, and the block's
    task ends cancelled. Cut short, the release never reached the server and the scope stayed closed."""

    async def scenario():
        block_task = None

        async def cancel_the_block_as_it_releases(request):
            if request.method == "DELETE" and "/leases/" in request.url.path:
                block_task.cancel()

        http = httpx.AsyncClient(event_hooks={"request": [cancel_the_block_as_it_releases]})
        async with http, AsyncOpenIntentClient(live_server_url, KEY, AGENT, http_client=http) as client:
            intent = await client.create_intent("Stopped while releasing")

            async def block():
                async with client.lease(intent.id, "analysis", 60, auto_renew=True, renew_every=30) as lease:
                    return lease

            block_task = asyncio.ensure_future(block())
            with pytest.raises(asyncio.CancelledError):
                await block_task
            assert await client.get_leases(intent.id) == []
            lease_id = (await client.get_events(intent.id, event_type="lease_acquired"))[0].payload["lease_id"]
            assert (await client.get_lease(intent.id, lease_id)).status == LeaseStatus.RELEASED

    asyncio.run(scenario())


def test_async_lease_auto_renew_and_release_on_exception(live_server_url):
    async def scenario():
        async with AsyncOpenIntentClient(live_server_url, KEY, AGENT) as client:
            intent = await client.create_intent("Renewed")
            try:
                async with client.lease(intent.id, "analysis", 30, auto_renew=True, renew_every=0.2) as lease:
                    first_expiry = lease.expires_at
                    await asyncio.sleep(0.9)
                    assert lease.expires_at > first_expiry
                    raise ValueError("inside")
            except ValueError:
                pass
            events = await client.get_events(intent.id, event_type="lease_acquired")
            assert len([e for e in events if e.payload.get("renewed")]) >= 2
            assert await client.get_leases(intent.id) == []
            assert (await client.get_lease(intent.id, lease.id)).status == LeaseStatus.RELEASED

    asyncio.run(scenario())
