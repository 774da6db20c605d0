"""Exotel's default callback encoding, multipart/form-data, read fast.

Werkzeug compiles two regular expressions for every boundary it meets. Each
request carries a fresh boundary, so that work is never cached: in this app it
was the largest single cost of a multipart callback (about 450 us to read a
2 KB body, against 40 us here). `multipart` (the parser that the Python
documentation suggests in place of the removed `cgi` module) scans for the
delimiter with bytes.find instead.

It follows RFC 7578 to the letter (CRLF line breaks, a Content-Disposition on
every part). Werkzeug's parser is more forgiving, so a body this parser cannot
read, or might misread, is read by werkzeug's (read_form_fields_leniently)
rather than refused: every body is read as werkzeug reads it, only faster when
it is well formed. A part with a filename is a field like any other: its bytes
are kept as text, as every other value is.
"""

from __future__ import annotations

import io

from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser

__all__ = ["ParserLimitReached", "read_form_fields", "read_form_fields_leniently"]


def read_form_fields(body: bytes, boundary: str, max_parts: int) -> list[tuple[str, str]] | None:
    """The (name, text) fields of a whole multipart/form-data body, in order; values decoded as
    UTF-8, an invalid byte replaced.

    None: this strict parser could not read the body (read_form_fields_leniently
    may). Raises ParserLimitReached past `max_parts` parts or an oversized part header.
    """
    fields: list[tuple[str, str]] = []
    name: str | None = None
    chunks: list[bytes] = []
    parts = 0
    try:
        parser = PushMultipartParser(boundary, len(body), max_segment_count=max_parts)
        for event in parser.parse(body):
            if isinstance(event, MultipartSegment):
                parts += 1
                name = event.name
                chunks = []
            elif event is None:  # the end of a part
                if name is not None:
                    fields.append((name, b"".join(chunks).decode("utf-8", "replace")))
            elif name is not None:
                chunks.append(event)
        parser.close()  # raises when the closing delimiter never came
        delimiters = body.count(b"--" + boundary.encode())
    except ParserLimitReached:
        raise
    except (ParserError, ValueError, UnicodeError):
        return None
    # Each part opens with a delimiter and one more closes the body. More of them
    # means a delimiter this parser read as data: some encoders share one CRLF
    # between an empty value and the next delimiter (werkzeug's test client does),
    # which the RFC does not allow but werkzeug reads as intended.
    if delimiters != parts + 1:
        return None
    return fields


def read_form_fields_leniently(body: bytes, boundary: str, max_parts: int) -> list[tuple[str, str]]:
    """The fields of a multipart body as werkzeug's parser reads it (bare LF line breaks and the like):
    form fields first, then file parts. Raises ValueError when the body cannot be read in full,
    ParserLimitReached past `max_parts` parts."""
    parser = MultiPartParser(max_form_memory_size=len(body) + 1, max_form_parts=max_parts)
    try:
        form, files = parser.parse(io.BytesIO(body), boundary.encode("latin-1"), len(body))
    except RequestEntityTooLarge:
        raise ParserLimitReached("too many parts") from None
    except UnicodeEncodeError:
        raise ValueError("a boundary werkzeug cannot read") from None
    fields = list(form.items(multi=True))
    for name, storage in files.items(multi=True):
        fields.append((name, storage.read().decode("utf-8", "replace")))
        storage.close()
    return fields
