"""The background worker: heartbeats, and the queue's and Exotel budget's tables.

The queue's tables are Huey's PostgreSQL storage tables (huey_kv, huey_schedule,
huey_task, huey_counter), created here so that a PostgreSQL deployment whose
queue is its own database needs no DDL at run time; on SQLite they stay empty
(the SQLite queue is a file of its own). exotel_budget is the shared sliding
log of requests sent to Exotel.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("periodic", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_heartbeats")),
    )
    op.create_index(op.f("ix_worker_heartbeats_last_seen"), "worker_heartbeats", ["last_seen"])
    op.create_table(
        "huey_kv",
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("queue", "key", name=op.f("pk_huey_kv")),
    )
    op.create_table(
        "huey_schedule",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_huey_schedule")),
    )
    op.create_index("huey_schedule_queue_timestamp", "huey_schedule", ["queue", "timestamp"])
    op.create_table(
        "huey_task",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("priority", sa.Double(), server_default="0.0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_huey_task")),
    )
    op.create_index("huey_task_queue_priority_id", "huey_task", ["queue", sa.text("priority DESC"), "id"])
    op.create_table(
        "huey_counter",
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("queue", "key", name=op.f("pk_huey_counter")),
    )
    op.create_table(
        "exotel_budget",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exotel_budget")),
    )
    op.create_index("ix_exotel_budget_name_sent_at", "exotel_budget", ["name", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_exotel_budget_name_sent_at", table_name="exotel_budget")
    op.drop_table("exotel_budget")
    op.drop_table("huey_counter")
    op.drop_index("huey_task_queue_priority_id", table_name="huey_task")
    op.drop_table("huey_task")
    op.drop_index("huey_schedule_queue_timestamp", table_name="huey_schedule")
    op.drop_table("huey_schedule")
    op.drop_table("huey_kv")
    op.drop_index(op.f("ix_worker_heartbeats_last_seen"), table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
