"""Call events without a `dedupe_key`: their row's transition already makes them once.

The call triggers (0012_webhooks) fire only when the row makes its transition
(`answered_at` was empty, the status was not final), and the status rules
never undo one (`answered_at` keeps its first value, a final status stays), so
a second write of the same transition cannot happen: the unique key repeated
that guarantee at a price. The key leads with the call's random id, so each
event's entry landed on a random page of the unique index, one more page read
and written (and checkpointed, on SQLite) by every callback that moves a call.
A NULL key conflicts with nothing and all such entries sit together at one end
of the index. Campaign events keep their keys (a campaign is paused once per
`<n>`), as do alert events (`record_event`).

Only the trigger bodies change: no table or index is rebuilt, and code from
before this revision still works against it (the unique constraint stays).

Revision ID: 0017_call_events_unkeyed
Revises: 0016_webhook_message_indexes
Create Date: 2026-12-06 23:00:00
"""
from alembic import op

revision = "0017_call_events_unkeyed"
down_revision = "0016_webhook_message_indexes"
branch_labels = None
depends_on = None

FINALS = "('completed', 'busy', 'no-answer', 'failed', 'canceled', 'rejected')"
ANY_ENDPOINT = "EXISTS (SELECT 1 FROM webhook_endpoints)"
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def _key(kind: str, keyed: bool) -> str:
    return f"'{kind}:' || NEW.id" if keyed else "NULL"


def _sqlite_triggers(keyed: bool) -> dict[str, str]:
    insert = "INSERT OR IGNORE" if keyed else "INSERT"

    def action(kind: str) -> str:
        return (f"{insert} INTO webhook_events (type, subject, dedupe_key, created_at) "
                f"VALUES ('{kind}', NEW.id, {_key(kind, keyed)}, COALESCE(NEW.updated_at, {SQLITE_NOW}));")

    answered, completed = action("call.answered"), action("call.completed")
    return {
        "webhook_call_answered_update": (f"AFTER UPDATE ON calls WHEN OLD.answered_at IS NULL AND NEW.answered_at IS NOT NULL "
                                         f"AND {ANY_ENDPOINT} BEGIN {answered} END"),
        "webhook_call_completed_update": (f"AFTER UPDATE ON calls WHEN OLD.status NOT IN {FINALS} AND NEW.status IN {FINALS} "
                                          f"AND {ANY_ENDPOINT} BEGIN {completed} END"),
        "webhook_call_answered_insert": f"AFTER INSERT ON calls WHEN NEW.answered_at IS NOT NULL AND {ANY_ENDPOINT} BEGIN {answered} END",
        "webhook_call_completed_insert": f"AFTER INSERT ON calls WHEN NEW.status IN {FINALS} AND {ANY_ENDPOINT} BEGIN {completed} END",
    }


def _pg_function(keyed: bool) -> str:
    conflict = " ON CONFLICT (dedupe_key) DO NOTHING" if keyed else ""

    def insert(kind: str) -> str:
        return (f"INSERT INTO webhook_events (type, subject, dedupe_key, created_at) "
                f"VALUES ('{kind}', NEW.id, {_key(kind, keyed)}, COALESCE(NEW.updated_at, now())){conflict};")

    return f"""CREATE OR REPLACE FUNCTION webhook_call_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT {ANY_ENDPOINT} THEN RETURN NULL; END IF;
  IF NEW.answered_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.answered_at IS NULL) THEN
    {insert("call.answered")}
  END IF;
  IF NEW.status IN {FINALS} AND (TG_OP = 'INSERT' OR OLD.status NOT IN {FINALS}) THEN
    {insert("call.completed")}
  END IF;
  RETURN NULL;
END
$$"""


def _apply(keyed: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_function(keyed))  # the triggers call it by name: replacing it is enough
        return
    for name, definition in _sqlite_triggers(keyed).items():  # one transaction: no write sees a call without its trigger
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {definition}")


def upgrade() -> None:
    _apply(keyed=False)


def downgrade() -> None:
    _apply(keyed=True)
