"""The suppression list's pages: numbers no campaign ever calls, added by paste or CSV, removed one by one."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, url_for

from ...calls.validation import ValidationError, normalize_number
from ...campaigns import suppressions as rules
from ...campaigns.contacts import ContactsError, csv_rows
from ...campaigns.queries import list_suppressions
from ...db import get_db, utcnow
from ..browser.campaign_forms import RemoveSuppressionForm, SuppressionForm
from ..browser.display import localtime
from ..roles import current_actor
from .campaigns import bp


def _render(form: SuppressionForm, status: int = 200):
    rows = list_suppressions(get_db().session())
    for row in rows:  # shown in the viewer's zone
        row["added"] = localtime(datetime.fromisoformat(row["created_at"]), "%d %b %Y %H:%M")
    return render_template("suppressions/index.html", form=form, suppressions=rows, remove=RemoveSuppressionForm()), status


def _given(form: SuppressionForm) -> list[tuple[str, str]]:
    """(where, number as given) from the pasted text and the CSV file; raises ContactsError for an unreadable file."""
    given = rules.split_pasted(form.numbers.data)
    upload = form.file.data
    if upload is not None and upload.filename:
        given += [(f"file row {row}", number.strip()) for row, number, _custom in csv_rows(upload.stream)]
    return given


@bp.route("/suppressions", methods=["GET", "POST"])
def suppressions():
    """The list, and the form that adds to it (every number is checked before any is stored)."""
    form = SuppressionForm()
    if not form.is_submitted():
        return _render(form)
    if not form.validate():
        return _render(form, 422)
    try:
        given = _given(form)
    except ContactsError as exc:
        form.file.errors = [str(exc)]
        return _render(form, 422)
    if not given:
        form.numbers.errors = ["Paste numbers, one a line or separated by commas, or choose a CSV file."]
        return _render(form, 422)
    try:
        numbers = rules.parse_numbers(given)
    except ValidationError as exc:
        form.numbers.errors = [exc.message]
        return _render(form, 422)
    actor = current_actor()
    added = rules.add(get_db(), numbers, reason=rules.parse_reason(form.reason.data),
                             created_by=actor.name, now=utcnow(), actor=actor)
    kept = len(set(numbers)) - len(added)
    already = f" {kept} {'was' if kept == 1 else 'were'} suppressed already and kept their reason." if kept else ""
    flash(f"Suppressed {len(added)} number{'s' if len(added) != 1 else ''}: no campaign will call them, and contacts "
          f"still waiting for them will not be called.{already}", "success")
    return redirect(url_for("campaigns.suppressions"), 303)


@bp.post("/suppressions/remove")
def remove_suppression():
    """Call a number again in campaigns from now on."""
    form = RemoveSuppressionForm()
    if not form.validate_on_submit():
        abort(400, "Say which number to remove.")
    try:
        number = normalize_number(form.number.data, "number")
    except ValidationError:
        abort(404, "That number is not suppressed.")
    if not rules.remove(get_db(), number, actor=current_actor()):
        abort(404, "That number is not suppressed.")
    flash(f"{number} is no longer suppressed: campaigns created from now on may call it.", "success")
    return redirect(url_for("campaigns.suppressions"), 303)
