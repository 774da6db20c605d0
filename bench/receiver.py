"""The outbound benchmark's receiver: a WSGI app gunicorn serves, verifying each delivery with `standardwebhooks`.

It answers 503 until BENCH_RECEIVER_DOWN_UNTIL (Unix time), then 204 to every
delivery that verifies with BENCH_RECEIVER_SECRET (400 otherwise), and appends
one line per request to a file of its process in BENCH_RECEIVER_DIR:
`webhook-id <tab> status <tab> time`.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

_lock = threading.Lock()
_files: dict[int, Any] = {}


def _log(line: str) -> None:
    with _lock:
        handle = _files.get(os.getpid())
        if handle is None:
            handle = _files[os.getpid()] = open(  # noqa: SIM115 - open for the process's lifetime
                os.path.join(os.environ["BENCH_RECEIVER_DIR"], f"received-{os.getpid()}.tsv"), "a", buffering=1)
        handle.write(line)


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"] == "/healthz":
        start_response("200 OK", [("Content-Length", "0")])
        return []
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    now = time.time()
    if now < float(os.environ["BENCH_RECEIVER_DOWN_UNTIL"]):
        status = "503 Service Unavailable"
    else:
        try:
            Webhook(os.environ["BENCH_RECEIVER_SECRET"]).verify(body, headers, json_parse=False)
            status = "204 No Content"
        except WebhookVerificationError:
            status = "400 Bad Request"
    _log(f"{headers.get('webhook-id', '')}\t{status[:3]}\t{now:.3f}\n")
    start_response(status, [("Content-Length", "0")])
    return []
