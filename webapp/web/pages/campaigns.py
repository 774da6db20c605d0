"""The campaign pages: the list, a create page with a preview before Start, a live progress page, the suppression list."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from ...campaigns import queries, store
from ...campaigns.contacts import ContactsError, csv_rows
from ...campaigns.dispatch import window_of
from ...campaigns.idempotency import CampaignKeyConflict, create_once
from ...campaigns.models import CONTACT_STATES, IN_FLIGHT, Campaign
from ...config import get_settings
from ...db import get_db, utcnow
from ...exotel_access import account_sid
from ...jobs.tasks import wake_dispatcher
from ...reporting.csv_export import csv_lines, csv_response
from ..browser.campaign_forms import CampaignForm, ControlForm
from ..browser.campaign_progress import CAMPAIGN_LABELS, CAMPAIGN_TONES, STATE_LABELS, STATE_TONES, campaign_status, live_context
from ..browser.confirm import cancel_question
from ..browser.display import localtime, viewer_zone, viewer_zone_name, zone_names
from ..roles import current_actor, forbidden, page_rule

bp = Blueprint("campaigns", __name__)

# A list of 100,000 contacts as CSV is about 3 MB (the API allows the same).
MAX_UPLOAD = 32 * 1024 * 1024
POLL_SECONDS = 3



def may_control() -> bool:
    """Whether the signed-in user may create and control campaigns and the suppression list (operators, admins)."""
    return bool(current_user.is_authenticated and current_user.can("place"))


CONTROL_READS = {"campaigns.new_campaign", "campaigns.cancel"}  # pages that only a controller needs


def _control_endpoints() -> dict[str, str]:
    """Every POST of this blueprint and the create page need "place"; reading needs "read"."""
    return dict.fromkeys(CONTROL_READS, "place")


_read_rule = page_rule(default="read", endpoints=_control_endpoints())


@bp.before_request
def check_role() -> Any:
    """Signed in to read (the roles' one rule); creating and controlling needs the place permission."""
    refused = _read_rule()
    if refused is not None:
        return refused
    if request.method == "POST" and not may_control():
        return forbidden("Your role may read campaigns but not create or control them.")
    return None


@bp.url_value_preprocessor
def allow_large_lists(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """A contact list may exceed the app's 1 MB body limit; set before CSRF (a before_request) reads the form."""
    if endpoint == "campaigns.new_campaign":
        request.max_content_length = MAX_UPLOAD


@bp.context_processor
def campaign_words() -> dict[str, Any]:
    return {
        "may_control": may_control(), "campaign_status": campaign_status, "CAMPAIGN_LABELS": CAMPAIGN_LABELS,
        "CAMPAIGN_TONES": CAMPAIGN_TONES, "STATE_LABELS": STATE_LABELS, "STATE_TONES": STATE_TONES,
    }


def _load(session: Any, campaign_id: int) -> Campaign:
    campaign = queries.get_campaign(session, campaign_id)
    if campaign is None:
        abort(404, "No campaign with that id.")
    return campaign


@bp.get("/campaigns")
def index():
    """Campaigns newest first, each with its status and progress."""
    session = get_db().session()
    rows = [(campaign, store.counts(session, campaign.id)) for campaign in queries.list_campaigns(session)]
    return render_template("campaigns/index.html", rows=rows)


def _form() -> CampaignForm:
    settings = get_settings()
    return CampaignForm(budget=settings.exotel_requests_per_minute, zones=zone_names())


def _render_new(form: CampaignForm, status: int = 200):
    form.nonce.data = secrets.token_urlsafe(18)  # a fresh key: the next submit is a new request
    return render_template("campaigns/new.html", form=form, zone=viewer_zone_name()), status


def _check_file(form: CampaignForm) -> None:
    """Whether the list can be read at all (its header), so that fault shows with the others."""
    upload = form.file.data
    if form.file.errors or upload is None:
        return
    try:
        next(csv_rows(upload.stream), None)
    except ContactsError as exc:
        form.add_error("file", str(exc))


def _fingerprint(form: CampaignForm) -> str:
    """What tells a resubmission of this form (its fields and file name) from other details under its key."""
    fields = sorted((key, value) for key, value in request.form.items(multi=True) if key not in ("csrf_token", "nonce"))
    upload = form.file.data
    return hashlib.sha256(json.dumps([fields, upload.filename]).encode()).hexdigest()


@bp.route("/campaigns/new", methods=["GET", "POST"])
def new_campaign():
    """The create page; a submit creates the campaign not started and shows what was not imported."""
    settings = get_settings()
    form = _form()
    if request.method == "GET":
        form.caller_id.data = settings.exotel_caller_id or ""
        return _render_new(form)
    form.validate()  # every field's own checks; judge() adds the campaign rules'
    spec = form.judge(viewer_zone(), account_sid=account_sid(), default_caller_id=settings.exotel_caller_id)
    if spec is None:
        _check_file(form)
        return _render_new(form, 422)
    db, scope = get_db(), f"user:{current_user.id}"
    key, fingerprint = (form.nonce.data or "").strip()[:255] or None, _fingerprint(form)
    try:
        once = create_once(
            db, csv_rows(form.file.data.stream), spec=lambda: spec, key=(scope, key, fingerprint) if key else None,
            created_by=current_actor().name, now=utcnow(), start=False, actor=current_actor(),
        )
    except CampaignKeyConflict:
        form.group_errors.append("This form had already created a campaign with other details. Nothing new was "
                                 "created: check the details and submit again.")
        return _render_new(form, 422)
    except ContactsError as exc:
        form.add_error("file", str(exc))
        return _render_new(form, 422)
    except store.CampaignError as exc:
        form.add_error(exc.field, exc.message)
        return _render_new(form, 422)
    if once.created is None:
        flash("This form was already submitted: here is the campaign it created. No second campaign was made.", "info")
        return redirect(url_for("campaigns.show", campaign_id=once.earlier), 303)
    created = once.created
    return render_template(
        "campaigns/preview.html", campaign=created.campaign, imported=created.imported,
        not_imported=created.not_imported, not_imported_total=created.not_imported_total,
        reasons=sorted(created.reasons.items()), control=ControlForm(),
    )


@bp.get("/campaigns/<int(max=2147483647):campaign_id>")
def show(campaign_id: int):
    """The progress page: it follows the campaign until nothing is left to happen."""
    session = get_db().session()
    context = live_context(session, _load(session, campaign_id))
    live = render_template("campaigns/_live.html", **context)
    return render_template("campaigns/show.html", live=Markup(live), version=_version(live), poll_seconds=POLL_SECONDS,
                           states=CONTACT_STATES, **context)


def _version(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()[:16]


@bp.get("/campaigns/<int(max=2147483647):campaign_id>/live.json")
def live(campaign_id: int):
    """What the progress page polls: the live part when it changed, and whether to keep polling."""
    session = get_db().session()
    context = live_context(session, _load(session, campaign_id))
    html = render_template("campaigns/_live.html", **context)
    body: dict[str, Any] = {"status": context["campaign"].status, "final": context["final"], "version": _version(html)}
    if request.args.get("version") != body["version"]:
        body["html"] = html
    return jsonify(body)


def _going(campaign: Campaign, verb: str) -> str:
    now = utcnow()
    if campaign.status == "scheduled" and campaign.start_at:
        return f"{verb}: the first call will be placed at {localtime(campaign.start_at, '%d %b %H:%M')}."
    text = f"{verb}: calls are placed at up to {campaign.calls_per_minute} a minute"
    if not window_of(campaign).is_open(now):
        opens = window_of(campaign).next_open(now)
        when = f" at {localtime(opens, '%d %b %H:%M')}" if opens else " when it opens"
        return text + f", inside the calling window: it is closed now, so the first call waits until{when}."
    return text + "."


def _in_flight_words(counts: dict[str, int]) -> str:
    in_flight = sum(counts[name] for name in IN_FLIGHT)
    if in_flight == 0:
        return "no call is in progress"
    return f"{in_flight} call{'s' if in_flight != 1 else ''} in progress will finish"


def _control(campaign_id: int, act: Callable[[Campaign], str]):
    if not ControlForm().validate_on_submit():
        abort(400, "This form has expired. Reload the page and try again.")
    session = get_db().session()
    campaign = _load(session, campaign_id)
    try:
        message = act(campaign)
    except store.CampaignError as exc:
        flash(exc.message, "error")
        session.expire_all()  # show what is stored now, not what this request read before
        return show(campaign_id), 409
    flash(message, "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign_id), 303)


def _counts(campaign_id: int) -> dict[str, int]:
    with get_db().transaction(write=False) as session:
        return store.counts(session, campaign_id)


@bp.post("/campaigns/<int(max=2147483647):campaign_id>/start")
def start(campaign_id: int):
    """Start a campaign created not started; pressing it twice starts it once."""
    def act(campaign: Campaign) -> str:
        was = campaign_status(campaign)
        after = store.start(get_db(), campaign_id, now=utcnow(), actor=current_actor())
        wake_dispatcher(current_app)
        if was != "not started":
            return "This campaign was already started; nothing changed."
        return _going(after, "Started")
    return _control(campaign_id, act)


@bp.post("/campaigns/<int(max=2147483647):campaign_id>/resume")
def resume(campaign_id: int):
    def act(campaign: Campaign) -> str:
        was = campaign.status
        after = store.resume(get_db(), campaign_id, now=utcnow(), actor=current_actor())
        wake_dispatcher(current_app)
        return _going(after, "Resumed") if was == "paused" else "This campaign was not paused; nothing changed."
    return _control(campaign_id, act)


@bp.post("/campaigns/<int(max=2147483647):campaign_id>/pause")
def pause(campaign_id: int):
    def act(campaign: Campaign) -> str:
        store.pause(get_db(), campaign_id, now=utcnow(), actor=current_actor())
        return f"Paused: no new call will be placed; {_in_flight_words(_counts(campaign_id))}."
    return _control(campaign_id, act)


@bp.route("/campaigns/<int(max=2147483647):campaign_id>/cancel", methods=["GET", "POST"])
def cancel(campaign_id: int):
    """GET asks first (a page, so it works without script); POST cancels."""
    if request.method == "GET":
        campaign = _load(get_db().session(), campaign_id)
        if campaign.status in ("completed", "canceled"):
            return redirect(url_for("campaigns.show", campaign_id=campaign_id), 303)
        return render_template("confirm.html", **cancel_question(campaign, _counts(campaign_id)))

    def act(campaign: Campaign) -> str:
        store.cancel(get_db(), campaign_id, now=utcnow(), actor=current_actor())
        counts = _counts(campaign_id)
        return (f"Canceled: {counts['canceled']} contact{'s' if counts['canceled'] != 1 else ''} still waiting will "
                f"not be called; {_in_flight_words(counts)}.")
    return _control(campaign_id, act)


@bp.get("/campaigns/<int(max=2147483647):campaign_id>/results.csv")
def results_csv(campaign_id: int):
    """One row per row of the list: each contact's final state, attempts and last call; each row not imported, why."""
    _load(get_db().session(), campaign_id)
    rows = queries.results(get_db().engine, campaign_id)
    return csv_response(f"campaign-{campaign_id}-results.csv", csv_lines(queries.RESULT_COLUMNS, rows, viewer_zone()))


@bp.get("/campaigns/<int(max=2147483647):campaign_id>/not-imported.csv")
def not_imported_csv(campaign_id: int):
    """Every row of the list that was not imported, with its reason."""
    _load(get_db().session(), campaign_id)
    rows = queries.not_imported_rows(get_db().engine, campaign_id)
    return csv_response(f"campaign-{campaign_id}-not-imported.csv", csv_lines(queries.NOT_IMPORTED_COLUMNS, rows))
