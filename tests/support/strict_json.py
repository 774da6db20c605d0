"""Checks that stored payloads and API answers are strict JSON, on either database.

Importable from every test module as `from strict_json import ...` (tests/ is on sys.path).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text


def strict_loads(data: str | bytes) -> Any:
    """json.loads that refuses NaN and Infinity, as strict parsers (and PostgreSQL) do."""

    def refuse(name: str) -> Any:
        raise ValueError(f"bare {name} in JSON")

    return json.loads(data, parse_constant=refuse)


def assert_payloads_are_strict_json(db) -> int:
    """Every call_events.payload passes SQLite's json_valid or casts to PostgreSQL's jsonb; how many rows."""
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            bad = connection.execute(text("SELECT id, payload FROM call_events WHERE NOT json_valid(payload)")).all()
            assert bad == [], bad
        else:
            # The cast fails the whole statement on one payload jsonb refuses.
            connection.execute(text("SELECT payload::jsonb FROM call_events")).all()
        rows = connection.execute(text("SELECT payload FROM call_events")).scalars().all()
    for payload in rows:
        strict_loads(payload)
    return len(rows)
