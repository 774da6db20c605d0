"""Reading a callback body: every field it carried, or the 4xx that says why; payloads as strict JSON."""

from __future__ import annotations

import gzip
import json
import zlib
from zoneinfo import ZoneInfo

import pytest

from webapp.exotel.body import MAX_BODY, MAX_DEPTH, BodyError, payload_json, read_callback
from webapp.exotel.callbacks import parse_callback

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
MULTIPART = {"Content-Type": "multipart/form-data; boundary=xyz"}
TERMINAL = b"CallSid=abc&EventType=terminal&Status=completed&DateUpdated=2026-11-27+14%3A01%3A30"


def multipart(fields: dict[str, str], boundary: str = "xyz", close: bool = True) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    return b"".join(parts) + (f"--{boundary}--\r\n".encode() if close else b"")


def refused(status: int, *args, **kwargs) -> BodyError:
    with pytest.raises(BodyError) as caught:
        read_callback(*args, **kwargs)
    assert caught.value.status == status
    assert caught.value.message
    return caught.value


def strict_loads(text: str):
    """json.loads that refuses NaN and Infinity, as a strict client does."""
    def refuse(name):
        raise ValueError(f"bare {name}")
    return json.loads(text, parse_constant=refuse)


def test_one_invalid_byte_is_replaced_not_the_whole_form_dropped():
    fields = read_callback("POST", FORM, TERMINAL + b"&Note=caf\xe9&Other=caf%E9")
    assert fields == {"CallSid": "abc", "EventType": "terminal", "Status": "completed",
                      "DateUpdated": "2026-11-27 14:01:30", "Note": "caf\ufffd", "Other": "caf\ufffd"}


def test_invalid_bytes_in_multipart_and_json_are_replaced_too():
    assert read_callback("POST", MULTIPART, multipart({"CallSid": "abc", "Note": "#"}).replace(b"#", b"\xff"))["Note"] == "\ufffd"
    assert read_callback("POST", JSON, b'{"CallSid": "abc", "Note": "caf\xe9"}') == {"CallSid": "abc", "Note": "caf\ufffd"}


def test_query_parameters_are_fields_and_the_body_wins():
    assert read_callback("GET", {}, b"", b"CallSid=abc&Status=busy") == {"CallSid": "abc", "Status": "busy"}
    assert read_callback("POST", FORM, b"Status=completed", b"CallSid=abc&Status=busy") == {"CallSid": "abc", "Status": "completed"}


def test_headers_may_be_a_plain_dict_in_lower_case():
    assert read_callback("POST", {"content-type": "application/json"}, b'{"CallSid": "abc"}') == {"CallSid": "abc"}


@pytest.mark.parametrize(
    "method, headers, body",
    [
        ("POST", {}, b""),
        ("POST", {}, b"  \r\n"),
        ("POST", FORM, b""),
        ("POST", MULTIPART, b""),
        ("POST", JSON, b""),
        ("POST", JSON, b"{}"),
        ("GET", {}, b""),
    ],
)
def test_a_callback_that_carries_no_field_is_a_400(method, headers, body):
    assert refused(400, method, headers, body).code == "empty_callback"


@pytest.mark.parametrize(
    "headers, body, words",
    [
        (MULTIPART, multipart({"CallSid": "abc", "Status": "completed"}, close=False), "closing delimiter"),
        (MULTIPART, multipart({"CallSid": "abc"})[:-4], "closing delimiter"),
        (MULTIPART, multipart({"CallSid": "abc"}, boundary="other"), "does not contain the multipart boundary"),
        ({"Content-Type": "multipart/form-data"}, multipart({"CallSid": "abc"}), "names no boundary"),
        ({"Content-Type": "multipart/form-data; boundary="}, multipart({"CallSid": "abc"}), "names no boundary"),
    ],
)
def test_multipart_that_cannot_be_read_in_full_is_a_400_that_says_why(headers, body, words):
    assert words in refused(400, "POST", headers, body).message


def test_multipart_that_bends_the_rfc_is_read_with_every_field():
    body = multipart({"CallSid": "abc", "Status": "completed"}).replace(b"\r\n", b"\n")
    assert read_callback("POST", MULTIPART, body) == {"CallSid": "abc", "Status": "completed"}


