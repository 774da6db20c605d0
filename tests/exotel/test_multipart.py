"""The fast multipart reader agrees with werkzeug, and hands back what it cannot read."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.filepost import encode_multipart_formdata
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart
from werkzeug.wrappers import Request

from webapp.exotel.callbacks import fields_from_form
from webapp.exotel.multipart import ParserLimitReached, read_form_fields, read_form_fields_leniently

EXAMPLES = 300 if os.environ.get("CI") else 100


def werkzeug_fields(content_type: str, body: bytes) -> dict:
    """The fields werkzeug reads, as the callback sees them (repeated names as lists)."""
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}
    request = Request(environ)
    try:
        return fields_from_form(request.form.items(multi=True))
    finally:
        request.close()  # the file parts werkzeug spooled


def encode(values) -> tuple[str, str, bytes]:
    """(Content-Type, boundary, body) of a multipart body, as werkzeug's test client writes it."""
    boundary, body = encode_multipart(values)
    return f"multipart/form-data; boundary={boundary}", boundary, body


def test_an_exotel_terminal_callback_reads_as_werkzeug_reads_it():
    values = {"CallSid": "5e0a1b2c", "EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:01:30",
              "Legs[0][Status]": "completed", "Legs[0][OnCallDuration]": "84", "CustomField": "order 42 — ₹499"}
    content_type, boundary, body = encode(values)
    fields = read_form_fields(body, boundary, 200)
    assert fields_from_form(fields) == werkzeug_fields(content_type, body)
    assert dict(fields)["CustomField"] == "order 42 — ₹499"


# Field names as a client writes them: no quotes, backslashes or line breaks
# (encode_multipart does not escape them). Values are any text at all.
names = st.text(st.characters(blacklist_characters='"\\\r\n', blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=bool(os.environ.get("CI")))
@given(fields=st.lists(st.tuples(names, values), max_size=30))
def test_any_form_a_client_library_writes_reads_the_same_as_werkzeug(fields):
    # urllib3 (under requests) writes bodies as the RFC does: read by the fast parser itself.
    body, content_type = encode_multipart_formdata(fields)
    boundary = content_type.split("boundary=", 1)[1]
    assert fields_from_form(read_form_fields(body, boundary, 200)) == werkzeug_fields(content_type, body)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=bool(os.environ.get("CI")))
@given(fields=st.lists(st.tuples(names, values), max_size=30))
def test_what_the_fast_parser_reads_it_reads_as_werkzeug_does(fields):
    # werkzeug's own test encoder shares one CRLF between an empty value and the next
    # delimiter, which the RFC-strict parser refuses: those bodies go back to werkzeug.
    content_type, boundary, body = encode(MultiDict(fields))
    fast = read_form_fields(body, boundary, 200)
    assert fast is None or fields_from_form(fast) == werkzeug_fields(content_type, body)
    if all(value for _, value in fields):
        assert fast is not None


def test_file_parts_are_fields_too_by_either_parser():
    # A part with a filename is still a field the sender sent: kept, as text (werkzeug's
    # request.form alone would leave it out).
    body = (b"--b\r\nContent-Disposition: form-data; name=\"CallSid\"\r\n\r\nabc\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"x.txt\"\r\n"
            b"Content-Type: text/plain\r\n\r\nfile body \xff\r\n--b--\r\n")
    expected = [("CallSid", "abc"), ("upload", "file body \ufffd")]
    assert read_form_fields(body, "b", 200) == expected
    assert read_form_fields_leniently(body.replace(b"\r\n", b"\n"), "b", 200) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",  # no closing delimiter
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b",  # cut inside it
        b"--c\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--c--\r\n",  # another boundary
        b"garbage",
    ],
)
def test_what_neither_parser_can_read_in_full_is_an_error_not_an_empty_form(body):
    assert read_form_fields(body, "b", 200) is None
    with pytest.raises(ValueError):
        read_form_fields_leniently(body, "b", 200)


@pytest.mark.parametrize(
    "body",
    [
        b"--b\nContent-Disposition: form-data; name=\"a\"\n\n1\n--b--\n",  # bare LF line breaks
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",  # no closing delimiter
        b"--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--\r\n",  # no Content-Disposition
        b"garbage",
    ],
)
def test_what_it_cannot_read_is_handed_back(body):
    assert read_form_fields(body, "b", 200) is None


def test_too_many_parts_is_a_limit_not_a_fallback():
    _, boundary, body = encode({f"f{i}": "1" for i in range(201)})
    with pytest.raises(ParserLimitReached):
        read_form_fields(body, boundary, 200)
    assert len(read_form_fields(body, boundary, 201)) == 201
