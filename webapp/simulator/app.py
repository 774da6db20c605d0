"""The simulator's own small Flask app: Exotel's call API plus ``/_sim/`` controls."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .account import account
from .api import api, error
from .controls import controls
from .listing import DEFAULT_PAGE_SIZE, MAX_SIDS
from .recordings import recordings
from .reset import ResetMiddleware
from .state import SimulatorState

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_SIDS", "create_simulator_app"]


def http_error(exc: HTTPException) -> Response | tuple[Response, int]:
    """Answer routing and parsing errors as RestException (API) or JSON (controls)."""
    code = exc.code or 500
    if request.path.startswith(("/v1/", "/v2_beta/")):
        return error(code, exc.name)
    return jsonify(error=exc.name), code


def create_simulator_app(state: SimulatorState) -> Flask:
    """Create the simulator's Flask app serving ``state``."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    app.extensions["exotel_simulator"] = state
    app.wsgi_app = ResetMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    app.register_error_handler(HTTPException, http_error)
    app.register_blueprint(api)
    app.register_blueprint(controls)
    app.register_blueprint(recordings)
    app.register_blueprint(account)
    return app
