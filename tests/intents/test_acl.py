import pytest


@pytest.fixture
def closed_intent(api):
    intent = api.post("/api/v1/intents", {"title": "Secret plan"}, format="json").json()
    response = api.put(f"/api/v1/intents/{intent['id']}/acl", {"default_policy": "closed"}, format="json")
    assert response.status_code == 200
    return intent


def test_an_intent_without_acl_is_open_to_every_principal(api, other_api):
    intent = api.post("/api/v1/intents", {"title": "Shared"}, format="json").json()
    acl = other_api.get(f"/api/v1/intents/{intent['id']}/acl").json()
    assert acl == {"intent_id": intent["id"], "default_policy": "open", "entries": []}
    patched = other_api.post(
        f"/api/v1/intents/{intent['id']}/state", {"state": {"a": 1}}, format="json", HTTP_IF_MATCH="1"
    )
    assert patched.status_code == 200


@pytest.mark.parametrize(
    ("method", "suffix", "payload", "needed"),
    [
        ("get", "", None, "read"),
        ("get", "/events", None, "read"),
        ("get", "/leases", None, "read"),
        ("get", "/graph", None, "read"),
        ("get", "/decisions", None, "read"),
        ("post", "/state", {"state": {"x": 1}}, "write"),
        ("post", "/events", {"event_type": "comment", "payload": {}}, "write"),
        ("post", "/leases", {"scope": "s"}, "write"),
        ("post", "/arbitrate", {"reason": "r"}, "write"),
        ("post", "/status", {"status": "abandoned"}, "admin"),
        ("post", "/children", {"title": "c"}, "admin"),
        ("post", "/agents", {"agent_id": "x"}, "admin"),
        ("put", "/acl", {"default_policy": "open"}, "admin"),
        ("post", "/acl/entries", {"principal_id": "agent-synth", "permission": "admin"}, "admin"),
        ("get", "/access-requests", None, "admin"),
    ],
)
def test_a_second_principal_is_refused_on_a_closed_intent_and_nothing_changes(
    api, other_api, closed_intent, method, suffix, payload, needed
):
    url = f"/api/v1/intents/{closed_intent['id']}{suffix}"
    before = api.get(f"/api/v1/intents/{closed_intent['id']}/events?limit=1000").json()
    response = getattr(other_api, method)(url, payload, format="json", HTTP_IF_MATCH="1")
    assert response.status_code == 403
    assert response.json()["required_permission"] == needed
    assert needed in response.json()["detail"]
    after = api.get(f"/api/v1/intents/{closed_intent['id']}/events?limit=1000").json()
    assert after == before
    assert api.get(f"/api/v1/intents/{closed_intent['id']}/acl").json()["default_policy"] == "closed"


def test_closed_intents_are_left_out_of_other_principals_lists(api, other_api, closed_intent):
    visible = [intent["id"] for intent in other_api.get("/api/v1/intents").json()["intents"]]
    assert closed_intent["id"] not in visible
    assert closed_intent["id"] in [intent["id"] for intent in api.get("/api/v1/intents").json()["intents"]]


