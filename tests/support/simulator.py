"""Driving a simulator over HTTP as Exotel's clients do, and a callback receiver that records what it gets."""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from webapp.simulator import SimulatorServer

from .waiting import wait_for as _wait_for

ACCOUNT, KEY, TOKEN = "acme1", "key-123", "tok-secret"
AUTH = (KEY, TOKEN)
FLOW_URL = f"http://my.exotel.com/{ACCOUNT}/exoml/start_voice/4242"
TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


class Receiver:
    """A tiny callback endpoint recording every request it gets."""

    def __init__(self) -> None:
        """Bind an ephemeral port; answer queued statuses, then 200."""
        self.requests: list[dict[str, Any]] = []
        self.statuses: deque[int] = deque()
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        """Return the callback URL, with a per-call style secret."""
        return f"http://127.0.0.1:{self._server.server_port}/exotel/callback?token=s3cret"

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Record the request and answer the next queued status."""
        req = Request(environ)
        try:
            entry = {
                "method": req.method, "content_type": req.mimetype, "args": req.args.to_dict(),
                "form": req.form.to_dict(), "json": req.get_json(silent=True) if req.is_json else None,
            }
        finally:
            req.close()
        with self._lock:
            self.requests.append(entry)
            status = self.statuses.popleft() if self.statuses else 200
        return Response("ok", status=status)(environ, start_response)

    def payloads(self) -> list[dict[str, Any]]:
        """Return the decoded bodies received so far."""
        with self._lock:
            return [r["json"] if r["json"] is not None else r["form"] for r in self.requests]

    def __enter__(self) -> Receiver:
        """Start serving."""
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving and release the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``predicate`` until truthy; fail on timeout."""
    return _wait_for(predicate, timeout, 0.01)


def connect(sim: SimulatorServer, suffix: str = ".json", auth: Any = AUTH, timeout: float = 5,
            **fields: Any) -> requests.Response:
    """POST a connect request; ``fields`` override or (None) remove defaults."""
    data: dict[str, Any] = {"From": "+919876543250", "CallerId": "08047112345", "Url": FLOW_URL,
                            "CallType": "trans"}
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return requests.post(f"{sim.base_url}/v1/Accounts/{ACCOUNT}/Calls/connect{suffix}",
                         data=data, auth=auth, timeout=timeout)


def with_callbacks(receiver: Receiver, **extra: Any) -> dict[str, Any]:
    """Return connect fields asking for both events, in Exotel's indexed form."""
    return {"StatusCallback": receiver.url, "StatusCallbackEvents[0]": "terminal",
            "StatusCallbackEvents[1]": "answered", **extra}


def get(sim: SimulatorServer, path: str, **params: Any) -> requests.Response:
    """GET an authenticated API path under the account."""
    return requests.get(f"{sim.base_url}/v1/Accounts/{ACCOUNT}{path}", params=params, auth=AUTH, timeout=5)


def wait_finished(sim: SimulatorServer, sid: str) -> dict[str, Any]:
    """Wait until the simulated call ``sid`` reached its final status."""
    return wait_for(lambda: (c := sim.state.calls.get(sid)) and c["finished"] and c)


def parse_ts(value: str) -> datetime:
    """Parse an Exotel timestamp."""
    assert TS.match(value), value
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
