"""The product README's "Agent Abstractions" code blocks (openintent 0.9.1's README), run as written against a live
server. The helpers they leave undefined (``do_work``, ``do_research``, ``analyze``) are defined here; where a
block starts an agent with the defaults (``Worker("processor", process)`` then ``worker.run()``), the test points
the class at the live server and at a stream position it read first, and stops the agent once its work is done."""

import contextlib
import io
import re
import threading
from pathlib import Path

import openintent
import pytest
from openintent import IntentStatus, OpenIntentClient

from ..conftest import wait_for
from .conftest import KEY, OTHER_AGENT, OTHER_KEY
from .test_agents import last_id, running

WAIT = 60
SDK = Path(__file__).resolve().parents[2] / "sdk"

WORKER_BLOCK = """
from openintent import Worker

async def process(intent):
    return {"result": do_work(intent.title)}

worker = Worker("processor", process)
worker.run()
"""

AGENT_BLOCK = """
from openintent import Agent, on_assignment, on_complete, on_state_change

@Agent("research-agent",
    memory="episodic",
    tools=["web_search"],
    auto_heartbeat=True,
)
class ResearchAgent:

    @on_assignment
    async def handle_new(self, intent):
        past = await self.memory.recall(tags=["research"])
        findings = await do_research(intent.description, context=past)
        await self.memory.store(
            key=f"research-{intent.id}",
            value=findings,
            tags=["research", intent.title]
        )
        return {"findings": findings}

    @on_state_change(keys=["data"])
    async def on_data_ready(self, intent, old_state, new_state):
        return {"analysis": analyze(new_state["data"])}

    @on_complete
    async def done(self, intent):
        print(f"Intent {intent.id} completed!")
"""


@pytest.fixture
def boss(live_server_url):
    client = OpenIntentClient(live_server_url, OTHER_KEY, OTHER_AGENT)
    yield client
    client.close()


def test_the_worker_block(boss, live_server_url, monkeypatch):
    intent = boss.create_intent("summarise the quarter")
    start = last_id(boss, intent.id)
    made: list = []

    class PointedWorker(openintent.Worker):
        def __init__(self, agent_id, handler, base_url=None, api_key=None, **options):
            super().__init__(agent_id, handler, live_server_url, KEY, last_event_id=start, **options)
            made.append(self)

    monkeypatch.setattr(openintent, "Worker", PointedWorker)
    namespace = {"do_work": lambda title: f"done: {title}"}
    thread = threading.Thread(target=exec, args=(compile(WORKER_BLOCK, "README Worker", "exec"), namespace))
    thread.start()
    try:
        boss.assign_agent(intent.id, "processor")
        assert wait_for(lambda: boss.get_intent(intent.id).status == IntentStatus.COMPLETED, WAIT)
    finally:
        assert wait_for(lambda: made, WAIT)
        made[0].stop()
        thread.join(WAIT)
    assert not thread.is_alive()
    assert boss.get_intent(intent.id).state.get("result") == "done: summarise the quarter"


def test_the_agent_block(boss, live_server_url):
    contexts: list = []

    async def do_research(description, context):
        contexts.append([entry.value for entry in context])
        if description == "cannot be researched":
            raise RuntimeError("no sources")
        return f"findings on {description}"

    namespace = {"do_research": do_research, "analyze": lambda data: sum(data)}
    exec(compile(AGENT_BLOCK, "README @Agent", "exec"), namespace)
    first = boss.create_intent("Markets", description="market trends")
    second = boss.create_intent("Hopeless", description="cannot be researched")
    agent = namespace["ResearchAgent"](live_server_url, KEY, last_event_id=last_id(boss, second.id))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), running(agent):
        boss.assign_agent(first.id, "research-agent")
        assert wait_for(lambda: boss.get_intent(first.id).status == IntentStatus.COMPLETED, WAIT)
        boss.assign_agent(second.id, "research-agent")
        assert wait_for(lambda: boss.get_failures(second.id), WAIT)
        intent = boss.get_intent(second.id)
        boss.update_state(second.id, intent.version, {"data": [1, 2, 3]})
        assert wait_for(lambda: boss.get_intent(second.id).state.get("analysis") == 6, WAIT)
        assert wait_for(lambda: f"Intent {first.id} completed!" in printed.getvalue(), WAIT)
    assert boss.get_intent(first.id).state.get("findings") == "findings on market trends"
    assert contexts == [[], [{"value": "findings on market trends"}]]
    memory = OpenIntentClient(live_server_url, KEY, "research-agent")
    entries = memory.list_memory("research-agent", "research-agent")
    memory.close()
    assert [(e.key, e.memory_type, e.tags) for e in entries] == [
        (f"research-{first.id}", "episodic", ["research", "Markets"])
    ]
    record = boss.agents.get("research-agent")
    assert record.status == "active" and record.last_heartbeat_at is not None


def agents_section_examples() -> list[str]:
    text = (SDK / "README.md").read_text()
    section = re.search(r"\n## Agents\n(.*?)\n## ", text, flags=re.S)
    assert section is not None
    return re.findall(r"```python\n(.*?)```", section.group(1), flags=re.S)


def test_the_sdk_readme_agent_examples_run(live_server_url):
    examples = agents_section_examples()
    assert len(examples) == 5
    printed = io.StringIO()
    for index, example in enumerate(examples):
        code = example.replace("http://localhost:8000", live_server_url)
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"sdk/README.md Agents example {index + 1}", "exec"), {"__name__": f"agents{index}"})
    lines = printed.getvalue().splitlines()
    assert lines == [
        "SUMMARISE THE QUARTER",
        "no data yet",
        "5.0",
        "draining",
        "False deregistered",
        "['build', 'test', 'publish'] ['after build']",
        "[('pypi', ['upload'])]",
        "report: 100%",
        "True",
        "True",
    ]
