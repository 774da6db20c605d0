"""The parameters of Exotel's "connect number to call flow" request, in Exotel's names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


def encode_status_callback_events(events: Sequence[str]) -> list[tuple[str, str]]:
    """The wire form of StatusCallbackEvents; the docs disagree, so it lives only here.

    Exotel's own examples use the indexed form (StatusCallbackEvents[0]=terminal);
    a newer page shows StatusCallbackEvents[]=terminal.
    """
    return [(f"StatusCallbackEvents[{index}]", event) for index, event in enumerate(events)]


@dataclass(frozen=True)
class ConnectRequest:
    """The parameters of one "connect number to call flow" request."""

    from_number: str
    caller_id: str
    flow_url: str
    call_type: str | None = None
    time_limit: int | None = None
    time_out: int | None = None
    custom_field: str | None = None
    status_callback: str | None = field(default=None, repr=False)  # carries a per-call secret
    status_callback_events: tuple[str, ...] = ()
    status_callback_content_type: str | None = None

    def form(self) -> list[tuple[str, str]]:
        """The url-encoded body, in Exotel's parameter names."""
        pairs = [("From", self.from_number), ("CallerId", self.caller_id), ("Url", self.flow_url)]
        optional = {
            "CallType": self.call_type,
            "TimeLimit": self.time_limit,
            "TimeOut": self.time_out,
            "CustomField": self.custom_field,
            "StatusCallback": self.status_callback,
            "StatusCallbackContentType": self.status_callback_content_type,
        }
        pairs += [(name, str(value)) for name, value in optional.items() if value not in (None, "")]
        if self.status_callback:
            pairs += encode_status_callback_events(self.status_callback_events)
        return pairs
