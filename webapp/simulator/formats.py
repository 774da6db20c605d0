"""Wire formats shared by the simulator: Exotel timestamps, JSON/XML bodies."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from flask import Response

#: Exotel reports times in the account's local zone, without a zone suffix.
EXOTEL_TZ = ZoneInfo("Asia/Kolkata")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# Simulator-specific RestException codes per HTTP status (Exotel's exact codes
# are not documented for every case; these keep the shape realistic).
ERROR_CODES = {400: 34001, 401: 40101, 403: 40301, 404: 40401, 405: 40501, 429: 42901}


def now_ist() -> datetime:
    """Return the current time in IST, truncated to whole seconds."""
    return datetime.now(EXOTEL_TZ).replace(microsecond=0)


def format_ts(moment: datetime | None) -> str | None:
    """Format ``moment`` the way Exotel does (``YYYY-MM-DD HH:MM:SS`` IST)."""
    if moment is None:
        return None
    return moment.astimezone(EXOTEL_TZ).strftime(TIMESTAMP_FORMAT)


def _fill(parent: ET.Element, value: Any) -> None:
    """Render ``value`` as the text or children of ``parent``."""
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(parent, key), child)
    elif isinstance(value, list):
        # Lists of one-key dicts ({"Leg": {...}}) keep their key as the tag;
        # other items take the singular of the parent ("Calls" -> "Call").
        singular = parent.tag[:-1] if parent.tag.endswith("s") else "Item"
        for item in value:
            if isinstance(item, dict) and len(item) == 1 and isinstance(next(iter(item.values())), dict):
                _fill(parent, item)
            else:
                _fill(ET.SubElement(parent, singular), item)
    elif value is None:
        return
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    else:
        parent.text = str(value)


def to_xml(body: dict[str, Any]) -> bytes:
    """Render a response body as Exotel's ``<TwilioResponse>`` XML document."""
    root = ET.Element("TwilioResponse")
    _fill(root, body)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode").encode()


def render(body: dict[str, Any], status: int = 200, *, as_json: bool = True,
           headers: dict[str, str] | None = None) -> Response:
    """Build a JSON or XML response for ``body``."""
    payload: str | bytes
    if as_json:
        payload, mimetype = json.dumps(body), "application/json"
    else:
        payload, mimetype = to_xml(body), "application/xml"
    return Response(payload, status=status, mimetype=mimetype, headers=headers)


def rest_exception(status: int, message: str, *, as_json: bool = True, code: int | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    """Build Exotel's ``RestException`` error response."""
    error: dict[str, Any] = {"Status": status, "Message": message}
    if as_json:
        # The XML form in Exotel's examples carries only Status and Message.
        error["Code"] = code if code is not None else ERROR_CODES.get(status, status * 100 + 1)
    return render({"RestException": error}, status, as_json=as_json, headers=headers)
