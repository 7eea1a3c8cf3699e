"""The cap on what a stream's connection holds for a client that has not read it yet.

Daphne's ``send`` returns as soon as Twisted has the bytes, and Twisted keeps what the socket will not take in the
connection's transport for as long as the connection lives: a subscriber that stops reading made the server buffer
every event for it (50 stalled streams and 150 events of 32 KB grew daphne by 220 MB). Nothing in ASGI tells an
application that its client does not read, so the streams look at the transport themselves.

A connection may hold at most ``OPENINTENT_STREAM_MAX_BUFFER_BYTES`` unread; one frame larger than that still goes
out when nothing waits before it, or no client could ever get past it.

- The hub serves every subscriber of the process and never waits for one: what does not fit is left to the
  subscriber's own task (``Subscription.hand_over``), whose events wait in the log meanwhile, not in memory.
- The task writes only what fits, and waits for the client to read the rest of the way. A client that takes
  nothing for ``OPENINTENT_STREAM_KEEPALIVE_SECONDS`` has stalled: its connection is dropped with all it holds. The
  client reconnects with the last id it read whole and gets the rest from the log, so nothing is lost; a slow
  reader that keeps reading is never dropped, however far behind it is.

Where the server's transport is not one this module knows (Django's test client has none) no cap applies.
"""

import asyncio
from functools import partial

from django.conf import settings

FIRST_POLL_SECONDS = 0.005
MAX_POLL_SECONDS = 0.1


class Stalled(Exception):
    """The client read nothing for too long; its connection has been dropped."""


class Backlog:
    """What one connection holds unread, through its Twisted transport. ``size`` is the number of bytes an event
    takes on this connection."""

    def __init__(self, transport, size):
        self.transport = transport
        self.size = size
        self.limit = settings.OPENINTENT_STREAM_MAX_BUFFER_BYTES
        self.patience = settings.OPENINTENT_STREAM_KEEPALIVE_SECONDS

    def queued(self):
        # What Twisted's own pause check (FileDescriptor._isSendBufferFull) counts, less what was already sent.
        transport = self.transport
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen

    def budget(self):
        """A check, for the events about to be written at once, of whether each still fits (in order)."""
        queued = self.queued()
        room, empty = self.limit - queued, not queued

        def fits(event):
            nonlocal room, empty
            size = self.size(event)
            if size > room and not empty:
                return False
            room, empty = room - size, False
            return True

        return fits

    async def writes(self, frames):
        """``frames`` in order, in groups that each fit the room the connection has when they are written; waits
        for the client to read between groups. Raises Stalled (the connection dropped) if it stops reading."""
        start = 0
        while start < len(frames):
            room = self.limit - await self.room_for(len(frames[start]))
            end = start
            while end < len(frames) and (end == start or len(frames[end]) <= room):
                room -= len(frames[end])
                end += 1
            yield frames[start:end]
            start = end

    async def room_for(self, size):
        """Wait until ``size`` more bytes fit; returns what is queued then."""
        loop = asyncio.get_running_loop()
        queued = self.queued()
        deadline, delay = loop.time() + self.patience, FIRST_POLL_SECONDS
        while queued and queued + size > self.limit:
            if self.transport.disconnected:
                raise Stalled("The connection has closed")
            if loop.time() >= deadline:
                self.drop()
                raise Stalled(f"The client read nothing for {self.patience:g} s with {queued} bytes waiting")
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_POLL_SECONDS)
            now = self.queued()
            if now < queued:  # the client reads: however slowly, it has not stalled
                deadline = loop.time() + self.patience
            queued = now
        return queued

    def drop(self):
        """Close the connection at once, discarding what it holds: a close that waited for the client to read what
        is queued would wait for ever."""
        self.transport.abortConnection()


def backlog_of(send, size):
    """The Backlog of the connection that the ASGI ``send`` writes to, or None where the server is not daphne."""
    # Daphne's send is ``partial(server.handle_reply, protocol)``, the protocol being the connection's Twisted
    # HTTP request or websocket protocol. TLS wraps the TCP transport in one that passes the bytes on at once.
    protocol = send.args[0] if isinstance(send, partial) and send.args else None
    transport = getattr(protocol, "transport", None)
    if not buffers(transport):
        transport = getattr(transport, "transport", None)
    return Backlog(transport, size) if buffers(transport) else None


def buffers(transport):
    """Whether ``transport`` is a Twisted file descriptor transport, whose write buffer Backlog reads."""
    return all(hasattr(transport, name) for name in ("dataBuffer", "offset", "_tempDataLen", "disconnected"))


async def in_writes(backlog, frames):
    """``frames`` in the groups ``backlog`` lets through (all at once without one)."""
    if backlog is None:
        yield frames
        return
    async for group in backlog.writes(frames):
        yield group
