"""Thread-safe state of the Exotel simulator: calls, config, faults, callbacks."""

from __future__ import annotations

import hmac
import logging
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from . import callbacks
from .formats import format_ts, now_ist
from .outcomes import (
    BUSY,
    BUSY_SECONDS,
    COMPLETED,
    FAILED,
    FAILED_SECONDS,
    NO_ANSWER,
    RING_SECONDS,
    conversation_seconds,
    no_answer_seconds,
    outcome_for_number,
)
from .scheduler import Scheduler

log = logging.getLogger(__name__)

IN_PROGRESS = "in-progress"
FAULT_MODES = ("status", "timeout", "garbage", "reset", "ratelimit")
# Whether a fault's request is placed anyway when the caller does not say:
# a 200 (garbage) or a slow 200 (timeout) means Exotel accepted the call.
_DEFAULT_PLACE = {"status": False, "timeout": True, "garbage": True, "reset": False, "ratelimit": False}
#: Exotel's documented voice API limit, reported by ``ratelimit`` faults when no limit is set.
EXOTEL_RATE_LIMIT = 200


@dataclass
class SimCall:
    """One simulated call; mutated only under the state's lock."""

    sid: str
    account_sid: str
    from_number: str
    caller_id: str
    flow_url: str
    outcome: str
    created: datetime
    call_type: str | None = None
    time_limit: int | None = None
    timeout: int | None = None
    custom_field: str | None = None
    status_callback: str | None = None
    events: tuple[str, ...] = ()
    content_type: str = callbacks.MULTIPART
    talk_seconds: int = 0
    status: str = IN_PROGRESS
    updated: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    conversation: int = 0
    recording_url: str | None = None

    @property
    def finished(self) -> bool:
        """True once the call has reached its final status."""
        return self.ended_at is not None

    def resource(self, details: bool = False) -> dict[str, Any]:
        """Return the ``Call`` object of Exotel's call details API."""
        body: dict[str, Any] = {
            "Sid": self.sid,
            "ParentCallSid": None,
            "DateCreated": format_ts(self.created),
            "DateUpdated": format_ts(self.updated or self.created),
            "AccountSid": self.account_sid,
            "To": None,  # flow calls have no To number
            "From": self.from_number,
            "PhoneNumberSid": self.caller_id,
            "Status": self.status,
            "StartTime": format_ts(self.created),
            "EndTime": format_ts(self.ended_at),
            "Duration": int((self.ended_at - self.created).total_seconds()) if self.ended_at else None,
            "Price": None,
            "Direction": "outbound-api",
            "AnsweredBy": None,
            "Uri": f"/v1/Accounts/{self.account_sid}/Calls.json/{self.sid}",
            "RecordingUrl": self.recording_url,
        }
        if details:
            on_call = self.conversation if self.finished else 0
            leg_status = self.status if self.finished else IN_PROGRESS
            body["Details"] = {
                "ConversationDuration": on_call,
                "Leg1Status": leg_status,
                "Legs": [{"Leg": {"Id": 1, "OnCallDuration": on_call, "Status": leg_status}}],
            }
        return body


@dataclass
class Fault:
    """A failure injected into the next connect request(s)."""

    mode: str
    times: int = 1
    status: int = 500
    place: bool = False
    delay: float = 3.0
    retry_after: int = 1

    def as_dict(self) -> dict[str, Any]:
        """Return the fault as JSON-friendly data."""
        return dict(self.__dict__)


@dataclass
class _Callback:
    """One callback to deliver, possibly over several attempts."""

    call_sid: str
    url: str
    event: str | None  # None for the classic callback without EventType
    payload: dict[str, Any]
    content_type: str
    generation: int
    attempt: int = 1


