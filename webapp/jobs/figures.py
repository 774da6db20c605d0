"""The database's figures on /metrics, read at scrape time: what the alerting rules need and no process counts.

A collector rather than gauges set by some process: the figures hold across
every process and host (heartbeats, calls, campaigns live in the shared
database), so they are right in prometheus_client's multiprocess mode and with
one web process alike. Each scrape reads them in one short read-only
transaction whose statements stop after QUERY_SECONDS; when that fails the
figures are left out and `database_figures_up` says 0.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

from flask import Flask
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..calls.figures import call_figures
from ..campaigns.queries import paused_by_system
from ..config import get_settings
from ..db.brief import brief_read
from .tables import WorkerHeartbeat

log = logging.getLogger(__name__)

# A scrape times out after 10 s by default (Prometheus' scrape_timeout): the figures must come well before.
QUERY_SECONDS = 2.0


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class DatabaseFigures(Collector):
    """A prometheus_client collector over the app's database (register it with metrics.add_collector)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self) -> Iterator[Metric]:
        settings = get_settings(self.app)
        yield _gauge("reconcile_interval_seconds", "How often the worker reconciles calls (RECONCILE_EVERY_MINUTES); 0: off.",
                     settings.reconcile_every_minutes * 60)
        now = settings.now()
        try:
            with brief_read(self.app.extensions["database"], QUERY_SECONDS) as session:
                newest = session.scalar(select(func.max(WorkerHeartbeat.last_seen)))
                calls = call_figures(session, now)
                paused = paused_by_system(session)
        except SQLAlchemyError as exc:
            log.warning("metrics: the database's figures are missing from this scrape: %s", type(exc).__name__)
            yield _gauge("database_figures_up", "1 when this scrape read the database's figures, 0 when it could not.", 0)
            return
        yield _gauge("database_figures_up", "1 when this scrape read the database's figures, 0 when it could not.", 1)
        # +Inf when no worker has a heartbeat row (none ever ran, or every one stopped cleanly).
        age = max(0.0, (now - newest).total_seconds()) if newest is not None else math.inf
        yield _gauge("worker_heartbeat_age_seconds", "Seconds since the newest heartbeat of any worker; +Inf when none.", age)
        yield _gauge("calls_unsettled", "Calls without a final status more than an hour after they were created.",
                     calls.unsettled)
        yield _gauge("calls_without_callback",
                     "Calls Exotel accepted 3 to 60 minutes ago that no StatusCallback has reached.", calls.without_callback)
        yield _gauge("calls_placed_last_hour", "Calls created in the last hour that Exotel accepted.", calls.placed_last_hour)
        yield _gauge("calls_answered_last_hour", "Of those, the calls answered.", calls.answered_last_hour)
        yield _gauge("campaigns_paused_by_system", "Campaigns the product paused itself because Exotel refused the account.",
                     paused)
