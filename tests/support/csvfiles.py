"""Reading the product's CSV downloads as a spreadsheet would."""

from __future__ import annotations

import csv
import io


def csv_download(response) -> list[dict[str, str]]:
    """The rows of a CSV download, by column name; it must be text/csv, UTF-8 starting with a byte-order mark."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark: Excel would misread non-ASCII text"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def csv_lines(response) -> list[list[str]]:
    """The rows of a CSV download as lists of cells, its header first (same checks as csv_download)."""
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark: Excel would misread non-ASCII text"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def upload(header: str, rows: list[str]) -> bytes:
    """A CSV file as a customer sends it: CRLF lines, UTF-8."""
    return ("\r\n".join([header, *rows]) + "\r\n").encode()
