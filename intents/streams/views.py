"""Live streams over Server-Sent Events (RFC-0006).

Plain async Django views, not DRF ones: a stream holds its connection open, and under ASGI an async view costs no
thread while it waits. Refusals are answered before the stream starts, in the API's error shapes."""

import weakref
from functools import partial

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import JsonResponse, StreamingHttpResponse

from openintent_site.answers import answer_for
from openintent_site.asgi_send import ASGI_SEND
from openintent_site.errors import DomainError

from .backlog import Stalled, backlog_of, in_writes
from .hub import StreamClosed, open_subscription

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}

# A stream reached through a WSGI worker would hold that worker (one request at a time) until the client leaves or
# gunicorn kills it, so any key holder could stall the API. 421 Misdirected Request (RFC 9110, 15.5.20) says what
# happened: the request is sound but reached a server that cannot answer it. It is a 4xx, so browsers' EventSource
# and the SDK stop there instead of reconnecting into the same worker, as they would after a 5xx such as 501; and
# unlike 400 it does not blame the request, which is right at the ASGI server.
NOT_SERVED_OVER_WSGI = (
    "Streams are not served here: this is a WSGI server, which serves the rest of the API. Live streams are served "
    "by the ASGI server (uvicorn) at the same paths; the reverse proxy sends /ws/, /api/v1/subscribe/ and paths "
    "ending in /subscribe to it (README, Deployment)."
)


def event_stream_view(kind):
    async def subscribe(request, key):
        if request.method != "GET":
            return JsonResponse({"detail": "Method Not Allowed"}, status=405, headers={"Allow": "GET"})
        if not isinstance(request, ASGIRequest):
            return JsonResponse({"detail": NOT_SERVED_OVER_WSGI}, status=421)
        last_event_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
        try:
            subscription = await open_subscription(
                request.headers.get("X-API-Key"), kind, key, last_event_id, request.headers.get("X-Agent-ID")
            )
        except DomainError as error:
            status, answer = answer_for(error)
            return JsonResponse(answer, status=status)
        frames = sse_frames(subscription, getattr(request, "scope", {}).get(ASGI_SEND))
        # A client that leaves before the stream starts leaves a response that is never read: leave with it.
        weakref.finalize(frames, subscription.close)
        response = StreamingHttpResponse(frames, content_type="text/event-stream; charset=utf-8")
        for header, value in SSE_HEADERS.items():
            response[header] = value
        return response

    subscribe.csrf_exempt = True
    return subscribe


async def sse_frames(subscription, send=None):
    # The retry hint and a first comment go out at once, so that clients and proxies see the stream open.
    yield b"retry: 3000\n: connected\n\n"
    if send is not None:
        # Django has sent the head and that first chunk, and sends nothing more until this generator yields
        # again: from here the hub may write frames to the server itself, as the events are read.
        subscription.backlog = backlog_of(send, sse_size)
        subscription.push = partial(push_sse_frames, send)
    try:
        while True:
            events = await subscription.next_events(settings.OPENINTENT_STREAM_KEEPALIVE_SECONDS)
            frames = [event.sse for event in events] if events else [b": keepalive\n\n"]
            async for group in in_writes(subscription.backlog, frames):
                yield b"".join(group)
    except (StreamClosed, Stalled):
        return
    finally:
        subscription.close()
        if subscription.backlog is not None:
            subscription.backlog.release()


def sse_size(event):
    return len(event.sse)


async def push_sse_frames(send, events):
    await send({"type": "http.response.body", "body": b"".join(event.sse for event in events), "more_body": True})
