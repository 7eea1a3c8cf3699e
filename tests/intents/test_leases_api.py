"""RFC-0003 routes through the API: acquire, list, renew, release, expiry and leases guarding state."""

import datetime
import io
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from intents.models import Lease
from intents.tasks import expire_leases
from tests.conftest import event_log, new_intent, versioned

INTENTS = "/api/v1/intents"
WIRE_TIME = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def leases_url(intent, tail=""):
    return f"{INTENTS}/{intent['id']}/leases{tail}"


def acquire(client, intent, scope="analysis", **fields):
    return client.post(leases_url(intent), {"scope": scope, **fields}, format="json")


def held(client, intent, scope="analysis", **fields):
    response = acquire(client, intent, scope, **fields)
    assert response.status_code == 200, response.content
    return response.json()


def lapse(lease):
    """Make a lease's time run out, as if its duration had passed."""
    Lease.objects.filter(pk=lease["id"]).update(expires_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))


def lease_events(client, intent):
    return [
        (event["event_type"], event["actor"], event["payload"])
        for event in event_log(client, intent["id"])
        if event["event_type"].startswith("lease_")
    ]


@pytest.fixture
def intent(api):
    return new_intent(api, title="Leased")


# Acquire ------------------------------------------------------------------------------------------------------


def test_acquire_grants_a_lease_to_the_caller(api, intent):
    response = acquire(api, intent, duration_seconds=120)

    assert response.status_code == 200
    lease = response.json()
    assert {key: lease[key] for key in ("intent_id", "agent_id", "scope", "status", "released_at")} == {
        "intent_id": intent["id"],
        "agent_id": "agent-research",
        "scope": "analysis",
        "status": "active",
        "released_at": None,
    }
    assert lease["created_at"] == lease["acquired_at"]
    acquired = datetime.datetime.strptime(lease["acquired_at"], WIRE_TIME)
    assert datetime.datetime.strptime(lease["expires_at"], WIRE_TIME) - acquired == datetime.timedelta(seconds=120)
    assert lease_events(api, intent) == [
        (
            "lease_acquired",
            "agent-research",
            {"lease_id": lease["id"], "scope": "analysis", "expires_at": lease["expires_at"]},
        )
    ]


def test_acquire_defaults_to_five_minutes(api, intent):
    lease = held(api, intent)

    acquired = datetime.datetime.strptime(lease["acquired_at"], WIRE_TIME)
    assert datetime.datetime.strptime(lease["expires_at"], WIRE_TIME) - acquired == datetime.timedelta(seconds=300)


@pytest.mark.parametrize("same_holder", [False, True])
def test_a_held_scope_is_a_409_carrying_the_existing_lease(api, other_api, intent, same_holder):
    lease = held(api, intent)

    response = acquire(api if same_holder else other_api, intent)

    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "Lease already held for this scope"
    assert body["existing_lease"]["id"] == lease["id"]
    assert body["existing_lease"]["agent_id"] == "agent-research"
    assert "lease" in response.content.decode().lower()
    assert [lease["id"] for lease in api.get(leases_url(intent)).json()["leases"]] == [lease["id"]]


def test_different_scopes_are_leased_independently(api, other_api, intent):
    held(api, intent, "analysis")

    assert acquire(other_api, intent, "writing").status_code == 200


def test_acquire_on_an_unknown_intent_is_404(api):
    response = acquire(api, {"id": str(uuid.uuid4())})

    assert response.status_code == 404
    assert response.json()["detail"] == "Intent not found"


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({}, ["body", "scope"]),
        ({"scope": ""}, ["body", "scope"]),
        ({"scope": "a", "duration_seconds": 0}, ["body", "duration_seconds"]),
        ({"scope": "a", "duration_seconds": -5}, ["body", "duration_seconds"]),
        ({"scope": "a", "duration_seconds": "long"}, ["body", "duration_seconds"]),
        ({"scope": "a", "duration_seconds": settings.OPENINTENT_MAX_LEASE_SECONDS + 1}, ["body", "duration_seconds"]),
    ],
)
def test_acquire_validates_scope_and_duration(api, intent, data, loc):
    response = api.post(leases_url(intent), data, format="json")

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [loc]
    assert Lease.objects.count() == 0


