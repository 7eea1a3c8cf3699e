"""``@Memory`` (from openintent.agents) against a live server: RFC-0015 has no server object for an agent's memory
configuration, so the declaration configures ``self.memory`` of the agents that name it: its namespace and tier,
a ``ttl`` on new entries, and a capacity kept by evicting the least recently used (or oldest) unpinned entries."""

import pytest
from openintent import Agent, OpenIntentClient
from openintent.agents import Memory

from .conftest import AGENT, KEY
from .test_coordinator_runtime import run_async


def entries(url, namespace):
    client = OpenIntentClient(url, KEY, AGENT)
    try:
        return client.list_memory(AGENT, namespace, limit=1000)
    finally:
        client.close()


def test_the_declared_namespace_tier_ttl_and_capacity_apply_to_self_memory(live_server_url):
    @Memory(tier="episodic", capacity=3, eviction="fifo", ttl=3600)
    class ResearchMemory:
        namespace = "research"
        auto_archive = True

    @Agent(AGENT, api_key=KEY, memory=ResearchMemory)
    class Researcher:
        pass

    agent = Researcher(base_url=live_server_url)
    assert (agent.memory.namespace, agent.memory.tier) == ("research", "episodic")
    assert agent.memory.declared.auto_archive is True

    async def remember():
        await agent.memory.store("first", {"n": 1})
        await agent.memory.pin("first")
        for n in range(2, 6):
            await agent.memory.store(f"note-{n}", {"n": n})
        await agent.memory.store("note-5", {"n": 55})  # a replaced entry is not a new one: nothing evicted
        return [entry.key for entry in await agent.memory.recall()]

    kept = run_async(agent, remember)
    # Capacity 3: the pinned entry stays, the oldest unpinned ones (note-2, note-3) went.
    assert sorted(kept) == ["first", "note-4", "note-5"]
    stored = entries(live_server_url, "research")
    assert {e.key: e.memory_type for e in stored} == {"first": "episodic", "note-4": "episodic", "note-5": "episodic"}
    assert all(e.expires_at is not None and e.ttl == "duration:PT3600S" for e in stored if not e.pinned)
    assert entries(live_server_url, AGENT) == []  # nothing in the agent's default namespace


def test_the_readme_memory_declaration_and_0_9_1_form(live_server_url):
    namespace: dict = {}
    block = """
from openintent.agents import Memory

@Memory(tier="episodic", capacity=1000, eviction="lru")
class AgentMemoryConfig:
    namespace = "research"
    auto_archive = True
"""
    exec(compile(block, "README memory", "exec"), namespace)
    declared = namespace["AgentMemoryConfig"]._memory
    assert (declared.namespace, declared.tier, declared.capacity, declared.eviction) == (
        "research",
        "episodic",
        1000,
        "lru",
    )

    @Memory("notes", tier="semantic", ttl="PT1H", max_entries=10)
    class Old:
        pass

    assert (Old._memory.namespace, Old._memory.tier, Old._memory.ttl, Old._memory.capacity) == (
        "notes",
        "semantic",
        "duration:PT1H",
        10,
    )
    with pytest.raises(ValueError, match="tier must be one of"):
        Memory(tier="forever")(type("Bad", (), {}))
    with pytest.raises(ValueError, match="eviction must be one of"):
        Memory(eviction="random")(type("Bad", (), {}))
    with pytest.raises(ValueError, match="capacity is a number"):
        Memory(capacity=0)(type("Bad", (), {}))
    with pytest.raises(TypeError, match="unknown attributes namespce"):
        Memory()(type("Typo", (), {"namespce": "x"}))
