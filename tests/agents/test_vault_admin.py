"""Vaults in the admin, through Django's test client: the secret is set and replaced there but never shown (the page
says when it was set), grants show their use against their limit and are suspended, resumed and revoked through the
services (audited under the staff member's name), and the invocation log filters by agent, tool, status and date."""

import logging

import pytest

from agents.vaults.models import Credential, Invocation, ToolGrant, Vault, VaultEvent

from .tool_service import invoke, new_credential, new_grant, new_vault, register_tool, tool_service  # noqa: F401

SECRET = "sk_admin_secret_never_shown_1"
REPLACED = "sk_admin_secret_replaced_2"
CREDENTIALS = "/admin/agents/credential/"
GRANTS = "/admin/agents/toolgrant/"
INVOCATIONS = "/admin/agents/invocation/"


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.test", "pw"))
    return client


def credential_form(vault, **fields):
    form = {
        "vault": str(vault.pk),
        "service": "acme",
        "label": "acme-admin",
        "auth_type": "api_key",
        "auth_config": "{}",
        "scopes_available": '["charges.read"]',
        "metadata": "{}",
        "expires_at_0": "",
        "expires_at_1": "",
        "secret": SECRET,
    }
    form.update(fields)
    return form


def test_the_secret_is_write_only_in_the_admin(admin_client, api, tool_service, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    vault = Vault.objects.create(owner_id="agent-research", name="admin vault")
    pages = []
    missing = admin_client.post(f"{CREDENTIALS}add/", credential_form(vault, secret=""))
    assert missing.status_code == 200 and b"needs its secret" in missing.content
    created = admin_client.post(f"{CREDENTIALS}add/", credential_form(vault))
    assert created.status_code == 302, created.content.decode()[:3000]
    credential = Credential.objects.get(label="acme-admin")
    assert credential.material() == SECRET
    change = admin_client.get(f"{CREDENTIALS}{credential.pk}/change/")
    pages.append(change)
    assert change.status_code == 200
    assert b"set on " in change.content
    # Saved without a secret: the stored one stays.
    kept = admin_client.post(
        f"{CREDENTIALS}{credential.pk}/change/", credential_form(vault, secret="", label="renamed")
    )
    assert kept.status_code == 302
    credential.refresh_from_db()
    assert credential.label == "renamed" and credential.material() == SECRET and credential.rotated_at is None
    replaced = admin_client.post(f"{CREDENTIALS}{credential.pk}/change/", credential_form(vault, secret=REPLACED))
    assert replaced.status_code == 302
    credential.refresh_from_db()
    assert credential.material() == REPLACED and credential.rotated_at is not None
    # A refused form does not send the typed secret back either.
    refused = admin_client.post(
        f"{CREDENTIALS}{credential.pk}/change/", credential_form(vault, secret=SECRET, auth_type="basic_auth")
    )
    assert refused.status_code == 200 and b"must be an object" in refused.content
    pages += [
        refused,
        admin_client.get(CREDENTIALS),
        admin_client.get(f"/admin/agents/vault/{vault.pk}/change/"),
        admin_client.get("/admin/agents/vaultevent/"),
    ]
    # The tool proxy sends the replaced secret: the admin's change reached the credential.
    register_tool(api, tool_service.url)
    new_grant(api, str(credential.pk))
    assert invoke(api, "charges.read", parameters={"charge_id": "a"}).status_code == 200
    assert tool_service.received("/echo")[0]["headers"]["x-api-key"] == REPLACED
    pages += [admin_client.get(INVOCATIONS), admin_client.get(GRANTS)]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert SECRET not in text and REPLACED not in text
    assert SECRET not in caplog.text and REPLACED not in caplog.text
    kinds = list(
        VaultEvent.objects.filter(credential_id=credential.pk).order_by("id").values_list("event_type", "actor")
    )
    assert kinds[:2] == [("credential.created", "boss"), ("credential.rotated", "boss")]


def test_grants_show_their_use_and_are_managed_through_the_services(admin_client, api, tool_service):  # noqa: F811
    credential = new_credential(api, new_vault(api)["id"], SECRET)
    register_tool(api, tool_service.url)
    grant = new_grant(api, credential["id"], constraints={"max_invocations_per_hour": 3}, delegatable=True)
    delegated = api.post(
        f"/api/v1/grants/{grant['id']}/delegate",
        {"target_agent_id": "sub"},
        format="json",
        HTTP_X_AGENT_ID="agent-worker",
    ).json()
    invoke(api, "charges.read", parameters={"charge_id": "a"})
    listing = admin_client.get(GRANTS).content.decode()
    assert "1 / 3" in listing

    admin_client.post(GRANTS, {"action": "suspend", "_selected_action": [grant["id"]]})
    assert ToolGrant.objects.get(pk=grant["id"]).status == "suspended"
    refused = invoke(api, "charges.read", parameters={"charge_id": "a"})
    assert refused.json()["error"]["code"] == "GRANT_SUSPENDED"
    again = admin_client.post(GRANTS, {"action": "suspend", "_selected_action": [grant["id"]]}, follow=True)
    assert b"could not be suspended" in again.content
    admin_client.post(GRANTS, {"action": "resume", "_selected_action": [grant["id"]]})
    assert ToolGrant.objects.get(pk=grant["id"]).status == "active"
    asked = admin_client.post(GRANTS, {"action": "revoke", "_selected_action": [grant["id"]]})
    assert "every grant delegated from it" in asked.content.decode()
    assert ToolGrant.objects.get(pk=grant["id"]).status == "active"
    admin_client.post(GRANTS, {"action": "revoke", "_selected_action": [grant["id"]], "confirmed": "yes"})
    assert set(ToolGrant.objects.values_list("status", flat=True)) == {"revoked"}
    events = VaultEvent.objects.filter(actor="boss").order_by("id")
    assert [(event.event_type, str(event.grant_id)) for event in events] == [
        ("grant.suspended", grant["id"]),
        ("grant.resumed", grant["id"]),
        ("grant.revoked", delegated["id"]),
        ("grant.revoked", grant["id"]),
    ]
    # Grants are not added, edited or deleted by hand there.
    assert admin_client.get(f"{GRANTS}add/").status_code == 403
    assert admin_client.post(f"{GRANTS}{grant['id']}/delete/", {"post": "yes"}).status_code == 403


def test_a_credential_is_revoked_after_a_confirmation_with_its_grants(admin_client, api, tool_service):  # noqa: F811
    credential = new_credential(api, new_vault(api)["id"], SECRET)
    grant = new_grant(api, credential["id"])
    selected = {"action": "revoke", "_selected_action": [credential["id"]]}

    asked = admin_client.post(CREDENTIALS, selected)
    assert "revokes every grant on it" in asked.content.decode()
    assert Credential.objects.get(pk=credential["id"]).status == "active"

    admin_client.post(CREDENTIALS, {**selected, "confirmed": "yes"})
    assert Credential.objects.get(pk=credential["id"]).status == "revoked"
    assert ToolGrant.objects.get(pk=grant["id"]).status == "revoked"
    assert VaultEvent.objects.filter(event_type="credential.revoked", actor="boss").count() == 1


def test_the_invocation_log_filters_by_agent_tool_status_and_date(admin_client, api, tool_service):  # noqa: F811
    credential = new_credential(api, new_vault(api)["id"], SECRET)
    register_tool(api, tool_service.url)
    new_grant(api, credential["id"])
    invoke(api, "charges.read", parameters={"charge_id": "a"})
    invoke(api, "charges.read", agent_id="stranger", parameters={"charge_id": "a"})
    invoke(api, "other.tool", agent_id="stranger")
    assert Invocation.objects.count() == 3

    def rows(**params):
        response = admin_client.get(INVOCATIONS, params)
        assert response.status_code == 200
        return response.context["cl"].result_count

    assert rows() == 3
    assert rows(agent_id="stranger") == 2
    assert rows(tool="other.tool") == 1
    assert rows(status__exact="denied") == 2
    assert rows(status__exact="success", agent_id="agent-worker") == 1
    today = Invocation.objects.first().timestamp.date()
    assert rows(timestamp__year=today.year, timestamp__month=today.month, timestamp__day=today.day) == 3
    assert rows(timestamp__year=today.year - 1) == 0
    assert admin_client.get(f"{INVOCATIONS}add/").status_code == 403


def test_every_vault_page_of_the_admin_opens(admin_client, api, tool_service):  # noqa: F811
    credential = new_credential(api, new_vault(api)["id"], SECRET)
    tool = register_tool(api, tool_service.url)
    grant = new_grant(api, credential["id"])
    invoke(api, "charges.read", parameters={"charge_id": "a"})
    invocation = Invocation.objects.get()
    pages = {
        "/admin/agents/vault/": 200,
        "/admin/agents/vault/add/": 200,
        f"/admin/agents/vault/{credential['vault_id']}/change/": 200,
        CREDENTIALS: 200,
        f"{CREDENTIALS}add/": 200,
        "/admin/agents/tool/": 200,
        "/admin/agents/tool/add/": 200,
        f"/admin/agents/tool/{tool['id']}/change/": 200,
        GRANTS: 200,
        f"{GRANTS}{grant['id']}/change/": 200,
        INVOCATIONS: 200,
        f"{INVOCATIONS}{invocation.pk}/change/": 200,
        "/admin/agents/vaultevent/": 200,
        f"/admin/agents/vault/{credential['vault_id']}/delete/": 403,
        f"{CREDENTIALS}{credential['id']}/delete/": 403,
    }
    for url, status in pages.items():
        response = admin_client.get(url)
        assert response.status_code == status, url
        assert SECRET not in response.content.decode(), url
