"""Creating campaigns and controlling them: the import, pause, resume, cancel. These own their commits."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
from .models import FINAL_CONTACT_STATES, IN_FLIGHT, Campaign, CampaignContact, Suppression
from .spec import CampaignInput

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
    campaign: Campaign
    imported: int = 0
    not_imported: list[NotImported] = field(default_factory=list)


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
        batch: list[dict[str, object]] = []
        any_indian = False
        for item in classify(rows, _suppressed(session)):
            if isinstance(item, NotImported):
                created.not_imported.append(item)
                continue
            any_indian = any_indian or item.in_india
            batch.append(_contact_row(campaign.id, item, now))
            if len(batch) >= INSERT_BATCH:
                _insert_contacts(session, batch)
                created.imported += len(batch)
                batch = []
        if batch:
            _insert_contacts(session, batch)
            created.imported += len(batch)
        if created.imported == 0:
            raise CampaignError("No row of the list can be called: every number is invalid, repeated or suppressed.",
                                "contacts", "no_valid_contact")
        if any_indian and not spec.numbers_in_india_allowed(now.date()):
            raise CampaignError("Calls to Indian numbers must be between 09:00 and 21:00 India time; this window is not.",
                                "window")
        if actor is not None:  # committed with the campaign, or neither is
            audit.record(session, actor, "campaign.create", f"campaign:{campaign.id}",
                         {"name": campaign.name, "contacts": created.imported, "not_imported": len(created.not_imported)},
                         at=now)
    return created


CONTACT_COLUMNS = ("campaign_id", "row_number", "number", "custom_field", "state", "attempts", "next_attempt_at", "updated_at")


def _insert_contacts(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert a batch of contacts in the session's transaction: COPY on PostgreSQL, executemany on SQLite.

    A list of 100,000 contacts must import in seconds; COPY is several times
    faster than multi-row INSERTs, and both run inside the campaign's transaction.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(CampaignContact), rows)
        return
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY campaign_contacts ({', '.join(CONTACT_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in CONTACT_COLUMNS])


def _contact_row(campaign_id: int, contact: Contact, now: datetime) -> dict[str, object]:
    return {
        "campaign_id": campaign_id, "row_number": contact.row, "number": contact.number,
        "custom_field": contact.custom_field, "state": "waiting", "attempts": 0, "next_attempt_at": now,
        "updated_at": now,
    }


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


def add_suppressions(
    db: Database, numbers: Iterable[str], *, reason: str, created_by: str, now: datetime, actor: Actor | None = None,
) -> list[str]:
    """Suppress these E.164 numbers (those already suppressed keep their reason); the numbers newly added."""
    added = []
    with db.transaction() as session:
        for number in dict.fromkeys(numbers):
            if session.get(Suppression, number) is None:
                session.add(Suppression(number=number, reason=reason, created_by=created_by, created_at=now))
                added.append(number)
        # Contacts of live campaigns still waiting for this number are never called now.
        if added:
            session.execute(
                update(CampaignContact)
                .where(CampaignContact.number.in_(added), CampaignContact.state == "waiting")
                .values(state="suppressed", next_attempt_at=None, updated_at=now)
            )
            if actor is not None:
                audit.record(session, actor, "suppression.add", None, {"numbers": added, "reason": reason}, at=now)
    return added


def remove_suppression(db: Database, number: str, *, actor: Actor | None = None) -> bool:
    """Call this number again in future campaigns; False when it was not suppressed."""
    with db.transaction() as session:
        row = session.get(Suppression, number)
        if row is None:
            return False
        session.delete(row)
        if actor is not None:
            audit.record(session, actor, "suppression.remove", number)
    return True
