"""settings.STREAM_PATHS against the URLconf: the ASGI application sends the paths it matches to Django's ASGI
handler, on the event loop, and every other HTTP request whole to the WSGI handler on a thread
(openintent_site.threaded_http). An async view reached through the WSGI handler would block its thread for as long
as the stream lasts; a sync view sent to the ASGI handler would pay a hop to a thread per middleware."""

import asyncio
import io
import re
import threading

import pytest
from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from openintent_site.threaded_http import RefusedClients, ThreadedHTTP, Workers
from tests.conftest import concrete_path


def routed_paths():
    """A path for every ``path()`` route of the URLconf, each converter filled in: ``(route, path)``."""
    found = []

    def walk(patterns, prefix, plain):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            # A regular expression (the admin's app index, the JSON 404 for everything else) has no path to fill in.
            route_is_plain = plain and isinstance(pattern.pattern, RoutePattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route, route_is_plain)
            elif isinstance(pattern, URLPattern) and route_is_plain:
                found.append((route, "/" + concrete_path(route, "x")))

    walk(get_resolver().url_patterns, "", True)
    return found


def is_stream_path(path):
    return re.match(settings.STREAM_PATHS, path) is not None


def test_the_stream_paths_are_exactly_those_of_the_async_views():
    async_paths, misrouted = [], []
    for route, path in routed_paths():
        view_is_async = iscoroutinefunction(resolve(path).func)
        if view_is_async:
            async_paths.append(path)
        if view_is_async != is_stream_path(path):
            misrouted.append((route, "async" if view_is_async else "sync"))

    assert async_paths, "no async view found: the URLconf walk is broken"
    assert misrouted == []


def test_the_views_only_regular_expressions_route_to_are_sync():
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif not isinstance(pattern.pattern, RoutePattern):
                yield pattern

    regex_routed = list(walk(get_resolver().url_patterns))

    assert regex_routed
    assert [str(pattern.pattern) for pattern in regex_routed if iscoroutinefunction(pattern.callback)] == []


def test_the_waiting_paths_are_exactly_the_tool_calls_and_the_attachment_downloads():
    """The requests that mostly wait on another server or on their client run on threads of their own
    (settings.WAITING_PATHS): a route that waits and is missing from them would hold up the plain requests' few
    threads, and a quick route in them would not get the plain requests' share."""
    waiting = {
        resolve(path).func.view_class.__name__
        for _, path in routed_paths()
        if re.match(settings.WAITING_PATHS, path) is not None
    }

    assert waiting == {"InvokeView", "AttachmentContentView"}


def test_the_releasing_requests_are_exactly_the_lease_releases():
    """A server thread takes the requests matching settings.RELEASING_REQUESTS before the plain requests queued: a
    lease's release, which its scope's contenders wait on. Any other route matched would jump the queue for nothing."""
    releasing = set()
    for _, path in routed_paths():
        view = resolve(path).func
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if re.match(settings.RELEASING_REQUESTS, f"{method} {path}") is not None:
                releasing.add((method, getattr(view, "view_class", view).__name__))

    assert releasing == {("DELETE", "LeaseDetailView")}


def test_a_server_thread_takes_the_releasing_requests_before_those_queued():
    workers = Workers(1, "test-http")
    busy, ran = threading.Event(), []
    held = workers.submit(1, busy.wait)
    queued = [workers.submit(1, ran.append, number) for number in range(3)]
    release = workers.submit(0, ran.append, "release")
    busy.set()

    for future in [held, *queued, release]:
        future.result(timeout=30)
    assert ran == ["release", 0, 1, 2]


def test_a_request_cancelled_while_queued_never_runs_and_a_failing_one_raises():
    workers = Workers(1, "test-http")
    busy, ran = threading.Event(), []
    held = workers.submit(1, busy.wait)
    cancelled = workers.submit(1, ran.append, "cancelled")
    failing = workers.submit(1, lambda: 1 / 0)
    after = workers.submit(1, ran.append, "after")

    assert cancelled.cancel()
    busy.set()
    held.result(timeout=30)
    after.result(timeout=30)
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=30)
    assert ran == ["after"]


