"""Early checks in the worker: each minute, ask Exotel about calls past their expected end (calls.early_checks).

Every worker with periodic tasks runs it; the calls' own claims keep two workers
from asking about one call in the same minute, so no lock is needed.
"""

from __future__ import annotations

import logging

from flask import Flask

from ..calls.early_checks import run_early_checks
from ..calls.reconcile import ReconcileReport
from ..config import get_settings
from ..db import get_db
from ..exotel_access import exotel_client

log = logging.getLogger(__name__)


def run_checks(app: Flask) -> ReconcileReport:
    """One run of the early checks inside the app; what it asked and learned."""
    with app.app_context():
        settings = get_settings(app)
        report = run_early_checks(get_db(), exotel_client(app), tz=settings.tz, now=settings.now())
    if report.asked or report.error or report.incomplete:
        log.info("early checks: asked about %d call(s), %d settled, %d not listed", report.asked, len(report.settled),
                 len(report.not_listed),
                 extra={"event": "early_checks", "asked": report.asked, "settled": len(report.settled),
                        "not_listed": len(report.not_listed), "incomplete": report.incomplete, "error": report.error})
    return report
