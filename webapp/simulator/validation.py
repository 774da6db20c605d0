"""Validation of connect-call parameters, with Exotel-like error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

from . import callbacks

_PHONE = re.compile(r"^\+?\d{8,15}$")
_CALLER_ID = re.compile(r"^\+?\d{6,15}$")
_FLOW_URL = re.compile(r"^https?://my\.exotel\.com/(?P<sid>[^/?#]+)/exoml/start_voice/(?P<app>\d+)$")
# Exotel's older samples (and many integrations) name a flow without the account: both reach it.
_OLD_FLOW_URL = re.compile(r"^https?://my\.exotel\.(?:in|com)/exoml/start/(?P<app>\d+)$")
_EVENTS_KEY = re.compile(r"^StatusCallbackEvents(?:\[(?P<index>\d*)\])?$")
CALL_TYPES = ("trans", "promo")


class ParameterError(ValueError):
    """A connect parameter Exotel would reject with HTTP 400."""


@dataclass(frozen=True)
class ConnectParams:
    """Validated parameters of one connect request."""

    from_number: str
    caller_id: str
    flow_url: str
    call_type: str | None
    time_limit: int | None
    timeout: int | None
    custom_field: str | None
    status_callback: str | None
    events: tuple[str, ...]
    content_type: str
    to_number: str | None = None  # "connect two numbers": From is rung, then To; no flow

    def as_kwargs(self) -> dict[str, Any]:
        """Return the parameters as keyword arguments for ``place_call``."""
        return dict(self.__dict__)


def _clean_number(value: str) -> str:
    """Strip the spaces and dashes people type into phone numbers."""
    return re.sub(r"[\s\-]", "", value)


def exotel_number(number: str) -> str:
    """Show a number as Exotel does: ``+919876543210`` becomes ``09876543210``."""
    if number.startswith("+91") and len(number) == 13:
        return "0" + number[3:]
    return number


def _optional_int(form: MultiDict[str, str], name: str, low: int, high: int) -> int | None:
    """Parse an optional integer parameter within ``low..high``."""
    raw = form.get(name, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d+", raw) or not low <= int(raw) <= high:
        raise ParameterError(f"{name} must be an integer between {low} and {high}")
    return int(raw)


def _events(form: MultiDict[str, str]) -> tuple[str, ...]:
    """Collect StatusCallbackEvents in its indexed, ``[]`` or repeated form."""
    found: list[tuple[int, int, str]] = []
    for position, (key, value) in enumerate(form.items(multi=True)):
        match = _EVENTS_KEY.match(key)
        if match is None:
            continue
        index = match.group("index")
        # Indexed entries sort by index; others keep their order of arrival.
        found.append((int(index) if index else position, position, value.strip()))
    events: list[str] = []
    for _, _, value in sorted(found):
        if value not in callbacks.EVENTS:
            raise ParameterError("StatusCallbackEvents may only contain 'answered' and 'terminal'")
        if value not in events:
            events.append(value)
    return tuple(events)


def parse_connect(form: MultiDict[str, str], account_sid: str) -> ConnectParams:
    """Validate a connect request body like Exotel; raises :class:`ParameterError`."""
    from_number = _clean_number(form.get("From", ""))
    if not from_number:
        raise ParameterError("Missing parameter: From is required")
    if not _PHONE.match(from_number):
        raise ParameterError("From is not a valid phone number (8 to 15 digits, optional leading +)")

    caller_id = _clean_number(form.get("CallerId", ""))
    if not caller_id:
        raise ParameterError("Missing parameter: CallerId is required")
    if not _CALLER_ID.match(caller_id):
        raise ParameterError("CallerId is not a valid ExoPhone number")

    flow_url = form.get("Url", "").strip()
    to_number = _to_number(form) if not flow_url else None
    if not flow_url and to_number is None:
        raise ParameterError("Missing parameter: Url (a call flow) or To (a number to connect) is required")
    if flow_url:
        _check_flow_url(flow_url, account_sid)

    call_type = form.get("CallType", "").strip() or None
    if call_type is not None and call_type not in CALL_TYPES:
        raise ParameterError("CallType must be 'trans' or 'promo'")

    time_limit = _optional_int(form, "TimeLimit", 1, 14400)
    timeout = _optional_int(form, "TimeOut", 1, 60)

    custom_field = form.get("CustomField")
    if custom_field is not None and len(custom_field) > 128:
        raise ParameterError("CustomField must be at most 128 characters")

    status_callback = form.get("StatusCallback", "").strip() or None
    if status_callback is not None:
        parts = urlsplit(status_callback)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ParameterError("StatusCallback must be an http or https URL")

    events = _events(form)

    content_type = form.get("StatusCallbackContentType", "").strip() or callbacks.MULTIPART
    if content_type not in callbacks.CONTENT_TYPES:
        raise ParameterError("StatusCallbackContentType must be 'multipart/form-data' or 'application/json'")

    return ConnectParams(
        from_number=exotel_number(from_number), caller_id=caller_id, flow_url=flow_url,
        call_type=call_type, time_limit=time_limit, timeout=timeout, custom_field=custom_field,
        status_callback=status_callback, events=events, content_type=content_type,
        to_number=exotel_number(to_number) if to_number else None,
    )


def _to_number(form: MultiDict[str, str]) -> str | None:
    """The second number of Exotel's "connect two numbers" (the same endpoint, with To instead of Url)."""
    to_number = _clean_number(form.get("To", ""))
    if not to_number:
        return None
    if not _PHONE.match(to_number):
        raise ParameterError("To is not a valid phone number (8 to 15 digits, optional leading +)")
    return to_number


def _check_flow_url(flow_url: str, account_sid: str) -> None:
    """A flow of this account, in the documented form or Exotel's older one (which names no account)."""
    if _OLD_FLOW_URL.match(flow_url):
        return
    match = _FLOW_URL.match(flow_url)
    if match is None:
        raise ParameterError(
            "Url must be a flow URL like http://my.exotel.com/<your_sid>/exoml/start_voice/<app_id>")
    if match.group("sid") != account_sid:
        raise ParameterError("Url must point to a flow of this account")
