"""The one request layer both clients share.

An API method is written once, as a function that returns a :class:`Call`: the request (method, path, query,
JSON body or multipart files, ``If-Match``) and the parser of its answer. :class:`endpoint` turns such a
function into a method that runs the call on the instance's transport: synchronously on
:class:`SyncTransport` (returning ``T``), as a coroutine on :class:`AsyncTransport` (returning
``Awaitable[T]``). Headers, the base URL, authentication, retries and error mapping live here and nowhere else,
so a streaming module can reuse them through :attr:`Transport.headers` and :meth:`Transport.url`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json as jsonlib
import os
import random
import ssl
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import httpx

from ._version import __version__
from ._wire import UTC, as_opt_int, as_opt_str
from .exceptions import (
    AuthenticationError,
    ConflictError,
    GoneError,
    GuardrailViolationError,
    LeaseConflictError,
    NotFoundError,
    OpenIntentConnectionError,
    OpenIntentError,
    OpenIntentTimeoutError,
    PermissionDeniedError,
    PreconditionRequiredError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
_S = TypeVar("_S", bound="SyncTransport")
_F = TypeVar("_F", bound=Callable[..., Any])
_A = TypeVar("_A", bound="AsyncTransport")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Response:
    """What a parser sees of an answer."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        """The parsed JSON body; ``{}`` for an empty one; ``None`` if it is not JSON."""
        if not self.content.strip():
            return {}
        try:
            return jsonlib.loads(self.content)
        except ValueError:
            return None


FileContent = tuple[str, bytes, str]


@dataclass(frozen=True)
class Call(Generic[T_co]):
    """One request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Response], T_co]
    params: Mapping[str, Any] | None = None
    json: Any = None
    files: Mapping[str, FileContent] | None = None
    data: Mapping[str, str] | None = None
    if_match: int | None = None
    idempotent: bool | None = None
    """Whether the call may be retried on 5xx, 429 and connection errors; by default only for GET, HEAD, PUT,
    DELETE and OPTIONS."""
    on_not_found: Callable[[], T_co] | None = None
    """When set, a 404 answers this instead of raising :class:`NotFoundError`."""
    headers: Mapping[str, str] = field(default_factory=dict)
    expects_json: bool = True
    """Whether a successful answer must be JSON (or empty); ``False`` for downloads."""

    @property
    def retryable(self) -> bool:
        return self.method.upper() in IDEMPOTENT_METHODS if self.idempotent is None else self.idempotent


