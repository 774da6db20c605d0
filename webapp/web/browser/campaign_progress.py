"""What the progress page shows of a campaign: counts, pace, why it is idle, outcomes over time, contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, request, url_for
from markupsafe import Markup

from ...campaigns import queries, store
from ...campaigns.dispatch import window_of
from ...campaigns.models import CONTACT_STATES, IN_FLIGHT, Campaign
from ...db import utcnow
from ...reporting import charts
from .campaign_forms import ControlForm
from .display import localtime, viewer_zone_name

PAGE_SIZE = 50
CAMPAIGN_LABELS = {"scheduled": "Scheduled", "running": "Running", "paused": "Paused", "completed": "Completed",
                   "canceled": "Canceled", "not started": "Not started"}
CAMPAIGN_TONES = {"scheduled": "muted", "running": "live", "paused": "warn", "completed": "good", "canceled": "muted",
                  "not started": "warn"}
STATE_LABELS = {"waiting": "Waiting", "dialing": "Dialing", "answered": "On the call", "completed": "Completed",
                "exhausted": "Exhausted", "suppressed": "Suppressed", "canceled": "Canceled"}
STATE_TONES = {"waiting": "muted", "dialing": "live", "answered": "live", "completed": "good", "exhausted": "warn",
               "suppressed": "muted", "canceled": "muted"}
OUTCOME_COLORS = {"completed": "green", "busy": "vermillion", "no-answer": "orange", "failed": "purple",
                  "refused": "black", "in progress": "sky"}


def campaign_status(campaign: Campaign) -> str:
    """The status shown: "not started" for a campaign created in the browser awaiting its Start."""
    if campaign.status == "paused" and campaign.status_reason == "not started":
        return "not started"
    return campaign.status


def outcomes_chart(session: Any, campaign: Campaign) -> tuple[Markup | None, list[dict[str, Any]]]:
    """Attempts over time by outcome, as an SVG chart and as the table of its numbers."""
    data = queries.outcomes_over_time(session, campaign.id)
    if not data.starts:
        return None, []
    minutes = int(data.bucket.total_seconds() // 60)
    fmt = "%d %b" if minutes >= 1440 else ("%d %b %H:%M" if data.starts[-1] - data.starts[0] > data.bucket * 24 else "%H:%M")
    labels = [localtime(start, fmt).rsplit(" ", 1)[0] for start in data.starts]
    series = [charts.Series(kind, data.counts[kind], charts.PALETTE[OUTCOME_COLORS[kind]])
              for kind in queries.OUTCOME_KINDS if any(data.counts[kind])]
    stretch = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"
    chart = charts.bar_chart(
        "chart-campaign-outcomes", "Attempts over time, by outcome", labels, series, y_label="attempts",
        x_label=f"time placed ({viewer_zone_name()}), every {stretch}",
        description=f"Attempts placed in each {stretch}, stacked by how they ended; in progress: not ended yet.",
    )
    table = [{"label": label, **{kind: data.counts[kind][i] for kind in queries.OUTCOME_KINDS}}
             for i, label in enumerate(labels)]
    return chart, table


def why_idle(campaign: Campaign, now: datetime) -> str | None:
    """Why no call is being placed now, when none is."""
    status = campaign_status(campaign)
    if status == "not started":
        return "Not started: nothing is called until someone presses Start."
    if status == "paused":
        return f"Paused ({campaign.status_reason}): no new call is placed." if campaign.status_reason else \
            "Paused: no new call is placed."
    if status == "scheduled" and campaign.start_at:
        return f"Scheduled: the first call is placed at {localtime(campaign.start_at, '%d %b %H:%M')}."
    if status == "running" and not window_of(campaign).is_open(now):
        opens = window_of(campaign).next_open(now)
        return "The calling window is closed now" + (f"; calling resumes at {localtime(opens, '%d %b %H:%M')}." if opens else ".")
    return None


def live_context(session: Any, campaign: Campaign) -> dict[str, Any]:
    now = utcnow()
    state = request.args.get("state") or None
    if state is not None and state not in CONTACT_STATES:
        abort(400, "Unknown contact state.")
    cursor = request.args.get("cursor") or None
    try:
        page = queries.contacts_page(session, campaign.id, state=state, cursor=cursor, limit=PAGE_SIZE)
    except queries.BadContactCursor:
        abort(400, "That page link is not valid.")
    counts = store.counts(session, campaign.id)
    progress = queries.progress(session, campaign, now)
    finish = progress["estimated_finish"]
    chart, chart_table = outcomes_chart(session, campaign)
    in_flight = sum(counts[name] for name in IN_FLIGHT)
    return {
        "campaign": campaign, "counts": counts, "progress": progress, "in_flight": in_flight,
        "finish": datetime.fromisoformat(finish) if finish else None, "idle": why_idle(campaign, now),
        "chart": chart, "chart_table": chart_table, "contacts": page.contacts, "state": state,
        "next_url": url_for("campaigns.show", campaign_id=campaign.id, cursor=page.next_cursor, state=state)
        if page.next_cursor else None,
        "first_url": url_for("campaigns.show", campaign_id=campaign.id, state=state) if cursor else None,
        "final": campaign.status in ("completed", "canceled") and in_flight == 0,
        "control": ControlForm(),
    }

