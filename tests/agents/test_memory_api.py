"""Agent memory over HTTP (RFC-0015): entries, uniqueness, versions, validation, ownership and sharing, queries,
batches, namespaces and the summary."""

import pytest

from agents.models import MemoryEntry, MemoryEvent, MemoryGrant
from intents.models import AccessPolicy
from openintent_site.models import ApiKey
from tests.conftest import client_for, new_intent

RESEARCH, SYNTH = "agent-research", "agent-synth"


def entry_body(**fields):
    return {"agent_id": RESEARCH, "namespace": "invoices", "key": "progress", "value": {"done": 1}, **fields}


def create(client, expected=200, **fields):
    response = client.post("/api/v1/memory", entry_body(**fields), format="json")
    assert response.status_code == expected, response.content
    return response.json()


def patch(client, entry_id, data, if_match):
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    return client.patch(f"/api/v1/memory/{entry_id}", data, format="json", **headers)


def as_agent(agent_id, key="agent-research-key"):
    client = client_for(key)
    client.credentials(HTTP_X_API_KEY=key, HTTP_X_AGENT_ID=agent_id)
    return client


@pytest.fixture
def admin_api(keys, django_user_model):
    staff = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    api_key = ApiKey(user=staff, name="test")
    api_key.set_key("operator-key")
    api_key.save()
    return client_for("operator-key")


def register_with_role(agent_id, role_id):
    response = as_agent(agent_id).post(
        "/api/v1/agents/register", {"agent_id": agent_id, "name": agent_id, "role_id": role_id}, format="json"
    )
    assert response.status_code == 200, response.content


# Entries ---------------------------------------------------------------------------------------------------------


def test_a_created_entry_has_the_0_9_1_shape_and_its_defaults(api):
    entry = create(api, scope={"task_id": "t-1", "intent_id": "i-1"}, tags=["batch"], ttl="task_lifetime")

    assert entry["agent_id"] == RESEARCH
    assert (entry["namespace"], entry["key"], entry["value"]) == ("invoices", "progress", {"done": 1})
    assert (entry["memory_type"], entry["priority"], entry["version"]) == ("working", "normal", 1)
    assert (entry["pinned"], entry["sensitivity"], entry["curated_by"], entry["expires_at"]) == (
        False,
        None,
        None,
        None,
    )
    assert entry["scope"] == {"task_id": "t-1", "intent_id": "i-1"}
    assert entry["tags"] == ["batch"]
    assert entry["ttl"] == "task_lifetime"
    assert api.get(f"/api/v1/memory/{entry['id']}").json()["value"] == {"done": 1}


def test_the_owner_defaults_to_the_acting_agent(keys):
    body = {"namespace": "n", "key": "k", "value": {}}
    response = as_agent("worker-7").post("/api/v1/memory", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["agent_id"] == "worker-7"


def test_a_duplicate_create_is_a_conflict_carrying_the_current_version(api):
    first = create(api)
    patch(api, first["id"], {"value": {"done": 2}}, "1")

    response = api.post("/api/v1/memory", entry_body(memory_type="episodic"), format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "Memory entry already exists"
    assert (body["entry_id"], body["current_version"]) == (first["id"], 2)
    assert body["current"]["value"] == {"done": 2}
    assert MemoryEntry.objects.count() == 1


def test_the_same_key_in_another_agents_memory_is_another_entry(api, other_api):
    create(api)
    create(other_api, agent_id=SYNTH)

    assert MemoryEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("memory_type", "long_term", "'working', 'episodic' or 'semantic'"),
        ("priority", "urgent", "'low', 'normal' or 'high'"),
        ("sensitivity", "top-secret", "'public', 'internal', 'confidential' or 'restricted'"),
    ],
)
def test_an_enum_value_outside_its_list_is_a_422_naming_the_field_and_the_values(api, field, value, allowed):
    response = api.post("/api/v1/memory", entry_body(**{field: value}), format="json")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert error["type"] == "enum"
    assert allowed in error["msg"]
    assert not MemoryEntry.objects.exists()


