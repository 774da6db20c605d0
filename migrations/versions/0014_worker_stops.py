"""Worker heartbeats keep a cleanly stopped worker: `worker_heartbeats.stopped_at`.

A worker that stops cleanly used to delete its row, so the home page could not
say "the worker on <host> stopped at <time>" while others run. Its row now
stays (until FORGET_AFTER), with the time it stopped.

Revision ID: 0014_worker_stops
Revises: 0013_setup_codes
Create Date: 2026-12-06 16:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0014_worker_stops"
down_revision = "0013_setup_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("worker_heartbeats") as batch:
        batch.add_column(sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worker_heartbeats") as batch:
        batch.drop_column("stopped_at")
