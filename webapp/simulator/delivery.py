"""Posting StatusCallbacks: lost or late on demand, retried on failure, in order per call."""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import requests

from . import callbacks
from .options import Options
from .work import Work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Callback:
    """One callback to deliver, possibly over several attempts."""

    call_sid: str
    url: str
    event: str | None  # None for the classic callback without EventType
    payload: dict[str, Any]
    content_type: str
    generation: int
    attempt: int = 1


class Delivery:
    """Sends callbacks as Exotel does, and keeps a record of every attempt and every drop."""

    def __init__(self, work: Work, options: Options) -> None:
        """Deliver on ``work``'s pool, following ``options`` as they change."""
        self._work = work
        self._options = options
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._rng = random.Random()
        self._generation = 0
        self._attempts: list[dict[str, Any]] = []
        self._dropped: list[dict[str, Any]] = []

    def reseed(self, seed: int | None) -> None:
        """Seed the drop decisions."""
        with self._lock:
            self._rng = random.Random(seed)

    def reset(self, generation: int) -> None:
        """Forget the record; callbacks of older generations are no longer sent."""
        with self._lock:
            self._generation = generation
            self._attempts.clear()
            self._dropped.clear()

    def send(self, cb: Callback) -> None:
        """Deliver ``cb``, unless the drop share says it gets lost; late by ``delay_callbacks``."""
        with self._lock:
            if self._rng.random() < self._options.drop_callbacks:
                self._dropped.append({"call_sid": cb.call_sid, "url": cb.url, "event": cb.event, "at": time.time()})
                return
            delay = self._options.delay_callbacks * self._options.speed
        if delay > 0:
            self._work.after(delay, lambda: self._submit(cb))
        else:
            self._submit(cb)

    def _submit(self, cb: Callback) -> None:
        """Hand one attempt to the pool, after the call's previous one."""
        with self._lock:
            if cb.generation != self._generation:
                return
        self._work.submit(cb.call_sid, lambda: self._attempt(cb))

    def _attempt(self, cb: Callback) -> None:
        """POST one callback; schedule a retry unless it got a 2xx."""
        status: int | None = None
        error: str | None = None
        try:
            response = self._session.post(cb.url, timeout=self._options.callback_timeout,
                                          **callbacks.request_kwargs(cb.payload, cb.content_type))
            status = response.status_code
            response.close()
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            if cb.generation != self._generation:
                return
            self._attempts.append({
                "call_sid": cb.call_sid, "url": cb.url, "event": cb.event, "attempt": cb.attempt,
                "status": status, "error": error, "content_type": cb.content_type, "at": time.time(),
            })
            retry_delays = self._options.callback_retry_delays
            speed = self._options.speed
        if status is not None and 200 <= status < 300:
            return
        if cb.attempt <= len(retry_delays):
            retry = replace(cb, attempt=cb.attempt + 1)
            self._work.after(retry_delays[cb.attempt - 1] * speed, lambda: self._submit(retry))
        else:
            log.info("callback %s for %s dropped after %d attempts", cb.event, cb.call_sid, cb.attempt)

    def attempts(self, call_sid: str | None = None) -> list[dict[str, Any]]:
        """Return every delivery attempt so far (of one call when given), a copy."""
        with self._lock:
            return [a for a in self._attempts if call_sid is None or a["call_sid"] == call_sid]

    def dropped(self, call_sid: str | None = None) -> list[dict[str, Any]]:
        """Return the callbacks deliberately never sent (of one call when given), a copy."""
        with self._lock:
            return [d for d in self._dropped if call_sid is None or d["call_sid"] == call_sid]

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()
