"""The `alerts` table: one row per time a rule fired, kept after it resolves for the history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UTCDateTime

FIRING, RESOLVED = "firing", "resolved"


class Alert(Base):
    """A rule's condition held from `started_at` until `resolved_at` (null while it fires).

    The contract's columns, then the machinery's: when the condition last held and since when it
    has been clear (the hold time before resolving), and the delivery of the two notifications.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=FIRING)
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)  # JSON text: the rule's numbers and the calls behind it
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(300))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the firing notification reached every target
    # Internal.
    resolve_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the resolved one did
    last_held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    clear_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered: Mapped[str | None] = mapped_column(Text)  # JSON: {"firing": [target keys], "resolved": [...]}
    notify_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_notify_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a delivery's claim, or its backoff
    notify_error: Mapped[str | None] = mapped_column(String(300))  # which targets failed (redacted names)

    __table_args__ = (
        # At most one firing alert per rule: two evaluations racing cannot fire it twice.
        Index("uq_alerts_rule_firing", "rule", unique=True, sqlite_where=text("state = 'firing'"),
              postgresql_where=text("state = 'firing'")),
        Index("ix_alerts_started_at", "started_at"),
        Index("ix_alerts_state_next_notify_at", "state", "next_notify_at"),
    )
