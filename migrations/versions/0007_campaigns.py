"""Campaigns: `campaigns`, `campaign_contacts`, `suppressions`, the campaign columns of `calls`, and `campaign_report`.

SQLite cannot add a column with a foreign key in place: Alembic's batch mode
copies `calls`, which SQLite refuses while views read it. The views are saved,
dropped and recreated around that copy, word for word as they were.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:30:00
"""
from alembic import op
import sqlalchemy as sa

from webapp.db import migrating

UTC = sa.DateTime(timezone=True)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

REAL = {"sqlite": "REAL", "postgresql": "double precision"}
# A call counts as answered when Exotel said so (an answer time) or it completed:
# Exotel's `completed` means the customer picked up.
ANSWERED = "(c.answered_at IS NOT NULL OR c.status = 'completed')"


def campaign_report_sql(dialect: str) -> str:
    return f"""
CREATE VIEW campaign_report AS
SELECT
    cp.id AS campaign_id,
    cp.name,
    cp.status,
    COALESCE(ct.contacts, 0) AS contacts,
    COALESCE(cl.attempts, 0) AS attempts,
    COALESCE(cl.answered, 0) AS answered,
    COALESCE(ct.completed, 0) AS completed,
    COALESCE(ct.exhausted, 0) AS exhausted,
    COALESCE(ct.suppressed, 0) AS suppressed,
    CAST(cl.answered AS {REAL[dialect]}) / NULLIF(ct.attempted, 0) AS answer_rate,
    cl.first_call_at,
    cl.last_call_at
FROM campaigns AS cp
LEFT JOIN (
    SELECT campaign_id,
        COUNT(*) AS contacts,
        SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS attempted,
        SUM(CASE WHEN state = 'completed' THEN 1 ELSE 0 END) AS completed,
        SUM(CASE WHEN state = 'exhausted' THEN 1 ELSE 0 END) AS exhausted,
        SUM(CASE WHEN state = 'suppressed' THEN 1 ELSE 0 END) AS suppressed
    FROM campaign_contacts
    GROUP BY campaign_id
) AS ct ON ct.campaign_id = cp.id
LEFT JOIN (
    SELECT c.campaign_id,
        COUNT(*) AS attempts,
        COUNT(DISTINCT CASE WHEN {ANSWERED} THEN c.campaign_contact_id END) AS answered,
        MIN(c.created_at) AS first_call_at,
        MAX(c.created_at) AS last_call_at
    FROM calls AS c
    WHERE c.campaign_id IS NOT NULL
    GROUP BY c.campaign_id
) AS cl ON cl.campaign_id = cp.id"""


def _sqlite_views() -> list[tuple[str, str]]:
    """The views of a SQLite database, as (name, CREATE statement), in creation order."""
    rows = op.get_bind().exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY rowid")
    return [(name, sql) for name, sql in rows]


