"""The dispatcher: claims due contacts of running campaigns, paced, inside their window, and settles outcomes.

Each attempt is claimed in one short transaction that writes its `calls` row
(status `pending`, attempt n) and moves the contact to `dialing`, with the
campaign row locked (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
SQLite): several dispatchers never claim the same attempt, and the unique
(campaign_contact_id, attempt) refuses a second row if one ever tried. Exotel
is asked only after that commit (send_attempt), exactly as for a single call.

Outcomes are read back from the calls table (callbacks and reconciliation
write it), not pushed: settle() (campaigns.settling) moves contacts whose attempt ended, so a
dispatcher killed at any point leaves nothing that the next run does not redo.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..accounts.audit import SYSTEM, Actor
from ..db import Database
from ..exotel import BudgetSpent, ExotelError
from ..models import Call, new_id
from .gate import STOPPED
from .models import IN_FLIGHT, Campaign, CampaignContact
from .refusals import CampaignStopped, NumberSuppressed, is_dnd_refusal, stops_campaign
from .settling import LOST_AFTER, NOT_SENT, policy_of, settle
from .suppressions import is_suppressed, suppress
from .window import CallingWindow, window_from_columns

__all__ = ["LOST_AFTER", "NOT_SENT", "Claimed", "dispatch", "policy_of", "send_attempt", "settle", "window_of"]

# Attempts a dispatcher may claim at once after a pause in its runs: two seconds' worth.
BURST_SECONDS = 2.0
# Attempts of a campaign claimed and not sent yet (queued, waiting for a budget slot, or asking Exotel) at most:
# ten seconds' worth, and never fewer than ten (a slow Exotel answer must not hold back a slow pace).
UNSENT_SECONDS, MIN_UNSENT = 10.0, 10


@dataclass(frozen=True)
class Claimed:
    call_id: str
    campaign_id: int


def window_of(campaign: Campaign) -> CallingWindow:
    return window_from_columns(
        campaign.window_start, campaign.window_end, campaign.window_days.split(","), campaign.window_timezone
    )


def _slots(campaign: Campaign, now: datetime) -> tuple[int, datetime]:
    """How many attempts the pace allows now, and the pacer's base (GCRA: one slot per 60 / rate seconds)."""
    interval = timedelta(seconds=60 / campaign.calls_per_minute)
    burst = max(1, math.ceil(campaign.calls_per_minute * BURST_SECONDS / 60))
    base = campaign.next_slot_at or now
    base = max(base, now - interval * (burst - 1))
    if base > now:
        return 0, base
    return int((now - base) / interval) + 1, base


def _in_flight(session: Session, campaign_id: int) -> int:
    """Contacts of the campaign with an attempt not yet final (counted by the database, not fetched)."""
    return session.scalar(
        select(func.count()).select_from(CampaignContact)
        .where(CampaignContact.campaign_id == campaign_id, CampaignContact.state.in_(IN_FLIGHT))
    ) or 0


def _unsent(session: Session, campaign_id: int, now: datetime) -> int:
    """Attempts of the campaign claimed and not sent yet (waiting for a worker or a budget slot); not the lost."""
    return session.scalar(
        select(func.count()).select_from(Call)
        .where(Call.status == "pending", Call.created_at >= now - LOST_AFTER, Call.campaign_id == campaign_id)
    ) or 0


def _claim(session: Session, campaign: Campaign, now: datetime) -> list[Claimed]:
    slots, base = _slots(campaign, now)
    # When sending falls behind (the Exotel budget is the limit, or no worker sends), claimed attempts do not pile
    # up in the queue until they are older than the lost threshold before they leave.
    backlog = max(MIN_UNSENT, math.ceil(campaign.calls_per_minute * UNSENT_SECONDS / 60))
    slots = min(slots, backlog - _unsent(session, campaign.id, now))
    if campaign.max_in_flight is not None:
        slots = min(slots, campaign.max_in_flight - _in_flight(session, campaign.id))
    if slots <= 0:
        return []
    due = session.execute(
        select(CampaignContact, is_suppressed(CampaignContact.number))
        .where(
            CampaignContact.campaign_id == campaign.id,
            CampaignContact.state == "waiting",
            CampaignContact.next_attempt_at <= now,
        )
        .order_by(CampaignContact.next_attempt_at, CampaignContact.id)
        .limit(slots)
        .with_for_update(of=CampaignContact, skip_locked=True)
    ).all()
    claimed = []
    for contact, suppressed in due:
        if suppressed:  # suppressed after it was queued (a DND refusal in another campaign): never dialled
            contact.state, contact.next_attempt_at, contact.updated_at = "suppressed", None, now
            continue
        attempt = contact.attempts + 1
        call = Call(
            id=new_id(), from_number=contact.number, caller_id=campaign.caller_id, flow_url=campaign.flow_url,
            call_type=campaign.call_type, time_limit=campaign.time_limit, time_out=campaign.time_out,
            custom_field=contact.custom_field, status="pending", created_at=now, updated_at=now,
            campaign_id=campaign.id, campaign_contact_id=contact.id, attempt=attempt, created_by=f"campaign:{campaign.id}",
        )
        session.add(call)  # written in one batch at commit, with the contacts' updates
        contact.state, contact.attempts, contact.last_call_id = "dialing", attempt, call.id
        contact.next_attempt_at, contact.updated_at = None, now
        claimed.append(Claimed(call.id, campaign.id))
    interval = timedelta(seconds=60 / campaign.calls_per_minute)
    campaign.next_slot_at = base + interval * len(claimed) if claimed else campaign.next_slot_at
    return claimed


