"""The command line of the ASGI server: one place, so that ``manage.py serve``, the tests and the benchmarks run
the server the same way.

uvicorn on uvloop, with httptools parsing HTTP: about 0.05 ms of CPU per request of its own. Choices that are not
uvicorn's defaults, and why:

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

import sys

APPLICATION = "openintent_site.asgi:application"
GRACEFUL_SHUTDOWN_SECONDS = 3
KEEP_ALIVE_SECONDS = 75


def server_command(host, port, *, workers, access_log=False):
    """argv running the server on ``host``:``port`` in ``workers`` processes sharing the port (more than one: under
    a parent process that restarts a worker that dies), logging each request only with ``access_log``."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        APPLICATION,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets-sansio",
        "--ws-per-message-deflate",
        "False",
        "--lifespan",
        "off",
        "--no-proxy-headers",
        "--timeout-keep-alive",
        str(KEEP_ALIVE_SECONDS),
        "--timeout-graceful-shutdown",
        str(GRACEFUL_SHUTDOWN_SECONDS),
        "--access-log" if access_log else "--no-access-log",
    ]
