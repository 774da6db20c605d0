"""CSV downloads: streamed a row at a time, UTF-8 with a byte-order mark, times in the viewer's zone with their
offset, safe to open in a spreadsheet.

The byte-order mark is what makes Excel read the file as UTF-8 (without it, names
in Devanagari or with accents turn to mojibake); Python reads such a file with
`encoding="utf-8-sig"`, and the product's own contact import accepts it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, tzinfo
from itertools import chain
from typing import Any

from flask import Response

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (tab and carriage return too, per OWASP's CSV injection advice).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 32 * 1024  # characters sent at a time
BOM = "\ufeff"
# Columns holding phone numbers the product validated and stores as E.164. There a value that is E.164 (a plus
# and digits only: no formula can hide in it) is written as it is, so the number reads as the number and a
# re-imported file finds it; anything else in them (a row not imported keeps its number as given) is guarded.
PHONE_COLUMNS = frozenset({"number", "from_number"})
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def cell(value: Any, zone: tzinfo = UTC) -> Any:
    """A value as a CSV cell: a time in `zone` with its offset; text that could run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a CSV export")
        return value.astimezone(zone).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return value
    value = str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]], zone: tzinfo = UTC) -> Iterator[str]:
    """The header line, then the rows as they are read, handed on in pieces of about CHUNK characters."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    phones = [index for index, name in enumerate(header) if name in PHONE_COLUMNS]
    for row in rows:
        cells = [cell(value, zone) for value in row]
        for index in phones:
            value = row[index]
            if isinstance(value, str) and E164.fullmatch(value):
                cells[index] = value
        writer.writerow(cells)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(filename: str, lines: Iterator[str]) -> Response:
    """A streamed CSV download, its first bytes the UTF-8 byte-order mark."""
    response = Response(chain((BOM,), lines), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
