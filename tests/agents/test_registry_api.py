"""The agent registry over HTTP (RFC-0016): registration on both routes, re-registration, the record, the list and
its filters, pools, status changes, deregistration, and who may do what."""

import pytest

from agents.models import Agent, AgentEvent
from tests.conftest import client_for

REGISTRATION = {
    "agent_id": "billing-1",
    "name": "Billing Processor",
    "role_id": "billing",
    "capabilities": ["billing", "invoicing"],
    "capacity": {"max_concurrent_tasks": 4},
    "endpoint": "https://billing.example.test/hook",
    "heartbeat_config": {"interval_seconds": 10, "unhealthy_after_seconds": 30, "dead_after_seconds": 60},
    "metadata": {"version": "1.2.0"},
    "drain_timeout_seconds": 120,
}


def acting_as(agent_id, key="dev-user-key"):
    """A client acting as ``agent_id`` through a shared key (``X-Agent-ID``), as the 0.9.1 client does."""
    client = client_for(key)
    client.credentials(HTTP_X_API_KEY=key, HTTP_X_AGENT_ID=agent_id)
    return client


def register(client, **fields):
    response = client.post("/api/v1/agents/register", {**REGISTRATION, **fields}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def lifecycle(agent_id):
    return [
        (event.payload["previous_status"], event.payload["new_status"], event.payload["reason"])
        for event in AgentEvent.objects.filter(agent_id=agent_id, event_type="agent.lifecycle").order_by("id")
    ]


@pytest.fixture
def billing(keys):
    return acting_as("billing-1")


def test_registration_answers_the_record_in_the_0_9_1_shape_with_the_rfc_fields(billing):
    sent = {**REGISTRATION, "status": "registering", "version": 7, "registered_at": "2020-01-01T00:00:00"}

    response = billing.post("/api/v1/agents/register", sent, format="json")

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    agent = response.json()
    assert agent["agent_id"] == "billing-1"
    assert agent["status"] == "active"
    assert agent["version"] == 1
    assert agent["capabilities"] == ["billing", "invoicing"]
    assert agent["capacity"] == {"max_concurrent_tasks": 4, "current_load": 0, "tasks_in_progress": []}
    assert agent["available_capacity"] == 4
    assert agent["heartbeat_config"] == REGISTRATION["heartbeat_config"]
    assert agent["metadata"] == agent["agent_metadata"] == {"version": "1.2.0"}
    assert agent["registered_at"] != "2020-01-01T00:00:00"
    assert agent["last_heartbeat_at"] == agent["registered_at"]
    assert agent["registered_by"] == "billing-1"
    assert agent["drain_timeout_seconds"] == 120
    assert lifecycle("billing-1") == [("registering", "active", "registered")]


def test_the_rfc_route_registers_with_201_and_makes_an_id_when_none_is_given(api):
    response = api.post("/api/v1/agents", {"capabilities": ["search"]}, format="json")

    assert response.status_code == 201
    agent = response.json()
    assert agent["agent_id"].startswith("agent_")
    assert response["ETag"] == '"1"'
    assert agent["heartbeat_config"] == {
        "interval_seconds": 30,
        "unhealthy_after_seconds": 90,
        "dead_after_seconds": 300,
    }
    assert agent["capacity"]["max_concurrent_tasks"] == 5
    assert api.get(f"/api/v1/agents/{agent['agent_id']}").json() == agent
    assert api.get(f"/api/v1/agents/{agent['agent_id']}/record").json() == agent


def test_registering_a_live_agent_again_by_itself_refreshes_it(billing):
    register(billing)

    again = register(billing, name="Billing v2", capabilities=["billing"])

    assert again["status"] == "active"
    assert again["name"] == "Billing v2"
    assert again["capabilities"] == ["billing"]
    assert again["version"] == 2
    assert Agent.objects.count() == 1
    assert lifecycle("billing-1") == [("registering", "active", "registered")]


def test_registering_again_with_the_same_description_is_idempotent(billing):
    first = register(billing)
    billing.post("/api/v1/agents/billing-1/heartbeat", {"current_load": 2}, format="json")

    again = register(billing)

    assert again["version"] == first["version"] == 1
    assert again["last_heartbeat_at"] > first["last_heartbeat_at"]
    assert {key: value for key, value in again.items() if "heartbeat_at" not in key and key != "capacity"} == {
        key: value for key, value in first.items() if "heartbeat_at" not in key and key != "capacity"
    }


def test_registering_a_live_agent_by_someone_else_is_a_409_never_a_500(billing, other_api):
    register(billing)

    response = other_api.post("/api/v1/agents/register", REGISTRATION, format="json")

    assert response.status_code == 409
    assert response.json()["current_status"] == "active"
    assert "already registered" in response.json()["detail"]
    assert other_api.post("/api/v1/agents", REGISTRATION, format="json").status_code == 409


def test_a_dead_or_deregistered_agent_registers_again_with_its_version_reset(billing):
    register(billing)
    assert billing.patch("/api/v1/agents/billing-1/status", {"status": "dead"}, format="json").status_code == 200
    again = register(billing)
    assert again["status"] == "active"
    assert again["version"] == 1
    assert billing.delete("/api/v1/agents/billing-1").json()["status"] == "deregistered"

    response = billing.post("/api/v1/agents", REGISTRATION, format="json")

    assert response.status_code == 201
    assert response.json()["version"] == 1
    assert [step[1:] for step in lifecycle("billing-1")] == [
        ("active", "registered"),
        ("dead", "marked_dead"),
        ("active", "re_registered"),
        ("deregistered", "deregistered"),
        ("active", "re_registered"),
    ]


def test_a_draining_agent_cannot_register_again_until_it_has_left(billing):
    register(billing)
    billing.patch("/api/v1/agents/billing-1/status", {"status": "draining"}, format="json")

    response = billing.post("/api/v1/agents/register", REGISTRATION, format="json")

    assert response.status_code == 409
    assert response.json()["current_status"] == "draining"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"interval_seconds": 30, "unhealthy_after_seconds": 10, "dead_after_seconds": 5}, "unhealthy_after_seconds"),
        ({"interval_seconds": 10, "unhealthy_after_seconds": 30, "dead_after_seconds": 59}, "dead_after_seconds"),
        ({"interval_seconds": 60}, "unhealthy_after_seconds"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"dead_after_seconds": "soon"}, "dead_after_seconds"),
    ],
)
def test_heartbeat_thresholds_breaking_the_doubling_rules_are_a_422_naming_the_field(billing, config, field):
    response = billing.post("/api/v1/agents/register", {**REGISTRATION, "heartbeat_config": config}, format="json")

    assert response.status_code == 422
    assert ["body", "heartbeat_config", field] in [error["loc"] for error in response.json()["detail"]]
    assert not Agent.objects.exists()


