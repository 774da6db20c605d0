"""Liveness that includes the database: it answers, and it can take a write now."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ...config import get_settings
from ...db import get_db
from ...jobs.heartbeat import worker_status, workers_json, workers_seen

bp = Blueprint("health", __name__)
NO_WORKER = {"seen": False, "last_seen": None}


@bp.get("/healthz")
def healthz():
    """200 when the database answers and can take a write; 503 otherwise, `database` saying why. `worker`:
    whether one is alive; `workers`: each worker process seen in the last hour (a missing worker is no 503)."""
    options = {}
    if get_settings().health_min_free_bytes is not None:
        options["min_free_bytes"] = get_settings().health_min_free_bytes
    try:
        state = get_db().ping(**options)
    except SQLAlchemyError:
        return jsonify({"status": "unavailable", "database": "unreachable", "worker": NO_WORKER, "workers": []}), 503
    try:
        worker, workers = worker_status(get_db()), workers_json(workers_seen(get_db()))
    except SQLAlchemyError:  # not migrated yet: no worker seen, the database still answers
        worker, workers = NO_WORKER, []
    if state != "ok":
        # A load balancer reads the status code: an instance that cannot record a callback is out.
        return jsonify({"status": "unavailable", "database": state, "worker": worker, "workers": workers}), 503
    return jsonify({"status": "ok", "database": "ok", "worker": worker, "workers": workers})
