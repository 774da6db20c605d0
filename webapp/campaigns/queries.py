"""Reading campaigns back: as JSON for the API and pages, their contacts a page at a time, results for CSV."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Engine, Integer, String, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from ..models import Call
from .dispatch import policy_of, window_of
from .models import CONTACT_STATES, Campaign, CampaignContact, ImportReject, Suppression
from .store import NOT_STARTED, counts

MAX_PAGE = 200
# The pace shown on the progress page: attempts claimed over this last stretch.
PACE_WINDOW = timedelta(minutes=5)
RESULT_COLUMNS = (
    "row_number", "number", "custom_field", "state", "attempts", "last_call_id", "last_status",
    "last_created_at", "last_answered_at", "last_ended_at", "last_conversation_duration", "not_imported_reason",
)
NOT_IMPORTED_COLUMNS = ("row_number", "number", "custom_field", "reason")
NOT_IMPORTED = "not imported"  # the results CSV's state for a row of the list that was not imported


class BadContactCursor(ValueError):
    """A campaign contacts page link that does not decode."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def campaign_to_dict(session: Session, campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "status_reason": campaign.status_reason,
        "flow_url": campaign.flow_url,
        "caller_id": campaign.caller_id,
        "calls_per_minute": campaign.calls_per_minute,
        "max_in_flight": campaign.max_in_flight,
        "window": window_of(campaign).to_dict(),
        "retries": policy_of(campaign).to_dict(),
        "start_at": _iso(campaign.start_at),
        "end_at": _iso(campaign.end_at),
        "created_by": campaign.created_by,
        "created_at": _iso(campaign.created_at),
        "updated_at": _iso(campaign.updated_at),
        "counts": counts(session, campaign.id),
        "import": import_summary(session, campaign.id),
    }


def import_summary(session: Session, campaign_id: int) -> dict[str, Any]:
    """What the list's import did: rows read, imported and not (by reason), and where the rows not imported are."""
    rows = session.execute(
        select(ImportReject.reason, func.count()).where(ImportReject.campaign_id == campaign_id)
        .group_by(ImportReject.reason).order_by(ImportReject.reason)
    ).all()
    reasons = {str(reason): int(number) for reason, number in rows}
    imported = session.scalar(select(func.count()).where(CampaignContact.campaign_id == campaign_id)) or 0
    not_imported = sum(reasons.values())
    return {
        "rows": imported + not_imported, "imported": imported, "not_imported": not_imported,
        "not_imported_by_reason": reasons, "not_imported_csv": f"/api/campaigns/{campaign_id}/not-imported.csv",
    }


def get_campaign(session: Session, campaign_id: int) -> Campaign | None:
    return session.get(Campaign, campaign_id)


def campaign_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The names of the campaigns `ids` (None and unknown ids left out), in one query."""
    wanted = {campaign_id for campaign_id in ids if campaign_id is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(wanted))).all())


def list_campaigns(session: Session, *, limit: int = 100) -> Sequence[Campaign]:
    return session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(limit)).all()


def _cursor(contact_id: int) -> str:
    return base64.urlsafe_b64encode(str(contact_id).encode()).decode().rstrip("=")


def _after(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadContactCursor(cursor) from None
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise BadContactCursor(cursor)
    return int(text)


@dataclass
class ContactPage:
    contacts: list[dict[str, Any]]
    next_cursor: str | None


def contacts_page(
    session: Session, campaign_id: int, *, state: str | None = None, cursor: str | None = None, limit: int = 50,
) -> ContactPage:
    """Contacts in list order, with each attempt's call id and status; raises BadContactCursor."""
    if state is not None and state not in CONTACT_STATES:
        raise ValueError(state)
    query = select(CampaignContact).where(CampaignContact.campaign_id == campaign_id)
    if state:
        query = query.where(CampaignContact.state == state)
    if cursor:
        query = query.where(CampaignContact.id > _after(cursor))
    rows = session.scalars(query.order_by(CampaignContact.id).limit(min(limit, MAX_PAGE) + 1)).all()
    more = len(rows) > min(limit, MAX_PAGE)
    rows = rows[: min(limit, MAX_PAGE)]
    attempts: dict[int, list[dict[str, Any]]] = {row.id: [] for row in rows}
    if rows:
        for call in session.scalars(
            select(Call).where(Call.campaign_contact_id.in_(list(attempts))).order_by(Call.attempt)
        ):
            assert call.campaign_contact_id is not None
            attempts[call.campaign_contact_id].append(
                {"attempt": call.attempt, "call_id": call.id, "status": call.status, "created_at": _iso(call.created_at),
                 "answered_at": _iso(call.answered_at)}
            )
    return ContactPage(
        [
            {
                "id": row.id, "row": row.row_number, "number": row.number, "custom_field": row.custom_field,
                "state": row.state, "attempts": row.attempts, "next_attempt_at": _iso(row.next_attempt_at),
                "calls": attempts[row.id],
            }
            for row in rows
        ],
        _cursor(rows[-1].id) if more and rows else None,
    )


def progress(session: Session, campaign: Campaign, now: datetime) -> dict[str, Any]:
    """What the progress page shows besides the counts: pace now and the finish it points to."""
    recent = session.scalar(
        select(func.count()).select_from(Call).where(Call.campaign_id == campaign.id, Call.created_at >= now - PACE_WINDOW)
    ) or 0
    pace = recent / (PACE_WINDOW.total_seconds() / 60)
    by_state = counts(session, campaign.id)
    done = by_state["contacts"] - by_state["waiting"] - by_state["dialing"] - by_state["answered"]
    finish = None
    if pace > 0 and by_state["waiting"]:
        finish = _iso(now + timedelta(minutes=by_state["waiting"] / pace))
    return {
        "pace_per_minute": round(pace, 1),
        "done": done,
        "share_done": done / by_state["contacts"] if by_state["contacts"] else 0.0,
        "estimated_finish": finish,
    }


