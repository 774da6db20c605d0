"""Admin pages: the team's users, the API tokens, and the audit log (admins only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts import (
    ROLES,
    AccountError,
    change_role,
    create_token,
    create_user,
    disable_user,
    get_user,
    issue_link,
    list_tokens,
    list_users,
    revoke_token,
)
from ...accounts.audit import OUTCOMES, AuditFilters, actions, iter_entries, list_entries
from ...config import get_settings
from ...db import get_db
from ...reporting.csv_export import csv_lines, csv_response
from ..browser.confirm import disable_question, revoke_question
from ..browser.display import viewer_zone
from ..browser.forms import AddUserForm, ConfirmForm, RoleForm, TokenForm
from ..browser.login import now
from ..roles import current_actor, page_rule

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(page_rule(default="admin"))

AUDIT_PAGE = 50
AUDIT_COLUMNS = ("id", "at", "actor", "action", "target", "ip", "detail")


def _link_url(token: str) -> str:
    """The set-password link, on PUBLIC_BASE_URL when set (never on a Host header alone)."""
    path = url_for("auth.set_password", token=token)
    base = get_settings().public_base_url or request.host_url
    return base.rstrip("/") + path


def _users_page(form: AddUserForm | None = None, status: int = 200):
    return render_template(
        "admin/users.html", users=list_users(get_db()), form=form or AddUserForm(), role_form=RoleForm(),
        confirm=ConfirmForm(), roles=ROLES,
    ), status


@bp.get("/users")
def users():
    """Every user with role, last sign-in and state; add one."""
    return _users_page()


@bp.post("/users")
def add_user():
    """Add a user; the admin gets a one-time set-password link to hand over."""
    form = AddUserForm()
    if not form.validate_on_submit():
        return _users_page(form, 422)
    actor = current_actor()
    try:
        user = create_user(get_db(), form.email.data, None, role=form.role.data, actor=actor)
        token = issue_link(get_db(), user.id, actor, now=now(), action="")
    except AccountError as exc:
        form.email.errors = [str(exc)]
        return _users_page(form, 422)
    return render_template("admin/link.html", user=user, link=_link_url(token), new=True), 201


def _user_action(action):
    try:
        action()
    except AccountError as exc:
        flash(str(exc).capitalize() + ".", "error")
        return redirect(url_for("admin.users"), 303)
    return None


@bp.post("/users/<int:user_id>/role")
def set_role(user_id: int):
    """Change a user's role (never the last admin's)."""
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose one of the roles.", "error")
        return redirect(url_for("admin.users"), 303)
    refused = _user_action(lambda: change_role(get_db(), user_id, form.role.data, current_actor(), acting_user_id=current_user.id))
    if refused is None:
        flash(f"Role changed to {form.role.data}.", "success")
    return refused or redirect(url_for("admin.users"), 303)


@bp.route("/users/<int:user_id>/disable", methods=["GET", "POST"])
def disable(user_id: int):
    """Disable a user: their sessions and the tokens they made stop now (never the last admin). GET asks first."""
    if request.method == "GET":
        user = get_user(get_db(), user_id)
        if user is None or user.disabled_at is not None:
            return redirect(url_for("admin.users"), 303)
        return render_template("confirm.html", **disable_question(user))
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("admin.users"), 303)
    refused = _user_action(lambda: disable_user(get_db(), user_id, current_actor(), now=now(), acting_user_id=current_user.id))
    if refused is None:
        flash("User disabled: their sessions and tokens no longer work.", "success")
    return refused or redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/reset")
def reset(user_id: int):
    """A new one-time set-password link for the user (older links stop working)."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("admin.users"), 303)
    try:
        token = issue_link(get_db(), user_id, current_actor(), now=now())
    except AccountError as exc:
        flash(str(exc).capitalize() + ".", "error")
        return redirect(url_for("admin.users"), 303)
    user = next((u for u in list_users(get_db()) if u.id == user_id), None)
    return render_template("admin/link.html", user=user, link=_link_url(token), new=False)