def api(path: str) -> str:
    return API_PREFIX + path


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters without the ``None`` ones."""
    return {key: value for key, value in params.items() if value is not None}


# Error mapping ------------------------------------------------------------------------------------------------


def _field_errors(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    detail = body.get("detail")
    if isinstance(detail, list):
        return [dict(item) for item in detail if isinstance(item, dict)]
    errors = body.get("errors")
    if isinstance(errors, list):
        return [dict(item) if isinstance(item, dict) else {"msg": str(item)} for item in errors]
    if isinstance(errors, dict):
        return [{"loc": [key], "msg": str(value)} for key, value in errors.items()]
    return []


def _message(body: Any, status_code: int, text: str) -> str:
    if isinstance(body, dict):
        for key in ("message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        errors = _field_errors(body)
        if errors:
            parts = []
            for error in errors:
                loc = ".".join(str(part) for part in error.get("loc", []) if part != "body")
                parts.append(f"{loc}: {error.get('msg', '')}" if loc else str(error.get("msg", "")))
            return "; ".join(parts)
    snippet = text.strip()[:200]
    return f"Request failed with status {status_code}" + (f": {snippet}" if snippet and body is None else "")


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds, given as a number or an HTTP date."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def error_for(response: Response) -> OpenIntentError:
    """The exception for an error answer, chosen by status and by the fields of the body."""
    body = response.json()
    status = response.status_code
    message = _message(body, status, response.content.decode("utf-8", "replace"))
    fields = body if isinstance(body, dict) else {}
    common: dict[str, Any] = {"status_code": status, "response": body}
    if status == 404:
        return NotFoundError(message, **common)
    if status == 409:
        if "existing_lease" in fields or fields.get("error") == "lease_conflict":
            lease = fields.get("existing_lease")
            return LeaseConflictError(message, existing_lease=lease if isinstance(lease, dict) else None, **common)
        if fields.get("error") == "guardrail_violation":
            return GuardrailViolationError(
                message,
                guardrail=as_opt_str(fields.get("guardrail")),
                attempted_value=fields.get("attempted_value"),
                limit=fields.get("limit"),
                coordinator_id=as_opt_str(fields.get("coordinator_id")),
                **common,
            )
        return ConflictError(message, current_version=as_opt_int(fields.get("current_version")), **common)
    if status in (400, 422):
        return ValidationError(message, errors=_field_errors(body), **common)
    if status == 401:
        return AuthenticationError(message, **common)
    if status == 403:
        return PermissionDeniedError(
            message,
            required_permission=as_opt_str(fields.get("required_permission")),
            held_permission=as_opt_str(fields.get("held_permission")),
            **common,
        )
    if status == 428:
        return PreconditionRequiredError(message, **common)
    if status == 410:
        return GoneError(message, **common)
    if status == 429:
        return RateLimitError(message, retry_after=retry_after_seconds(response.headers), **common)
    if status >= 500:
        return ServerError(message, **common)
    return OpenIntentError(message, **common)


def unexpected(response: Response, expected: str) -> UnexpectedResponseError:
    """The error for a successful answer that is not ``expected``."""
    content_type = response.headers.get("content-type", "")
    body = response.json()
    if body is None:
        what = f"a {content_type.split(';')[0] or 'non-JSON'} body"
        snippet = " ".join(response.content.decode("utf-8", "replace").split())[:120]
        what += f" ({snippet!r})" if snippet else ""
    else:
        what = (
            f"JSON {type(body).__name__}" if not isinstance(body, dict) else f"an object with keys {sorted(body)[:8]}"
        )
    return UnexpectedResponseError(
        f"Expected {expected} from the OpenIntent server, got {what}; is base_url the server's address?",
        content_type=content_type or None,
        status_code=response.status_code,
        response=body,
    )


def finish(call: Call[T], response: Response) -> T:
    status = response.status_code
    if status == 404 and call.on_not_found is not None:
        return call.on_not_found()
    if status >= 400:
        raise error_for(response)
    if 300 <= status < 400:
        location = response.headers.get("location")
        raise UnexpectedResponseError(
            f"The server answered {call.method} {call.path} with a redirect ({status}) to {location or 'nowhere'}; "
            "the client does not follow redirects, so that a write is never silently re-sent or dropped: use the "
            "final address as base_url",
            location=location,
            content_type=response.headers.get("content-type") or None,
            status_code=status,
            response=response.json(),
        )
    if call.expects_json and response.content.strip() and response.json() is None:
        raise unexpected(response, "a JSON answer")
    return call.parse(response)


# Transports ---------------------------------------------------------------------------------------------------


class Transport:
    """Settings and request building shared by the sync and async transports."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        agent_id: str = "anonymous",
        timeout: float = 30.0,
        *,
        max_retries: int = 3,
        backoff_factor: float = 0.25,
        max_backoff: float = 10.0,
        headers: Mapping[str, str] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        proxy: str | httpx.Proxy | None = None,
        trust_env: bool = True,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.agent_id = agent_id
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff_factor = backoff_factor
        self.max_backoff = max_backoff
        self._extra_headers = dict(headers or {})
        # What the client's own httpx clients (this one's, and each stream's) are built with.
        self.http_options: dict[str, Any] = {"verify": _tls(verify), "trust_env": trust_env}
        if proxy is not None:
            self.http_options["proxy"] = proxy
        self._owns_http = http_client is None
        self._open(http_client)

    def _open(self, http_client: httpx.Client | httpx.AsyncClient | None) -> None:
        """Take the caller's HTTP client, or create one (each transport its own kind)."""
        raise NotImplementedError

    @property
    def headers(self) -> dict[str, str]:
        """The headers of every request: authentication, identity and the user agent."""
        return {
            "X-API-Key": self.api_key,
            "X-Agent-ID": self.agent_id,
            "Accept": "application/json",
            "User-Agent": f"openintent-django/{__version__} (python)",
            **self._extra_headers,
        }

    def url(self, path: str) -> str:
        """Absolute URL of a path under the server (``/api/v1/...`` or ``/.well-known/...``)."""
        return self.base_url + path

    def _request_args(self, call: Call[Any]) -> dict[str, Any]:
        # Every request carries the client's headers and an absolute URL, so that a caller's own httpx client
        # (with its own base URL and headers, or none) works as well as ours.
        headers = {**self.headers, **call.headers}
        if call.if_match is not None:
            headers["If-Match"] = str(call.if_match)
        args: dict[str, Any] = {"method": call.method, "url": self.url(call.path), "headers": headers}
        if call.params:
            args["params"] = clean_params(call.params)
        if call.files is not None:
            args["files"] = dict(call.files)
            if call.data:
                args["data"] = dict(call.data)
        elif call.json is not None:
            args["json"] = call.json
        return args

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half to all of ``backoff_factor * 2**attempt``, capped."""
        delay: float = min(self.max_backoff, self.backoff_factor * float(1 << attempt))
        return delay * random.uniform(0.5, 1.0)

    def _retry_delay(self, call: Call[Any], attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before trying ``call`` again, or ``None`` to stop. ``response`` is ``None`` after a
        connection error."""
        if not call.retryable or attempt >= self.max_retries:
            return None
        if response is None:
            return self._backoff(attempt)
        if response.status_code not in RETRY_STATUSES:
            return None
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers)
            if wait is not None:
                return wait if wait <= self.max_backoff else None
        return self._backoff(attempt)

    def _transport_error(self, exc: httpx.TransportError) -> OpenIntentConnectionError:
        error_class = OpenIntentTimeoutError if isinstance(exc, httpx.TimeoutException) else OpenIntentConnectionError
        reason = str(exc) or type(exc).__name__
        return error_class(f"Cannot reach the OpenIntent server at {self.base_url}: {reason}")

    def _http_options(self) -> dict[str, Any]:
        # Redirects are not followed: a redirected write would be re-sent as a GET (301/302) or silently to
        # another server; finish() names the new address instead.
        return {"timeout": self.timeout, "follow_redirects": False, **self.http_options}


