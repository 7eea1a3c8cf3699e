"""Live event streams (RFC-0006): iterators over SSE, or over the server's websockets, that survive lost connections.

* :class:`SSEParser` reads the ``text/event-stream`` format from lines, text or bytes, in pieces of any size. It
  does no I/O, so the sync and the async streams share it.
* :class:`SSEStream` (``for event in stream``) and :class:`AsyncSSEStream` (``async for event in stream``) connect
  when iteration starts and reconnect when the connection is lost, when the server ends the stream, and on 5xx or
  429 answers. They wait before each attempt, with exponential backoff and jitter starting from the server's
  ``retry:`` hint (or ``reconnect_delay``) and capped at ``max_reconnect_delay``; the wait grows until a connection
  works again, and after ``max_reconnects`` consecutive failures the stream raises the last error. A reconnect
  sends ``Last-Event-ID`` (``?last_event_id=`` on websockets), so the server replays exactly what was missed, and
  events already delivered are dropped by id should a server send them again. A 4xx answer (401, 403, 404, ...)
  is final: it raises the SDK's exception for it at once, without retrying. Comments (``: keepalive``) are not
  events.
* :class:`SSESubscription` runs a stream in a thread and calls a callback per event; :class:`EventQueue` and
  :class:`AsyncEventQueue` buffer a stream's events for ``get()``.

Reconnect bookkeeping (:class:`_Resume`) is written once and used by every transport of both flavours; the
websocket transport lives in :mod:`openintent._websocket` and needs ``pip install openintent-django[websocket]``.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import queue
import random
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from ._core import RETRY_STATUSES, Response, error_for, retry_after_seconds
from ._wire import as_opt_str
from .exceptions import OpenIntentConnectionError, OpenIntentError, OpenIntentTimeoutError

__all__ = [
    "SSEEventType",
    "SSEEvent",
    "SSEParser",
    "SSEStream",
    "AsyncSSEStream",
    "SSESubscription",
    "EventQueue",
    "AsyncEventQueue",
    "StreamTransport",
]

logger = logging.getLogger("openintent.streaming")

StreamTransport = Literal["sse", "websocket"]

DEFAULT_RECONNECT_DELAY = 1.0
"""Seconds before the first reconnect while neither ``reconnect_delay`` nor a server ``retry:`` hint is known."""
MIN_RECONNECT_DELAY = 0.05
"""No wait is ever shorter than this: whatever the settings, a failing server is never hammered."""
SEEN_IDS = 10_000
"""How many delivered event ids a stream remembers to drop repeats."""

_S = TypeVar("_S", bound="SSEStream")
_A = TypeVar("_A", bound="AsyncSSEStream")


class SSEEventType(str, Enum):
    """Names of the events the server streams (``event:``); any other event type arrives upper-cased."""

    CONNECTED = "connected"
    STATE_CHANGED = "STATE_CHANGED"
    STATUS_CHANGED = "STATUS_CHANGED"
    AGENT_ASSIGNED = "AGENT_ASSIGNED"
    INTENT_ASSIGNED = "INTENT_ASSIGNED"
    INTENT_COMPLETED = "INTENT_COMPLETED"
    INTENT_FAILED = "INTENT_FAILED"
    LEASE_ACQUIRED = "LEASE_ACQUIRED"
    LEASE_RELEASED = "LEASE_RELEASED"
    PORTFOLIO_PROGRESS = "PORTFOLIO_PROGRESS"
    ESCALATION_REQUIRED = "ESCALATION_REQUIRED"
    ACCESS_REQUESTED = "ACCESS_REQUESTED"
    ERROR = "error"
    KEEPALIVE = "keepalive"

    def __str__(self) -> str:
        return self.value


@dataclass
class SSEEvent:
    """One streamed event. ``type`` is the ``event:`` name (compare it with :class:`SSEEventType` members or plain
    strings), ``data`` the decoded JSON object, ``id`` the server's event id (the log id), ``retry`` the
    reconnection hint in milliseconds sent with it, if any."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    retry: int | None = None

    @classmethod
    def from_raw(
        cls, event_type: str, data_str: str, event_id: str | None = None, retry: int | None = None
    ) -> SSEEvent:
        """An event from its wire fields: ``data_str`` is decoded as JSON; empty data gives ``{}``, and data that
        is not a JSON object is kept as ``{"raw": data_str}``."""
        data: dict[str, Any]
        if not data_str.strip():
            data = {}
        else:
            try:
                decoded = json.loads(data_str)
            except ValueError:
                decoded = None
            data = decoded if isinstance(decoded, dict) else {"raw": data_str}
        return cls(type=event_type, data=data, id=event_id, retry=retry)

    @property
    def intent_id(self) -> str | None:
        return as_opt_str(self.data.get("intent_id"))

    @property
    def portfolio_id(self) -> str | None:
        return as_opt_str(self.data.get("portfolio_id"))

    @property
    def agent_id(self) -> str | None:
        return as_opt_str(self.data.get("agent_id"))

    @property
    def event_type(self) -> str | None:
        """The logged event's type (``"note"``, ``"state_patched"``, ...), when the data names it."""
        return as_opt_str(self.data.get("event_type"))


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SSEParser:
    """Incremental ``text/event-stream`` parser. Feed it bytes or text in pieces of any size; each :meth:`feed`
    returns the events completed by that piece. ``retry`` holds the latest ``retry:`` hint (milliseconds) and
    ``comments`` counts comment lines (keepalives), which never become events."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""
        self._after_cr = False
        self._at_start = True
        self._reset()
        self.retry: int | None = None
        self.comments = 0

    def _reset(self) -> None:
        self._name = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes | str) -> list[SSEEvent]:
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        if self._at_start and text:
            self._at_start = False
            text = text.removeprefix("\ufeff")
        if self._after_cr and text:
            # A CR ended the previous piece; a LF opening this one belongs to the same line break.
            self._after_cr = False
            text = text.removeprefix("\n")
        if not text:
            return []
        lines = _LINE_BREAK.split(self._partial + text)
        self._partial = lines.pop()
        self._after_cr = text.endswith("\r")
        events: list[SSEEvent] = []
        for line in lines:
            event = self.feed_line(line)
            if event is not None:
                events.append(event)
        return events

    def feed_line(self, line: str) -> SSEEvent | None:
        """Process one line (without its line break); returns the event a blank line completes, if any."""
        if not line:
            event = None
            if self._data:
                event = SSEEvent.from_raw(self._name or "message", "\n".join(self._data), self._id, self._retry)
            self._reset()
            return event
        if line.startswith(":"):
            self.comments += 1
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._name = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id = value or None
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = self._retry = int(value)
        return None


# Reconnect bookkeeping, shared by every transport and both flavours -------------------------------------------


class _Retry(Exception):
    """A connection attempt failed in a way worth retrying (lost connection, 5xx, 429)."""

    def __init__(self, error: OpenIntentError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


def _refusal(status: int, headers: Mapping[str, str], content: bytes) -> Exception:
    """What an error answer means for a stream: a :class:`_Retry` for 5xx and 429, else the final exception."""
    error = error_for(Response(status, headers, content))
    if status in RETRY_STATUSES or status >= 500:
        return _Retry(error, retry_after_seconds(headers) if status == 429 else None)
    return error


def _lost(url: str, exc: BaseException) -> _Retry:
    error_class = OpenIntentTimeoutError if isinstance(exc, httpx.TimeoutException | TimeoutError) else None
    reason = str(exc) or type(exc).__name__
    message = f"Lost the event stream {url}: {reason}"
    return _Retry((error_class or OpenIntentConnectionError)(message))


class _Resume:
    """Where a stream is (the last event id), what it has delivered (to drop repeats) and how long to wait
    before the next connection attempt."""

    def __init__(
        self,
        last_event_id: str | None,
        reconnect_delay: float | None,
        max_reconnects: int | None,
        max_reconnect_delay: float,
    ) -> None:
        self.last_event_id = last_event_id
        self.reconnect_delay = reconnect_delay
        self.server_delay: float | None = None
        self.max_reconnects = max_reconnects
        self.max_reconnect_delay = max(max_reconnect_delay, MIN_RECONNECT_DELAY)
        self.failures = 0
        self.attempts = 0
        self._seen: OrderedDict[str, None] = OrderedDict()
        if last_event_id is not None:
            self._remember(last_event_id)

    @property
    def base_delay(self) -> float:
        """``reconnect_delay`` when given, else the server's ``retry:`` hint, else :data:`DEFAULT_RECONNECT_DELAY`."""
        base = self.reconnect_delay if self.reconnect_delay is not None else self.server_delay
        return max(MIN_RECONNECT_DELAY, DEFAULT_RECONNECT_DELAY if base is None else base)

    def hint(self, retry_ms: int | None) -> None:
        if retry_ms is not None:
            self.server_delay = retry_ms / 1000

    def alive(self) -> None:
        """The connection works (the server sent something): the backoff starts over."""
        self.failures = 0

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        while len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)

    def admit(self, event: SSEEvent) -> bool:
        """Whether to deliver ``event``: not if its id came before (in this stream or as ``last_event_id``)."""
        if event.id is None:
            return True
        if event.id in self._seen:
            return False
        self._remember(event.id)
        return True

    def delivered(self, event: SSEEvent) -> SSEEvent:
        """Note that ``event`` reaches the consumer now: a reconnect, or a later stream, resumes after it."""
        if event.id is not None:
            self.last_event_id = event.id
        return event

    def next_delay(self, failure: _Retry | None) -> float | None:
        """Seconds to wait before reconnecting after ``failure`` (``None``: the server ended the stream). Raises
        the failure's error, or answers ``None`` after a normal end, once ``max_reconnects`` is used up."""
        if self.max_reconnects is not None and self.failures >= self.max_reconnects:
            if failure is not None:
                raise failure.error
            return None
        delay = min(self.max_reconnect_delay, self.base_delay * 2.0 ** min(self.failures, 30))
        delay = max(MIN_RECONNECT_DELAY, delay * random.uniform(0.5, 1.0))
        if failure is not None and failure.wait is not None:
            delay = max(delay, failure.wait)
        self.failures += 1
        return delay


