"""The two clients: the same API methods (defined once in :mod:`openintent._api`), run synchronously or
asynchronously. Only the helpers that drive several calls — the lease context manager and the paging
iterator — are written for each, as thin loops over the shared methods."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, TypeVar

from ._api import OpenIntentAPI
from ._core import AsyncTransport, SyncTransport
from ._infrastructure import InfrastructureAPI
from ._namespaces import Namespaces
from ._orchestration import OrchestrationAPI
from ._subscribe import StreamAPI
from .exceptions import OpenIntentError
from .models import Intent, IntentLease, IntentStatus

__all__ = ["OpenIntentClient", "AsyncOpenIntentClient"]

_T = TypeVar("_T")

_CLIENT_DOC = """

    ``OpenIntentClient(base_url, api_key, agent_id="anonymous", timeout=30.0, *, max_retries=3,
    backoff_factor=0.25, max_backoff=10.0, headers=None, verify=True, proxy=None, trust_env=True,
    http_client=None)``

    Every request carries ``X-API-Key`` and ``X-Agent-ID``. Idempotent calls (GET, PUT, DELETE) are retried
    ``max_retries`` times on connection errors, 5xx and 429 (honouring ``Retry-After``) with exponential
    backoff and jitter; POST and PATCH calls are never retried.

    ``verify`` is ``False``, a CA bundle (file or directory) or an ``ssl.SSLContext``; ``proxy`` an
    ``http://``/``https://`` proxy URL (or ``httpx.Proxy``); with ``trust_env`` the ``HTTP(S)_PROXY`` and
    ``SSL_CERT_FILE`` variables apply. ``http_client`` is your own ``httpx.Client`` (``httpx.AsyncClient`` for
    the async client), used as it is configured and left open on ``close()``. Redirects are never followed: a
    redirect, an HTML page or JSON that is not the expected object raises ``UnexpectedResponseError``.
"""


async def _to_its_end(call: Awaitable[_T]) -> _T:
    """Await ``call`` to its end even if this task is cancelled meanwhile, then let the cancellation go on.

    A lease's release cut short (an agent stopped while its block was releasing) never reached the server, or did
    without an answer, and left the scope closed to every other holder until the lease lapsed."""
    running = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait([running])  # cancelled again meanwhile, it goes on by itself
        if not running.cancelled():
            running.exception()  # retrieved: the cancellation is what this task reports
        raise


def _renew_interval(duration_seconds: int, renew_every: float | None) -> float:
    return renew_every if renew_every is not None else max(duration_seconds / 2, 0.1)


class OpenIntentClient(OpenIntentAPI, OrchestrationAPI, InfrastructureAPI, Namespaces, StreamAPI, SyncTransport):
    """Synchronous client. A context manager; ``close()`` releases its connections.""" + _CLIENT_DOC

    @contextlib.contextmanager
    def lease(
        self,
        intent_id: str,
        scope: str,
        duration_seconds: int = 300,
        *,
        auto_renew: bool = False,
        renew_every: float | None = None,
    ) -> Iterator[IntentLease]:
        """Hold a lease on ``scope`` for the ``with`` block; it is released on the way out, even when the block
        raises (a failing release then does not hide the block's exception). With ``auto_renew`` a background
        thread renews it every ``renew_every`` seconds (half the duration by default), updating the yielded
        lease's ``expires_at``."""
        held = self.acquire_lease(intent_id, scope, duration_seconds)
        stop = threading.Event()
        renewer: threading.Thread | None = None
        if auto_renew:
            interval = _renew_interval(duration_seconds, renew_every)

            def renew() -> None:
                while not stop.wait(interval):
                    try:
                        held.expires_at = self.renew_lease(intent_id, held.id, duration_seconds).expires_at
                    except OpenIntentError:
                        return

            renewer = threading.Thread(target=renew, name=f"openintent-lease-{held.id}", daemon=True)
            renewer.start()
        failed = False
        try:
            yield held
        except BaseException:
            failed = True
            raise
        finally:
            stop.set()
            if renewer is not None:
                renewer.join()
            try:
                self.release_lease(intent_id, held.id)
            except OpenIntentError:
                if not failed:
                    raise

    def iter_intents(
        self,
        status: IntentStatus | str | None = None,
        *,
        created_by: str | None = None,
        parent_id: str | None = None,
        q: str | None = None,
        page_size: int = 50,
    ) -> Iterator[Intent]:
        """Every matching intent, newest first, fetched page by page with the server's cursor."""
        cursor: str | None = None
        while True:
            page = self.list_intents_page(
                status, page_size, created_by=created_by, parent_id=parent_id, q=q, cursor=cursor
            )
            yield from page.intents
            if not page.next_cursor:
                return
            cursor = page.next_cursor


class AsyncOpenIntentClient(OpenIntentAPI, OrchestrationAPI, InfrastructureAPI, Namespaces, StreamAPI, AsyncTransport):
    """Asynchronous client: every API method returns a coroutine. An async context manager; ``await close()``
    releases its connections.""" + _CLIENT_DOC.replace("OpenIntentClient(", "AsyncOpenIntentClient(")

    @contextlib.asynccontextmanager
    async def lease(
        self,
        intent_id: str,
        scope: str,
        duration_seconds: int = 300,
        *,
        auto_renew: bool = False,
        renew_every: float | None = None,
    ) -> AsyncIterator[IntentLease]:
        """``async with`` form of :meth:`OpenIntentClient.lease`; the renewals run as a task."""
        held = await self.acquire_lease(intent_id, scope, duration_seconds)
        renewer: asyncio.Task[Any] | None = None
        if auto_renew:
            interval = _renew_interval(duration_seconds, renew_every)

            async def renew() -> None:
                while True:
                    await asyncio.sleep(interval)
                    try:
                        renewed = await self.renew_lease(intent_id, held.id, duration_seconds)
                    except OpenIntentError:
                        return
                    held.expires_at = renewed.expires_at

            renewer = asyncio.ensure_future(renew())
        failed = False
        try:
            yield held
        except BaseException:
            failed = True
            raise
        finally:

            async def release() -> None:
                if renewer is not None:
                    renewer.cancel()
                    await asyncio.wait([renewer])
                await self.release_lease(intent_id, held.id)

            try:
                await _to_its_end(release())
            except OpenIntentError:
                if not failed:
                    raise

    async def iter_intents(
        self,
        status: IntentStatus | str | None = None,
        *,
        created_by: str | None = None,
        parent_id: str | None = None,
        q: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[Intent]:
        """``async for`` form of :meth:`OpenIntentClient.iter_intents`."""
        cursor: str | None = None
        while True:
            page = await self.list_intents_page(
                status, page_size, created_by=created_by, parent_id=parent_id, q=q, cursor=cursor
            )
            for intent in page.intents:
                yield intent
            if not page.next_cursor:
                return
            cursor = page.next_cursor
