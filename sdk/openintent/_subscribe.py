"""The stream methods of both clients (``subscribe_sse``, ``subscribe_portfolio``, ``subscribe_agent``,
``create_event_queue``), each written once.

Like :class:`~openintent._core.endpoint`, a method builds a description (a :class:`StreamRequest`) and a descriptor
turns it into the object the client's flavour needs: an :class:`~openintent.streaming.SSEStream` or
:class:`~openintent.streaming.EventQueue` on the sync client, an :class:`~openintent.streaming.AsyncSSEStream` or
:class:`~openintent.streaming.AsyncEventQueue` on the async one. The URL and the headers (the client's key and
agent id) come from the client's transport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, overload
from urllib.parse import quote

from ._core import AsyncTransport, BuiltMethod, SyncTransport, Transport, api
from .streaming import AsyncEventQueue, AsyncSSEStream, EventQueue, SSEStream, StreamTransport

P = ParamSpec("P")


@dataclass(frozen=True)
class StreamRequest:
    """Which stream to open (``topic`` is ``intents``, ``agents`` or ``portfolios``) and how."""

    topic: str
    key: str
    last_event_id: str | int | None = None
    reconnect_delay: float | None = None
    max_reconnects: int | None = 10
    transport: StreamTransport = "sse"
    read_timeout: float | None = 60.0
    maxsize: int = 100

    def url(self, client: Transport) -> str:
        key = quote(self.key, safe="")
        if self.transport == "websocket":
            base = client.base_url
            scheme, _, rest = base.partition("://")
            ws_scheme = {"https": "wss", "http": "ws"}.get(scheme.lower(), scheme)
            return f"{ws_scheme}://{rest}/ws/{self.topic}/{key}"
        return client.url(api(f"/{self.topic}/{key}/subscribe"))

    def options(self, client: Transport) -> dict[str, Any]:
        return {
            "timeout": self.read_timeout,
            "reconnect_delay": self.reconnect_delay,
            "max_reconnects": self.max_reconnects,
            "last_event_id": self.last_event_id,
            "connect_timeout": client.timeout,
            "transport": self.transport,
            "http_options": client.http_options,
        }


class _Helper(BuiltMethod, Generic[P]):
    """Base of the two descriptors: the building function, and a method with exactly its signature."""

    def __init__(self, build: Callable[Concatenate[Any, P], StreamRequest]) -> None:
        super().__init__(build)
        self.build = build


class streamed(_Helper[P]):  # noqa: N801  (a decorator)
    """A method answering a not yet connected stream: ``SSEStream`` on a sync client, ``AsyncSSEStream`` on an
    async one."""

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> streamed[P]: ...

    @overload
    def __get__(self, instance: SyncTransport, owner: type[Any]) -> Callable[P, SSEStream]: ...

    @overload
    def __get__(self, instance: AsyncTransport, owner: type[Any]) -> Callable[P, AsyncSSEStream]: ...

    def __get__(
        self, instance: Transport | None, owner: type[Any]
    ) -> streamed[P] | Callable[P, SSEStream] | Callable[P, AsyncSSEStream]:
        if instance is None:
            return self
        client, build = instance, self.build
        if isinstance(client, AsyncTransport):

            def open_async(*args: P.args, **kwargs: P.kwargs) -> AsyncSSEStream:
                request = build(client, *args, **kwargs)
                return AsyncSSEStream(request.url(client), client.headers, **request.options(client))

            return self._describe(open_async)

        def open_sync(*args: P.args, **kwargs: P.kwargs) -> SSEStream:
            request = build(client, *args, **kwargs)
            return SSEStream(request.url(client), client.headers, **request.options(client))

        return self._describe(open_sync)


class queued(_Helper[P]):  # noqa: N801  (a decorator)
    """A method answering a not yet started event queue: ``EventQueue`` on a sync client, ``AsyncEventQueue`` on
    an async one."""

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> queued[P]: ...

    @overload
    def __get__(self, instance: SyncTransport, owner: type[Any]) -> Callable[P, EventQueue]: ...

    @overload
    def __get__(self, instance: AsyncTransport, owner: type[Any]) -> Callable[P, AsyncEventQueue]: ...

    def __get__(
        self, instance: Transport | None, owner: type[Any]
    ) -> queued[P] | Callable[P, EventQueue] | Callable[P, AsyncEventQueue]:
        if instance is None:
            return self
        client, build = instance, self.build
        if isinstance(client, AsyncTransport):

            def open_async(*args: P.args, **kwargs: P.kwargs) -> AsyncEventQueue:
                request = build(client, *args, **kwargs)
                stream = AsyncSSEStream(request.url(client), client.headers, **request.options(client))
                return AsyncEventQueue(stream, maxsize=request.maxsize)

            return self._describe(open_async)

        def open_sync(*args: P.args, **kwargs: P.kwargs) -> EventQueue:
            request = build(client, *args, **kwargs)
            stream = SSEStream(request.url(client), client.headers, **request.options(client))
            return EventQueue(stream, maxsize=request.maxsize)

        return self._describe(open_sync)


class StreamAPI:
    """The stream methods both clients inherit. Each answers an object that connects when it is iterated
    (streams) or started (queues); the keyword options are the same everywhere:

    * ``last_event_id``: resume after this event (its id in the log), as a reconnect does;
    * ``reconnect_delay``: the first wait before reconnecting, in seconds, doubled per failed attempt (with
      jitter, capped at 30 s); by default the server's ``retry:`` hint;
    * ``max_reconnects``: consecutive failed attempts before the stream raises (``None``: no limit);
    * ``transport``: ``"sse"`` or ``"websocket"`` (needs ``openintent-django[websocket]``), with the same events;
    * ``read_timeout``: seconds of silence after which the connection counts as lost.
    """

    agent_id: str

    @streamed
    def subscribe_sse(
        self,
        intent_id: str,
        *,
        last_event_id: str | int | None = None,
        reconnect_delay: float | None = None,
        max_reconnects: int | None = 10,
        transport: StreamTransport = "sse",
        read_timeout: float | None = 60.0,
    ) -> StreamRequest:
        """Every event on one intent (``/api/v1/intents/{id}/subscribe``)."""
        return StreamRequest(
            "intents", intent_id, last_event_id, reconnect_delay, max_reconnects, transport, read_timeout
        )

    @streamed
    def subscribe_portfolio(
        self,
        portfolio_id: str,
        *,
        last_event_id: str | int | None = None,
        reconnect_delay: float | None = None,
        max_reconnects: int | None = 10,
        transport: StreamTransport = "sse",
        read_timeout: float | None = 60.0,
    ) -> StreamRequest:
        """The events of every intent in a portfolio (``/api/v1/portfolios/{id}/subscribe``)."""
        return StreamRequest(
            "portfolios", portfolio_id, last_event_id, reconnect_delay, max_reconnects, transport, read_timeout
        )

    @streamed
    def subscribe_agent(
        self,
        agent_id: str | None = None,
        *,
        last_event_id: str | int | None = None,
        reconnect_delay: float | None = None,
        max_reconnects: int | None = 10,
        transport: StreamTransport = "sse",
        read_timeout: float | None = 60.0,
    ) -> StreamRequest:
        """The events for an agent (this client's by default): its assignments and the intents assigned to it
        (``/api/v1/agents/{id}/subscribe``)."""
        return StreamRequest(
            "agents", agent_id or self.agent_id, last_event_id, reconnect_delay, max_reconnects, transport, read_timeout
        )

    @queued
    def create_event_queue(
        self,
        intent_id: str | None = None,
        portfolio_id: str | None = None,
        agent_id: str | None = None,
        *,
        maxsize: int = 100,
        last_event_id: str | int | None = None,
        reconnect_delay: float | None = None,
        max_reconnects: int | None = 10,
        transport: StreamTransport = "sse",
        read_timeout: float | None = 60.0,
    ) -> StreamRequest:
        """A queue of the events of the first of ``intent_id``, ``portfolio_id`` and ``agent_id`` given (this
        client's agent with none), holding up to ``maxsize`` events; start it, or use it as a context manager."""
        if intent_id:
            topic, key = "intents", intent_id
        elif portfolio_id:
            topic, key = "portfolios", portfolio_id
        else:
            topic, key = "agents", agent_id or self.agent_id
        return StreamRequest(
            topic, key, last_event_id, reconnect_delay, max_reconnects, transport, read_timeout, maxsize
        )
