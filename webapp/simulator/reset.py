"""Dropping a connection without an answer, as a crashed proxy does (the ``reset`` fault)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable
from typing import Any

from flask import request

_RESET_FLAG = "simulator.reset_connection"


def reset_connection() -> None:
    """Ask :class:`ResetMiddleware` to drop this request's connection once the view returns."""
    request.environ[_RESET_FLAG] = True


class ResetMiddleware:
    """Drop the TCP connection without a response when a view asked for it.

    Flask turns exceptions raised in views into 500s, so the view only sets a
    flag; here, outside Flask, the socket is shut down and the ConnectionError
    raised lets werkzeug's server treat it as a dropped connection silently.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        """Wrap ``wsgi_app``."""
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Run the app; abort the connection if the view flagged it."""
        result = self.wsgi_app(environ, start_response)
        sock = environ.get("werkzeug.socket")
        if not environ.get(_RESET_FLAG) or sock is None:
            return result
        if hasattr(result, "close"):
            result.close()
        try:
            # Linger 0: the final close sends a TCP RST, like a crashed proxy.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise ConnectionAbortedError("simulated connection reset")
