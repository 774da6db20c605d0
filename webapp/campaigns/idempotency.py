"""Idempotency-Key for campaigns: a retried create returns the first campaign instead of a second list."""

from __future__ import annotations

from sqlalchemy import select

from ..db import Database
from ..models import IdempotencyKey


class CampaignKeyConflict(Exception):
    """An Idempotency-Key of a created campaign reused with a different request."""


def campaign_for_key(db: Database, scope: str, key: str, fingerprint: str) -> int | None:
    """The campaign an earlier request with this key made, or None; raises CampaignKeyConflict."""
    with db.transaction(write=False) as session:
        row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))
    if row is None or row.campaign_id is None and row.call_id is None:
        return None
    if row.request_hash != fingerprint or row.campaign_id is None:
        raise CampaignKeyConflict("This Idempotency-Key was used for a different request.")
    return row.campaign_id
