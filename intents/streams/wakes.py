"""Wake-ups between the processes of one machine, for set-ups without Redis.

The stream hub of a server process reads the event log when woken. A write committed in the same process wakes it
directly; one committed in another process (another server worker, a Celery worker, a management command) needs a
carrier between processes. With ``REDIS_URL`` that is the channel layer; without it, it is this module: a folder
(``OPENINTENT_STREAM_WAKE_DIR``, ``var/wakes`` by default) holding one Unix datagram socket per running hub, named
``<pid>-<random>``. A process that commits a write sends a one-byte datagram to every socket in the folder but its
own, from the committing thread: a directory listing and one non-blocking ``sendto`` per socket, about 8 µs per
commit plus 5 to 7 µs per listening process on a small machine.

A wake is only a hint to read the log, and the hub polls the log anyway, so every failure is dropped quietly: a
folder not made yet (no hub has run), a receiver whose queue is full (it has wakes pending already), a socket
whose process has died (``sendto`` is refused; the sender removes the file, so a dead process costs one refused
send). A hub leaving removes its own socket. The folder must be on a local filesystem: socket files do not carry
datagrams across machines, which the Redis layer does.

:class:`LocalWakes` has the channel-layer methods the hub uses (``new_channel``, ``group_add``, ``receive``,
``group_discard``, ``group_send``), so the hub listens on it as on the Redis layer.
"""

import asyncio
import contextlib
import functools
import logging
import os
import re
import secrets
import socket
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

WAKE = b"\0"
# Room in a socket address (sun_path: 108 bytes on Linux, 104 on macOS) for the folder, a slash and a name.
MAX_PATH_BYTES = 103
NAME_BYTES = len(f"{2**22}-{secrets.token_hex(4)}")
# Only what hubs name so is sent to, and only sockets are removed: a folder set to one that holds other files
# loses none of them.
SOCKET_NAME = re.compile(r"[0-9]+-[0-9a-f]{8}")
MAX_DRAINED = 256


class LocalWakes:
    """The wake-up sockets of one folder: those this process binds for its hubs, and the sending of wakes to all
    the others."""

    def __init__(self, folder):
        self.folder = str(folder)
        self.bound = {}
        self.sender = None

    # The channel-layer interface the hub listens on. The folder is the one group: binding a socket joins it.

    async def new_channel(self):
        Path(self.folder).mkdir(parents=True, exist_ok=True)
        path = os.path.join(self.folder, f"{os.getpid()}-{secrets.token_hex(4)}")
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            receiver.setblocking(False)
            receiver.bind(path)
        except BaseException:
            receiver.close()
            raise
        self.bound[path] = receiver
        return path

    async def group_add(self, group, channel):
        pass

    async def receive(self, channel):
        receiver = self.bound[channel]
        message = await asyncio.get_running_loop().sock_recv(receiver, 1)
        # Whatever else has arrived meanwhile is served by the same read of the log (a bounded number: writes
        # arriving faster than this loop could otherwise hold the event loop here).
        with contextlib.suppress(BlockingIOError):
            for _ in range(MAX_DRAINED):
                receiver.recv(1)
        return message

    async def group_discard(self, group, channel):
        receiver = self.bound.pop(channel, None)
        if receiver is not None:
            receiver.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(channel)

    async def group_send(self, group, message):
        self.wake_others()

    def wake_others(self):
        """Send a wake to the hubs of every other process; never waits and never raises."""
        try:
            names = os.listdir(self.folder)
        except OSError:  # no hub has bound a socket here yet
            return
        own = f"{os.getpid()}-"
        for name in names:
            if not name.startswith(own) and SOCKET_NAME.fullmatch(name):
                self.send(os.path.join(self.folder, name))

    def send(self, path):
        try:
            if self.sender is None:
                sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sender.setblocking(False)
                self.sender = sender
            self.sender.sendto(WAKE, path)
        except ConnectionRefusedError:
            # Nothing is bound to the socket any more: its process has ended without removing it.
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    os.unlink(path)
        except BlockingIOError:
            pass  # its queue is full: that hub has wakes waiting already
        except OSError as error:
            logger.debug("could not wake %s: %s", path, error)


@functools.cache
def local_wakes_in(folder):
    """The LocalWakes of ``folder``, or None where its sockets cannot be named (a path too long for a socket
    address) or the platform has no Unix sockets: then only the poll reaches other processes' writes."""
    if not hasattr(socket, "AF_UNIX"):
        return None
    if len(os.fsencode(folder)) + 1 + NAME_BYTES > MAX_PATH_BYTES:
        logger.warning(
            "OPENINTENT_STREAM_WAKE_DIR %s is too long for socket addresses; streams of other processes' writes "
            "wait for the poll of the log",
            folder,
        )
        return None
    return LocalWakes(folder)
