"""Tables of campaigns: the campaign, its contacts, and the numbers never to call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

# Campaign statuses (contract): scheduled (start_at not reached), running, paused,
# completed (no contact waiting or in flight), canceled.
CAMPAIGN_STATUSES = ("scheduled", "running", "paused", "completed", "canceled")
# Contact states (contract). waiting: an attempt is due now or later; dialing: an
# attempt is in flight; answered: in flight and answered; the rest are final.
CONTACT_STATES = ("waiting", "dialing", "answered", "completed", "exhausted", "suppressed", "canceled")
FINAL_CONTACT_STATES = frozenset({"completed", "exhausted", "suppressed", "canceled"})
IN_FLIGHT = ("dialing", "answered")


class Campaign(Base):
    """A list of contacts called into one flow, paced, inside a calling window, with retries."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="running")
    # Why a campaign is paused when the product paused it (Exotel refused for balance or
    # permission), or "not started" for one created in the browser awaiting its Start.
    status_reason: Mapped[str | None] = mapped_column(Text)
    flow_url: Mapped[str] = mapped_column(Text)
    caller_id: Mapped[str] = mapped_column(String(32))
    call_type: Mapped[str | None] = mapped_column(String(16))
    time_limit: Mapped[int | None] = mapped_column(Integer)
    time_out: Mapped[int | None] = mapped_column(Integer)
    status_callback_events: Mapped[str] = mapped_column(String(32), default="answered,terminal")
    calls_per_minute: Mapped[int] = mapped_column(Integer, default=60)
    max_in_flight: Mapped[int | None] = mapped_column(Integer)
    window_start: Mapped[str] = mapped_column(String(5), default="09:00")
    window_end: Mapped[str] = mapped_column(String(5), default="21:00")
    window_days: Mapped[str] = mapped_column(String(27), default="mon,tue,wed,thu,fri,sat,sun")
    window_timezone: Mapped[str] = mapped_column(String(64), default="Asia/Kolkata")
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    retry_on: Mapped[str] = mapped_column(String(32), default="busy,no-answer,failed")
    retry_delay_minutes: Mapped[int] = mapped_column(Integer, default=30)
    retry_backoff: Mapped[str] = mapped_column(String(16), default="linear")
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The pacer's next free slot: one attempt per 60 / calls_per_minute seconds.
    next_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_campaigns_status", "status"),)


class CampaignContact(Base):
    """One number of a campaign's list, with where it stands."""

    __tablename__ = "campaign_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20))
    custom_field: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_call_id: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("campaign_id", "number"),
        # The dispatcher's question: which contacts of this campaign are due, oldest first.
        Index("ix_campaign_contacts_due", "campaign_id", "state", "next_attempt_at", "id"),
    )


class ImportReject(Base):
    """A row of a campaign's uploaded list that was not imported, and why: kept so the full list can be downloaded."""

    __tablename__ = "campaign_import_rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(200))  # as given (it may be no number at all)
    custom_field: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_campaign_import_rejects_campaign_row", "campaign_id", "row_number"),)


class Suppression(Base):
    """A number no campaign ever calls (asked by the customer, or refused by Exotel as DND/NDNC)."""

    __tablename__ = "suppressions"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
