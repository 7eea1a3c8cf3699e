"""The bundled SDK against a live server on the test database.

Every API test runs twice, once with ``OpenIntentClient`` and once with ``AsyncOpenIntentClient``: the async
client is driven through :class:`AsyncAdapter`, which runs each coroutine to completion on an event loop of the
test's own, so one test body exercises both clients with the same calls.
"""

import asyncio
import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from openintent import AsyncOpenIntentClient, OpenIntentClient
from openintent._namespaces import Namespace

KEY, AGENT = "agent-research-key", "agent-research"
OTHER_KEY, OTHER_AGENT = "agent-synth-key", "agent-synth"
PERSON_KEY, PERSON = "reviewer-key", "user:reviewer"
MISSING = "00000000-0000-4000-8000-000000000000"


class AsyncAdapter:
    """The async client seen through a synchronous interface: each coroutine runs on ``loop`` to the end."""

    def __init__(self, client: AsyncOpenIntentClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop
        self.is_async = True

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if isinstance(attribute, Namespace):
            return AsyncAdapter(attribute, self.loop)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            return self.run(result) if inspect.isawaitable(result) else result

        return call

    @contextlib.contextmanager
    def lease(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        manager = self.client.lease(*args, **kwargs)
        lease = self.run(manager.__aenter__())
        try:
            yield lease
        except BaseException as exc:
            if not self.run(manager.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            self.run(manager.__aexit__(None, None, None))

    def iter_intents(self, *args: Any, **kwargs: Any) -> list[Any]:
        async def collect() -> list[Any]:
            return [intent async for intent in self.client.iter_intents(*args, **kwargs)]

        return self.run(collect())


class Clients:
    """Builds clients of the test's flavour and closes them at the end."""

    def __init__(self, url: str, flavour: str) -> None:
        self.url = url
        self.flavour = flavour
        self.loop = asyncio.new_event_loop() if flavour == "async" else None
        self.opened: list[Any] = []

    def __call__(self, api_key: str = KEY, agent_id: str = AGENT, url: str | None = None, **options: Any) -> Any:
        base_url = url or self.url
        if self.loop is None:
            client: Any = OpenIntentClient(base_url, api_key, agent_id, **options)
            client.is_async = False
        else:
            client = AsyncAdapter(AsyncOpenIntentClient(base_url, api_key, agent_id, **options), self.loop)
        self.opened.append(client)
        return client

    def close(self) -> None:
        for client in self.opened:
            client.close()
        if self.loop is not None:
            self.loop.close()


@pytest.fixture(params=["sync", "async"])
def clients(request, live_server_url):
    made = Clients(live_server_url, request.param)
    yield made
    made.close()


@pytest.fixture
def oi(clients):
    """agent-research's client, sync or async."""
    return clients()


@pytest.fixture
def other(clients):
    """agent-synth's client, of the same flavour."""
    return clients(OTHER_KEY, OTHER_AGENT)


@pytest.fixture
def person(clients, person_api):
    """A person's client (the Django user "reviewer"), of the same flavour."""
    return clients(PERSON_KEY, "reviewer")
