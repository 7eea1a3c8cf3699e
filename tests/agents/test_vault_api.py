"""Vaults and credentials (RFC-0014 §1) through HTTP: owned by the calling principal, material sealed at rest under
keys from the settings and never answered, rotation that keeps ids and grants, revocation that cascades, the
``rotatevaultkey`` command and the start-up refusal without a key."""

import base64
import logging
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from agents.vaults import crypto
from agents.vaults.models import Credential, VaultEvent
from tests.conftest import ROOT, event_log, new_intent, start_server

from .tool_service import invoke, new_credential, new_grant, new_vault, register_tool, tool_service  # noqa: F401

SECRET = "sk_live_vault_secret_0123456789"
ROTATED = "sk_live_rotated_secret_9876543210"


def raw_material(credential_id):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sealed_material FROM {Credential._meta.db_table} WHERE id = %s",
            [Credential._meta.pk.get_db_prep_value(credential_id, connection)],
        )
        return cursor.fetchone()[0]


def test_a_vault_belongs_to_its_caller_and_is_hidden_from_others(api, other_api):
    response = api.post("/api/v1/vaults", {"owner_id": "someone-else", "name": "prod"}, format="json")
    assert response.status_code == 200, response.content
    vault = response.json()
    assert vault["owner_id"] == "agent-research"
    assert vault["credentials"] == []
    assert api.get(f"/api/v1/vaults/{vault['id']}").json() == vault
    assert other_api.get(f"/api/v1/vaults/{vault['id']}").status_code == 404
    assert api.get("/api/v1/vaults/not-a-uuid").json() == {"detail": "Vault not found", "message": "Vault not found"}
    assert [item["id"] for item in api.get("/api/v1/vaults").json()] == [vault["id"]]
    assert other_api.get("/api/v1/vaults").json() == []
    missing = api.post("/api/v1/vaults", {"owner_id": "x"}, format="json")
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "name"]


def test_material_is_sealed_at_rest_and_never_answered(api, other_api):
    vault = new_vault(api)
    credential = new_credential(api, vault["id"], SECRET, metadata={"env": "prod"})
    assert credential["has_material"] is True and credential["material_set_at"]
    assert credential["credential_metadata"] == credential["metadata"] == {"env": "prod"}
    assert credential["status"] == "active" and credential["auth_type"] == "api_key"
    assert not {"material", "secret", "encrypted_material", "sealed_material"} & set(credential)
    for response in (
        api.get(f"/api/v1/credentials/{credential['id']}"),
        api.get(f"/api/v1/vaults/{vault['id']}/credentials"),
        api.get(f"/api/v1/vaults/{vault['id']}"),
    ):
        assert response.status_code == 200
        assert SECRET not in response.content.decode()
    assert api.get(f"/api/v1/vaults/{vault['id']}").json()["credentials"] == [credential["id"]]
    assert other_api.get(f"/api/v1/credentials/{credential['id']}").status_code == 404
    # In the database: neither the secret nor any encoding of it, and a value that names the key that sealed it.
    stored = raw_material(credential["id"])
    assert SECRET not in stored
    assert base64.b64encode(SECRET.encode()).decode()[:20] not in stored
    assert stored.startswith(f"v1.{crypto.newest_key_id()}.")
    assert Credential.objects.get(pk=credential["id"]).material() == SECRET


def test_sealed_material_does_not_open_on_another_credential(api):
    vault = new_vault(api)
    first = new_credential(api, vault["id"], SECRET)
    second = new_credential(api, vault["id"], "other-secret")
    Credential.objects.filter(pk=second["id"]).update(sealed_material=raw_material(first["id"]))
    with pytest.raises(crypto.SealBroken):
        Credential.objects.get(pk=second["id"]).material()


@pytest.mark.parametrize("name", ["material", "secret", "encrypted_material"])
def test_the_material_is_taken_under_each_name(api, name):
    vault = new_vault(api)
    response = api.post(
        "/api/v1/credentials",
        {"vault_id": vault["id"], "service": "s", "label": "l", name: SECRET},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Credential.objects.get(pk=response.json()["id"]).material() == SECRET


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"auth_type": "basic_auth", "material": {"username": SECRET}}, "material"),
        ({"auth_type": "api_key", "material": {"key": SECRET}}, "material"),
        ({"material": [SECRET]}, "material"),
        ({"material": SECRET, "secret": SECRET}, "secret"),
        ({"material": SECRET, "auth_type": "magic"}, "auth_type"),
        ({"material": SECRET, "scopes_available": "a,b"}, "scopes_available"),
        ({"material": SECRET, "metadata": None}, "metadata"),
    ],
)
def test_refused_credentials_name_the_field_and_never_echo_the_secret(api, fields, field):
    vault = new_vault(api)
    response = api.post(
        "/api/v1/credentials", {"vault_id": vault["id"], "service": "s", "label": "l", **fields}, format="json"
    )
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert SECRET not in response.content.decode()
    assert Credential.objects.count() == 0


