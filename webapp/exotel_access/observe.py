"""What the alert rules learn from this app's Exotel traffic: account refusals, answers, budget waits.

Each fact becomes an `alert_signals` row (webapp.signals), deduplicated by a
time bucket; a process remembers the buckets it already wrote, so a busy
minute costs one write, not one per request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

from .. import signals
from ..config import get_settings

REFUSALS = (401, 402, 403)  # bad credentials; balance or plan; account or KYC limits (DND refusals are told apart by the rule)
REFUSAL_BUCKET_SECONDS = 10.0


class Observer:
    """Records this app's Exotel facts, at most once per bucket per process."""

    def __init__(self, app: Flask):
        self.app = app
        self._written: dict[str, str] = {}
        self._lock = threading.Lock()

    def _once(self, kind: str, key: str, detail: str | None = None) -> None:
        with self._lock:
            if self._written.get(kind) == key:
                return
            self._written[kind] = key
        signals.record(self.app.extensions["database"], kind, key, get_settings(self.app).now(), detail)

    def refused(self, status: int, message: str) -> None:
        now = get_settings(self.app).now()
        self._once(signals.EXOTEL_REFUSED, f"{status}:{signals.bucket_key(now, REFUSAL_BUCKET_SECONDS)}",
                   f"{status} {message[:200]}")

    def answered(self) -> None:
        self._once(signals.EXOTEL_OK, signals.minute_key(get_settings(self.app).now()))

    def budget(self, kind: str) -> None:
        self._once(kind, signals.minute_key(get_settings(self.app).now()))


def observer(app: Flask) -> Observer:
    found: Observer | None = app.extensions.get("exotel_observer")
    if found is None:
        found = app.extensions.setdefault("exotel_observer", Observer(app))
    return found


def _message(response: Any) -> str:
    """Exotel's RestException message, or nothing: never the body itself."""
    try:
        body = json.loads(response.text or "null")
        exception = body.get("RestException") if isinstance(body, dict) else None
        message = exception.get("Message") if isinstance(exception, dict) else None
        return str(message) if message else ""
    except (ValueError, RecursionError):
        return ""


def response_hook(app: Flask) -> Callable[..., None]:
    """A requests response hook noting Exotel's refusals of the account and its successful answers."""

    def hook(response: Any, *_args: Any, **_kwargs: Any) -> None:
        try:
            if response.status_code in REFUSALS:
                observer(app).refused(response.status_code, _message(response))
            elif 200 <= response.status_code < 300:
                observer(app).answered()
        except Exception:
            pass

    return hook
