"""A StatusCallback's body, read: (method, headers, bytes) to fields, or the 4xx that says why. Pure.

The rule: a callback is recorded with every field it carried, or refused with
a reason. So a stray byte that is not UTF-8 is replaced (U+FFFD), never the
whole form dropped; a gzip body is decoded (bounded, so a decompression bomb
is a 413); a multipart body that cannot be read in full (no closing
delimiter, a boundary it does not contain) is a 400 rather than a silently
empty form; and a callback that carries no field at all is a 400. Query
parameters count as fields (some Exotel webhooks are GETs).

`payload_json` writes the fields back as the strict JSON that SQLite's
json_valid and PostgreSQL's jsonb accept: no NaN or Infinity, no lone
surrogate, no NUL. It replaces what they refuse and keeps everything else.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes

from multipart import parse_options_header

from .callbacks import fields_from_form
from .multipart import ParserLimitReached, read_form_fields, read_form_fields_leniently

MAX_BODY = 64 * 1024  # raw, and again once decompressed
MAX_PARTS = 200  # a callback has about 25 fields; Legs add 3 per leg
MAX_DEPTH = 32  # Exotel's JSON nests 3 deep (body, Legs, leg); SQLite's json_valid gives up at 1000
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
ACCEPTED = "Send multipart/form-data, application/x-www-form-urlencoded or application/json."

REPLACEMENT = "\ufffd"
# What strict JSON stores cannot hold: NUL (jsonb refuses \u0000) and UTF-16 halves without their pair.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# ensure_ascii output that may hold one of those: \u0000, or a surrogate escape without its pair
# (a pair, as an emoji is written, is valid). A false alarm costs one more pass, nothing else.
_SUSPECT = re.compile(
    r"\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}"
)
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


class HeaderLookup(Protocol):
    """What read_callback needs of headers: werkzeug's Headers, or a plain dict."""

    def get(self, key: str, /) -> str | None: ...


