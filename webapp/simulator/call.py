"""One simulated call and the Call resource Exotel's call details API returns for it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import callbacks
from .formats import format_ts

IN_PROGRESS = "in-progress"
PRICE_PER_MINUTE = 0.6  # rupees per started minute of an answered call


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
    to_number: str | None = None  # "connect two numbers": the second number, instead of a flow

    @property
    def finished(self) -> bool:
        """True once the call has reached its final status."""
        return self.ended_at is not None

    def price(self) -> str | None:
        """What Exotel charges once the call has ended, as it writes it: a string of rupees."""
        if not self.finished:
            return None
        minutes = math.ceil(self.conversation / 60) if self.answered_at is not None else 0
        return f"{PRICE_PER_MINUTE * minutes:.2f}"

    def resource(self, details: bool = False) -> dict[str, Any]:
        """Return the ``Call`` object of Exotel's call details API."""
        body: dict[str, Any] = {
            "Sid": self.sid,
            "ParentCallSid": None,
            "DateCreated": format_ts(self.created),
            "DateUpdated": format_ts(self.updated or self.created),
            "AccountSid": self.account_sid,
            "To": self.to_number,  # None for a flow call: it has no To number
            "From": self.from_number,
            "PhoneNumberSid": self.caller_id,
            "Status": self.status,
            "StartTime": format_ts(self.created),
            "EndTime": format_ts(self.ended_at),
            # Exotel writes durations as strings of digits, empty until the call has ended.
            "Duration": str(int((self.ended_at - self.created).total_seconds())) if self.ended_at else "",
            "Price": self.price(),
            "Direction": "outbound-api",
            "AnsweredBy": callbacks.HUMAN if self.answered_at is not None and self.finished else None,
            "Uri": f"/v1/Accounts/{self.account_sid}/Calls.json/{self.sid}",
            "RecordingUrl": self.recording_url,
        }
        if details:
            on_call = self.conversation if self.finished else 0
            leg_status = self.status if self.finished else IN_PROGRESS
            body["Details"] = {
                "ConversationDuration": str(on_call),
                "Leg1Status": leg_status,
                "Legs": [{"Leg": {"Id": 1, "OnCallDuration": str(on_call), "Status": leg_status}}],
            }
        return body
