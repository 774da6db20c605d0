"""Tables of outbound webhooks: endpoints, the event outbox, each endpoint's copy of an event, the attempt log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UTCDateTime, utcnow

# The events an endpoint may subscribe to (CONTRACT.md, "Outbound webhooks").
EVENT_TYPES = ("call.answered", "call.completed", "campaign.completed", "campaign.paused", "alert.firing", "alert.resolved")


class WebhookEndpoint(Base):
    """A URL that receives the events it subscribed to, signed with its secret (stored encrypted, never in clear)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(500))
    events: Mapped[str] = mapped_column(String(300))  # comma-separated EVENT_TYPES
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(Text)  # Fernet token of the whsec_ secret (webhooks.secrets)
    # After a rotation the old secret signs too, until this time (the spec's space-separated signatures).
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the product disabled it: "gone" (the receiver answered 410) or "failing" (3 days of failures).
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first failed attempt since the last success: its age is how long the endpoint has been failing.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def wants(self, event_type: str) -> bool:
        return event_type in self.events.split(",")


class WebhookEvent(Base):
    """One event, written in the transaction of the change that caused it (the outbox).

    Call and campaign events are written by database triggers (migrations
    0012_webhooks, 0017_call_events_unkeyed) on every write path, once per
    transition. A call's fire only as its row makes the transition, which the
    status rules never undo, so they carry no `dedupe_key`; campaign and alert
    events have one, which makes a second write a no-op. `payload` (the body)
    and `msg_id` (the `webhook-id`) are set once, when the worker first fans
    the event out, and never change.
    """

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(64))  # the call's id or the campaign's
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # NULL for call events
    msg_id: Mapped[str | None] = mapped_column(String(40))  # msg_<uuid4>: unique without an index to keep up
    payload: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Partial: a row leaves it once fanned out, so the index stays the size of the backlog.
        Index("ix_webhook_events_unfanned", "id", postgresql_where=text("fanned_out_at IS NULL"),
              sqlite_where=text("fanned_out_at IS NULL")),
        Index("ix_webhook_events_created_at", "created_at"),
    )


class WebhookMessage(Base):
    """One event for one endpoint: its state, its schedule and the lease of the worker sending it."""

    __tablename__ = "webhook_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # all attempts, replays included
    step: Mapped[int] = mapped_column(Integer, default=0)  # the place in the retry schedule (a replay restarts it)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease: Mapped[str | None] = mapped_column(String(36))  # who holds it: a claim's own id
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        # Partial: only messages still to send; a delivered one costs no index entry here.
        Index("ix_webhook_messages_pending", "next_attempt_at", postgresql_where=text("state = 'pending'"),
              sqlite_where=text("state = 'pending'")),
        # One endpoint's messages to send, and those in flight: what the worker asks about each endpoint.
        Index("ix_webhook_messages_endpoint_pending", "endpoint_id", "next_attempt_at",
              postgresql_where=text("state = 'pending'"), sqlite_where=text("state = 'pending'")),
        Index("ix_webhook_messages_leased", "endpoint_id", postgresql_where=text("lease IS NOT NULL"),
              sqlite_where=text("lease IS NOT NULL")),
    )


# Spelled as a literal, not a bound parameter: PostgreSQL then uses ix_webhook_messages_pending (a partial
# index) even in a prepared statement's generic plan.
PENDING = text("webhook_messages.state = 'pending'")


class WebhookDelivery(Base):
    """One attempt to deliver one event to one endpoint (a public contract: see CONTRACT.md)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)  # the body's first RESPONSE_CAP characters, shown as text only

    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint_id_at", "endpoint_id", "at"),
    )
