"""The JSON API's campaigns: create one from a list, read it back, pause, resume, cancel."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from ...calls.validation import ValidationError
from ...campaigns import queries, store
from ...campaigns.contacts import ContactsError, RawRow, csv_rows, json_rows
from ...campaigns.idempotency import CampaignKeyConflict, create_once
from ...campaigns.models import Campaign
from ...campaigns.spec import parse_campaign
from ...config import get_settings
from ...db import get_db, utcnow
from ...exotel_access import account_sid
from ...jobs.tasks import wake_dispatcher
from ...reporting.csv_export import csv_lines, csv_response
from ..errors import error_response
from ..roles import current_actor
from .blueprint import bp, token_required

# A list of 100,000 contacts as CSV is about 3 MB. A CSV is read as it streams, so its size costs no memory;
# a JSON body is parsed whole (about 10 bytes of memory for each byte of it), so it gets a smaller limit that
# keeps an import under 150 MB whatever the body: longer lists come as CSV.
MAX_UPLOAD = 32 * 1024 * 1024
MAX_JSON = 4 * 1024 * 1024


def _read_request() -> tuple[dict[str, Any], Iterator[RawRow], bytes]:
    """The campaign's fields, its contact rows (not yet read) and the body's hash input; raises ValidationError."""
    multipart = request.mimetype == "multipart/form-data"
    request.max_content_length = MAX_UPLOAD if multipart else MAX_JSON
    if multipart:
        fields: dict[str, Any] = dict(request.form.items())
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError("Attach the contact list as a CSV `file`.", "file", "missing_field")
        # The file is read as it streams, so a retry is recognised by its fields, name and size.
        identity = json.dumps([fields, upload.filename, request.content_length], sort_keys=True)
        return fields, csv_rows(upload.stream), identity.encode()
    if not request.is_json:
        raise ValidationError("Send JSON, or multipart/form-data with a CSV file.", None, "unsupported_media_type")
    raw = request.get_data()
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationError("The body is not valid JSON.", None, "invalid_json") from None
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object.", None, "invalid_body")
    contacts = body.pop("contacts", None)
    if contacts is None:
        raise ValidationError("contacts is required: a list of {\"number\", \"custom_field\"}.", "contacts", "missing_field")
    return body, json_rows(contacts), raw


@bp.post("/campaigns")
@token_required
def create_campaign():
    """Create a campaign and import its contacts; the first rows not imported come back row by row, all are counted."""
    settings = get_settings()
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key is not None and len(key) > 255:
        return error_response(400, "invalid_idempotency_key", "Idempotency-Key is limited to 255 characters.")
    db = get_db()
    try:
        fields, rows, digest = _read_request()
        fingerprint = hashlib.sha256(digest).hexdigest()
        once = create_once(
            db, rows, key=(f"token:{g.api_token.id}", key, fingerprint) if key is not None else None,
            spec=lambda: parse_campaign(fields, account_sid=account_sid(), default_caller_id=settings.exotel_caller_id,
                                        budget=settings.exotel_requests_per_minute),
            created_by=current_actor().name, now=utcnow(), actor=current_actor(),
        )
        if once.created is None:
            assert once.earlier is not None
            return _campaign_json(once.earlier), 200
        created = once.created
    except RequestEntityTooLarge:
        if request.mimetype == "multipart/form-data":
            return error_response(413, "too_large", f"The list is limited to {MAX_UPLOAD // (1024 * 1024)} MB.")
        return error_response(
            413, "too_large", f"A JSON body is limited to {MAX_JSON // (1024 * 1024)} MB (about 100,000 contacts): "
            f"send a longer list as a CSV file (multipart), up to {MAX_UPLOAD // (1024 * 1024)} MB.",
        )
    except CampaignKeyConflict as exc:
        return error_response(422, "idempotency_conflict", str(exc))
    except ValidationError as exc:
        status = {"invalid_json": 400, "invalid_body": 400, "unsupported_media_type": 415}.get(exc.code, 422)
        return error_response(status, exc.code, exc.message, exc.field)
    except ContactsError as exc:
        return error_response(422, "invalid_contacts", str(exc), "file" if request.files else "contacts")
    except store.CampaignError as exc:
        return error_response(422, exc.code, exc.message, exc.field)
    with db.transaction(write=False) as session:
        body = queries.campaign_to_dict(session, created.campaign)
    body["not_imported"] = [row.to_dict() for row in created.not_imported]
    wake_dispatcher(current_app)
    return jsonify(body), 201, {"Location": f"/api/campaigns/{created.campaign.id}"}


@bp.get("/campaigns")
@token_required
def list_campaigns():
    session = get_db().session()
    return jsonify({"campaigns": [queries.campaign_to_dict(session, c) for c in queries.list_campaigns(session)]})


@bp.get("/campaigns/<int(max=2147483647):campaign_id>")
@token_required
def show_campaign(campaign_id: int):
    session = get_db().session()
    campaign = queries.get_campaign(session, campaign_id)
    if campaign is None:
        return error_response(404, "not_found", "No campaign with that id.")
    return jsonify(queries.campaign_to_dict(session, campaign))


@bp.get("/campaigns/<int(max=2147483647):campaign_id>/not-imported.csv")
@token_required
def campaign_not_imported(campaign_id: int):
    """Every row of the campaign's list that was not imported, with its reason, as CSV."""
    if queries.get_campaign(get_db().session(), campaign_id) is None:
        return error_response(404, "not_found", "No campaign with that id.")
    rows = queries.not_imported_rows(get_db().engine, campaign_id)
    return csv_response(f"campaign-{campaign_id}-not-imported.csv", csv_lines(queries.NOT_IMPORTED_COLUMNS, rows))