def test_a_partial_heartbeat_config_takes_the_defaults_for_the_rest(billing):
    agent = register(billing, heartbeat_config={"dead_after_seconds": 600})

    assert agent["heartbeat_config"] == {
        "interval_seconds": 30,
        "unhealthy_after_seconds": 90,
        "dead_after_seconds": 600,
    }


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"agent_id": None}, ["body", "agent_id"]),
        ({"agent_id": "a/b"}, ["body", "agent_id"]),
        ({"agent_id": "x" * 201}, ["body", "agent_id"]),
        ({"capabilities": "billing"}, ["body", "capabilities"]),
        ({"metadata": None}, ["body", "metadata"]),
        ({"metadata": [1]}, ["body", "metadata"]),
        ({"capacity": {"max_concurrent_tasks": -1}}, ["body", "capacity", "max_concurrent_tasks"]),
        ({"capacity": {"max_concurrent_tasks": 2.5}}, ["body", "capacity", "max_concurrent_tasks"]),
        ({"drain_timeout_seconds": 0}, ["body", "drain_timeout_seconds"]),
    ],
)
def test_bad_registrations_are_a_422_naming_the_field(billing, fields, loc):
    response = billing.post("/api/v1/agents/register", {**REGISTRATION, **fields}, format="json")

    assert response.status_code == 422, response.content
    assert loc in [error["loc"] for error in response.json()["detail"]]


