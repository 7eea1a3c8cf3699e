"""Plain HTTP requests under the ASGI server, answered by Django's WSGI handler on a worker thread.

Django's own ASGI handler runs a sync view through ``sync_to_async``, and every sync middleware around it too, each
in its own hop between the event loop and a thread: about ten hops per request here, which made a read cost four
times the CPU it costs under a WSGI server. The REST API, the docs and the admin are sync code from end to end, so
this application hands each such request to the WSGI handler whole, in one hop: the body is read on the event loop,
the request runs on a thread of a fixed pool, and the answer is written back on the loop. Live streams and
websockets, which wait for events on the loop, still go to the ASGI application (``streams``).

The WSGI handler is the one gunicorn serves, so a request is handled alike under either server.

The pool is small, two threads by default: under load, with eight threads every one running at once, the database
ran as many queries at once and the threads traded Python's lock at each query's return; on the bench's 2 cores two
threads a process served a third more reads and nearly twice the contended writes. The requests that mostly wait,
on another server (a tool call through the proxy) or on their client (an attachment's download), run on a pool of
their own (paths matching ``waiting_paths``), so that slow tools or slow readers never hold up the rest.

A lease's release (``releasing_requests``) is taken before the plain requests queued. Its scope's contenders keep
asking for the lease meanwhile, and each attempt is a request in the same queue: served in turn, the release waited
behind them, and the scope stayed closed for the queue's length after its holder was done. Taken first, with the
lease's statements written once per process besides, the bench's lease hand-overs in one process went from 12 to 19
a second.

A client refused a write (409: a stale ``If-Match``, a lease held by another) keeps its place in the queue
(``RefusedClients``) until one of its writes is accepted: its requests are taken in the order of its first refusal.
Contenders on one intent learn they lost from the 409 and re-read before trying again, while the one that won tries
again at once with the version its answer gave, a round trip ahead of them. Taken in arrival order, its next write
was always queued before theirs and it won again: in the bench's contended patch (two processes) one client
committed 108 times in 10 s while another committed 7, and a commit's p99 with its retries was 4.4 s; taken by
first refusal, in eight runs the fewest commits a client got was 28 to 45 and the most 56 to 90, with a p99 of 0.5
to 0.8 s, at the same commit rate. A client is its connection: clients that share an API key and name no agent are
told apart by nothing else. The order holds within a process; processes still meet at the database in the order
their requests get there.
"""

import asyncio
import itertools
import queue
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

# What the event loop reads of a body before the rest goes to a temporary file, as Django's ASGI handler does.
BODY_IN_MEMORY_BYTES = 1024 * 1024


class ThreadedHTTP:
    """ASGI application: plain HTTP through ``wsgi_app`` on one of ``threads`` threads, or of ``waiting_threads`` for
    paths matching ``waiting_paths``; streams (paths matching ``stream_paths``), websockets and lifespan through
    ``asgi_app``. Requests matching ``releasing_requests`` (``"METHOD /path"``) are served before the plain requests
    queued for a thread."""

    def __init__(
        self, wsgi_app, asgi_app, *, stream_paths, waiting_paths, releasing_requests, threads, waiting_threads
    ):
        self.wsgi_app = wsgi_app
        self.asgi_app = asgi_app
        self.stream_paths = re.compile(stream_paths)
        self.waiting_paths = re.compile(waiting_paths)
        self.releasing_requests = re.compile(releasing_requests)
        self.workers = Workers(threads, "http")
        self.refused = RefusedClients()
        self.waiting_executor = ThreadPoolExecutor(max_workers=waiting_threads, thread_name_prefix="http-waiting")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.stream_paths.match(scope["path"]):
            return await self.asgi_app(scope, receive, send)
        body = await read_body(receive)
        if body is None:
            return  # the client left before sending its whole request
        loop = asyncio.get_running_loop()
        answer = Answer(loop, send)
        client = tuple(scope["client"]) if scope.get("client") else None
        try:
            environ = environ_of(scope, body)
            if self.waiting_paths.match(scope["path"]):
                await loop.run_in_executor(self.waiting_executor, answer.run, self.wsgi_app, environ)
            else:
                releasing = self.releasing_requests.match(f"{scope['method']} {scope['path']}") is not None
                rank = (0, 0.0) if releasing else (1, self.refused.turn(client))
                await asyncio.wrap_future(self.workers.submit(rank, answer.run, self.wsgi_app, environ))
                self.refused.answered(client, scope["method"], answer.status)
        finally:
            body.close()
        await answer.send_rest()


