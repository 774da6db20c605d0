"""Every SQL example in the README's "Query it with SQL", run on known data with exact results."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from known_data import F1, F2, A, B, call_id

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r"<!-- example: ([\w-]+)(?: (sqlite|postgresql))? -->\s*```sql\n(.*?)```", re.S)

EXPECTED = {
    "answer-rate-per-day": [
        ("2024-05-01", 4, 2, 0.5), ("2024-05-02", 5, 2, 0.4), ("2024-05-04", 0, 0, None), ("2024-05-05", 1, 1, 1.0),
    ],
    "outcomes-per-exophone": [(A, 10, 4, 3, 1, 0, 2, 4), (B, 4, 1, 1, 0, 1, 2, 0)],
    "outcomes-per-flow": [
        (F1, "completed", 2), (F1, "rejected", 2), (F1, "unknown", 2), (F1, "busy", 1), (F1, "canceled", 1),
        (F1, "in-progress", 1), (F1, "no-answer", 1), (F1, "pending", 1),
        (F2, "completed", 2), (F2, "failed", 1),
    ],
    "median-ring-time": [(8.123,)],
    "median-ring-time-postgresql": [(8.123,)],
    "unsettled": [("in-progress", 1, 0), ("pending", 1, 1), ("unknown", 2, 1)],
    "settled-by-reconciliation": [(call_id(7), "completed")],
    "busiest-hours": [(8, 4, 1), (9, 2, 2), (10, 2, 0)],
}


def examples() -> list[tuple[str, str | None, str]]:
    section = README.read_text().split("## Query it with SQL", 1)[1].split("\n## ", 1)[0]
    return EXAMPLE.findall(section)


def _plain(value):
    """Values as both databases' drivers should agree on them."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def test_the_readme_has_the_examples_the_issue_asks_for():
    names = {name for name, _dialect, _sql in examples()}
    assert names == set(EXPECTED)
    assert len({name for name in names if not name.endswith("-postgresql")}) >= 6


def cases():
    """Each example on each database it is written for (both, unless it names one)."""
    for name, dialect, sql in examples():
        for database in (dialect,) if dialect else ("sqlite", "postgresql"):
            yield pytest.param(database, name, sql, id=f"{name}-{database}")


@pytest.mark.parametrize("database_url, name, sql", list(cases()), indirect=["database_url"])
def test_readme_example(known, name, sql):
    assert known.dialect in ("sqlite", "postgresql")
    with known.engine.connect() as connection:
        cursor = connection.connection.cursor()  # the bare driver, as sqlite3 or psql would send it
        cursor.execute(sql)
        rows = [tuple(_plain(value) for value in row) for row in cursor.fetchall()]
        cursor.close()
    expected = EXPECTED[name]
    assert rows == [tuple(pytest.approx(v) if isinstance(v, float) else v for v in row) for row in expected]