def _shutdown(sock: Any) -> None:
    """Wake a reader blocked on ``sock`` (from any thread) by shutting the socket down."""
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.shutdown(socket.SHUT_RDWR)


def _network_socket(response: httpx.Response) -> Any:
    stream = response.extensions.get("network_stream")
    return None if stream is None else stream.get_extra_info("socket")


def _not_an_event_stream(response: httpx.Response) -> Exception | None:
    kind = response.headers.get("content-type", "")
    if kind.split(";")[0].strip().lower() == "text/event-stream":
        return None
    return _Retry(OpenIntentError(f"Expected an event stream, got {kind or 'no content type'}"))


class _Stream:
    """What both stream flavours hold: the request, the settings and the reconnect bookkeeping."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = 60.0,
        reconnect_delay: float | None = None,
        max_reconnects: int | None = 10,
        *,
        last_event_id: str | int | None = None,
        max_reconnect_delay: float = 30.0,
        connect_timeout: float = 10.0,
        transport: StreamTransport = "sse",
        http_options: Mapping[str, Any] | None = None,
    ) -> None:
        if transport not in ("sse", "websocket"):
            raise ValueError(f"transport must be 'sse' or 'websocket', not {transport!r}")
        if transport == "websocket":
            from ._websocket import require_websockets

            require_websockets()
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.transport: StreamTransport = transport
        # TLS verification, proxy, trust_env: as the client that opened the stream was configured.
        self.http_options = dict(http_options or {})
        self._resume = _Resume(
            None if last_event_id is None else str(last_event_id), reconnect_delay, max_reconnects, max_reconnect_delay
        )
        self._stopped = False
        self._socket: Any = None

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event delivered: pass it as ``last_event_id=`` to resume in a later stream."""
        return self._resume.last_event_id

    @property
    def attempts(self) -> int:
        """Connection attempts made so far."""
        return self._resume.attempts

    @property
    def stopped(self) -> bool:
        return self._stopped

    def request_headers(self) -> dict[str, str]:
        headers = {
            **{name: value for name, value in self.headers.items() if name.lower() != "accept"},
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
        }
        if self._resume.last_event_id is not None:
            headers["Last-Event-ID"] = self._resume.last_event_id
        return headers

    def _http_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.connect_timeout, read=self.timeout)

    def _deliver(self, parser: SSEParser, chunk: bytes) -> list[SSEEvent]:
        """The new events in a piece of the stream; the server's ``retry:`` hint is noted."""
        if chunk:
            self._resume.alive()
        events = parser.feed(chunk)
        self._resume.hint(parser.retry)
        return [event for event in events if self._resume.admit(event)]

    def _abort(self) -> None:
        self._stopped = True
        _shutdown(self._socket)


