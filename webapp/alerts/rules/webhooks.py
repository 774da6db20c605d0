"""Rule over the outbound webhooks: webhook_failing."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from ...webhooks import failing_endpoints
from .base import Context, Finding


def _where(url: str) -> str:
    """The endpoint named by its host only: a URL may carry a token in its path, query or user part, and the
    summary goes to every ALERT_URLS target."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def webhook_failing(session: Session, ctx: Context) -> Finding | None:
    """An endpoint whose deliveries have failed for WEBHOOK_FAILING_AFTER_MINUTES, or that the product disabled
    after 3 days of failures (or a 410), holds until it delivers again or an admin deletes it."""
    rows = failing_endpoints(session, ctx.now, failing_for=timedelta(minutes=ctx.settings.webhook_failing_after_minutes))
    if not rows:
        return None
    names = ", ".join(f"#{row['id']} ({_where(row['url'])})" for row in rows[:5]) + (" and more" if len(rows) > 5 else "")
    disabled = sum(1 for row in rows if row["disabled"])
    said = f"; {disabled} disabled for failing" if disabled else ""
    return Finding(
        f"{len(rows)} outbound webhook endpoint{'s' if len(rows) != 1 else ''} failing: {names}{said}.",
        {"endpoints": [{"id": row["id"], "host": _where(row["url"]), "disabled": row["disabled"],
                        "disabled_reason": row["disabled_reason"],
                        "failing_since": row["failing_since"].isoformat() if row["failing_since"] else None}
                       for row in rows[:20]]},
    )
