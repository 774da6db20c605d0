"""Tables: calls and their events (the reporting contract), users, their sessions, API tokens, the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, BigId, UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class Call(Base):
    """One call placed through Exotel; columns are a public contract for analysts."""

    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(20))
    caller_id: Mapped[str] = mapped_column(String(32))
    flow_url: Mapped[str] = mapped_column(Text)
    call_type: Mapped[str | None] = mapped_column(String(16))
    time_limit: Mapped[int | None] = mapped_column(Integer)
    time_out: Mapped[int | None] = mapped_column(Integer)
    custom_field: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conversation_duration: Mapped[int | None] = mapped_column(Integer)
    recording_url: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Who placed it: "user:<email>" or "token:<name>" (null for calls older than the column).
    created_by: Mapped[str | None] = mapped_column(String(300))
    # A campaign's attempt: which campaign and contact, and which try (1 for the first).
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    campaign_contact_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_contacts.id", ondelete="SET NULL"))
    attempt: Mapped[int | None] = mapped_column(Integer)
    # Asking Exotel about a call past its expected end (calls.overdue): the worker's early asks so far, and when
    # Exotel was last asked (by the worker or a person), which also spaces the asks out.
    checks: Mapped[int | None] = mapped_column(Integer)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="(CallEvent.occurred_at, CallEvent.id)", lazy="raise"
    )

    __table_args__ = (
        # Newest-first listing with keyset pagination, plain and by status.
        Index("ix_calls_created_at_id", "created_at", "id"),
        Index("ix_calls_status_created_at", "status", "created_at"),
        Index("ix_calls_from_number_created_at", "from_number", "created_at"),
        # Calls changed since the report cache's last refresh (migration 0002, webapp/reporting.py).
        Index("ix_calls_updated_at", "updated_at"),
        # By who placed them, in the list's order: its page is read from the index (migration 0008).
        Index("ix_calls_created_by_created_at_id", "created_by", "created_at", "id"),
        # At most one call per (contact, attempt): the database refuses a second placement.
        UniqueConstraint("campaign_contact_id", "attempt"),
        Index("ix_calls_campaign_id", "campaign_id"),
    )

    def __repr__(self) -> str:
        return f"<Call {self.id} {self.status} sid={self.sid}>"


class CallEvent(Base):
    """One distinct status callback, or one reconciliation result, for a call."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    call_sid: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(32))
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[str] = mapped_column(Text)
    # Identity of the delivery: a retried delivery hashes the same and adds no row.
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)

    call: Mapped[Call | None] = relationship(back_populates="events", lazy="raise")

    __table_args__ = (
        Index("ix_call_events_call_id_received_at", "call_id", "received_at"),
        Index("ix_call_events_call_sid", "call_sid"),
    )


class CallRecording(Base):
    """A call's recording as the worker archives it (RECORDINGS_DIR): the file's name, checksum and size, or why not.

    `state` is `pending` (to fetch at `next_try_at`; a claim moves that on, so a
    worker that dies leaves it due again), `archived`, `removed` (past
    RECORDINGS_KEEP_DAYS), or a final failure: `expired`, `refused`, `not_allowed`, `too_large`, `failed`.
    """

    __tablename__ = "call_recordings"

    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    file_name: Mapped[str | None] = mapped_column(String(64))  # inside RECORDINGS_DIR; chosen here, never from input
    content_type: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_call_recordings_state_next_try_at", "state", "next_try_at"),
        Index("ix_call_recordings_state_archived_at", "state", "archived_at"),
    )


class User(Base):
    """A person who signs in to the UI, with one role: admin, operator or viewer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Kept equal to role == "admin" for readers of the first schema; `role` decides.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    role: Mapped[str] = mapped_column(String(16), default="operator", server_default="operator")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """One signed-in browser; the cookie carries the secret, the table only its hash.

    Signing out, a password change or disabling the user ends the row, so a copy
    of the cookie is refused from then on, by every process.
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's secret
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordLink(Base):
    """A one-time set-password link handed to a new user or after a reset; only its hash is stored."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One row of the append-only audit log (a public contract: see CONTRACT.md)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_audit_log_at_id", "at", "id"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
    )


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    role: Mapped[str] = mapped_column(String(16), default="operator", server_default="operator")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The user who made it in the browser (null from the command line): disabling them revokes it.
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class IdempotencyKey(Base):
    """A request key seen in one scope (an API token, a signed-in user) and the call or campaign it created."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "token:<id>" for API clients, "user:<id>" for the place-a-call form.
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    # What the first request made: a call, or a campaign.
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("scope", "key"),)


__all__ = ["ApiToken", "AuditEntry", "Call", "CallEvent", "CallRecording", "IdempotencyKey", "PasswordLink", "User", "UserSession", "new_id"]
