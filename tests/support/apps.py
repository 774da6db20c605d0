"""The app as tests configure it, and a real HTTP server to serve it on a free loopback port."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from webapp import create_app

from .credentials import ACCOUNT_SID, API_KEY, API_TOKEN, SECRET_KEY

#: The shared simulator's settings, restored before each test: 50x faster, quick retries, nothing lost.
SIMULATOR_DEFAULTS: dict[str, Any] = dict(speed=0.02, callback_retry_delays=(0.05, 0.1), drop_callbacks=0.0,
                                          delay_callbacks=0.0, rate_limit_per_minute=None)


def make_app(database_url: str, simulator_url: str, **overrides: Any) -> Flask:
    """An app on ``database_url`` whose Exotel is the simulator at ``simulator_url``."""
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "EXOTEL_ACCOUNT_SID": ACCOUNT_SID,
        "EXOTEL_API_KEY": API_KEY,
        "EXOTEL_API_TOKEN": API_TOKEN,
        "EXOTEL_API_BASE": simulator_url,
        "EXOTEL_CALLER_ID": "08047112345",
        "EXOTEL_READ_TIMEOUT": 2.0,
        "EXOTEL_MAX_RATE_LIMIT_WAIT": 3.0,
    }
    config.update(overrides)
    return create_app(config)


class _Response:
    """A response's iterable, remembered so that the handler can close it if the server did not."""

    def __init__(self, iterable: Any) -> None:
        self.iterable, self.closed = iterable, False

    def __iter__(self) -> Any:
        return iter(self.iterable)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if hasattr(self.iterable, "close"):
                self.iterable.close()


class _ClosingHandler(WSGIRequestHandler):
    """werkzeug's development handler closes the response only if draining the request after it succeeds: when
    the browser hangs up mid-answer (a navigation cancels a static file), the file being sent stays open until
    the collector finds it, and its ResourceWarning fails whichever test runs then. Close it here."""

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            response = getattr(self, "environ", {}).get("tests.response")
            if response is not None:
                response.close()


def _remembering(app: Any) -> Any:
    def wsgi(environ: dict[str, Any], start_response: Any) -> _Response:
        response = environ["tests.response"] = _Response(app(environ, start_response))
        return response

    return wsgi


class LiveServer:
    """A real HTTP server on a free loopback port; the app is attached once its URL is known."""

    def __init__(self) -> None:
        """Bind the port; nothing is served until :meth:`serve`."""
        self.server = make_server("127.0.0.1", 0, None, threaded=True,  # type: ignore[arg-type]
                                  request_handler=_ClosingHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve(self, app: Flask) -> LiveServer:
        """Serve ``app`` in a daemon thread; returns self."""
        self.server.app = _remembering(app)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(5)
        self.server.server_close()
