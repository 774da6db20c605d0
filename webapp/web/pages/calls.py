"""The pages people use: place a call, follow it live, look calls up."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ...accounts.placers import placer_choices
from ...calls.asking import AskRefused
from ...calls.asking import ask_exotel as ask_exotel_now
from ...calls.placing import CallKeyConflict, Placement, again_request
from ...calls.queries import COUNT_CAP, BadCallCursor, get_call, get_calls, list_calls, page_total
from ...calls.status import KNOWN, is_final
from ...calls.validation import CallInput, ValidationError, is_clean_text, validate_call
from ...campaigns.queries import campaign_names
from ...campaigns.suppressions import Suppressed, may_override
from ...config import get_settings
from ...db import get_db
from ...exotel import BudgetSpent, ExotelError
from ...exotel_access import account_sid, exotel_client
from ...models import Call
from ...reporting import choices
from ..browser.call_forms import PlaceCallForm, in_words
from ..browser.call_page import call_context, nonce
from ..browser.call_words import ask_answer_words
from ..browser.display import TZ_COOKIE, placed_by, refusal_in_words, zone_names
from ..browser.filters import list_filters, query_args
from ..browser.forms import TimezoneForm
from ..browser.polling import poll_response
from ..browser.status_words import call_label, call_shown, filter_choices
from ..errors import error_response, wants_json
from ..placing import place
from ..roles import current_actor, forbidden, page_rule

bp = Blueprint("ui", __name__)

PAGE_SIZE = 25
MAX_POLLED = 100
ALTERED = "This form was altered and cannot be submitted: reload the page and try again."


# Every page needs a signed-in user; placing a call needs a role that may place calls.
bp.before_request(page_rule(default="read", endpoints={"ui.new_call": "place", "ui.call_again": "place", "ui.ask_exotel": "place"}))


def _settings():
    return get_settings()


def _render_form(form: PlaceCallForm, status: int = 200, *, refusal: str | None = None, refused_call: Call | None = None):
    form.nonce.data = nonce()  # a fresh key: the next submit is a new request
    return render_template("calls/new.html", form=form, refusal=refusal, refused_call=refused_call), status


def _form_key(value: str | None) -> str | None:
    """A form's hidden key as its idempotency key; ValueError when it was tampered with (no key could be stored)."""
    nonce = (value or "").strip()[:255]
    if not is_clean_text(nonce):
        raise ValueError(ALTERED)
    return nonce or None


def _place(data: CallInput, key: str | None, override: bool = False) -> tuple[Placement | None, str | None, int]:
    """Place `data` for the signed-in user: (the placement, None, 0), or (None, why nothing was placed, status)."""
    try:
        placement = place(data, scope=f"user:{current_user.id}", idempotency_key=key, actor=current_actor(),
                          override_suppression=override)
        return placement, None, 0
    except Suppressed as exc:
        return None, exc.message, 422
    except CallKeyConflict:
        return None, ("This form had already placed a call with other details. Nothing new was placed: "
                      "check the details and submit again."), 422
    except BudgetSpent as exc:
        return None, (f"Too many calls this minute: this service may send Exotel {_settings().exotel_requests_per_minute} "
                      f"requests a minute and has used them all. Nothing was placed. Try again in about "
                      f"{max(1, round(exc.retry_after))} seconds."), 429


def _show_placed(placement: Placement):
    """The page of a call just placed (or found again), with what the person should know about it."""
    call, error = placement.call, placement.error
    if placement.replayed:
        flash("This form was already submitted: here is the call it placed. No second call was made.", "info")
    elif error is not None:
        flash(refusal_in_words(error), "warning" if error.outcome_unknown else "error")
    return redirect(url_for("ui.show_call", call_id=call.id), 303)


@bp.route("/calls/new", methods=["GET", "POST"])
def new_call():
    """The place-a-call form; a submit places one call (a repeated submit finds the first)."""
    settings = _settings()
    form = PlaceCallForm()
    if request.method == "GET":
        form.caller_id.data = settings.exotel_caller_id or ""
        return _render_form(form)
    form.validate_on_submit()
    data = form.judge(account_sid=account_sid(), default_caller_id=settings.exotel_caller_id)
    try:
        key = _form_key(form.nonce.data)
    except ValueError as exc:
        form.group_errors.append(str(exc))
        data = None
    if data is None:
        return _render_form(form, 422)
    if form.override_suppression.data and not may_override(current_user.role):
        return forbidden("Only an admin may override the suppression list. Nothing was placed.")
    placement, refused, status = _place(data, key, bool(form.override_suppression.data))
    if placement is None:
        flash(refused or "", "error")
        return _render_form(form, status)
    error = placement.error
    if error is not None and not error.outcome_unknown and not placement.replayed:
        return _render_form(form, 422, refusal=refusal_in_words(error), refused_call=placement.call)
    return _show_placed(placement)


@bp.post("/calls/<call_id>/again")
def call_again(call_id: str):
    """Place a new call like this one (same number, flow, ExoPhone and options), then show the new call."""
    call = _load_call(call_id)
    try:
        key = _form_key(request.form.get("nonce"))
        data = validate_call(again_request(call, _settings().now()), account_sid=account_sid(), default_caller_id=_settings().exotel_caller_id)
    except ValueError as exc:
        return _back(call, f"{exc} Nothing was placed.")
    except ValidationError as exc:
        why = exc.message if exc.code in ("outcome_unknown", "not_final") else f"This call cannot be placed again: {in_words(exc)}"
        return _back(call, f"{why} Nothing was placed.")
    override = request.form.get("override_suppression") == "y"
    if override and not may_override(current_user.role):
        return forbidden("Only an admin may override the suppression list. Nothing was placed.")
    placement, refused, _status = _place(data, key, override)
    if placement is None:
        return _back(call, refused or "")
    return _show_placed(placement)