def test_the_registry_filters_by_statuses_role_capabilities_and_available_capacity(keys):
    for agent_id, role, capabilities, limit in [
        ("search-1", "search", ["web", "news"], 2),
        ("search-2", "search", ["web"], 5),
        ("writer-1", "writer", ["prose"], 3),
    ]:
        register(
            acting_as(agent_id),
            agent_id=agent_id,
            role_id=role,
            capabilities=capabilities,
            capacity={"max_concurrent_tasks": limit},
        )
    acting_as("search-2").post("/api/v1/agents/search-2/heartbeat", {"current_load": 4}, format="json")
    acting_as("writer-1").patch("/api/v1/agents/writer-1/status", {"status": "draining"}, format="json")
    api = acting_as("someone")

    def ids(**params):
        response = api.get("/api/v1/agents", params)
        assert response.status_code == 200, response.content
        return [agent["agent_id"] for agent in response.json()]

    assert ids() == ["search-1", "search-2", "writer-1"]
    assert ids(status="active") == ["search-1", "search-2"]
    assert ids(status="draining, dead") == ["writer-1"]
    assert ids(role_id="search") == ["search-1", "search-2"]
    assert ids(capabilities="news,prose") == ["search-1", "writer-1"]
    assert ids(min_available_capacity=2) == ["search-1", "writer-1"]
    assert ids(min_available_capacity=2, status="active", capabilities="web") == ["search-1"]
    pools = api.get("/api/v1/agent-pools").json()
    assert pools == [
        {
            "role_id": "search",
            "members": ["search-1", "search-2"],
            "max_concurrent_tasks": 7,
            "current_load": 4,
            "available_capacity": 3,
        }
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "active,retired"}, "status"), ({"min_available_capacity": "-1"}, "min_available_capacity")],
)
def test_bad_registry_filters_are_a_422_naming_the_parameter(api, params, field):
    response = api.get("/api/v1/agents", params)

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["query", field]
    if field == "status":
        assert "registering, active, draining, unhealthy, dead, deregistered" in error["msg"]


def test_an_unknown_agent_is_a_404_on_every_route(api):
    for method, path in [
        ("get", "/api/v1/agents/nobody"),
        ("get", "/api/v1/agents/nobody/record"),
        ("get", "/api/v1/agents/nobody/events"),
        ("delete", "/api/v1/agents/nobody"),
    ]:
        response = getattr(api, method)(path)
        assert response.status_code == 404, path
        assert response.json()["detail"] == "Agent not found"
    assert api.post("/api/v1/agents/nobody/heartbeat", {}, format="json").status_code == 404
    assert api.patch("/api/v1/agents/nobody/status", {"status": "draining"}, format="json").status_code == 404


def test_status_values_outside_the_enum_are_a_422_naming_the_allowed_values_and_nothing_is_stored(billing):
    register(billing)

    response = billing.patch("/api/v1/agents/billing-1/status", {"status": "retired"}, format="json")

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "status"]
    assert "registering, active, draining, unhealthy, dead, deregistered" in error["msg"]
    assert Agent.objects.get().status == "active"
    heartbeat = billing.post("/api/v1/agents/billing-1/heartbeat", {"status": "sleeping"}, format="json")
    assert heartbeat.status_code == 422
    assert heartbeat.json()["detail"][0]["loc"] == ["body", "status"]


@pytest.mark.parametrize(
    ("start", "asked", "allowed"),
    [
        ("active", "unhealthy", None),
        ("active", "active", "same"),
        ("draining", "active", None),
        ("dead", "draining", []),
        ("deregistered", "dead", []),
    ],
)
def test_status_changes_follow_the_lifecycle(billing, start, asked, allowed):
    register(billing)
    if start != "active":
        billing.patch("/api/v1/agents/billing-1/status", {"status": start}, format="json")
    version = Agent.objects.get().version

    response = billing.patch("/api/v1/agents/billing-1/status", {"status": asked}, format="json")

    if allowed == "same":
        assert response.status_code == 200
        assert response.json()["version"] == version
        return
    assert response.status_code == 409
    assert response.json()["current_status"] == start
    if allowed is not None:
        assert response.json()["allowed"] == allowed
    assert Agent.objects.get().status == start


