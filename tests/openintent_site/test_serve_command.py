"""``manage.py serve``: daphne and a Celery worker beside it, stopped with it."""

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.conftest import ROOT, free_port


def children_of(pid):
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_answers_and_sigterm_stops_daphne_and_the_worker(server_env, transactional_db):
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/.well-known/openintent.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("serve did not answer within 60 s")
        children = children_of(serve.pid)
        assert len(children) == 2  # daphne and the Celery worker

        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(alive(child) for child in children)
    finally:
        if serve.poll() is None:
            serve.kill()
