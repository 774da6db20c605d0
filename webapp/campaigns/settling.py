"""Settling: contacts whose attempt ended (callbacks and reconciliation wrote its call) move on, and campaigns
with nothing left complete. The dispatcher runs it each round before claiming (campaigns.dispatch)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ..calls.status import FINAL
from ..db import Database
from ..models import Call
from .models import IN_FLIGHT, Campaign, CampaignContact
from .retries import RetryPolicy
from .suppressions import find, is_suppressed

# A claimed attempt still `pending` this long after its claim was never answered by
# Exotel in this deployment's memory (its worker died mid-request): it becomes
# `unknown`, and reconciliation looks it up before anything else happens to it.
# CAMPAIGN_LOST_AFTER_MINUTES sets it.
LOST_AFTER = timedelta(minutes=10)
NOT_SENT = "not_sent"  # error_code of an attempt claimed but stopped before Exotel was asked


def policy_of(campaign: Campaign) -> RetryPolicy:
    return RetryPolicy(
        count=campaign.retry_count, on=frozenset(campaign.retry_on.split(",")) - {""},
        delay_minutes=campaign.retry_delay_minutes, backoff=campaign.retry_backoff,
    )


def settle(db: Database, now: datetime, *, lost_after: timedelta = LOST_AFTER) -> int:
    """Move contacts whose attempt changed; complete campaigns with nothing left. The number of contacts moved."""
    moved = 0
    # Only the contacts that move, found through the (campaign, state) index: not every contact of every list
    # each second. A completed campaign has nothing in flight.
    live = select(Campaign.id).where(Campaign.status != "completed")
    moving = or_(Call.status.in_(FINAL), and_(CampaignContact.state == "dialing", Call.answered_at.is_not(None)))
    with db.transaction() as session:
        rows = session.execute(
            select(CampaignContact, Call, Campaign, is_suppressed(CampaignContact.number))
            .join(Call, Call.id == CampaignContact.last_call_id)
            .join(Campaign, Campaign.id == CampaignContact.campaign_id)
            .where(CampaignContact.campaign_id.in_(live), CampaignContact.state.in_(IN_FLIGHT), moving)
        ).all()
        for contact, call, campaign, suppressed in rows:
            moved += _settle_one(session, contact, call, campaign, now, suppressed=suppressed)
        moved += _mark_lost(session, now, lost_after)
        _complete(session, now)
    return moved


def _settle_one(
    session: Session, contact: CampaignContact, call: Call, campaign: Campaign, now: datetime, *, suppressed: bool,
) -> int:
    state = contact.state
    if call.status == "completed":
        contact.state = "completed"
    elif call.status not in FINAL:
        if call.answered_at is not None:
            contact.state = "answered"
    elif call.status == "rejected":
        contact.state, contact.next_attempt_at = _after_refusal(session, contact, call, campaign, now)
    else:
        next_at = policy_of(campaign).next_attempt_at(call.status, contact.attempts, call.ended_at or now)
        if suppressed:  # suppressed while this attempt was under way: never retried
            contact.state, contact.next_attempt_at = "suppressed", None
        elif next_at is not None and campaign.status not in ("canceled",) and not (campaign.end_at and next_at >= campaign.end_at):
            contact.state, contact.next_attempt_at = "waiting", next_at
        else:
            contact.state = "exhausted"
    if contact.state == state:
        return 0
    contact.updated_at = now
    return 1


def _after_refusal(
    session: Session, contact: CampaignContact, call: Call, campaign: Campaign, now: datetime,
) -> tuple[str, datetime | None]:
    """Where a contact goes when Exotel never placed its attempt and send_attempt did not move it (it stopped first)."""
    if find(session, contact.number) is not None:
        return "suppressed", None
    if campaign.status == "canceled":
        return "canceled", None
    if call.error_code in (NOT_SENT, "not_placed"):  # not_placed: reconciliation found Exotel never had it
        # Never dialled, through no fault of the number: it waits for its campaign to run again.
        return "waiting", now
    return "exhausted", None


def _mark_lost(session: Session, now: datetime, lost_after: timedelta) -> int:
    """Campaign attempts still pending long after their claim: their worker died mid-request, so Exotel may
    have placed them. They become `unknown` (never retried) until reconciliation looks them up."""
    result = session.execute(
        update(Call)
        .where(and_(Call.campaign_id.is_not(None), Call.status == "pending", Call.created_at < now - lost_after))
        .values(status="unknown", error_message="The worker stopped while placing this attempt; reconciliation will look it up.",
                updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _complete(session: Session, now: datetime) -> None:
    """Running campaigns with no contact waiting or in flight are completed."""
    live = select(CampaignContact.id).where(
        CampaignContact.campaign_id == Campaign.id, CampaignContact.state.in_(("waiting", *IN_FLIGHT))
    )
    session.execute(
        update(Campaign)
        .where(Campaign.status == "running", ~live.exists())
        .values(status="completed", updated_at=now)
        .execution_options(synchronize_session=False)
    )
