"""Stream routes reached through WSGI answer at once, naming where streams are served, instead of holding a worker."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, api_routes, concrete_path, free_port, new_intent

KEY = {"X-API-Key": "agent-research-key"}
STREAM_ROUTES = [route for method, route, drf in api_routes() if not drf]
WORKERS = 2


def assert_streams_are_served_elsewhere(status, content_type, body):
    """``body`` reads the JSON answer; it is only called once the status and type are right (a stream has none)."""
    assert (status, content_type) == (421, "application/json")
    detail = body()["detail"]
    assert "ASGI server (uvicorn)" in detail
    assert "same paths" in detail


@pytest.fixture
def gunicorn_url(server_env, transactional_db, keys):
    """A gunicorn with two sync workers on the test database, as README's Deployment serves the API."""
    port = free_port()
    log_path = Path(server_env["OPENINTENT_VAR_DIR"]) / f"gunicorn-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(WORKERS),
                "-b",
                f"127.0.0.1:{port}",
                "openintent_site.wsgi:application",
            ],
            cwd=ROOT,
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            # A group of its own, so that workers still held by a request are stopped with the master.
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-2000:]}")
            try:
                httpx.get(f"{url}/.well-known/openintent.json", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start within 30 s") from None
                time.sleep(0.1)
        yield url
    finally:
        signal_group(process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        signal_group(process, signal.SIGKILL)  # whatever is left of the group
        process.wait()


def signal_group(process, signum):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def test_a_stream_route_under_gunicorn_answers_a_json_421_and_leaves_the_workers_free(gunicorn_url):
    with httpx.Client(base_url=gunicorn_url, headers=KEY, timeout=10) as client:
        created = client.post("/api/v1/intents", json={"title": "Watched"})
        assert created.status_code == 200, created.text
        intent = created.json()
        # As many stream requests at once as there are workers: each used to hold its worker until gunicorn's
        # timeout killed it, and the API answered nothing meanwhile.
        paths = [f"/api/v1/intents/{intent['id']}/subscribe", "/api/v1/subscribe/agents/agent-research"]
        with ThreadPoolExecutor(WORKERS) as pool:
            streams = list(pool.map(client.get, paths[:WORKERS]))
        plain = client.get(f"/api/v1/intents/{intent['id']}")

    for response in streams:
        assert_streams_are_served_elsewhere(response.status_code, response.headers["content-type"], response.json)
    assert plain.status_code == 200
    assert plain.json()["title"] == "Watched"


@pytest.mark.parametrize("route", STREAM_ROUTES)
def test_every_stream_route_answers_the_in_process_client_the_same(transactional_db, api, route):
    if "agents" in route:
        key = "agent-research"
    elif "portfolios" in route:
        key = api.post("/api/v1/portfolios", {"name": "Mine"}, format="json").json()["id"]
    else:
        key = new_intent(api)["id"]

    response = api.get(concrete_path(route, key))

    assert_streams_are_served_elsewhere(response.status_code, response["Content-Type"], response.json)
