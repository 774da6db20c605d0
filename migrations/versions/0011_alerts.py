"""Alerts: `alerts` (one row per time a rule fired) and `alert_signals` (what the rules read).

`alerts` has the contract's columns and the machinery's (the hold time, the two
notifications' delivery); a partial unique index keeps one firing alert per
rule. `alert_signals` records facts the other tables do not: Exotel's account
refusals and answers, budget waits, reconciliation runs, evaluation claims.

Revision ID: 0011_alerts
Revises: 0010_call_recordings
Create Date: 2026-12-06 16:15:00
"""
from alembic import op
import sqlalchemy as sa

UTC = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0011_alerts"
down_revision = "0010_call_recordings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("resolved_at", UTC, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=300), nullable=True),
        sa.Column("acknowledged_at", UTC, nullable=True),
        sa.Column("notified_at", UTC, nullable=True),
        sa.Column("resolve_notified_at", UTC, nullable=True),
        sa.Column("last_held_at", UTC, nullable=False),
        sa.Column("clear_since", UTC, nullable=True),
        sa.Column("delivered", sa.Text(), nullable=True),
        sa.Column("notify_attempts", sa.Integer(), nullable=False),
        sa.Column("next_notify_at", UTC, nullable=True),
        sa.Column("notify_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("uq_alerts_rule_firing", "alerts", ["rule"], unique=True,
                    sqlite_where=sa.text("state = 'firing'"), postgresql_where=sa.text("state = 'firing'"))
    op.create_index("ix_alerts_started_at", "alerts", ["started_at"], unique=False)
    op.create_index("ix_alerts_state_next_notify_at", "alerts", ["state", "next_notify_at"], unique=False)
    op.create_table(
        "alert_signals",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_signals")),
        sa.UniqueConstraint("kind", "key", name="uq_alert_signals_kind_key"),
    )
    op.create_index("ix_alert_signals_kind_at", "alert_signals", ["kind", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alert_signals_kind_at", table_name="alert_signals")
    op.drop_table("alert_signals")
    op.drop_index("ix_alerts_state_next_notify_at", table_name="alerts")
    op.drop_index("ix_alerts_started_at", table_name="alerts")
    op.drop_index("uq_alerts_rule_firing", table_name="alerts")
    op.drop_table("alerts")
