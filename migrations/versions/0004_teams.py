"""Teams: roles for users and API tokens, server-side sessions, set-password links,
the append-only `audit_log`, and `calls.created_by`.

Every user that exists before this revision becomes an admin (until now every
user could do everything); existing API tokens become operators (they could
place and read calls, which is what an operator may do through the API).

`audit_log` refuses UPDATE and DELETE by trigger on both databases, so the log
stays append-only even for someone with SQL access as the app's own role.

`calls.created_by` is added only when missing: another revision of the same
release may add it first.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:30:00
"""
from alembic import op
import sqlalchemy as sa

from webapp.db import migrating

UTC = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
APPEND_ONLY_POSTGRESQL = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
)


def _has_column(table: str, column: str) -> bool:
    return column in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("role", sa.String(16), server_default="operator", nullable=False))
        batch.add_column(sa.Column("disabled_at", UTC, nullable=True))
    op.execute("UPDATE users SET role = 'admin', is_admin = true")

    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("role", sa.String(16), server_default="operator", nullable=False))
        batch.add_column(sa.Column("expires_at", UTC, nullable=True))
        batch.add_column(sa.Column("created_by_user_id", sa.Integer(), nullable=True))
        if not postgresql:
            batch.create_foreign_key(
                op.f("fk_api_tokens_created_by_user_id_users"), "users", ["created_by_user_id"], ["id"], ondelete="SET NULL"
            )
    if postgresql:  # checked after a commit, without blocking writes to api_tokens
        migrating.create_foreign_key(
            op.f("fk_api_tokens_created_by_user_id_users"), "api_tokens", "users", ["created_by_user_id"], ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])

    op.create_table(
        "password_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_password_links_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_links")),
    )
    op.create_index(op.f("ix_password_links_user_id"), "password_links", ["user_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(300), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at_id", "audit_log", ["at", "id"])
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at"])
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "at"])
    dialect = op.get_bind().dialect.name
    for statement in APPEND_ONLY_POSTGRESQL if dialect == "postgresql" else APPEND_ONLY_SQLITE:
        op.execute(statement)

    if not _has_column("calls", "created_by"):
        op.add_column("calls", sa.Column("created_by", sa.String(300), nullable=True))
    migrating.create_index("ix_calls_created_by_created_at", "calls", ["created_by", "created_at"])  # CONCURRENTLY on PostgreSQL


def downgrade() -> None:
    migrating.drop_index("ix_calls_created_by_created_at", "calls")
    # Natively, not by batch: SQLite's copy-and-rename of `calls` trips over the views that read it.
    op.execute("ALTER TABLE calls DROP COLUMN created_by")
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("password_links")
    op.drop_table("user_sessions")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("fk_api_tokens_created_by_user_id_users"), type_="foreignkey")
        batch.drop_column("created_by_user_id")
        batch.drop_column("expires_at")
        batch.drop_column("role")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled_at")
        batch.drop_column("role")
