"""The report cache: `report_sql`'s sums kept per hour in `report_hours`, refreshed before every report.

Reading a 30-day range of a million calls straight from `call_report` costs
seconds, so the sums are kept in `report_hours`: the hours holding calls
changed (`calls.updated_at`) since the last refresh, less a safety overlap for
transactions that committed late, are recomputed by the same statement. A page
then adds up at most 24 rows a day per ExoPhone and flow. Calls are never
deleted; whoever writes calls behind the app's back (a bulk import) empties
`report_refresh` to have the cache rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection

from ..db import WRITE, Base, UTCDateTime, utcnow
from .sql import BUCKET_COLUMNS, HOUR_START, SUMMED, report_sql

# Calls whose row changed this long before the last refresh are looked at again: a
# transaction that stamped updated_at then may have committed after that refresh read.
REFRESH_OVERLAP = timedelta(minutes=5)
# More changed hours than this and the whole cache is rebuilt in one statement.
MAX_PATCHED_HOURS = 200



report_hours = Table(
    "report_hours",
    Base.metadata,
    Column("hour_start", UTCDateTime, nullable=False),
    Column("caller_id", String(32), nullable=False),
    Column("flow_url", Text, nullable=False),
    *[Column(name, Float if name == "ring_seconds" else Integer, nullable=False) for name in SUMMED + BUCKET_COLUMNS],
    PrimaryKeyConstraint("hour_start", "caller_id", "flow_url"),
)
report_refresh = Table(
    "report_refresh",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("refreshed_at", UTCDateTime, nullable=False),
)


def _fill(connection: Connection, since: datetime | None, until: datetime | None) -> None:
    """Recompute the cache's hours in [since, until) (everything when None) from call_report."""
    hours = report_hours.c.hour_start
    if since is None:
        connection.execute(delete(report_hours))
        since, until = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
    else:
        connection.execute(delete(report_hours).where(hours >= since, hours < until))
    names = ("hour_start", "caller_id", "flow_url", *SUMMED, *BUCKET_COLUMNS)
    source = text(report_sql(connection.dialect.name)).bindparams(
        bindparam("since", since, type_=UTCDateTime), bindparam("until", until, type_=UTCDateTime)
    ).columns(*[report_hours.c[name] for name in names])
    connection.execute(insert(report_hours).from_select(names, source))


def _runs(hours: Sequence[datetime]) -> Iterator[tuple[datetime, datetime]]:
    """Sorted hour starts as [start, end) ranges of consecutive hours."""
    run: tuple[datetime, datetime] | None = None
    for hour in sorted(hours):
        if run is not None and hour == run[1]:
            run = (run[0], hour + timedelta(hours=1))
            continue
        if run is not None:
            yield run
        run = (hour, hour + timedelta(hours=1))
    if run is not None:
        yield run


def refresh(engine: Engine) -> None:
    """Bring report_hours up to date with the calls, in one write transaction."""
    dialect = engine.dialect.name
    with engine.connect() as connection:
        connection.execution_options(**WRITE)
        with connection.begin():
            if dialect == "postgresql":  # one refresher at a time; SQLite's BEGIN IMMEDIATE does the same
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('report_hours'))"))
            started = utcnow()
            last = connection.execute(select(report_refresh.c.refreshed_at).where(report_refresh.c.id == 1)).scalar()
            if last is None:
                _fill(connection, None, None)
            else:
                changed = text(
                    f"SELECT DISTINCT {HOUR_START[dialect]} AS hour_start FROM calls WHERE updated_at > :since"
                ).bindparams(bindparam("since", last - REFRESH_OVERLAP, type_=UTCDateTime))
                hours: Sequence[datetime] = connection.execute(changed.columns(report_hours.c.hour_start)).scalars().all()
                if len(hours) > MAX_PATCHED_HOURS:
                    _fill(connection, None, None)
                else:
                    for since, until in _runs(hours):
                        _fill(connection, since, until)
            connection.execute(delete(report_refresh))
            connection.execute(insert(report_refresh).values(id=1, refreshed_at=started))
