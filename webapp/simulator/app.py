"""The simulator's own small Flask app: Exotel's call API plus ``/_sim/`` controls."""

from __future__ import annotations

import hmac
import socket
import struct
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .formats import render, rest_exception
from .outcomes import REFUSED, outcome_for_number
from .state import SimulatorState
from .validation import ParameterError, parse_connect

MAX_SIDS = 100
DEFAULT_PAGE_SIZE = 50
_RESET_FLAG = "simulator.reset_connection"
REFUSED_MESSAGE = ("Call to unverified number is not allowed on a trial account. "
                   "Verify the number in your Exotel dashboard.")


def _wants_json() -> bool:
    """Exotel answers JSON only when the resource path carries ``.json``."""
    return request.path.endswith(".json") or ".json/" in request.path


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Return a RestException in the format the path asks for."""
    return rest_exception(status, message, as_json=_wants_json(), headers=headers)


class _ResetMiddleware:
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


def create_simulator_app(state: SimulatorState) -> Flask:
    """Create the simulator's Flask app serving ``state``."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    app.extensions["exotel_simulator"] = state
    app.wsgi_app = _ResetMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    account = "/v1/Accounts/<account_sid>"

    @app.before_request
    def authenticate() -> Response | None:
        """Check Basic auth, account sid and rate limit on every ``/v1`` request."""
        if not request.path.startswith("/v1/"):
            return None
        if request.endpoint == "connect":
            state.count_connect_request()
        auth = request.authorization
        if auth is None or auth.type != "basic" or not state.check_credentials(auth.username, auth.password):
            return _error(401, "Authentication failed: invalid API key or API token")
        sid = (request.view_args or {}).get("account_sid")
        if sid is not None and not hmac.compare_digest(sid.encode(), state.account_sid.encode()):
            return _error(401, "Authentication failed: the account sid does not match your credentials")
        allowed, headers = state.check_rate_limit()
        g.rate_limit_headers = headers
        if not allowed:
            return _error(429, "Too many requests: rate limit exceeded", headers)
        return None

    @app.after_request
    def add_rate_limit_headers(response: Response) -> Response:
        """Report the rate limit window on API responses, as Exotel does."""
        for name, value in g.get("rate_limit_headers", {}).items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        """Answer routing and parsing errors as RestException (API) or JSON (controls)."""
        code = exc.code or 500
        if request.path.startswith("/v1/"):
            return _error(code, exc.name)
        return jsonify(error=exc.name), code

    @app.post(f"{account}/Calls/connect.json", endpoint="connect")
    @app.post(f"{account}/Calls/connect", endpoint="connect")
    def connect(account_sid: str) -> Response:
        """Place a call to a flow, or fail the way Exotel (or a fault) would."""
        as_json = _wants_json()
        try:
            params = parse_connect(request.form, state.account_sid)
        except ParameterError as exc:
            return rest_exception(400, str(exc), as_json=as_json)

        fault = state.take_fault()
        if fault is not None and fault.mode == "ratelimit":
            return rest_exception(429, "Too many requests: rate limit exceeded", as_json=as_json,
                                  headers=state.fault_rate_limit_headers(fault.retry_after))
        refused = outcome_for_number(params.from_number) == REFUSED
        call = None
        if not refused and (fault is None or fault.place):
            call = state.place_call(**params.as_kwargs())

        if fault is not None and fault.mode == "status":
            return rest_exception(fault.status, f"Simulated upstream error {fault.status}", as_json=as_json)
        if fault is not None and fault.mode == "garbage":
            return Response("<html>oops", status=200, mimetype="text/html")
        if fault is not None and fault.mode == "reset":
            request.environ[_RESET_FLAG] = True
            return Response(status=502)  # only seen where the socket cannot be reset
        if fault is not None and fault.mode == "timeout":
            state.sleep(fault.delay)  # the client has usually given up by now
            if call is None and not refused:
                return rest_exception(504, "Gateway timeout", as_json=as_json)
        if refused:
            return rest_exception(403, REFUSED_MESSAGE, as_json=as_json)
        assert call is not None
        return render({"Call": state.get_call(call.sid)}, as_json=as_json)

    @app.get(f"{account}/Calls/<call_ref>")
    @app.get(f"{account}/Calls.json/<call_ref>")
    def call_details(account_sid: str, call_ref: str) -> Response:
        """Return one call, with ``Details`` when ``details=true``."""
        sid = call_ref.removesuffix(".json")
        details = request.args.get("details", "").lower() == "true"
        resource = state.get_call(sid, details=details)
        if resource is None:
            return _error(404, "The requested call was not found")
        return render({"Call": resource}, as_json=_wants_json())

    @app.get(f"{account}/Calls.json")
    @app.get(f"{account}/Calls")
    def bulk_call_details(account_sid: str) -> Response:
        """Return finished calls by ``Sid`` list, or all of them page by page."""
        details = request.args.get("details", "").lower() == "true"
        base = f"/v1/Accounts/{state.account_sid}/Calls.json"
        suffix = "&details=true" if details else ""
        raw_sids = request.args.get("Sid", "").strip()
        if raw_sids:
            sids = [s.strip() for s in raw_sids.split(",") if s.strip()]
            if len(sids) > MAX_SIDS:
                return _error(400, f"Sid accepts at most {MAX_SIDS} comma-separated call Sids")
            calls = state.finished_calls(sids, details=details)
            first = f"{base}?Sid={','.join(sids)}{suffix}"
            metadata = _metadata(len(calls), len(sids), first, None)
            return render({"Metadata": metadata, "Calls": calls}, as_json=_wants_json())

        raw_size = request.args.get("PageSize", str(DEFAULT_PAGE_SIZE))
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_SIDS:
            return _error(400, f"PageSize must be an integer between 1 and {MAX_SIDS}")
        size = int(raw_size)
        calls = state.finished_calls(details=details)
        total = len(calls)
        after = request.args.get("After")
        if after:
            position = next((i for i, c in enumerate(calls) if c["Sid"] == after), None)
            if position is None:
                return _error(400, "After must be the Sid of a listed call")
            calls = calls[position + 1:]
        page, more = calls[:size], len(calls) > size
        first = f"{base}?PageSize={size}{suffix}"
        next_uri = f"{first}&After={page[-1]['Sid']}" if more else None
        return render({"Metadata": _metadata(total, size, first, next_uri), "Calls": page},
                      as_json=_wants_json())

    _register_controls(app, state)
    return app