def test_a_credential_needs_a_vault_of_the_callers(api, other_api):
    vault = new_vault(api)
    response = other_api.post(
        "/api/v1/credentials",
        {"vault_id": vault["id"], "service": "s", "label": "l", "material": SECRET},
        format="json",
    )
    assert response.status_code == 404 and response.json()["detail"] == "Vault not found"
    assert SECRET not in response.content.decode()


def test_the_rfc_path_adds_and_lists_a_vaults_credentials(api):
    vault = new_vault(api)
    response = api.post(
        f"/api/v1/vaults/{vault['id']}/credentials",
        {"service": "github", "label": "gh", "auth_type": "bearer_token", "material": SECRET},
        format="json",
    )
    assert response.status_code == 200, response.content
    listed = api.get(f"/api/v1/vaults/{vault['id']}/credentials").json()
    assert [item["id"] for item in listed] == [response.json()["id"]]


def test_rotation_keeps_the_id_and_the_grants_and_the_service_gets_the_new_secret(api, tool_service):  # noqa: F811
    vault = new_vault(api)
    credential = new_credential(api, vault["id"], SECRET)
    register_tool(api, tool_service.url)
    grant = new_grant(api, credential["id"])
    assert invoke(api, "charges.read", parameters={"charge_id": "a"}).status_code == 200
    response = api.patch(f"/api/v1/credentials/{credential['id']}/rotate", {"material": ROTATED}, format="json")
    assert response.status_code == 200, response.content
    rotated = response.json()
    assert rotated["id"] == credential["id"] and rotated["rotated_at"]
    assert ROTATED not in response.content.decode()
    assert api.get(f"/api/v1/grants/{grant['id']}").json()["status"] == "active"
    assert invoke(api, "charges.read", parameters={"charge_id": "b"}).status_code == 200
    sent = [request["headers"]["x-api-key"] for request in tool_service.received("/echo")]
    assert sent == [SECRET, ROTATED]
    missing = api.patch(f"/api/v1/credentials/{credential['id']}/rotate", {}, format="json")
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "material"]


