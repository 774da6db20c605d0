"""Sign-in, sign-out, and creating the first admin on a fresh deployment."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from ..accounts import AccountError, authenticate, count_users, create_user
from ..db import get_db
from . import setup_code
from .forms import LoginForm, LogoutForm, SetupForm
from .login import safe_next, start_session, throttle, throttle_keys

bp = Blueprint("auth", __name__)


def _home() -> str:
    return url_for("ui.calls")


def _wait_message(seconds: float) -> str:
    return f"Too many failed attempts. Wait {math.ceil(seconds)} seconds, then try again."


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in; on a fresh deployment, offer to create the first admin instead."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), _home()))
    if setup_code.needs_setup(get_db()):
        return redirect(url_for("auth.setup", next=request.args.get("next") or None))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        keys = throttle_keys(form.email.data)
        wait = throttle().wait_seconds(keys)
        if wait > 0:
            flash(_wait_message(wait), "error")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(math.ceil(wait))}
        user = authenticate(get_db(), form.email.data, form.password.data)
        if user is None:
            throttle().failed(keys)
            flash("Wrong email or password.", "error")
            return render_template("auth/login.html", form=form), 401
        throttle().succeeded(keys)
        start_session(get_db(), user)
        return redirect(safe_next(form.next.data, _home()))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first admin, proving with the set-up code printed on the server's console."""
    if not setup_code.needs_setup(get_db()):
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if form.validate_on_submit():
        keys = throttle_keys("setup")
        wait = throttle().wait_seconds(keys)
        if wait > 0:
            flash(_wait_message(wait), "error")
            return render_template("auth/setup.html", form=form), 429, {"Retry-After": str(math.ceil(wait))}
        if not setup_code.check(current_app, form.setup_code.data):
            throttle().failed(keys)
            form.setup_code.errors = ["That is not the code printed on the server's console."]
            return render_template("auth/setup.html", form=form), 403
        try:
            if count_users(get_db()):  # someone finished set-up a moment ago
                return redirect(url_for("auth.login"))
            user = create_user(get_db(), form.email.data, form.password.data, is_admin=True)
        except AccountError as exc:
            form.email.errors = [str(exc)]
            return render_template("auth/setup.html", form=form), 400
        setup_code.discard(current_app)
        throttle().succeeded(keys)
        start_session(get_db(), user)
        flash(f"Welcome. You are the first admin, {user.email}.", "success")
        return redirect(safe_next(request.args.get("next"), _home()))
    status = 400 if form.errors else 200
    return render_template("auth/setup.html", form=form), status


@bp.post("/logout")
def logout():
    """Sign out (POST with a CSRF token, so no other site can do it for you)."""
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
