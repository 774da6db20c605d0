"""Idempotency-Key for campaigns: a retried create returns the first campaign instead of a second list."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts.audit import Actor
from ..db import Database
from ..models import IdempotencyKey
from . import store
from .contacts import RawRow
from .spec import CampaignInput


class CampaignKeyConflict(Exception):
    """An Idempotency-Key of a created campaign reused with a different request."""


@dataclass(frozen=True)
class Once:
    """A create under an Idempotency-Key: the campaign made now, or the id of the one an earlier request made."""

    created: store.Created | None = None
    earlier: int | None = None


def campaign_for_key(db: Database, scope: str, key: str, fingerprint: str) -> int | None:
    """The campaign an earlier request with this key made, or None; raises CampaignKeyConflict."""
    with db.transaction(write=False) as session:
        row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))
    if row is None or row.campaign_id is None and row.call_id is None:
        return None
    if row.request_hash != fingerprint or row.campaign_id is None:
        raise CampaignKeyConflict("This Idempotency-Key was used for a different request.")
    return row.campaign_id


def create_once(
    db: Database, rows: Iterable[RawRow], *, spec: Callable[[], CampaignInput], key: tuple[str, str, str] | None,
    created_by: str, now: datetime, start: bool = True, actor: Actor | None = None,
) -> Once:
    """Create a campaign once per `key` (scope, Idempotency-Key, request fingerprint), or always without one.

    A retry of the same request gets the first campaign back, before `spec` is even
    judged; so does a concurrent twin that lost the race on the key's unique index.
    The same key with another request raises CampaignKeyConflict and creates nothing.
    `spec` raises what judging the request raises (ValidationError, CampaignError).
    """
    if key is not None:
        earlier = campaign_for_key(db, *key)
        if earlier is not None:
            return Once(earlier=earlier)
    try:
        return Once(created=store.create_campaign(
            db, spec(), rows, created_by=created_by, now=now, start=start, idempotency=key, actor=actor,
        ))
    except IntegrityError:
        earlier = campaign_for_key(db, *key) if key is not None else None
        if earlier is None:
            raise
        return Once(earlier=earlier)