@bp.get("/campaigns/<int(max=2147483647):campaign_id>/contacts")
@token_required
def campaign_contacts(campaign_id: int):
    session = get_db().session()
    if queries.get_campaign(session, campaign_id) is None:
        return error_response(404, "not_found", "No campaign with that id.")
    limit_text = request.args.get("limit", "50")
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= queries.MAX_PAGE:
        return error_response(400, "invalid_field", f"limit must be between 1 and {queries.MAX_PAGE}.", "limit")
    try:
        page = queries.contacts_page(
            session, campaign_id, state=request.args.get("status") or None, cursor=request.args.get("cursor") or None,
            limit=int(limit_text),
        )
    except queries.BadContactCursor:
        return error_response(400, "invalid_cursor", "That page link is not valid.", "cursor")
    except ValueError:
        return error_response(400, "invalid_field", "Unknown contact state.", "status")
    return jsonify({"contacts": page.contacts, "next_cursor": page.next_cursor})


def _control(action: Callable[..., Campaign], campaign_id: int) -> Any:
    try:
        campaign = action(get_db(), campaign_id, now=utcnow(), actor=current_actor())
    except store.CampaignError as exc:
        status = 404 if exc.code == "not_found" else 409
        return error_response(status, exc.code, exc.message)
    if campaign.status in ("scheduled", "running"):  # started or resumed: dial now, not at the next tick
        wake_dispatcher(current_app)
    return _campaign_json(campaign.id)


def _campaign_json(campaign_id: int) -> Any:
    with get_db().transaction(write=False) as session:
        campaign = queries.get_campaign(session, campaign_id)
        assert campaign is not None
        return jsonify(queries.campaign_to_dict(session, campaign))


@bp.post("/campaigns/<int(max=2147483647):campaign_id>/pause")
@token_required
def pause_campaign(campaign_id: int):
    """Pause: no new attempt is placed after this answer; calls in flight run to their end."""
    return _control(store.pause, campaign_id)


@bp.post("/campaigns/<int(max=2147483647):campaign_id>/resume")
@token_required
def resume_campaign(campaign_id: int):
    return _control(store.resume, campaign_id)


@bp.post("/campaigns/<int(max=2147483647):campaign_id>/cancel")
@token_required
def cancel_campaign(campaign_id: int):
    """Cancel: waiting contacts are canceled; calls in flight run to their end."""
    return _control(store.cancel, campaign_id)
