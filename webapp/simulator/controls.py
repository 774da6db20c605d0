"""The unauthenticated ``/_sim/`` routes that tests and people drive the simulator with."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .api import state

controls = Blueprint("simulator_controls", __name__, url_prefix="/_sim")


def json_body() -> Any:
    """Return the request's JSON body (``{}`` when empty, None when unreadable)."""
    return request.get_json(silent=True) if request.data else {}


@controls.post("/faults")
def add_faults() -> Any:
    """Queue one fault (an object) or several (a list) for the next connects."""
    body = json_body()
    specs = body if isinstance(body, list) else [body]
    if not specs or not all(isinstance(s, dict) for s in specs):
        return jsonify(error="expected a fault object or a list of them"), 400
    try:
        faults = [state().add_fault(**spec) for spec in specs]
    except (TypeError, ValueError) as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(faults=[f.as_dict() for f in faults])


@controls.get("/faults")
def list_faults() -> Response:
    """List the faults still queued."""
    return jsonify(faults=[f.as_dict() for f in state().faults])


@controls.get("/config")
def get_config() -> Response:
    """Return the current run-time options."""
    return jsonify(state().config())


@controls.post("/config")
def set_config() -> Any:
    """Change speed, drop_callbacks, delay_callbacks, seed, rate_limit_per_minute, retry delays..."""
    body = json_body()
    if not isinstance(body, dict):
        return jsonify(error="expected a JSON object"), 400
    try:
        state().configure(**body)
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(state().config())


@controls.post("/reset")
def reset() -> Response:
    """Forget every call, fault and delivery."""
    state().reset()
    return jsonify(ok=True)


@controls.get("/calls")
def list_calls() -> Response:
    """List every simulated call with its true status and the callbacks sent."""
    sim = state()
    return jsonify(connect_requests=sim.connect_requests, calls=list(sim.calls.values()))


@controls.get("/connects")
def list_connects() -> Response:
    """List every connect request that reached the simulator: arrival time (Unix seconds), From, answer."""
    return jsonify(connects=state().connects.entries())


@controls.post("/recordings")
def configure_recordings() -> Any:
    """Set the recordings' size (`size_bytes`, null: the short tone) and how many fetches each answers 404 first."""
    try:
        state().shelf.configure(json_body())
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(state().shelf.as_dict())


@controls.delete("/recordings/<sid>")
def delete_recording(sid: str) -> Response:
    """Drop one call's recording: from now on it answers 404, as Exotel's does once it is no longer kept."""
    state().shelf.delete(sid)
    return jsonify(state().shelf.as_dict())