def _back(call: Call, message: str):
    """Back to the call's page, saying why nothing was placed."""
    flash(message, "error")
    return redirect(url_for("ui.show_call", call_id=call.id), 303)


def _load_call(call_id: str) -> Call:
    call = get_call(get_db().session(), call_id)
    if call is None:
        abort(404, "No call with that id.")
    return call


@bp.post("/calls/<call_id>/check")
def ask_exotel(call_id: str):
    """Ask Exotel now about a call that is not final (one request, audited, once per call per 30 s)."""
    settings = _settings()
    try:
        answer = ask_exotel_now(get_db(), exotel_client(), call_id, current_actor(), tz=settings.tz, now=settings.now(),
                                never_placed_after=timedelta(minutes=settings.reconcile_never_placed_after_minutes))
    except AskRefused as exc:
        if exc.status == 404:
            abort(404, exc.message)
        headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
        if wants_json():
            return error_response(exc.status, "throttled" if exc.status == 429 else "final", exc.message, headers=headers)
        flash(exc.message, "warning")
        response = make_response(render_template("calls/show.html", **call_context(_load_call(call_id))), exc.status)
        response.headers.update(headers or {})
        return response
    except BudgetSpent as exc:
        return _back(_load_call(call_id), f"Nothing was asked: this service has used all {settings.exotel_requests_per_minute} "
                     f"Exotel requests of this minute. Try again in about {max(1, round(exc.retry_after))} seconds.")
    except ExotelError as exc:
        return _back(_load_call(call_id), f"Exotel did not answer the question: {exc.message}")
    flash(ask_answer_words(answer), "success")
    return redirect(url_for("ui.show_call", call_id=call_id), 303)


@bp.get("/calls/<call_id>")
def show_call(call_id: str):
    """One call: its status, timeline and legs; it follows the call until it is final."""
    return render_template("calls/show.html", **call_context(_load_call(call_id)))


@bp.get("/calls/<call_id>/status.json")
def call_status(call_id: str):
    """What the call page polls: the status, and the page's live part when it changed."""
    call = _load_call(call_id)
    context = call_context(call)
    body = {"id": call.id, "status": call.status, "label": call_label(call), "final": is_final(call.status),
            "version": context["version"]}
    if request.args.get("version") != context["version"]:
        body["html"] = render_template("calls/_detail.html", **context)
    return poll_response(context["version"], lambda: body)


@bp.get("/calls")
def calls():
    """Calls newest first, filtered, a page at a time, with how many match.

    A filter that cannot be read is left out and explained beside its field; the
    page still answers 200 with the calls the other filters select.
    """
    filters, errors = list_filters(request.args)
    cursor = request.args.get("cursor") or None
    session = get_db().session()
    try:
        page = list_calls(session, filters, limit=PAGE_SIZE, cursor=cursor)
    except BadCallCursor:
        errors["cursor"] = "That page link is no longer valid; showing the newest calls."
        cursor = None
        page = list_calls(session, filters, limit=PAGE_SIZE)
    args = query_args(request.args)
    next_url = url_for("ui.calls", **args, cursor=page.next_cursor) if page.next_cursor else None
    first_url = url_for("ui.calls", **args) if cursor else None
    caller_ids, flows = choices(get_db().engine)
    placers = placer_choices(session)
    names = campaign_names(session, [call.campaign_id for call in page.calls])
    by = args.get("created_by")
    if by and by not in {value for value, _label in placers}:  # a campaign's, or someone gone since
        kind, _, ident = by.partition(":")
        ids = [int(ident)] if kind == "campaign" and ident.isdigit() and len(ident) <= 9 else []
        placers.append((by, placed_by(by, campaign_names(session, ids))))
    return render_template(
        "calls/index.html",
        calls=page.calls,
        total=page_total(session, filters, page, first=cursor is None, cap=COUNT_CAP),
        count_cap=COUNT_CAP,
        errors=errors,
        args=args,
        statuses=filter_choices(KNOWN),
        caller_ids=caller_ids,
        flows=flows,
        placers=placers,
        campaign_names=names,
        next_url=next_url,
        first_url=first_url,
    )


@bp.get("/calls/status.json")
def calls_status():
    """What the calls list polls: the current rows of the calls it shows in flight, in one query; 304 if none changed."""
    ids = [value for value in (request.args.get("ids") or "").split(",") if value and len(value) <= 64][:MAX_POLLED]
    found = get_calls(get_db().session(), ids)
    names = campaign_names(get_db().session(), [call.campaign_id for call in found])
    state = sorted((call.id, call.status, call.updated_at.isoformat() if call.updated_at else "", call_shown(call))
                   for call in found)
    version = hashlib.sha256(repr(state).encode()).hexdigest()[:20]
    return poll_response(version, lambda: {"calls": {
        call.id: {"status": call.status, "label": call_label(call), "final": is_final(call.status),
                  "html": render_template("calls/_row.html", call=call, campaign_names=names)}
        for call in found
    }})


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """The viewer's preferences: the time zone pages show times in (a cookie)."""
    form = TimezoneForm()
    form.timezone.choices = [SelectChoice(name) for name in zone_names()]
    if request.method == "GET":
        form.timezone.data = request.cookies.get(TZ_COOKIE) or _settings().exotel_timezone
    if form.validate_on_submit():
        response = redirect(url_for("ui.settings"), 303)
        response.set_cookie(
            TZ_COOKIE, form.timezone.data, max_age=400 * 86400, samesite="Lax", secure=request.is_secure, httponly=True
        )
        flash(f"Times are now shown in {form.timezone.data}.", "success")
        return response
    return render_template("settings.html", form=form, default_zone=_settings().exotel_timezone), (422 if form.errors else 200)