def _alter_calls(alter) -> None:
    """Run `alter(batch_op)` on calls; on SQLite with its views dropped and recreated around the copy."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    views = _sqlite_views() if sqlite else []
    for name, _sql in reversed(views):
        op.execute(f'DROP VIEW "{name}"')
    with op.batch_alter_table("calls", schema=None) as batch_op:
        alter(batch_op)
    for _name, sql in views:
        op.execute(sql)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("flow_url", sa.Text(), nullable=False),
        sa.Column("caller_id", sa.String(length=32), nullable=False),
        sa.Column("call_type", sa.String(length=16), nullable=True),
        sa.Column("time_limit", sa.Integer(), nullable=True),
        sa.Column("time_out", sa.Integer(), nullable=True),
        sa.Column("status_callback_events", sa.String(length=32), nullable=False),
        sa.Column("calls_per_minute", sa.Integer(), nullable=False),
        sa.Column("max_in_flight", sa.Integer(), nullable=True),
        sa.Column("window_start", sa.String(length=5), nullable=False),
        sa.Column("window_end", sa.String(length=5), nullable=False),
        sa.Column("window_days", sa.String(length=27), nullable=False),
        sa.Column("window_timezone", sa.String(length=64), nullable=False),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("retry_on", sa.String(length=32), nullable=False),
        sa.Column("retry_delay_minutes", sa.Integer(), nullable=False),
        sa.Column("retry_backoff", sa.String(length=16), nullable=False),
        sa.Column("start_at", UTC, nullable=True),
        sa.Column("end_at", UTC, nullable=True),
        sa.Column("next_slot_at", UTC, nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_status", "campaigns", ["status"], unique=False)
    op.create_table(
        "campaign_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("custom_field", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=True),
        sa.Column("last_call_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_contacts_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_contacts")),
        sa.UniqueConstraint("campaign_id", "number", name=op.f("uq_campaign_contacts_campaign_id")),
    )
    op.create_index(
        "ix_campaign_contacts_due", "campaign_contacts", ["campaign_id", "state", "next_attempt_at", "id"], unique=False
    )
    op.create_table(
        "suppressions",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_suppressions")),
    )

    postgresql = dialect == "postgresql"

    def add_columns(batch_op) -> None:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("campaign_contact_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=True))
        if postgresql:
            return  # below, without blocking writes to calls
        batch_op.create_foreign_key(
            op.f("fk_calls_campaign_id_campaigns"), "campaigns", ["campaign_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            op.f("fk_calls_campaign_contact_id_campaign_contacts"), "campaign_contacts", ["campaign_contact_id"], ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint(op.f("uq_calls_campaign_contact_id"), ["campaign_contact_id", "attempt"])
        batch_op.create_index("ix_calls_campaign_id", ["campaign_id"], unique=False)

    _alter_calls(add_columns)
    if postgresql:  # foreign keys checked after a commit, indexes built CONCURRENTLY (webapp/db/migrating.py)
        migrating.create_foreign_key(
            op.f("fk_calls_campaign_id_campaigns"), "calls", "campaigns", ["campaign_id"], ["id"], ondelete="SET NULL"
        )
        migrating.create_foreign_key(
            op.f("fk_calls_campaign_contact_id_campaign_contacts"), "calls", "campaign_contacts",
            ["campaign_contact_id"], ["id"], ondelete="SET NULL",
        )
        migrating.add_unique_constraint(op.f("uq_calls_campaign_contact_id"), "calls", ["campaign_contact_id", "attempt"])
        migrating.create_index("ix_calls_campaign_id", "calls", ["campaign_id"], unique=False)
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.alter_column("call_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        if not postgresql:
            batch_op.create_foreign_key(
                op.f("fk_idempotency_keys_campaign_id_campaigns"), "campaigns", ["campaign_id"], ["id"], ondelete="CASCADE"
            )
    if postgresql:
        migrating.create_foreign_key(
            op.f("fk_idempotency_keys_campaign_id_campaigns"), "idempotency_keys", "campaigns", ["campaign_id"], ["id"],
            ondelete="CASCADE",
        )
    op.execute(campaign_report_sql(dialect))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS campaign_report")
    op.execute("DELETE FROM idempotency_keys WHERE call_id IS NULL")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_idempotency_keys_campaign_id_campaigns"), type_="foreignkey")
        batch_op.drop_column("campaign_id")
        batch_op.alter_column("call_id", existing_type=sa.String(length=36), nullable=False)

    if op.get_bind().dialect.name == "postgresql":
        migrating.drop_index("ix_calls_campaign_id", "calls")

    def drop_columns(batch_op) -> None:
        if op.get_bind().dialect.name == "sqlite":
            batch_op.drop_index("ix_calls_campaign_id")
        batch_op.drop_constraint(op.f("uq_calls_campaign_contact_id"), type_="unique")
        batch_op.drop_constraint(op.f("fk_calls_campaign_contact_id_campaign_contacts"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_calls_campaign_id_campaigns"), type_="foreignkey")
        batch_op.drop_column("attempt")
        batch_op.drop_column("campaign_contact_id")
        batch_op.drop_column("campaign_id")

    _alter_calls(drop_columns)
    op.drop_table("suppressions")
    op.drop_index("ix_campaign_contacts_due", table_name="campaign_contacts")
    op.drop_table("campaign_contacts")
    op.drop_index("ix_campaigns_status", table_name="campaigns")
    op.drop_table("campaigns")