def _metadata(total: int, page_size: int, first: str, next_uri: str | None) -> dict[str, Any]:
    """Return the ``Metadata`` block of a call list."""
    return {"Total": total, "PageSize": page_size, "FirstPageUri": first,
            "PrevPageUri": None, "NextPageUri": next_uri}


def _register_controls(app: Flask, state: SimulatorState) -> None:
    """Add the unauthenticated ``/_sim/`` endpoints tests drive the simulator with."""

    def json_body() -> Any:
        """Return the request's JSON body (``{}`` when empty)."""
        return request.get_json(silent=True) if request.data else {}

    @app.post("/_sim/faults")
    def add_faults() -> Any:
        """Queue one fault (an object) or several (a list) for the next connects."""
        body = json_body()
        specs = body if isinstance(body, list) else [body]
        if not specs or not all(isinstance(s, dict) for s in specs):
            return jsonify(error="expected a fault object or a list of them"), 400
        try:
            faults = [state.add_fault(**spec) for spec in specs]
        except (TypeError, ValueError) as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(faults=[f.as_dict() for f in faults])

    @app.get("/_sim/faults")
    def list_faults() -> Any:
        """List the faults still queued."""
        return jsonify(faults=[f.as_dict() for f in state.faults])

    @app.get("/_sim/config")
    def get_config() -> Any:
        """Return the current run-time options."""
        return jsonify(state.config())

    @app.post("/_sim/config")
    def set_config() -> Any:
        """Change speed, drop_callbacks, seed, rate_limit_per_minute, retry delays..."""
        body = json_body()
        if not isinstance(body, dict):
            return jsonify(error="expected a JSON object"), 400
        try:
            state.configure(**body)
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(state.config())

    @app.post("/_sim/reset")
    def reset() -> Any:
        """Forget every call, fault and delivery."""
        state.reset()
        return jsonify(ok=True)

    @app.get("/_sim/calls")
    def list_calls() -> Any:
        """List every simulated call with its true status and the callbacks sent."""
        return jsonify(connect_requests=state.connect_requests, calls=list(state.calls.values()))
