"""A call's timeline for its page: each step in the order it happened, the time between steps, how it ended and why.

Callbacks arrive in any order (a retried answered callback after the terminal
one, a reconciliation much later), so the steps are ordered by the time Exotel
gives each event (DateUpdated), not by when it reached us; when it reached us
is kept beside it. Steps without Exotel's time fall back to their arrival.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...calls.status import FINAL
from ...exotel.callbacks import clean_text
from ...models import Call, CallEvent
from .display import EVENT_LABELS, parse_payload
from .status_words import LABELS, TONES, status_label

# Among steps at the same second: placing, then the answer, then the end, then later checks.
_ORDER = {"accepted": 1, "answered": 2, "status": 3, "terminal": 3, "reconcile": 4}
# What Exotel may say about why a call ended (seen in callbacks beside the documented fields: NOTES.md).
REASON_FIELDS = (("Cause", "Exotel said: “{}”"), ("CauseCode", "cause code {}"), ("DisconnectedBy", "hung up by {}"))
UNANSWERED_GAP = {"busy": "Rang {} before the line was busy", "no-answer": "Rang {} with no answer"}


@dataclass
class Step:
    """One line of the timeline."""

    key: str  # requested | accepted | answered | ended | terminal | status | reconcile
    label: str
    at: datetime | None
    received_at: datetime | None = None  # when this service heard of it (callbacks and checks only)
    outcome: str | None = None  # the status an ending step reports
    gap: str | None = None  # the time since the step it follows on from: ring time, talk time, "2 min later"
    reason: str | None = None
    note: str | None = None
    event: CallEvent | None = None

    @property
    def outcome_label(self) -> str | None:
        return LABELS.get(self.outcome, self.outcome) if self.outcome else None

    @property
    def tone(self) -> str:
        return TONES.get(self.outcome or "", "muted") if self.outcome else "muted"


def duration_words(seconds: float) -> str:
    """A duration for people: 0.4 s, 42 s, 2 min 5 s, 1 h 3 min."""
    if seconds < 10 and seconds != int(seconds):
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"


def failure_reason(payload: Any) -> str | None:
    """Why the call ended, in Exotel's words, when its callback carried any."""
    if not isinstance(payload, dict):
        return None
    parts = []
    for name, text in REASON_FIELDS:
        value = clean_text(payload.get(name), 200)
        if value:
            parts.append(text.format(value))
    if not parts:
        return None
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def by_occurrence(events: Sequence[CallEvent]) -> list[CallEvent]:
    """Events in the order they happened: Exotel's time, else arrival; same-second ties by kind, then arrival."""
    return sorted(events, key=lambda e: (e.occurred_at or e.received_at, _ORDER.get(e.event_type, 3), e.received_at, e.id))


def _event_step(event: CallEvent) -> Step:
    received = event.received_at if event.occurred_at else None
    if event.event_type == "answered":
        return Step("answered", "Answered", event.occurred_at or event.received_at, received, event=event)
    label = EVENT_LABELS.get(event.event_type, event.event_type)
    if event.status in FINAL:
        if event.event_type == "status":  # Exotel's one callback when no events were asked for: the end
            label = EVENT_LABELS["terminal"]
        return Step(event.event_type, label, event.occurred_at or event.received_at, received, outcome=event.status,
                    reason=failure_reason(parse_payload(event.payload)), event=event)
    if event.status:
        label = f"{label} · {status_label(event.status)}"
    return Step(event.event_type, label, event.occurred_at or event.received_at, received, event=event)


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()


def _fill_gaps(call: Call, steps: list[Step]) -> None:
    """Ring time on the answer, talk (or ring) time on the end, and the time since the step before on the rest."""
    start = call.placed_at or call.created_at
    answered: Step | None = None
    ended = False
    for previous, step in zip(steps, steps[1:], strict=False):
        if step.key == "answered" and answered is None:
            answered = step
            ring = _seconds(step.at, start)
            step.gap = f"Ring time {duration_words(ring)}" if ring is not None and ring >= 0 else None
            continue
        if step.outcome and not ended:
            ended = True
            if answered is not None or call.conversation_duration:
                talk = call.conversation_duration if call.conversation_duration is not None else _seconds(
                    step.at, answered.at if answered else None)
                step.gap = f"Talk time {duration_words(talk)}" if talk is not None and talk >= 0 else None
            else:  # the call's end time when known: a check with Exotel may come long after the end
                rang = _seconds(call.ended_at or step.at, start)
                if rang is not None and rang >= 0:
                    step.gap = UNANSWERED_GAP.get(step.outcome, "{} after it was placed").format(duration_words(rang))
            continue
        since = _seconds(step.at, previous.at)
        step.gap = f"{duration_words(since)} later" if since is not None and since >= 1 else None


def call_timeline(call: Call, events: Sequence[CallEvent]) -> list[Step]:
    """The steps of `call`'s page, first to last: requested, accepted (ringing), then its events as they happened."""
    steps = [Step("requested", "Requested", call.created_at)]
    later: list[tuple[Any, ...]] = []
    if call.placed_at:
        later.append((call.placed_at, _ORDER["accepted"], 0, Step("accepted", "Accepted by Exotel, ringing", call.placed_at)))
    for index, event in enumerate(by_occurrence(events), start=1):
        step = _event_step(event)
        later.append((step.at, _ORDER.get(event.event_type, 3), index, step))
    if call.answered_at and not any(event.event_type == "answered" for event in events):
        # The answered callback was lost or not asked for: the end's time and talk time say when it was.
        later.append((call.answered_at, _ORDER["answered"], 0, Step(
            "answered", "Answered", call.answered_at, note="No answered callback arrived: worked out from the talk time")))
    later.sort(key=lambda item: item[:3])
    steps += [item[-1] for item in later]
    _fill_gaps(call, steps)
    return steps