class SimulatorState:
    """Everything the simulator knows and does, shared by its HTTP threads.

    Options (all changeable later through :meth:`configure`):
    ``speed`` multiplies every simulated delay (0.02 runs 50x faster);
    ``drop_callbacks`` is the fraction (0..1) of callbacks silently never sent;
    ``seed`` seeds the drop decisions; ``rate_limit_per_minute`` (None = off)
    limits the ``/v1`` API per account; ``callback_retry_delays`` are the
    simulated seconds before each retry of a failed callback;
    ``callback_timeout`` is the real seconds Exotel waits for a 2xx.

    Timestamps follow the *simulated* clock (DateCreated plus unscaled
    seconds), so durations stay consistent at any speed: a completed call is
    answered 2 s after DateCreated even when the simulator runs 50x faster.
    """

    def __init__(self, account_sid: str, api_key: str, api_token: str, *, speed: float = 1.0,
                 drop_callbacks: float = 0.0, seed: int | None = None,
                 rate_limit_per_minute: int | None = None,
                 callback_retry_delays: tuple[float, ...] = (300.0, 900.0),
                 callback_timeout: float = 15.0, delivery_workers: int = 4) -> None:
        """Create an empty simulator for one Exotel account."""
        self.account_sid = account_sid
        self.api_key = api_key
        self._api_token = api_token  # never logged nor shown by repr
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self._scheduler = Scheduler()
        self._session = requests.Session()
        self._delivery_workers = delivery_workers
        self._executor: ThreadPoolExecutor | None = None
        self._last_delivery: dict[str, Future[None]] = {}
        self._inflight = 0  # delivery attempts submitted and not finished
        self._handoffs = 0  # bumped on every schedule/submit, so wait_idle() sees no gap
        self._generation = 0  # bumped by reset() so stale timelines do nothing
        self._calls: dict[str, SimCall] = {}
        self._faults: deque[Fault] = deque()
        self._deliveries: list[dict[str, Any]] = []
        self._dropped: list[dict[str, Any]] = []
        self._rate_window: deque[float] = deque()
        self.connect_requests = 0
        self.speed = 1.0
        self.drop_callbacks = 0.0
        self.seed: int | None = None
        self.rate_limit_per_minute: int | None = None
        self.callback_retry_delays: tuple[float, ...] = ()
        self.callback_timeout = 15.0
        self._rng = random.Random()
        self.configure(speed=speed, drop_callbacks=drop_callbacks, seed=seed,
                       rate_limit_per_minute=rate_limit_per_minute,
                       callback_retry_delays=callback_retry_delays, callback_timeout=callback_timeout)

    def __repr__(self) -> str:
        """Describe the state without its secrets."""
        return f"<SimulatorState account_sid={self.account_sid!r} calls={len(self._calls)}>"

    # -- configuration -----------------------------------------------------

    def configure(self, **options: Any) -> None:
        """Validate and apply run-time options; raises ValueError on bad input."""
        known = {"speed", "drop_callbacks", "seed", "rate_limit_per_minute",
                 "callback_retry_delays", "callback_timeout"}
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"unknown option(s): {', '.join(sorted(unknown))}")
        with self._lock:
            if "speed" in options:
                self.speed = _number(options["speed"], "speed", minimum=0.0)
            if "drop_callbacks" in options:
                drop = _number(options["drop_callbacks"], "drop_callbacks", minimum=0.0)
                if drop > 1:
                    raise ValueError("drop_callbacks must be between 0 and 1")
                self.drop_callbacks = drop
            if "seed" in options:
                seed = options["seed"]
                if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                    raise ValueError("seed must be an integer or null")
                self.seed = seed
                self._rng = random.Random(seed)
            if "rate_limit_per_minute" in options:
                limit = options["rate_limit_per_minute"]
                if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
                    raise ValueError("rate_limit_per_minute must be a non-negative integer or null")
                self.rate_limit_per_minute = limit or None
                self._rate_window.clear()
            if "callback_retry_delays" in options:
                delays = options["callback_retry_delays"]
                if not isinstance(delays, (list, tuple)):
                    raise ValueError("callback_retry_delays must be a list of seconds")
                self.callback_retry_delays = tuple(
                    _number(d, "callback_retry_delays", minimum=0.0) for d in delays)
            if "callback_timeout" in options:
                self.callback_timeout = _number(options["callback_timeout"], "callback_timeout", minimum=0.001)

    def config(self) -> dict[str, Any]:
        """Return the current run-time options."""
        with self._lock:
            return {
                "speed": self.speed, "drop_callbacks": self.drop_callbacks, "seed": self.seed,
                "rate_limit_per_minute": self.rate_limit_per_minute,
                "callback_retry_delays": list(self.callback_retry_delays),
                "callback_timeout": self.callback_timeout,
            }

    def check_credentials(self, api_key: str | None, api_token: str | None) -> bool:
        """Compare HTTP Basic credentials in constant time."""
        key_ok = hmac.compare_digest((api_key or "").encode(), self.api_key.encode())
        token_ok = hmac.compare_digest((api_token or "").encode(), self._api_token.encode())
        return key_ok and token_ok

    # -- faults and rate limit --------------------------------------------

    def add_fault(self, mode: str, *, times: int = 1, status: int = 500, place: bool | None = None,
                  delay: float = 3.0, retry_after: int = 1) -> Fault:
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
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive integer")
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            raise ValueError("retry_after must be a non-negative integer")
        delay = _number(delay, "delay", minimum=0.0)
        if place is None:
            place = _DEFAULT_PLACE[mode]
        fault = Fault(mode=mode, times=times, status=status, place=bool(place) and mode != "ratelimit",
                      delay=delay, retry_after=retry_after)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take_fault(self) -> Fault | None:
        """Consume one use of the oldest queued fault, if any."""
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.popleft()
            return fault

    @property
    def faults(self) -> list[Fault]:
        """Return the queued faults (a copy)."""
        with self._lock:
            return list(self._faults)

    def check_rate_limit(self) -> tuple[bool, dict[str, str]]:
        """Count one API request; return (allowed, X-RateLimit-* headers)."""
        with self._lock:
            limit = self.rate_limit_per_minute
            if not limit:
                return True, {}
            now = time.time()
            while self._rate_window and self._rate_window[0] <= now - 60:
                self._rate_window.popleft()
            allowed = len(self._rate_window) < limit
            if allowed:
                self._rate_window.append(now)
            reset = self._rate_window[0] + 60 if self._rate_window else now + 60
            headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(limit - len(self._rate_window)),
                "X-RateLimit-Reset": str(math.ceil(reset)),
            }
            if not allowed:
                headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
            return allowed, headers

    def fault_rate_limit_headers(self, retry_after: int) -> dict[str, str]:
        """Return the 429 headers of a ``ratelimit`` fault."""
        return {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": str(self.rate_limit_per_minute or EXOTEL_RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(time.time() + retry_after)),
        }

    # -- calls -------------------------------------------------------------

    def count_connect_request(self) -> None:
        """Record that a connect request reached the simulator."""
        with self._lock:
            self.connect_requests += 1

    def place_call(self, *, from_number: str, caller_id: str, flow_url: str, call_type: str | None = None,
                   time_limit: int | None = None, timeout: int | None = None,
                   custom_field: str | None = None, status_callback: str | None = None,
                   events: tuple[str, ...] = (), content_type: str = callbacks.MULTIPART) -> SimCall:
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
            talk_seconds=talk if outcome == COMPLETED else 0, updated=created,
        )
        with self._lock:
            self._calls[call.sid] = call
            generation = self._generation
            speed = self.speed
        log.info("simulated call %s placed, outcome %s", call.sid, outcome)
        if outcome == COMPLETED:
            self._after(RING_SECONDS * speed, self._answer, call.sid, generation)
            self._after((RING_SECONDS + talk) * speed, self._end, call.sid, generation)
        else:
            ends_after = {BUSY: BUSY_SECONDS, FAILED: FAILED_SECONDS,
                          NO_ANSWER: no_answer_seconds(timeout)}[outcome]
            self._after(ends_after * speed, self._end, call.sid, generation)
        return call

    def get_call(self, sid: str, details: bool = False) -> dict[str, Any] | None:
        """Return the Call resource of ``sid``, or None if unknown."""
        with self._lock:
            call = self._calls.get(sid)
            return call.resource(details) if call else None

    def finished_calls(self, sids: list[str] | None = None, details: bool = False) -> list[dict[str, Any]]:
        """Return Call resources of ended calls (Exotel omits in-progress ones), newest first."""
        with self._lock:
            if sids is None:
                chosen = list(self._calls.values())
            else:
                chosen = [self._calls[s] for s in dict.fromkeys(sids) if s in self._calls]
            ended = [c for c in chosen if c.finished]
            if sids is None:
                ended.sort(key=lambda c: c.created, reverse=True)
            return [c.resource(details) for c in ended]

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
            "callbacks": [d for d in self._deliveries if d["call_sid"] == call.sid],
            "dropped_callbacks": [d for d in self._dropped if d["call_sid"] == call.sid],
        }

    # -- timeline ----------------------------------------------------------

    def _after(self, delay: float, func: Callable[..., None], *args: Any) -> None:
        """Run ``func(*args)`` on the scheduler thread after ``delay`` real seconds."""
        with self._lock:
            self._handoffs += 1
        self._scheduler.call_later(delay, lambda: func(*args))

    def _answer(self, sid: str, generation: int) -> None:
        """The callee picks up: the call is now talking."""
        with self._lock:
            call = self._calls.get(sid)
            if call is None or generation != self._generation:
                return
            call.answered_at = call.created + timedelta(seconds=math.ceil(RING_SECONDS))
            call.updated = call.answered_at
            wanted = call.status_callback and callbacks.ANSWERED in call.events
            payload = callbacks.answered_payload(call) if wanted else None
        if payload is not None:
            self._send(call, callbacks.ANSWERED, payload, generation)

    def _end(self, sid: str, generation: int) -> None:
        """The call ends with its outcome; this is the truth reconciliation sees."""
        with self._lock:
            call = self._calls.get(sid)
            if call is None or generation != self._generation:
                return
            if call.answered_at is not None:
                call.ended_at = call.answered_at + timedelta(seconds=call.talk_seconds)
                call.conversation = call.talk_seconds
                call.recording_url = (f"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/"
                                      f"{call.account_sid}/{call.sid}.mp3")
            else:
                ring = {BUSY: BUSY_SECONDS, FAILED: FAILED_SECONDS}.get(
                    call.outcome, no_answer_seconds(call.timeout))
                call.ended_at = call.created + timedelta(seconds=math.ceil(ring))
            call.status = call.outcome
            call.updated = call.ended_at
            event, payload = None, None
            if call.status_callback and not call.events:
                payload = callbacks.classic_payload(call)
            elif call.status_callback and callbacks.TERMINAL in call.events:
                event, payload = callbacks.TERMINAL, callbacks.terminal_payload(call)
        log.info("simulated call %s ended %s", sid, call.status)
        if payload is not None:
            self._send(call, event, payload, generation)

    # -- callback delivery -------------------------------------------------

    def _send(self, call: SimCall, event: str | None, payload: dict[str, Any], generation: int) -> None:
        """Deliver one callback, unless the drop rate says it gets lost."""
        assert call.status_callback is not None
        with self._lock:
            if self._rng.random() < self.drop_callbacks:
                self._dropped.append({"call_sid": call.sid, "url": call.status_callback,
                                      "event": event, "at": time.time()})
                return
        self._submit(_Callback(call.sid, call.status_callback, event, payload, call.content_type, generation))

    def _submit(self, cb: _Callback) -> None:
        """Hand one delivery attempt to the pool, after the call's previous one."""
        with self._lock:
            if self._stop_event.is_set() or cb.generation != self._generation:
                return
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._delivery_workers, thread_name_prefix="exotel-sim-callback")
            previous = self._last_delivery.get(cb.call_sid)
            self._handoffs += 1
            self._inflight += 1
            self._last_delivery[cb.call_sid] = self._executor.submit(self._deliver, cb, previous)

    def _deliver(self, cb: _Callback, previous: Future[None] | None) -> None:
        """POST one callback attempt and account for it."""
        try:
            self._attempt(cb, previous)
        finally:
            with self._lock:
                self._inflight -= 1

    def _attempt(self, cb: _Callback, previous: Future[None] | None) -> None:
        """POST one callback; schedule a retry unless it got a 2xx."""
        if previous is not None:
            wait([previous])  # keep answered before terminal for the same call
        status: int | None = None
        error: str | None = None
        try:
            response = self._session.post(cb.url, timeout=self.callback_timeout,
                                          **callbacks.request_kwargs(cb.payload, cb.content_type))
            status = response.status_code
            response.close()
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            if cb.generation != self._generation:
                return
            self._deliveries.append({
                "call_sid": cb.call_sid, "url": cb.url, "event": cb.event, "attempt": cb.attempt,
                "status": status, "error": error, "content_type": cb.content_type, "at": time.time(),
            })
            retry_delays = self.callback_retry_delays
            speed = self.speed
        if status is not None and 200 <= status < 300:
            return
        if cb.attempt <= len(retry_delays):
            retry = _Callback(cb.call_sid, cb.url, cb.event, cb.payload, cb.content_type,
                              cb.generation, cb.attempt + 1)
            self._after(retry_delays[cb.attempt - 1] * speed, self._submit, retry)
        else:
            log.info("callback %s for %s dropped after %d attempts", cb.event, cb.call_sid, cb.attempt)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Return every callback delivery attempt so far (a copy)."""
        with self._lock:
            return list(self._deliveries)

    @property
    def dropped_callbacks(self) -> list[dict[str, Any]]:
        """Return the callbacks deliberately never sent (``drop_callbacks``)."""
        with self._lock:
            return list(self._dropped)

    # -- lifecycle ---------------------------------------------------------

    def sleep(self, seconds: float) -> bool:
        """Sleep unless stopped first; False when the simulator was stopped."""
        return not self._stop_event.wait(seconds)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no timeline event or callback attempt is pending; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            # Work moves between the scheduler and the pool; an unchanged
            # hand-off count around both reads means nothing moved meanwhile.
            with self._lock:
                before = self._handoffs
            idle = self._scheduler.pending() == 0
            with self._lock:
                idle = idle and self._inflight == 0 and self._handoffs == before
            if idle:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def reset(self) -> None:
        """Forget calls, faults, deliveries and counters; cancel pending timelines."""
        with self._lock:
            self._generation += 1
            self._scheduler.clear()
            self._calls.clear()
            self._faults.clear()
            self._deliveries.clear()
            self._dropped.clear()
            self._last_delivery.clear()
            self._rate_window.clear()
            self.connect_requests = 0

    def stop(self) -> None:
        """Cancel everything pending, join worker threads and close the session."""
        self._stop_event.set()
        self._scheduler.stop()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self._session.close()


def _number(value: Any, name: str, *, minimum: float) -> float:
    """Return ``value`` as a float >= ``minimum`` or raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum or value != value:
        raise ValueError(f"{name} must be a number >= {minimum:g}")
    return float(value)
