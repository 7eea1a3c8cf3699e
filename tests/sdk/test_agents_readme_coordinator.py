"""The product README's ``@Coordinator`` block and its first-class-object block (openintent 0.9.1's README), run
as written against a live server. The coordinator block names no supervisor, which RFC-0013 requires of a
coordinator lease: the test gives it one (``supervisor``) before it coordinates. The guardrail rules become the
server's guardrails; a conflict an agent met, an escalation and a quorum of votes fire its handlers, whose
decision records reach the server."""

import asyncio

import pytest
from openintent import IntentStatus, OpenIntentClient, Worker

from ..conftest import wait_for
from .conftest import AGENT, KEY, OTHER_AGENT, OTHER_KEY, PERSON_KEY
from .test_agents import completed, last_id, running
from .test_coordinator_conflicts_and_quorums import Interleaved
from .test_coordinator_runtime import SUPERVISOR, run_async

WAIT = 60

COORDINATOR_BLOCK = """
from openintent import (
    Coordinator, on_all_complete,
    on_conflict, on_escalation, on_quorum,
)

@Coordinator("pipeline",
    agents=["researcher", "analyst", "writer"],
    strategy="sequential",
    guardrails=["budget < 1000", "max_retries: 3"],
)
class ResearchPipeline:

    @on_conflict
    async def resolve(self, intent, conflict):
        await self.record_decision(
            decision_type="conflict_resolution",
            summary=f"Resolved on {intent.id}",
            rationale="Latest write wins"
        )

    @on_escalation
    async def escalate(self, intent, source_agent):
        await self.delegate(intent.title, agents=["senior-agent"])

    @on_quorum(threshold=0.6)
    async def consensus(self, intent, votes):
        await self.record_decision(
            decision_type="quorum",
            summary="Consensus reached",
            rationale=f"{len(votes)} votes in favor"
        )

    @on_all_complete
    async def finalize(self, portfolio):
        return self._merge_results(portfolio)
"""

OBJECTS_BLOCK = """
from openintent.agents import Plan, Vault, Memory, Trigger

@Plan(strategy="topological", checkpoints=True)
class DeploymentPlan:
    build = {"assign": "builder", "timeout": 300}
    test = {"assign": "tester", "depends_on": ["build"]}
    deploy = {"assign": "deployer", "depends_on": ["test"]}

@Vault(name="production-keys", rotation_policy="90d")
class ProdVault:
    openai = {"scopes": ["chat.completions"], "rate_limit": 100}
    database = {"scopes": ["read", "write"]}

@Memory(tier="episodic", capacity=1000, eviction="lru")
class AgentMemoryConfig:
    namespace = "research"
    auto_archive = True

@Trigger(type="schedule", cron="0 18 * * *")
class DailySummary:
    intent_template = {"title": "Daily Summary for {{ date }}"}
    assign = "summary-bot"
"""


@pytest.fixture
def boss(live_server_url, person_api):
    client = OpenIntentClient(live_server_url, OTHER_KEY, OTHER_AGENT)
    yield client
    client.close()


