"""Campaign benchmark: importing a 100,000-row CSV (time, peak memory) and the dispatcher's cost per attempt.

Each measurement runs in a fresh Python process, so its peak RSS (VmHWM) is its
own. Targets: the import under 10 s with peak RSS under 100 MB on PostgreSQL.
Environment: BENCH_CONTACTS (100000), BENCH_DATABASE_URL (else TEST_DATABASE_URL,
else the local server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from .common import postgres_base

CONTACTS = int(os.environ.get("BENCH_CONTACTS", "100000"))
SECRET_KEY = "bench-secret-key-0123456789abcdef"
IMPORT_TARGET_S, RSS_TARGET_MB = 10.0, 100.0

# Runs in the child process: migrate, import the CSV through the app's own code, report.
CHILD = r"""
import json, sys, time
from datetime import datetime, timedelta, timezone
from alembic import command
from webapp import create_app
from webapp.cli import alembic_config
from webapp.db import get_db
from webapp.campaigns import store
from webapp.campaigns.contacts import csv_rows
from webapp.campaigns.dispatch import dispatch
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
    claimed, spent = 0, 0.0
    for tick in range(300):  # 300 rounds, 1 s apart on the campaign's clock: about 1,000 attempts claimed
        started = time.perf_counter()
        claimed += len(dispatch(db, now + timedelta(seconds=tick)))
        spent += time.perf_counter() - started
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(json.dumps({"imported": created.imported, "not_imported": len(created.not_imported), "import_s": import_s,
                  "peak_rss_mb": hwm / 1024, "claimed": claimed, "dispatch_us_per_attempt": spent / max(claimed, 1) * 1e6}))
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


def main() -> int:
    from sqlalchemy import create_engine, text

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        _write_csv(csv_path, CONTACTS)
        results["sqlite"] = _measure(f"sqlite:///{Path(tmp) / 'bench.db'}", csv_path)
        base = postgres_base()
        if base is not None:
            name = f"bench_campaigns_{uuid.uuid4().hex[:8]}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                from sqlalchemy.engine import make_url

                results["postgresql"] = _measure(make_url(base).set(database=name).render_as_string(hide_password=False), csv_path)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print(f"import of {CONTACTS:,} CSV rows (target: < {IMPORT_TARGET_S:g} s, peak RSS < {RSS_TARGET_MB:g} MB on PostgreSQL)")
    print(f"{'database':<12}{'imported':>10}{'refused':>9}{'seconds':>9}{'peak MB':>9}{'dispatch µs/attempt':>21}")
    status = 0
    for name, r in results.items():
        print(f"{name:<12}{r['imported']:>10,.0f}{r['not_imported']:>9,.0f}{r['import_s']:>9.2f}{r['peak_rss_mb']:>9.1f}"
              f"{r['dispatch_us_per_attempt']:>21.0f}")
        if name == "postgresql" and (r["import_s"] > IMPORT_TARGET_S or r["peak_rss_mb"] > RSS_TARGET_MB):
            status = 1
    return status
