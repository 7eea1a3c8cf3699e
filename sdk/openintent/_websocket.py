"""The websocket transport of the streams (``/ws/{intents|agents|portfolios}/{id}``), on the ``websockets``
library (``pip install openintent-django[websocket]``), which is imported only when a websocket stream connects.

The server sends each event as a text frame ``{"id", "event", "data"}`` and refuses a connection with one
``{"error": {...}}`` frame followed by close code 4000 + the HTTP status (4401, 4403, 4404). A refusal maps to the
same exception as the SSE answer would; reconnecting, resuming (``?last_event_id=``) and dropping repeats are the
stream's (:mod:`openintent.streaming`), shared with SSE.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._wire import as_dict, as_opt_str
from .streaming import SSEEvent, _lost, _refusal, _Stream

if TYPE_CHECKING:
    from websockets.exceptions import ConnectionClosed

PING_SECONDS = 20.0

NORMAL_CLOSE = (1000, 1001)


def require_websockets() -> None:
    try:
        import websockets  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the test environment has it
        raise ImportError(
            "The websocket transport needs the websockets package: pip install 'openintent-django[websocket]' "
            "(or './sdk[websocket]' from the repository)"
        ) from exc


def websocket_url(stream: _Stream) -> str:
    """The stream's URL with ``last_event_id`` in the query once the stream has seen an event."""
    last = stream.last_event_id
    if last is None:
        return stream.url
    parts = urlsplit(stream.url)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "last_event_id"]
    query.append(("last_event_id", last))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _headers(stream: _Stream) -> dict[str, str]:
    skipped = {"accept", "cache-control", "last-event-id"}
    return {name: value for name, value in stream.request_headers().items() if name.lower() not in skipped}


def _tls(stream: _Stream, url: str) -> dict[str, Any]:
    """The ``ssl`` argument of a ``wss://`` connection, from the client's ``verify`` (as its SSE streams use it)."""
    if not url.startswith("wss://"):
        return {}
    verify = stream.http_options.get("verify", True)
    if isinstance(verify, ssl.SSLContext):
        return {"ssl": verify}
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return {"ssl": context}
    return {}


def _frame(text: str | bytes) -> SSEEvent | dict[str, Any]:
    """An event frame as an :class:`SSEEvent`; a refusal frame as its error body."""
    try:
        frame = json.loads(text)
    except ValueError:
        frame = None
    if not isinstance(frame, dict):
        return SSEEvent.from_raw("message", text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
    if "error" in frame and "event" not in frame:
        return as_dict(frame["error"]) or {"detail": str(frame["error"])}
    data = frame.get("data")
    event = SSEEvent.from_raw(str(frame.get("event") or "message"), data if isinstance(data, str) else "")
    if isinstance(data, dict):
        event.data = data
    event.id = as_opt_str(frame.get("id"))
    return event


def _closed(stream: _Stream, exc: ConnectionClosed, refusal: dict[str, Any] | None) -> Exception | None:
    """What the end of a connection means: ``None`` for a normal close, else a retry or the final error."""
    code = exc.rcvd.code if exc.rcvd is not None else None
    if code is not None and 4000 <= code < 5000:
        return _refusal(code - 4000, {}, json.dumps(refusal or {}).encode())
    if code in NORMAL_CLOSE and refusal is None:
        return None
    return _lost(stream.url, exc)


def _connect_errors() -> tuple[type[Exception], ...]:
    from websockets.exceptions import WebSocketException

    return (OSError, asyncio.TimeoutError, WebSocketException)


def _handshake_failure(stream: _Stream, exc: Exception) -> Exception:
    from websockets.exceptions import InvalidStatus

    if isinstance(exc, InvalidStatus):
        response = exc.response
        return _refusal(response.status_code, dict(response.headers.raw_items()), bytes(response.body or b""))
    return _lost(stream.url, exc)


def sync_connection(stream: _Stream) -> Generator[SSEEvent, None, None]:
    """One websocket connection of a sync stream: its new events, until it closes."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    stream._resume.attempts += 1
    try:
        url = websocket_url(stream)
        connection = connect(
            url,
            additional_headers=_headers(stream),
            **_tls(stream, url),
            open_timeout=stream.connect_timeout,
            ping_interval=PING_SECONDS,
            ping_timeout=stream.timeout,
        )
    except _connect_errors() as exc:
        raise _handshake_failure(stream, exc) from exc
    with connection:
        stream._socket = connection.socket
        stream._resume.alive()
        refusal: dict[str, Any] | None = None
        try:
            while not stream.stopped:
                try:
                    message = connection.recv()
                except ConnectionClosed as exc:
                    ending = _closed(stream, exc, refusal)
                    if ending is None:
                        return
                    raise ending from exc
                frame = _frame(message)
                if isinstance(frame, dict):
                    refusal = frame
                elif stream._resume.admit(frame):
                    yield frame
        except OSError as exc:
            raise _lost(stream.url, exc) from exc
        finally:
            stream._socket = None


async def async_connection(stream: _Stream) -> AsyncGenerator[SSEEvent, None]:
    """One websocket connection of an async stream: its new events, until it closes."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    stream._resume.attempts += 1
    try:
        url = websocket_url(stream)
        connection = await connect(
            url,
            additional_headers=_headers(stream),
            **_tls(stream, url),
            open_timeout=stream.connect_timeout,
            ping_interval=PING_SECONDS,
            ping_timeout=stream.timeout,
        )
    except _connect_errors() as exc:
        raise _handshake_failure(stream, exc) from exc
    async with connection:
        stream._socket = connection.transport.get_extra_info("socket")
        stream._resume.alive()
        refusal: dict[str, Any] | None = None
        try:
            while not stream.stopped:
                try:
                    message = await connection.recv()
                except ConnectionClosed as exc:
                    ending = _closed(stream, exc, refusal)
                    if ending is None:
                        return
                    raise ending from exc
                frame = _frame(message)
                if isinstance(frame, dict):
                    refusal = frame
                elif stream._resume.admit(frame):
                    yield frame
        except OSError as exc:
            raise _lost(stream.url, exc) from exc
        finally:
            stream._socket = None
