"""The cap on what a stream's connection holds for a client that has not read it yet.

What the socket will not take waits in the connection's asyncio transport. Left to itself, the server either keeps
all of it for as long as the connection lives (a subscriber that stops reading made the server buffer every event for
it: 50 stalled streams and 150 events of 32 KB grew a server process by 220 MB), or, as uvicorn does past the
transport's high-water mark of 64 KiB, makes the next ``send`` wait until the client reads: the hub, which writes to
every subscriber in turn, would then wait on the slowest. Nothing in ASGI tells an application that its client does
not read, so the streams look at the transport themselves, and take its flow control over: the transport is told
never to pause the connection (``NEVER_PAUSE``), so that a ``send`` returns at once, and the cap below is the
connection's only bound.

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
import contextlib
import socket
import struct

from django.conf import settings

FIRST_POLL_SECONDS = 0.005
MAX_POLL_SECONDS = 0.1
# A high-water mark the transport never reaches: the largest uvloop takes (a C int), some 2 GiB, while a connection
# holds at most the cap and one frame.
NEVER_PAUSE = 2**31 - 1


class Stalled(Exception):
    """The client read nothing for too long; its connection has been dropped."""


class Backlog:
    """What one connection holds unread, through its asyncio transport, which it keeps from pausing writes while the
    stream lasts (``release`` gives the transport its own limits back). ``size`` is the number of bytes an event
    takes on this connection."""

    def __init__(self, transport, size):
        self.transport = transport
        self.size = size
        self.limit = settings.OPENINTENT_STREAM_MAX_BUFFER_BYTES
        self.patience = settings.OPENINTENT_STREAM_KEEPALIVE_SECONDS
        self.own_limits = transport.get_write_buffer_limits()
        transport.set_write_buffer_limits(high=NEVER_PAUSE)

    def queued(self):
        return self.transport.get_write_buffer_size()

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
            if self.transport.is_closing():
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
        # The transport drops its own buffer, but a plain close leaves what the kernel holds to be sent (megabytes
        # on a fast link) and the client none the wiser until it reads it all; a zero linger resets the connection,
        # freeing both at once and telling the client.
        connection = self.transport.get_extra_info("socket")
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def release(self):
        """Give the transport its own flow control back, for what the connection serves after the stream (HTTP/1.1
        keeps it open for the next request once a stream ends)."""
        low, high = self.own_limits
        if not self.transport.is_closing():
            self.transport.set_write_buffer_limits(high=high, low=low)


def backlog_of(send, size):
    """The Backlog of the connection that the ASGI ``send`` writes to, or None where the server is not uvicorn."""
    # uvicorn's send is a method of the connection's request cycle (HTTP) or protocol (websockets), each holding the
    # connection's asyncio transport; TLS gives them a transport that buffers and reports the same way.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return Backlog(transport, size) if buffers(transport) else None


def buffers(transport):
    """Whether ``transport`` is an asyncio write transport, whose write buffer Backlog reads and bounds."""
    names = ("get_write_buffer_size", "get_write_buffer_limits", "set_write_buffer_limits", "is_closing", "abort")
    names += ("get_extra_info",)
    return all(callable(getattr(transport, name, None)) for name in names)


async def in_writes(backlog, frames):
    """``frames`` in the groups ``backlog`` lets through (all at once without one)."""
    if backlog is None:
        yield frames
        return
    async for group in backlog.writes(frames):
        yield group