class SSEStream(_Stream):
    """A synchronous iterator over a live stream, connecting when iteration starts and reconnecting as described
    in the module documentation. ``stop()`` (from any thread) ends the iteration; as a context manager the stream
    stops on exit.

    ``SSEStream(url, headers, timeout=60.0, reconnect_delay=None, max_reconnects=10, *, last_event_id=None,
    max_reconnect_delay=30.0, connect_timeout=10.0, transport="sse")``: ``timeout`` is how long the stream may
    stay silent before it counts as lost (the server sends a keepalive every 15 s); ``max_reconnects=None``
    retries for ever."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake = threading.Event()
        self._events: Generator[SSEEvent, None, None] | None = None

    def __iter__(self) -> Iterator[SSEEvent]:
        return self

    def __next__(self) -> SSEEvent:
        if self._events is None:
            self._events = self._run()
        return next(self._events)

    def _run(self) -> Generator[SSEEvent, None, None]:
        http: httpx.Client | None = None
        if self.transport == "websocket":
            from ._websocket import sync_connection

            connect: Callable[[], Generator[SSEEvent, None, None]] = lambda: sync_connection(self)  # noqa: E731
        else:
            http = client = httpx.Client(timeout=self._http_timeout(), **self.http_options)
            connect = lambda: self._sse_connection(client)  # noqa: E731
        try:
            while not self._stopped:
                failure: _Retry | None = None
                try:
                    with contextlib.closing(connect()) as events:
                        for event in events:
                            yield self._resume.delivered(event)
                            if self._stopped:
                                return
                except _Retry as exc:
                    failure = exc
                if self._stopped:
                    return
                delay = self._resume.next_delay(failure)
                if delay is None or self._wake.wait(delay):
                    return
        finally:
            if http is not None:
                http.close()

    def _sse_connection(self, http: httpx.Client) -> Generator[SSEEvent, None, None]:
        self._resume.attempts += 1
        try:
            with http.stream("GET", self.url, headers=self.request_headers()) as response:
                self._socket = _network_socket(response)
                if self._stopped:
                    return
                if response.status_code != 200:
                    response.read()
                    raise _refusal(response.status_code, response.headers, response.content)
                wrong = _not_an_event_stream(response)
                if wrong is not None:
                    raise wrong
                parser = SSEParser()
                for chunk in response.iter_bytes():
                    yield from self._deliver(parser, chunk)
        except httpx.TransportError as exc:
            raise _lost(self.url, exc) from exc
        finally:
            self._socket = None

    def stop(self) -> None:
        """End the iteration: a blocked read or a wait before reconnecting returns at once."""
        self._abort()
        self._wake.set()

    def close(self) -> None:
        """Stop, and release the connection now."""
        self.stop()
        if self._events is not None:
            with contextlib.suppress(ValueError):  # "generator already executing": it ends by itself
                self._events.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncSSEStream(_Stream):
    """The ``async for`` form of :class:`SSEStream`, with the same arguments and behaviour, on ``httpx.AsyncClient``
    (or the ``websockets`` asyncio client). ``stop()`` ends the iteration; ``async with`` closes the stream on
    exit, as does ``await aclose()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: AsyncGenerator[SSEEvent, None] | None = None

    def __aiter__(self) -> AsyncIterator[SSEEvent]:
        return self

    async def __anext__(self) -> SSEEvent:
        if self._events is None:
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            if self._stopped:
                self._wake.set()
            self._events = self._run()
        return await self._events.__anext__()

    async def _run(self) -> AsyncGenerator[SSEEvent, None]:
        assert self._wake is not None
        http: httpx.AsyncClient | None = None
        if self.transport == "websocket":
            from ._websocket import async_connection

            connect: Callable[[], AsyncGenerator[SSEEvent, None]] = lambda: async_connection(self)  # noqa: E731
        else:
            http = client = httpx.AsyncClient(timeout=self._http_timeout(), **self.http_options)
            connect = lambda: self._sse_connection(client)  # noqa: E731
        try:
            while not self._stopped:
                failure: _Retry | None = None
                try:
                    async with contextlib.aclosing(connect()) as events:
                        async for event in events:
                            yield self._resume.delivered(event)
                            if self._stopped:
                                return
                except _Retry as exc:
                    failure = exc
                if self._stopped:
                    return
                delay = self._resume.next_delay(failure)
                if delay is None:
                    return
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
        finally:
            if http is not None:
                await http.aclose()

    async def _sse_connection(self, http: httpx.AsyncClient) -> AsyncGenerator[SSEEvent, None]:
        self._resume.attempts += 1
        try:
            async with http.stream("GET", self.url, headers=self.request_headers()) as response:
                self._socket = _network_socket(response)
                if self._stopped:
                    return
                if response.status_code != 200:
                    await response.aread()
                    raise _refusal(response.status_code, response.headers, response.content)
                wrong = _not_an_event_stream(response)
                if wrong is not None:
                    raise wrong
                parser = SSEParser()
                async for chunk in response.aiter_bytes():
                    for event in self._deliver(parser, chunk):
                        yield event
        except httpx.TransportError as exc:
            raise _lost(self.url, exc) from exc
        finally:
            self._socket = None

    def stop(self) -> None:
        """End the iteration; safe to call from another thread."""
        self._abort()
        wake, loop = self._wake, self._loop
        if wake is None or loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(wake.set)

    async def aclose(self) -> None:
        """Stop, and release the connection now."""
        self.stop()
        if self._events is not None:
            await self._events.aclose()

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


