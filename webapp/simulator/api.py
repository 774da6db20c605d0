"""Exotel's call API as the simulator serves it: connect, one call's details, the bulk Calls list."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, g, request

from .faults import Fault
from .formats import render, rest_exception
from .listing import QueryError, parse_query
from .outcomes import REFUSED, outcome_for_number, refusal_for_number
from .reset import reset_connection
from .state import SimulatorState
from .validation import ParameterError, parse_connect

ACCOUNT = "/v1/Accounts/<account_sid>"

api = Blueprint("exotel_api", __name__)


def state() -> SimulatorState:
    """Return the simulator state this app serves."""
    simulator: SimulatorState = current_app.extensions["exotel_simulator"]
    return simulator


def wants_json() -> bool:
    """Exotel answers JSON only when the resource path carries ``.json``."""
    return request.path.endswith(".json") or ".json/" in request.path


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Return a RestException in the format the path asks for."""
    return rest_exception(status, message, as_json=wants_json(), headers=headers)


@api.before_app_request
def authenticate() -> Response | None:
    """Check Basic auth, account sid and rate limit on every ``/v1`` request."""
    if not request.path.startswith(("/v1/", "/v2_beta/")):
        return None
    sim = state()
    if request.endpoint == "exotel_api.connect":
        sim.count_connect_request()
    auth = request.authorization
    if auth is None or auth.type != "basic" or not sim.check_credentials(auth.username, auth.password):
        return error(401, "Authentication failed: invalid API key or API token")
    sid = (request.view_args or {}).get("account_sid")
    if sid is not None and not hmac.compare_digest(sid.encode(), sim.account_sid.encode()):
        return error(401, "Authentication failed: the account sid does not match your credentials")
    allowed, headers = sim.check_rate_limit()
    g.rate_limit_headers = headers
    if not allowed:
        return error(429, "Too many requests: rate limit exceeded", headers)
    return None


@api.after_app_request
def add_rate_limit_headers(response: Response) -> Response:
    """Report the rate limit window on API responses, as Exotel does."""
    for name, value in g.get("rate_limit_headers", {}).items():
        response.headers.setdefault(name, value)
    return response


def _faulty_answer(fault: Fault, placed: bool, refused: bool) -> Response | None:
    """Return the answer a fault gives instead of the normal one (None: answer normally)."""
    as_json = wants_json()
    if fault.mode == "status":
        return rest_exception(fault.status, f"Simulated upstream error {fault.status}", as_json=as_json)
    if fault.mode == "garbage":
        return Response("<html>oops", status=200, mimetype="text/html")
    if fault.mode == "reset":
        reset_connection()
        return Response(status=502)  # only seen where the socket cannot be reset
    if fault.mode == "timeout":
        state().sleep(fault.delay)  # the client has usually given up by now
        if not placed and not refused:
            return rest_exception(504, "Gateway timeout", as_json=as_json)
    return None


@api.post(f"{ACCOUNT}/Calls/connect.json", endpoint="connect")
@api.post(f"{ACCOUNT}/Calls/connect", endpoint="connect")
def connect(account_sid: str) -> Response:
    """Place a call to a flow, or fail the way Exotel (or a fault) would."""
    sim, as_json = state(), wants_json()
    try:
        params = parse_connect(request.form, sim.account_sid)
    except ParameterError as exc:
        return rest_exception(400, str(exc), as_json=as_json)
    entry = sim.connects.received(params.from_number)
    fault = sim.take_fault()
    if fault is not None and fault.mode == "ratelimit":
        sim.connects.answered(entry, 429)
        return rest_exception(429, "Too many requests: rate limit exceeded", as_json=as_json,
                              headers=sim.fault_rate_limit_headers(fault.retry_after))
    refused = outcome_for_number(params.from_number) == REFUSED
    call = None
    if not refused and (fault is None or fault.place):
        call = sim.place_call(**params.as_kwargs())
        sim.connects.placed(entry, call.sid)
    answer = _faulty_answer(fault, call is not None, refused) if fault is not None else None
    if answer is not None:
        sim.connects.answered(entry, answer.status_code)
        return answer
    if call is None:
        status, message = refusal_for_number(params.from_number) or (403, "Refused.")
        sim.connects.answered(entry, status)
        return rest_exception(status, message, as_json=as_json)
    sim.connects.answered(entry, 200)
    return render({"Call": sim.get_call(call.sid)}, as_json=as_json)


@api.get(f"{ACCOUNT}/Calls/<call_ref>")
@api.get(f"{ACCOUNT}/Calls.json/<call_ref>")
def call_details(account_sid: str, call_ref: str) -> Response:
    """Return one call, with ``Details`` when ``details=true``."""
    details = request.args.get("details", "").lower() == "true"
    state().count_detail_request((call_ref.removesuffix(".json"),))
    resource = state().get_call(call_ref.removesuffix(".json"), details=details)
    if resource is None:
        return error(404, "The requested call was not found")
    return render({"Call": resource}, as_json=wants_json())


@api.get(f"{ACCOUNT}/Calls.json")
@api.get(f"{ACCOUNT}/Calls")
def bulk_call_details(account_sid: str) -> Response:
    """Return finished calls by ``Sid`` list and filters, one page at a time."""
    try:
        query = parse_query(request.args)
        state().count_detail_request(tuple(query.sids or ()))
        body = state().list_calls(query)
    except QueryError as exc:
        return error(400, str(exc))
    return render(body, as_json=wants_json())
