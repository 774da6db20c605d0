"""Uploading a 1,000,000-row (32 MB) contact list through `POST /api/campaigns`: peak memory of the serving process.

The app is served in a process of its own (werkzeug, one request at a time), so its peak RSS (VmHWM) is the
importing process's own: the multipart parsing, the import, the answer. Two lists of 1,000,000 rows each:
- a customer's list (a BOM, semicolons, 1 % bad rows, 1 % repeats);
- junk: one callable row and 999,999 that are not, the list that once answered a 164 MB body from a 1.56 GB worker.
Target: peak RSS under 150 MB for both, whatever the database; the answer stays small (under 1 MB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROWS = int(os.environ.get("BENCH_UPLOAD_ROWS", "1000000"))
RSS_TARGET_MB, BODY_TARGET = 150.0, 1024 * 1024
SECRET_KEY = "bench-secret-key-0123456789abcdef"

# Runs in the child process: serve the app for exactly one request, then report its own peak RSS.
CHILD = r"""
import json, sys
from werkzeug.serving import make_server
from webapp import create_app
from webapp.accounts import create_token
from webapp.db import get_db

def hwm_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024

url, secret_key = sys.argv[1:3]
app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret_key, "TESTING": True})
with app.app_context():
    token = create_token(get_db(), "bench")
server = make_server("127.0.0.1", 0, app)
before = hwm_mb()
print(json.dumps({"port": server.server_port, "token": token}), flush=True)
server.handle_request()
print(json.dumps({"before_mb": before, "peak_rss_mb": hwm_mb()}), flush=True)
"""


def write_customer_list(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        handle.write("number;custom_field\r\n")
        for i in range(count):
            if i % 100 == 7:
                handle.write(f"not-a-number-{i};x\r\n")
            elif i % 100 == 8:
                handle.write(f"+9198{i - 1:08d};repeat\r\n")
            else:
                handle.write(f"+9198{i:08d};\"ord {i}; due\"\r\n")


def write_junk_list(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("number,custom_field\r\n+919800000001,the only good row\r\n")
        for i in range(1, count):
            handle.write(f"junk-{i:07d},=cmd|'/c calc'!A{i % 10}\r\n")


def _upload(url: str, csv_path: Path) -> dict[str, float]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, SECRET_KEY], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        ready = json.loads(child.stdout.readline())
        started = time.perf_counter()
        with csv_path.open("rb") as handle:
            response = requests.post(
                f"http://127.0.0.1:{ready['port']}/api/campaigns", headers={"Authorization": f"Bearer {ready['token']}"},
                data={"name": "bench", "app_id": "1", "caller_id": "08047112345", "calls_per_minute": "200"},
                files={"file": ("list.csv", handle, "text/csv")}, timeout=1800,
            )
        seconds = time.perf_counter() - started
        measured = json.loads(child.stdout.readline())
    finally:
        child.wait(timeout=60)
    summary = response.json().get("import", {}) if response.status_code == 201 else {}
    return {"status": response.status_code, "body_bytes": len(response.content), "seconds": seconds,
            "imported": summary.get("imported", 0), "not_imported": summary.get("not_imported", 0), **measured}


def main_upload(databases: list[tuple[str, Callable[[], str]]], tmp: Path) -> int:
    lists = {"customer": write_customer_list, "junk": write_junk_list}
    paths = {}
    for name, write in lists.items():
        paths[name] = tmp / f"upload-{name}.csv"
        write(paths[name], ROWS)
    sizes = ", ".join(f"{name} {path.stat().st_size / 1e6:.1f} MB" for name, path in paths.items())
    print(f"upload of {ROWS:,}-row lists ({sizes}) to POST /api/campaigns "
          f"(target: peak RSS of the serving process < {RSS_TARGET_MB:g} MB, answer < 1 MB)")
    print(f"{'database':<12}{'list':<10}{'status':>7}{'answer KB':>10}{'imported':>10}{'refused':>10}{'seconds':>9}"
          f"{'RSS before':>11}{'peak MB':>9}")
    status = 0
    for kind, url_for in databases:
        for name, path in paths.items():
            r = _upload(url_for(), path)
            print(f"{kind:<12}{name:<10}{r['status']:>7.0f}{r['body_bytes'] / 1024:>10.1f}{r['imported']:>10,.0f}"
                  f"{r['not_imported']:>10,.0f}{r['seconds']:>9.1f}{r['before_mb']:>11.1f}{r['peak_rss_mb']:>9.1f}",
                  flush=True)
            if r["peak_rss_mb"] > RSS_TARGET_MB or r["body_bytes"] > BODY_TARGET or r["status"] not in (201, 422):
                status = 1
    return status