def test_the_longest_lease_allowed_is_granted(api, intent):
    assert acquire(api, intent, duration_seconds=settings.OPENINTENT_MAX_LEASE_SECONDS).status_code == 200


def test_acquire_without_a_body_is_422(api, intent):
    response = api.post(leases_url(intent), content_type="application/json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


# List ---------------------------------------------------------------------------------------------------------


def test_list_shows_held_leases_and_all_with_include(api, other_api, intent):
    released = held(api, intent, "first")
    api.delete(leases_url(intent, f"/{released['id']}"))
    lapsed = held(api, intent, "second")
    lapse(lapsed)
    active = held(other_api, intent, "third")

    assert [lease["id"] for lease in api.get(leases_url(intent)).json()["leases"]] == [active["id"]]
    everything = api.get(leases_url(intent), {"include": "all"}).json()["leases"]
    assert [(lease["id"], lease["status"]) for lease in everything] == [
        (released["id"], "released"),
        (lapsed["id"], "expired"),
        (active["id"], "active"),
    ]
    assert everything[0]["released_at"] is not None


def test_list_refuses_an_unknown_include(api, intent):
    response = api.get(leases_url(intent), {"include": "some"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "include"]


def test_list_of_an_unknown_intent_is_404(api):
    assert api.get(leases_url({"id": str(uuid.uuid4())})).status_code == 404


# Renew and release --------------------------------------------------------------------------------------------


def test_the_holder_renews(api, intent):
    lease = held(api, intent, duration_seconds=60)

    response = api.patch(leases_url(intent, f"/{lease['id']}"), {"duration_seconds": 600}, format="json")

    assert response.status_code == 200
    renewed = response.json()
    assert (renewed["id"], renewed["status"]) == (lease["id"], "active")
    assert renewed["expires_at"] > lease["expires_at"]
    assert lease_events(api, intent)[-1] == (
        "lease_acquired",
        "agent-research",
        {
            "lease_id": lease["id"],
            "scope": "analysis",
            "renewed": True,
            "duration_seconds": 600,
            "expires_at": renewed["expires_at"],
        },
    )


def test_renew_takes_the_default_duration_from_an_empty_body(api, intent):
    lease = held(api, intent)

    assert api.patch(leases_url(intent, f"/{lease['id']}"), {}, format="json").status_code == 200


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_only_the_holder_renews_or_releases(api, other_api, intent, method):
    lease = held(api, intent)
    before = event_log(api, intent["id"])

    response = getattr(other_api, method)(leases_url(intent, f"/{lease['id']}"), {}, format="json")

    assert response.status_code == 403
    assert "holder" in response.json()["detail"]
    assert api.get(leases_url(intent)).json()["leases"] == [lease]
    assert event_log(api, intent["id"]) == before


@pytest.mark.parametrize("method", ["patch", "delete"])
@pytest.mark.parametrize("lease_id", ["garbage", str(uuid.uuid4())])
def test_unknown_lease_is_404(api, intent, method, lease_id):
    response = getattr(api, method)(leases_url(intent, f"/{lease_id}"), {}, format="json")

    assert response.status_code == 404
    assert response.json()["detail"] == "Lease not found"


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_lease_is_only_found_under_its_own_intent(api, intent, method):
    lease = held(api, intent)
    elsewhere = new_intent(api, title="elsewhere")

    response = getattr(api, method)(leases_url(elsewhere, f"/{lease['id']}"), {}, format="json")

    assert response.status_code == 404
    assert event_log(api, elsewhere["id"])[-1]["event_type"] == "intent_created"
    assert api.get(leases_url(intent)).json()["leases"][0]["status"] == "active"


def test_the_holder_releases_and_the_scope_is_free(api, other_api, intent):
    lease = held(api, intent)

    response = api.delete(leases_url(intent, f"/{lease['id']}"), content_type="application/json")

    assert response.status_code == 200
    assert response.json() == {"message": "Lease released"}
    assert api.get(leases_url(intent)).json() == {"leases": []}
    assert acquire(other_api, intent).status_code == 200


def test_releasing_twice_logs_one_release(api, intent):
    lease = held(api, intent)
    api.delete(leases_url(intent, f"/{lease['id']}"))

    again = api.delete(leases_url(intent, f"/{lease['id']}"))

    assert again.status_code == 200
    assert again.json()["message"] == "Lease already released"
    releases = [event for event in lease_events(api, intent) if event[0] == "lease_released"]
    assert releases == [("lease_released", "agent-research", {"lease_id": lease["id"], "scope": "analysis"})]


def test_a_released_lease_cannot_be_renewed(api, intent):
    lease = held(api, intent)
    api.delete(leases_url(intent, f"/{lease['id']}"))

    response = api.patch(leases_url(intent, f"/{lease['id']}"), {}, format="json")

    assert response.status_code == 409
    assert "lease" in response.json()["detail"].lower()


def test_a_lapsed_lease_cannot_be_renewed(api, intent):
    lease = held(api, intent)
    lapse(lease)
    before = event_log(api, intent["id"])

    response = api.patch(leases_url(intent, f"/{lease['id']}"), {}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == "Lease is expired; acquire a new one"
    assert api.get(leases_url(intent), {"include": "all"}).json()["leases"][0]["status"] == "expired"
    # A refused request leaves nothing behind: the sweep records the expiry.
    assert event_log(api, intent["id"]) == before


def test_releasing_a_lapsed_lease_reports_it_expired(api, intent):
    lease = held(api, intent)
    lapse(lease)

    response = api.delete(leases_url(intent, f"/{lease['id']}"))

    assert response.json() == {"message": "Lease already expired"}
    releases = [event for event in lease_events(api, intent) if event[0] == "lease_released"]
    assert [(actor, payload["reason"]) for _, actor, payload in releases] == [("system", "expired")]


# Expiry -------------------------------------------------------------------------------------------------------


def test_a_lapsed_lease_is_expired_when_someone_acquires_the_scope(api, other_api, intent):
    lease = held(api, intent)
    lapse(lease)

    response = acquire(other_api, intent)

    assert response.status_code == 200
    assert response.json()["agent_id"] == "agent-synth"
    statuses = {row["id"]: row["status"] for row in api.get(leases_url(intent), {"include": "all"}).json()["leases"]}
    assert statuses == {lease["id"]: "expired", response.json()["id"]: "active"}
    expired = [event for event in lease_events(api, intent) if event[0] == "lease_released"]
    assert expired == [
        (
            "lease_released",
            "system",
            {
                "lease_id": lease["id"],
                "scope": "analysis",
                "reason": "expired",
                "expired_at": "2020-01-01T00:00:00.000000+00:00",
            },
        )
    ]


def test_a_second_holder_is_refused_by_the_constraint_and_the_write_goes_on(api, intent):
    """Every grant checks the scope under the intent's lock first; should a grant pass it anyway, the partial unique
    constraint refuses its lease without an error that would end the transaction it runs in."""
    first = held(api, intent)
    now = timezone.now()
    second = Lease(intent_id=intent["id"], scope="analysis", holder="agent-synth", acquired_at=now, expires_at=now)
    other_scope = Lease(intent_id=intent["id"], scope="other", holder="agent-synth", acquired_at=now, expires_at=now)

    with transaction.atomic():
        refused = Lease.objects.insert_unless_held(second)
        inserted = Lease.objects.insert_unless_held(other_scope)

    assert (refused, inserted) == (False, True)
    rows = Lease.objects.filter(intent_id=intent["id"]).order_by("scope")
    assert [(str(row.pk), row.scope, row.holder) for row in rows] == [
        (first["id"], "analysis", first["agent_id"]),
        (str(other_scope.pk), "other", "agent-synth"),
    ]


def run_command():
    out = io.StringIO()
    call_command("expireleases", stdout=out)
    return out.getvalue().strip()


@pytest.mark.parametrize(
    ("sweep", "reports"),
    [(run_command, lambda count: f"Expired {count} lease(s)."), (expire_leases, lambda count: count)],
    ids=["expireleases", "celery-task"],
)
def test_the_sweep_expires_only_lapsed_leases_and_logs_why(api, intent, sweep, reports):
    lapsed = held(api, intent, "lapsed")
    lapse(lapsed)
    current = held(api, intent, "current")
    other_intent = new_intent(api, title="other")
    lapsed_elsewhere = held(api, other_intent, "elsewhere")
    lapse(lapsed_elsewhere)

    result = sweep()

    assert result == reports(2)
    assert dict(Lease.objects.values_list("id", "status")) == {
        uuid.UUID(lapsed["id"]): "expired",
        uuid.UUID(current["id"]): "active",
        uuid.UUID(lapsed_elsewhere["id"]): "expired",
    }
    logged = [event for event in lease_events(api, intent) if event[0] == "lease_released"]
    assert [(actor, payload["lease_id"], payload["reason"]) for _, actor, payload in logged] == [
        ("system", lapsed["id"], "expired")
    ]
    assert sweep() == reports(0)
    assert len([event for event in lease_events(api, intent) if event[0] == "lease_released"]) == 1


# Leases guard state -------------------------------------------------------------------------------------------


def patch(client, intent, patches):
    version = client.get(f"{INTENTS}/{intent['id']}").json()["version"]
    return versioned(client, "post", f"{INTENTS}/{intent['id']}/state", version, {"patches": patches})


@pytest.mark.parametrize("path", ["analysis", "/analysis", "/analysis/summary", "analysis/summary/words"])
def test_a_state_patch_touching_a_scope_leased_by_someone_else_is_refused(api, other_api, intent, path):
    lease = held(api, intent)
    before = other_api.get(f"{INTENTS}/{intent['id']}").json()

    response = patch(other_api, intent, [{"op": "set", "path": "free", "value": 1}, {"op": "set", "path": path}])

    assert response.status_code == 409
    body = response.json()
    assert "analysis" in body["detail"]
    assert body["existing_lease"]["id"] == lease["id"]
    assert "lease" in response.content.decode().lower()
    assert other_api.get(f"{INTENTS}/{intent['id']}").json() == before


def test_the_holder_and_other_keys_stay_writable(api, other_api, intent):
    held(api, intent)

    assert patch(api, intent, [{"op": "set", "path": "/analysis/summary", "value": "done"}]).status_code == 200
    assert patch(other_api, intent, [{"op": "set", "path": "analysis_notes", "value": 1}]).status_code == 200


@pytest.mark.parametrize("end", ["release", "lapse"])
def test_an_ended_lease_no_longer_guards_its_scope(api, other_api, intent, end):
    lease = held(api, intent)
    if end == "release":
        api.delete(leases_url(intent, f"/{lease['id']}"))
    else:
        lapse(lease)

    assert patch(other_api, intent, [{"op": "set", "path": "analysis", "value": "mine now"}]).status_code == 200


@pytest.mark.parametrize("terminal", ["completed", "abandoned"])
def test_no_lease_on_a_finished_intent(api, terminal):
    intent = new_intent(api, status="active")
    versioned(api, "post", f"{INTENTS}/{intent['id']}/status", 1, {"status": terminal})

    response = acquire(api, intent)

    assert response.status_code == 409
    assert terminal in response.json()["detail"]
    assert Lease.objects.count() == 0
