"""What happens to a placed call, and when: pick-up and hang-up, with the callbacks each one sends."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from . import callbacks
from .call import SimCall
from .outcomes import BUSY, BUSY_SECONDS, COMPLETED, FAILED, FAILED_SECONDS, NO_ANSWER, RING_SECONDS, no_answer_seconds
from .recordings import recording_url

#: (step, simulated seconds after placing) for a call's outcome.
Step = tuple[str, float]


def steps(call: SimCall) -> list[Step]:
    """Return the call's timeline as ("answer" | "end", simulated seconds after placing)."""
    if call.outcome == COMPLETED:
        return [("answer", RING_SECONDS), ("end", RING_SECONDS + call.talk_seconds)]
    ends_after = {BUSY: BUSY_SECONDS, FAILED: FAILED_SECONDS, NO_ANSWER: no_answer_seconds(call.timeout)}
    return [("end", ends_after[call.outcome])]


def answer(call: SimCall) -> tuple[str | None, dict[str, Any] | None]:
    """The callee picks up; return the ``answered`` callback to send, if one was asked for."""
    call.answered_at = call.created + timedelta(seconds=math.ceil(RING_SECONDS))
    call.updated = call.answered_at
    if call.status_callback and callbacks.ANSWERED in call.events:
        return callbacks.ANSWERED, callbacks.answered_payload(call)
    return None, None


def end(call: SimCall, recording_origin: str | None = None) -> tuple[str | None, dict[str, Any] | None]:
    """The call ends with its outcome (what reconciliation sees); return the callback to send, if any.

    An answered call was recorded: its recording is served from `recording_origin` (the simulator's own).
    """
    if call.answered_at is not None:
        call.ended_at = call.answered_at + timedelta(seconds=call.talk_seconds)
        call.conversation = call.talk_seconds
        call.recording_url = recording_url(recording_origin, call.account_sid, call.sid)
    else:
        ring = {BUSY: BUSY_SECONDS, FAILED: FAILED_SECONDS}.get(call.outcome, no_answer_seconds(call.timeout))
        call.ended_at = call.created + timedelta(seconds=math.ceil(ring))
    call.status = call.outcome
    call.updated = call.ended_at
    if call.status_callback and not call.events:
        return None, callbacks.classic_payload(call)
    if call.status_callback and callbacks.TERMINAL in call.events:
        return callbacks.TERMINAL, callbacks.terminal_payload(call)
    return None, None