@pytest.mark.parametrize("coding, compress", [
    ("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress), ("GZIP, identity", gzip.compress),
])
def test_compressed_bodies_are_decoded(coding, compress):
    for headers, body in ((FORM, TERMINAL), (JSON, b'{"CallSid": "abc"}'), (MULTIPART, multipart({"CallSid": "abc"}))):
        fields = read_callback("POST", {**headers, "Content-Encoding": coding}, compress(body))
        assert fields["CallSid"] == "abc"


def test_gzip_with_several_members_keeps_them_all():
    body = gzip.compress(b"CallSid=abc&") + gzip.compress(b"Status=busy")
    assert read_callback("POST", {**FORM, "Content-Encoding": "gzip"}, body) == {"CallSid": "abc", "Status": "busy"}


def test_a_decompression_bomb_is_a_413():
    bomb = gzip.compress(b"CallSid=" + b"a" * (100 * MAX_BODY))
    assert len(bomb) < MAX_BODY // 8
    assert refused(413, "POST", {**FORM, "Content-Encoding": "gzip"}, bomb).code == "body_too_large"


# mtime=0: the same bytes (and test ids) in every xdist worker, which must all collect the same tests.
@pytest.mark.parametrize("coding, body, status", [
    ("gzip", b"not gzip at all", 400),
    ("gzip", gzip.compress(TERMINAL, mtime=0)[:-12], 400),  # cut short
    ("br", TERMINAL, 415),
    ("gzip, gzip", gzip.compress(gzip.compress(TERMINAL, mtime=0), mtime=0), 415),
])
def test_compressed_bodies_that_cannot_be_decoded_are_refused(coding, body, status):
    refused(status, "POST", {**FORM, "Content-Encoding": coding}, body)


def test_other_content_types_are_a_415_and_too_many_parts_a_413():
    assert refused(415, "POST", {"Content-Type": "text/xml"}, b"<xml/>").code == "unsupported_media_type"
    assert refused(415, "POST", {}, b"CallSid=abc").code == "unsupported_media_type"
    refused(413, "POST", FORM, b"&".join(b"f%d=1" % i for i in range(201)))


def test_json_nested_past_the_limit_is_a_400_however_deep():
    for depth in (MAX_DEPTH + 1, 900, 2_000, 100_000):
        body = b'{"CallSid": "abc", "Legs": ' + b"[" * depth + b"]" * depth + b"}"
        assert refused(400, "POST", JSON, body).code == "too_deep"
    legs = b'{"CallSid": "abc", "Legs": [{"Status": "completed", "Cause": {"Code": [1]}}]}'
    assert read_callback("POST", JSON, legs)["Legs"][0]["Cause"] == {"Code": [1]}


def test_legs_nested_deep_inside_a_form_field_are_data_not_an_error():
    deep = "[" * 2_000 + "]" * 2_000
    fields = read_callback("POST", FORM, TERMINAL + b"&Legs=" + deep.encode())
    event = parse_callback(fields, ZoneInfo("Asia/Kolkata"))
    assert event.legs == () and event.status == "completed"
    assert strict_loads(payload_json(event.payload))["Legs"] == deep


@pytest.mark.parametrize(
    "body, expected",
    [
        (b'{"Foo": "\\udc00", "Bar": "\\ud83d\\ude00"}', {"Foo": "\ufffd", "Bar": "\U0001f600"}),
        (b'{"Foo": "a\\u0000b", "\\u0000": 1}', {"Foo": "a\ufffdb", "\ufffd": 1}),
        (b'{"Foo": NaN, "Bar": [Infinity, -Infinity], "Baz": 1e400}', {"Foo": "NaN", "Bar": ["Infinity", "-Infinity"], "Baz": "Infinity"}),
        (b'{"Foo": "\\ud800x", "Legs": [{"AnsweredBy": "\\udfff"}]}', {"Foo": "\ufffdx", "Legs": [{"AnsweredBy": "\ufffd"}]}),
    ],
)
def test_stored_payloads_are_strict_json_that_keeps_what_it_can(body, expected):
    text = payload_json(read_callback("POST", JSON, body))
    assert text.isascii()
    assert strict_loads(text) == expected
    assert "\\u0000" not in text


def test_nul_in_form_values_is_replaced_in_the_payload():
    fields = read_callback("POST", FORM, TERMINAL + b"&Note=a%00b", b"Q=\x00")
    assert strict_loads(payload_json(fields))["Note"] == "a\ufffdb"
    assert strict_loads(payload_json(fields))["Q"] == "\ufffd"


def test_payload_json_leaves_ordinary_payloads_as_they_were():
    payload = {"CallSid": "abc", "CustomField": "order 42 — ₹499 \U0001f600 \\u0000",
               "Legs": [{"OnCallDuration": 84, "Ratio": 0.5}]}
    assert payload_json(payload) == json.dumps(payload, separators=(",", ":"))
