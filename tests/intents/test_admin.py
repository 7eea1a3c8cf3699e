"""The intent pages of the admin: everything that happened is visible, and nothing protocol-managed is editable."""

import re

import pytest

from intents.models import Intent, Lease
from tests.conftest import event_log, new_intent, versioned

PROTOCOL_FIELDS = ["title", "description", "status", "version", "created_by", "parent", "confidence", "state"]


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.test", "pw"))
    return client


@pytest.fixture
def busy_intent(api, other_api):
    """An intent with state, constraints, a few events, an assignment and two leases (one released)."""
    intent = new_intent(api, title="Quarterly report", constraints={"deadline": "2030-01-31"})
    url = f"/api/v1/intents/{intent['id']}"
    versioned(api, "post", f"{url}/state", 1, {"state": {"progress": 0.5, "owner_note": "halfway"}})
    api.post(f"{url}/events", {"event_type": "comment", "payload": {"text": "looks fine"}}, format="json")
    api.post(f"{url}/agents", {"agent_id": "agent-synth", "role": "reviewer"}, format="json")
    released = api.post(f"{url}/leases", {"scope": "drafting"}, format="json").json()
    api.delete(f"{url}/leases/{released['id']}")
    other_api.post(f"{url}/leases", {"scope": "analysis"}, format="json")
    return api.get(url).json()


def change_page(admin_client, intent):
    response = admin_client.get(f"/admin/intents/intent/{intent['id']}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_intent_page_shows_state_constraints_timeline_and_leases(admin_client, api, busy_intent):
    page = change_page(admin_client, busy_intent)

    assert "&quot;progress&quot;: 0.5" in page
    assert "&quot;owner_note&quot;: &quot;halfway&quot;" in page
    assert "&quot;deadline&quot;: &quot;2030-01-31&quot;" in page
    assert "events, newest first)" in page
    types = [event["event_type"] for event in event_log(api, busy_intent["id"])]
    assert {"intent_created", "status_changed", "state_patched", "comment", "agent_assigned", "lease_released"} <= set(
        types
    )
    timeline = page[page.index('id="timeline"') :]
    lines = [
        "<summary>Lease on “analysis” taken</summary>",
        "<summary>Comment: text=looks fine</summary>",
        "<summary>Created",
    ]
    positions = [timeline.index(line) for line in lines]
    assert positions == sorted(positions)
    assert "looks fine" in timeline
    for scope, holder, status in [("drafting", "agent-research", "released"), ("analysis", "agent-synth", "active")]:
        row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*>{scope}<(?:(?!</tr>).)*</tr>", page, re.S)
        assert row, scope
        assert holder in row.group(0)
        assert status in row.group(0)
    assert "reviewer" in page


def test_protocol_managed_fields_are_read_only(admin_client, busy_intent):
    page = change_page(admin_client, busy_intent)

    for field in PROTOCOL_FIELDS:
        assert not re.search(rf'name="{field}"', page), field
    assert 'name="_save"' not in page
    assert "Quarterly report" in page


def test_the_intent_cannot_be_changed_added_or_deleted_in_the_admin(admin_client, api, busy_intent):
    url = f"/admin/intents/intent/{busy_intent['id']}"

    changed = admin_client.post(f"{url}/change/", {"title": "Renamed", "status": "completed", "version": 99})

    assert changed.status_code == 403
    assert admin_client.get("/admin/intents/intent/add/").status_code == 403
    assert admin_client.post(f"{url}/delete/", {"post": "yes"}).status_code == 403
    assert api.get(f"/api/v1/intents/{busy_intent['id']}").json() == busy_intent


def test_the_intent_list_filters_by_status(admin_client, api, busy_intent):
    new_intent(api, title="Still a draft")

    page = admin_client.get("/admin/intents/intent/", {"status__exact": "draft"}).content.decode()

    assert "Still a draft" in page
    assert "Quarterly report" not in page


def test_a_lease_revoked_in_the_admin_ends_and_is_logged(admin_client, api, other_api, busy_intent):
    lease = Lease.objects.get(intent_id=busy_intent["id"], status="active")

    selected = {"action": "revoke", "_selected_action": [str(lease.pk)]}
    asked = admin_client.post("/admin/intents/lease/", selected)
    assert "This cannot be undone" in asked.content.decode()
    assert Lease.objects.get(pk=lease.pk).status == "active"
    response = admin_client.post("/admin/intents/lease/", {**selected, "confirmed": "yes"}, follow=True)

    assert "Revoked 1 lease(s)." in response.content.decode()
    lease.refresh_from_db()
    assert (lease.status, lease.released_at is not None) == ("revoked", True)
    revoked = event_log(api, busy_intent["id"], event_type="lease_released")[-1]
    assert (revoked["actor"], revoked["payload"]["reason"], revoked["payload"]["lease_id"]) == (
        "boss",
        "revoked",
        str(lease.pk),
    )
    assert (
        api.post(f"/api/v1/intents/{busy_intent['id']}/leases", {"scope": "analysis"}, format="json").status_code == 200
    )


def test_lease_pages_are_read_only(admin_client, busy_intent):
    lease = Lease.objects.get(intent_id=busy_intent["id"], status="active")

    page = admin_client.get(f"/admin/intents/lease/{lease.pk}/change/").content.decode()

    for field in ["scope", "holder", "status", "expires_at"]:
        assert not re.search(rf'name="{field}"', page), field
    assert admin_client.get("/admin/intents/lease/add/").status_code == 403
    assert Intent.objects.filter(pk=busy_intent["id"]).exists()
