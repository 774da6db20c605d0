"""Everything the simulator knows, shared by its HTTP threads: calls, options, faults, callbacks."""

from __future__ import annotations

import functools
import hmac
import logging
import threading
import uuid
from typing import Any

from . import callbacks, defaults, listing, timeline
from .call import IN_PROGRESS, SimCall
from .connects import ConnectLog
from .delivery import Callback, Delivery
from .faults import EXOTEL_RATE_LIMIT, FAULT_MODES, Fault, FaultQueue, make_fault
from .formats import format_ts, now_ist
from .options import Options
from .outcomes import COMPLETED, conversation_seconds, outcome_for_number
from .ratelimit import RateWindow
from .shelf import RecordingShelf
from .work import Work

__all__ = ["EXOTEL_RATE_LIMIT", "FAULT_MODES", "IN_PROGRESS", "Fault", "SimCall", "SimulatorState"]

log = logging.getLogger(__name__)


class SimulatorState:
    """Everything the simulator knows and does, shared by its HTTP threads.

    Options (see :class:`~webapp.simulator.options.Options`) are changeable
    later through :meth:`configure`.

    Timestamps follow the *simulated* clock (DateCreated plus unscaled
    seconds), so durations stay consistent at any speed: a completed call is
    answered 2 s after DateCreated even when the simulator runs 50x faster.
    """

    def __init__(self, account_sid: str, api_key: str, api_token: str, *, delivery_workers: int = 4,
                 **options: Any) -> None:
        """Create an empty simulator for one Exotel account."""
        self.account_sid = account_sid
        self.api_key = api_key
        self._api_token = api_token  # never logged nor shown by repr
        self._lock = threading.RLock()
        self._options = Options()
        self._work = Work(delivery_workers)
        self._delivery = Delivery(self._work, self._options)
        self._faults = FaultQueue()
        self._rate = RateWindow()
        self._generation = 0  # bumped by reset() so stale timelines do nothing
        self._calls: dict[str, SimCall] = {}
        self.connect_requests = 0
        self.detail_requests: list[tuple[str, ...]] = []  # the Sids each Call Details request asked about
        self.origin: str | None = None  # where the server listens (set by SimulatorServer): recordings are served there
        self.connects = ConnectLog()  # what reached connect, and when
        self.shelf = RecordingShelf()  # recordings' size, availability, deletion
        self.exophones, self.balance = defaults.EXOPHONES, defaults.BALANCE  # the account (None: Balance not served)
        self.configure(**options)

    def __repr__(self) -> str:
        """Describe the state without its secrets."""
        return f"<SimulatorState account_sid={self.account_sid!r} calls={len(self._calls)}>"

    @property
    def speed(self) -> float:
        """Return the delay multiplier."""
        return self._options.speed

    @property
    def drop_callbacks(self) -> float:
        """Return the share of callbacks never sent."""
        return self._options.drop_callbacks

    @property
    def delay_callbacks(self) -> float:
        """Return the simulated seconds a callback waits before it leaves."""
        return self._options.delay_callbacks

    @property
    def seed(self) -> int | None:
        """Return the seed of the drop decisions."""
        return self._options.seed

    @property
    def rate_limit_per_minute(self) -> int | None:
        """Return the per-minute API limit (None = off)."""
        return self._options.rate_limit_per_minute

    @property
    def callback_retry_delays(self) -> tuple[float, ...]:
        """Return the simulated seconds before each callback retry."""
        return self._options.callback_retry_delays

    @property
    def callback_timeout(self) -> float:
        """Return the real seconds a callback waits for its answer."""
        return self._options.callback_timeout

    # -- configuration -----------------------------------------------------

    def configure(self, **options: Any) -> None:
        """Validate and apply run-time options; raises ValueError on bad input."""
        values = Options.validate(options)
        with self._lock:
            for name, value in values.items():
                setattr(self._options, name, value)
        if "seed" in values:
            self._delivery.reseed(values["seed"])
        if "rate_limit_per_minute" in values:
            self._rate.set_limit(values["rate_limit_per_minute"])

    def config(self) -> dict[str, Any]:
        """Return the current run-time options."""
        with self._lock:
            return self._options.as_dict()

    def check_credentials(self, api_key: str | None, api_token: str | None) -> bool:
        """Compare HTTP Basic credentials in constant time."""
        key_ok = hmac.compare_digest((api_key or "").encode(), self.api_key.encode())
        token_ok = hmac.compare_digest((api_token or "").encode(), self._api_token.encode())
        return key_ok and token_ok

    # -- faults and rate limit --------------------------------------------

    def add_fault(self, mode: str, **spec: Any) -> Fault:
        """Queue a fault for the next ``times`` valid, authenticated connect requests.

        Modes: ``status`` answers ``status`` with a RestException; ``timeout``
        sleeps ``delay`` real seconds, then answers (200 when placed, else
        504); ``garbage`` answers 200 with ``<html>oops``; ``reset`` drops the
        TCP connection without a response; ``ratelimit`` answers 429 with
        ``Retry-After: retry_after`` and is never placed. ``place`` says
        whether the call is created anyway; it defaults to True for
        ``timeout`` and ``garbage`` and False otherwise. Faults are consumed
        in order, after authentication and parameter validation.
        """
        return self._faults.add(make_fault(mode, **spec))

    def take_fault(self) -> Fault | None:
        """Consume one use of the oldest queued fault, if any."""
        return self._faults.take()

    @property
    def faults(self) -> list[Fault]:
        """Return the queued faults (a copy)."""
        return self._faults.pending()

    def check_rate_limit(self) -> tuple[bool, dict[str, str]]:
        """Count one API request; return (allowed, X-RateLimit-* headers, Retry-After when refused)."""
        return self._rate.check()

    def fault_rate_limit_headers(self, retry_after: int) -> dict[str, str]:
        """Return the 429 headers of a ``ratelimit`` fault."""
        return Fault("ratelimit", retry_after=retry_after).rate_limit_headers(self._options.rate_limit_per_minute)

    # -- calls -------------------------------------------------------------

    def count_connect_request(self) -> None:
        """Record that a connect request reached the simulator."""
        with self._lock:
            self.connect_requests += 1

    def count_detail_request(self, sids: tuple[str, ...]) -> None:
        """Record that a Call Details request (one call, or a bulk listing) asked about `sids`."""
        with self._lock:
            self.detail_requests.append(sids)

    def place_call(self, *, from_number: str, caller_id: str, flow_url: str, call_type: str | None = None,
                   time_limit: int | None = None, timeout: int | None = None,
                   custom_field: str | None = None, status_callback: str | None = None,
                   events: tuple[str, ...] = (), content_type: str = callbacks.MULTIPART,
                   to_number: str | None = None) -> SimCall:
        """Create a call and schedule its timeline; ``from_number`` as Exotel shows it."""
        outcome = outcome_for_number(from_number)
        talk = conversation_seconds(from_number)
        if time_limit is not None:
            talk = min(talk, time_limit)
        created = now_ist()
        call = SimCall(
            sid=uuid.uuid4().hex, account_sid=self.account_sid, from_number=from_number,
            caller_id=caller_id, flow_url=flow_url, outcome=outcome, created=created,
            call_type=call_type, time_limit=time_limit, timeout=timeout, custom_field=custom_field,
            status_callback=status_callback, events=events, content_type=content_type,
            talk_seconds=talk if outcome == COMPLETED else 0, updated=created, to_number=to_number,
        )
        with self._lock:
            self._calls[call.sid] = call
            generation = self._generation
            speed = self._options.speed
        log.info("simulated call %s placed, outcome %s", call.sid, outcome)
        for step, seconds in timeline.steps(call):
            self._work.after(seconds * speed, functools.partial(self._step, call.sid, step, generation))
        return call

    def _step(self, sid: str, step: str, generation: int) -> None:
        """Move a call along its timeline and send the callback that step brings."""
        with self._lock:
            call = self._calls.get(sid)
            if call is None or generation != self._generation:
                return
            event, payload = timeline.answer(call) if step == "answer" else timeline.end(call, self.origin)
        if step == "end":
            log.info("simulated call %s ended %s", sid, call.status)
        if payload is not None and call.status_callback:
            self._delivery.send(Callback(call.sid, call.status_callback, event, payload,
                                         call.content_type, generation))

    def get_call(self, sid: str, details: bool = False) -> dict[str, Any] | None:
        """Return the Call resource of ``sid``, or None if unknown."""
        with self._lock:
            call = self._calls.get(sid)
            return call.resource(details) if call else None

    def finished_calls(self, sids: list[str] | None = None, details: bool = False) -> list[dict[str, Any]]:
        """Return Call resources of ended calls (Exotel omits in-progress ones), newest first."""
        query = listing.CallQuery(sids=tuple(sids) if sids is not None else None, details=details)
        with self._lock:
            return [c.resource(details) for c in listing.select(self._calls.values(), query)]

    def list_calls(self, query: listing.CallQuery) -> dict[str, Any]:
        """Return one page of Exotel's bulk Calls list for ``query``; QueryError for a bad cursor."""
        base = f"/v1/Accounts/{self.account_sid}/Calls.json"
        with self._lock:
            return listing.page(listing.select(self._calls.values(), query), query, base)

    @property
    def calls(self) -> dict[str, dict[str, Any]]:
        """Return every simulated call by Sid, with its true status (a copy)."""
        with self._lock:
            return {sid: self._describe(call) for sid, call in self._calls.items()}

    def _describe(self, call: SimCall) -> dict[str, Any]:
        """Return the test-facing view of one call, with its callbacks."""
        return {
            "sid": call.sid, "from": call.from_number, "caller_id": call.caller_id,
            "outcome": call.outcome, "status": call.status, "finished": call.finished,
            "date_created": format_ts(call.created), "date_updated": format_ts(call.updated),
            "start_time": format_ts(call.created), "end_time": format_ts(call.ended_at),
            "conversation_duration": call.conversation, "recording_url": call.recording_url,
            "custom_field": call.custom_field, "status_callback": call.status_callback,
            "status_callback_events": list(call.events), "content_type": call.content_type,
            "callbacks": self._delivery.attempts(call.sid),
            "dropped_callbacks": self._delivery.dropped(call.sid),
        }

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Return every callback delivery attempt so far (a copy)."""
        return self._delivery.attempts()

    @property
    def dropped_callbacks(self) -> list[dict[str, Any]]:
        """Return the callbacks deliberately never sent (``drop_callbacks``)."""
        return self._delivery.dropped()

    # -- lifecycle ---------------------------------------------------------

    def sleep(self, seconds: float) -> bool:
        """Sleep unless stopped first; False when the simulator was stopped."""
        return not self._work.stopped.wait(seconds)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no timeline event or callback attempt is pending; False on timeout."""
        return self._work.wait_idle(timeout)

    def reset(self) -> None:
        """Forget calls, faults, deliveries and counters; cancel pending timelines."""
        with self._lock:
            self._generation += 1
            self._work.clear()
            self._delivery.reset(self._generation)
            self._calls.clear()
            self._faults.clear()
            self._rate.clear()
            self.connect_requests = 0
            self.detail_requests = []
            self.connects.clear()
            self.shelf.clear()
            self.exophones, self.balance = defaults.EXOPHONES, defaults.BALANCE

    def stop(self) -> None:
        """Cancel everything pending and close the session, without waiting on callbacks in flight."""
        self._work.stop()
        self._delivery.close()