class RefusedClients:
    """When each client connection was first refused a write since its last accepted one: its turn in the queue.

    Only the event loop's thread reads and writes it. A client refused once and then quiet for ``patience`` seconds,
    one that gave up or went away, takes its turn by arrival again, and is forgotten."""

    WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, patience=10.0, clock=time.monotonic):
        self.patience = patience
        self.clock = clock
        self.since = {}  # client -> [first refusal, last refusal]

    def turn(self, client):
        """The time this client's requests queue by: its first refusal, or now."""
        now = self.clock()
        refused = self.since.get(client)
        if refused is None:
            return now
        if now - refused[1] > self.patience:
            del self.since[client]
            return now
        return refused[0]

    def answered(self, client, method, status):
        if client is None or method not in self.WRITES:
            return
        if status == 409:
            now = self.clock()
            self.since.setdefault(client, [now, now])[1] = now
            if len(self.since) > 1024:
                self.forget_the_quiet(now)
        elif status is not None and 200 <= status < 300:
            self.since.pop(client, None)

    def forget_the_quiet(self, now):
        for client, (_, last) in list(self.since.items()):
            if now - last > self.patience:
                del self.since[client]


class Workers:
    """A fixed pool of threads that take the work submitted by its ``rank``, lowest first, and work of equal rank in
    the order submitted. The threads start with the first submission, in the process that serves."""

    def __init__(self, threads, name):
        self.threads = threads
        self.name = name
        self.queue = queue.PriorityQueue()
        self.order = itertools.count()  # orders work of one rank by submission; never compares the rest
        self.started = threading.Lock()
        self.running = False

    def submit(self, rank, fn, *args):
        if not self.running:
            self.start()
        future = Future()
        self.queue.put((rank, next(self.order), future, fn, args))
        return future

    def start(self):
        with self.started:
            if self.running:
                return
            for number in range(self.threads):
                threading.Thread(target=self.work, name=f"{self.name}_{number}", daemon=True).start()
            self.running = True

    def work(self):
        while True:
            _, _, future, fn, args = self.queue.get()
            if not future.set_running_or_notify_cancel():
                continue  # its request was cancelled while queued
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the request's coroutine, which raises it
                future.set_exception(exc)
            else:
                future.set_result(result)


class Answer:
    """One request's run through the WSGI application on a worker thread, and what it sends back.

    A response that is not streamed is written once the thread is done with it (one hop back); a streamed one (file
    downloads) is sent chunk by chunk from the thread as it reads them, so that a large file is never held whole."""

    def __init__(self, loop, send):
        self.loop = loop
        self.send = send
        self.start = None
        self.status = None
        self.body = b""

    def start_response(self, status, headers, exc_info=None):
        code = self.status = int(status.split(" ", 1)[0])
        self.start = {
            "type": "http.response.start",
            "status": code,
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        }

    def run(self, app, environ):
        # Runs on the worker thread. Django closes the response in close(), which also closes the thread's database
        # connection once it is too old or broken: on this thread, since each thread has a connection of its own.
        response = app(environ, self.start_response)
        try:
            if getattr(response, "streaming", False):
                self.send_from_thread(self.start)
                self.start = None
                for chunk in response:
                    if chunk:
                        self.send_from_thread({"type": "http.response.body", "body": chunk, "more_body": True})
            else:
                self.body = b"".join(response)
        finally:
            response.close()

    def send_from_thread(self, message):
        asyncio.run_coroutine_threadsafe(self.send(message), self.loop).result()

    async def send_rest(self):
        if self.start is not None:
            await self.send(self.start)
        await self.send({"type": "http.response.body", "body": self.body})


async def read_body(receive):
    """The request's body as a file, or None if the client disconnected before sending all of it."""
    body = tempfile.SpooledTemporaryFile(max_size=BODY_IN_MEMORY_BYTES, mode="w+b")  # noqa: SIM115  closed by the caller
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            return None
        body.write(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body.seek(0)
    return body


def environ_of(scope, body):
    """The WSGI environ (PEP 3333) of an ASGI HTTP scope whose body has been read into ``body``."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    length = body.seek(0, 2)
    body.seek(0)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        # WSGI carries the raw bytes of the path as latin-1; Django decodes them as UTF-8 itself.
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "CONTENT_LENGTH": str(length),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT_LENGTH":
            continue  # the length read, which is what a chunked body has too
        key = f"HTTP_{name}"
        # Repeated headers are joined with commas (RFC 9110, 5.3), as WSGI servers do.
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
