"""A real HTTP service for the tool proxy tests: it runs in a thread of the test process, records every request it
receives (so that tests check the injected credential from the receiving side), and answers by path:

- ``/echo/...``: 200 with the request's method, path, query, JSON body and headers (the credential included, which
  the proxy must strip before answering the agent);
- ``/fail``: 500 with a body that repeats every header it got (the credential's included);
- ``/slow``: answers after ``slow_seconds``;
- ``/held``: answers once the test sets ``release`` (at most a minute later);
- ``/token``: an OAuth2 token endpoint for the client credentials ``client-1`` / ``client-secret-1``.
"""

import base64
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

ACCESS_TOKEN = "access-token-from-the-token-endpoint-123"
CLIENT_ID, CLIENT_SECRET = "client-1", "client-secret-1-very-secret"


class ToolService:
    def __init__(self):
        self.requests = []
        self.slow_seconds = 3.0
        self.release = threading.Event()
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = {
                    "method": self.command,
                    "path": parts.path,
                    "query": {key: values[0] for key, values in parse_qs(parts.query).items()},
                    "headers": {key.lower(): value for key, value in self.headers.items()},
                    "body": raw.decode(),
                }
                with service.lock:
                    service.requests.append(seen)
                if parts.path == "/token":
                    expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                    if self.headers.get("Authorization") != expected:
                        return self.answer(401, {"error": "invalid_client"})
                    return self.answer(200, {"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 3600})
                if parts.path == "/fail":
                    leaked = " ".join(f"{key}={value}" for key, value in self.headers.items())
                    return self.answer(500, {"error": "boom", "debug": leaked})
                if parts.path == "/held":
                    service.release.wait(timeout=60)
                    return self.answer(200, {"held": True})
                if parts.path == "/slow":
                    time.sleep(service.slow_seconds)
                    return self.answer(200, {"slow": True})
                if parts.path.startswith("/echo"):
                    body = json.loads(raw) if raw else None
                    return self.answer(200, {**seen, "body": body})
                return self.answer(404, {"error": "no such path"})

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any  # noqa: N815

            def answer(self, status, document):
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def received(self, path_prefix):
        with self.lock:
            return [request for request in self.requests if request["path"].startswith(path_prefix)]


@pytest.fixture
def tool_service():
    service = ToolService()
    service.thread.start()
    yield service
    service.release.set()
    service.server.shutdown()
    service.server.server_close()


def register_tool(client, service_url, service="acme", name="charges.read", path="/echo/charges/{charge_id}", **fields):
    fields.setdefault("parameters", {"charge_id": {"type": "string", "required": True}})
    response = client.post(
        "/api/v1/tools",
        {"service": service, "name": name, "url_template": service_url + path, **fields},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def new_vault(client, name="prod"):
    response = client.post("/api/v1/vaults", {"owner_id": "ignored", "name": name}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def new_credential(client, vault_id, material, service="acme", **fields):
    fields.setdefault("scopes_available", ["charges.read", "charges.create", "refunds.create"])
    response = client.post(
        "/api/v1/credentials",
        {"vault_id": vault_id, "service": service, "label": f"{service}-prod", "material": material, **fields},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def new_grant(client, credential_id, agent_id="agent-worker", scopes=("charges.read",), **fields):
    response = client.post(
        "/api/v1/grants",
        {
            "credential_id": credential_id,
            "agent_id": agent_id,
            "granted_by": "ignored",
            "scopes": list(scopes),
            **fields,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def invoke(client, tool_name, agent_id="agent-worker", **fields):
    return client.post("/api/v1/tools/invoke", {"tool_name": tool_name, "agent_id": agent_id, **fields}, format="json")
