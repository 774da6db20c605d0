"""The report cache: `report_sql`'s sums kept per UTC quarter hour in `report_quarters`, refreshed before every report.

Reading a 30-day range of a million calls straight from `call_report` costs
seconds, so the sums are kept in `report_quarters`: the UTC hours holding calls
changed (`calls.updated_at`) since the last refresh, less a safety overlap for
transactions that committed late, are recomputed by the same statement, four
quarters at a time, and `report_quarter_totals` holds the same sums over every
ExoPhone and flow (an unfiltered report reads 96 rows a day). Quarters, not
hours, let a report count any zone's days and hours: India's UTC+05:30 and
Nepal's +05:45 start their hours on a UTC quarter. Calls are never
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
    column,
    delete,
    func,
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
# Indexes that only a migration can spell (an expression, PostgreSQL's INCLUDE): the models
# leave them out, so comparing the models with the database passes over them.
MIGRATION_ONLY_INDEXES = frozenset({"ix_calls_utc_day", "ix_calls_from_number_reversed"})
# More changed hours than this and the whole cache is rebuilt in one statement.
MAX_PATCHED_HOURS = 200


report_quarters = Table(
    "report_quarters",
    Base.metadata,
    Column("quarter_start", UTCDateTime, nullable=False),
    Column("caller_id", String(32), nullable=False),
    Column("flow_url", Text, nullable=False),
    *[Column(name, Float if name == "ring_seconds" else Integer, nullable=False) for name in SUMMED + BUCKET_COLUMNS],
    PrimaryKeyConstraint("quarter_start", "caller_id", "flow_url"),
)
# The same sums over every ExoPhone and flow: what a report without those filters reads.
report_quarter_totals = Table(
    "report_quarter_totals",
    Base.metadata,
    Column("quarter_start", UTCDateTime, nullable=False),
    *[Column(name, Float if name == "ring_seconds" else Integer, nullable=False) for name in SUMMED + BUCKET_COLUMNS],
    PrimaryKeyConstraint("quarter_start"),
)
report_refresh = Table(
    "report_refresh",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("refreshed_at", UTCDateTime, nullable=False),
)


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter for autogenerate: everything but MIGRATION_ONLY_INDEXES."""
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


def _fill(connection: Connection, since: datetime | None, until: datetime | None) -> None:
    """Recompute the cache's quarters in [since, until) (everything when None) from call_report."""
    quarters = report_quarters.c.quarter_start
    totals = report_quarter_totals.c.quarter_start
    if since is None:
        connection.execute(delete(report_quarters))
        connection.execute(delete(report_quarter_totals))
        since, until = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
    else:
        connection.execute(delete(report_quarters).where(quarters >= since, quarters < until))
        connection.execute(delete(report_quarter_totals).where(totals >= since, totals < until))
    names = ("quarter_start", "caller_id", "flow_url", *SUMMED, *BUCKET_COLUMNS)
    source = text(report_sql(connection.dialect.name)).bindparams(
        bindparam("since", since, type_=UTCDateTime), bindparam("until", until, type_=UTCDateTime)
    ).columns(*[report_quarters.c[name] for name in names])
    connection.execute(insert(report_quarters).from_select(names, source))
    summed = (*SUMMED, *BUCKET_COLUMNS)
    connection.execute(insert(report_quarter_totals).from_select(
        ("quarter_start", *summed),
        select(quarters, *[func.sum(report_quarters.c[name]) for name in summed])
        .where(quarters >= since, quarters < until).group_by(quarters),
    ))


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
    """Bring report_quarters up to date with the calls, in one write transaction."""
    dialect = engine.dialect.name
    with engine.connect() as connection:
        connection.execution_options(**WRITE)
        with connection.begin():
            if dialect == "postgresql":  # one refresher at a time; SQLite's BEGIN IMMEDIATE does the same
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('report_quarters'))"))
            started = utcnow()
            last = connection.execute(select(report_refresh.c.refreshed_at).where(report_refresh.c.id == 1)).scalar()
            if last is None:
                _fill(connection, None, None)
            else:
                changed = text(
                    f"SELECT DISTINCT {HOUR_START[dialect]} AS hour_start FROM calls WHERE updated_at > :since"
                ).bindparams(bindparam("since", last - REFRESH_OVERLAP, type_=UTCDateTime))
                hours: Sequence[datetime] = connection.execute(
                    changed.columns(column("hour_start", UTCDateTime))
                ).scalars().all()
                if len(hours) > MAX_PATCHED_HOURS:
                    _fill(connection, None, None)
                else:
                    for since, until in _runs(hours):
                        _fill(connection, since, until)
            connection.execute(delete(report_refresh))
            connection.execute(insert(report_refresh).values(id=1, refreshed_at=started))
