"""Portfolios (RFC-0007): every route, its errors, the aggregate status, governance policy and access."""

import pytest

from intents.models import Portfolio, PortfolioMembership

PORTFOLIOS = "/api/v1/portfolios"
MISSING = "00000000-0000-4000-8000-000000000000"


def make_intent(client, title="Member", status="active"):
    response = client.post("/api/v1/intents", {"title": title, "status": status}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def set_status(client, intent, status):
    current = client.get(f"/api/v1/intents/{intent['id']}").json()
    response = client.post(
        f"/api/v1/intents/{intent['id']}/status",
        {"status": status},
        format="json",
        HTTP_IF_MATCH=str(current["version"]),
    )
    assert response.status_code == 200, response.content


def make_portfolio(client, **fields):
    response = client.post(PORTFOLIOS, {"name": "Q3 launch", **fields}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def add(client, portfolio, intent, **fields):
    return client.post(f"{PORTFOLIOS}/{portfolio['id']}/intents", {"intent_id": intent["id"], **fields}, format="json")


def events_of(client, intent):
    return client.get(f"/api/v1/intents/{intent['id']}/events").json()


@pytest.fixture
def portfolio(api):
    return make_portfolio(api, description="Ship it", governance_policy={"require_all_completed": True})


# Create ------------------------------------------------------------------------------------------------------


def test_create_returns_the_portfolio_with_both_timestamp_spellings(api):
    body = make_portfolio(api, description="Ship it", created_by="planner-1", metadata={"team": "core"})
    assert body["name"] == "Q3 launch"
    assert body["description"] == "Ship it"
    assert body["created_by"] == "planner-1"
    assert body["status"] == "active"
    assert body["metadata"] == {"team": "core"}
    assert body["governance_policy"] == {}
    assert body["createdAt"] == body["created_at"] and body["updatedAt"] == body["updated_at"]
    assert body["aggregate_status"] == {"total": 0, "by_status": {}, "completion_percentage": 0}
    assert Portfolio.objects.get(pk=body["id"]).owner == "agent-research"


def test_create_accepts_what_the_091_client_sends(api):
    body = make_portfolio(
        api,
        description=None,
        createdBy="coordinator-7",
        governancePolicy={"require_all_completed": True, "custom": "kept"},
        metadata={},
    )
    assert body["description"] == ""
    assert body["created_by"] == "coordinator-7"
    assert body["governance_policy"] == {"require_all_completed": True, "custom": "kept"}


def test_created_by_defaults_to_the_caller(api):
    assert make_portfolio(api)["created_by"] == "agent-research"


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({}, ["body", "name"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 256}, ["body", "name"]),
        ({"name": "P", "governance_policy": ["not", "an", "object"]}, ["body", "governance_policy"]),
        ({"name": "P", "governancePolicy": "strict"}, ["body", "governancePolicy"]),
        ({"name": "P", "metadata": [1]}, ["body", "metadata"]),
        ({"name": "P", "governance_policy": {"require_all_completed": "yes"}}, None),
        ({"name": "P", "governance_policy": {"auto_complete_threshold": 150}}, None),
        ({"name": "P", "governance_policy": {"shared_constraints": []}}, None),
    ],
)
def test_create_rejects_bad_input_naming_the_field(api, payload, loc):
    response = api.post(PORTFOLIOS, payload, format="json")
    assert response.status_code == 422
    errors = response.json()["detail"]
    if loc:
        assert errors[0]["loc"] == loc
    else:
        key = next(iter(payload["governance_policy"]))
        assert errors[0]["loc"] == ["body", "governance_policy", key]
    assert not Portfolio.objects.exists()


def test_routes_need_a_key(anonymous_api, portfolio):
    assert anonymous_api.get(PORTFOLIOS).status_code == 401
    assert anonymous_api.post(PORTFOLIOS, {"name": "P"}, format="json").status_code == 401
    assert anonymous_api.get(f"{PORTFOLIOS}/{portfolio['id']}").status_code == 401


# List and get ------------------------------------------------------------------------------------------------


