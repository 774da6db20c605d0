"""Campaign benchmarks: `python -m bench campaigns` runs them alone.

- import: a 100,000-row CSV (time, peak memory; each measurement in a fresh Python process, so its peak RSS
  (VmHWM) is its own). Targets: under 10 s with peak RSS under 100 MB on PostgreSQL.
- upload: 1,000,000-row (32 MB) lists posted to the API of an app served in a process of its own, a customer's
  and one of junk; target: the serving process's peak RSS under 150 MB (bench/campaign_upload.py).
- overhead: the dispatcher's own cost per attempt claimed and per round (bench/campaign_overhead.py).
- pace: 3 real worker processes dialling one campaign at 600 a minute for 2 minutes against the simulator, with
  the budget above the pace and equal to it (bench/campaign_pace.py).

Environment: BENCH_CAMPAIGNS (parts to run, default import,upload,overhead,pace), BENCH_CONTACTS (100000),
BENCH_UPLOAD_ROWS (1000000), BENCH_PACE_SECONDS (120), BENCH_DATABASES (sqlite,postgresql), BENCH_DATABASE_URL
(else TEST_DATABASE_URL, else the local server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .common import postgres_base

CONTACTS = int(os.environ.get("BENCH_CONTACTS", "100000"))
SECRET_KEY = "bench-secret-key-0123456789abcdef"
IMPORT_TARGET_S, RSS_TARGET_MB = 10.0, 100.0

# Runs in the child process: migrate, import the CSV through the app's own code, report.
CHILD = r"""
import json, sys, time
from datetime import datetime, timezone
from alembic import command
from webapp import create_app
from webapp.cli import alembic_config
from webapp.db import get_db
from webapp.campaigns import store
from webapp.campaigns.contacts import csv_rows
from webapp.campaigns.spec import parse_campaign

url, csv_path, secret_key = sys.argv[1:4]
app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret_key, "TESTING": True})
with app.app_context():
    command.upgrade(alembic_config(), "head")
    db = get_db()
    spec = parse_campaign({"name": "bench", "app_id": "1", "caller_id": "08047112345", "calls_per_minute": 200},
                          account_sid="bench", default_caller_id=None, budget=200)
    now = datetime(2026, 12, 1, 5, 0, tzinfo=timezone.utc)  # 10:30 in India: inside the default window
    started = time.perf_counter()
    with open(csv_path, "rb") as stream:
        created = store.create_campaign(db, spec, csv_rows(stream), created_by="bench", now=now)
    import_s = time.perf_counter() - started
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(json.dumps({"imported": created.imported, "not_imported": created.not_imported_total, "import_s": import_s,
                  "peak_rss_mb": hwm / 1024}))
"""


def _write_csv(path: Path, count: int) -> None:
    """A list like a customer's: a BOM, semicolons, 1 % bad rows and 1 % repeats."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        handle.write("number;custom_field\r\n")
        for i in range(count):
            if i % 100 == 7:
                handle.write(f"not-a-number-{i};x\r\n")
            elif i % 100 == 8:
                handle.write(f"+9198{i - 1:08d};repeat\r\n")
            else:
                handle.write(f"+9198{i:08d};\"order {i}; due\"\r\n")


def _measure(url: str, csv_path: Path) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", CHILD, url, str(csv_path), SECRET_KEY], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _import_report(results: dict[str, dict[str, float]]) -> int:
    print(f"import of {CONTACTS:,} CSV rows (target: < {IMPORT_TARGET_S:g} s, peak RSS < {RSS_TARGET_MB:g} MB on PostgreSQL)")
    print(f"{'database':<12}{'imported':>10}{'refused':>9}{'seconds':>9}{'peak MB':>9}")
    status = 0
    for name, r in results.items():
        print(f"{name:<12}{r['imported']:>10,.0f}{r['not_imported']:>9,.0f}{r['import_s']:>9.2f}{r['peak_rss_mb']:>9.1f}")
        if name == "postgresql" and (r["import_s"] > IMPORT_TARGET_S or r["peak_rss_mb"] > RSS_TARGET_MB):
            status = 1
    return status


@contextmanager
def _databases(kinds: list[str], tmp: Path) -> Iterator[list[tuple[str, Callable[[], str]]]]:
    """(kind, a function giving a new empty migrated database's URL) for each kind asked and reachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.support.databases import migrate

    made: list[str] = []
    base = postgres_base() if "postgresql" in kinds else None
    admin = create_engine(base, isolation_level="AUTOCOMMIT") if base else None

    def sqlite() -> str:
        url = f"sqlite:///{tmp / f'bench-{len(made)}.db'}"
        made.append(url)
        migrate(url)
        return url

    def postgresql() -> str:
        assert admin is not None and base is not None
        name = f"bench_campaigns_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        migrate(url)
        return url

    chosen = [("sqlite", sqlite)] if "sqlite" in kinds else []
    chosen += [("postgresql", postgresql)] if admin is not None else []
    try:
        yield chosen
    finally:
        if admin is not None:
            with admin.connect() as connection:
                for name in made:
                    if not name.startswith("sqlite:"):
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> int:
    from .campaign_overhead import measure, report
    from .campaign_pace import load_note, main_pace
    from .campaign_upload import main_upload

    parts = os.environ.get("BENCH_CAMPAIGNS", "import,upload,overhead,pace").split(",")
    kinds = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    status = 0
    with tempfile.TemporaryDirectory() as folder, _databases(kinds, Path(folder)) as databases:
        tmp = Path(folder)
        if "import" in parts:
            csv_path = tmp / "contacts.csv"
            _write_csv(csv_path, CONTACTS)
            # The child migrates its own database: a fresh one of each kind.
            status |= _import_report({kind: _measure(url_for(), csv_path) for kind, url_for in databases})
        if "upload" in parts:
            status |= main_upload(databases, tmp)
        if "overhead" in parts:
            load = load_note()
            status |= report({kind: measure(url_for()) for kind, url_for in databases}, load)
        if "pace" in parts:
            status |= main_pace(databases)
    return status