def _tokens_page(form: TokenForm | None = None, status: int = 200, created: str | None = None):
    return render_template(
        "admin/tokens.html", tokens=list_tokens(get_db()), form=form or TokenForm(), confirm=ConfirmForm(),
        created=created, now=now(),
    ), status


@bp.get("/tokens")
def tokens():
    """API tokens with their role, last use and state; create one."""
    return _tokens_page()


@bp.post("/tokens")
def add_token():
    """Create a token and show it once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form, 422)
    expires = datetime.combine(form.expires_on.data, time.min, UTC) + timedelta(days=1) if form.expires_on.data else None
    try:
        token = create_token(
            get_db(), form.name.data, role=form.role.data, expires_at=expires, actor=current_actor(),
            created_by_user_id=current_user.id,
        )
    except AccountError as exc:
        form.name.errors = [str(exc)]
        return _tokens_page(form, 422)
    return _tokens_page(TokenForm(formdata=None), 201, created=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
def revoke(token_id: int):
    """Revoke a token: its next request is refused. GET asks first."""
    if request.method == "GET":
        token = next((row for row in list_tokens(get_db()) if row.id == token_id and row.revoked_at is None), None)
        if token is None:
            return redirect(url_for("admin.tokens"), 303)
        return render_template("confirm.html", **revoke_question(token))
    if ConfirmForm().validate_on_submit():
        try:
            row = revoke_token(get_db(), token_id, current_actor(), now=now())
            flash(f"Token {row.name!r} revoked.", "success")
        except AccountError as exc:
            flash(str(exc).capitalize() + ".", "error")
    return redirect(url_for("admin.tokens"), 303)


def _day(value: str | None, errors: dict[str, str], name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Use a date like 2026-12-01."
        return None


def _audit_filters() -> tuple[AuditFilters, dict[str, str], dict[str, str]]:
    """The audit filters from the query string (UTC days), the errors, and the arguments to keep."""
    args = request.args
    errors: dict[str, str] = {}
    since, until = _day(args.get("since"), errors, "since"), _day(args.get("until"), errors, "until")
    outcome = args.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        errors["outcome"] = "Choose refused, done, or any."
    filters = AuditFilters(
        actor=(args.get("actor") or "").strip()[:300] or None,
        action=(args.get("action") or "").strip()[:64] or None,
        outcome=outcome if "outcome" not in errors else None,
        since=datetime.combine(since, time.min, UTC) if since else None,
        until=datetime.combine(until, time.min, UTC) + timedelta(days=1) if until else None,
    )
    kept = {key: args[key] for key in ("actor", "action", "outcome", "since", "until") if args.get(key) and key not in errors}
    return filters, errors, kept


@bp.get("/audit")
def audit():
    """The audit log, newest first, filtered by actor, action, outcome (refused or done) and UTC days, a page at a time."""
    filters, errors, kept = _audit_filters()
    page_text = request.args.get("page", "1")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) < 100_000 else 1
    entries, more = list_entries(get_db().session(), filters, page=page, per_page=AUDIT_PAGE)
    return render_template(
        "admin/audit.html", entries=entries, errors=errors, args=kept, page=page, more=more,
        actions=actions(get_db().session()),
    ), (400 if errors else 200)


@bp.get("/audit.csv")
def audit_csv():
    """The audit log with the page's filters, as CSV."""
    filters, errors, _ = _audit_filters()
    if errors:
        return "\n".join(errors.values()) + "\n", 400, {"Content-Type": "text/plain; charset=utf-8"}
    rows = ([getattr(entry, column) for column in AUDIT_COLUMNS] for entry in iter_entries(get_db(), filters))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return csv_response(f"audit-{stamp}.csv", csv_lines(AUDIT_COLUMNS, rows, viewer_zone()))
