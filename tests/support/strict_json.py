"""Strict JSON, as parsers in other languages and PostgreSQL's jsonb demand it (I-JSON, RFC 7493).

Python's json module accepts NaN, Infinity and lone surrogate escapes ("\\ud800");
many clients refuse them. `strict_loads`/`strict_json` read the API's answers that
way; `assert_payloads_are_strict_json` checks every stored callback payload.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def strict_loads(data: str | bytes) -> Any:
    """Parse `data`, refusing NaN/Infinity and any string holding a lone surrogate."""
    value = json.loads(data, parse_constant=_refuse_constant)
    _check_strings(value)
    return value


def strict_json(response) -> Any:
    """A Flask test response's body, parsed strictly; it must say it is JSON."""
    assert response.mimetype == "application/json", (response.status_code, response.mimetype)
    return strict_loads(response.get_data())


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