def results(engine: Engine, campaign_id: int) -> Iterator[tuple[Any, ...]]:
    """One row per row of the list for the results CSV, in RESULT_COLUMNS' order: each contact with its final
    state and last call, and each row not imported with its reason."""
    contacts = (
        select(
            CampaignContact.row_number, CampaignContact.number, CampaignContact.custom_field, CampaignContact.state,
            CampaignContact.attempts, CampaignContact.last_call_id, Call.status, Call.created_at, Call.answered_at,
            Call.ended_at, Call.conversation_duration, cast(null(), String).label("not_imported_reason"),
        )
        .outerjoin(Call, Call.id == CampaignContact.last_call_id)
        .where(CampaignContact.campaign_id == campaign_id)
    )
    rejects = select(
        ImportReject.row_number, ImportReject.number, ImportReject.custom_field, literal(NOT_IMPORTED, String),
        cast(null(), Integer), cast(null(), String), cast(null(), String), null(), null(), null(),
        cast(null(), Integer), ImportReject.reason,
    ).where(ImportReject.campaign_id == campaign_id)
    query: Any = union_all(contacts, rejects).order_by("row_number")  # the two selects differ in their types
    with engine.connect() as connection:
        yield from connection.execution_options(stream_results=True, yield_per=1000).execute(query)


def not_imported_rows(engine: Engine, campaign_id: int) -> Iterator[tuple[Any, ...]]:
    """Every row of the list that was not imported, in NOT_IMPORTED_COLUMNS' order, streamed."""
    query = (
        select(ImportReject.row_number, ImportReject.number, ImportReject.custom_field, ImportReject.reason)
        .where(ImportReject.campaign_id == campaign_id).order_by(ImportReject.row_number)
    )
    with engine.connect() as connection:
        yield from connection.execution_options(stream_results=True, yield_per=1000).execute(query)


def list_suppressions(session: Session, *, limit: int = 10_000) -> list[dict[str, Any]]:
    """The suppression list, newest first."""
    rows = session.scalars(select(Suppression).order_by(Suppression.created_at.desc()).limit(limit))
    return [
        {"number": row.number, "reason": row.reason, "created_by": row.created_by, "created_at": _iso(row.created_at)}
        for row in rows
    ]


# Outcomes over time: attempts per stretch of time, by how they ended. The stretch grows
# with the campaign's span so that a chart has at most about MAX_BUCKETS bars.
BUCKET_SIZES = tuple(timedelta(minutes=m) for m in (1, 5, 15, 30, 60, 180, 360, 720, 1440))
MAX_BUCKETS = 36
OUTCOME_KINDS = ("completed", "busy", "no-answer", "failed", "refused", "in progress")
_OUTCOME_OF = {"completed": "completed", "busy": "busy", "no-answer": "no-answer", "failed": "failed",
               "canceled": "failed", "rejected": "refused"}


@dataclass
class OutcomesOverTime:
    bucket: timedelta
    starts: list[datetime]  # each stretch's start (UTC), oldest first, gaps included
    counts: dict[str, list[int]]  # per OUTCOME_KINDS, one count per stretch


def _epoch(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.extract("epoch", column), BigInteger)


def outcomes_over_time(session: Session, campaign_id: int) -> OutcomesOverTime:
    """A campaign's attempts by the stretch of time they were placed in and by outcome (unsettled: "in progress")."""
    first, last = session.execute(
        select(func.min(Call.created_at), func.max(Call.created_at)).where(Call.campaign_id == campaign_id)
    ).one()
    if first is None:
        return OutcomesOverTime(BUCKET_SIZES[0], [], {kind: [] for kind in OUTCOME_KINDS})
    span = last - first
    bucket = next((size for size in BUCKET_SIZES if span / size < MAX_BUCKETS), BUCKET_SIZES[-1])
    seconds = int(bucket.total_seconds())
    slot = _epoch(session, Call.created_at) // seconds
    rows = session.execute(
        select(slot, Call.status, func.count()).where(Call.campaign_id == campaign_id).group_by(slot, Call.status)
    ).all()
    end = int(last.timestamp()) // seconds
    # A campaign longer than the largest stretch allows shows its latest stretches.
    base = max(int(first.timestamp()) // seconds, end - MAX_BUCKETS * 2 + 1)
    size = end - base + 1
    counts = {kind: [0] * size for kind in OUTCOME_KINDS}
    for index, status, number in rows:
        at = int(str(index)) - base
        if 0 <= at < size:
            counts[_OUTCOME_OF.get(str(status), "in progress")][at] += int(str(number))
    starts = [datetime.fromtimestamp((base + i) * seconds, UTC) for i in range(size)]
    return OutcomesOverTime(bucket, starts, counts)


def paused_by_system(session: Session) -> int:
    """Campaigns the product paused itself (Exotel refused the account): a person's pause carries no reason."""
    return session.scalar(
        select(func.count()).select_from(Campaign).where(
            Campaign.status == "paused", Campaign.status_reason.is_not(None), Campaign.status_reason != NOT_STARTED)
    ) or 0