def test_a_status_change_checks_if_match_when_sent(billing):
    register(billing)

    stale = billing.patch("/api/v1/agents/billing-1/status", {"status": "draining"}, format="json", HTTP_IF_MATCH='"7"')
    fresh = billing.patch(
        "/api/v1/agents/billing-1/status",
        {"status": "draining", "drain_timeout_seconds": 30},
        format="json",
        HTTP_IF_MATCH='"1"',
    )

    assert stale.status_code == 409
    assert stale.json()["current_version"] == 1
    assert fresh.status_code == 200
    assert fresh["ETag"] == '"2"'
    assert fresh.json()["drain_timeout_seconds"] == 30
    assert fresh.json()["drain_deadline"] is not None


def test_heartbeats_and_status_changes_only_from_the_agent_itself_or_an_administrator(
    billing, settings, person_api, django_user_model
):
    register(billing)
    stranger = acting_as("agent-synth", key="agent-synth-key")

    refused = [
        stranger.post("/api/v1/agents/billing-1/heartbeat", {}, format="json"),
        stranger.patch("/api/v1/agents/billing-1/status", {"status": "draining"}, format="json"),
        stranger.delete("/api/v1/agents/billing-1"),
        person_api.post("/api/v1/agents/billing-1/heartbeat", {}, format="json"),
    ]

    assert [response.status_code for response in refused] == [403, 403, 403, 403]
    assert "Only the agent itself" in refused[0].json()["detail"]
    assert Agent.objects.get().status == "active"
    settings.OPENINTENT_AGENT_ADMINS = ["agent-synth"]
    assert stranger.post("/api/v1/agents/billing-1/heartbeat", {}, format="json").status_code == 200
    django_user_model.objects.filter(username="reviewer").update(is_staff=True)
    drained = person_api.patch("/api/v1/agents/billing-1/status", {"status": "draining"}, format="json")
    assert drained.status_code == 200
    assert AgentEvent.objects.filter(agent_id="billing-1").first().actor == "reviewer"


def test_the_agent_log_lists_its_transitions_newest_first(billing):
    register(billing)
    billing.patch("/api/v1/agents/billing-1/status", {"status": "draining", "reason": "upgrade"}, format="json")

    events = billing.get("/api/v1/agents/billing-1/events").json()

    assert [event["payload"]["new_status"] for event in events] == ["draining", "active"]
    assert events[0]["event_type"] == "agent.lifecycle"
    assert events[0]["payload"]["reason"] == "drain_initiated"
    assert events[0]["actor"] == "billing-1"
    assert events[0]["via"] == "agent-dev"


def test_the_registry_and_the_agent_log_are_read_a_page_at_a_time(keys):
    for index in range(5):
        register(acting_as(f"page-{index}"), agent_id=f"page-{index}")
    agent = acting_as("page-0")
    for _ in range(3):
        agent.patch("/api/v1/agents/page-0/status", {"status": "dead"}, format="json")
        register(agent, agent_id="page-0")

    listed = agent.get("/api/v1/agents", {"limit": 2, "offset": 1}).json()
    events = agent.get("/api/v1/agents/page-0/events", {"limit": 3, "offset": 1}).json()

    # page-0 registered again last, so it comes last: page-1, page-2, page-3, page-4, page-0.
    assert [item["agent_id"] for item in listed] == ["page-2", "page-3"]
    assert [event["payload"]["new_status"] for event in events] == ["dead", "active", "dead"]
    assert agent.get("/api/v1/agents", {"limit": 1001}).status_code == 422
    assert agent.get("/api/v1/agents/page-0/events", {"offset": -1}).status_code == 422


def test_a_reason_longer_than_what_is_stored_is_a_422(billing):
    register(billing)

    response = billing.patch(
        "/api/v1/agents/billing-1/status", {"status": "draining", "reason": "x" * 501}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "reason"]
    assert Agent.objects.get().status == "active"


@pytest.mark.parametrize("params", [{"capabilities": "a\x00b"}, {"role_id": "a\x00b"}, {"status": "active\x00"}])
def test_a_nul_character_in_a_filter_is_a_422_never_a_database_error(api, params):
    response = api.get("/api/v1/agents", params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", *params]


@pytest.mark.parametrize("tail", ["", "/record", "/events"])
def test_an_agent_id_no_record_can_hold_is_a_404(api, tail):
    assert api.get(f"/api/v1/agents/a%00b{tail}").status_code == 404
