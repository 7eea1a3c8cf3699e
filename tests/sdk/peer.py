"""A tiny scripted HTTP server on 127.0.0.1 for failure injection: a real HTTP peer, not a mock.

Each request takes the next scripted answer: ``(status, body, headers)``, ``DROP`` (close the connection
without answering) or ``("sleep", seconds)`` then the following answer. When the script runs out, the
``default`` answer is used. Every request is recorded with its method, path, headers and body.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = "drop"


class Peer:
    def __init__(self, default: Any = (200, {}, {})) -> None:
        self.script: list[Any] = []
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with peer.lock:
                    peer.requests.append(
                        {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": raw}
                    )
                    answer = peer.script.pop(0) if peer.script else peer.default
                if isinstance(answer, tuple) and answer[0] == "sleep":
                    time.sleep(answer[1])
                    with peer.lock:
                        answer = peer.script.pop(0) if peer.script else peer.default
                if answer == DROP:
                    self.close_connection = True
                    return
                status, body, headers = answer
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, *answers: Any) -> "Peer":
        with self.lock:
            self.script.extend(answers)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
