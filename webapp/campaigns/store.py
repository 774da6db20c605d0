"""Creating campaigns and controlling them: the import, pause, resume, cancel. These own their commits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..accounts import audit
from ..accounts.audit import Actor
from ..db import Database
from ..models import IdempotencyKey
from .contacts import Contact, NotImported, RawRow, classify
from .models import FINAL_CONTACT_STATES, IN_FLIGHT, Campaign, CampaignContact, ImportReject, Suppression
from .spec import CampaignInput

# Rows not imported that the import's answer lists; the rest are counted, and all are stored (ImportReject).
LISTED = 1000
INSERT_BATCH = 1000

NOT_STARTED = "not started"  # the pause reason of a campaign created in the browser, until its Start


class CampaignError(ValueError):
    """A campaign that cannot be created or changed as asked; `field` names the part at fault."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid_field"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


@dataclass
class Created:
    """What an import did: every data row is imported or not imported, and counted."""

    campaign: Campaign
    imported: int = 0
    not_imported: list[NotImported] = field(default_factory=list)  # the first LISTED
    reasons: Counter[str] = field(default_factory=Counter)  # every row not imported, by reason

    @property
    def not_imported_total(self) -> int:
        return sum(self.reasons.values())

    @property
    def rows(self) -> int:
        return self.imported + self.not_imported_total

    def refused(self, row: NotImported) -> None:
        self.reasons[row.reason] += 1
        if len(self.not_imported) < LISTED:
            self.not_imported.append(row)

    def summary(self) -> str:
        reasons = ", ".join(f"{count:,} {reason}" for reason, count in sorted(self.reasons.items()))
        return f"{self.rows:,} row{'s' if self.rows != 1 else ''} read" + (f": {reasons}" if reasons else "")


def _suppressed(session: Session) -> Callable[[list[str]], set[str]]:
    def lookup(numbers: list[str]) -> set[str]:
        if not numbers:
            return set()
        return set(session.scalars(select(Suppression.number).where(Suppression.number.in_(numbers))))
    return lookup


def create_campaign(
    db: Database, spec: CampaignInput, rows: Iterable[RawRow], *, created_by: str, now: datetime, start: bool = True,
    idempotency: tuple[str, str, str] | None = None, actor: Actor | None = None,
) -> Created:
    """Store a campaign and import its contacts in one transaction; nothing is kept when no row is valid.

    `start` False keeps it paused ("not started") until someone presses Start, so
    the browser can show what was not imported first. `idempotency` (scope, key,
    request hash) is recorded in the same transaction: a concurrent twin with the
    same key fails on its unique index and creates nothing (IntegrityError).
    """
    options = spec.options
    with db.transaction() as session:
        if start:
            status, reason = ("scheduled", None) if spec.start_at and spec.start_at > now else ("running", None)
        else:
            status, reason = "paused", NOT_STARTED
        campaign = Campaign(
            name=spec.name, status=status, status_reason=reason, flow_url=options.flow_url, caller_id=options.caller_id,
            call_type=options.call_type, time_limit=options.time_limit, time_out=options.time_out,
            status_callback_events=",".join(options.status_callback_events),
            calls_per_minute=spec.calls_per_minute, max_in_flight=spec.max_in_flight,
            window_start=spec.window.start.strftime("%H:%M"), window_end=spec.window.end.strftime("%H:%M"),
            window_days=",".join(spec.window.to_dict()["days"]), window_timezone=spec.window.timezone,
            retry_count=spec.retries.count, retry_on=",".join(sorted(spec.retries.on)),
            retry_delay_minutes=spec.retries.delay_minutes, retry_backoff=spec.retries.backoff,
            start_at=spec.start_at, end_at=spec.end_at, created_by=created_by, created_at=now, updated_at=now,
        )
        session.add(campaign)
        session.flush()
        if idempotency is not None:
            scope, key, fingerprint = idempotency
            session.add(IdempotencyKey(scope=scope, key=key, request_hash=fingerprint, campaign_id=campaign.id))
            session.flush()
        created = Created(campaign)
        any_indian = False
        contacts: list[tuple[object, ...]] = []
        rejects: list[tuple[object, ...]] = []
        for item in classify(rows, _suppressed(session)):
            if isinstance(item, NotImported):
                created.refused(item)
                rejects.append((campaign.id, item.row, item.number, item.custom_field, item.reason))
            else:
                any_indian = any_indian or item.in_india
                contacts.append(_contact_row(campaign.id, item, now))
                created.imported += 1
            if len(contacts) + len(rejects) >= INSERT_BATCH:
                _store_batch(session, contacts, rejects)
        _store_batch(session, contacts, rejects)
        if created.imported == 0:
            raise CampaignError("No row of the list can be called: every number is invalid, repeated or suppressed "
                                f"({created.summary()}).", "contacts", "no_valid_contact")
        if any_indian and not spec.numbers_in_india_allowed(now.date()):
            raise CampaignError("Calls to Indian numbers must be between 09:00 and 21:00 India time; this window is not.",
                                "window")
        if actor is not None:  # committed with the campaign, or neither is
            audit.record(session, actor, "campaign.create", f"campaign:{campaign.id}",
                         {"name": campaign.name, "contacts": created.imported, "not_imported": created.not_imported_total},
                         at=now)
    return created