def test_grants_are_cumulative_levels(api, other_api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    grant = api.post(f"{url}/acl/entries", {"principal_id": "agent-synth", "permission": "read"}, format="json")
    assert grant.status_code == 200
    assert grant.json()["granted_by"] == "agent-research"
    assert other_api.get(url).status_code == 200
    assert other_api.post(f"{url}/state", {"state": {"a": 1}}, format="json", HTTP_IF_MATCH="1").status_code == 403

    api.post(f"{url}/acl/entries", {"principal_id": "agent-synth", "permission": "write"}, format="json")
    assert other_api.post(f"{url}/state", {"state": {"a": 1}}, format="json", HTTP_IF_MATCH="1").status_code == 200
    entries = api.get(f"{url}/acl").json()["entries"]
    assert [(entry["principal_id"], entry["permission"]) for entry in entries] == [("agent-synth", "write")]


def test_expired_grants_count_for_nothing(api, other_api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    api.post(
        f"{url}/acl/entries",
        {"principal_id": "agent-synth", "permission": "read", "expires_at": "2001-01-01T00:00:00Z"},
        format="json",
    )
    assert other_api.get(url).status_code == 403


def test_revoking_an_entry_removes_access_and_ends_the_principals_leases(api, other_api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    entry = api.post(f"{url}/acl/entries", {"principal_id": "agent-synth", "permission": "write"}, format="json")
    lease = other_api.post(f"{url}/leases", {"scope": "draft"}, format="json").json()
    assert lease["status"] == "active"

    response = api.delete(f"{url}/acl/entries/{entry.json()['id']}")
    assert response.status_code == 204
    assert other_api.get(url).status_code == 403
    leases = api.get(f"{url}/leases?include=all").json()["leases"]
    assert [item["status"] for item in leases] == ["revoked"]
    types = [event["event_type"] for event in api.get(f"{url}/events").json()]
    assert "access_revoked" in types
    assert api.delete(f"{url}/acl/entries/{entry.json()['id']}").status_code == 404


def test_put_acl_replaces_entries_and_validates_values(api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}/acl"
    body = {
        "default_policy": "closed",
        "entries": [{"principal_id": "a", "permission": "read"}, {"principal_id": "b", "permission": "admin"}],
    }
    assert api.put(url, body, format="json").status_code == 200
    body["entries"] = [{"principal_id": "b", "permission": "write"}]
    acl = api.put(url, body, format="json").json()
    assert [(entry["principal_id"], entry["permission"]) for entry in acl["entries"]] == [("b", "write")]

    bad = api.put(
        url, {"default_policy": "closed", "entries": [{"principal_id": "c", "permission": "root"}]}, format="json"
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "entries", 0, "permission"]
    assert api.put(url, {"default_policy": "bogus"}, format="json").status_code == 422
    assert [entry["principal_id"] for entry in api.get(url).json()["entries"]] == ["b"]


def test_access_request_approval_lets_the_principal_in(api, other_api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    assert other_api.get(url).status_code == 403
    asked = other_api.post(
        f"{url}/access-requests",
        {"principal_id": "someone-else", "requested_permission": "write", "reason": "need to help"},
        format="json",
    )
    assert asked.status_code == 200
    access_request = asked.json()
    assert access_request["principal_id"] == "agent-synth"
    assert access_request["status"] == "pending"

    pending = api.get(f"{url}/access-requests?status=pending").json()["access_requests"]
    assert [item["id"] for item in pending] == [access_request["id"]]
    assert other_api.post(f"{url}/access-requests/{access_request['id']}/approve", {}, format="json").status_code == 403

    approved = api.post(f"{url}/access-requests/{access_request['id']}/approve", {"reason": "ok"}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "agent-research"
    assert other_api.post(f"{url}/state", {"state": {"a": 1}}, format="json", HTTP_IF_MATCH="1").status_code == 200

    again = api.post(f"{url}/access-requests/{access_request['id']}/deny", {}, format="json")
    assert again.status_code == 409
    types = [event["event_type"] for event in api.get(f"{url}/events").json()]
    assert {"access_requested", "access_request_approved", "access_granted"} <= set(types)


def test_denied_access_request_grants_nothing(api, other_api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    access_request = other_api.post(f"{url}/access-requests", {"requested_permission": "read"}, format="json").json()
    denied = api.post(f"{url}/access-requests/{access_request['id']}/deny", {"reason": "no"}, format="json")
    assert denied.json()["status"] == "denied"
    assert denied.json()["decision_reason"] == "no"
    assert other_api.get(url).status_code == 403
    assert api.get(f"{url}/acl").json()["entries"] == []


def test_the_list_filter_admits_exactly_the_intents_the_permission_check_admits(db):
    """readable_by (SQL, for lists) and permission_of (per intent) agree on every combination of policy, creator,
    grant (in force, expired, for someone else) and assignment, also inside a subquery as portfolios use it."""
    from datetime import timedelta
    from itertools import product

    from django.utils import timezone

    from intents.access.policy import permission_of, readable_by
    from intents.models import AccessPolicy, ACLEntry, AgentAssignment, Intent

    past = timezone.now() - timedelta(days=1)
    future = timezone.now() + timedelta(days=1)
    grants = [None, ("me", None), ("me", future), ("me", past), ("someone", None)]
    for policy, creator, grant, assigned in product(
        [None, "open", "closed", "restricted", "private"], ["me", "other"], grants, [None, "me", "someone"]
    ):
        intent = Intent.objects.create(title=f"{policy} {creator} {grant} {assigned}", created_by=creator)
        if policy:
            AccessPolicy.objects.create(intent=intent, default_policy=policy, updated_by=creator)
        if grant:
            ACLEntry.objects.create(intent=intent, principal_id=grant[0], expires_at=grant[1], granted_by=creator)
        if assigned:
            AgentAssignment.objects.create(intent=intent, agent_id=assigned)

    everything = Intent.objects.select_related("access_policy")
    expected = {intent.pk for intent in everything if permission_of(intent, "me")}
    assert 0 < len(expected) < everything.count()
    assert set(Intent.objects.filter(readable_by("me")).values_list("pk", flat=True)) == expected
    nested = Intent.objects.filter(pk__in=Intent.objects.filter(readable_by("me")).values("pk"))
    assert set(nested.values_list("pk", flat=True)) == expected
