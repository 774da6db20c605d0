"""Rule over the campaigns: campaign_paused_by_system."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...campaigns.models import Campaign
from .base import Context, Finding

SYSTEM_PAUSE = "Exotel refused:"  # the reason the dispatcher gives a campaign it pauses (campaigns.dispatch)


def campaign_paused_by_system(session: Session, ctx: Context) -> Finding | None:
    """A campaign the product paused itself because Exotel refused the account (401/402), still paused."""
    rows = session.execute(
        select(Campaign.id, Campaign.name, Campaign.status_reason)
        .where(Campaign.status == "paused", Campaign.status_reason.like(f"{SYSTEM_PAUSE}%")).order_by(Campaign.id)
    ).all()
    if not rows:
        return None
    names = ", ".join(f"“{row.name}”" for row in rows[:5]) + (" and more" if len(rows) > 5 else "")
    return Finding(
        f"{len(rows)} campaign{'s' if len(rows) != 1 else ''} paused by the product: {names}. {rows[0].status_reason}",
        {"campaigns": [{"id": row.id, "name": row.name, "reason": row.status_reason} for row in rows[:20]]},
    )