class RecordingApp:
    """A WSGI application that answers ``/refuse`` with 409, holds the thread on ``/hold`` until ``go`` is set, and
    records which client each request it ran came from."""

    def __init__(self):
        self.go = threading.Event()
        self.holding = threading.Event()
        self.ran = []

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/hold":
            self.holding.set()
            self.go.wait(timeout=30)
        else:
            self.ran.append((environ["REMOTE_PORT"], environ["REQUEST_METHOD"], path))
        start_response("409 Conflict" if path == "/refuse" else "200 OK", [("Content-Type", "application/json")])
        return io.BytesIO(b"{}")  # iterable, and closed as Django's responses are


def serve_one_thread(app):
    return ThreadedHTTP(
        app,
        None,
        stream_paths=r"^/streams$",
        waiting_paths=r"^/waiting$",
        releasing_requests=r"^DELETE /release$",
        threads=1,
        waiting_threads=1,
    )


async def request(server, port, method, path):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "client": ("127.0.0.1", port), "headers": []}
    await server(scope, receive, send)
    return sent[0]["status"]


def order_served_behind_a_held_thread(app, server, queued):
    """Run ``queued`` ((port, method, path) requests, in that order) while the only thread is held: the order the
    thread took them in."""

    async def run():
        held = asyncio.ensure_future(request(server, 9, "GET", "/hold"))
        await asyncio.get_running_loop().run_in_executor(None, app.holding.wait, 30)
        waiting = [asyncio.ensure_future(request(server, *each)) for each in queued]
        await asyncio.sleep(0)  # each request is read and queued for the thread before the hold ends
        app.go.set()
        await asyncio.gather(held, *waiting)

    app.ran.clear()
    app.holding.clear()
    app.go.clear()
    asyncio.run(run())
    return [port for port, _, _ in app.ran]


def test_a_client_refused_a_write_is_served_before_those_that_came_after_its_refusal():
    """The contenders for one intent: the winner (port 1) asks again at once, the loser (port 2), refused earlier,
    asks after it. The thread takes the loser's request first, until one of its writes is accepted."""
    app = RecordingApp()
    server = serve_one_thread(app)

    async def contend():
        assert await request(server, 2, "POST", "/refuse") == 409
        assert await request(server, 1, "POST", "/accept") == 200

    asyncio.run(contend())
    assert order_served_behind_a_held_thread(app, server, [(1, "POST", "/next"), (2, "GET", "/next")]) == ["2", "1"]
    # A read refused nothing: the loser keeps its place until one of its writes is accepted.
    assert order_served_behind_a_held_thread(app, server, [(1, "GET", "/next"), (2, "GET", "/next")]) == ["2", "1"]

    asyncio.run(request(server, 2, "POST", "/accept"))
    assert order_served_behind_a_held_thread(app, server, [(1, "POST", "/next"), (2, "POST", "/next")]) == ["1", "2"]


def test_a_refused_client_that_stays_quiet_takes_its_turn_by_arrival_again():
    now = [100.0]
    refused = RefusedClients(patience=10.0, clock=lambda: now[0])
    refused.answered(("127.0.0.1", 2), "POST", 409)
    now[0] = 105.0
    refused.answered(("127.0.0.1", 2), "PATCH", 409)  # asked again: still waiting since its first refusal
    now[0] = 110.0
    assert refused.turn(("127.0.0.1", 2)) == 100.0
    assert refused.turn(("127.0.0.1", 1)) == 110.0

    now[0] = 115.5  # more than the patience since its last refusal
    assert refused.turn(("127.0.0.1", 2)) == 115.5
    assert refused.since == {}
