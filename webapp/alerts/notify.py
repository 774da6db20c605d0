"""Notifications through Apprise: one message per alert per transition to every ALERT_URLS target.

A delivery claims the alert's row first (next_notify_at moved on), so two
processes never send the same notification; each target that took it is
remembered by a key (a hash, never the URL), so a retry goes only to those that
failed, with backoff. Apprise's own logger is silenced: its lines can carry
the URLs' secrets. Targets are named in our messages by scheme and host only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update

from ..db import Database
from .models import FIRING, RESOLVED, Alert

log = logging.getLogger(__name__)
_apprise_log = logging.getLogger("apprise")
_apprise_log.setLevel(logging.CRITICAL + 1)
_apprise_log.propagate = False

CLAIM = timedelta(minutes=2)  # a delivery in progress holds the row this long at most
MAX_ATTEMPTS = 12
SHOWN_CALLS = 10


@dataclass(frozen=True)
class Target:
    key: str  # a hash of the URL: which targets took a notification
    name: str  # scheme://host[:port], for people: no user, password, path or query
    url: str

    def __repr__(self) -> str:
        return f"Target({self.name})"


def targets(urls: Sequence[str]) -> list[Target]:
    return [Target(hashlib.sha256(url.encode()).hexdigest()[:16], redacted(url), url) for url in urls]


def redacted(url: str) -> str:
    """The URL's scheme and host, nothing that may be a secret."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"


def _apprise(url: str) -> Any:
    """An Apprise holding `url`, or None when Apprise does not know it."""
    import apprise

    with warnings.catch_warnings():  # its plugins import modules Python deprecates (imghdr), once
        warnings.simplefilter("ignore", DeprecationWarning)
        sender = apprise.Apprise()
        return sender if sender.add(url) else None


def valid(url: str) -> bool:
    return _apprise(url) is not None


def send(target: Target, title: str, body: str) -> bool:
    """One message to one target; True when it took it."""
    sender = _apprise(target.url)
    if sender is None:
        return False
    try:
        return bool(sender.notify(body=body, title=title))
    except Exception:
        return False


def message(alert: Alert, phase: str, base_url: str | None) -> tuple[str, str]:
    """(title, body): the rule and the transition in the title; the summary and links in the body."""
    base = (base_url or "").rstrip("/")
    title = f"[{phase}] {alert.rule}"
    lines = [alert.summary] if phase == FIRING else [
        f"Resolved at {alert.resolved_at:%Y-%m-%d %H:%M} UTC; it fired at {alert.started_at:%Y-%m-%d %H:%M} UTC:",
        alert.summary]
    lines += ["", f"Alert: {base}/alerts/{alert.id}"]
    call_ids = json.loads(alert.detail or "{}").get("call_ids") or []
    if call_ids:
        lines += ["Calls:"] + [f"{base}/calls/{call_id}" for call_id in call_ids[:SHOWN_CALLS]]
    return title, "\n".join(lines)


def _due(alert: Alert) -> str | None:
    if alert.notified_at is None:
        return FIRING
    if alert.state == RESOLVED and alert.resolve_notified_at is None:
        return RESOLVED
    return None


def _claim(db: Database, alert_id: int, now: datetime) -> bool:
    with db.transaction() as session:
        result = session.execute(
            update(Alert).where(Alert.id == alert_id, or_(Alert.next_notify_at.is_(None), Alert.next_notify_at <= now))
            .values(next_notify_at=now + CLAIM)
        )
        return bool(getattr(result, "rowcount", 0))


def backoff(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 ... minutes, at most 30."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 1800))


def deliver(db: Database, urls: Sequence[str], base_url: str | None, now: datetime, *,
            rules: Sequence[str] | None = None) -> int:
    """Send what is due (the firing notification, then the resolved one) for every alert not backing off.
    The number of alerts left to retry later."""
    if not urls:
        return 0
    with db.transaction(write=False) as session:
        query = select(Alert.id).where(
            or_(Alert.notified_at.is_(None), (Alert.state == RESOLVED) & Alert.resolve_notified_at.is_(None)),
            Alert.notify_attempts < MAX_ATTEMPTS, or_(Alert.next_notify_at.is_(None), Alert.next_notify_at <= now))
        if rules is not None:
            query = query.where(Alert.rule.in_(rules))
        ids = session.scalars(query.order_by(Alert.id)).all()
    left = 0
    for alert_id in ids:
        if _claim(db, alert_id, now) and not _deliver_one(db, alert_id, targets(urls), base_url, now):
            left += 1
    return left


def _deliver_one(db: Database, alert_id: int, all_targets: list[Target], base_url: str | None, now: datetime) -> bool:
    """True when nothing is left to send for this alert."""
    with db.transaction(write=False) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            return True
        session.expunge(alert)
    delivered: dict[str, list[str]] = json.loads(alert.delivered or "{}")
    failed: list[str] = []
    phase = _due(alert)
    while phase is not None and not failed:
        title, body = message(alert, phase, base_url)
        done = delivered.setdefault(phase, [])
        for target in all_targets:
            if target.key in done:
                continue
            if send(target, title, body):
                done.append(target.key)
            else:
                failed.append(target.name)
        if not failed:
            if phase == FIRING:
                alert.notified_at = now
            else:
                alert.resolve_notified_at = now
            phase = _due(alert)
    attempts = 0 if not failed else alert.notify_attempts + 1
    with db.transaction() as session:
        values: dict[str, Any] = {"delivered": json.dumps(delivered), "notified_at": alert.notified_at,
                                  "resolve_notified_at": alert.resolve_notified_at, "notify_attempts": attempts,
                                  "next_notify_at": now + backoff(attempts) if failed else None,
                                  "notify_error": f"not delivered to {', '.join(failed)}"[:300] if failed else None}
        # A resolve committed meanwhile reset the row's delivery state: keep its own (the resolved one is due).
        current = session.get(Alert, alert_id)
        if current is not None and current.state != alert.state:
            values.pop("resolve_notified_at")
            values.update(notify_attempts=0, next_notify_at=None)
        session.execute(update(Alert).where(Alert.id == alert_id).values(**values))
    if failed:
        log.warning("alert %s (%s) not delivered to %s; attempt %d, next in %s", alert.id, alert.rule, ", ".join(failed),
                    attempts, backoff(attempts), extra={"event": "alert_not_delivered", "rule": alert.rule})
    return not failed


def send_test(urls: Sequence[str], base_url: str | None) -> list[tuple[str, bool]]:
    """One test notification to each target: (its redacted name, delivered)."""
    base = (base_url or "").rstrip("/")
    body = f"A test of this deployment's alert notifications. Alerts: {base}/alerts"
    return [(target.name, send(target, "[test] exotel-calls alerts", body)) for target in targets(urls)]
