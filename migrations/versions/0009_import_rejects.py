"""The rows of a campaign's list that were not imported: `campaign_import_rejects`.

An import answers with the first rows it refused and counts the rest; every
refused row is kept here, in the import's own transaction, so the whole list
can be downloaded as CSV and the campaign's results CSV can show each one with
its reason. Rows cascade away with their campaign.

Revision ID: 0009_import_rejects
Revises: 0008
Create Date: 2026-12-06 13:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_import_rejects"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_import_rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=200), nullable=False),
        sa.Column("custom_field", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_import_rejects_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_import_rejects")),
    )
    op.create_index(
        "ix_campaign_import_rejects_campaign_row", "campaign_import_rejects", ["campaign_id", "row_number"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_import_rejects_campaign_row", table_name="campaign_import_rejects")
    op.drop_table("campaign_import_rejects")
