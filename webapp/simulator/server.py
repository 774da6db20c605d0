"""Run the simulator as a real HTTP server in a background thread."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_simulator_app
from .state import SimulatorState

log = logging.getLogger(__name__)


class _QuietRequestHandler(WSGIRequestHandler):
    """Log requests at debug level instead of werkzeug's INFO access lines; answer noise with 400."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log the request line only (the Authorization header is never logged)."""
        # An unreadable request line (a TLS hello, noise) leaves no command or path.
        path = getattr(self, "path", None) or "-"
        log.debug("%s %s -> %s", getattr(self, "command", None) or "-", path.split("?", 1)[0], code)

    def log_error(self, format: str, *args: Any) -> None:
        """Note an unreadable request in one debug line (its bytes are the client's, not worth more)."""
        log.debug("refused an unreadable request: %s", format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer an unreadable request with a real HTTP status line, then close the connection.

        http.server answers what it cannot parse as HTTP/0.9, a bare body with no
        status line; a TLS hello or other noise gets ``HTTP/1.0 400`` instead.
        """
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self.close_connection = True
        super().send_error(code, None, explain)  # the standard reason phrase, not the client's bytes


class SimulatorServer:
    """An Exotel look-alike listening on ``host:port`` (port 0 = ephemeral).

    ``state_options`` go to :class:`SimulatorState` (``drop_callbacks``,
    ``seed``, ``rate_limit_per_minute``, ``callback_retry_delays``,
    ``callback_timeout``). Use as a context manager or call start()/stop().
    """

    def __init__(self, account_sid: str, api_key: str, api_token: str, host: str = "127.0.0.1",
                 port: int = 0, speed: float = 1.0, **state_options: Any) -> None:
        """Create the state and app; nothing listens until :meth:`start`."""
        self.host = host
        self.port = port
        self.state = SimulatorState(account_sid, api_key, api_token, speed=speed, **state_options)
        self.app = create_simulator_app(self.state)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        """Describe the server without its secrets."""
        return f"<SimulatorServer {self.base_url if self._server else 'stopped'}>"

    @property
    def base_url(self) -> str:
        """Return the origin to use instead of https://api.exotel.com."""
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._server.server_port}"

    def start(self) -> SimulatorServer:
        """Bind the socket and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=_QuietRequestHandler)
        self.port = self._server.server_port
        self.state.origin = self.base_url
        # A short poll interval keeps stop() (and so every test teardown) quick.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="exotel-simulator", daemon=True)
        self._thread.start()
        log.info("Exotel simulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, cancel pending timelines and callbacks, release the socket."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
        self.state.stop()  # also wakes requests sleeping in a timeout fault
        if server is not None:
            server.server_close()
        if thread is not None:
            thread.join(5)

    def __enter__(self) -> SimulatorServer:
        """Start the server."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the server."""
        self.stop()
