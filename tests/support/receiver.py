"""A webhook receiver: a real HTTP server on loopback, as an app's endpoint is."""

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """A real HTTP server on loopback that answers the verification challenge and records every
    notification; `answer(n)` gives the status of the n-th notification (0-based)."""

    def __init__(self, answer: Callable[[int], int] = lambda _: 200) -> None:
        self.answer = answer
        self.echo_challenge = True
        self.notifications: list[tuple[dict[str, str], bytes, int]] = []
        self.verifications = 0
        self.arrived = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if json.loads(body)["type"] == "webhook.verification":
                    with receiver._lock:
                        receiver.verifications += 1
                    challenge = json.loads(body)["data"]["challenge"]
                    reply = {"challenge": challenge} if receiver.echo_challenge else {}
                    self._send(200, json.dumps(reply).encode())
                    return
                with receiver._lock:
                    receiver.arrived += 1
                    nth = receiver.arrived - 1
                status = receiver.answer(nth)  # may take its time: the lock is not held
                with receiver._lock:
                    receiver.notifications.append((headers, body, status))
                self._send(status, b"{}")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> list[tuple[dict[str, str], bytes]]:
        with self._lock:
            return [(h, b) for h, b, status in self.notifications if 200 <= status < 300]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