def _tls(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    """``verify`` as httpx takes it: a CA bundle file or directory becomes an SSL context (httpx no longer takes
    paths)."""
    if not isinstance(verify, str):
        return verify
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


def _response(raw: httpx.Response) -> Response:
    return Response(raw.status_code, raw.headers, raw.content)


class SyncTransport(Transport):
    """Runs calls with ``httpx.Client``. A context manager; :meth:`close` releases its connections."""

    def _open(self, http_client: httpx.Client | httpx.AsyncClient | None) -> None:
        if isinstance(http_client, httpx.AsyncClient):
            raise TypeError(
                "OpenIntentClient needs an httpx.Client (an httpx.AsyncClient is for AsyncOpenIntentClient)"
            )
        self._http = http_client or httpx.Client(**self._http_options())

    def _execute(self, call: Call[T]) -> T:
        args = self._request_args(call)
        attempt = 0
        while True:
            try:
                raw = self._http.request(**args)
            except httpx.TransportError as exc:
                delay = self._retry_delay(call, attempt, None)
                if delay is None:
                    raise self._transport_error(exc) from exc
            else:
                delay = self._retry_delay(call, attempt, raw)
                if delay is None:
                    return finish(call, _response(raw))
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        """Release the connections; a caller's own httpx client is left open (its owner closes it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncTransport(Transport):
    """Runs calls with ``httpx.AsyncClient``. An async context manager; ``await close()`` releases it."""

    def _open(self, http_client: httpx.Client | httpx.AsyncClient | None) -> None:
        if isinstance(http_client, httpx.Client):
            raise TypeError(
                "AsyncOpenIntentClient needs an httpx.AsyncClient (an httpx.Client is for OpenIntentClient)"
            )
        self._http = http_client or httpx.AsyncClient(**self._http_options())

    async def _execute(self, call: Call[T]) -> T:
        args = self._request_args(call)
        attempt = 0
        while True:
            try:
                raw = await self._http.request(**args)
            except httpx.TransportError as exc:
                delay = self._retry_delay(call, attempt, None)
                if delay is None:
                    raise self._transport_error(exc) from exc
            else:
                delay = self._retry_delay(call, attempt, raw)
                if delay is None:
                    return finish(call, _response(raw))
            await asyncio.sleep(delay)
            attempt += 1

    async def close(self) -> None:
        """Release the connections; a caller's own httpx client is left open (its owner closes it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


# The method descriptor ----------------------------------------------------------------------------------------


class BuiltMethod:
    """What the method descriptors share: a function building the method's work for a client, whose name, docs
    and signature (less the client) the method takes."""

    def __init__(self, build: Callable[..., Any]) -> None:
        self._origin = build
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__
        signature = inspect.signature(build)
        parameters = list(signature.parameters.values())[1:]
        self.__signature__ = signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty)

    def _describe(self, function: _F) -> _F:
        functools.update_wrapper(function, self._origin, updated=())
        del function.__wrapped__  # type: ignore[attr-defined]
        function.__signature__ = self.__signature__  # type: ignore[attr-defined]
        return function


class endpoint(BuiltMethod, Generic[P, T]):  # noqa: N801  (used as a decorator, like property)
    """Makes a ``Call``-building function a method of both clients.

    On a sync client the method returns the parsed answer; on an async client it returns a coroutine of it.
    The parameters (``P``) are the building function's, so both clients have exactly the same signatures.
    """

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        super().__init__(build)
        self.build = build

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> endpoint[P, T]: ...

    @overload
    def __get__(self, instance: SyncTransport, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(self, instance: AsyncTransport, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(
        self, instance: SyncTransport | AsyncTransport | None, owner: type[Any]
    ) -> endpoint[P, T] | Callable[P, T] | Callable[P, Coroutine[Any, Any, T]]:
        if instance is None:
            return self
        build = self.build
        if isinstance(instance, AsyncTransport):
            async_transport = instance

            async def run_async(*args: P.args, **kwargs: P.kwargs) -> T:
                return await async_transport._execute(build(async_transport, *args, **kwargs))

            return self._describe(run_async)
        if isinstance(instance, SyncTransport):
            sync_transport = instance

            def run(*args: P.args, **kwargs: P.kwargs) -> T:
                return sync_transport._execute(build(sync_transport, *args, **kwargs))

            return self._describe(run)
        raise TypeError(f"{self.__name__} needs a sync or async OpenIntent client, not {type(instance).__name__}")

    def call(self, instance: Any, *args: Any, **kwargs: Any) -> Call[T]:
        """The ``Call`` this method would run, without running it."""
        return self.build(instance, *args, **kwargs)
