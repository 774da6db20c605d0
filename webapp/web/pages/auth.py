"""Sign-in, sign-out, one's own password, set-password links, and the first admin of a fresh deployment."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from ...accounts import (
    AccountError,
    WrongPasswordError,
    change_password,
    check_sign_in,
    create_user,
    get_user,
    link_user,
    normalize_email,
    record_failed_sign_in,
    redeem_link,
    sign_out,
)
from ...db import get_db
from ..browser import setup_code
from ..browser.forms import ChangePasswordForm, LoginForm, LogoutForm, SetPasswordForm, SetupForm
from ..browser.login import now, safe_next, start_session, throttle
from ..roles import current_actor

bp = Blueprint("auth", __name__)


def _home() -> str:
    """Where signing in lands without a `next`: Home, the shift at a glance."""
    return url_for("home.index")


def _too_many(template: str, form, wait: float, message: str = "Too many failed attempts."):
    flash(f"{message} Wait {math.ceil(wait)} seconds, then try again.", "error")
    return render_template(template, form=form), 429, {"Retry-After": str(math.ceil(wait))}


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
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), (400 if form.errors else 200)
    db, ip, email = get_db(), request.remote_addr, form.email.data
    wait = throttle().account_wait(email)
    if wait > 0:  # this account is under attack: not even the right password is checked now
        return _too_many("auth/login.html", form, wait)
    user, password_ok = check_sign_in(db, email, form.password.data)
    if not password_ok:
        wait = throttle().address_wait(ip)  # past the address's allowance before this try
        throttle().failed(email, ip, known_account=user is not None)
        record_failed_sign_in(db, user, ip, "wrong_password" if user is not None else "unknown_account")
        if wait > 0:
            return _too_many("auth/login.html", form, wait, "Too many failed sign-ins from your network.")
        flash("Wrong email or password.", "error")
        return render_template("auth/login.html", form=form), 401
    throttle().succeeded(email)
    if user is None or user.disabled_at is not None:
        record_failed_sign_in(db, user, ip, "disabled")
        flash("This account is disabled. Ask an admin.", "error")
        return render_template("auth/login.html", form=form), 403
    start_session(db, user)
    return redirect(safe_next(form.next.data, _home()))


WRONG_CODE = "That is not the code printed on the server's console."


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first admin, proving with the set-up code printed on the server's console."""
    if not setup_code.needs_setup(get_db()):
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if request.method == "GET":
        return _setup_page(form)
    wait = throttle().account_wait("setup")
    if wait > 0:  # too many wrong codes: none is even checked now
        return _too_many("auth/setup.html", form, wait)
    form.validate()  # every field's own checks, whatever the code: all the faults show at once
    code_ok = _judge_code(form)
    _judge_email(form)
    if form.errors:
        return _setup_page(form, 403 if WRONG_CODE in form.setup_code.errors else 400, code_ok=code_ok)
    # Used up before the user is made, so that two hosts given the code at once make one admin between them.
    if not setup_code.redeem(current_app, form.setup_code.data or ""):  # someone finished set-up a moment ago
        return redirect(url_for("auth.login"))
    try:
        user = create_user(get_db(), form.email.data, form.password.data, role="admin", actor=current_actor())
    except AccountError as exc:  # not expected (the fields were checked above); the code is used: a new one is printed
        form.email.errors = [f"{str(exc)[:1].upper()}{str(exc)[1:]}."]
        return _setup_page(form, 400)
    throttle().succeeded("setup")
    start_session(get_db(), user)
    flash(f"Welcome. You are the first admin, {user.email}.", "success")
    return redirect(safe_next(request.args.get("next"), _home()))


def _judge_code(form: SetupForm) -> bool:
    """Whether the form carries the set-up code; a wrong one counts against the throttle, whatever else is wrong."""
    if form.setup_code.errors:  # empty or too long: no guess was made
        return False
    if setup_code.check(current_app, form.setup_code.data or ""):
        return True
    throttle().failed("setup", request.remote_addr, known_account=True)
    form.setup_code.errors = [WRONG_CODE]
    return False


def _judge_email(form: SetupForm) -> None:
    if form.email.errors:
        return
    try:
        normalize_email(form.email.data or "")
    except AccountError:
        form.email.errors = ["Enter an email address, like name@example.com."]


def _setup_page(form: SetupForm, status: int = 200, *, code_ok: bool = False):
    # The code is never written back into the page, even when it was right and another field was not.
    return render_template("auth/setup.html", form=form, code_ok=code_ok), status


@bp.post("/logout")
def logout():
    """Sign out (POST with a CSRF token, so no other site can do it for you); the session ends
    on the server too, so a copy of the cookie is refused from now on."""
    form = LogoutForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            sign_out(get_db(), current_user.get_id(), request.remote_addr, now=now())
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password; every session of this user ends, and this browser signs in anew."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        # Guessing the current password here counts with guessing it at sign-in: one secret, one throttle.
        wait = throttle().account_wait(current_user.email)
        if wait > 0:
            return _too_many("auth/password.html", form, wait)
        try:
            change_password(get_db(), current_user.id, form.current.data, form.password.data, current_actor(), now=now())
        except WrongPasswordError as exc:
            throttle().failed(current_user.email, request.remote_addr, known_account=True)
            form.current.errors = [str(exc)]
            return render_template("auth/password.html", form=form), 422
        except AccountError as exc:
            form.password.errors = [str(exc)]
            return render_template("auth/password.html", form=form), 422
        throttle().succeeded(current_user.email)
        start_session(get_db(), get_user(get_db(), current_user.id))
        flash("Your password is changed. Other browsers signed in as you are signed out.", "success")
        return redirect(url_for("ui.calls"), 303)
    return render_template("auth/password.html", form=form), (422 if form.errors else 200)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Choose a password through a one-time link from an admin; then sign in with it."""
    if link_user(get_db(), token, now=now()) is None:
        return render_template("auth/link_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = redeem_link(get_db(), token, form.password.data, request.remote_addr, now=now())
        except AccountError as exc:
            form.password.errors = [str(exc)]
            return render_template("auth/set_password.html", form=form), 422
        logout_user()
        session.clear()
        flash(f"Your password is set, {user.email}. Sign in with it.", "success")
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/set_password.html", form=form), (422 if form.errors else 200)