def test_revoking_a_credential_revokes_its_grants_at_once(api, tool_service):  # noqa: F811
    vault = new_vault(api)
    credential = new_credential(api, vault["id"], SECRET)
    register_tool(api, tool_service.url)
    first = new_grant(api, credential["id"], delegatable=True)
    second = new_grant(api, credential["id"], agent_id="agent-two")
    delegated = api.post(
        f"/api/v1/grants/{first['id']}/delegate",
        {"target_agent_id": "agent-sub"},
        format="json",
        HTTP_X_AGENT_ID="agent-worker",
    )
    assert delegated.status_code == 200, delegated.content
    response = api.delete(f"/api/v1/credentials/{credential['id']}")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "revoked", "credential_id": credential["id"], "affected_grants_count": 3}
    for grant_id in (first["id"], second["id"], delegated.json()["id"]):
        assert api.get(f"/api/v1/grants/{grant_id}").json()["status"] == "revoked"
    assert api.get(f"/api/v1/credentials/{credential['id']}").json()["status"] == "revoked"
    refused = invoke(api, "charges.read", parameters={"charge_id": "a"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "CREDENTIAL_REVOKED"
    assert tool_service.requests == []
    again = api.patch(f"/api/v1/credentials/{credential['id']}/rotate", {"material": ROTATED}, format="json")
    assert again.status_code == 409
    grant = api.post(
        "/api/v1/grants", {"credential_id": credential["id"], "agent_id": "x", "granted_by": "y"}, format="json"
    )
    assert grant.status_code == 409


def test_deleting_a_vault_revokes_and_removes_its_credentials(api):
    vault = new_vault(api)
    credential = new_credential(api, vault["id"], SECRET)
    grant = new_grant(api, credential["id"])
    response = api.delete(f"/api/v1/vaults/{vault['id']}")
    assert response.status_code == 200, response.content
    assert api.get(f"/api/v1/vaults/{vault['id']}").status_code == 404
    assert api.get(f"/api/v1/credentials/{credential['id']}").status_code == 404
    assert not Credential.objects.exists()
    revoked = VaultEvent.objects.filter(event_type="grant.revoked", grant_id=grant["id"])
    assert revoked.exists()


def test_an_expired_credential_is_refused_until_a_rotation_renews_it(api, tool_service):  # noqa: F811
    vault = new_vault(api)
    credential = new_credential(api, vault["id"], SECRET, expires_at="2020-01-01T00:00:00Z")
    assert credential["status"] == "expired"
    register_tool(api, tool_service.url)
    Credential.objects.filter(pk=credential["id"]).update(expires_at=None)
    new_grant(api, credential["id"])
    Credential.objects.filter(pk=credential["id"]).update(expires_at="2020-01-01T00:00:00Z")
    refused = invoke(api, "charges.read", parameters={"charge_id": "a"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "CREDENTIAL_EXPIRED"
    api.patch(
        f"/api/v1/credentials/{credential['id']}/rotate",
        {"material": ROTATED, "expires_at": "2100-01-01T00:00:00Z"},
        format="json",
    )
    assert invoke(api, "charges.read", parameters={"charge_id": "a"}).status_code == 200


def test_credential_events_are_audited_without_material(api):
    vault = new_vault(api)
    credential = new_credential(api, vault["id"], SECRET)
    api.patch(f"/api/v1/credentials/{credential['id']}/rotate", {"material": ROTATED}, format="json")
    events = VaultEvent.objects.filter(credential_id=credential["id"]).order_by("id")
    assert [event.event_type for event in events] == ["credential.created", "credential.rotated"]
    assert events[1].payload == {"credential_id": credential["id"], "rotated_by": "agent-research"}
    assert all(SECRET not in str(event.payload) and ROTATED not in str(event.payload) for event in events)


def test_no_answer_event_or_log_line_of_a_whole_session_holds_a_secret(api, tool_service, caplog):  # noqa: F811
    """Everything a user does with a credential, with every logger at DEBUG: the secret appears in no answer, no
    event of the intent's log, no audit entry and no log line; only the service received it."""
    caplog.set_level(logging.DEBUG)
    answers = []

    def keep(response):
        answers.append(response)
        return response

    intent = new_intent(api, "Leak hunt")
    vault = keep(api.post("/api/v1/vaults", {"owner_id": "u", "name": "v"}, format="json")).json()
    credential = keep(
        api.post(
            "/api/v1/credentials",
            {
                "vault_id": vault["id"],
                "service": "acme",
                "label": "l",
                "material": SECRET,
                "scopes_available": ["charges.read"],
            },
            format="json",
        )
    ).json()
    keep(
        api.post(
            "/api/v1/credentials",
            {
                "vault_id": vault["id"],
                "service": "acme",
                "label": "l",
                "auth_type": "basic_auth",
                "material": {"username": SECRET},
            },
            format="json",
        )
    )
    register_tool(api, tool_service.url, estimated_cost_usd=0.5)
    register_tool(api, tool_service.url, name="charges.fail", scope="charges.read", path="/fail", parameters={})
    grant = keep(
        api.post(
            "/api/v1/grants",
            {
                "credential_id": credential["id"],
                "agent_id": "agent-worker",
                "granted_by": "u",
                "scopes": ["charges.read"],
                "context": {"intent_id": intent["id"]},
            },
            format="json",
        )
    ).json()
    context = {"intent_id": intent["id"]}
    keep(invoke(api, "charges.read", parameters={"charge_id": "a"}, context=context))
    keep(invoke(api, "charges.fail", context=context))
    keep(invoke(api, "charges.read", parameters={"charge_id": "a"}))
    keep(api.patch(f"/api/v1/credentials/{credential['id']}/rotate", {"secret": ROTATED}, format="json"))
    keep(invoke(api, "charges.read", parameters={"charge_id": "b"}, context=context))
    keep(api.get(f"/api/v1/grants/{grant['id']}/invocations"))
    keep(api.get("/api/v1/invocations"))
    keep(api.get("/api/v1/tools/granted", {"agent_id": "agent-worker"}))
    keep(api.get(f"/api/v1/intents/{intent['id']}/events"))
    keep(api.get(f"/api/v1/intents/{intent['id']}/costs"))
    keep(api.delete(f"/api/v1/credentials/{credential['id']}"))
    keep(api.get("/openapi.json"))
    assert {response.status_code for response in answers} <= {200, 403, 422, 502}
    for response in answers:
        text = response.content.decode()
        assert SECRET not in text and ROTATED not in text, text[:500]
    events = event_log(api, intent["id"])
    assert {"grant.created", "tool.invoked", "grant.revoked"} <= {event["event_type"] for event in events}
    assert SECRET not in str(events) and ROTATED not in str(events)
    assert SECRET not in str(list(VaultEvent.objects.values())) and ROTATED not in str(
        list(VaultEvent.objects.values())
    )
    assert caplog.records, "nothing was logged: the check would prove nothing"
    assert SECRET not in caplog.text and ROTATED not in caplog.text
    # The service did receive each in turn: the check above is not vacuous.
    sent = [request["headers"].get("x-api-key") for request in tool_service.requests]
    assert SECRET in sent and ROTATED in sent


def test_the_openapi_document_has_the_secret_write_only(api):
    document = api.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    written = schemas["CredentialCreateRequest"]["properties"]
    assert written["material"]["writeOnly"] is True
    answered = schemas["Credential"]["properties"]
    assert not {"material", "secret", "encrypted_material", "sealed_material"} & set(answered)


# Keys ---------------------------------------------------------------------------------------------------------


def test_rotatevaultkey_reseals_everything_under_the_newest_key(api, settings):
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.OPENINTENT_VAULT_KEYS = [old]
    vault = new_vault(api)
    ids = [new_credential(api, vault["id"], f"{SECRET}-{index}")["id"] for index in range(3)]
    old_id = crypto.newest_key_id()
    settings.OPENINTENT_VAULT_KEYS = [new, old]
    new_id = crypto.newest_key_id()
    assert new_id != old_id
    # Both keys configured: the servers read the old values meanwhile.
    assert Credential.objects.get(pk=ids[0]).material() == f"{SECRET}-0"
    call_command("rotatevaultkey")
    assert all(raw_material(pk).startswith(f"v1.{new_id}.") for pk in ids)
    settings.OPENINTENT_VAULT_KEYS = [new]
    assert [Credential.objects.get(pk=pk).material() for pk in ids] == [f"{SECRET}-{index}" for index in range(3)]
    settings.OPENINTENT_VAULT_KEYS = [old]
    with pytest.raises(crypto.VaultKeyMissing):
        Credential.objects.get(pk=ids[0]).material()


def test_rotatevaultkey_generates_a_key_the_settings_take(capsys, settings):
    call_command("rotatevaultkey", "--generate")
    key = capsys.readouterr().out.strip()
    settings.OPENINTENT_VAULT_KEYS = [key]
    assert crypto.open_sealed(crypto.seal(b"x", "a"), "a") == b"x"


def manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENINTENT_VAULT")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_outside_development_the_server_refuses_to_start_without_a_vault_key(tmp_path):
    production = {"OPENINTENT_DEV": "0", "DJANGO_SECRET_KEY": "x" * 50, "OPENINTENT_VAR_DIR": str(tmp_path)}
    refused = manage("check", **production)
    assert refused.returncode != 0
    assert "agents.E001" in refused.stderr and "OPENINTENT_VAULT_KEYS" in refused.stderr
    assert not (tmp_path / "vault.key").exists()
    bad = manage("check", OPENINTENT_VAULT_KEYS="not-a-key", **production)
    assert bad.returncode != 0 and "not-a-key" not in bad.stderr
    # The way out is at hand: the command that prints a key runs without one.
    generated = manage("rotatevaultkey", "--generate", **production)
    assert generated.returncode == 0, generated.stderr
    accepted = manage("check", OPENINTENT_VAULT_KEYS=generated.stdout.strip(), **production)
    assert accepted.returncode == 0, accepted.stderr
    without_key = manage("rotatevaultkey", **production)
    assert without_key.returncode != 0 and "OPENINTENT_VAULT_KEYS" in without_key.stderr


def test_in_development_a_key_is_made_under_var_once(tmp_path):
    first = manage("check", OPENINTENT_VAR_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "vault.key"
    made = key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert manage("check", OPENINTENT_VAR_DIR=str(tmp_path)).returncode == 0
    assert key_file.read_text() == made


def test_a_server_process_started_on_its_own_refuses_to_serve_without_a_vault_key(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENINTENT_VAULT")}
    environment.update(
        {
            "OPENINTENT_DEV": "0",
            "DJANGO_SECRET_KEY": "x" * 50,
            "OPENINTENT_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "openintent_site.settings",
        }
    )
    with pytest.raises(RuntimeError, match="agents.E001"):
        start_server(environment)


def test_keys_can_come_from_a_file_after_the_listed_ones(settings, tmp_path):
    listed, filed = crypto.generate_key(), crypto.generate_key()
    key_file = tmp_path / "keys"
    key_file.write_text(f"# vault keys\n{filed}\n")
    settings.OPENINTENT_VAULT_KEYS = []
    settings.OPENINTENT_VAULT_KEY_FILE = str(key_file)
    sealed = crypto.seal(b"material", "credential-1")
    settings.OPENINTENT_VAULT_KEYS = [listed]
    # The listed key is now the newest; the file's still opens what it sealed.
    assert crypto.key_id_of_sealed(crypto.seal(b"x", "c")) != crypto.key_id_of_sealed(sealed)
    assert crypto.open_sealed(sealed, "credential-1") == b"material"
    with pytest.raises(crypto.SealBroken):
        crypto.open_sealed(sealed, "credential-2")
    settings.OPENINTENT_VAULT_KEY_FILE = str(tmp_path / "missing")
    with pytest.raises(ImproperlyConfigured, match="OPENINTENT_VAULT_KEY_FILE"):
        crypto.seal(b"x", "c")