def test_list_is_the_callers_portfolios_oldest_first_with_filters(api, other_api):
    first = make_portfolio(api, created_by="planner-1")
    second = make_portfolio(api, created_by="planner-2")
    make_portfolio(other_api, created_by="planner-1")
    api.patch(f"{PORTFOLIOS}/{second['id']}/status", {"status": "abandoned"}, format="json")

    listed = api.get(PORTFOLIOS).json()["portfolios"]
    assert [item["id"] for item in listed] == [first["id"], second["id"]]
    assert [p["id"] for p in api.get(PORTFOLIOS, {"created_by": "planner-1"}).json()["portfolios"]] == [first["id"]]
    assert len(api.get(PORTFOLIOS, {"created_by": ""}).json()["portfolios"]) == 2
    assert [p["id"] for p in api.get(PORTFOLIOS, {"status": "abandoned"}).json()["portfolios"]] == [second["id"]]
    bad = api.get(PORTFOLIOS, {"status": "finished"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "status"]


def test_get_returns_members_and_aggregate(api, portfolio):
    done, running = make_intent(api, "Done"), make_intent(api, "Running")
    set_status(api, done, "completed")
    add(api, portfolio, done, role="primary", priority=10)
    add(api, portfolio, running, priority=90)

    body = api.get(f"{PORTFOLIOS}/{portfolio['id']}").json()
    assert body["name"] == "Q3 launch"
    assert [intent["id"] for intent in body["intents"]] == [running["id"], done["id"]]  # priority order
    assert {(m["intent_id"], m["role"], m["priority"]) for m in body["members"]} == {
        (done["id"], "primary", 10),
        (running["id"], "member", 90),
    }
    assert body["aggregate_status"] == {
        "total": 2,
        "by_status": {"completed": 1, "active": 1},
        "completion_percentage": 50,
    }


@pytest.mark.parametrize("portfolio_id", [MISSING, "not-a-uuid"])
def test_unknown_portfolios_are_404_on_every_route(api, portfolio_id):
    intent = make_intent(api)
    url = f"{PORTFOLIOS}/{portfolio_id}"
    for response in [
        api.get(url),
        api.patch(url, {"name": "x"}, format="json"),
        api.patch(f"{url}/status", {"status": "completed"}, format="json"),
        api.get(f"{url}/intents"),
        api.post(f"{url}/intents", {"intent_id": intent["id"]}, format="json"),
    ]:
        assert response.status_code == 404
        assert response.json()["detail"] == "Portfolio not found"
    removed = api.delete(f"{url}/intents/{intent['id']}")
    assert removed.status_code == 404


# Update and status -------------------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_given(api, portfolio):
    response = api.patch(
        f"{PORTFOLIOS}/{portfolio['id']}", {"metadata": {"quarter": 3}, "governancePolicy": {}}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"] == {"quarter": 3}
    assert body["governance_policy"] == {}
    assert body["name"] == portfolio["name"] and body["description"] == portfolio["description"]
    assert body["updated_at"] > portfolio["updated_at"]
    refused = api.patch(f"{PORTFOLIOS}/{portfolio['id']}", {"name": ""}, format="json")
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "name"]


def test_status_is_validated(api, portfolio):
    response = api.patch(f"{PORTFOLIOS}/{portfolio['id']}/status", {"status": "bogus"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "status"]
    assert api.patch(f"{PORTFOLIOS}/{portfolio['id']}/status", {}, format="json").status_code == 422
    assert api.get(f"{PORTFOLIOS}/{portfolio['id']}").json()["status"] == "active"


def test_require_all_completed_holds_completion_until_every_member_is_completed(api, portfolio):
    first, second = make_intent(api, "One"), make_intent(api, "Two")
    add(api, portfolio, first)
    add(api, portfolio, second)
    set_status(api, first, "completed")
    url = f"{PORTFOLIOS}/{portfolio['id']}/status"

    refused = api.patch(url, {"status": "completed"}, format="json")
    assert refused.status_code == 409
    assert "1 not yet" in refused.json()["detail"]
    assert "lease" not in refused.content.decode().lower()
    assert api.get(f"{PORTFOLIOS}/{portfolio['id']}").json()["status"] == "active"

    set_status(api, second, "completed")
    completed = api.patch(url, {"status": "completed"}, format="json")
    assert completed.status_code == 200 and completed.json()["status"] == "completed"
    assert api.patch(url, {"status": "abandoned"}, format="json").json()["status"] == "abandoned"


def test_partial_completion_counts_abandoned_members_as_finished(api):
    portfolio = make_portfolio(api, governance_policy={"require_all_completed": True, "allow_partial_completion": True})
    done, dropped = make_intent(api), make_intent(api)
    add(api, portfolio, done)
    add(api, portfolio, dropped)
    set_status(api, done, "completed")
    set_status(api, dropped, "abandoned")
    response = api.patch(f"{PORTFOLIOS}/{portfolio['id']}/status", {"status": "completed"}, format="json")
    assert response.status_code == 200


def test_auto_complete_threshold_completes_the_portfolio_when_members_reach_it(api, django_capture_on_commit_callbacks):
    portfolio = make_portfolio(api, governance_policy={"auto_complete_threshold": 50})
    members = [make_intent(api, f"Step {n}") for n in range(3)]
    for intent in members:
        add(api, portfolio, intent)
    with django_capture_on_commit_callbacks(execute=True):
        set_status(api, members[0], "completed")
    assert api.get(f"{PORTFOLIOS}/{portfolio['id']}").json()["status"] == "active"  # 33 %
    with django_capture_on_commit_callbacks(execute=True):
        set_status(api, members[1], "completed")
    assert api.get(f"{PORTFOLIOS}/{portfolio['id']}").json()["status"] == "completed"  # 66 %


# Membership --------------------------------------------------------------------------------------------------


def test_adding_returns_the_membership_and_logs_it_on_the_intent(api, portfolio):
    intent = make_intent(api)
    response = add(api, portfolio, intent, role="dependency", priority=5)
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Intent added to portfolio"
    assert body["id"] == body["membership_id"]
    assert body["portfolio_id"] == portfolio["id"] and body["intent_id"] == intent["id"]
    assert body["role"] == "dependency" and body["priority"] == 5
    assert body["addedAt"] == body["added_at"]

    logged = events_of(api, intent)[0]
    assert logged["event_type"] == "added_to_portfolio"
    assert logged["actor"] == "agent-research"
    assert logged["payload"] == {
        "portfolio_id": portfolio["id"],
        "portfolio_name": "Q3 launch",
        "role": "dependency",
        "priority": 5,
    }


def test_adding_again_keeps_one_membership_and_updates_role_and_priority(api, portfolio):
    intent = make_intent(api)
    first = add(api, portfolio, intent).json()
    again = add(api, portfolio, intent, role="primary", priority=3).json()
    assert again["id"] == first["id"]
    assert (again["role"], again["priority"]) == ("primary", 3)
    assert PortfolioMembership.objects.count() == 1
    assert [e["event_type"] for e in events_of(api, intent)].count("added_to_portfolio") == 1


def test_a_portfolio_has_at_most_one_primary(api, portfolio):
    first, second = make_intent(api), make_intent(api)
    assert add(api, portfolio, first, role="primary").status_code == 200
    refused = add(api, portfolio, second, role="primary")
    assert refused.status_code == 409
    assert first["id"] in refused.json()["detail"]
    assert PortfolioMembership.objects.filter(intent_id=second["id"]).count() == 0
    assert events_of(api, second)[0]["event_type"] == "intent_created"


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({}, ["body", "intent_id"]),
        ({"intent_id": "x", "role": "owner"}, ["body", "role"]),
        ({"intent_id": "x", "priority": 2.5}, ["body", "priority"]),
        ({"intent_id": "x", "priority": 2**63}, ["body", "priority"]),
    ],
)
def test_adding_rejects_bad_input(api, portfolio, payload, loc):
    response = api.post(f"{PORTFOLIOS}/{portfolio['id']}/intents", payload, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_adding_an_unknown_intent_is_404(api, portfolio):
    response = api.post(f"{PORTFOLIOS}/{portfolio['id']}/intents", {"intent_id": MISSING}, format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "Intent not found"


def test_removing_deletes_the_membership_and_logs_it(api, portfolio):
    intent = make_intent(api)
    add(api, portfolio, intent, role="primary")
    response = api.delete(f"{PORTFOLIOS}/{portfolio['id']}/intents/{intent['id']}")
    assert response.status_code == 200
    assert response.json() == {"message": "Intent removed from portfolio"}
    assert not PortfolioMembership.objects.exists()
    logged = events_of(api, intent)[0]
    assert logged["event_type"] == "removed_from_portfolio"
    assert logged["payload"]["portfolio_id"] == portfolio["id"]

    again = api.delete(f"{PORTFOLIOS}/{portfolio['id']}/intents/{intent['id']}")
    assert again.status_code == 404 and again.json()["detail"] == "Membership not found"
    assert api.delete(f"{PORTFOLIOS}/{portfolio['id']}/intents/not-a-uuid").status_code == 404


def test_members_route_lists_intents_in_priority_order_with_the_aggregate(api, portfolio):
    low, high, blocked = make_intent(api, "Low"), make_intent(api, "High"), make_intent(api, "Blocked")
    set_status(api, blocked, "blocked")
    add(api, portfolio, low, priority=1)
    add(api, portfolio, high, priority=100)
    add(api, portfolio, blocked, priority=50)
    body = api.get(f"{PORTFOLIOS}/{portfolio['id']}/intents").json()
    assert [intent["title"] for intent in body["intents"]] == ["High", "Blocked", "Low"]
    assert body["intents"][0]["parent_intent_id"] is None
    assert [member["intent_id"] for member in body["members"]] == [high["id"], blocked["id"], low["id"]]
    assert body["aggregate_status"] == {
        "total": 3,
        "by_status": {"active": 2, "blocked": 1},
        "completion_percentage": 0,
    }


def test_portfolios_of_an_intent(api, other_api, portfolio):
    intent = make_intent(api)
    elsewhere = make_portfolio(api, name="Elsewhere")
    theirs = make_portfolio(other_api, name="Theirs")
    add(api, portfolio, intent)
    add(other_api, theirs, intent)
    make_portfolio(api, name="Unrelated")

    body = api.get(f"/api/v1/intents/{intent['id']}/portfolios").json()
    assert [item["id"] for item in body["portfolios"]] == [portfolio["id"]]
    assert body["portfolios"][0]["aggregate_status"]["total"] == 1
    add(api, elsewhere, intent)
    assert len(api.get(f"/api/v1/intents/{intent['id']}/portfolios").json()["portfolios"]) == 2
    assert api.get(f"/api/v1/intents/{MISSING}/portfolios").status_code == 404


def test_deleting_a_member_intent_is_not_blocked_by_its_portfolio(api, portfolio):
    intent = make_intent(api)
    add(api, portfolio, intent)
    Portfolio.objects.get(pk=portfolio["id"]).intents.get(pk=intent["id"]).delete()
    assert api.get(f"{PORTFOLIOS}/{portfolio['id']}").json()["aggregate_status"]["total"] == 0


# Access ------------------------------------------------------------------------------------------------------


def test_a_portfolio_is_invisible_to_other_principals(api, other_api, portfolio):
    intent = make_intent(other_api)
    url = f"{PORTFOLIOS}/{portfolio['id']}"
    assert other_api.get(PORTFOLIOS).json() == {"portfolios": []}
    for response in [
        other_api.get(url),
        other_api.patch(url, {"name": "Mine now"}, format="json"),
        other_api.patch(f"{url}/status", {"status": "abandoned"}, format="json"),
        other_api.get(f"{url}/intents"),
        other_api.post(f"{url}/intents", {"intent_id": intent["id"]}, format="json"),
    ]:
        assert response.status_code == 404
    current = api.get(url).json()
    assert (current["name"], current["status"], current["aggregate_status"]["total"]) == ("Q3 launch", "active", 0)


def close(client, intent):
    response = client.put(f"/api/v1/intents/{intent['id']}/acl", {"default_policy": "closed"}, format="json")
    assert response.status_code == 200


def test_adding_needs_write_permission_on_the_intent(api, other_api, portfolio):
    theirs = make_intent(other_api)
    close(other_api, theirs)
    refused = add(api, portfolio, theirs)
    assert refused.status_code == 403
    assert refused.json()["required_permission"] == "write"
    assert not PortfolioMembership.objects.exists()

    granted = other_api.post(
        f"/api/v1/intents/{theirs['id']}/acl/entries",
        {"principal_id": "agent-research", "permission": "write"},
        format="json",
    )
    assert granted.status_code == 200
    assert add(api, portfolio, theirs).status_code == 200


def test_members_the_caller_cannot_read_are_left_out_of_lists_and_aggregates(api, other_api):
    portfolio = make_portfolio(other_api)
    mine, theirs = make_intent(api, "Mine"), make_intent(other_api, "Theirs")
    set_status(api, mine, "completed")
    add(other_api, portfolio, mine)
    add(other_api, portfolio, theirs)
    close(api, mine)  # after it was added: agent-synth loses sight of it

    url = f"{PORTFOLIOS}/{portfolio['id']}"
    detail = other_api.get(url).json()
    assert [intent["title"] for intent in detail["intents"]] == ["Theirs"]
    assert [member["intent_id"] for member in detail["members"]] == [theirs["id"]]
    expected = {"total": 1, "by_status": {"active": 1}, "completion_percentage": 0}
    assert detail["aggregate_status"] == expected
    assert other_api.get(f"{url}/intents").json()["aggregate_status"] == expected
    assert other_api.get(PORTFOLIOS).json()["portfolios"][0]["aggregate_status"] == expected
    assert other_api.get(f"/api/v1/intents/{mine['id']}/portfolios").status_code == 403

    # The owner of the portfolio can still take out a member it can no longer read.
    assert other_api.delete(f"{url}/intents/{mine['id']}").status_code == 200
    assert events_of(api, mine)[0]["event_type"] == "removed_from_portfolio"


def test_clients_cannot_forge_portfolio_events(api):
    intent = make_intent(api)
    response = api.post(
        f"/api/v1/intents/{intent['id']}/events", {"event_type": "added_to_portfolio", "payload": {}}, format="json"
    )
    assert response.status_code == 422


# Admin -------------------------------------------------------------------------------------------------------


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("staff", "staff@example.test", "pw"))
    return client


def test_admin_shows_each_portfolios_progress_and_members(staff, api, portfolio):
    done, running = make_intent(api, "Done step"), make_intent(api, "Running step")
    set_status(api, done, "completed")
    add(api, portfolio, done, role="primary", priority=9)
    add(api, portfolio, running)
    make_portfolio(api, name="Empty one")

    page = staff.get("/admin/intents/portfolio/").content.decode()
    assert "Q3 launch" in page and "Empty one" in page
    assert "1 completed, 1 active" in page
    assert "width:50.0%" in page
    assert "no members" in page

    detail = staff.get(f"/admin/intents/portfolio/{portfolio['id']}/change/").content.decode()
    assert "Done step" in detail and "Running step" in detail
    assert ">Primary<" in detail
    assert "require_all_completed" in detail


def test_discovery_lists_portfolios_and_webhook_subscriptions(anonymous_api):
    document = anonymous_api.get("/.well-known/openintent.json").json()
    assert "/rfc/0007" in document["rfcUrls"]
    assert {"portfolios", "webhook-subscriptions"} <= set(document["capabilities"])
    compat = anonymous_api.get("/.well-known/openintent-compat.json").json()
    assert compat["rfcCompliance"]["RFC-0007"] == "full"
    assert compat["features"]["portfolios"] is True and compat["features"]["webhookSubscriptions"] is True