# Consumers ----------------------------------------------------------------------------------------------------


class SSESubscription:
    """Runs a stream in a daemon thread and calls ``callback(event)`` for each event.

    ``SSESubscription(url, headers, callback, error_callback=None, **options)``: ``url`` is a stream URL (the
    ``options`` go to :class:`SSEStream`) or an :class:`SSEStream`. An exception raised by the callback goes to
    ``error_callback`` (or the log) and the subscription goes on; a final stream error (401, 403, 404, reconnects
    used up) goes there too, is kept as ``error`` and ends the thread. A context manager: started on enter,
    stopped on exit."""

    def __init__(
        self,
        url: str | SSEStream,
        headers: Mapping[str, str] | None = None,
        callback: Callable[[SSEEvent], Any] | None = None,
        error_callback: Callable[[Exception], Any] | None = None,
        **options: Any,
    ) -> None:
        if callback is None:
            raise TypeError("SSESubscription needs a callback")
        self.stream = url if isinstance(url, SSEStream) else SSEStream(url, headers, **options)
        self.callback = callback
        self.error_callback = error_callback
        self.error: Exception | None = None
        self._thread: threading.Thread | None = None

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SSESubscription:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="openintent-sse", daemon=True)
            self._thread.start()
        return self

    def _report(self, exc: Exception) -> None:
        if self.error_callback is None:
            logger.error("event stream %s: %s", self.stream.url, exc, exc_info=exc)
            return
        try:
            self.error_callback(exc)
        except Exception:
            logger.exception("the error callback of event stream %s failed", self.stream.url)

    def _run(self) -> None:
        try:
            for event in self.stream:
                try:
                    self.callback(event)
                except Exception as exc:
                    self._report(exc)
        except Exception as exc:
            self.error = exc
            if not self.stream.stopped:
                self._report(exc)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the stream and wait up to ``timeout`` seconds for the thread to end."""
        self.stream.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> SSESubscription:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _error_event(exc: BaseException) -> SSEEvent:
    data: dict[str, Any] = {"error": str(exc), "exception": type(exc).__name__}
    status = getattr(exc, "status_code", None)
    if status is not None:
        data["status_code"] = status
    return SSEEvent(type=SSEEventType.ERROR.value, data=data)


class _Buffer:
    """The bounded buffer of both event queues: a full buffer drops new events (counted in ``dropped``); an error
    is always kept, making room by dropping the oldest event, so the reader never blocks."""

    def __init__(self, put: Callable[[SSEEvent], None], take_oldest: Callable[[], Any]) -> None:
        self._put = put
        self._take_oldest = take_oldest
        self.dropped = 0

    def event(self, event: SSEEvent) -> None:
        try:
            self._put(event)
        except (queue.Full, asyncio.QueueFull):
            self.dropped += 1

    def error(self, exc: BaseException) -> None:
        while True:
            try:
                self._put(_error_event(exc))
                return
            except (queue.Full, asyncio.QueueFull):
                with contextlib.suppress(queue.Empty, asyncio.QueueEmpty):
                    self._take_oldest()
                    self.dropped += 1


class EventQueue:
    """A stream's events in a queue, filled by an :class:`SSESubscription` thread.

    ``EventQueue(url, headers, maxsize=100, **options)``. ``get(timeout=None)`` answers the next event, or
    ``None`` after ``timeout`` seconds. When the queue is full new events are dropped (``dropped`` counts them);
    a final stream error arrives as an ``SSEEventType.ERROR`` event whose data names it. A context manager."""

    def __init__(
        self, url: str | SSEStream, headers: Mapping[str, str] | None = None, maxsize: int = 100, **options: Any
    ) -> None:
        self._queue: queue.Queue[SSEEvent] = queue.Queue(maxsize)
        self._buffer = _Buffer(self._queue.put_nowait, self._queue.get_nowait)
        self.subscription = SSESubscription(url, headers, self._buffer.event, self._on_error, **options)

    def _on_error(self, exc: Exception) -> None:
        if self.subscription.error is exc:  # the stream ended; a callback's own failure cannot happen here
            self._buffer.error(exc)

    @property
    def stream(self) -> SSEStream:
        return self.subscription.stream

    @property
    def dropped(self) -> int:
        return self._buffer.dropped

    def get(self, timeout: float | None = None) -> SSEEvent | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def empty(self) -> bool:
        return self._queue.empty()

    def start(self) -> EventQueue:
        self.subscription.start()
        return self

    def stop(self) -> None:
        self.subscription.stop()

    def __enter__(self) -> EventQueue:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class AsyncEventQueue:
    """The asyncio form of :class:`EventQueue`: a task reads an :class:`AsyncSSEStream` into an ``asyncio.Queue``.
    ``await get(timeout=None)``; ``start()`` (in a running loop) and ``await stop()``, or ``async with``."""

    def __init__(
        self, url: str | AsyncSSEStream, headers: Mapping[str, str] | None = None, maxsize: int = 100, **options: Any
    ) -> None:
        self.stream = url if isinstance(url, AsyncSSEStream) else AsyncSSEStream(url, headers, **options)
        self._queue: asyncio.Queue[SSEEvent] = asyncio.Queue(maxsize)
        self._buffer = _Buffer(self._queue.put_nowait, self._queue.get_nowait)
        self._task: asyncio.Task[None] | None = None
        self.error: Exception | None = None

    @property
    def dropped(self) -> int:
        return self._buffer.dropped

    def start(self) -> AsyncEventQueue:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        return self

    async def _run(self) -> None:
        try:
            async for event in self.stream:
                self._buffer.event(event)
        except Exception as exc:
            self.error = exc
            self._buffer.error(exc)

    async def get(self, timeout: float | None = None) -> SSEEvent | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    def empty(self) -> bool:
        return self._queue.empty()

    async def stop(self) -> None:
        self.stream.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.stream.aclose()

    async def __aenter__(self) -> AsyncEventQueue:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
