"""A reviewer works the governance desk in real headless Chromium against a live server, on a 1366 px wide screen:
settles, approves, acknowledges, revokes and follows links from the desk. The screenshots in docs/ come from here."""

import shutil
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model

from intents.subscriptions import delivery
from tests.conftest import start_server

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"
AGENT = {"X-API-Key": "agent-synth-key"}
OWNER = {"X-API-Key": "agent-research-key"}
WIDTH = 1366

# Every table within its box (its module, the list, the window): no column cut off or scrolled out of sight, and
# nothing wider than the window.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('table')]
    .filter(table => {
      const box = table.closest('.module, #changelist, .inline-group') || document.body;
      const right = Math.min(box.getBoundingClientRect().right, width);
      return table.getBoundingClientRect().right > right + 1 || table.scrollWidth > table.clientWidth + 1;
    })
    .map(table => (table.closest('[id]') || table).id || 'a table');
  if (document.documentElement.scrollWidth > width + 1) wide.push('the page');
  return wide;
}"""


@pytest.fixture
def live_server_url(server_env, transactional_db, keys):
    """A server process of each test's own. The admin history (LogEntry) makes a server process cache content type
    ids, which the database flush between tests renumbers: a server shared with an earlier test would write stale
    ids."""
    server = start_server(server_env)
    yield server.url
    server.stop()


@pytest.fixture
def reviewer(live_server_url):
    # Created before Playwright starts: its event loop makes the ORM refuse to run in this thread.
    return get_user_model().objects.create_superuser("reviewer", "reviewer@example.test", "desk-password")


@pytest.fixture
def browser(reviewer):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def reviewer_page(browser, live_server_url):
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    page.goto(f"{live_server_url}/admin/login/")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", "desk-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#desk")
    return page


def post(url, path, body, headers=OWNER):
    answer = httpx.post(f"{url}/api/v1{path}", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def started(url, title, **fields):
    intent = post(url, "/intents", {"title": title, **fields})
    answer = httpx.post(
        f"{url}/api/v1/intents/{intent['id']}/state",
        json={"state": {"started": True}},
        headers={**OWNER, "If-Match": "1"},
    )
    assert answer.status_code == 200, answer.text
    return intent


def closed_intent(url, title):
    intent = post(url, "/intents", {"title": title})
    httpx.put(f"{url}/api/v1/intents/{intent['id']}/acl", json={"default_policy": "closed"}, headers=OWNER)
    return intent


def a_busy_desk(url):
    """A dozen things waiting: arbitrations with options, access requests, overruns, blocked intents, retries."""
    chart = started(url, "Monthly revenue chart", description="The chart for the board pack")
    options = [
        {"id": "bar", "label": "Bar chart", "description": "one bar per month"},
        {"id": "line", "label": "Line chart", "description": "shows the trend"},
    ]
    post(url, f"/intents/{chart['id']}/arbitrate", {"reason": "Which chart for the board?", "options": options})
    vendor = started(url, "Pick a vendor")
    post(url, f"/intents/{vendor['id']}/arbitrate", {"reason": "Vendors A and B tie on price and on support terms"})
    paid = post(url, "/intents", {"title": "Market research", "constraints": {"budget": {"max_total_cents": 500}}})
    post(url, f"/intents/{paid['id']}/costs", {"cost_type": "api_call", "amount": 7.5, "unit": "USD"})
    for title in ["Payroll", "Board minutes"]:
        other = closed_intent(url, title)
        post(url, f"/intents/{other['id']}/access-requests", {"reason": f"summarise the {title.lower()}"}, AGENT)
    flaky = started(url, "Nightly import")
    httpx.put(
        f"{url}/api/v1/intents/{flaky['id']}/retry-policy", json={"strategy": "fixed", "max_retries": 0}, headers=OWNER
    )
    post(url, f"/intents/{flaky['id']}/failures", {"error_code": "UPSTREAM_TIMEOUT", "attempt_number": 1})
    return chart, vendor, paid, flaky


def test_reviewer_decides_an_arbitration_on_its_decision_screen(live_server_url, reviewer_page):
    chart, *_ = a_busy_desk(live_server_url)
    page = reviewer_page
    page.goto(f"{live_server_url}/admin/")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "desk.png"), full_page=True)
    assert page.evaluate(OVERFLOW) == []
    assert page.inner_text("#queue-arbitrations h2") == "Arbitration requests (2)"

    page.click("#queue-arbitrations a:text('Which chart for the board?')")
    page.wait_for_selector("#decision")
    page.fill("#id_rationale", "The board reads trends")
    page.screenshot(path=str(DOCS / "decision.png"), full_page=True)
    page.click("button[name=choice][value=line]")
    effect = page.inner_text("#effect")
    assert "This records the decision “Line chart” on “Monthly revenue chart”" in effect
    assert "The intent becomes active again." in effect
    page.click("#confirm-action")
    page.wait_for_selector("#desk")
    assert page.locator(".messagelist li").count() == 1
    assert page.inner_text("#queue-arbitrations h2") == "Arbitration requests (1)"

    intent_url = f"{live_server_url}/api/v1/intents/{chart['id']}"
    decisions = httpx.get(f"{intent_url}/decisions", headers=OWNER).json()["decisions"]
    assert [(d["outcome"], d["decided_by"], d["rationale"]) for d in decisions] == [
        ("line", "reviewer", "The board reads trends")
    ]
    assert httpx.get(intent_url, headers=OWNER).json()["status"] == "active"


def test_reviewer_approves_an_access_request_and_the_agents_next_call_succeeds(live_server_url, reviewer_page):
    intent = closed_intent(live_server_url, "Board minutes")
    intent_url = f"{live_server_url}/api/v1/intents/{intent['id']}"
    httpx.post(f"{intent_url}/access-requests", json={"reason": "summarise them"}, headers=AGENT)
    assert httpx.get(intent_url, headers=AGENT).status_code == 403

    page = reviewer_page
    page.goto(f"{live_server_url}/admin/")
    page.click("#queue-access-requests a.button:text('Review')")
    page.check("input[name=decision][value=approve]")
    page.fill("textarea[name=note]", "summaries are fine")
    page.click("input[name=_save]")
    assert "Grant agent-synth write access to “Board minutes”" in page.inner_text("#effect")
    page.click("#confirm-action")
    page.wait_for_selector("#desk")

    assert httpx.get(intent_url, headers=AGENT).status_code == 200
    events = httpx.get(f"{intent_url}/events", headers=OWNER).json()
    approved = [event for event in events if event["event_type"] == "access_request_approved"]
    assert approved[0]["actor"] == "reviewer"
    assert page.inner_text("#queue-access-requests h2") == "Access requests (0)"


def test_reviewer_acknowledges_an_overrun_from_the_desk(live_server_url, reviewer_page):
    _, _, paid, _ = a_busy_desk(live_server_url)
    page = reviewer_page
    page.goto(f"{live_server_url}/admin/")
    page.click("#queue-budget-overruns a.button:text('Acknowledge')")
    assert "Spending is not stopped." in page.inner_text("#effect")
    page.click("#confirm-action")
    page.wait_for_selector("#desk")
    assert page.inner_text("#queue-budget-overruns h2") == "Budget overruns (0)"
    events = httpx.get(f"{live_server_url}/api/v1/intents/{paid['id']}/events", headers=OWNER).json()
    acknowledged = [event for event in events if event["event_type"] == "budget_overrun_acknowledged"]
    assert [event["actor"] for event in acknowledged] == ["reviewer"]


def test_reviewer_follows_links_from_the_desk_to_the_intent_and_revokes_a_lease(live_server_url, reviewer_page):
    _, vendor, _, _ = a_busy_desk(live_server_url)
    post(live_server_url, f"/intents/{vendor['id']}/leases", {"scope": "negotiation"}, AGENT)
    for number in range(120):
        post(live_server_url, f"/intents/{vendor['id']}/events", {"event_type": "note", "payload": {"n": number}})
    page = reviewer_page
    page.goto(f"{live_server_url}/admin/")
    page.click("#queue-blocked a:text('Pick a vendor')")
    page.wait_for_selector("#timeline")
    assert "Timeline (" in page.inner_text("#timeline h2")
    assert page.locator("#timeline tbody tr").count() == 50
    assert page.evaluate(OVERFLOW) == []
    page.click("#timeline-pages a:text('Older')")
    page.wait_for_selector("#timeline")
    assert "Page 2 of" in page.inner_text("#timeline-pages")

    page.click(".inline-group:has(h2:text-is('Leases')) a:text('Open')")  # the lease row's own page
    page.click("a.object-action-revoke")
    assert "This cannot be undone." in page.inner_text("#effect")
    page.click("#confirm-action")
    page.wait_for_selector(".messagelist")
    events = httpx.get(f"{live_server_url}/api/v1/intents/{vendor['id']}/events", headers=OWNER).json()
    ended = [event for event in events if event["event_type"] == "lease_released"]
    assert [(event["actor"], event["payload"]["scope"]) for event in ended] == [("reviewer", "negotiation")]

    page.goto(f"{live_server_url}/admin/")
    page.click("#queue-retries a:text('See all 1')")
    page.wait_for_selector("#changelist")
    assert "Nightly import" in page.inner_text("#changelist")


def test_the_intent_page_tells_its_story_from_a_desk_link(live_server_url, reviewer_page):
    url = live_server_url
    _, _, paid, _ = a_busy_desk(url)
    post(url, f"/intents/{paid['id']}/children", {"title": "Survey the competitors"})
    post(url, f"/intents/{paid['id']}/costs", {"cost_type": "compute", "amount": 0.25, "unit": "USD"}, AGENT)
    httpx.put(
        f"{url}/api/v1/intents/{paid['id']}/retry-policy",
        json={"strategy": "exponential", "max_retries": 3, "fallback_agent_id": "agent-backup"},
        headers=OWNER,
    )
    post(url, f"/intents/{paid['id']}/events", {"event_type": "note", "payload": {"text": "first draft is in"}})
    page = reviewer_page
    page.goto(f"{url}/admin/")
    page.click("#queue-budget-overruns a:text('Market research')")
    page.wait_for_selector("#timeline")
    for section, text in [
        ("#graph", "Survey the competitors"),
        ("#budget", "$7.75"),
        ("#budget", "over budget"),
        ("#budget", "The overrun of the total budget waits for a reviewer"),
        ("#retries", "agent-backup"),
        ("#access", "open"),
        ("#timeline", "Budget exceeded: $7.50 spent, limit $5.00 (total budget)"),
        ("#timeline", "Note: text=first draft is in"),
    ]:
        assert text in page.inner_text(section), (section, text)
    page.click("#timeline summary:text('Note: text=first draft is in')")
    assert '"text": "first draft is in"' in page.inner_text("#timeline details[open] pre")
    page.screenshot(path=str(DOCS / "intent.png"), full_page=True)
    assert page.evaluate(OVERFLOW) == []


@pytest.fixture
def full_lists(live_server_url, reviewer):
    """Rows in every list checked for width, with long values: leases, a failing delivery to a long URL, grants."""
    url = live_server_url
    a_busy_desk(url)
    for number in range(3):
        intent = started(url, f"Quarterly report for the northern region, part {number} of the yearly review")
        post(url, f"/intents/{intent['id']}/leases", {"scope": f"analysis-of-regional-figures-{number}"}, AGENT)
        post(
            url,
            f"/intents/{intent['id']}/acl/entries",
            {"principal_id": f"agent-auditor-{number}", "permission": "read"},
        )
    watched = started(url, "Watched by a webhook")
    receiver = (
        "http://127.0.0.1:9/webhooks/openintent/receiver/with/a/rather/long/path?token=abcdefghijklmnopqrstuvwxyz"
    )
    post(url, "/subscriptions", {"intent_id": watched["id"], "webhook_url": receiver})
    event = post(url, f"/intents/{watched['id']}/events", {"event_type": "note", "payload": {"text": "hello"}})
    # The worker's part, here (no worker runs beside these servers): record the delivery and make one attempt.
    for pk in delivery.fan_out(event["id"]):
        delivery.deliver(pk)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/intents/lease/",
        "/admin/intents/webhookdelivery/",
        "/admin/intents/subscription/",
        "/admin/intents/budgetoverrun/",
        "/admin/governance/arbitrationrequest/",
        "/admin/intents/accessrequest/",
        "/admin/intents/aclentry/",
        "/admin/intents/intent/",
        "/admin/agents/toolgrant/",
        "/admin/agents/agent/",
    ],
)
def test_pages_fit_a_1366_pixel_screen(full_lists, live_server_url, reviewer_page, path):
    page = reviewer_page
    page.goto(f"{live_server_url}{path}")
    assert page.evaluate(OVERFLOW) == [], path