def dispatch(db: Database, now: datetime) -> list[Claimed]:
    """One dispatcher round over every running campaign: start scheduled ones, end expired ones, claim due attempts."""
    with db.transaction() as session:
        ids = session.scalars(select(Campaign.id).where(Campaign.status.in_(("scheduled", "running")))).all()
    claimed: list[Claimed] = []
    for campaign_id in ids:
        with db.transaction() as session:
            campaign = session.scalar(
                select(Campaign).where(Campaign.id == campaign_id).with_for_update(skip_locked=True)
            )
            if campaign is None or campaign.status not in ("scheduled", "running"):
                continue  # another dispatcher holds it, or it was paused meanwhile
            if campaign.status == "scheduled":
                if campaign.start_at and campaign.start_at > now:
                    continue
                campaign.status, campaign.updated_at = "running", now
            if campaign.end_at and now >= campaign.end_at:
                _end(session, campaign, now)
                continue
            if not window_of(campaign).is_open(now):
                continue
            claimed += _claim(session, campaign, now)
    return claimed


def _end(session: Session, campaign: Campaign, now: datetime) -> None:
    """end_at reached: contacts still waiting are exhausted; calls in flight run to their end."""
    session.execute(
        update(CampaignContact)
        .where(CampaignContact.campaign_id == campaign.id, CampaignContact.state == "waiting")
        .values(state="exhausted", next_attempt_at=None, updated_at=now)
    )


Sender = Callable[[str], ExotelError | None]


def _not_sent(call: Call, now: datetime, why: str = STOPPED) -> None:
    call.status, call.error_code, call.updated_at, call.error_message = "rejected", NOT_SENT, now, why


def send_attempt(db: Database, claimed: Claimed, send: Sender, now: datetime) -> str:
    """Ask Exotel for one claimed attempt, unless its campaign stopped meanwhile; what happened, in a word."""
    with db.transaction() as session:
        campaign = session.get(Campaign, claimed.campaign_id)
        call = session.get(Call, claimed.call_id)
        if call is None or call.status != "pending":
            return "done already"
        if campaign is None or campaign.status != "running":
            _not_sent(call, now)
            return "not sent"
    error = send(claimed.call_id)
    if error is None:
        return "placed"
    if isinstance(error, NumberSuppressed):  # suppressed after the claim: nothing sent, and never again
        with db.transaction() as session:
            call = session.get(Call, claimed.call_id)
            if call is not None and call.status == "pending":
                _not_sent(call, now, error.message)
                contact = session.get(CampaignContact, call.campaign_contact_id) if call.campaign_contact_id else None
                if contact is not None and contact.state in IN_FLIGHT and contact.last_call_id == call.id:
                    contact.state, contact.next_attempt_at, contact.updated_at = "suppressed", None, now
        return "suppressed"
    if isinstance(error, CampaignStopped):  # paused or canceled while the send waited: still nothing sent
        with db.transaction() as session:
            call = session.get(Call, claimed.call_id)
            if call is not None and call.status == "pending":
                _not_sent(call, now)
        return "not sent"
    if isinstance(error, BudgetSpent):
        return "budget"  # nothing was sent; the call stays pending and is asked again later
    if getattr(error, "outcome_unknown", False):
        return "unknown"  # Exotel may have placed it: the contact waits for reconciliation, never re-dialled blindly
    outcome, state, retry_at = "refused", "exhausted", None
    if stops_campaign(error):
        outcome, state, retry_at = "paused", "waiting", now
    elif getattr(error, "http_status", None) == 429:
        # Exotel's own limit, after the client waited as Retry-After asked: the attempt was never placed.
        outcome, state = "rate limited", "waiting"
        retry_at = now + timedelta(seconds=float(getattr(error, "retry_after", None) or 60))
    elif is_dnd_refusal(error):
        outcome, state = "suppressed", "suppressed"
    with db.transaction() as session:
        call = session.get(Call, claimed.call_id)
        contact = session.get(CampaignContact, call.campaign_contact_id) if call and call.campaign_contact_id else None
        if outcome == "suppressed" and call is not None:  # every campaign's contacts for it, not only this one
            suppress(session, [call.from_number], reason="dnd", created_by=SYSTEM, now=now)
        if contact is not None and contact.state in IN_FLIGHT:
            contact.state, contact.next_attempt_at, contact.updated_at = state, retry_at, now
    if outcome == "paused":
        from .store import pause  # the same pause a person gives, with Exotel's reason

        try:
            pause(db, claimed.campaign_id, now=now, reason=f"Exotel refused: {error.message[:200]}", actor=Actor(SYSTEM))
        except ValueError:
            pass  # completed or canceled meanwhile
    return outcome
