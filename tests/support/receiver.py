"""A webhook receiver on a loopback port that verifies each delivery with the `standardwebhooks` library.

It records every request (its `webhook-id`, body, the secrets that verified it);
`answer` decides each response (a status, or (status, headers, body)), e.g. down
for a while, 410, 429 with Retry-After; `delay` holds each answer that long.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Answer = int | tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    webhook_id: str
    timestamp: str
    signature: str
    body: bytes
    verified_by: list[str]  # which of the receiver's secrets verified it
    at: float
    status: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    answer: Callable[[int], Answer] = lambda _n: 200
    delay: float = 0.0
    port: int = 0  # 0: any free one
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as receivers in production answer

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(secret)
                    except WebhookVerificationError:
                        pass
                with receiver._lock:
                    n = len(receiver.received)
                    answer = receiver.answer(n)
                    status, extra, content = (answer, {}, b"ok") if isinstance(answer, int) else answer
                    receiver.received.append(Received(headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""),
                                                      headers.get("webhook-signature", ""), body, verified, time.time(), status))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def delivered(self) -> list[Received]:
        """The requests answered 2xx that verified."""
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300 and r.verified_by]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
