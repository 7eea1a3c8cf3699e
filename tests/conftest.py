"""Shared fixtures: API clients per principal, and real servers (uvicorn, as ``manage.py serve`` runs it) on the test
database."""

import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from openintent_site.models import ApiKey
from openintent_site.server import server_command

ROOT = Path(__file__).resolve().parent.parent

KEYS = {
    "dev-user-key": "agent-dev",
    "agent-research-key": "agent-research",
    "agent-synth-key": "agent-synth",
}


def issue_key(raw_key, agent_id, acts_for=("*",)):
    """A key of the agent ``agent_id``; like the development keys, it may act for any agent unless told."""
    api_key = ApiKey(agent_id=agent_id, name="test", acts_for=list(acts_for))
    api_key.set_key(raw_key)
    api_key.save()
    return api_key


@pytest.fixture
def keys(db):
    """The three development keys, bound to agent principals (and, as seeddev issues them, acting for any agent)."""
    for raw_key, agent_id in KEYS.items():
        issue_key(raw_key, agent_id)
    return KEYS


def client_for(raw_key):
    client = APIClient()
    if raw_key:
        client.credentials(HTTP_X_API_KEY=raw_key)
    return client


@pytest.fixture
def api(keys):
    """Client acting as agent-research."""
    return client_for("agent-research-key")


@pytest.fixture
def other_api(keys):
    """Client acting as agent-synth."""
    return client_for("agent-synth-key")


@pytest.fixture
def anonymous_api():
    return client_for(None)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment():
    """Environment for a server process that uses the database this test session created."""
    env = dict(os.environ)
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user = settings["USER"] or "postgres"
        host = settings["HOST"] or "127.0.0.1"
        port = settings["PORT"] or "5432"
        env["DATABASE_URL"] = f"postgresql://{user}@{host}:{port}/{settings['NAME']}"
    else:
        env["SQLITE_PATH"] = settings["NAME"]
    env["DJANGO_SETTINGS_MODULE"] = "openintent_site.settings"
    return env


class Server:
    def __init__(self, process, port, log_path):
        self.process = process
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(env):
    """One server process on a port of its own, run as ``manage.py serve`` runs it (one worker: tests that need
    several processes start several, to choose which one each client talks to)."""
    port = free_port()
    # The log goes to a file: a pipe nobody reads would fill up and stall the server.
    log_path = Path(env["OPENINTENT_VAR_DIR"]) / f"server-{port}.log"
    process = subprocess.Popen(
        server_command("127.0.0.1", port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),
    )
    server = Server(process, port, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log_path.read_text()[-2000:]}")
        try:
            httpx.get(f"{server.url}/.well-known/openintent.json", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("the server did not start within 30 s")


@pytest.fixture(scope="session")
def server_env(django_db_setup, django_db_blocker, tmp_path_factory):
    """Environment for server and worker processes: the test database, and a broker folder of this run's own."""
    with django_db_blocker.unblock():
        env = server_environment()
    env["OPENINTENT_VAR_DIR"] = str(tmp_path_factory.mktemp("var"))
    return env


@pytest.fixture(scope="session")
def live_servers(server_env):
    """Two server processes on the test database, as production runs several."""
    env = server_env
    servers = [start_server(env), start_server(env)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def live_server_url(live_servers, transactional_db, keys):
    """URL of a live server whose database holds the development keys."""
    return live_servers[0].url


@pytest.fixture
def person_api(keys, django_user_model):
    """Client acting as the Django user "reviewer" (a person, not an agent)."""
    reviewer = django_user_model.objects.create_user("reviewer", password="reviewer-password")
    api_key = ApiKey(user=reviewer, name="test")
    api_key.set_key("reviewer-key")
    api_key.save()
    return client_for("reviewer-key")


# Small request helpers shared by the API tests -----------------------------------------------------------------


def new_intent(client, title="An intent", **fields):
    """Create a top-level intent through the API and return its body."""
    response = client.post("/api/v1/intents", {"title": title, **fields}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def versioned(client, method, url, version, data=None):
    """A write carrying ``If-Match: <version>`` as the 0.9.1 client sends it."""
    return getattr(client, method)(url, data, format="json", HTTP_IF_MATCH=str(version))


def event_log(client, intent_id, **params):
    """The intent's events, oldest first."""
    response = client.get(f"/api/v1/intents/{intent_id}/events", params)
    assert response.status_code == 200, response.content
    return list(reversed(response.json()))


HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def api_routes():
    """Every ``/api/v1`` route in the URLconf as ``(method, route, is_drf_view)``, ``route`` written as in urls.py.

    Function views (the streams) are listed with GET only."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("api/v1/"):
                route = "/" + prefix + str(pattern.pattern)
                view_class = getattr(pattern.callback, "view_class", None)
                if view_class is None:
                    found.append(("get", route, False))
                    continue
                drf = issubclass(view_class, APIView)
                found.extend((method, route, drf) for method in HTTP_METHODS if hasattr(view_class, method))

    walk(get_resolver().url_patterns, "")
    return found


def concrete_path(route, value="00000000-0000-4000-8000-000000000000"):
    """``route`` with every ``<converter:name>`` replaced by ``value``."""
    return re.sub(r"<(?:\w+:)?\w+>", value, route)


@contextmanager
def running_celery_worker(env):
    """A real Celery worker process with ``env``, stopped on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "openintent_site", "worker", "--pool=solo", "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def celery_worker(server_env, live_server_url):
    """A real Celery worker process on the broker and database of the live servers."""
    with running_celery_worker(server_env) as process:
        yield process


def wait_for(predicate, timeout=60):
    """The first truthy result of ``predicate``, polled until ``timeout`` seconds pass (then None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    return None


@pytest.fixture
def in_memory_channel_layer(settings):
    """For tests that run stream hubs in the test process itself: no other process is involved, and each test's
    event loop is new, so the in-memory layer rather than connections to Redis made on loops that then close."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
