"""Admin pages for outbound webhooks: endpoints, their secret shown once, rotation, deliveries, replay."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from ...config import get_settings
from ...db import get_db, utcnow
from ...jobs.tasks import wake_webhooks
from ...webhooks import endpoints, queries
from ..browser.forms import ConfirmForm
from ..browser.webhook_forms import EndpointForm, ReplayForm
from ..roles import current_actor, page_rule

bp = Blueprint("webhook_endpoints", __name__, url_prefix="/admin/webhooks")
bp.before_request(page_rule(default="admin"))


def _index(form: EndpointForm | None = None, *, secret: str | None = None, status: int = 200):
    with get_db().transaction(write=False) as session:
        rows = queries.list_endpoints(session)
    return render_template("webhooks/index.html", endpoints=rows, form=form or EndpointForm(), secret=secret), status


@bp.get("")
def index():
    """Every endpoint, and the form that registers one."""
    return _index()


@bp.post("")
def create():
    """Register an endpoint; its secret is on the next page once, and never again."""
    form = EndpointForm()
    if not form.validate_on_submit():
        return _index(form, status=422)
    body = {"url": form.url.data, "events": form.events.data, "description": form.description.data or None}
    try:
        given = endpoints.parse_input(body, partial=False, allow_private=get_settings().webhook_allow_private)
        _endpoint, secret = endpoints.create(get_db(), given, secret_key=get_settings().secret_key,
                                             actor=current_actor(), now=utcnow())
    except endpoints.WebhookError as exc:
        getattr(form, exc.field or "url").errors = [exc.message]
        return _index(form, status=422)
    wake_webhooks()
    return _index(secret=secret, status=201)


def _show(endpoint_id: int, *, secret: str | None = None, replay: ReplayForm | None = None, status: int = 200):
    with get_db().transaction(write=False) as session:
        endpoint = queries.get_endpoint(session, endpoint_id)
        if endpoint is None:
            abort(404, "No such webhook endpoint.")
        deliveries = queries.recent_deliveries(session, endpoint_id)
    for delivery in deliveries:  # shown in the viewer's zone
        delivery["when"] = datetime.fromisoformat(delivery["at"].replace("Z", "+00:00"))
    return render_template("webhooks/show.html", endpoint=endpoint, deliveries=deliveries, secret=secret,
                           confirm=ConfirmForm(), replay=replay or ReplayForm()), status


@bp.get("/<int(max=2147483647):endpoint_id>")
def show(endpoint_id: int):
    """One endpoint: its state and its latest deliveries (responses shown as text, never as HTML)."""
    return _show(endpoint_id)


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; try again.")


@bp.post("/<int(max=2147483647):endpoint_id>/rotate")
def rotate(endpoint_id: int):
    _confirmed()
    try:
        _endpoint, secret = endpoints.rotate(get_db(), endpoint_id, secret_key=get_settings().secret_key,
                                             actor=current_actor(), now=utcnow())
    except endpoints.WebhookError:
        abort(404, "No such webhook endpoint.")
    return _show(endpoint_id, secret=secret)


@bp.post("/<int(max=2147483647):endpoint_id>/toggle")
def toggle(endpoint_id: int):
    """Disable an endpoint, or enable it again (its failure count starts afresh)."""
    _confirmed()
    with get_db().transaction(write=False) as session:
        endpoint = queries.get_endpoint(session, endpoint_id)
        if endpoint is None:
            abort(404, "No such webhook endpoint.")
        enable = not endpoint.enabled
    endpoints.update_endpoint(get_db(), endpoint_id, endpoints.EndpointInput(enabled=enable), actor=current_actor(), now=utcnow())
    flash("Enabled: due events are sent again." if enable else "Disabled: nothing is sent until you enable it.", "success")
    return redirect(url_for("webhook_endpoints.show", endpoint_id=endpoint_id), 303)


@bp.post("/<int(max=2147483647):endpoint_id>/delete")
def delete(endpoint_id: int):
    _confirmed()
    try:
        endpoints.remove(get_db(), endpoint_id, actor=current_actor(), now=utcnow())
    except endpoints.WebhookError:
        abort(404, "No such webhook endpoint.")
    flash("Endpoint deleted, with its delivery log.", "success")
    return redirect(url_for("webhook_endpoints.index"), 303)


@bp.post("/<int(max=2147483647):endpoint_id>/replay")
def replay(endpoint_id: int):
    """Send the events of the last hours again, under their own webhook-id."""
    form = ReplayForm()
    if not form.validate_on_submit():
        return _show(endpoint_id, replay=form, status=422)
    now = utcnow()
    body = {"since": (now - timedelta(hours=form.hours.data or 0)).isoformat(), "until": now.isoformat()}
    try:
        queued = endpoints.replay(get_db(), endpoint_id, body, actor=current_actor(), now=now)
    except endpoints.WebhookError as exc:
        if exc.code == "not_found":
            abort(404, exc.message)
        form.hours.errors = [exc.message]
        return _show(endpoint_id, replay=form, status=429 if exc.code == "rate_limited" else 422)
    flash(f"{queued} event{'s' if queued != 1 else ''} queued to send again.", "success")
    return redirect(url_for("webhook_endpoints.show", endpoint_id=endpoint_id), 303)
