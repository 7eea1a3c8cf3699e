"""``@Trigger`` (from openintent.agents) against a live server, with both clients: the product README's declaration
creates its trigger once (creating it again, as a restarted program does, returns the same one), each fire creates
the declared intent assigned to the declared agent, and a declaration that cannot work is refused when the class is
defined."""

from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("triggers.api", reason="the server's triggers app (RFC-0017) is not in this tree")

from openintent.agents import Trigger  # noqa: E402  after the skip

README_TRIGGER = """
from openintent.agents import Trigger

@Trigger(type="schedule", cron="0 18 * * *")
class DailySummary:
    intent_template = {"title": "Daily Summary for {{ date }}"}
    assign = "summary-bot"
"""


def create(oi, declared):
    return oi.run(declared.create(oi.client)) if oi.is_async else declared.create(oi)


def test_the_readme_trigger_is_created_once_and_its_fires_assign_the_declared_agent(oi):
    namespace: dict = {}
    exec(compile(README_TRIGGER, "README trigger", "exec"), namespace)
    DailySummary = namespace["DailySummary"]

    trigger = create(oi, DailySummary)
    assert trigger.name == "DailySummary" and trigger.type == "schedule"
    assert trigger.condition.cron == "0 18 * * *" and trigger.intent_template.assignee == "summary-bot"
    assert create(oi, DailySummary).id == trigger.id
    assert [t.id for t in oi.list_triggers() if t.name == "DailySummary"] == [trigger.id]

    fired = oi.fire_trigger(trigger.id)
    intent = oi.get_intent(fired["intent_id"])
    now = datetime.now(UTC)
    # The fire's date, today's or (across midnight) yesterday's.
    assert intent.title in {f"Daily Summary for {day.date().isoformat()}" for day in (now, now - timedelta(days=1))}
    assert intent.trigger_lineage.trigger_id == trigger.id
    assert [a.agent_id for a in oi.get_agents(intent.id)] == ["summary-bot"]


def test_declared_event_triggers_keep_their_name_namespace_and_deduplication(oi):
    @Trigger("on-escalation", type="event", event="state_patched", dedup="skip", filter={"status": "active"})
    class Escalations:
        namespace = "ops"
        intent_template = {"title": "Look at it", "type": "ops.review"}

    first = create(oi, Escalations)
    assert (first.name, first.namespace, first.deduplication) == ("on-escalation", "ops", "skip")
    assert first.condition.event == "state_patched" and first.condition.filter == {"status": "active"}
    assert create(oi, Escalations).id == first.id

    # Another namespace is another trigger.
    @Trigger("on-escalation", type="event", event="state_patched")
    class Elsewhere:
        namespace = "finance"

    assert create(oi, Elsewhere).id != first.id
    assert len([t for t in oi.list_triggers() if t.name == "on-escalation"]) == 2


def test_a_declaration_that_cannot_work_is_refused_when_defined():
    with pytest.raises(ValueError, match="needs a cron"):

        @Trigger(type="schedule")
        class NoCron:
            pass

    with pytest.raises(ValueError, match="needs the event type"):

        @Trigger(type="event")
        class NoEvent:
            pass

    with pytest.raises(ValueError, match="type must be one of"):
        Trigger(type="cron", cron="* * * * *")
    with pytest.raises(ValueError, match="dedup must be one of"):
        Trigger(cron="* * * * *", dedup="sometimes")
    with pytest.raises(TypeError, match="unknown attributes asign"):

        @Trigger(cron="* * * * *")
        class Typo:
            asign = "summary-bot"
