"""Archived call recordings: `call_recordings`.

With RECORDINGS_DIR set, the worker fetches each answered call's recording once
the call has ended and keeps it there (Exotel keeps recordings only for a
while); one row per call says where the file is, its SHA-256 and size, or why
it is not there. Rows cascade away with their call.

Revision ID: 0010_call_recordings
Revises: 0009_import_rejects
Create Date: 2026-12-06 14:30:00
"""
from alembic import op
import sqlalchemy as sa

UTC = sa.DateTime(timezone=True)

revision = "0010_call_recordings"
down_revision = "0009_import_rejects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_recordings",
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", UTC, nullable=True),
        sa.Column("file_name", sa.String(length=64), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("archived_at", UTC, nullable=True),
        sa.Column("removed_at", UTC, nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_call_recordings_call_id_calls"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_call_recordings")),
    )
    op.create_index("ix_call_recordings_state_next_try_at", "call_recordings", ["state", "next_try_at"], unique=False)
    op.create_index("ix_call_recordings_state_archived_at", "call_recordings", ["state", "archived_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_call_recordings_state_archived_at", table_name="call_recordings")
    op.drop_index("ix_call_recordings_state_next_try_at", table_name="call_recordings")
    op.drop_table("call_recordings")
