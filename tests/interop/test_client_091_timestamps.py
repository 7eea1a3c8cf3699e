"""The unmodified openintent 0.9.1 client reads the server's timestamps as aware UTC datetimes: they carry their
offset, so no client has to guess the zone of what it parses."""

from datetime import datetime

import httpx
import pytest

from .conftest import KEY

pytestmark = pytest.mark.interop


def test_intents_events_and_leases_parse_as_aware_utc_datetimes(run_client, live_server_url):
    out = run_client(
        """
        from datetime import timedelta

        def times(**values):
            return {
                name: {
                    "iso": value.isoformat(),
                    "aware": value.tzinfo is not None,
                    "utc": value.utcoffset() == timedelta(0),
                }
                for name, value in values.items()
            }

        intent = client.create_intent("Timed")
        out["python"] = sys.version
        out["intent_id"] = intent.id
        out["created"] = times(created_at=intent.created_at, updated_at=intent.updated_at)
        patched = client.update_state(intent.id, intent.version, {"phase": "a"})
        out["patched"] = times(created_at=patched.created_at, updated_at=patched.updated_at)
        fetched = client.get_intent(intent.id)
        out["fetched"] = times(created_at=fetched.created_at, updated_at=fetched.updated_at)
        out["listed"] = [
            times(created_at=item.created_at, updated_at=item.updated_at) for item in client.list_intents()
        ]

        lease = client.acquire_lease(intent.id, "analysis", duration_seconds=60)
        out["lease"] = times(created_at=lease.created_at, expires_at=lease.expires_at)
        renewed = client.renew_lease(intent.id, lease.id, duration_seconds=120)
        out["renewed"] = times(created_at=renewed.created_at, expires_at=renewed.expires_at)
        out["leases"] = [
            times(created_at=item.created_at, expires_at=item.expires_at) for item in client.get_leases(intent.id)
        ]
        client.release_lease(intent.id, lease.id)

        out["logged"] = times(created_at=client.log_event(intent.id, EventType.COMMENT, {"n": 1}).created_at)
        out["events"] = [
            {"id": event.id, **times(created_at=event.created_at)} for event in client.get_events(intent.id)
        ]

        async def main():
            async with AsyncOpenIntentClient(URL, KEY, AGENT) as aclient:
                got = await aclient.get_intent(intent.id)
                events = await aclient.get_events(intent.id)
                leases = await aclient.get_leases(intent.id)
                return {
                    "intent": times(created_at=got.created_at, updated_at=got.updated_at),
                    "events": [times(created_at=event.created_at) for event in events],
                    "leases": [times(created_at=item.created_at, expires_at=item.expires_at) for item in leases],
                }

        out["async"] = asyncio.run(main())
        """
    )
    parsed = [
        *out["created"].values(),
        *out["patched"].values(),
        *out["fetched"].values(),
        *(value for item in out["listed"] for value in item.values()),
        *out["lease"].values(),
        *out["renewed"].values(),
        *(value for item in out["leases"] for value in item.values()),
        *out["logged"].values(),
        *(item["created_at"] for item in out["events"]),
        *out["async"]["intent"].values(),
        *(value for item in out["async"]["events"] + out["async"]["leases"] for value in item.values()),
    ]
    assert len(out["events"]) >= 5 and out["async"]["events"] and out["listed"]
    assert all(value["aware"] and value["utc"] for value in parsed), (out["python"], parsed)

    # What the client parsed is the server's instant, not a default it filled in for a value it could not read.
    server = httpx.get(
        f"{live_server_url}/api/v1/intents/{out['intent_id']}/events", headers={"X-API-Key": KEY}, timeout=10
    ).json()
    written = {str(event["id"]): datetime.fromisoformat(event["created_at"]) for event in server}
    read = {str(event["id"]): datetime.fromisoformat(event["created_at"]["iso"]) for event in out["events"]}
    assert read == written
