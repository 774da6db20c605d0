"""The first admin's set-up code in the database: `setup_codes`.

Each host kept its own code in `instance/setup_code`, so behind a load balancer
one host's code was refused by another. One row now holds the deployment's live
code, hashed, with when it expires and when it was used (webapp/accounts/setup_codes.py).
A code pending in a host's `instance/setup_code` is not carried over: the next
start prints a new one.

Revision ID: 0013_setup_codes
Revises: 0012_webhooks
Create Date: 2026-12-06 16:00:00
"""
from alembic import op
import sqlalchemy as sa

UTC = sa.DateTime(timezone=True)

revision = "0013_setup_codes"
down_revision = "0012_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "setup_codes",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setup_codes")),
    )


def downgrade() -> None:
    op.drop_table("setup_codes")
