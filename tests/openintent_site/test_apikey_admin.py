"""The API key pages of the admin: a key is issued once and shown once, stored hashed, and can be revoked."""

import hashlib
import re

import pytest

from openintent_site.models import ApiKey
from tests.conftest import client_for, new_intent

ADD = "/admin/openintent_site/apikey/add/"
LIST = "/admin/openintent_site/apikey/"


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.test", "pw"))
    return client


def issue(admin_client, **fields):
    return admin_client.post(ADD, {"name": "", "agent_id": "", "user": "", **fields}, follow=True)


def test_issuing_a_key_shows_it_once_and_stores_only_its_hash(admin_client):
    response = issue(admin_client, name="ci runner", agent_id="agent-ci")

    page = response.content.decode()
    raw_key = re.search(r"shown once, copy it now\): (\S+?)<", page).group(1)
    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.agent_id, api_key.user_id) == ("ci runner", "agent-ci", None)
    assert api_key.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert api_key.prefix == raw_key[:8]
    assert new_intent(client_for(raw_key))["created_by"] == "agent-ci"
    assert raw_key not in admin_client.get(LIST).content.decode()
    assert raw_key not in admin_client.get(f"{LIST}{api_key.pk}/change/").content.decode()


def test_a_key_for_a_user_acts_as_that_user(admin_client, django_user_model):
    alice = django_user_model.objects.create_user("alice")

    page = issue(admin_client, name="alice's", user=str(alice.pk)).content.decode()

    raw_key = re.search(r"shown once, copy it now\): (\S+?)<", page).group(1)
    assert new_intent(client_for(raw_key))["created_by"] == "alice"


@pytest.mark.parametrize("binding", ["neither", "both"])
def test_a_key_must_be_bound_to_exactly_one_principal(admin_client, django_user_model, binding):
    alice = django_user_model.objects.create_user("alice")
    fields = {"agent_id": "agent-x", "user": str(alice.pk)} if binding == "both" else {}

    response = issue(admin_client, name="bad", **fields)

    assert response.status_code == 200
    assert "exactly one principal" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_list_names_each_principal(admin_client, keys):
    page = admin_client.get(LIST).content.decode()

    for agent_id in keys.values():
        assert f"agent: {agent_id}" in page
    for raw_key in keys:
        assert raw_key not in page


def test_an_issued_key_cannot_be_rebound(admin_client, keys):
    api_key = ApiKey.objects.get(agent_id="agent-research")

    response = admin_client.post(f"{LIST}{api_key.pk}/change/", {"name": "x", "agent_id": "agent-synth", "user": ""})

    assert response.status_code == 403
    api_key.refresh_from_db()
    assert api_key.agent_id == "agent-research"


def test_revoking_in_the_admin_locks_the_key_out(admin_client, keys):
    target = ApiKey.objects.get(agent_id="agent-research")

    response = admin_client.post(LIST, {"action": "revoke_keys", "_selected_action": [str(target.pk)]}, follow=True)

    assert "Revoked." in response.content.decode()
    assert client_for("agent-research-key").get("/api/v1/intents").status_code == 401
    assert client_for("agent-synth-key").get("/api/v1/intents").status_code == 200
    target.refresh_from_db()
    assert target.revoked_at is not None
