"""Liveness that includes the database: it answers, and it can take a write now."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ...config import get_settings
from ...db import get_db
from ...jobs.heartbeat import worker_status

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers and can take a write; 503 otherwise, `database` saying why."""
    options = {}
    if get_settings().health_min_free_bytes is not None:
        options["min_free_bytes"] = get_settings().health_min_free_bytes
    try:
        state = get_db().ping(**options)
    except SQLAlchemyError:
        return jsonify({"status": "unavailable", "database": "unreachable", "worker": {"seen": False, "last_seen": None}}), 503
    try:
        worker = worker_status(get_db())
    except SQLAlchemyError:  # not migrated yet: no worker seen, the database still answers
        worker = {"seen": False, "last_seen": None}
    if state != "ok":
        # A load balancer reads the status code: an instance that cannot record a callback is out.
        return jsonify({"status": "unavailable", "database": state, "worker": worker}), 503
    return jsonify({"status": "ok", "database": "ok", "worker": worker})
