"""Reading a campaign's contact list: a CSV upload or a JSON list, streamed, each number checked.

A CSV has a header row with a `number` column and optionally `custom_field`;
UTF-8 with or without a byte-order mark; commas or semicolons (Excel writes
semicolons where the comma is the decimal mark); Excel's quoting, one row a
line. Rows whose number is invalid, repeated or suppressed are not imported and
are reported one by one; the rest are. The list is read a batch at a time and
nothing holds all of it (the numbers seen are kept compactly), so memory stays
small whatever its length.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import phonenumbers

from ..calls.validation import MAX_CUSTOM_FIELD
from .numberset import NumberSet

DEFAULT_REGION = "IN"
INVALID, DUPLICATE, SUPPRESSED = "invalid number", "duplicate in the list", "suppressed"
# Suppressions are looked up this many numbers at a time.
BATCH = 1000
MAX_CELL = 200  # a number or custom field longer than this is noise, cut before parsing
# A line longer than this is no contact (a number and a custom field fit many times over): it is refused
# before it is read whole, so one endless line cannot fill the memory.
MAX_LINE = 16 * 1024
# The apostrophe the product's CSV exports put before text that a spreadsheet would run as a formula
# (reporting.csv_export): read back, it is dropped, so an exported list imports as it was.
GUARDED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


class ContactsError(ValueError):
    """A list that cannot be read at all (no header, no number column, not UTF-8 text)."""


@dataclass(frozen=True)
class Contact:
    row: int  # data rows counted from 1, the header excluded
    number: str  # E.164
    custom_field: str | None
    in_india: bool


@dataclass(frozen=True)
class NotImported:
    row: int
    number: str  # E.164 when the number was valid (repeated, suppressed), else as given
    reason: str
    custom_field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "number": self.number, "reason": self.reason}


_SURROGATE = re.compile("[\ud800-\udfff]")
RawRow = tuple[int, str, str | None]  # row number, number as given, custom field as given


def _clean(value: str) -> str:
    """Text both databases store and UTF-8 carries: NUL and lone surrogates become U+FFFD, cut to MAX_CELL."""
    value = value[:MAX_CELL].replace("\x00", "\ufffd")
    if value.startswith(GUARDED):
        value = value[1:]
    return value if value.isascii() else _SURROGATE.sub("\ufffd", value)


def _stray_quote(row: int, line: int) -> ContactsError:
    return ContactsError(
        f"Row {row} (line {line} of the file) opens a quote (\") that does not close on the same line, so the rows "
        "after it would be read as part of one cell. Nothing was imported: remove or close that quote and upload "
        "the list again."
    )


def _lines(text: IO[str], first_line: int) -> Iterator[str]:
    """The file's lines, each at most MAX_LINE characters (a longer one is refused)."""
    number = first_line
    while line := text.readline(MAX_LINE):
        if len(line) >= MAX_LINE and not line.endswith(("\n", "\r")):
            raise ContactsError(f"Line {number} of the file is longer than {MAX_LINE:,} characters: it holds no contact.")
        number += 1
        yield line


def csv_rows(stream: IO[bytes]) -> Iterator[RawRow]:
    """The data rows of a CSV upload, streamed; raises ContactsError when it has no `number` column.

    Every row must end on its own line: a quoted cell holding a line break is
    refused, naming the row where the quote opened. A stray quote is the usual
    cause, and reading on would silently fold thousands of rows into one cell.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    row, line = 0, 1  # the last data row read, and the line it ended on (the header is line 1)
    try:
        header_line = next(_lines(text, 1), "")
        if not header_line.strip():
            raise ContactsError("The file is empty: give a header row with a number column.")
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        header = [name.strip().lower() for name in next(csv.reader([header_line], delimiter=delimiter))]
        if "number" not in header:
            raise ContactsError("The header row has no number column.")
        number_at = header.index("number")
        field_at = header.index("custom_field") if "custom_field" in header else None
        reader = csv.reader(_lines(text, 2), delimiter=delimiter)
        for cells in reader:
            row += 1
            if reader.line_num + 1 > line + 1:  # reader.line_num counts the lines after the header
                raise _stray_quote(row, line + 1)
            line = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank lines (Excel leaves some at the end)
            number = cells[number_at] if number_at < len(cells) else ""
            custom = cells[field_at] if field_at is not None and field_at < len(cells) else None
            yield row, _clean(number), _clean(custom) if custom is not None else None
    except UnicodeDecodeError:
        raise ContactsError("The file is not UTF-8 text: save it from Excel as \"CSV UTF-8\".") from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _stray_quote(row + 1, line + 1) from None
        raise ContactsError(f"The file is not a readable CSV: {exc}.") from None
    finally:
        text.detach()


def json_rows(items: Any) -> Iterator[RawRow]:
    """The rows of a JSON contact list: `[{"number": ..., "custom_field": ...}, ...]` (plain strings allowed)."""
    if not isinstance(items, list):
        raise ContactsError("contacts must be a list of {\"number\", \"custom_field\"} objects.")
    for index, item in enumerate(items, start=1):
        if isinstance(item, str):
            yield index, _clean(item), None
        elif isinstance(item, Mapping):
            number, custom = item.get("number"), item.get("custom_field")
            yield (
                index,
                _clean(number) if isinstance(number, str) else "",
                _clean(custom) if isinstance(custom, str) else None,
            )
        else:
            yield index, "", None


def _e164(value: str, region: str) -> tuple[str, bool] | None:
    try:
        parsed = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), parsed.country_code == 91


def classify(
    rows: Iterable[RawRow],
    suppressed: Callable[[list[str]], set[str]],
    *,
    region: str = DEFAULT_REGION,
) -> Iterator[Contact | NotImported]:
    """Each row as a Contact to import or the reason it is not; `suppressed(numbers)` says which are suppressed.

    Duplicates are judged on the E.164 form, so "098765 43210" and "+919876543210"
    are one contact: the first row wins. What is held is one batch of rows and
    the numbers seen (a NumberSet: 16 MB for a million), whatever the list's length.
    """
    seen = NumberSet()
    pending: list[Contact | NotImported] = []  # in row order, so the report reads like the file

    def flush() -> Iterator[Contact | NotImported]:
        blocked = suppressed([item.number for item in pending if isinstance(item, Contact)])
        for item in pending:
            if isinstance(item, Contact) and item.number in blocked:
                yield NotImported(item.row, item.number, SUPPRESSED, item.custom_field)
            else:
                yield item
        pending.clear()

    for row, given, custom in rows:
        parsed = _e164(given, region) if given.strip() else None
        custom = (custom or "").strip() or None
        if parsed is None:
            pending.append(NotImported(row, given.strip(), INVALID, custom))
        elif not seen.add(parsed[0]):
            pending.append(NotImported(row, parsed[0], DUPLICATE, custom))
        else:
            number, in_india = parsed
            pending.append(Contact(row, number, custom[:MAX_CUSTOM_FIELD] if custom else None, in_india))
        if len(pending) >= BATCH:
            yield from flush()
    if pending:
        yield from flush()
