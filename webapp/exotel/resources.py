"""What Exotel's Calls API describes: a call, and a filter for listing many."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

BULK_LIMIT = 100  # Sids per Call Details request, and calls per listed page: Exotel's maximum


@dataclass(frozen=True)
class CallFilter:
    """A bulk Calls listing by filters (Exotel lists only calls that have ended)."""

    created_from: datetime  # aware; sent in the account's zone
    created_to: datetime
    from_number: str | None = None
    status: str | None = None
    page_size: int = BULK_LIMIT

    def params(self, tz: ZoneInfo) -> dict[str, str]:
        """The query string of the first page, in Exotel's parameter names."""
        def stamp(moment: datetime) -> str:
            return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")

        params = {
            "DateCreated": f"gte:{stamp(self.created_from)};lte:{stamp(self.created_to)}",
            "PageSize": str(max(1, min(self.page_size, BULK_LIMIT))),
            "details": "true",
        }
        if self.from_number:
            params["From"] = self.from_number
        if self.status:
            params["Status"] = self.status
        return params


@dataclass(frozen=True)
class CallInfo:
    """A Call as Exotel describes it, from a connect answer or the Call Details API."""

    sid: str
    status: str | None
    date_created: str | None
    date_updated: str | None
    start_time: str | None
    end_time: str | None
    conversation_duration: int | None
    recording_url: str | None
    answered_by: str | None
    raw: dict[str, Any]
    from_number: str | None = None
    exophone: str | None = None  # PhoneNumberSid (or To): the ExoPhone the call went through

    @classmethod
    def from_payload(cls, call: dict[str, Any]) -> CallInfo:
        details: dict[str, Any] = call["Details"] if isinstance(call.get("Details"), dict) else {}
        duration = details.get("ConversationDuration", call.get("ConversationDuration"))
        return cls(
            sid=str(call["Sid"]),
            status=_text(call.get("Status")),
            date_created=_text(call.get("DateCreated")),
            date_updated=_text(call.get("DateUpdated")),
            start_time=_text(call.get("StartTime")),
            end_time=_text(call.get("EndTime")),
            conversation_duration=_int(duration),
            recording_url=_text(call.get("RecordingUrl")),
            answered_by=_text(call.get("AnsweredBy")),
            raw=call,
            from_number=_text(call.get("From")),
            exophone=_text(call.get("PhoneNumberSid")) or _text(call.get("To")),
        )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None