CONTACT_COLUMNS = ("campaign_id", "row_number", "number", "custom_field", "state", "attempts", "next_attempt_at", "updated_at")
REJECT_COLUMNS = ("campaign_id", "row_number", "number", "custom_field", "reason")


def _store_batch(session: Session, contacts: list[tuple[object, ...]], rejects: list[tuple[object, ...]]) -> None:
    """Write the batch's contacts and rows not imported, then empty the lists: the import holds one batch at a time."""
    _copy(session, CampaignContact.__table__, CONTACT_COLUMNS, contacts)
    _copy(session, ImportReject.__table__, REJECT_COLUMNS, rejects)
    contacts.clear()
    rejects.clear()


def _copy(session: Session, table: Any, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Insert a batch of rows (tuples in `columns`' order) in the session's transaction: COPY on PostgreSQL.

    A list of 100,000 contacts must import in seconds; COPY is several times
    faster than multi-row INSERTs, and both run inside the campaign's transaction.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _contact_row(campaign_id: int, contact: Contact, now: datetime) -> tuple[object, ...]:
    """A contact in CONTACT_COLUMNS' order."""
    return (campaign_id, contact.row, contact.number, contact.custom_field, "waiting", 0, now, now)


def _locked(session: Session, campaign_id: int) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id).with_for_update())
    if campaign is None:
        raise CampaignError("No such campaign.", None, "not_found")
    return campaign


def pause(
    db: Database, campaign_id: int, *, now: datetime, reason: str | None = None, actor: Actor | None = None,
) -> Campaign:
    """Stop placing new attempts; calls in flight run to their end."""
    with db.transaction() as session:
        campaign = _locked(session, campaign_id)
        if campaign.status in ("completed", "canceled"):
            raise CampaignError(f"The campaign is {campaign.status}; it cannot be paused.", None, "conflict")
        campaign.status, campaign.status_reason, campaign.updated_at = "paused", reason, now
        _audit(session, actor, "campaign.pause", campaign, now, {"reason": reason} if reason else None)
    return campaign


def start(db: Database, campaign_id: int, *, now: datetime, actor: Actor | None = None) -> Campaign:
    """Place the first attempts of a campaign created not started; one started already is left as it is."""
    with db.transaction() as session:
        campaign = _locked(session, campaign_id)
        if campaign.status == "paused" and campaign.status_reason == NOT_STARTED:
            _go(campaign, now)
            _audit(session, actor, "campaign.start", campaign, now)
    return campaign


def resume(db: Database, campaign_id: int, *, now: datetime, actor: Actor | None = None) -> Campaign:
    """Place attempts again (or for the first time, for a campaign created not started: then it is a start)."""
    with db.transaction() as session:
        campaign = _locked(session, campaign_id)
        if campaign.status in ("completed", "canceled"):
            raise CampaignError(f"The campaign is {campaign.status}; it cannot be resumed.", None, "conflict")
        if campaign.status == "paused":
            action = "campaign.start" if campaign.status_reason == NOT_STARTED else "campaign.resume"
            _go(campaign, now)
            _audit(session, actor, action, campaign, now)
    return campaign


def _go(campaign: Campaign, now: datetime) -> None:
    campaign.status = "scheduled" if campaign.start_at and campaign.start_at > now else "running"
    campaign.status_reason, campaign.updated_at = None, now


def cancel(db: Database, campaign_id: int, *, now: datetime, actor: Actor | None = None) -> Campaign:
    """End the campaign: waiting contacts become canceled; calls in flight run to their end."""
    with db.transaction() as session:
        campaign = _locked(session, campaign_id)
        if campaign.status == "canceled":
            return campaign
        if campaign.status == "completed":
            raise CampaignError("The campaign is completed; there is nothing to cancel.", None, "conflict")
        campaign.status, campaign.status_reason, campaign.updated_at = "canceled", None, now
        session.execute(
            update(CampaignContact)
            .where(CampaignContact.campaign_id == campaign_id, CampaignContact.state == "waiting")
            .values(state="canceled", next_attempt_at=None, updated_at=now)
        )
        _audit(session, actor, "campaign.cancel", campaign, now)
    return campaign


def _audit(
    session: Session, actor: Actor | None, action: str, campaign: Campaign, now: datetime,
    detail: dict[str, object] | None = None,
) -> None:
    """The audit row of a change to a campaign, in the change's own transaction."""
    if actor is not None:
        audit.record(session, actor, action, f"campaign:{campaign.id}", detail, at=now)


def counts(session: Session, campaign_id: int) -> dict[str, int]:
    """Contacts by state, and in all."""
    rows = session.execute(
        select(CampaignContact.state, func.count())
        .where(CampaignContact.campaign_id == campaign_id)
        .group_by(CampaignContact.state)
    ).all()
    by_state = dict.fromkeys(("waiting", *IN_FLIGHT, *sorted(FINAL_CONTACT_STATES)), 0)
    for state, number in rows:
        by_state[state] = number
    return {"contacts": sum(by_state.values()), **by_state}

