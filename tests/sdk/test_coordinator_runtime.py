"""``@Coordinator`` against a live server: a two-agent pipeline under a coordinator runs to completion (the second
agent's intent waits, blocked, for the first's), with the coordinator holding a real coordinator lease under a
person; a portfolio ending with an abandoned member ends ``execute()``; delegation fires the target's
``@on_handoff``; an escalation fires ``@on_escalation``, whose ``record_decision`` reaches the server."""

import asyncio
import threading

import pytest
from openintent import (
    Agent,
    Coordinator,
    IntentSpec,
    IntentStatus,
    OpenIntentClient,
    PortfolioEnded,
    PortfolioSpec,
    Worker,
    on_all_complete,
    on_escalation,
    on_handoff,
)

from ..conftest import wait_for
from .conftest import AGENT, KEY, OTHER_AGENT, OTHER_KEY
from .test_agents import last_id, running

WAIT = 60
SUPERVISOR = "reviewer"


@pytest.fixture
def boss(live_server_url, person_api):
    client = OpenIntentClient(live_server_url, OTHER_KEY, OTHER_AGENT)
    yield client
    client.close()


def run_async(agent, coroutine_function):
    """Run ``coroutine_function()`` on a loop of its own, closing the agent's async client after."""

    async def go():
        try:
            return await coroutine_function()
        finally:
            await agent.async_client.close()

    return asyncio.run(go())


def test_a_two_agent_pipeline_under_a_coordinator_runs_to_completion(boss, live_server_url):
    start = last_id(boss, boss.create_intent("start marker").id)
    order: list = []

    def research(intent):
        order.append(intent.title)
        return {"notes": f"notes on {intent.title}"}

    def write(intent):
        order.append(intent.title)
        notes = boss.get_dependencies(intent.id)[0].state.get("notes")
        return {"draft": f"draft from {notes}"}

    @Coordinator(
        "pipeline", agents=["researcher", "writer"], supervisor=SUPERVISOR, guardrails={"max_budget_usd": 100.0}
    )
    class Pipeline:
        @on_all_complete
        async def finalize(self, portfolio):
            return self._merge_results(portfolio, (await self.async_client.get_portfolio_intents(portfolio.id))[0])

    spec = PortfolioSpec(
        "report",
        intents=[
            IntentSpec("write", assign="writer", depends_on=["research"]),
            IntentSpec("research", assign="researcher"),
        ],
    )
    researcher = Worker("researcher", research, live_server_url, KEY, last_event_id=start)
    writer = Worker("writer", write, live_server_url, KEY, last_event_id=start)
    coordinator = Pipeline(live_server_url, KEY)
    with running(researcher), running(writer):
        result = run_async(coordinator, lambda: coordinator.execute(spec, poll_seconds=0.2))
    assert order == ["research", "write"]
    assert result["name"] == "report"
    assert result["intents"]["research"]["notes"] == "notes on research"
    assert result["intents"]["write"]["draft"] == "draft from notes on research"
    owner = OpenIntentClient(live_server_url, KEY, "pipeline")  # a portfolio is its creator's
    intents, aggregate = owner.get_portfolio_intents(result["portfolio_id"])
    owner.close()
    assert aggregate.completion_percentage == 100
    assert {i.status for i in intents} == {IntentStatus.COMPLETED}
    write_intent = next(i for i in intents if i.title == "write")
    records = boss.list_decision_records(write_intent.id)
    assert [(r.coordinator_id, r.decision_type, r.summary) for r in records] == [
        ("pipeline", "task_assigned", "write to writer")
    ]


def test_an_abandoned_member_ends_execute(boss, live_server_url):
    @Coordinator("pipeline", supervisor=SUPERVISOR)
    class Pipeline:
        pass

    coordinator = Pipeline(live_server_url, KEY)
    spec = PortfolioSpec("doomed", intents=[IntentSpec("never done")])
    outcome: list = []

    def execute():
        try:
            run_async(coordinator, lambda: coordinator.execute(spec, poll_seconds=0.2))
        except PortfolioEnded as exc:
            outcome.append(exc)

    thread = threading.Thread(target=execute, daemon=True)
    thread.start()
    intent = wait_for(lambda: next(iter(boss.list_intents(q="never done")), None), WAIT)
    boss.set_status(intent.id, intent.version, "abandoned")
    thread.join(WAIT)
    assert not thread.is_alive()
    assert [exc.portfolio.name for exc in outcome] == ["doomed"]
    assert [i.status for i in outcome[0].intents] == [IntentStatus.ABANDONED]


def test_delegation_escalation_and_decisions(boss, live_server_url):
    handed: list = []
    escalated: list = []

    @Agent(AGENT, api_key=KEY)
    class Target:
        @on_handoff
        async def take(self, intent, from_agent):
            handed.append((intent.title, from_agent))
            return {"taken_from": from_agent}

    @Coordinator("lead", supervisor=SUPERVISOR)
    class Lead:
        @on_escalation
        async def escalation(self, intent, source_agent):
            escalated.append((intent.title, source_agent))
            await self.record_decision("escalation_initiated", f"{source_agent} asked for help", "a person decides")

    handed_over = boss.create_intent("handed over")
    disputed = boss.create_intent("disputed")
    start = last_id(boss, disputed.id)
    target = Target(live_server_url, last_event_id=start)
    lead = Lead(live_server_url, KEY, last_event_id=start)
    with running(target), running(lead):
        assert wait_for(lambda: lead._loop is not None, WAIT)
        taking = lead.coordinate(disputed.id, heartbeat_interval=1)
        lease = asyncio.run_coroutine_threadsafe(taking, lead._loop).result(WAIT)
        assert lease.agent_id == "lead" and lease.supervisor_id == SUPERVISOR
        assert [c.status for c in boss.list_coordinator_leases(disputed.id)] == ["active"]
        first_beat = boss.get_coordinator_lease(lease.id).last_heartbeat
        assert wait_for(lambda: boss.get_coordinator_lease(lease.id).last_heartbeat != first_beat, WAIT)
        asyncio.run_coroutine_threadsafe(lead.delegate(handed_over.title, agents=[AGENT]), lead._loop).result(WAIT)
        assert wait_for(lambda: boss.get_intent(handed_over.id).status == IntentStatus.COMPLETED, WAIT)
        boss.request_arbitration(disputed.id, reason="we disagree")
        assert wait_for(lambda: boss.list_decision_records(disputed.id), WAIT)
    assert handed == [("handed over", "lead")]
    assert escalated == [("disputed", OTHER_AGENT)]
    records = boss.list_decision_records(disputed.id)
    assert [(r.coordinator_id, r.decision_type, r.summary) for r in records] == [
        ("lead", "escalation_initiated", f"{OTHER_AGENT} asked for help")
    ]
    # The coordinator's own assignment (role "coordinator") is not work: the disputed intent was not completed.
    assert boss.get_intent(disputed.id).status != IntentStatus.COMPLETED
