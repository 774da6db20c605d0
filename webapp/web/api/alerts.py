"""The JSON API's alerts: `GET /api/alerts?state=firing|resolved|all`."""

from __future__ import annotations

from flask import jsonify, request

from ...alerts.queries import STATES, as_json, list_alerts
from ...db import get_db
from ..errors import error_response
from .blueprint import bp, token_required


@bp.get("/alerts")
@token_required
def index_alerts():
    state = request.args.get("state", "all")
    if state not in STATES:
        return error_response(422, "invalid_field", f"state must be one of {', '.join(STATES)}.", "state")
    return jsonify({"alerts": [as_json(alert) for alert in list_alerts(get_db().session(), state)]})
