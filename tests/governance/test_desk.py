"""The admin desk through Django's test client: every queue on the front page with its true count and links, the
decision screen, acknowledgements, confirmations, and the intent page's whole story."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from agents.registry.services import sweep_health
from governance import queues
from governance.coordinators import services as coordinator_services
from governance.coordinators.models import CoordinatorLease
from governance.models import ArbitrationRequest, Decision
from governance.queues import QUEUES
from intents.models import AccessRequest, BudgetOverrun, Intent, Lease, WebhookDelivery
from intents.subscriptions import delivery
from openintent_site.models import IntentEvent
from tests.agents.test_health import silent_for
from tests.agents.test_registry_api import acting_as, register
from tests.conftest import event_log, new_intent, versioned
from tests.governance.coordinator_helpers import grant


@pytest.fixture
def reviewer(client, django_user_model):
    user = django_user_model.objects.create_superuser("reviewer", "reviewer@example.test", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def closed_intent(api):
    intent = api.post("/api/v1/intents", {"title": "Quarterly numbers"}, format="json").json()
    api.put(f"/api/v1/intents/{intent['id']}/acl", {"default_policy": "closed"}, format="json")
    return intent


def active_intent(api, title, **fields):
    intent = new_intent(api, title=title, **fields)
    versioned(api, "post", f"/api/v1/intents/{intent['id']}/state", 1, {"state": {"started": True}})
    return intent


def overrun(api, title="Paid", spend=2):
    paid = new_intent(api, title=title, constraints={"budget": {"max_total_cents": 100}})
    cost = {"cost_type": "api_call", "amount": spend, "unit": "USD"}
    assert api.post(f"/api/v1/intents/{paid['id']}/costs", cost, format="json").status_code == 200
    return paid


def queue_section(page, key):
    match = re.search(rf'<div class="module" id="queue-{key}">(.*?)</div>\s*(?=<div class="module"|</div>)', page, re.S)
    assert match, key
    return match.group(1)


def failing_delivery(api, settings):
    settings.OPENINTENT_WEBHOOKS_ALLOW_PRIVATE = True
    intent = new_intent(api, title="Watched")
    subscription = {"intent_id": intent["id"], "webhook_url": "http://127.0.0.1:9/in"}
    assert api.post("/api/v1/subscriptions", subscription, format="json").status_code == 200
    event = api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "note"}, format="json").json()
    (pk,) = delivery.fan_out(event["id"])
    delivery.deliver(pk)  # nobody listens on port 9: the attempt fails and the next one waits for its backoff
    return intent, WebhookDelivery.objects.get(pk=pk)


# The front page ---------------------------------------------------------------------------------------------------


def test_front_page_shows_every_queue_with_its_true_count_and_links(reviewer, api, other_api, closed_intent, settings):
    other_api.post(f"/api/v1/intents/{closed_intent['id']}/access-requests", {"reason": "audit"}, format="json")
    disputed = active_intent(api, "Disputed")
    api.post(f"/api/v1/intents/{disputed['id']}/arbitrate", {"reason": "numbers disagree"}, format="json")
    overrun(api)
    flaky = active_intent(api, "Flaky")
    api.put(f"/api/v1/intents/{flaky['id']}/retry-policy", {"strategy": "fixed", "max_retries": 0}, format="json")
    api.post(f"/api/v1/intents/{flaky['id']}/failures", {"error_code": "TIMEOUT", "attempt_number": 1}, format="json")
    failing_delivery(api, settings)
    soon = (timezone.now() + timedelta(days=2)).isoformat()
    api.post(
        f"/api/v1/intents/{closed_intent['id']}/acl/entries",
        {"principal_id": "agent-temp", "permission": "read", "expires_at": soon},
        format="json",
    )
    register(acting_as("old-1"), agent_id="old-1")
    silent_for("old-1", 3600)
    sweep_health()

    page = reviewer.get("/admin/").content.decode()

    expected = {
        "arbitrations": ("Arbitration requests (1)", "numbers disagree"),
        "access-requests": ("Access requests (1)", "agent-synth"),
        "budget-overruns": ("Budget overruns (1)", "Total budget"),
        "retries": ("Retries exhausted and fallbacks (1)", "Flaky"),
        "deliveries": ("Failing webhook deliveries (1)", "http://127.0.0.1:9/in"),
        "blocked": ("Blocked intents (1)", "Disputed"),
        "expiring-access": ("Access grants expiring within a week (1)", "agent-temp"),
        "expiring-tool-grants": ("Tool grants expiring within a week (0)", "No tool grant expires this week."),
        "escalated-tasks": ("Escalated tasks (0)", "No task waits for a decision."),
        "checkpoints": ("Plan checkpoints (0)", "No checkpoint waits for an approver."),
        "unresponsive-coordinators": ("Unresponsive coordinators (0)", "Every coordinator is heartbeating."),
        "dead-agents": ("Dead agents (1)", "old-1"),
    }
    assert [queue.key for queue in QUEUES] == list(expected)
    for key, texts in expected.items():
        section = queue_section(page, key)
        for text in texts:
            assert text in section, (key, text)
    # A row's intent is a link to its page; each non-empty queue links to all of its items.
    arbitrations = queue_section(page, "arbitrations")
    assert f'href="/admin/intents/intent/{disputed["id"]}/change/">Disputed</a>' in arbitrations
    assert 'href="/admin/governance/arbitrationrequest/?status=pending">See all 1</a>' in arbitrations
    assert "13 items wait" not in page and "8 items wait for a person." in page


def test_counts_are_true_beyond_the_rows_shown_and_see_all_lists_every_one(reviewer, api):
    for number in range(12):
        intent = active_intent(api, f"Question {number}")
        api.post(f"/api/v1/intents/{intent['id']}/arbitrate", {"reason": f"tie number {number}"}, format="json")

    section = queue_section(reviewer.get("/admin/").content.decode(), "arbitrations")
    assert "Arbitration requests (12)" in section
    assert len(re.findall(r"tie number \d+", section)) == 10
    assert "See all 12</a> (the oldest 10 are shown)" in section
    listing = reviewer.get("/admin/governance/arbitrationrequest/?status=pending").content.decode()
    assert len(set(re.findall(r"tie number \d+", listing))) == 12


def test_an_unresponsive_coordinator_waits_for_its_supervisor_until_it_fails_over(reviewer, api):
    intent = new_intent(api, title="Coordinated")
    lease = grant(api, intent, supervisor_id="reviewer", heartbeat_interval_seconds=10)
    granted = CoordinatorLease.objects.get(pk=lease["id"]).granted_at
    coordinator_services.sweep(now=granted + timedelta(seconds=21))

    section = queue_section(reviewer.get("/admin/").content.decode(), "unresponsive-coordinators")
    assert "Unresponsive coordinators (1)" in section
    assert f'href="/admin/governance/coordinatorlease/{lease["id"]}/change/">agent-research</a>' in section
    assert f'href="/admin/intents/intent/{intent["id"]}/change/">Coordinated</a>' in section
    assert ">Supervise</a>" in section
    see_all = re.search(r'href="([^"]+)">See all 1', section).group(1).replace("&amp;", "&")
    assert lease["id"] in reviewer.get(see_all).content.decode()

    coordinator_services.sweep(now=granted + timedelta(seconds=31))  # three intervals: failed over to the supervisor
    section = queue_section(reviewer.get("/admin/").content.decode(), "unresponsive-coordinators")
    assert "Unresponsive coordinators (0)" in section


def test_each_queue_has_a_page_of_its_own_and_see_all_links_open(reviewer, api, settings):
    overrun(api)
    failing_delivery(api, settings)
    page = reviewer.get("/admin/").content.decode()
    for link in set(re.findall(r'href="([^"]+)">See all', page)):
        assert reviewer.get(link.replace("&amp;", "&")).status_code == 200, link
    for queue in QUEUES:
        assert reviewer.get(f"/admin/desk/{queue.key}/").status_code == 200, queue.key
        assert reviewer.get(queue.see_all()).status_code == 200, queue.key
    assert reviewer.get("/admin/desk/nothing-here/").status_code == 404


def test_view_site_leads_to_the_api_documentation(reviewer):
    page = reviewer.get("/admin/").content.decode()
    assert '<a href="/docs">View site</a>' in page
    docs = reviewer.get("/docs")
    assert docs.status_code == 200 and docs["Content-Type"].startswith("text/html")


# Arbitration: the decision screen ----------------------------------------------------------------------------------


@pytest.fixture
def chart_question(api):
    intent = active_intent(api, "Monthly chart")
    options = [{"id": "bar", "label": "Bar chart", "description": "per month"}, {"id": "line", "label": "Line chart"}]
    arbitration = api.post(
        f"/api/v1/intents/{intent['id']}/arbitrate",
        {"reason": "Which chart?", "options": options, "context": {"months": 12}},
        format="json",
    ).json()
    return intent, arbitration, f"/admin/governance/arbitrationrequest/{arbitration['id']}"


def test_the_decision_screen_offers_one_button_per_option_and_other(reviewer, chart_question):
    _, _, url = chart_question
    page = reviewer.get(f"{url}/change/").content.decode()
    assert re.search(r'<button type="submit" class="button default" name="choice" value="bar">Bar chart</button>', page)
    assert re.search(r'name="choice" value="line">Line chart</button>', page)
    assert 'name="choice" value="other"' in page
    assert "per month" in page
    assert "&quot;id&quot;" not in page  # the options read as options, not as raw JSON
    assert 'name="_save"' not in page


def test_a_decision_is_confirmed_with_its_effect_then_recorded_once(reviewer, api, chart_question):
    intent, arbitration, url = chart_question
    asked = reviewer.post(f"{url}/decide/", {"choice": "line", "rationale": "trend matters"})
    effect = asked.content.decode()
    assert "This records the decision “Line chart” on “Monthly chart”" in effect
    assert "The intent becomes active again." in effect
    assert Decision.objects.count() == 0

    done = reviewer.post(f"{url}/decide/", {"choice": "line", "rationale": "trend matters", "confirmed": "yes"})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    desk = reviewer.get("/admin/").content.decode()
    assert desk.count("recorded on") == 1  # one success message, not two
    decisions = api.get(f"/api/v1/intents/{intent['id']}/decisions").json()["decisions"]
    assert [(d["outcome"], d["decided_by"], d["rationale"]) for d in decisions] == [
        ("line", "reviewer", "trend matters")
    ]
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["status"] == "active"
    history = LogEntry.objects.get(object_id=arbitration["id"])
    assert (history.user.username, history.get_change_message()) == ("reviewer", "Decided: line")

    again = reviewer.post(f"{url}/decide/", {"choice": "bar", "confirmed": "yes"}, follow=True)
    assert "This request was already decided" in again.content.decode()
    assert Decision.objects.count() == 1


def test_a_settled_arbitration_is_a_read_only_record(reviewer, chart_question):
    _, _, url = chart_question
    reviewer.post(f"{url}/decide/", {"choice": "bar", "rationale": "simple", "confirmed": "yes"})
    page = reviewer.get(f"{url}/change/").content.decode()
    assert "Your decision" not in page and 'name="choice"' not in page and 'name="_save"' not in page
    assert "You may edit it again below" not in page
    for text in ["Decision", "bar", "simple", "reviewer", "Back to the desk"]:
        assert text in page
    decided_at = re.search(r"Decided at:</label>\s*<div class=\"readonly\">([^<]*)</div>", page)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", decided_at.group(1)), decided_at.group(1)
    created_at = re.search(r"Created at:</label>\s*<div class=\"readonly\">([^<]*)</div>", page)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", created_at.group(1)), created_at.group(1)
    assert reviewer.post(f"{url}/change/", {"outcome": "line"}).status_code == 403


def test_an_outcome_outside_the_options_needs_other_and_a_rationale(reviewer, chart_question):
    _, arbitration, url = chart_question
    refused = reviewer.post(f"{url}/decide/", {"choice": "pie chart please", "confirmed": "yes"}, follow=True)
    assert "Choose one of the options, or Other." in refused.content.decode()
    bare = reviewer.post(f"{url}/decide/", {"choice": "other", "other_outcome": "pie", "confirmed": "yes"}, follow=True)
    assert "write the outcome and why" in bare.content.decode()
    assert ArbitrationRequest.objects.get(pk=arbitration["id"]).status == "pending"

    reviewer.post(
        f"{url}/decide/",
        {"choice": "other", "other_outcome": "a table", "rationale": "exact numbers", "confirmed": "yes"},
    )
    decision = Decision.objects.get()
    assert (decision.outcome, decision.rationale) == ("a table", "exact numbers")


def test_an_effect_says_when_the_intent_stays_blocked(reviewer, api):
    intent = active_intent(api, "Two questions")
    first = api.post(f"/api/v1/intents/{intent['id']}/arbitrate", {"reason": "one"}, format="json").json()
    api.post(f"/api/v1/intents/{intent['id']}/arbitrate", {"reason": "two"}, format="json")
    url = f"/admin/governance/arbitrationrequest/{first['id']}/decide/"
    page = reviewer.post(url, {"choice": "other", "other_outcome": "yes", "rationale": "fine"}).content.decode()
    assert "The intent stays blocked: 1 other arbitration request(s) on it wait for a decision." in page


def test_the_arbitration_list_opens_on_pending(reviewer, api, chart_question):
    settled = active_intent(api, "Settled")
    done = api.post(f"/api/v1/intents/{settled['id']}/arbitrate", {"reason": "already settled"}, format="json").json()
    reviewer.post(
        f"/admin/governance/arbitrationrequest/{done['id']}/decide/",
        {"choice": "other", "other_outcome": "ok", "rationale": "ok", "confirmed": "yes"},
    )
    default = reviewer.get("/admin/governance/arbitrationrequest/").content.decode()
    assert "Which chart?" in default and "already settled" not in default
    everything = reviewer.get("/admin/governance/arbitrationrequest/?status=all").content.decode()
    assert "Which chart?" in everything and "already settled" in everything


def test_settling_steps_the_version_so_a_stale_write_is_refused(reviewer, api):
    intent = api.post("/api/v1/intents", {"title": "Vendor"}, format="json").json()
    url = f"/api/v1/intents/{intent['id']}"
    versioned(api, "post", f"{url}/state", 1, {"state": {"a": 1}})
    arbitration = api.post(f"{url}/arbitrate", {"reason": "tie"}, format="json").json()
    assert (api.get(url).json()["status"], api.get(url).json()["version"]) == ("blocked", 3)

    response = reviewer.post(
        f"/admin/governance/arbitrationrequest/{arbitration['id']}/decide/",
        {"choice": "other", "other_outcome": "vendor b", "rationale": "better support", "confirmed": "yes"},
    )
    assert response.status_code == 302

    settled = api.get(url).json()
    assert (settled["status"], settled["version"]) == ("active", 4)
    change = event_log(api, intent["id"], event_type="status_changed")[-1]
    assert (change["actor"], change["payload"]["status"], change["payload"]["version"]) == ("reviewer", "active", 4)
    stale = versioned(api, "post", f"{url}/state", 3, {"state": {"a": 2}})
    assert (stale.status_code, stale.json()["current_version"]) == (409, 4)


# Access requests ---------------------------------------------------------------------------------------------------


def test_reviewer_approves_an_access_request_and_the_agent_gets_in(reviewer, other_api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    asked = other_api.post(f"{url}/access-requests", {"requested_permission": "read"}, format="json").json()
    assert other_api.get(url).status_code == 403

    change = f"/admin/intents/accessrequest/{asked['id']}/change/"
    review = {"decision": "approve", "grant_permission": "", "note": "fine"}
    effect = reviewer.post(change, review).content.decode()
    assert "Grant agent-synth read access to “Quarterly numbers”" in effect
    assert AccessRequest.objects.get(pk=asked["id"]).status == "pending"
    response = reviewer.post(change, {**review, "confirmed": "yes"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    history = LogEntry.objects.get(object_id=asked["id"])
    assert (history.user.username, history.get_change_message()) == ("reviewer", "Approved")
    assert other_api.get(url).status_code == 200
    access_request = AccessRequest.objects.get(pk=asked["id"])
    assert (access_request.status, access_request.decided_by) == ("approved", "reviewer")
    page = reviewer.get(change).content.decode()
    assert 'name="decision"' not in page and 'name="_save"' not in page


def test_reviewer_denies_and_nothing_is_granted(reviewer, other_api, closed_intent):
    url = f"/api/v1/intents/{closed_intent['id']}"
    asked = other_api.post(f"{url}/access-requests", {}, format="json").json()
    change = f"/admin/intents/accessrequest/{asked['id']}/change/"
    assert "closed for good" in reviewer.post(change, {"decision": "deny", "note": "no"}).content.decode()
    reviewer.post(change, {"decision": "deny", "note": "no", "confirmed": "yes"})
    assert other_api.get(url).status_code == 403
    denied = AccessRequest.objects.get(pk=asked["id"])
    assert (denied.status, denied.decision_reason, denied.decided_by) == ("denied", "no", "reviewer")


# Budget overruns ---------------------------------------------------------------------------------------------------


def test_acknowledging_an_overrun_is_confirmed_and_logged_on_the_intent_and_in_the_history(reviewer, api):
    paid = overrun(api)
    item = BudgetOverrun.objects.get()
    page = reviewer.get(f"/admin/intents/budgetoverrun/{item.pk}/change/").content.decode()
    assert f'href="/admin/intents/budgetoverrun/{item.pk}/acknowledge/"' in page
    assert 'name="_save"' not in page
    assert "$1.00" in page and "$2.00" in page

    asked = reviewer.get(f"/admin/intents/budgetoverrun/{item.pk}/acknowledge/").content.decode()
    assert "Spending is not stopped." in asked and "$2.00 spent, limit $1.00" in asked
    assert BudgetOverrun.objects.get().acknowledged_at is None

    done = reviewer.post(f"/admin/intents/budgetoverrun/{item.pk}/acknowledge/", {"next": "/admin/"})
    assert done["Location"] == "/admin/"
    assert BudgetOverrun.objects.get().acknowledged_by == "reviewer"
    logged = event_log(api, paid["id"], event_type="budget_overrun_acknowledged")
    assert [(e["actor"], e["payload"]["limit"]) for e in logged] == [("reviewer", "max_total_cents")]
    assert LogEntry.objects.get(object_id=str(item.pk)).user.username == "reviewer"
    assert "Budget overruns (0)" in reviewer.get("/admin/").content.decode()

    reviewer.post(f"/admin/intents/budgetoverrun/{item.pk}/acknowledge/")
    assert len(event_log(api, paid["id"], event_type="budget_overrun_acknowledged")) == 1


def test_overruns_are_acknowledged_from_the_list_after_a_confirmation(reviewer, api):
    overrun(api, "One")
    overrun(api, "Two")
    ids = [str(pk) for pk in BudgetOverrun.objects.values_list("pk", flat=True)]
    listing = "/admin/intents/budgetoverrun/"
    page = reviewer.get(listing).content.decode()
    assert "Waiting for a reviewer" in page and "Empty" not in page

    asked = reviewer.post(listing, {"action": "acknowledge", "_selected_action": ids}).content.decode()
    assert "Spending is not stopped." in asked
    assert not BudgetOverrun.objects.filter(acknowledged_at__isnull=False).exists()
    reviewer.post(listing, {"action": "acknowledge", "_selected_action": ids, "confirmed": "yes"})
    assert BudgetOverrun.objects.filter(acknowledged_by="reviewer").count() == 2
    assert IntentEvent.objects.filter(event_type="budget_overrun_acknowledged").count() == 2
    assert LogEntry.objects.count() == 2


# Confirmations before what cannot be undone -------------------------------------------------------------------------


def test_revoking_a_lease_from_its_page_asks_first_then_goes_through_the_service(reviewer, api, other_api):
    intent = new_intent(api, title="Leased")
    other_api.post(f"/api/v1/intents/{intent['id']}/leases", {"scope": "analysis"}, format="json")
    lease = Lease.objects.get()
    page = reviewer.get(f"/admin/intents/lease/{lease.pk}/change/").content.decode()
    assert f'href="/admin/intents/lease/{lease.pk}/revoke/"' in page

    asked = reviewer.get(f"/admin/intents/lease/{lease.pk}/revoke/").content.decode()
    assert "held by agent-synth" in asked and "This cannot be undone." in asked
    assert Lease.objects.get().status == "active"
    reviewer.post(f"/admin/intents/lease/{lease.pk}/revoke/")
    assert Lease.objects.get().status == "revoked"
    assert event_log(api, intent["id"], event_type="lease_released")[-1]["actor"] == "reviewer"
    assert LogEntry.objects.get(object_id=str(lease.pk)).change_message.startswith("Revoke")


def test_revoking_an_access_grant_from_the_desk_asks_first(reviewer, api, other_api, closed_intent):
    soon = (timezone.now() + timedelta(days=1)).isoformat()
    entry = api.post(
        f"/api/v1/intents/{closed_intent['id']}/acl/entries",
        {"principal_id": "agent-synth", "permission": "read", "expires_at": soon},
        format="json",
    ).json()
    section = queue_section(reviewer.get("/admin/").content.decode(), "expiring-access")
    revoke = re.search(r'href="(/admin/intents/aclentry/[^"]+/revoke/\?next=[^"]+)">Revoke', section).group(1)
    revoke = revoke.replace("&amp;", "&")
    assert "This cannot be undone" in reviewer.get(revoke).content.decode()
    assert other_api.get(f"/api/v1/intents/{closed_intent['id']}").status_code == 200

    done = reviewer.post(revoke)
    assert done["Location"] == "/admin/"
    assert other_api.get(f"/api/v1/intents/{closed_intent['id']}").status_code == 403
    revoked = event_log(api, closed_intent["id"], event_type="access_revoked")
    assert [(e["actor"], e["payload"]["principal_id"]) for e in revoked] == [("reviewer", "agent-synth")]
    assert LogEntry.objects.filter(object_id=entry.get("id", entry.get("entry_id"))).exists()


# Webhook deliveries ------------------------------------------------------------------------------------------------


def test_a_delivery_page_shows_its_payload_its_intent_and_retries_now(reviewer, api, settings):
    intent, failing = failing_delivery(api, settings)
    assert failing.next_attempt_at > timezone.now()
    page = reviewer.get(f"/admin/intents/webhookdelivery/{failing.pk}/change/").content.decode()
    assert f'href="/admin/intents/intent/{intent["id"]}/change/"' in page
    assert "&quot;subscription_id&quot;" in page and "&quot;event_type&quot;: &quot;note&quot;" in page
    assert f'href="/admin/intents/webhookdelivery/{failing.pk}/retry/"' in page

    assert "again now" in reviewer.get(f"/admin/intents/webhookdelivery/{failing.pk}/retry/").content.decode()
    reviewer.post(f"/admin/intents/webhookdelivery/{failing.pk}/retry/")
    retried = WebhookDelivery.objects.get(pk=failing.pk)
    assert retried.status == "pending" and retried.next_attempt_at <= timezone.now()
    assert delivery.due() == [failing.pk]
    assert LogEntry.objects.get(object_id=str(failing.pk)).user.username == "reviewer"


def test_a_failed_delivery_gets_one_more_attempt(reviewer, api, settings):
    _, failing = failing_delivery(api, settings)
    WebhookDelivery.objects.filter(pk=failing.pk).update(status="failed", attempts=8, next_attempt_at=None)
    reviewer.post(f"/admin/intents/webhookdelivery/{failing.pk}/retry/")
    retried = WebhookDelivery.objects.get(pk=failing.pk)
    assert (retried.status, retried.attempts) == ("pending", settings.OPENINTENT_WEBHOOK_MAX_ATTEMPTS - 1)
    delivery.deliver(failing.pk)
    assert WebhookDelivery.objects.get(pk=failing.pk).status == "failed"


# The intent page ---------------------------------------------------------------------------------------------------


def test_the_intent_page_tells_the_whole_story(reviewer, api, other_api):
    budget = {"budget": {"max_total_cents": 500, "max_per_agent_cents": 400}}
    intent = active_intent(api, "Launch", constraints=budget)
    url = f"/api/v1/intents/{intent['id']}"
    child = api.post(f"{url}/children", {"title": "Write copy"}, format="json").json()
    prerequisite = new_intent(api, title="Legal review")
    versioned(api, "post", f"{url}/dependencies", api.get(url).json()["version"], {"dependency_id": prerequisite["id"]})
    follower = new_intent(api, title="Announce")
    versioned(api, "post", f"/api/v1/intents/{follower['id']}/dependencies", 1, {"dependency_id": intent["id"]})
    api.post(f"{url}/costs", {"cost_type": "api_call", "amount": 1.5, "unit": "USD"}, format="json")
    api.put(
        f"{url}/retry-policy",
        {"strategy": "exponential", "max_retries": 4, "fallback_agent_id": "agent-backup"},
        format="json",
    )
    api.put(f"{url}/acl", {"default_policy": "restricted"}, format="json")
    other_api.post(f"{url}/access-requests", {"reason": "I can help"}, format="json")

    page = reviewer.get(f"/admin/intents/intent/{intent['id']}/change/").content.decode()

    for text in [
        f'href="/admin/intents/intent/{child["id"]}/change/">Write copy</a>',
        f'href="/admin/intents/intent/{prerequisite["id"]}/change/">Legal review</a>',
        f'href="/admin/intents/intent/{follower["id"]}/change/">Announce</a>',
        "Needed by",
        "Budget and spending",
        "$5.00",
        "$1.50",
        "30 %",
        "exponential, at most 4 retries",
        "agent-backup",
        "restricted",
        "agent-synth asks for write: “I can help”",
        'class="badge badge-waiting">blocked',
    ]:
        assert text in page, text
    # Money with two decimals; no section without rows; no row headed by an object's internal name.
    assert "1.500000" not in page and "1.50" in page
    for empty in ["Attachments", "Failures", "Arbitration requests", "Decisions", "Leases"]:
        assert f">{empty}</h2>" not in page, empty
    assert "object (" not in page


def test_a_timeline_of_2000_events_is_paginated_with_seconds_and_one_line_each(reviewer, api):
    intent = new_intent(api, title="Chatty")
    IntentEvent.objects.bulk_create(
        IntentEvent(intent_id=intent["id"], event_type="note", actor="agent-x", payload={"n": n, "text": "x" * 60})
        for n in range(2000)
    )
    response = reviewer.get(f"/admin/intents/intent/{intent['id']}/change/")
    page = response.content.decode()
    assert len(response.content) < 200_000
    assert "Timeline (2001 events, newest first)" in page
    timeline = page[page.index('id="timeline"') :]
    assert len(re.findall(r'<td class="when">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>', timeline)) == 50
    assert len(re.findall(r"<details><summary>Note: n=\d+, text=x{39}…</summary>", timeline)) == 50
    assert "Page 1 of 41" in timeline

    last = reviewer.get(f"/admin/intents/intent/{intent['id']}/change/?timeline_page=41").content.decode()
    assert "Page 41 of 41" in last and "Created" in last


def test_another_app_adds_its_queue_with_one_entry(reviewer, api, monkeypatch):
    monkeypatch.setattr(queues, "QUEUES", list(queues.QUEUES))
    urgent = queues.Queue(
        key="urgent",
        label="Urgent intents",
        empty="Nothing urgent.",
        queryset=lambda: Intent.objects.filter(title__startswith="URGENT"),
        since="created_at",
        since_label="waiting since",
        columns=(queues.Column("Intent", queues.intent_link),),
        see_all=lambda: queues.admin_url(Intent, query={"q": "URGENT"}),
    )
    queues.register(urgent, after="arbitrations")
    queues.register(urgent, after="arbitrations")  # registering twice (ready() run again) adds it once
    new_intent(api, title="URGENT: the fire alarm")

    assert [queue.key for queue in queues.QUEUES][:3] == ["arbitrations", "urgent", "access-requests"]
    section = queue_section(reviewer.get("/admin/").content.decode(), "urgent")
    assert "Urgent intents (1)" in section and "URGENT: the fire alarm" in section
    assert reviewer.get("/admin/desk/urgent/").status_code == 200


def test_a_request_reviewed_in_two_tabs_is_decided_once(reviewer, other_api, closed_intent):
    asked = other_api.post(f"/api/v1/intents/{closed_intent['id']}/access-requests", {}, format="json").json()
    change = f"/admin/intents/accessrequest/{asked['id']}/change/"
    first_tab = reviewer.post(change, {"decision": "deny", "note": "no"})  # both tabs show the confirmation
    second_tab = reviewer.post(change, {"decision": "approve", "note": "yes"})
    assert "closed for good" in first_tab.content.decode() and "Grant agent-synth" in second_tab.content.decode()

    reviewer.post(change, {"decision": "deny", "note": "no", "confirmed": "yes"})
    late = reviewer.post(change, {"decision": "approve", "note": "yes", "confirmed": "yes"}, follow=True)
    assert late.status_code == 200
    assert AccessRequest.objects.get(pk=asked["id"]).status == "denied"
    assert other_api.get(f"/api/v1/intents/{closed_intent['id']}").status_code == 403
    assert [entry.get_change_message() for entry in LogEntry.objects.all()] == ["Denied"]


def test_an_action_that_no_longer_applies_says_so(reviewer, api):
    overrun(api)
    item = BudgetOverrun.objects.get()
    reviewer.post(f"/admin/intents/budgetoverrun/{item.pk}/acknowledge/")
    again = reviewer.post(f"/admin/intents/budgetoverrun/{item.pk}/acknowledge/", follow=True).content.decode()
    assert "“Acknowledge” no longer applies" in again
    assert f'href="/admin/intents/budgetoverrun/{item.pk}/acknowledge/"' not in again
