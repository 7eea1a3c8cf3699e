import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from openintent_site.server import listening_socket, server_command

CELERY = [sys.executable, "-m", "celery", "-A", "openintent_site"]

# A helper that dies is started again after FIRST_BACKOFF_SECONDS, twice as long after each further run that lasted
# less than SHORT_RUN_SECONDS (up to MAX_BACKOFF_SECONDS): a worker killed once (out of memory, an operator's kill)
# is back within a second, and one that cannot start is not restarted in a tight loop. One whose last MAX_RESTARTS
# restarts each died within SHORT_RUN_SECONDS of starting will not come up by itself (bad configuration, an
# unreachable broker): serving on without it would leave leases and grants unexpired and webhooks undelivered with
# nothing to show for it, so serve stops and says why, and the process manager that started it sees a failure.
# Runs are counted by how long each lasted, not within a window of wall-clock time, so that a slow start on a busy
# machine still counts as the failure it is.
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
MAX_RESTARTS = 5
SHORT_RUN_SECONDS = 60.0
POLL_SECONDS = 0.2
# How long the children have to stop after SIGTERM before they are killed: a worker finishes the task in hand
# (a webhook delivery times out after 10 s by default), which must not hold up a stop for long.
STOP_SECONDS = 10.0


class Command(BaseCommand):
    help = (
        "Serve HTTP and websockets with uvicorn processes sharing the port, with a Celery worker and Celery beat "
        "beside them, each restarted when it dies. Ctrl-C or SIGTERM stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default: 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default: 8000).")
        parser.add_argument(
            "--workers",
            type=positive,
            default=settings.OPENINTENT_WEB_WORKERS,
            help="Server processes sharing the port (default: OPENINTENT_WEB_WORKERS, or one per CPU core).",
        )
        parser.add_argument("--access-log", action="store_true", help="Log every request uvicorn answers.")
        parser.add_argument(
            "--no-worker", action="store_true", help="Serve only; run Celery worker and beat elsewhere."
        )

    def handle(self, *args, host, port, workers, access_log, no_worker, **options):
        # A process manager stops a service with SIGTERM: treat it as Ctrl-C, so that the server processes and the
        # helpers stop with this command instead of living on without it.
        signal.signal(signal.SIGTERM, interrupt)
        # Each server process listens on a socket of its own, which this command holds open for as long as it runs:
        # a server process that dies and is restarted takes up the same socket, and connections the kernel queued on
        # it meanwhile wait for it instead of being refused.
        try:
            sockets = [listening_socket(host, port) for _ in range(workers)]
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
        helpers = [
            Helper(
                f"server process {number}" if workers > 1 else "server process",
                server_command(fd=listener.fileno(), access_log=access_log),
                pass_fds=(listener.fileno(),),
            )
            for number, listener in enumerate(sockets, start=1)
        ]
        # Beat runs in a process of its own rather than inside the worker (`worker --beat`): a beat that dies there
        # leaves the worker running, so watching the worker would not notice that periodic jobs stopped.
        if not no_worker:
            helpers += [
                Helper("Celery worker", [*CELERY, "worker", "--loglevel=INFO"]),
                Helper("Celery beat", [*CELERY, "beat", "--loglevel=INFO"]),
            ]
        try:
            for helper in helpers:
                helper.start()
            self.stdout.write(
                f"Serving on http://{host}:{port} with {workers} server process{'es' if workers > 1 else ''} "
                "(API /api/v1, docs /docs, admin /admin/)"
            )
            while True:
                for helper in helpers:
                    self.keep_up(helper)
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            pass
        finally:
            # The stop is bounded (SIGKILL after STOP_SECONDS), so a second Ctrl-C or SIGTERM must not cut it short
            # and leave children behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            # The server processes close their copies as they stop accepting, and then the port is free, without
            # waiting for the Celery worker to finish its tasks.
            for listener in sockets:
                listener.close()
            stop([helper.process for helper in helpers])

    def keep_up(self, helper):
        """Restart ``helper`` if it died and its backoff has passed; raise CommandError if it keeps dying."""
        now = time.monotonic()
        if helper.process is not None:
            status = helper.process.poll()
            if status is None:
                return
            pid = helper.process.pid
            helper.process = None
            if now - helper.started_at >= SHORT_RUN_SECONDS:
                helper.short_runs = 0
            elif helper.short_runs >= MAX_RESTARTS:
                raise CommandError(
                    f"the {helper.name} exited with {describe(status)} after {helper.short_runs} restarts, each "
                    f"within {SHORT_RUN_SECONDS:g} s of starting; stopping the rest too, since the server cannot work "
                    "without it (see the log above for why it exits)"
                )
            delay = min(FIRST_BACKOFF_SECONDS * 2**helper.short_runs, MAX_BACKOFF_SECONDS)
            helper.restart_at = now + delay
            self.stderr.write(
                f"serve: the {helper.name} (pid {pid}) exited with {describe(status)}; restarting it in {delay:g} s"
            )
        if now >= helper.restart_at:
            helper.short_runs += 1
            helper.start()
            self.stderr.write(f"serve: restarted the {helper.name} (pid {helper.process.pid})")


class Helper:
    """A child process that serve keeps running (a server process, the Celery worker or beat), with when it last
    started and how many of its restarts in a row ended within SHORT_RUN_SECONDS."""

    def __init__(self, name, argv, pass_fds=()):
        self.name = name
        self.argv = argv
        self.pass_fds = pass_fds
        self.process = None
        self.restart_at = 0.0
        self.started_at = 0.0
        self.short_runs = 0

    def start(self):
        self.process = subprocess.Popen(self.argv, pass_fds=self.pass_fds)
        self.started_at = time.monotonic()


def stop(processes):
    """SIGTERM to every running process at once, then SIGKILL to those still running after STOP_SECONDS."""
    running = [process for process in processes if process is not None and process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def describe(status):
    if status >= 0:
        return f"status {status}"
    try:
        return f"signal {signal.Signals(-status).name}"
    except ValueError:  # a signal Python has no name for, such as a real-time one
        return f"signal {-status}"


def positive(value):
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def interrupt(signum, frame):
    raise KeyboardInterrupt