def test_the_coordinator_block(boss, live_server_url):
    namespace: dict = {}
    exec(compile(COORDINATOR_BLOCK, "README @Coordinator", "exec"), namespace)
    pipeline_class = namespace["ResearchPipeline"]
    raced = boss.create_intent("raced draft")
    ballot = boss.create_intent("ship it?")
    stuck = boss.create_intent("stuck report")
    for voter in ("researcher", "analyst", "writer"):
        boss.assign_agent(ballot.id, voter)
    start = last_id(boss, stuck.id)
    pipeline = pipeline_class(live_server_url, KEY, last_event_id=start)
    pipeline.supervisor = SUPERVISOR
    assert pipeline.agents == ["researcher", "analyst", "writer"]
    senior = Worker(
        "senior-agent", lambda intent: {"handled_by": "senior-agent"}, live_server_url, KEY, last_event_id=start
    )
    with running(pipeline), running(senior):
        assert wait_for(lambda: pipeline._loop is not None, WAIT)
        for intent in (raced, ballot, stuck):
            asyncio.run_coroutine_threadsafe(pipeline.coordinate(intent.id), pipeline._loop).result(WAIT)
        [lease] = boss.list_coordinator_leases(raced.id)
        assert lease.guardrails.max_budget_usd == 1000 and lease.guardrails.auto_escalate_after_failures == 3

        # A conflict: the researcher's write is refused once because the analyst wrote in between.
        researcher = Worker("researcher", lambda intent: None, live_server_url, KEY)

        def analyst_writes():
            boss.update_state(raced.id, boss.get_intent(raced.id).version, {"notes": "analyst"})

        async def write():
            researcher._async_client = Interleaved(live_server_url, KEY, "researcher", writes=[analyst_writes])
            await researcher.patch_state(raced.id, {"notes": "researcher"})

        run_async(researcher, write)
        assert wait_for(lambda: boss.list_decision_records(raced.id), WAIT)

        # A quorum: two of the three voters in favor reach 0.6.
        for voter in ("researcher", "analyst"):
            voting = OpenIntentClient(live_server_url, KEY, voter)
            voting.log_event(ballot.id, "vote", {"in_favor": True})
            voting.close()
        assert wait_for(lambda: boss.list_decision_records(ballot.id), WAIT)

        # An escalation: the intent is delegated to the senior agent, whose work completes it once unblocked.
        arbitration = boss.request_arbitration(stuck.id, reason="cannot finish")
        assert wait_for(lambda: "senior-agent" in [a.agent_id for a in boss.get_agents(stuck.id)], WAIT)
        person = OpenIntentClient(live_server_url, PERSON_KEY, "reviewer")
        person.record_decision(stuck.id, "arbitration", "go on", "the senior agent takes it", arbitration.id)
        person.close()
        assert wait_for(lambda: completed(boss, stuck.id), WAIT)
    [conflict] = boss.list_decision_records(raced.id)
    assert (conflict.decision_type, conflict.summary, conflict.rationale) == (
        "conflict_resolution",
        f"Resolved on {raced.id}",
        "Latest write wins",
    )
    [quorum] = boss.list_decision_records(ballot.id)
    assert (quorum.decision_type, quorum.rationale) == ("quorum", "2 votes in favor")
    assert boss.get_intent(raced.id).state.get("notes") == "researcher"
    assert boss.get_intent(stuck.id).state.get("handled_by") == "senior-agent"
    assert boss.get_intent(stuck.id).status == IntentStatus.COMPLETED


def test_the_guardrail_rules_the_server_has_no_guardrail_for_are_refused():
    namespace: dict = {}
    block = COORDINATOR_BLOCK.replace('"max_retries: 3"', '"mood: calm"')
    with pytest.raises(ValueError, match="unknown guardrail 'mood'"):
        exec(compile(block, "README @Coordinator, changed", "exec"), namespace)
    with pytest.raises(ValueError, match="a guardrail rule reads"):
        exec(compile(COORDINATOR_BLOCK.replace('"budget < 1000"', '"budget"'), "changed", "exec"), namespace)


def test_the_first_class_objects_block(boss, live_server_url):
    namespace: dict = {}
    exec(compile(OBJECTS_BLOCK, "README first-class objects", "exec"), namespace)
    intent = boss.create_intent("Deploy 2.0")
    plan = namespace["DeploymentPlan"].create(boss, intent.id)
    assert [boss.get_task(task_id).name for task_id in plan.tasks] == ["build", "test", "deploy"]
    vault = namespace["ProdVault"].create(boss, secrets={"openai": "sk-1", "database": "db-key"})
    assert sorted(c.service for c in boss.list_credentials(vault.id)) == ["database", "openai"]
    trigger = namespace["DailySummary"].create(boss)
    assert namespace["DailySummary"].create(boss).id == trigger.id
    made = boss.fire_trigger(trigger.id)["intent_id"]
    assert [a.agent_id for a in boss.get_agents(made)] == ["summary-bot"]

    from openintent import Agent

    @Agent(AGENT, api_key=KEY, memory=namespace["AgentMemoryConfig"])
    class Researcher:
        pass

    agent = Researcher(base_url=live_server_url)
    entry = run_async(agent, lambda: agent.memory.store("finding", {"text": "rates rise"}))
    assert (entry.namespace, entry.memory_type) == ("research", "episodic")
