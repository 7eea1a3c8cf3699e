"""How one server process runs, in one place, so that ``manage.py serve``, the tests and the benchmarks run it the
same way: ``python -m openintent_site.server`` (``server_command``).

uvicorn on uvloop, with httptools parsing HTTP: about 0.05 ms of CPU per request of its own. Choices that are not
uvicorn's defaults, and why (named as uvicorn's command line names them):

- ``--ws websockets-sansio`` (pinned rather than left to ``auto``): each ``send`` writes its frame to the transport
  before it returns, waiting only while the transport has paused writing, which a stream's connection never does
  (``intents.streams.backlog`` takes that connection's flow control over). ``wsproto`` does the same but would be one
  more dependency; the legacy ``websockets`` implementation, deprecated, writes through a protocol with flow control
  of its own.
- ``--ws-per-message-deflate False``: the hub writes every event to every subscriber; compressing each frame once per
  connection would cost more CPU than the fan-out itself, and the Backlog counts bytes as the events hold them.
- ``--lifespan off``: the app has nothing to do at startup or shutdown beyond importing itself, which runs
  ``prepare_server_process`` in every worker process.
- ``--no-proxy-headers``: X-Forwarded-For and -Proto are not taken on trust; a deployment behind a proxy configures
  that in Django (SECURE_PROXY_SSL_HEADER) or turns them on with FORWARDED_ALLOW_IPS and uvicorn's flag.
- ``--timeout-keep-alive``: an idle connection is kept KEEP_ALIVE_SECONDS, longer than clients and proxies keep
  theirs (nginx 60 s): a server that closes first races the client's next request on that connection, which then
  fails, rather than leaving the close to the client.
- ``--timeout-graceful-shutdown``: on SIGTERM the server stops accepting at once and lets requests in hand finish,
  but a live stream never finishes by itself: it is cut after GRACEFUL_SHUTDOWN_SECONDS, and its client resumes
  elsewhere with Last-Event-ID. Websockets are closed at once (1012, service restart).
"""

import argparse
import socket
import sys

APPLICATION = "openintent_site.asgi:application"
GRACEFUL_SHUTDOWN_SECONDS = 3
KEEP_ALIVE_SECONDS = 75
# uvicorn's own default: connections the kernel holds for a process that has not accepted them yet.
LISTEN_BACKLOG = 2048


def server_command(host=None, port=None, *, fd=None, access_log=False):
    """argv running one server process on ``host``:``port``, or on the listening socket ``fd`` it inherits (what
    ``manage.py serve`` gives each of its processes), logging each request only with ``access_log``."""
    where = ["--fd", str(fd)] if fd is not None else ["--host", host, "--port", str(port)]
    return [sys.executable, "-m", "openintent_site.server", *where, *(["--access-log"] if access_log else [])]


def main(argv=None):
    """Run one uvicorn server process with the options above.

    uvicorn is run from here rather than from its command line because of ``--fd``: its command line takes the
    inherited socket for a Unix one, and then leaves Nagle's algorithm on for every TCP connection, which held each
    response whose head and body go out in two writes for the client's delayed ACK (a GET took 44 ms instead of 6)."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m openintent_site.server")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--fd", type=int, help="a listening socket inherited from the parent process")
    parser.add_argument("--access-log", action="store_true")
    options = parser.parse_args(argv)
    config = uvicorn.Config(
        APPLICATION,
        host=options.host or "127.0.0.1",
        port=options.port or 8000,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="off",
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        access_log=options.access_log,
    )
    # socket(fileno=...) reads the socket's own family and type.
    sockets = None if options.fd is None else [socket.socket(fileno=options.fd)]
    uvicorn.Server(config).run(sockets=sockets)


def listening_socket(host, port):
    """A socket listening on ``host``:``port`` that other sockets may bind as well (SO_REUSEPORT), inheritable by a
    server process.

    ``manage.py serve`` gives each server process a socket of its own on the port, and the kernel spreads new
    connections over them by their addresses. With one socket shared by all processes (uvicorn's ``--workers``),
    whichever process woke first accepted every connection waiting: a burst of clients opening keep-alive connections
    often all landed on one process, which then did the work of all while the others idled (measured: 191 requests a
    second with every connection on one of two processes, 460 with them spread)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = found[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(address)
        listener.listen(LISTEN_BACKLOG)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


if __name__ == "__main__":
    main()
