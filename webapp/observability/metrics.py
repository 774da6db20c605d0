"""Prometheus metrics: calls placed, callbacks handled, callback latency; served at /metrics.

With several gunicorn workers set PROMETHEUS_MULTIPROC_DIR (an empty directory,
wiped before start): prometheus_client then keeps each worker's values in files
there and /metrics sums them, whichever worker answers the scrape.

/metrics is not public: with METRICS_TOKEN set it wants `Authorization: Bearer
<METRICS_TOKEN>`; without it, it answers only clients on loopback that came
directly (no proxy headers), so a TLS proxy on the same host does not expose it.
Anyone else gets 404.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Iterator

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from ..config import get_settings

CALLS_PLACED = Counter("exotel_calls_placed_total", "Calls placed through Exotel, by outcome.", ["outcome"])
CALLBACKS = Counter("exotel_callbacks_total", "StatusCallbacks received, by result.", ["result"])
CALLBACK_SECONDS = Histogram(
    "exotel_callback_handling_seconds",
    "Time to handle one StatusCallback, from routing to the answer (commit included).",
    buckets=(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# The background worker (webapp/jobs); with PROMETHEUS_MULTIPROC_DIR shared by web and worker on a host,
# /metrics sums them too.
WORKER_TASKS = Counter("worker_tasks_total", "Background tasks finished, by task and outcome (run, failed).", ["task", "outcome"])
QUEUE_DEPTH = Gauge("worker_queue_depth", "Tasks waiting in the queue, as a worker last saw it.", multiprocess_mode="max")
BUDGET_WAITS = Counter("exotel_budget_waits_total", "Times a request waited for a slot of the Exotel budget.", ["priority"])
BUDGET_REFUSED = Counter("exotel_budget_refused_total", "Requests not sent: the Exotel budget was spent.", ["priority"])
RECONCILE_LAST_RUN = Gauge("reconcile_last_run_timestamp_seconds", "When the last reconciliation run finished (Unix time).",
                           multiprocess_mode="max")
RECONCILE_SETTLED = Counter("reconcile_calls_settled_total", "Calls reconciliation brought to a final status.")

# What Exotel answered, counted where the client gets the answer (webapp/exotel_access/responses.py).
EXOTEL_RESPONSES = Counter("exotel_api_responses_total", "Answers from Exotel's API, by HTTP status.", ["status"])
ACCOUNT_REFUSALS = Counter("exotel_account_refusals_total",
                           "Exotel's refusals of the account itself (401, 402, a 403 other than a number on DND), by status.",
                           ["status"])
# Outbound webhook endpoints failing, set by webapp/webhooks. In multiprocess mode the largest value a live
# process last set: each process that sets it must keep it current (recount on a schedule, not only on failure).
# Not "mostrecent": that mode leaves a gauge out of /metrics until some process sets it.
WEBHOOK_ENDPOINTS_FAILING = Gauge("webhook_endpoints_failing", "Outbound webhook endpoints whose deliveries are failing.",
                                  multiprocess_mode="livemax")

# Series the alerting rules read with increase()/rate() exist at 0 from the start: a series born at 1
# would hide its first increment from them (deploy/prometheus/alerts.yml).
for _status in ("401", "402", "403"):
    ACCOUNT_REFUSALS.labels(_status)
for _priority in ("interactive", "bulk"):
    BUDGET_WAITS.labels(_priority)
    BUDGET_REFUSED.labels(_priority)

PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")

bp = Blueprint("metrics", __name__)


def _allowed() -> bool:
    token = get_settings().metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def metrics():
    """The Prometheus text exposition, summed over workers in multiprocess mode."""
    if not _allowed():
        return Response("Not Found\n", status=404, mimetype="text/plain")
    if get_settings().prometheus_multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    collectors = current_app.extensions.get("metrics_collectors")
    if collectors:
        # Read by the process that answers, at the scrape: in either mode, never summed over processes.
        body += generate_latest(_Scrape(collectors))
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


class _Scrape(Collector):
    """The app's own collectors, as one collector for generate_latest (which only calls collect())."""

    def __init__(self, collectors: Iterable[Collector]):
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def add_collector(app: Flask, collector: Collector) -> None:
    """A collector read at each scrape of this app's /metrics (the wiring adds the database's figures)."""
    app.extensions.setdefault("metrics_collectors", []).append(collector)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


# Alerts (webapp/alerts): set from the alerts table by whichever process evaluated last.
ALERTS_FIRING = Gauge("alerts_firing", "1 while the product's alert of this rule fires, else 0.", ["rule"],
                      multiprocess_mode="mostrecent")

# Outbound webhooks (webapp/webhooks): attempts by outcome, the worker's view of the backlog (failing endpoints: above).
WEBHOOK_DELIVERIES = Counter("webhook_deliveries_total", "Outbound webhook attempts, by outcome (delivered, failed).", ["outcome"])
WEBHOOK_BACKLOG = Gauge("webhook_backlog", "Webhook messages not yet delivered nor given up, as a worker last saw it.",
                        multiprocess_mode="max")
WEBHOOK_OLDEST_UNDELIVERED = Gauge("webhook_oldest_undelivered_seconds", "Age of the oldest undelivered webhook message.",
                                   multiprocess_mode="max")
