"""The examples of sdk/README.md, extracted and run against the live server; and the SDK's surface: both
clients have the same methods with the same signatures, and every public method is called by these tests."""

import contextlib
import importlib.util
import inspect
import io
import re
from pathlib import Path

from openintent import AsyncOpenIntentClient, OpenIntentClient
from openintent._api import OpenIntentAPI
from openintent._core import endpoint
from openintent._infrastructure import InfrastructureAPI
from openintent._namespaces import Namespace, Namespaces, via
from openintent._orchestration import OrchestrationAPI

SDK = Path(__file__).resolve().parents[2] / "sdk"
HERE = Path(__file__).resolve().parent


def readme_examples() -> list[str]:
    # The Agents section's examples run in tests/sdk/test_agents_readme.py.
    text = re.sub(r"\n## Agents\n.*?(?=\n## )", "\n", (SDK / "README.md").read_text(), flags=re.S)
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_sdk_readme_examples_run(live_server_url, django_user_model):
    django_user_model.objects.create_user("dev-user")  # the person make run's seeddev creates: a supervisor
    examples = readme_examples()
    assert len(examples) == 9
    out = io.StringIO()
    for index, example in enumerate(examples):
        if "client.triggers." in example and importlib.util.find_spec("triggers") is None:
            continue  # the trigger routes are not in this tree
        code = example.replace("http://localhost:8000", live_server_url)
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"sdk/README.md example {index + 1}", "exec"), {"__name__": f"readme{index}"})
    printed = out.getvalue()
    assert "analysis" in printed and "404 Intent not found" in printed and "needs read" in printed
    assert "['Review', 'Draft'] draft" in printed
    # The streams: the replayed events in order, then the websocket's first event.
    assert "NOTE note True\nSTATE_CHANGED state_patched True\n" in printed
    assert "AGENT_ASSIGNED agent-synth\n" in printed
    # Transport, RFC-0012/0013, 0014..0016, 0017.
    assert "Through my own httpx client\n" in printed
    assert "refused: max_tasks_per_plan 3 > 2\n" in printed and "completed 1\n" in printed
    assert "active True\n{'urls': ['a', 'b']} 2\nTrue False\ndraining\n" in printed
    if importlib.util.find_spec("triggers") is not None:
        assert "fired Daily report\n" in printed


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
    endpoints = {
        name
        for api in (OpenIntentAPI, OrchestrationAPI, InfrastructureAPI)
        for name, value in vars(api).items()
        if isinstance(value, endpoint)
    }
    assert len(endpoints) > 170
    helpers = {"lease", "iter_intents", "close"}
    untested = sorted(name for name in endpoints | helpers if not re.search(rf"\.{name}\(", sources))
    assert untested == []


def namespace_methods() -> dict[str, dict[str, via]]:
    """``{"tasks": {"create": via(create_task), ...}, ...}``: every namespace of the clients and its methods."""
    found = {}
    for name, value in vars(Namespaces).items():
        if isinstance(value, property):
            cls = inspect.signature(value.fget).return_annotation.split("[")[0]
            namespace = next(sub for sub in Namespace.__subclasses__() if sub.__name__ == cls)
            found[name] = {attr: item for attr, item in vars(namespace).items() if isinstance(item, via)}
    return found


def test_the_namespaces_name_client_methods_with_their_signatures():
    namespaces = namespace_methods()
    assert set(namespaces) == {"tasks", "coordinator", "tools", "memory", "agents", "triggers"}
    client = OpenIntentClient("http://127.0.0.1:9", "k")
    for namespace, methods in namespaces.items():
        for name, alias in methods.items():
            method = getattr(getattr(client, namespace), name)
            flat = getattr(client, alias.target.__name__)
            assert inspect.signature(method) == inspect.signature(flat), f"{namespace}.{name}"
            assert method.__doc__ == flat.__doc__
    assert client.memory.store.__name__ == "create_memory" and client.tasks.client is client
    client.close()


def test_every_namespace_is_exercised_by_the_tests():
    sources = "".join(path.read_text() for path in HERE.glob("test_*.py") if path.name != Path(__file__).name)
    used = {namespace for namespace in namespace_methods() if re.search(rf"\.{namespace}\.\w+\(", sources)}
    assert used == set(namespace_methods())
