"""The admins' page of `exotel check`: the configured Exotel account, checked on demand."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ...exotel_access.check import run_checks
from ..browser.forms import ConfirmForm
from ..roles import page_rule

bp = Blueprint("exotel_account", __name__, url_prefix="/admin")
bp.before_request(page_rule(default="admin"))


@bp.get("/exotel")
def page():
    """What the checks are; a button runs them (they spend a few requests of the Exotel budget)."""
    return render_template("admin/exotel_check.html", checks=None, form=ConfirmForm())


@bp.post("/exotel")
def run():
    """Run the checks and show one line per check, as the command prints them."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("admin/exotel_check.html", checks=None, form=form), 400
    app = current_app._get_current_object()  # the app itself, for its extensions
    checks = run_checks(app)
    failed = any(check.verdict == "fail" for check in checks)
    return render_template("admin/exotel_check.html", checks=checks, failed=failed, form=ConfirmForm())
