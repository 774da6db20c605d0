"""Indexes for finding calls: by the last digits of their number, and by who placed them.

The calls list matches a partial number as a suffix of the stored E.164
number. `from_number LIKE '%43212'` can use no ordinary index: over 1,000,000
calls the list page took 0.48 s on PostgreSQL (a sequential scan, EXPLAIN
ANALYZE) and 4 s on SQLite (its newest-first plan read every row). Matching
the prefix of `reverse(from_number)` instead lets PostgreSQL answer from an
index on that expression (0.4 ms; webapp/calls/number_search.py). SQLite gets
none: its reflection cannot read an expression index; there the query reads
the narrow index on `from_number`, then only the rows it names.

The list, filtered by who placed the calls, is ordered by (created_at, id).
With `id` in the index on (created_by, created_at) the database reads the
page's rows straight from it, newest first; without it SQLite preferred to walk
every call in date order when its statistics found the placer common (over
1,000,000 calls: 4 to 12 s, now under 1 ms).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:00:00
"""
from alembic import op

from webapp.db import migrating

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# text_pattern_ops: LIKE 'prefix%' uses the index whatever the database's collation.
NUMBER_ENDING_INDEX = "ON calls (reverse(from_number) text_pattern_ops)"


# On PostgreSQL each index is built and dropped CONCURRENTLY (webapp/db/migrating.py): callbacks
# keep writing to calls meanwhile. The new index is built before the one it replaces goes.
def upgrade() -> None:
    migrating.create_index("ix_calls_created_by_created_at_id", "calls", ["created_by", "created_at", "id"])
    migrating.drop_index("ix_calls_created_by_created_at", "calls")
    if op.get_bind().dialect.name == "postgresql":
        migrating.build_index("ix_calls_from_number_reversed", NUMBER_ENDING_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        migrating.drop_index("ix_calls_from_number_reversed", "calls")
    migrating.create_index("ix_calls_created_by_created_at", "calls", ["created_by", "created_at"])
    migrating.drop_index("ix_calls_created_by_created_at_id", "calls")
