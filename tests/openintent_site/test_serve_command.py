"""``manage.py serve``: two server processes (uvicorn, each on a socket of its own on the port) with a Celery worker and
beat beside them, kept running while it serves and stopped with it."""

import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, wait_for

SERVER = b"openintent_site.server"


def children_of(pid):
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def alive(pid):
    """Whether ``pid`` still runs: a zombie does not (an orphan waits as one until whoever adopted it reaps it)."""
    return process_state(pid) not in ("gone", "Z")


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return []


def child_running(parent, program, besides=None):
    """The pid of the live child of ``parent`` running ``program`` ("openintent_site.server", "worker", "beat"),
    other than ``besides``, or None."""
    for pid in children_of(parent):
        argv = command_line(pid)
        if pid != besides and program.encode() in argv and "Z" not in process_state(pid):
            return pid
    return None


def process_state(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def answers(url):
    try:
        return httpx.get(f"{url}/.well-known/openintent.json", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def start_serve(env, tmp_path):
    """``manage.py serve`` on a free port with a var folder of its own; its output goes to ``tmp_path/serve.log``."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        serve = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env={**env, "OPENINTENT_VAR_DIR": str(tmp_path / "var")},
            stdout=log,
            stderr=subprocess.STDOUT,
            # A group of its own, so that nothing serve started outlives the test, whatever serve did.
            start_new_session=True,
        )
    return serve, f"http://127.0.0.1:{port}", log_path


def wait_until_answering(serve, url, log_path):
    if not wait_for(lambda: serve.poll() is not None or answers(url), timeout=60) or serve.poll() is not None:
        raise AssertionError(f"serve did not answer within 60 s:\n{log_path.read_text()[-3000:]}")


def stop(serve):
    """SIGTERM to serve, then SIGKILL to its whole process group (to serve if it did not stop within 30 s, and to
    any child it left behind)."""
    if serve.poll() is None:
        serve.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            serve.wait(timeout=30)
    with suppress(ProcessLookupError):
        os.killpg(serve.pid, signal.SIGKILL)
    serve.wait()


def server_processes(serve):
    return [pid for pid in children_of(serve.pid) if SERVER in command_line(pid) and alive(pid)]


@contextmanager
def serving(env, tmp_path):
    serve, url, log_path = start_serve(env, tmp_path)
    try:
        wait_until_answering(serve, url, log_path)
        yield serve, url, log_path
    finally:
        stop(serve)


def test_serve_answers_and_sigterm_stops_its_server_processes_the_worker_and_beat(
    server_env, transactional_db, tmp_path
):
    with serving(server_env, tmp_path) as (serve, url, log_path):
        children = children_of(serve.pid)
        programs = ("openintent_site.server", "worker", "beat")
        assert {program: bool(child_running(serve.pid, program)) for program in programs} == {
            "openintent_site.server": True,
            "worker": True,
            "beat": True,
        }
        assert len(children) == 4
        assert len(server_processes(serve)) == 2

        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        assert serve.returncode == 0
        assert wait_for(lambda: not any(alive(pid) for pid in children), timeout=30)
        assert not answers(url)


def test_a_burst_of_connections_is_spread_over_the_server_processes(server_env, transactional_db, tmp_path):
    with serving(server_env, tmp_path) as (serve, url, log_path):
        port = int(url.rsplit(":", 1)[1])
        processes = server_processes(serve)

        def holders():
            """The server process holding each connection to the port it has accepted."""
            listing = subprocess.run(
                ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True
            ).stdout
            return [pid for line in listing.splitlines() for pid in processes if f"pid={pid}," in line]

        # Clients opening their keep-alive connections at once, as a pool of agents does when it starts: with one
        # socket shared by the processes, whichever woke first accepted the whole burst. Each process listens on a
        # socket of its own, and the kernel spreads connections over the sockets by their addresses.
        burst = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        try:
            assert wait_for(lambda: len(holders()) == len(burst), timeout=30)
            assert set(holders()) == set(processes)
        finally:
            for connection in burst:
                connection.close()


@pytest.mark.parametrize("program", ["worker", "beat"])
def test_serve_restarts_a_killed_celery_worker_or_beat_while_the_api_keeps_answering(
    server_env, transactional_db, tmp_path, program
):
    with serving(server_env, tmp_path) as (serve, url, log_path):
        killed = child_running(serve.pid, program)
        assert killed, f"serve runs no {program}"
        os.kill(killed, signal.SIGKILL)

        def restarted():
            assert answers(url), "the API stopped answering while the Celery helper was restarted"
            return child_running(serve.pid, program, besides=killed)

        assert wait_for(restarted, timeout=30), f"no new {program} within 30 s:\n{log_path.read_text()[-3000:]}"
        assert answers(url)
        assert serve.poll() is None
        assert f"(pid {killed}) exited with signal SIGKILL; restarting it" in log_path.read_text()


def test_serve_stops_and_says_why_when_the_worker_cannot_start(server_env, transactional_db, tmp_path):
    # Celery reads CELERY_BROKER_URL from the environment before its settings, and refuses a transport it does not
    # know as it starts; uvicorn does not read it, so only the worker and beat fail.
    env = {**server_env, "CELERY_BROKER_URL": "bogus://nowhere"}
    serve, url, log_path = start_serve(env, tmp_path)
    try:
        wait_until_answering(serve, url, log_path)
        try:
            # Each of the six failed starts may take seconds on a busy machine; the bound only stops a hung test.
            serve.wait(timeout=300)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"serve kept serving for 300 s:\n{log_path.read_text()[-3000:]}") from None
    finally:
        stop(serve)

    log = log_path.read_text()
    assert serve.returncode != 0
    assert "exited with status 1; restarting it in" in log
    assert "CommandError: the Celery" in log
    assert "exited with status 1 after 5 restarts, each within 60 s of starting; stopping the rest too" in log
    assert not answers(url)


def test_a_killed_server_process_is_restarted_on_its_socket_while_the_other_answers(
    server_env, transactional_db, tmp_path
):
    with serving(server_env, tmp_path) as (serve, url, log_path):
        killed, survivor = server_processes(serve)
        os.kill(killed, signal.SIGKILL)

        def restarted():
            assert answers(url), "the port stopped answering while one server process was restarted"
            return [pid for pid in server_processes(serve) if pid not in (killed, survivor)]

        assert wait_for(restarted, timeout=30), f"no new server process within 30 s:\n{log_path.read_text()[-3000:]}"
        assert serve.poll() is None
        assert survivor in server_processes(serve)
        assert f"(pid {killed}) exited with signal SIGKILL; restarting it" in log_path.read_text()