def test_an_enum_value_outside_its_list_is_refused_on_update_too(api):
    entry = create(api)

    response = patch(api, entry["id"], {"priority": "urgent"}, "1")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "priority"]
    assert MemoryEntry.objects.get().priority == "normal"


@pytest.mark.parametrize(
    ("fields", "loc", "kind"),
    [
        ({"value": [1, 2]}, ["body", "value"], "dict_type"),
        ({"value": "text"}, ["body", "value"], "dict_type"),
        ({"tags": None}, ["body", "tags"], "missing"),
        ({"scope": []}, ["body", "scope"], "dict_type"),
        ({"scope": {"task_id": 5}}, ["body", "scope", "task_id"], "value_error"),
        ({"ttl": "forever"}, ["body", "ttl"], "value_error"),
        ({"ttl": "duration:P1M"}, ["body", "ttl"], "value_error"),
        ({"key": ""}, ["body", "key"], "string_too_short"),
        ({"value": {"blob": "x" * 70_000}}, ["body", "value"], "too_long"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api, fields, loc, kind):
    response = api.post("/api/v1/memory", entry_body(**fields), format="json")

    assert response.status_code == 422, response.content
    error = response.json()["detail"][0]
    assert (error["loc"], error["type"]) == (loc, kind)
    assert not MemoryEntry.objects.exists()


def test_a_missing_value_is_a_422(api):
    body = entry_body()
    del body["value"]

    response = api.post("/api/v1/memory", body, format="json")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "value"]


def test_a_duration_ttl_sets_the_expiry_and_expires_at_takes_precedence(api):
    timed = create(api, key="timed", ttl="duration:PT24H")
    fixed = create(api, key="fixed", ttl="duration:PT24H", expires_at="2031-01-01T00:00:00Z")

    stored = MemoryEntry.objects.get(pk=timed["id"])
    assert (stored.expires_at - stored.created_at).total_seconds() == 24 * 3600
    assert fixed["expires_at"] == "2031-01-01T00:00:00.000000+00:00"


# Versioned updates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("if_match", ["1", '"1"', 'W/"1"'])
def test_an_update_takes_each_spelling_of_the_version(api, if_match):
    entry = create(api, tags=["a"])

    response = patch(api, entry["id"], {"value": {"c": 3}, "tags": [], "pinned": None}, if_match)

    assert response.status_code == 200, response.content
    updated = response.json()
    assert (updated["version"], updated["value"], updated["tags"]) == (2, {"c": 3}, [])
    assert updated["updated_at"] > entry["updated_at"]


def test_null_or_absent_fields_are_left_unchanged(api):
    entry = create(api, ttl="task_lifetime", priority="high", pinned=True)

    updated = patch(api, entry["id"], {"ttl": None, "priority": None, "value": None}, "1").json()

    assert (updated["ttl"], updated["priority"], updated["pinned"], updated["value"]) == (
        "task_lifetime",
        "high",
        True,
        {"done": 1},
    )
    assert updated["version"] == 2


@pytest.mark.parametrize("if_match", [None, "", "abc", "1.5", "*"])
def test_an_update_without_a_readable_version_is_a_428(api, if_match):
    entry = create(api)

    response = patch(api, entry["id"], {"value": {}}, if_match)

    assert response.status_code == 428
    if not if_match:
        assert response.json()["detail"] == "If-Match header required"
    assert MemoryEntry.objects.get().version == 1


def test_a_stale_version_is_a_409_with_the_current_entry(api):
    entry = create(api)
    patch(api, entry["id"], {"value": {"v": 2}}, "1")

    response = patch(api, entry["id"], {"value": {"v": "lost"}}, "1")

    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "Version conflict or entry not found"
    assert body["current_version"] == 2
    assert body["current"]["value"] == {"v": 2}


def test_an_unknown_entry_is_a_409_on_update_as_in_0_9_1(api):
    response = patch(api, "00000000-0000-4000-8000-000000000000", {"value": {}}, "1")

    assert response.status_code == 409
    assert response.json()["detail"] == "Version conflict or entry not found"
    assert "current_version" not in response.json()


def test_a_delete_is_immediate_and_a_repeat_is_404(api):
    entry = create(api)

    response = api.delete(f"/api/v1/memory/{entry['id']}")

    assert response.status_code == 200
    assert response.json() == {"status": "deleted", "entry_id": entry["id"]}
    assert api.get(f"/api/v1/memory/{entry['id']}").status_code == 404
    assert api.delete(f"/api/v1/memory/{entry['id']}").json()["detail"] == "Memory entry not found"


def test_a_delete_with_a_stale_if_match_is_refused(api):
    entry = create(api)
    patch(api, entry["id"], {"value": {}}, "1")

    response = api.delete(f"/api/v1/memory/{entry['id']}", HTTP_IF_MATCH="1")

    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    assert MemoryEntry.objects.exists()


def test_every_change_is_logged_without_the_value_and_on_the_scoped_intent(api):
    intent = new_intent(api)
    entry = create(api, scope={"intent_id": intent["id"]}, value={"secret": "s3cr3t"})
    patch(api, entry["id"], {"tags": ["t"]}, "1")
    api.delete(f"/api/v1/memory/{entry['id']}")

    logged = [event.event_type for event in MemoryEvent.objects.order_by("id")]
    assert logged == ["memory.created", "memory.updated", "memory.deleted"]
    events = api.get(f"/api/v1/intents/{intent['id']}/events").json()
    memory_events = [event for event in events if event["event_type"].startswith("memory.")]
    assert sorted(event["event_type"] for event in memory_events) == sorted(logged)
    updated = next(event for event in memory_events if event["event_type"] == "memory.updated")
    assert (updated["payload"]["version"], updated["payload"]["previous_version"]) == (2, 1)
    assert "s3cr3t" not in str(events)
    assert "s3cr3t" not in str(api.get(f"/api/v1/agents/{RESEARCH}/memory/events").json())


def test_an_intent_its_agent_may_not_write_to_gets_no_memory_events(api, other_api):
    intent = new_intent(api)
    AccessPolicy.objects.create(intent_id=intent["id"], default_policy="closed", updated_by=RESEARCH)

    create(other_api, agent_id=SYNTH, scope={"intent_id": intent["id"]})
    create(api, key="own", scope={"intent_id": intent["id"]})

    logged = [event["event_type"] for event in api.get(f"/api/v1/intents/{intent['id']}/events").json()]
    assert logged.count("memory.created") == 1
    assert MemoryEvent.objects.filter(event_type="memory.created").count() == 2


# Ownership and sharing -------------------------------------------------------------------------------------------


def test_another_agents_entries_are_invisible_and_untouchable(api, other_api):
    entry = create(api)
    url = f"/api/v1/memory/{entry['id']}"

    assert other_api.get(url).status_code == 404
    assert patch(other_api, entry["id"], {"value": {}}, "1").status_code == 409
    assert other_api.delete(url).status_code == 404
    assert other_api.get(f"/api/v1/agents/{RESEARCH}/memory").json() == []
    assert other_api.get("/api/v1/memory", {"agent_id": RESEARCH}).json()["total"] == 0
    assert MemoryEntry.objects.get().version == 1


def test_writing_another_agents_memory_is_refused(other_api):
    response = other_api.post("/api/v1/memory", entry_body(), format="json")

    assert response.status_code == 403
    assert response.json()["agent_id"] == RESEARCH
    assert not MemoryEntry.objects.exists()


def test_agents_sharing_a_key_each_own_their_memory(keys):
    first, second = as_agent("worker-1"), as_agent("worker-2")
    entry = create(first, agent_id="worker-1")

    assert first.get(f"/api/v1/memory/{entry['id']}").status_code == 200
    assert second.get(f"/api/v1/memory/{entry['id']}").status_code == 404
    assert second.post("/api/v1/memory", entry_body(agent_id="worker-1", key="x"), format="json").status_code == 403


def test_an_administrator_reads_every_entry_but_writes_none(api, admin_api):
    entry = create(api)

    assert admin_api.get(f"/api/v1/memory/{entry['id']}").status_code == 200
    assert [e["id"] for e in admin_api.get(f"/api/v1/agents/{RESEARCH}/memory").json()] == [entry["id"]]
    assert patch(admin_api, entry["id"], {"value": {}}, "1").status_code == 403
    assert admin_api.delete(f"/api/v1/memory/{entry['id']}").status_code == 403
    assert admin_api.get(f"/api/v1/agents/{RESEARCH}/memory/summary").status_code == 200


def test_the_operators_own_keys_read_every_entry_unless_acting_for_an_agent(api, settings):
    settings.OPENINTENT_API_KEYS = ["ops=ops-key"]
    entry = create(api)

    assert client_for("ops-key").get(f"/api/v1/memory/{entry['id']}").status_code == 200
    assert as_agent("someone", "ops-key").get(f"/api/v1/memory/{entry['id']}").status_code == 404


def test_an_expired_grant_shares_nothing(api, other_api):
    entry = create(api)
    api.post(f"/api/v1/agents/{RESEARCH}/memory/grants", {"agent_id": SYNTH}, format="json")
    assert other_api.get(f"/api/v1/memory/{entry['id']}").status_code == 200

    MemoryGrant.objects.update(expires_at="2001-01-01T00:00:00Z")

    assert other_api.get(f"/api/v1/memory/{entry['id']}").status_code == 404
    assert other_api.get(f"/api/v1/agents/{RESEARCH}/memory").json() == []


def test_a_read_grant_shares_reading_only(api, other_api):
    entry = create(api, namespace="shared.notes")
    hidden = create(api, namespace="private", key="other")

    response = api.post(
        f"/api/v1/agents/{RESEARCH}/memory/grants", {"agent_id": SYNTH, "namespace": "shared.*"}, format="json"
    )

    assert response.status_code == 200, response.content
    grant = response.json()
    assert (grant["owner_id"], grant["agent_id"], grant["access"]) == (RESEARCH, SYNTH, "read")
    assert other_api.get(f"/api/v1/memory/{entry['id']}").status_code == 200
    assert other_api.get(f"/api/v1/memory/{hidden['id']}").status_code == 404
    assert [e["id"] for e in other_api.get(f"/api/v1/agents/{RESEARCH}/memory").json()] == [entry["id"]]
    assert patch(other_api, entry["id"], {"value": {}}, "1").status_code == 403

    assert api.delete(f"/api/v1/agents/{RESEARCH}/memory/grants/{grant['id']}").status_code == 200
    assert other_api.get(f"/api/v1/memory/{entry['id']}").status_code == 404


def test_a_write_grant_lets_the_grantee_update_and_create(api, other_api):
    entry = create(api, memory_type="working")
    api.post(
        f"/api/v1/agents/{RESEARCH}/memory/grants",
        {"agent_id": SYNTH, "access": "write", "memory_type": "working"},
        format="json",
    )

    assert patch(other_api, entry["id"], {"value": {"by": SYNTH}}, "1").status_code == 200
    assert other_api.post("/api/v1/memory", entry_body(key="new"), format="json").status_code == 200
    assert (
        other_api.post("/api/v1/memory", entry_body(key="e", memory_type="episodic"), format="json").status_code == 403
    )


def test_only_the_owner_shares_its_memory(api, other_api):
    response = other_api.post(f"/api/v1/agents/{RESEARCH}/memory/grants", {"agent_id": SYNTH}, format="json")

    assert response.status_code == 403
    assert other_api.get(f"/api/v1/agents/{RESEARCH}/memory/grants").status_code == 403


def test_episodic_memory_scoped_to_a_role_is_shared_with_that_roles_agents(keys):
    for agent_id, role_id in {"billing-1": "billing", "billing-2": "billing", "support-1": "support"}.items():
        register_with_role(agent_id, role_id)
    first = as_agent("billing-1")
    learned = create(first, agent_id="billing-1", memory_type="episodic", scope={"agent_role_id": "billing"})
    working = create(first, agent_id="billing-1", key="w", scope={"agent_role_id": "billing"})
    private = create(first, agent_id="billing-1", key="p", memory_type="episodic")

    replacement, stranger = as_agent("billing-2"), as_agent("support-1")
    assert replacement.get(f"/api/v1/memory/{learned['id']}").status_code == 200
    assert patch(replacement, learned["id"], {"value": {"more": 1}}, "1").status_code == 200
    assert replacement.get(f"/api/v1/memory/{working['id']}").status_code == 404
    assert replacement.get(f"/api/v1/memory/{private['id']}").status_code == 404
    assert stranger.get(f"/api/v1/memory/{learned['id']}").status_code == 404
    shared = replacement.get("/api/v1/memory", {"scope.agent_role_id": "billing"}).json()
    assert [entry["id"] for entry in shared["entries"]] == [learned["id"]]


def test_role_scoped_entries_stay_private_from_an_agent_that_never_registered_its_role(keys):
    register_with_role("billing-1", "b")
    learned = create(as_agent("billing-1"), agent_id="billing-1", memory_type="episodic", scope={"agent_role_id": "b"})

    assert as_agent("billing-2").get(f"/api/v1/memory/{learned['id']}").status_code == 404


# Semantic memory -------------------------------------------------------------------------------------------------


def test_semantic_entries_are_unique_per_namespace_and_key_and_record_their_curator(api, other_api):
    policy = create(api, namespace="policies", key="threshold", memory_type="semantic")

    response = other_api.post(
        "/api/v1/memory",
        entry_body(agent_id=SYNTH, namespace="policies", key="threshold", memory_type="semantic"),
        format="json",
    )

    assert policy["curated_by"] == RESEARCH
    assert response.status_code == 409
    assert response.json()["entry_id"] == policy["id"]
    assert other_api.get(f"/api/v1/memory/{policy['id']}").status_code == 200


def test_namespace_permissions_decide_who_reads_and_writes(api, other_api, admin_api):
    policy = create(api, namespace="policies", key="threshold", memory_type="semantic")
    permissions = {"permissions": {"default": "none", "allow": [{"agent": RESEARCH, "access": "write"}]}}

    assert api.patch("/api/v1/memory/namespaces/policies", permissions, format="json").status_code == 403
    response = admin_api.patch("/api/v1/memory/namespaces/policies", permissions, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["permissions"] == permissions["permissions"]
    assert other_api.get(f"/api/v1/memory/{policy['id']}").status_code == 404
    assert other_api.get("/api/v1/memory/namespaces").json()["namespaces"] == []
    assert patch(api, policy["id"], {"value": {"usd": 5}}, "1").status_code == 200
    assert api.get("/api/v1/memory/namespaces/policies").json()["access"] == "write"

    readable = {"permissions": {"default": "read", "allow": [{"agent": RESEARCH, "access": "admin"}]}}
    assert admin_api.patch("/api/v1/memory/namespaces/policies", readable, format="json").status_code == 200
    assert other_api.get(f"/api/v1/memory/{policy['id']}").status_code == 200
    assert patch(other_api, policy["id"], {"value": {}}, "2").status_code == 403
    # An agent with admin access sets the permissions itself.
    assert api.patch("/api/v1/memory/namespaces/policies", readable, format="json").status_code == 200


def test_namespace_permission_values_are_validated(admin_api):
    bad = {"permissions": {"default": "everything", "allow": [{"agent": "a", "access": "root"}]}}

    response = admin_api.patch("/api/v1/memory/namespaces/policies", bad, format="json")

    assert response.status_code == 422
    locs = [error["loc"] for error in response.json()["detail"]]
    assert ["body", "permissions", "default"] in locs
    assert ["body", "permissions", "allow", 0, "access"] in locs


# Queries ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def stocked(api):
    made = [
        create(api, namespace="billing.invoices", key="inv-1", tags=["batch", "open"]),
        create(api, namespace="billing.invoices", key="inv-2", tags=["batch"], memory_type="episodic"),
        create(api, namespace="billing.refunds", key="ref-1", tags=["open"], scope={"task_id": "t-9"}),
        create(api, namespace="support", key="ticket", tags=["batch", "open"], pinned=True, memory_type="episodic"),
    ]
    return [entry["id"] for entry in made]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [0, 1, 2, 3]),
        ({"namespace": "billing.invoices"}, [0, 1]),
        ({"memory_type": "episodic"}, [1, 3]),
        ({"tags": "batch,open"}, [0, 3]),
        ({"tags": "batch"}, [0, 1, 3]),
        ({"tags": "nothing"}, []),
        ({"key_prefix": "inv-"}, [0, 1]),
        ({"key_prefix": "INV-"}, []),
        ({"limit": 2, "offset": 1}, [1, 2]),
        ({"namespace": "billing.invoices", "tags": "open", "memory_type": "working"}, [0]),
    ],
)
def test_the_0_9_1_list_honours_every_filter_the_client_sends(api, stocked, params, expected):
    response = api.get(f"/api/v1/agents/{RESEARCH}/memory", params)

    assert response.status_code == 200
    assert [entry["id"] for entry in response.json()] == [stocked[index] for index in expected]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"namespace": "billing.*"}, [0, 1, 2]),
        ({"tags_any": "nothing,open"}, [0, 2, 3]),
        ({"scope.task_id": "t-9"}, [2]),
        ({"pinned": "true"}, [3]),
        ({"key": "ticket"}, [3]),
        ({"agent_id": SYNTH}, []),
    ],
)
def test_the_rfc_query_filters_and_counts(api, stocked, params, expected):
    response = api.get("/api/v1/memory", params)

    assert response.status_code == 200
    body = response.json()
    assert [entry["id"] for entry in body["entries"]] == [stocked[index] for index in expected]
    assert (body["total"], body["limit"], body["offset"]) == (len(expected), 100, 0)


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"memory_type": "long_term"}, ["query", "memory_type"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 1001}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
    ],
)
def test_a_bad_query_is_a_422_naming_it(api, params, loc):
    response = api.get(f"/api/v1/agents/{RESEARCH}/memory", params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_expired_entries_are_never_read(api):
    entry = create(api, ttl="duration:PT1H")
    MemoryEntry.objects.filter(pk=entry["id"]).update(expires_at="2001-01-01T00:00:00Z")

    assert api.get(f"/api/v1/memory/{entry['id']}").status_code == 404
    assert api.get(f"/api/v1/agents/{RESEARCH}/memory").json() == []
    assert api.get("/api/v1/memory").json()["total"] == 0
    assert patch(api, entry["id"], {"value": {}}, "1").status_code == 409
    # Its key is free for a new entry before the sweep has removed it, and the old one is logged as expired.
    assert create(api)["version"] == 1
    assert list(MemoryEvent.objects.values_list("event_type", flat=True)) == [
        "memory.created",
        "memory.expired",
        "memory.created",
    ]


# Routes 0.9.1 does not serve -------------------------------------------------------------------------------------


def test_batch_writes_are_all_or_nothing(api):
    existing = create(api, key="taken")

    response = api.post(
        "/api/v1/memory/batch",
        {"entries": [entry_body(key="fresh"), entry_body(key="taken")]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["index"] == 1
    assert list(MemoryEntry.objects.values_list("key", flat=True)) == ["taken"]

    response = api.post(
        "/api/v1/memory/batch",
        {
            "entries": [
                entry_body(key="fresh"),
                {"id": existing["id"], "version": 1, "tags": ["updated"]},
                {"namespace": "invoices", "key": "fresh2", "value": {}, "memory_type": "episodic"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    written = response.json()["entries"]
    assert [entry["key"] for entry in written] == ["fresh", "taken", "fresh2"]
    assert (written[1]["version"], written[1]["tags"], written[1]["value"]) == (2, ["updated"], {"done": 1})


def test_a_bad_batch_item_is_named_by_its_index(api):
    response = api.post(
        "/api/v1/memory/batch", {"entries": [entry_body(), entry_body(memory_type="bogus")]}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "entries", 1, "memory_type"]
    assert not MemoryEntry.objects.exists()


def test_batch_delete_removes_what_matches_and_the_caller_may_write(api, other_api, stocked):
    create(other_api, agent_id=SYNTH, namespace="billing.invoices", key="theirs")

    response = api.delete("/api/v1/memory/batch?namespace=billing.*&tags=batch")

    assert response.status_code == 200, response.content
    assert response.json()["deleted"] == 2
    assert sorted(response.json()["entry_ids"]) == sorted(stocked[:2])
    assert MemoryEntry.objects.filter(agent_id=SYNTH).count() == 1
    assert api.delete("/api/v1/memory/batch").status_code == 422


def test_literal_routes_are_not_taken_for_entry_ids(api):
    create(api, namespace="facts", key="k", memory_type="semantic")

    namespaces = api.get("/api/v1/memory/namespaces")

    assert namespaces.status_code == 200
    assert [item["namespace"] for item in namespaces.json()["namespaces"]] == ["facts"]
    assert api.get("/api/v1/memory/namespaces/facts").json()["entry_count"] == 1
    assert api.get("/api/v1/memory/namespaces/unknown").status_code == 404


def test_the_summary_counts_each_tier(api, other_api):
    create(api, key="w", scope={"task_id": "t-1"})
    create(api, key="e1", memory_type="episodic", pinned=True)
    create(api, key="e2", memory_type="episodic")

    summary = api.get(f"/api/v1/agents/{RESEARCH}/memory/summary").json()

    assert summary["working"]["entry_count"] == 1
    assert summary["working"]["tasks_with_memory"] == ["t-1"]
    assert (summary["episodic"]["entry_count"], summary["episodic"]["pinned_count"]) == (2, 1)
    assert summary["episodic"]["capacity"] == 1000
    assert other_api.get(f"/api/v1/agents/{RESEARCH}/memory/summary").status_code == 403


# Input no column holds -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "loc"),
    [
        ("get", "/api/v1/memory?tags=a%00", ["query", "tags"]),
        ("get", "/api/v1/memory?namespace=%00", ["query", "namespace"]),
        ("get", "/api/v1/agents/a%00b/memory", ["path", "agent_id"]),
        ("get", "/api/v1/agents/a%00b/memory/summary", ["path", "agent_id"]),
        ("get", "/api/v1/memory/namespaces/a%00b", ["path", "namespace"]),
        ("patch", "/api/v1/memory/namespaces/a%00b", ["path", "namespace"]),
        ("patch", "/api/v1/memory/namespaces/" + "x" * 256, ["path", "namespace"]),
        ("post", f"/api/v1/agents/{'x' * 201}/memory/grants", ["path", "agent_id"]),
    ],
)
def test_text_no_column_holds_is_a_422_naming_where_it_is(api, method, url, loc):
    data = None if method == "get" else {"permissions": {}, "agent_id": SYNTH}
    response = getattr(api, method)(url, data, format="json")

    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc
