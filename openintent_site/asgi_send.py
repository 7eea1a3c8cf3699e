"""Live streams write their frames with the ASGI ``send`` of their request, not through a response iterator.

Django sends a streaming response one chunk per step of its iterator, and that iterator belongs to the
subscriber's task: every event would wake each subscriber's task to hand its chunk back to Django. With ``send``
in the scope, the stream hub writes each frame to the server as soon as it has read the event, which took a
quarter off the server's CPU time per event fanned out to 200 subscribers (bench/streams.py, on daphne). Views that
find no ``send`` in the scope (Django's test client, WSGI) stream through the iterator as usual.

A streaming response written this way must not be rewritten by middleware (GZip would compress the chunks it sees
and miss the others); none of the project's middleware touches response bodies.
"""

ASGI_SEND = "openintent.send"


class ExposeSend:
    """ASGI middleware putting each HTTP request's ``send`` into its scope under ``ASGI_SEND``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, ASGI_SEND: send}
        await self.app(scope, receive, send)