class BodyError(ValueError):
    """A body refused: the HTTP status to answer, a code, and a sentence for the sender."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def too_large() -> BodyError:
    return BodyError(413, "body_too_large", f"The body is over {MAX_BODY // 1024} KiB or has over {MAX_PARTS} parts.")


def _header(headers: HeaderLookup, name: str) -> str:
    """A header by its canonical spelling (werkzeug's Headers ignore case) or in lower case (a plain dict)."""
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value or ""


def read_callback(method: str, headers: HeaderLookup, body: bytes, query: bytes = b"") -> dict[str, Any]:
    """The callback's fields: query parameters, then the body's (the body wins). Raises BodyError.

    `body` is the request body as the server handed it over (chunked framing
    already removed), at most MAX_BODY bytes; `query` the raw query string.
    Repeated names become lists, as fields_from_form makes them.
    """
    fields = fields_from_form(_urlencoded(query)) if query else {}
    encoding = _header(headers, "Content-Encoding")
    if encoding:
        body = _decompressed(body, encoding)
    mimetype, options = parse_options_header(_header(headers, "Content-Type"))
    if mimetype == "multipart/form-data":
        fields.update(fields_from_form(_multipart(body, options.get("boundary", ""))))
    elif mimetype == "application/x-www-form-urlencoded":
        fields.update(fields_from_form(_urlencoded(body.strip())))
    elif mimetype == "application/json" or mimetype.endswith("+json"):
        if body.strip():
            fields.update(_json_object(body))
    elif body.strip():
        raise BodyError(415, "unsupported_media_type", ACCEPTED)
    if not fields:
        where = "query parameters" if method.upper() == "GET" else "a body (or query parameters)"
        raise BodyError(400, "empty_callback", f"The callback carries no field: send its fields as {where}.")
    return fields


def _decompressed(body: bytes, encoding: str) -> bytes:
    """The body with its Content-Encoding undone: gzip or deflate, at most MAX_BODY bytes."""
    codings = [c for c in (part.strip().lower() for part in encoding.split(",")) if c and c != "identity"]
    if not codings:
        return body
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise BodyError(415, "unsupported_content_encoding", "Send the body uncompressed, or with Content-Encoding gzip.")
    gzip = codings[0] != "deflate"
    out: list[bytes] = []
    size = 0
    rest = body
    try:
        while rest:  # a gzip stream may hold several members, one after the other
            stream = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
            chunk = stream.decompress(rest, MAX_BODY + 1 - size)
            size += len(chunk)
            out.append(chunk)
            if stream.unconsumed_tail or size > MAX_BODY:
                raise too_large()
            if not stream.eof:
                raise BodyError(400, "unreadable_body", f"The {codings[0]} body ends before its end.")
            rest = stream.unused_data if gzip else b""
    except zlib.error:
        raise BodyError(400, "unreadable_body", f"The body is not valid {codings[0]}.") from None
    return b"".join(out)


def _unquote(raw: bytes) -> str:
    if b"+" in raw:
        raw = raw.replace(b"+", b" ")
    if b"%" in raw:
        raw = unquote_to_bytes(raw)
    return raw.decode("utf-8", "replace")


def _urlencoded(data: bytes) -> list[tuple[str, str]]:
    """`a=1&b=2` as (name, value) pairs, percent-escapes decoded as UTF-8, invalid bytes replaced."""
    pairs = []
    for piece in data.split(b"&"):
        if piece:
            name, _, value = piece.partition(b"=")
            pairs.append((_unquote(name), _unquote(value)))
    if len(pairs) > MAX_PARTS:
        raise too_large()
    return pairs


def _multipart(body: bytes, boundary: str) -> list[tuple[str, str]]:
    """A multipart body's fields, all of them, or BodyError."""
    if not boundary:
        raise BodyError(400, "unreadable_body", "The multipart Content-Type names no boundary.")
    try:
        fields = read_form_fields(body, boundary, MAX_PARTS)
        if fields is None:
            fields = read_form_fields_leniently(body, boundary, MAX_PARTS)
    except ParserLimitReached:
        raise too_large() from None
    except ValueError:
        delimiter = b"--" + boundary.encode("utf-8", "replace")
        if not body.strip():
            fields = []
        elif delimiter not in body:
            raise BodyError(400, "unreadable_body", "The body does not contain the multipart boundary its Content-Type names.") from None
        elif delimiter + b"--" not in body:
            raise BodyError(400, "unreadable_body", "The multipart body ends before its closing delimiter.") from None
        else:
            raise BodyError(400, "unreadable_body", "The multipart body could not be read.") from None
    return fields


def _json_object(body: bytes) -> dict[str, Any]:
    """A JSON object's members; invalid UTF-8 replaced, nesting bounded."""
    body = body.removeprefix(b"\xef\xbb\xbf")
    try:
        try:
            value = json.loads(body)
        except UnicodeDecodeError:
            value = json.loads(body.decode("utf-8", "replace"))
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise BodyError(400, "unreadable_body", "The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise BodyError(400, "unreadable_body", "The JSON body must be an object.")
    # Nesting needs brackets: a body with few of them cannot be deep (Exotel's has about four).
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise _too_deep()
    return value


def _too_deep() -> BodyError:
    return BodyError(400, "too_deep", f"The JSON body nests deeper than {MAX_DEPTH} levels.")


def _depth(value: Any) -> int:
    """How deep lists and objects nest in `value` (iterative: any depth json.loads returns)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item if isinstance(child, (dict, list)))
    return deepest


def payload_json(payload: Any) -> str:
    """`payload` as strict JSON text (ASCII): what json_valid and jsonb accept, anything else replaced."""
    try:
        text = json.dumps(payload, ensure_ascii=True, allow_nan=False, default=str, separators=(",", ":"))
    except (ValueError, RecursionError):
        text = None
    if text is None or ("\\u" in text and _SUSPECT.search(text)):
        text = json.dumps(storable(payload), ensure_ascii=True, allow_nan=False, default=str, separators=(",", ":"))
    return text


def storable_text(text: str) -> str:
    """A string without NUL or lone surrogates (each replaced by U+FFFD)."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def storable(value: Any, depth: int = 0) -> Any:
    """A copy of a JSON-like value that strict JSON can hold: NaN and infinities as their names,
    strings (keys too) made storable, nesting past MAX_DEPTH replaced by its place-holder."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE.get(value, "NaN")
    if isinstance(value, (dict, list, tuple)) and depth >= MAX_DEPTH:
        return "(nested too deep)"
    if isinstance(value, dict):
        return {storable_text(str(key)): storable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item, depth + 1) for item in value]
    return value
