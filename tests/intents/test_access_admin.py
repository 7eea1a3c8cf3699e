"""Access control in the admin: nothing that guards an intent is deleted there, so no page of the admin can open a
restricted intent, and the grant changes it does offer are logged on the intent under the reviewer's name."""

import pytest

from intents.models import AccessPolicy, ACLEntry
from openintent_site.models import ApiKey
from tests.conftest import event_log, new_intent

POLICIES = "/admin/intents/accesspolicy/"
ENTRIES = "/admin/intents/aclentry/"
KEYS = "/admin/openintent_site/apikey/"


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.test", "pw"))
    return client


@pytest.fixture
def restricted_intent(api, other_api):
    """An intent of agent-research closed to everyone else, with a grant to agent-auditor; agent-synth has none."""
    intent = new_intent(api, title="Payroll")
    acl = {
        "default_policy": "closed",
        "entries": [{"principal_id": "agent-auditor", "principal_type": "agent", "permission": "read"}],
    }
    assert api.put(f"/api/v1/intents/{intent['id']}/acl", acl, format="json").status_code == 200
    assert other_api.get(f"/api/v1/intents/{intent['id']}").status_code == 403
    return intent


def test_nothing_guarding_an_intent_is_deleted_in_the_admin(admin_client, api, other_api, restricted_intent):
    url = f"/api/v1/intents/{restricted_intent['id']}"
    policy = AccessPolicy.objects.get(intent_id=restricted_intent["id"])
    entry = ACLEntry.objects.get(intent_id=restricted_intent["id"], principal_id="agent-auditor")
    api_key = ApiKey.objects.get(agent_id="agent-research")

    for changelist, row in [(POLICIES, policy), (ENTRIES, entry), (KEYS, api_key)]:
        assert admin_client.get(f"{changelist}{row.pk}/delete/").status_code == 403, changelist
        assert admin_client.post(f"{changelist}{row.pk}/delete/", {"post": "yes"}).status_code == 403, changelist
        admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [str(row.pk)], "post": "yes"})
        assert type(row).objects.filter(pk=row.pk).exists(), changelist

    assert other_api.get(url).status_code == 403
    assert api.get(url).status_code == 200
    assert not [event for event in event_log(api, restricted_intent["id"]) if event["actor"] == "boss"]

    # What the admin does offer on grants, revoking one, goes through the service and is logged as the reviewer.
    asked = admin_client.post(ENTRIES, {"action": "revoke_entries", "_selected_action": [str(entry.pk)]})
    assert "This cannot be undone" in asked.content.decode()
    assert ACLEntry.objects.filter(pk=entry.pk).exists()
    admin_client.post(ENTRIES, {"action": "revoke_entries", "_selected_action": [str(entry.pk)], "confirmed": "yes"})
    assert not ACLEntry.objects.filter(pk=entry.pk).exists()
    revoked = [event for event in event_log(api, restricted_intent["id"]) if event["event_type"] == "access_revoked"]
    assert [(event["actor"], event["payload"]["principal_id"]) for event in revoked] == [("boss", "agent-auditor")]
    assert other_api.get(url).status_code == 403


def test_no_list_offers_to_delete(admin_client, restricted_intent):
    for changelist in [POLICIES, ENTRIES, KEYS]:
        page = admin_client.get(changelist).content.decode()
        assert "delete_selected" not in page, changelist


def test_a_policy_page_offers_no_change_and_no_delete(admin_client, other_api, restricted_intent):
    policy = AccessPolicy.objects.get(intent_id=restricted_intent["id"])

    page = admin_client.get(f"{POLICIES}{policy.pk}/change/").content.decode()
    changed = admin_client.post(f"{POLICIES}{policy.pk}/change/", {"default_policy": "open"})

    assert "closed" in page
    assert 'name="_save"' not in page
    assert "deletelink" not in page
    assert changed.status_code == 403
    assert AccessPolicy.objects.get(pk=policy.pk).default_policy == "closed"
    assert other_api.get(f"/api/v1/intents/{restricted_intent['id']}").status_code == 403


def test_deleting_a_user_would_delete_their_keys_and_is_refused(admin_client, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    api_key = ApiKey(user=alice, name="alice's")
    api_key.set_key()
    api_key.save()
    api_key.revoke()

    assert admin_client.post(f"/admin/auth/user/{alice.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ApiKey.objects.filter(pk=api_key.pk).exists()
