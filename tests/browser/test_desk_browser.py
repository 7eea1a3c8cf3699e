"""A reviewer works the governance desk in real headless Chromium against a live server."""

import shutil
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"
AGENT = {"X-API-Key": "agent-synth-key"}
OWNER = {"X-API-Key": "agent-research-key"}


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
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server_url}/admin/login/")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", "desk-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#desk")
    return page


def closed_intent(url, title):
    intent = httpx.post(f"{url}/api/v1/intents", json={"title": title}, headers=OWNER).json()
    httpx.put(f"{url}/api/v1/intents/{intent['id']}/acl", json={"default_policy": "closed"}, headers=OWNER)
    return intent


def test_reviewer_approves_an_access_request_and_the_agents_next_call_succeeds(live_server_url, reviewer_page):
    intent = closed_intent(live_server_url, "Board minutes")
    intent_url = f"{live_server_url}/api/v1/intents/{intent['id']}"
    httpx.post(f"{intent_url}/access-requests", json={"reason": "summarise them"}, headers=AGENT)
    assert httpx.get(intent_url, headers=AGENT).status_code == 403

    page = reviewer_page
    page.goto(f"{live_server_url}/admin/")
    page.click("#queue-access-requests a:text('agent-synth')")
    page.check("input[name=decision][value=approve]")
    page.fill("textarea[name=note]", "summaries are fine")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")

    assert httpx.get(intent_url, headers=AGENT).status_code == 200
    events = httpx.get(f"{intent_url}/events", headers=OWNER).json()
    approved = [event for event in events if event["event_type"] == "access_request_approved"]
    assert approved[0]["actor"] == "reviewer"


def test_reviewer_decides_an_arbitration_and_the_decision_appears_in_the_api(live_server_url, reviewer_page):
    intent = httpx.post(f"{live_server_url}/api/v1/intents", json={"title": "Pick a vendor"}, headers=OWNER).json()
    intent_url = f"{live_server_url}/api/v1/intents/{intent['id']}"
    httpx.post(f"{intent_url}/arbitrate", json={"reason": "Vendors A and B tie on price"}, headers=OWNER)
    budget = {"budget": {"max_total_cents": 500}}
    paid = httpx.post(f"{live_server_url}/api/v1/intents", json={"title": "Paid", "constraints": budget}, headers=OWNER)
    cost = {"cost_type": "api_call", "amount": 7.5, "unit": "USD"}
    httpx.post(f"{live_server_url}/api/v1/intents/{paid.json()['id']}/costs", json=cost, headers=OWNER)
    other = closed_intent(live_server_url, "Payroll")
    httpx.post(f"{live_server_url}/api/v1/intents/{other['id']}/access-requests", json={}, headers=AGENT)

    page = reviewer_page
    page.goto(f"{live_server_url}/admin/")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "desk.png"), full_page=True)

    page.click("#queue-arbitrations a:text('Vendors A and B tie on price')")
    page.fill("input[name=outcome]", "Vendor B")
    page.fill("textarea[name=rationale]", "Better support terms")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")

    decisions = httpx.get(f"{intent_url}/decisions", headers=OWNER).json()["decisions"]
    assert [(d["outcome"], d["decided_by"], d["rationale"]) for d in decisions] == [
        ("Vendor B", "reviewer", "Better support terms")
    ]
    arbitrations = httpx.get(f"{intent_url}/arbitrations", headers=OWNER).json()["arbitrations"]
    assert arbitrations[0]["status"] == "resolved"
