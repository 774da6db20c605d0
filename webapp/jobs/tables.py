"""The worker's tables in the app's database: heartbeats, and (when the queue is this database) the
queue's own tables, declared here so migrations create them and the schema check knows them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, Double, Index, Integer, LargeBinary, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UTCDateTime, utcnow


class WorkerHeartbeat(Base):
    """One row per worker process, its `last_seen` renewed every few seconds while it runs."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid:start
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    periodic: Mapped[bool] = mapped_column(Boolean, default=False)  # runs the periodic scheduler
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # a clean stop's time


# Huey's PostgreSQL storage (huey/storage.py, table_prefix "huey"), column for column.
huey_kv = Table(
    "huey_kv", Base.metadata,
    Column("queue", Text, primary_key=True), Column("key", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),
)
huey_schedule = Table(
    "huey_schedule", Base.metadata,
    Column("id", BigId, primary_key=True, autoincrement=True), Column("queue", Text, nullable=False),
    Column("data", LargeBinary, nullable=False), Column("timestamp", Double, nullable=False),
    Index("huey_schedule_queue_timestamp", "queue", "timestamp"),
)
huey_task = Table(
    "huey_task", Base.metadata,
    Column("id", BigId, primary_key=True, autoincrement=True), Column("queue", Text, nullable=False),
    Column("data", LargeBinary, nullable=False), Column("priority", Double, nullable=False, server_default="0.0"),
)
Index("huey_task_queue_priority_id", huey_task.c.queue, huey_task.c.priority.desc(), huey_task.c.id)
huey_counter = Table(
    "huey_counter", Base.metadata,
    Column("queue", Text, primary_key=True), Column("key", Text, primary_key=True),
    Column("value", BigInteger, nullable=False, server_default="0"),
)

# The Exotel budget's sliding log (webapp/exotel_access/budget.py): one row per request sent in the last minute.
exotel_budget = Table(
    "exotel_budget", Base.metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("sent_at", Double, nullable=False),
    Index("ix_exotel_budget_name_sent_at", "name", "sent_at"),
)
