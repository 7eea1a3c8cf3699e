"""``@on_trigger`` against a live server: an intent a trigger created and assigned to the agent (the template's
``assignee``) fires the handlers of that trigger's name and the nameless ones, instead of ``@on_assignment``; an
intent no trigger created, or one of a trigger no handler names, is an ordinary assignment."""

import pytest

pytest.importorskip("triggers.api", reason="the server's triggers app (RFC-0017) is not in this tree")

from openintent import Agent, OpenIntentClient, on_assignment, on_trigger  # noqa: E402  after the skip

from ..conftest import wait_for  # noqa: E402
from .conftest import AGENT, KEY, OTHER_AGENT, OTHER_KEY  # noqa: E402
from .test_agents import WAIT, completed, last_id, running  # noqa: E402


@pytest.fixture
def boss(live_server_url):
    """agent-synth: owns the triggers and the intents; agent-research is the agent under test."""
    client = OpenIntentClient(live_server_url, OTHER_KEY, OTHER_AGENT)
    yield client
    client.close()


def make_trigger(client, name):
    return client.create_trigger(
        name,
        "schedule",
        condition={"cron": "0 9 * * *"},
        intent_template={"title": f"made by {name}", "assignee": AGENT},
    )


def test_on_trigger_fires_for_an_intent_its_trigger_created(boss, live_server_url):
    log: list = []

    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1)
    class Reporter:
        @on_trigger("nightly-report")
        async def nightly(self, intent):
            log.append(("nightly", intent.title, intent.trigger_lineage.trigger_type))
            return {"report": "written"}

        @on_trigger()
        async def any_trigger(self, intent):
            log.append(("any", intent.title))

        @on_assignment
        async def assigned(self, intent):
            log.append(("assignment", intent.title))
            return {"assigned": True}

    nightly = make_trigger(boss, "nightly-report")
    other = make_trigger(boss, "hourly-digest")
    start = boss.create_intent("start marker")
    agent = Reporter(base_url=live_server_url, last_event_id=last_id(boss, start.id))
    with running(agent):
        by_nightly = boss.fire_trigger(nightly.id)["intent_id"]
        by_other = boss.fire_trigger(other.id)["intent_id"]
        plain = boss.create_intent("plain work")
        boss.assign_agent(plain.id, AGENT)
        assert wait_for(lambda: all(completed(boss, i) for i in (by_nightly, by_other, plain.id)), WAIT)
    assert sorted(log) == sorted(
        [
            ("nightly", "made by nightly-report", "schedule"),
            ("any", "made by nightly-report"),
            ("any", "made by hourly-digest"),
            ("assignment", "plain work"),
        ]
    )
    assert boss.get_intent(by_nightly).state.get("report") == "written"
    assert boss.get_intent(by_nightly).trigger_lineage.trigger_id == nightly.id
    assert "assigned" not in boss.get_intent(by_other).state.to_dict()
    assert boss.get_intent(plain.id).trigger_lineage is None


def test_a_trigger_no_handler_names_is_an_ordinary_assignment(boss, live_server_url):
    log: list = []

    @Agent(AGENT, api_key=KEY, reconnect_delay=0.1)
    class Nightly:
        @on_trigger("nightly-report")
        async def nightly(self, intent):
            log.append(("nightly", intent.title))

        @on_assignment
        async def assigned(self, intent):
            log.append(("assignment", intent.title))

    other = make_trigger(boss, "weekly-digest")
    start = boss.create_intent("start marker")
    agent = Nightly(base_url=live_server_url, last_event_id=last_id(boss, start.id))
    with running(agent):
        made = boss.fire_trigger(other.id)["intent_id"]
        assert wait_for(lambda: completed(boss, made), WAIT)
    assert log == [("assignment", "made by weekly-digest")]
