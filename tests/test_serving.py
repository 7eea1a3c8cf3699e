"""settings.STREAM_PATHS against the URLconf: the ASGI application sends the paths it matches to Django's ASGI
handler, on the event loop, and every other HTTP request whole to the WSGI handler on a thread
(openintent_site.threaded_http). An async view reached through the WSGI handler would block its thread for as long
as the stream lasts; a sync view sent to the ASGI handler would pay a hop to a thread per middleware."""

import re
import threading

import pytest
from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from openintent_site.threaded_http import Workers
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
    held = workers.submit(False, busy.wait)
    queued = [workers.submit(False, ran.append, number) for number in range(3)]
    release = workers.submit(True, ran.append, "release")
    busy.set()

    for future in [held, *queued, release]:
        future.result(timeout=30)
    assert ran == ["release", 0, 1, 2]


def test_a_request_cancelled_while_queued_never_runs_and_a_failing_one_raises():
    workers = Workers(1, "test-http")
    busy, ran = threading.Event(), []
    held = workers.submit(False, busy.wait)
    cancelled = workers.submit(False, ran.append, "cancelled")
    failing = workers.submit(False, lambda: 1 / 0)
    after = workers.submit(False, ran.append, "after")

    assert cancelled.cancel()
    busy.set()
    held.result(timeout=30)
    after.result(timeout=30)
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=30)
    assert ran == ["after"]
