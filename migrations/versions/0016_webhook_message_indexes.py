"""Indexes for the webhook worker's questions about one endpoint's messages.

The worker asks, every half second, whether an endpoint has a message due, one
in flight, or any left to send. Without these, each question walked every
pending message (20,000 during a two-minute outage at ingest speed), and those
walks competed with the callbacks for the database. Both indexes are partial:
a delivered message, or one nobody holds, costs no entry.

Revision ID: 0016_webhook_message_indexes
Revises: 0015_call_checks
Create Date: 2026-12-06 20:40:00
"""
import sqlalchemy as sa

from webapp.db import migrating

revision = "0016_webhook_message_indexes"
down_revision = "0015_call_checks"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")
LEASED = sa.text("lease IS NOT NULL")


def upgrade() -> None:
    migrating.create_index("ix_webhook_messages_endpoint_pending", "webhook_messages", ["endpoint_id", "next_attempt_at"],
                 postgresql_where=PENDING, sqlite_where=PENDING)
    migrating.create_index("ix_webhook_messages_leased", "webhook_messages", ["endpoint_id"],
                 postgresql_where=LEASED, sqlite_where=LEASED)


def downgrade() -> None:
    migrating.drop_index("ix_webhook_messages_leased", "webhook_messages")
    migrating.drop_index("ix_webhook_messages_endpoint_pending", "webhook_messages")
