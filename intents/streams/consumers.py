"""Websocket streams (``/ws/intents/{id}``, ``/ws/agents/{id}``, ``/ws/portfolios/{id}``): the SSE streams' events as
JSON text frames ``{"id", "event", "data"}``.

The key travels in the ``X-API-Key`` header or, for browsers, which cannot set one, as ``?api_key=``; a reconnecting
client passes ``?last_event_id=`` to receive what it missed. A refused connection is accepted, told why in one
``{"error": {...}}`` frame, and closed with 4401, 4403 or 4404, so that clients can tell the reasons apart.
"""

import asyncio
import json
import logging
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from openintent_site.answers import answer_for
from openintent_site.errors import DomainError

from .backlog import Stalled, backlog_of, in_writes
from .hub import StreamClosed, open_subscription

logger = logging.getLogger(__name__)


class StreamConsumer(AsyncWebsocketConsumer):
    kind = None

    async def connect(self):
        # Latin-1 decodes any bytes: a malformed query or header is then simply a wrong key or id.
        query_string = self.scope["query_string"].decode("latin-1")
        query = {name: values[-1] for name, values in parse_qs(query_string).items()}
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in self.scope["headers"]}
        raw_key = headers.get("x-api-key") or query.get("api_key", "")
        key = self.scope["url_route"]["kwargs"]["key"]
        self.subscription = self.pump = None
        try:
            agent_id = headers.get("x-agent-id") or query.get("agent_id")
            self.subscription = await open_subscription(raw_key, self.kind, key, query.get("last_event_id"), agent_id)
        except DomainError as error:
            status, body = answer_for(error)
            await self.refuse(4000 + status, body, accept=True)
            return
        # Accepted only once subscribed: a client that writes as soon as the handshake completes sees its write.
        await self.accept()
        self.subscription.backlog = backlog_of(self.base_send, websocket_size)
        self.subscription.push = self.push
        self.pump = asyncio.ensure_future(self.forward())

    async def refuse(self, code, body, accept=False):
        if accept:
            await self.accept()
        await self.send(text_data=json.dumps({"error": body}))
        await self.close(code)

    async def forward(self):
        try:
            while True:
                events = await self.subscription.next_events(settings.OPENINTENT_STREAM_KEEPALIVE_SECONDS)
                async for group in in_writes(self.subscription.backlog, [event.websocket for event in events]):
                    for text in group:
                        await self.send(text_data=text)
        except StreamClosed as closed:
            await self.refuse(4403, {"detail": str(closed)})
        except Stalled:
            pass  # the connection is gone; the client reconnects with its last id
        except Exception:
            # Close rather than fall silent: the client reconnects with its last id and misses nothing.
            logger.exception("websocket stream failed")
            await self.close(1011)

    async def push(self, events):
        """The hub's way in: events it delivers itself while ``forward`` idles."""
        for event in events:
            await self.send(text_data=event.websocket)

    async def disconnect(self, code):
        if self.pump is not None:
            self.pump.cancel()
        if self.subscription is not None:
            self.subscription.close()

    async def receive(self, text_data=None, bytes_data=None):
        """Streams are one-way; what a client sends is ignored."""


def websocket_size(event):
    # JSON with everything beyond ASCII escaped: a byte a character.
    return len(event.websocket)


class IntentStreamConsumer(StreamConsumer):
    kind = "intent"


class AgentStreamConsumer(StreamConsumer):
    kind = "agent"


class PortfolioStreamConsumer(StreamConsumer):
    kind = "portfolio"
