import signal
import subprocess
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve HTTP and websockets with daphne, with a Celery worker and beat beside it. Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Serve only; run Celery elsewhere.")

    def handle(self, *args, host, port, no_worker, **options):
        # A process manager stops a service with SIGTERM: treat it as Ctrl-C, so that daphne and the worker stop
        # with this command instead of living on without it.
        signal.signal(signal.SIGTERM, interrupt)
        worker = None
        if not no_worker:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "openintent_site", "worker", "--beat", "--loglevel=INFO"]
            )
        self.stdout.write(f"Serving on http://{host}:{port} (API /api/v1, docs /docs, admin /admin/)")
        try:
            subprocess.run(
                [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "openintent_site.asgi:application"],
                check=False,
            )
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()


def interrupt(signum, frame):
    raise KeyboardInterrupt
