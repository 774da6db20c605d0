"""What the benchmarks share: the PostgreSQL server they create scratch databases on."""

from __future__ import annotations

import os
import sys


def postgres_base() -> str | None:
    """BENCH_DATABASE_URL (else TEST_DATABASE_URL, else the local server) if it answers; None otherwise."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or \
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    url = make_url(url).set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        print(f"PostgreSQL unreachable ({type(exc).__name__}): skipped", file=sys.stderr)
        return None
    return url.render_as_string(hide_password=False)
