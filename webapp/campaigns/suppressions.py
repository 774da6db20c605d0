"""The suppression list's rules: numbers no campaign dials again, and no single call reaches without an admin.

From the commit that adds a number (`add`, or a DND refusal through `suppress`):
- contacts waiting for it, in any campaign, become `suppressed` at once;
- an attempt claimed before but not sent yet is refused by the statement that marks it sending
  (campaigns.gate.mark_sending), and its contact becomes `suppressed`;
- a contact the dispatcher finds suppressed when it claims becomes `suppressed` (campaigns.dispatch);
- an attempt already at Exotel runs to its end and is never retried (campaigns.settling);
- a single call to it is refused with `Suppressed`, unless an admin overrides it, audited (`screen_call`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from ..accounts import audit
from ..accounts.audit import Actor
from ..accounts.roles import can
from ..calls.checks import ValidationError
from ..calls.validation import normalize_number
from ..db import Database
from .models import CampaignContact, Suppression

MAX_NUMBERS = 10_000  # numbers added at a time, through the API or the page
MAX_REASON = 64
DEFAULT_REASON = "requested"
SHOWN_ERRORS = 20
SEPARATORS = re.compile(r"[\n,;]+")


class Suppressed(ValidationError):
    """A single call to a suppressed number: refused, nothing stored or sent."""

    def __init__(self, number: str, reason: str, since: datetime):
        super().__init__(
            f"{number} is on the suppression list (reason: {reason}; since {since:%d %b %Y}): nothing was placed. "
            "Only an admin may call it, by overriding the suppression.",
            "from", "suppressed",
        )
        self.number, self.reason, self.since = number, reason, since


class OverrideRefused(ValidationError):
    """A request to override the suppression list by someone whose role does not allow it."""

    def __init__(self) -> None:
        super().__init__("Only an admin may override the suppression list.", "override_suppression", "forbidden")


class NumbersError(ValidationError):
    """A list of numbers to suppress that cannot be taken: nothing of it is stored."""


def is_suppressed(number: Any) -> ColumnElement[bool]:
    """SQL: `number` (a column or value) is on the list. Evaluated inside the statement that uses it, so a
    suppression committed before that statement started is always seen."""
    return exists().where(Suppression.number == number)


def find(session: Session, number: str) -> Suppression | None:
    return session.get(Suppression, number)


def parse_numbers(given: Iterable[tuple[str, Any]]) -> list[str]:
    """(where, number as given) pairs as E.164 numbers; NumbersError naming every bad one when any is bad."""
    given = list(given)
    if not given:
        raise NumbersError("Give numbers: a list of phone numbers.", "numbers")
    if len(given) > MAX_NUMBERS:
        raise NumbersError(f"At most {MAX_NUMBERS:,} numbers at a time; this has {len(given):,}.", "numbers")
    numbers, errors = [], []
    for where, value in given:
        try:
            numbers.append(normalize_number(value, "numbers"))
        except ValidationError:
            errors.append(f"{where}: “{str(value)[:40]}” is not a valid phone number.")
    if errors:
        more = f" And {len(errors) - SHOWN_ERRORS} more." if len(errors) > SHOWN_ERRORS else ""
        raise NumbersError("Nothing was added: " + " ".join(errors[:SHOWN_ERRORS]) + more, "numbers")
    return numbers


def split_pasted(text: str | None) -> list[tuple[str, str]]:
    """Numbers pasted one a line or separated by commas, as (where, number) pairs."""
    parts = (part.strip() for part in SEPARATORS.split(text or ""))
    return [(f"pasted number {i}", part) for i, part in enumerate((part for part in parts if part), start=1)]


def parse_reason(value: Any) -> str:
    """Why the numbers are suppressed: short text, `requested` when not given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_REASON
    if not isinstance(value, str) or len(value.strip()) > MAX_REASON or "\x00" in value:
        raise NumbersError(f"reason is text of at most {MAX_REASON} characters.", "reason")
    return value.strip()


def suppress(session: Session, numbers: Iterable[str], *, reason: str, created_by: str, now: datetime) -> list[str]:
    """In `session`'s transaction: add the numbers not yet listed (the listed keep their reason), and move every
    contact waiting for them to `suppressed`. The numbers newly added."""
    wanted = list(dict.fromkeys(numbers))
    listed = set(session.scalars(select(Suppression.number).where(Suppression.number.in_(wanted)))) if wanted else set()
    added = [number for number in wanted if number not in listed]
    for number in added:
        session.add(Suppression(number=number, reason=reason, created_by=created_by, created_at=now))
    if added:
        session.flush()
        # Waiting contacts of every campaign, retries scheduled included; attempts claimed or in flight are
        # stopped where they are sent and where they settle.
        session.execute(
            update(CampaignContact)
            .where(CampaignContact.number.in_(added), CampaignContact.state == "waiting")
            .values(state="suppressed", next_attempt_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return added


def add(
    db: Database, numbers: Iterable[str], *, reason: str, created_by: str, now: datetime, actor: Actor | None = None,
) -> list[str]:
    """Suppress these E.164 numbers, audited; the numbers newly added."""
    with db.transaction() as session:
        added = suppress(session, numbers, reason=reason, created_by=created_by, now=now)
        if added and actor is not None:
            audit.record(session, actor, "suppression.add", None, {"numbers": added, "reason": reason}, at=now)
    return added


def remove(db: Database, number: str, *, actor: Actor | None = None) -> bool:
    """Let campaigns created from now on call this number again; False when it was not suppressed.

    Contacts already `suppressed` stay so: a campaign under way does not go back to them.
    """
    with db.transaction() as session:
        row = session.get(Suppression, number)
        if row is None:
            return False
        session.delete(row)
        if actor is not None:
            audit.record(session, actor, "suppression.remove", number)
    return True


def may_override(role: str | None) -> bool:
    """Whether this role may call a suppressed number anyway: admins only."""
    return can(role, "admin")


def override_asked(asked: Any, role: str | None) -> bool:
    """Whether a request overrides the suppression list: `asked` must be a boolean (ValidationError), and true
    only from a role that may (OverrideRefused, whether or not the number is suppressed: nothing is placed)."""
    if not isinstance(asked, bool):
        raise ValidationError("override_suppression must be true or false.", "override_suppression")
    if asked and not may_override(role):
        raise OverrideRefused()
    return asked


def screen_call(
    session: Session, number: str, *, override: bool, actor: Actor | None, call_id: str, now: datetime,
) -> None:
    """In the transaction that stores a single call: refuse it (Suppressed) when its number is suppressed,
    unless `override` (the caller checked may_override), which is audited with the call."""
    row = find(session, number)
    if row is None:
        return
    if not override:
        raise Suppressed(number, row.reason, row.created_at)
    if actor is not None:
        audit.record(session, actor, "call.override_suppression", call_id,
                     {"number": number, "reason": row.reason, "suppressed_at": row.created_at.isoformat()}, at=now)
