"""Tool grants (RFC-0014 §2, §5) through HTTP: scopes within the credential's, typed constraints, who may see and
manage a grant, suspension, delegation under the six rules of §5.1, and revocation cascading down the chain."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.vaults.models import VaultEvent
from tests.conftest import event_log, new_intent

from .tool_service import invoke, new_credential, new_grant, new_vault, register_tool, tool_service  # noqa: F401

SECRET = "sk_grant_tests_secret"


@pytest.fixture
def credential(api):
    return new_credential(api, new_vault(api)["id"], SECRET)


def delegate(client, grant_id, as_agent, **fields):
    return client.post(f"/api/v1/grants/{grant_id}/delegate", fields, format="json", HTTP_X_AGENT_ID=as_agent)


def test_a_grant_records_its_grantor_and_answers_every_field(api, credential):
    response = api.post(
        "/api/v1/grants",
        {
            "credential_id": credential["id"],
            "agent_id": "billing",
            "granted_by": "someone-else",
            "scopes": ["charges.read"],
            "constraints": {"max_invocations_per_hour": 2},
            "expires_at": "2030-01-01T00:00:00Z",
            "source": "delegated",
            "status": "suspended",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    grant = response.json()
    assert grant["granted_by"] == "agent-research"
    assert grant["source"] == "direct" and grant["status"] == "active"
    assert grant["delegatable"] is False and grant["delegation_depth"] == 0 and grant["delegated_from"] is None
    assert grant["expires_at"] == "2030-01-01T00:00:00.000000+00:00"
    assert grant["service"] == "acme" and grant["credential_id"] == credential["id"]
    assert api.get(f"/api/v1/grants/{grant['id']}").json() == grant
    assert api.get("/api/v1/agents/billing/grants").json() == [grant]
    assert api.get("/api/v1/grants", {"agent_id": "billing"}).json() == [grant]


def test_scopes_must_be_within_what_the_credential_offers(api, credential):
    response = api.post(
        "/api/v1/grants",
        {"credential_id": credential["id"], "agent_id": "a", "granted_by": "x", "scopes": ["admin.everything"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["requested_scopes"] == ["admin.everything"]
    open_credential = new_credential(api, new_vault(api)["id"], SECRET, scopes_available=[])
    assert new_grant(api, open_credential["id"], scopes=["web_search"])["scopes"] == ["web_search"]


@pytest.mark.parametrize(
    "fields, loc",
    [
        ({"constraints": []}, ["body", "constraints"]),
        ({"constraints": {"max_invocations_per_hour": -1}}, ["body", "constraints"]),
        ({"constraints": {"denied_parameters": {"a": 1}}}, ["body", "constraints"]),
        ({"context": None}, ["body", "context"]),
        ({"expires_at": "garbage"}, ["body", "expires_at"]),
        ({"scopes": "charges.read"}, ["body", "scopes"]),
    ],
)
def test_malformed_grants_are_refused_naming_the_field(api, credential, fields, loc):
    response = api.post(
        "/api/v1/grants",
        {"credential_id": credential["id"], "agent_id": "a", "granted_by": "x", **fields},
        format="json",
    )
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc


def test_grants_are_seen_by_their_owner_holder_and_grantor_only(api, other_api, credential):
    grant = new_grant(api, credential["id"], agent_id="agent-synth")
    assert other_api.get(f"/api/v1/grants/{grant['id']}").status_code == 200  # agent-synth holds it
    third = new_grant(api, credential["id"], agent_id="agent-third")
    assert other_api.get(f"/api/v1/grants/{third['id']}").status_code == 404
    missing = other_api.post(
        "/api/v1/grants",
        {"credential_id": credential["id"], "agent_id": "agent-synth", "granted_by": "me"},
        format="json",
    )
    assert missing.status_code == 404 and missing.json()["detail"] == "Credential not found"
    # The holder may give up its grant, but not suspend it.
    assert other_api.patch(f"/api/v1/grants/{grant['id']}/suspend", {}, format="json").status_code == 403
    assert other_api.delete(f"/api/v1/grants/{grant['id']}").status_code == 200


def test_revoking_twice_keeps_the_first_revocation(api, credential):
    grant = new_grant(api, credential["id"])
    first = api.delete(f"/api/v1/grants/{grant['id']}")
    assert first.json() == {"status": "revoked", "grant_id": grant["id"], "revoked_count": 1}
    revoked_at = api.get(f"/api/v1/grants/{grant['id']}").json()["revoked_at"]
    second = api.delete(f"/api/v1/grants/{grant['id']}")
    assert second.status_code == 200 and second.json()["revoked_count"] == 0
    assert api.get(f"/api/v1/grants/{grant['id']}").json()["revoked_at"] == revoked_at
    assert api.delete("/api/v1/grants/nope").status_code == 404


def test_suspension_stops_calls_until_resumed(api, credential, tool_service):  # noqa: F811
    register_tool(api, tool_service.url)
    grant = new_grant(api, credential["id"])
    suspended = api.patch(f"/api/v1/grants/{grant['id']}/suspend", {"reason": "audit"}, format="json")
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    refused = invoke(api, "charges.read", parameters={"charge_id": "a"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "GRANT_SUSPENDED"
    assert api.patch(f"/api/v1/grants/{grant['id']}/suspend", {}, format="json").status_code == 409
    resumed = api.patch(f"/api/v1/grants/{grant['id']}/resume", {}, format="json")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert api.patch(f"/api/v1/grants/{grant['id']}/resume", {}, format="json").status_code == 409
    assert invoke(api, "charges.read", parameters={"charge_id": "a"}).status_code == 200
    assert tool_service.received("/echo") and len(tool_service.requests) == 1
    kinds = list(VaultEvent.objects.filter(grant_id=grant["id"]).order_by("id").values_list("event_type", flat=True))
    assert kinds == ["grant.created", "grant.suspended", "grant.resumed"]


# Delegation ---------------------------------------------------------------------------------------------------


@pytest.fixture
def coordinator_grant(api, credential):
    return new_grant(
        api,
        credential["id"],
        agent_id="coordinator",
        scopes=["charges.read", "charges.create"],
        delegatable=True,
        delegation_depth=2,
        constraints={"max_invocations_per_hour": 10, "allowed_parameters": {"currency": ["usd", "eur"]}},
        expires_at=(timezone.now() + timedelta(days=1)).isoformat(),
    )


def test_a_delegation_narrows_the_source_and_decrements_the_depth(api, coordinator_grant):
    response = delegate(
        api,
        coordinator_grant["id"],
        "coordinator",
        target_agent_id="worker",
        scopes=["charges.read"],
        constraints={"max_invocations_per_hour": 5, "allowed_parameters": {"currency": ["usd"]}},
        context={"task_id": "task-1"},
        delegatable=True,
    )
    assert response.status_code == 200, response.content
    grant = response.json()
    assert grant["source"] == "delegated" and grant["delegated_from"] == coordinator_grant["id"]
    assert grant["agent_id"] == "worker" and grant["granted_by"] == "coordinator"
    assert grant["scopes"] == ["charges.read"] and grant["delegation_depth"] == 1 and grant["delegatable"] is True
    assert grant["constraints"]["max_invocations_per_hour"] == 5
    assert grant["constraints"]["allowed_parameters"] == {"currency": ["usd"]}
    assert grant["expires_at"] == coordinator_grant["expires_at"]
    assert grant["context"] == {"task_id": "task-1"}
    # One level further, the depth reaches 0: no more delegation.
    last = delegate(api, grant["id"], "worker", target_agent_id="sub-worker", delegatable=True)
    assert last.status_code == 200, last.content
    assert last.json()["delegation_depth"] == 0 and last.json()["delegatable"] is False
    assert delegate(api, last.json()["id"], "sub-worker", target_agent_id="x").status_code == 400
    granted = api.get("/api/v1/tools/granted", {"agent_id": "worker"}).json()["tools"]
    assert granted[0]["source"] == "delegated" and granted[0]["delegated_from"] == "coordinator"


@pytest.mark.parametrize(
    "fields",
    [
        {"scopes": ["refunds.create"]},
        {"constraints": {"max_invocations_per_hour": 50}},
        {"constraints": {"max_invocations_per_hour": None}},
        {"constraints": {"allowed_parameters": {"currency": ["usd", "jpy"]}}},
        {"expires_at": (timezone.now() + timedelta(days=30)).isoformat()},
    ],
)
def test_a_delegation_never_exceeds_its_source(api, coordinator_grant, fields):
    response = delegate(api, coordinator_grant["id"], "coordinator", target_agent_id="worker", **fields)
    assert response.status_code == 400, response.content


def test_only_the_holder_or_owner_delegates_and_only_a_delegatable_grant(api, other_api, credential, coordinator_grant):
    assert delegate(other_api, coordinator_grant["id"], "agent-synth", target_agent_id="w").status_code == 404
    plain = new_grant(api, credential["id"], agent_id="plain")
    refused = delegate(api, plain["id"], "plain", target_agent_id="w")
    assert refused.status_code == 400 and refused.json()["detail"] == "Grant is not delegatable"
    missing = delegate(api, coordinator_grant["id"], "coordinator")
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "target_agent_id"]


def test_a_bound_source_keeps_its_delegations_within_its_binding(api, credential):
    intent = new_intent(api, "Bound")
    source = new_grant(api, credential["id"], agent_id="lead", delegatable=True, context={"intent_id": intent["id"]})
    inherited = delegate(api, source["id"], "lead", target_agent_id="w")
    assert inherited.json()["context"] == {"intent_id": intent["id"]}
    other = delegate(api, source["id"], "lead", target_agent_id="w", context={"intent_id": "elsewhere"})
    assert other.status_code == 400
    kinds = [event["event_type"] for event in event_log(api, intent["id"])]
    assert kinds.count("grant.created") == 1 and kinds.count("grant.delegated") == 1


def test_revocation_cascades_down_the_whole_chain_at_once(api, credential, coordinator_grant, tool_service):  # noqa: F811
    register_tool(api, tool_service.url)
    child = delegate(api, coordinator_grant["id"], "coordinator", target_agent_id="worker", delegatable=True).json()
    grandchild = delegate(api, child["id"], "worker", target_agent_id="sub").json()
    assert invoke(api, "charges.read", agent_id="sub", parameters={"charge_id": "a"}).status_code == 200
    response = api.delete(f"/api/v1/grants/{coordinator_grant['id']}")
    assert response.json()["revoked_count"] == 3
    for grant in (coordinator_grant, child, grandchild):
        assert api.get(f"/api/v1/grants/{grant['id']}").json()["status"] == "revoked"
    refused = invoke(api, "charges.read", agent_id="sub", parameters={"charge_id": "a"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "GRANT_REVOKED"
    revoked = VaultEvent.objects.filter(event_type="grant.revoked").order_by("id")
    assert {event.payload["grant_id"] for event in revoked} == {coordinator_grant["id"], child["id"], grandchild["id"]}


def test_a_suspended_source_stops_its_delegations_too(api, coordinator_grant, tool_service):  # noqa: F811
    register_tool(api, tool_service.url)
    delegate(api, coordinator_grant["id"], "coordinator", target_agent_id="worker")
    api.patch(f"/api/v1/grants/{coordinator_grant['id']}/suspend", {}, format="json")
    refused = invoke(api, "charges.read", agent_id="worker", parameters={"charge_id": "a"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "GRANT_REVOKED"
    assert tool_service.requests == []


def test_recorded_invocations_need_a_grant_and_are_listed_newest_first(api, credential):
    grant = new_grant(api, credential["id"])
    bodies = [
        {
            "grant_id": grant["id"],
            "service": "acme",
            "tool": "charges.read",
            "agent_id": "agent-worker",
            "parameters": {"n": index},
            "status": "success",
            "duration_ms": 12,
            "cost": {"usd": 0.01},
        }
        for index in range(3)
    ]
    ids = [api.post("/api/v1/invocations", body, format="json").json()["id"] for body in bodies]
    listed = api.get(f"/api/v1/grants/{grant['id']}/invocations", {"limit": 2}).json()
    assert [row["id"] for row in listed] == ids[::-1][:2]
    assert listed[0]["invocation_id"] == listed[0]["id"] and listed[0]["origin"] == "recorded"
    assert len(api.get(f"/api/v1/grants/{grant['id']}/invocations", {"limit": -1}).json()) == 3
    bad = api.post("/api/v1/invocations", {**bodies[0], "status": "bogus"}, format="json")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "status"]
    unknown = api.post("/api/v1/invocations", {**bodies[0], "grant_id": "nope"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Grant not found"
    filtered = api.get("/api/v1/invocations", {"agent_id": "agent-worker", "status": "success"}).json()
    assert len(filtered) == 3
    assert api.get("/api/v1/invocations", {"status": "denied"}).json() == []


@pytest.mark.parametrize("event_type", ["grant.revoked", "tool.invoked", "credential.rotated"])
def test_vault_events_cannot_be_forged_by_clients(api, event_type):
    intent = new_intent(api, "Audited")
    response = api.post(
        f"/api/v1/intents/{intent['id']}/events", {"event_type": event_type, "payload": {}}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "event_type"]


def test_the_expiry_job_records_lapsed_grants_and_credentials(api, settings, tool_service):  # noqa: F811
    from agents.tasks import expire_tool_grants
    from agents.vaults.models import Credential

    intent = new_intent(api, "Time-boxed")
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    credential = new_credential(api, new_vault(api)["id"], SECRET)
    register_tool(api, tool_service.url)
    lapsed = new_grant(api, credential["id"], agent_id="late", expires_at=past, context={"intent_id": intent["id"]})
    current = new_grant(api, credential["id"], agent_id="on-time")
    beat = settings.CELERY_BEAT_SCHEDULE["expire-tool-grants"]
    assert beat["task"] == expire_tool_grants.name

    assert expire_tool_grants() == 1
    assert expire_tool_grants() == 0
    assert api.get(f"/api/v1/grants/{lapsed['id']}").json()["status"] == "expired"
    assert api.get(f"/api/v1/grants/{current['id']}").json()["status"] == "active"
    expired = [event for event in event_log(api, intent["id"]) if event["event_type"] == "grant.expired"]
    assert [(event["actor"], event["payload"]) for event in expired] == [("system", {"grant_id": lapsed["id"]})]

    # A credential whose time ran out is recorded expired; a rotation with time left re-provisions it.
    Credential.objects.filter(pk=credential["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_tool_grants() == 1
    assert VaultEvent.objects.filter(event_type="credential.expired", credential_id=credential["id"]).exists()
    refused = invoke(api, "charges.read", agent_id="on-time", parameters={"charge_id": "a"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "CREDENTIAL_EXPIRED"
    renewed = api.patch(
        f"/api/v1/credentials/{credential['id']}/rotate",
        {"material": "sk_renewed_material", "expires_at": (timezone.now() + timedelta(days=1)).isoformat()},
        format="json",
    )
    assert renewed.json()["status"] == "active"
    assert invoke(api, "charges.read", agent_id="on-time", parameters={"charge_id": "a"}).status_code == 200
