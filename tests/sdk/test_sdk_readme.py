"""The examples of sdk/README.md, extracted and run against the live server; and the SDK's surface: both
clients have the same methods with the same signatures, and every public method is called by these tests."""

import contextlib
import inspect
import io
import re
from pathlib import Path

from openintent import AsyncOpenIntentClient, OpenIntentClient
from openintent._api import OpenIntentAPI
from openintent._core import endpoint

SDK = Path(__file__).resolve().parents[2] / "sdk"
HERE = Path(__file__).resolve().parent


def readme_examples() -> list[str]:
    # The Agents section's examples run in tests/sdk/test_agents_readme.py.
    text = re.sub(r"\n## Agents\n.*?(?=\n## )", "\n", (SDK / "README.md").read_text(), flags=re.S)
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_sdk_readme_examples_run(live_server_url):
    examples = readme_examples()
    assert len(examples) == 5
    out = io.StringIO()
    for index, example in enumerate(examples):
        code = example.replace("http://localhost:8000", live_server_url)
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"sdk/README.md example {index + 1}", "exec"), {"__name__": f"readme{index}"})
    printed = out.getvalue()
    assert "analysis" in printed and "404 Intent not found" in printed and "needs read" in printed
    assert "['Review', 'Draft'] draft" in printed
    # The streams: the replayed events in order, then the websocket's first event.
    assert "NOTE note True\nSTATE_CHANGED state_patched True\n" in printed
    assert "AGENT_ASSIGNED agent-synth\n" in printed


def public_methods(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_") and callable(getattr(cls, name))}


def test_both_clients_have_the_same_methods_and_signatures():
    sync, asynchronous = public_methods(OpenIntentClient), public_methods(AsyncOpenIntentClient)
    assert sync == asynchronous
    for name in sync:
        # The parameters are the same; the results differ only as sync versus async.
        sync_parameters = inspect.signature(getattr(OpenIntentClient, name)).parameters
        assert sync_parameters == inspect.signature(getattr(AsyncOpenIntentClient, name)).parameters, name
    client = OpenIntentClient("http://127.0.0.1:9", "k")
    assert client.agent_id == "anonymous"
    assert str(inspect.signature(client.get_intent)) == "(intent_id: 'str')"
    client.close()


def test_every_public_method_is_exercised_by_the_tests():
    sources = "".join(path.read_text() for path in HERE.glob("test_*.py") if path.name != Path(__file__).name)
    endpoints = {name for name, value in vars(OpenIntentAPI).items() if isinstance(value, endpoint)}
    assert len(endpoints) > 70
    helpers = {"lease", "iter_intents", "close"}
    untested = sorted(name for name in endpoints | helpers if not re.search(rf"\.{name}\(", sources))
    assert untested == []
