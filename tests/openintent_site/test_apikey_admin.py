"""The API key pages of the admin: a key is issued once and shown once, stored hashed, bound for good (its principal
and the agents it may act for), and can be revoked but not deleted."""

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
    return admin_client.post(ADD, {"name": "", "agent_id": "", "user": "", "acts_for": "", **fields})


def issued_key(response):
    assert response.status_code == 200, response.status_code
    found = re.search(r'id="issued-key">([^<]+)<', response.content.decode())
    assert found, "the page shows no key"
    return found.group(1)


def test_issuing_a_key_shows_it_once_and_stores_only_its_hash(admin_client):
    response = issue(admin_client, name="ci runner", agent_id="agent-ci")

    raw_key = issued_key(response)
    page = response.content.decode()
    assert "shown once" in page
    assert "X-API-Key" in page
    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.agent_id, api_key.user_id) == ("ci runner", "agent-ci", None)
    assert api_key.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert api_key.prefix == raw_key[:8]
    assert new_intent(client_for(raw_key))["created_by"] == "agent-ci"
    assert raw_key not in admin_client.get(LIST).content.decode()
    assert raw_key not in admin_client.get(f"{LIST}{api_key.pk}/change/").content.decode()


def test_the_issued_key_is_kept_nowhere_but_on_its_page(admin_client):
    response = issue(admin_client, name="ci runner", agent_id="agent-ci")

    raw_key = issued_key(response)
    assert "no-store" in response["Cache-Control"]
    # Django's messages ride in a signed, readable cookie (falling back to the session): the key is in neither.
    for cookie in [*response.cookies.values(), *admin_client.cookies.values()]:
        assert raw_key not in cookie.value, cookie.key
    assert "messages" not in response.cookies or not response.cookies["messages"].value
    session = admin_client.session
    assert all(raw_key not in str(value) for value in session.values())
    assert raw_key not in admin_client.get(LIST).content.decode()
    assert client_for(raw_key).get("/api/v1/intents").status_code == 200


def test_a_key_for_a_user_acts_as_that_user(admin_client, django_user_model):
    alice = django_user_model.objects.create_user("alice")

    raw_key = issued_key(issue(admin_client, name="alice's", user=str(alice.pk)))

    assert new_intent(client_for(raw_key))["created_by"] == "alice"


@pytest.mark.parametrize("binding", ["neither", "both"])
def test_a_key_must_be_bound_to_exactly_one_principal(admin_client, django_user_model, binding):
    alice = django_user_model.objects.create_user("alice")
    fields = {"agent_id": "agent-x", "user": str(alice.pk)} if binding == "both" else {}

    response = issue(admin_client, name="bad", **fields)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("Bind the key to exactly one principal: an agent id or a user.") == 1
    assert "apikey_one_principal" not in page
    assert "is violated" not in page
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

    selected = {"action": "revoke_keys", "_selected_action": [str(target.pk)]}
    asked = admin_client.post(LIST, selected)
    assert "This cannot be undone" in asked.content.decode()
    assert client_for("agent-research-key").get("/api/v1/intents").status_code == 200
    response = admin_client.post(LIST, {**selected, "confirmed": "yes"}, follow=True)

    assert "Revoked." in response.content.decode()
    assert client_for("agent-research-key").get("/api/v1/intents").status_code == 401
    assert client_for("agent-synth-key").get("/api/v1/intents").status_code == 200
    target.refresh_from_db()
    assert target.revoked_at is not None


def test_a_key_may_be_issued_to_act_for_agents(admin_client):
    form = admin_client.get(ADD).content.decode()
    assert 'name="acts_for"' in form

    raw_key = issued_key(issue(admin_client, name="fleet", agent_id="fleet", acts_for=" research-*, analyst ,,"))

    api_key = ApiKey.objects.get()
    assert api_key.acts_for == ["research-*", "analyst"]
    fleet = client_for(raw_key)
    for agent_id in ["research-1", "analyst"]:
        created = fleet.post("/api/v1/intents", {"title": "t"}, format="json", HTTP_X_AGENT_ID=agent_id)
        assert created.json()["created_by"] == agent_id
    refused = fleet.post("/api/v1/intents", {"title": "t"}, format="json", HTTP_X_AGENT_ID="writer")
    assert refused.status_code == 403
    assert "writer" in refused.content.decode()


def test_a_key_issued_without_agents_acts_for_none(admin_client):
    raw_key = issued_key(issue(admin_client, name="solo", agent_id="solo"))

    assert ApiKey.objects.get().acts_for == []
    refused = client_for(raw_key).post("/api/v1/intents", {"title": "t"}, format="json", HTTP_X_AGENT_ID="other")
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("acts_for", "complaint"),
    [("research agent", "commas"), ("a" * 201, "200 characters"), ("ok, bad\x07one", "printable")],
)
def test_agents_a_key_acts_for_are_checked(admin_client, acts_for, complaint):
    response = issue(admin_client, name="bad", agent_id="fleet", acts_for=acts_for)

    assert response.status_code == 200
    page = response.content.decode()
    assert complaint in page
    assert 'name="acts_for"' in page
    assert not ApiKey.objects.exists()


def test_the_agents_a_key_acts_for_are_fixed_once_issued(admin_client):
    issued_key(issue(admin_client, name="fleet", agent_id="fleet", acts_for="research-*, analyst"))
    api_key = ApiKey.objects.get()
    change = f"{LIST}{api_key.pk}/change/"

    page = admin_client.get(change).content.decode()
    rebound = admin_client.post(change, {"name": "fleet", "agent_id": "fleet", "user": "", "acts_for": "*"})

    assert "research-*, analyst" in page
    assert 'name="acts_for"' not in page
    assert rebound.status_code == 403
    api_key.refresh_from_db()
    assert api_key.acts_for == ["research-*", "analyst"]
    assert "research-*, analyst" in admin_client.get(LIST).content.decode()
