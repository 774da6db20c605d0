"""The shift's home page: today at a glance, kept current by polling its JSON."""

from __future__ import annotations

from flask import Blueprint, get_template_attribute, render_template, url_for
from flask_login import login_required

from ...config import get_settings
from ...db import get_db
from ...jobs.heartbeat import worker_state
from ...reporting.shift import shift_summary
from ..browser.display import viewer_zone_name
from ..browser.polling import poll_response

bp = Blueprint("home", __name__)


@bp.before_request
@login_required
def require_login():
    """Every page of this blueprint needs a signed-in user."""


def _shift():
    db = get_db()
    return shift_summary(db.engine, db.session(), viewer_zone_name(), worker=lambda: worker_state(db))


@bp.get("/")
def index():
    """The home page."""
    shift = _shift()
    return render_template("home.html", shift=shift, version=shift.version(), poll_url=url_for("home.live"),
                           poll_seconds=get_settings().home_poll_seconds)


@bp.get("/home.json")
def live():
    """What the home page polls: its live part, or 304 when nothing it shows changed."""
    shift = _shift()

    def body() -> dict[str, str]:
        return {"version": shift.version(), "html": str(get_template_attribute("_home.html", "live")(shift))}

    return poll_response(shift.version(), body)
