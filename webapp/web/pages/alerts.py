"""The alerts' pages: what fires now and the history, one alert with the calls behind it, an admin's acknowledgement.

Every signed-in page carries a banner while an alert fires (`firing_alerts` for base.html).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ...alerts.queries import AlertNotFound, acknowledge, firing, get_alert, list_alerts
from ...alerts.rules import RULES
from ...db import get_db
from ..browser.forms import ConfirmForm
from ..browser.login import now
from ..roles import current_actor, page_rule

bp = Blueprint("alerts", __name__)
bp.before_request(page_rule(default="read", endpoints={"alerts.acknowledge_alert": "admin"}))


@bp.app_context_processor
def firing_banner() -> dict[str, Any]:
    """`firing_alerts` for base.html: signed-in pages show a banner while any alert fires."""
    if not getattr(current_user, "is_authenticated", False):
        return {"firing_alerts": []}
    try:
        return {"firing_alerts": firing(get_db().session())}
    except SQLAlchemyError:
        return {"firing_alerts": []}


@bp.get("/alerts")
def index():
    """Alerts firing now, then the history, newest first."""
    alerts = list_alerts(get_db().session(), "all", 200)
    return render_template("alerts/index.html", now_firing=[a for a in alerts if a.state == "firing"],
                           history=[a for a in alerts if a.state != "firing"], rules=RULES)


@bp.get("/alerts/<int:alert_id>")
def show(alert_id: int):
    """One alert: its summary, numbers, notifications, and the calls behind it."""
    try:
        alert, detail, calls = get_alert(get_db().session(), alert_id)
    except AlertNotFound:
        abort(404, "No alert has that number.")
    return render_template("alerts/show.html", alert=alert, detail=detail, calls=calls, form=ConfirmForm())


@bp.post("/alerts/<int:alert_id>/acknowledge")
def acknowledge_alert(alert_id: int):
    """An admin says they have seen it (audited `alert.acknowledge`)."""
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired: reload the page and try again.")
    try:
        alert = acknowledge(get_db(), alert_id, current_actor(), now())
    except AlertNotFound:
        abort(404, "No alert has that number.")
    flash(f"Alert {alert.rule} acknowledged by {alert.acknowledged_by}.", "success")
    return redirect(url_for("alerts.show", alert_id=alert_id), 303)
