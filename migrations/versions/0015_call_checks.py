"""Early checks of stuck calls: `calls.checks` and `calls.checked_at`.

A call past the time it should have ended (its ring timeout, or its TimeLimit
once answered, plus a grace) without a final callback is asked about early by
the worker, twice at most (`checks` counts those asks), and on demand by an
operator; `checked_at` says when Exotel was last asked, so two workers never
ask in the same minute and a double click sends one request. Both columns are
nullable: adding them rewrites no table.

Revision ID: 0015_call_checks
Revises: 0014_worker_stops
Create Date: 2026-12-06 16:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0015_call_checks"
down_revision = "0014_worker_stops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("checks", sa.Integer(), nullable=True))
    op.add_column("calls", sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("calls", "checked_at")
    op.drop_column("calls", "checks")
