"""Outbound webhooks: endpoints, the event outbox, per-endpoint messages, the delivery log, and the triggers.

The triggers write `webhook_events` in the transaction of the change itself, on
every path that moves a call or a campaign (the callback's fast path, the ORM,
reconciliation, adoption, the dispatcher, anything added later): one row per
transition, since each fires only when the old row had not made that
transition and `dedupe_key` is unique. Nothing is written while no endpoint is
registered.

Revision ID: 0012_webhooks
Revises: 0011_alerts
Create Date: 2026-12-06 16:00:00
"""
from alembic import op
import sqlalchemy as sa

UTC = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0012_webhooks"
down_revision = "0011_alerts"
branch_labels = None
depends_on = None

FINALS = "('completed', 'busy', 'no-answer', 'failed', 'canceled', 'rejected')"
ANY_ENDPOINT = "EXISTS (SELECT 1 FROM webhook_endpoints)"


def _sqlite_insert(kind: str, key: str, subject: str) -> str:
    return (f"INSERT OR IGNORE INTO webhook_events (type, subject, dedupe_key, created_at) "
            f"VALUES ('{kind}', {subject}, {key}, COALESCE(NEW.updated_at, strftime('%Y-%m-%d %H:%M:%f', 'now')));")


PAUSES = "(SELECT count(*) + 1 FROM webhook_events WHERE type = 'campaign.paused' AND subject = CAST(NEW.id AS TEXT))"

SQLITE_TRIGGERS = {
    "webhook_call_answered_update": (
        "AFTER UPDATE ON calls WHEN OLD.answered_at IS NULL AND NEW.answered_at IS NOT NULL AND " + ANY_ENDPOINT,
        _sqlite_insert("call.answered", "'call.answered:' || NEW.id", "NEW.id")),
    "webhook_call_completed_update": (
        f"AFTER UPDATE ON calls WHEN OLD.status NOT IN {FINALS} AND NEW.status IN {FINALS} AND " + ANY_ENDPOINT,
        _sqlite_insert("call.completed", "'call.completed:' || NEW.id", "NEW.id")),
    "webhook_call_answered_insert": (
        "AFTER INSERT ON calls WHEN NEW.answered_at IS NOT NULL AND " + ANY_ENDPOINT,
        _sqlite_insert("call.answered", "'call.answered:' || NEW.id", "NEW.id")),
    "webhook_call_completed_insert": (
        f"AFTER INSERT ON calls WHEN NEW.status IN {FINALS} AND " + ANY_ENDPOINT,
        _sqlite_insert("call.completed", "'call.completed:' || NEW.id", "NEW.id")),
    "webhook_campaign_completed": (
        "AFTER UPDATE ON campaigns WHEN OLD.status IS NOT 'completed' AND NEW.status = 'completed' AND " + ANY_ENDPOINT,
        _sqlite_insert("campaign.completed", "'campaign.completed:' || NEW.id", "CAST(NEW.id AS TEXT)")),
    "webhook_campaign_paused": (
        "AFTER UPDATE ON campaigns WHEN OLD.status IS NOT 'paused' AND NEW.status = 'paused' AND " + ANY_ENDPOINT,
        _sqlite_insert("campaign.paused", f"'campaign.paused:' || NEW.id || ':' || {PAUSES}", "CAST(NEW.id AS TEXT)")),
}


def _pg_insert(kind: str, key: str, subject: str) -> str:
    return (f"INSERT INTO webhook_events (type, subject, dedupe_key, created_at) "
            f"VALUES ('{kind}', {subject}, {key}, COALESCE(NEW.updated_at, now())) ON CONFLICT (dedupe_key) DO NOTHING;")


PG_FUNCTIONS = {
    "webhook_call_events": f"""
BEGIN
  IF NOT {ANY_ENDPOINT} THEN RETURN NULL; END IF;
  IF NEW.answered_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.answered_at IS NULL) THEN
    {_pg_insert("call.answered", "'call.answered:' || NEW.id", "NEW.id")}
  END IF;
  IF NEW.status IN {FINALS} AND (TG_OP = 'INSERT' OR OLD.status NOT IN {FINALS}) THEN
    {_pg_insert("call.completed", "'call.completed:' || NEW.id", "NEW.id")}
  END IF;
  RETURN NULL;
END""",
    "webhook_campaign_events": f"""
BEGIN
  IF NOT {ANY_ENDPOINT} THEN RETURN NULL; END IF;
  IF NEW.status = 'completed' THEN
    {_pg_insert("campaign.completed", "'campaign.completed:' || NEW.id", "NEW.id::text")}
  ELSIF NEW.status = 'paused' THEN
    {_pg_insert("campaign.paused", "'campaign.paused:' || NEW.id || ':' || " + PAUSES.replace("CAST(NEW.id AS TEXT)", "NEW.id::text"), "NEW.id::text")}
  END IF;
  RETURN NULL;
END""",
}
PG_TRIGGERS = {
    # WHEN keeps the function off the common update (a ringing or in-progress callback).
    "webhook_call_events_update": "AFTER UPDATE ON calls FOR EACH ROW WHEN ((OLD.answered_at IS NULL AND NEW.answered_at "
                                  "IS NOT NULL) OR OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION webhook_call_events()",
    "webhook_call_events_insert": "AFTER INSERT ON calls FOR EACH ROW WHEN (NEW.answered_at IS NOT NULL OR NEW.status IN "
                                  f"{FINALS}) EXECUTE FUNCTION webhook_call_events()",
    "webhook_campaign_events": "AFTER UPDATE ON campaigns FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND "
                               "NEW.status IN ('completed', 'paused')) EXECUTE FUNCTION webhook_campaign_events()",
}


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("events", sa.String(length=300), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_secret_until", UTC, nullable=True),
        sa.Column("disabled_reason", sa.String(length=16), nullable=True),
        sa.Column("disabled_at", UTC, nullable=True),
        sa.Column("failing_since", UTC, nullable=True),
        sa.Column("last_success_at", UTC, nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("msg_id", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("fanned_out_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_webhook_events_dedupe_key")),
    )
    op.create_index("ix_webhook_events_unfanned", "webhook_events", ["id"], unique=False,
                    postgresql_where=sa.text("fanned_out_at IS NULL"), sqlite_where=sa.text("fanned_out_at IS NULL"))
    op.create_index("ix_webhook_events_created_at", "webhook_events", ["created_at"], unique=False)
    op.create_table(
        "webhook_messages",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("event_id", BIG, nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("leased_until", UTC, nullable=True),
        sa.Column("lease", sa.String(length=36), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"],
                                name=op.f("fk_webhook_messages_endpoint_id_webhook_endpoints"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["webhook_events.id"],
                                name=op.f("fk_webhook_messages_event_id_webhook_events"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_messages")),
        sa.UniqueConstraint("event_id", "endpoint_id", name=op.f("uq_webhook_messages_event_id")),
    )
    op.create_index("ix_webhook_messages_pending", "webhook_messages", ["next_attempt_at"], unique=False,
                    postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("event_id", BIG, nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"],
                                name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["webhook_events.id"],
                                name=op.f("fk_webhook_deliveries_event_id_webhook_events"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_endpoint_id_at", "webhook_deliveries", ["endpoint_id", "at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for name, body in PG_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}\n$$")
        for name, spec in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {spec}")
    else:
        for name, (when, action) in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {action} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, spec in PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {spec.split(' ON ')[1].split()[0]}")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_messages")
    op.drop_table("webhook_events")
    op.drop_table("webhook_endpoints")
