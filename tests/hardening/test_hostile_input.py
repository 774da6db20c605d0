"""Hostile input at the API, the calls list, its CSV and the reports: NUL, lone surrogates, huge numbers, odd dates.

Whatever arrives is a 2xx or a clear 4xx, never a 5xx; a refused call is neither
sent to Exotel nor stored; every API answer is strict JSON.
"""

from __future__ import annotations

import base64
import json
import os
import re
from datetime import datetime
from urllib.parse import quote

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.hardening.support import GENERATED, new_call
from tests.support.signin import csrf_token, sign_in
from tests.support.strict_json import strict_json
from webapp.db import get_db
from webapp.models import Call

# ~50 examples a test and database: seconds, not minutes (HOSTILE_EXAMPLES=500 for a longer search).
HOSTILE = settings(GENERATED, max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "50")))


@pytest.fixture
def browser(client, user):
    """The test client, signed in."""
    assert sign_in(client).status_code == 302
    return client


def count_calls(app) -> int:
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Call))


# --- The report filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, field",
    [
        ("flow=%00", "flow"),
        ("flow=http://my.exotel.com/x%00y", "flow"),
        ("exophone=%00", "exophone"),
        ("exophone=0804711%002345", "exophone"),
        ("exophone=" + "0" * 33, "exophone"),
        ("flow=" + "x" * 2001, "flow"),
        ("end=0001-01-01", "end"),  # the 30 days before it are not dates
        ("start=0001-01-01&end=0001-01-05", "start"),
        ("end=9999-12-31", "end"),  # the day after it is not a date
    ],
)
def test_report_filters_that_no_database_can_apply_are_explained(app, browser, query, field):
    """NUL (PostgreSQL refuses it in text), over-long text and days at the ends of the calendar: 400, beside the field."""
    new_call(app)
    response = browser.get(f"/reports?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    page = response.get_data(as_text=True)
    match = re.search(rf'<p class="error" id="r-{field}-error">([^<]+)</p>', page)
    assert match, f"no error beside {field}"
    table = browser.get(f"/reports/daily.csv?{query}")
    assert table.status_code == 400 and match.group(1).strip() in table.get_data(as_text=True)


def test_the_last_report_days_of_the_calendar_still_work(browser):
    assert browser.get("/reports?start=9999-12-01&end=9999-12-30").status_code == 200
    assert browser.get("/reports?start=0002-01-02&end=0002-01-05").status_code == 200


# --- The place-a-call form ---------------------------------------------------------------------------------


def _form(client) -> dict[str, str]:
    page = client.get("/calls/new").get_data(as_text=True)
    nonce = re.search(r'name="nonce"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="nonce"', page)
    return {
        "csrf_token": csrf_token(page), "nonce": nonce.group(1) or nonce.group(2), "from_number": "+91 98765 43210",
        "caller_id": "08047112345", "flow": "123456", "call_type": "trans", "custom_field": "", "event_terminal": "y",
    }


@pytest.mark.parametrize(
    "field, value",
    [("flow", "http://my.exotel.com/x/\x00"), ("custom_field", "a\x00b"), ("from_number", "+9198765\x0043210"),
     ("caller_id", "0804711\x002345"), ("nonce", "key-\x00")],
)
def test_nul_in_the_place_a_call_form_is_refused(app, browser, sim, field, value):
    """A 422 with the reason on the page; nothing sent to Exotel, no row."""
    data = _form(browser)
    data[field] = value
    response = browser.post("/calls/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "NUL" in page or "altered" in page or "not a" in page
    assert sim.state.connect_requests == 0 and count_calls(app) == 0


# --- Generated input ---------------------------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Long values, drawn by name so that a failing example's report stays short; the tests expand them.
LONG = {
    "<3,000 x>": "x" * 3000,
    "<5,000 nines>": "9" * 5000,
    "<cursor of 100,000 [>": _b64(b"[" * 100_000),
    "<100,000 [>": "[" * 100_000,
    "<100,000 {>": '{"from":' * 100_000,
    "<from of 5,000 nines>": '{"from": "' + "9" * 5000 + '"}',
}


def expand(value: str) -> str:
    """`value` with each name of LONG in it (in a query value or a JSON text) replaced by the long text."""
    for name, long in LONG.items():
        if name in value:
            value = value.replace(name, long)
    return value


# Any code point, lone surrogates (category Cs) and NUL included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
hostile_text = st.one_of(
    any_text,
    any_text.map(lambda text: text + "\x00"),
    any_text.map(lambda text: "\ud800" + text),
    st.sampled_from(["\x00", "%00", "\udc00", "\ud83d", "\ufffd", "\u202e", "<3,000 x>"]),
)
huge_numbers = st.one_of(
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from(["<5,000 nines>", "1e309", "-0", "²", "①", "٣", "５", "NaN", "Infinity", "-1", "0", "201", "0x10", " 5"]),
)
_offsets = st.sampled_from(["", "Z", "+00:00", "+05:30", "-05:00", "+23:59", "-23:59", "+24:00", "+00:00:01"])
_stamps = st.datetimes(max_value=datetime(1, 1, 2)) | st.datetimes(min_value=datetime(9999, 12, 30)) | st.datetimes()
# Mostly days and times near the ends of the calendar, where an offset or the day after leaves it.
odd_dates = st.one_of(
    st.sampled_from([
        "0001-01-01", "9999-12-31", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0000-00-00",
        "10000-01-01", "2024-02-30", "2024-13-01", "2024-W01-1", "20240101", "yesterday",
    ]),
    st.builds(lambda when, offset: when.isoformat() + offset, _stamps, _offsets),
    _stamps.map(lambda when: when.date().isoformat()),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text | odd_dates,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=6,
)


cursors = st.one_of(
    st.binary(max_size=120).map(_b64),
    json_values.map(lambda value: _b64(json.dumps(value).encode())),
    st.tuples(odd_dates, hostile_text).map(lambda pair: _b64(json.dumps(list(pair)).encode())),
    st.just("<cursor of 100,000 [>"),
)
values = st.one_of(hostile_text, huge_numbers, odd_dates, cursors)
# What each parameter is meant to hold, made odd; any other hostile value half of the time.
TYPED = {"since": odd_dates, "until": odd_dates, "start": odd_dates, "end": odd_dates, "limit": huge_numbers, "cursor": cursors}

ENDPOINTS = {
    "/api/calls": ("status", "from", "since", "until", "limit", "cursor", "custom_field"),
    "/calls": ("status", "number", "sid", "exophone", "flow", "created_by", "since", "until", "q", "cursor"),
    "/calls.csv": ("status", "number", "sid", "exophone", "flow", "created_by", "since", "until", "q"),
    "/reports": ("start", "end", "exophone", "flow"),
    "/reports/daily.csv": ("start", "end", "exophone", "flow"),
}


def _query(pairs) -> str:
    """A query string as a client would send it; a lone surrogate goes as the bytes a sloppy encoder writes."""
    return "&".join(f"{quote(expand(key), safe='', errors='surrogatepass')}={quote(expand(value), safe='', errors='surrogatepass')}"
                    for key, value in pairs)


def _pairs(path: str):
    """One to four of the endpoint's parameters with odd values, and now and then an odd parameter name."""
    named = st.sampled_from(ENDPOINTS[path]).flatmap(
        lambda name: st.tuples(st.just(name), st.one_of(TYPED.get(name, hostile_text), values))
    )
    return st.tuples(st.lists(named, min_size=1, max_size=4), st.lists(st.tuples(hostile_text, values), max_size=1)).map(
        lambda parts: parts[0] + parts[1]
    )


requests_ = st.sampled_from(sorted(ENDPOINTS)).flatmap(lambda path: st.tuples(st.just(path), _pairs(path)))


@given(asked=requests_)
@HOSTILE
def test_generated_query_strings_never_get_a_5xx(app, browser, auth_headers, asked):
    """The list, its CSV, the reports and the API under NUL, surrogates, huge numbers and odd dates: 200 or 400."""
    if count_calls(app) == 0:
        new_call(app)
    path, pairs = asked
    response = browser.get(path, query_string=_query(pairs), headers=auth_headers)
    body = response.get_data()  # a streamed CSV fails, if it fails, while it is read
    note(f"{path}?{_query(pairs)[:300]} -> {response.status_code} {body[:300]!r}")
    assert response.status_code in (200, 400)
    if path.startswith("/api/"):
        answer = strict_json(response)
        assert ("error" in answer) == (response.status_code == 400)


GOOD = {
    "from": ["+919876543210", "098765 43210"], "caller_id": ["08047112345"], "app_id": ["4242", 4242],
    "flow_url": ["http://my.exotel.com/testaccount/exoml/start_voice/1"], "call_type": ["trans", "promo"],
    "time_limit": [60, "60"], "time_out": [30], "custom_field": ["order-42"],
    "status_callback_events": [["answered", "terminal"], []],
}


def _as_number(text: str) -> int | str:
    text = expand(text)
    return int(text) if re.fullmatch(r"-?[0-9]{1,41}", text) else text


body_values = st.one_of(json_values, huge_numbers.map(_as_number))
call_bodies = st.fixed_dictionaries(
    {"from": st.sampled_from(GOOD["from"]) | body_values},
    optional={name: st.sampled_from(choices) | body_values for name, choices in GOOD.items() if name != "from"}
    | {"extra": body_values},
)
raw_bodies = st.one_of(
    call_bodies.map(json.dumps),  # lone surrogates as \\ud800 escapes, NaN and Infinity as Python writes them
    json_values.map(json.dumps),
    st.sampled_from(["<100,000 [>", "<100,000 {>", "", "null", '{"from": 1e999}', "<from of 5,000 nines>"]),
    st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")),
)
keys = st.none() | st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=40)


@given(body=raw_bodies, key=keys)
@HOSTILE
def test_generated_call_requests_never_get_a_5xx(app, client, auth_headers, sim, body, key):
    """POST /api/calls: a 4xx stores nothing and sends nothing; a placed call is stored; never a 5xx Exotel did not cause."""
    before, sent, body = count_calls(app), sim.state.connect_requests, expand(body)
    headers = {**auth_headers, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.post("/api/calls", data=body.encode("utf-8", "surrogatepass"), headers=headers)
    note(f"{body[:300]!r} -> {response.status_code} {response.get_data()[:300]!r}")
    answer = strict_json(response)
    assert response.status_code in (200, 201, 400, 422, 502)  # 502: the simulator refused a number, as Exotel may
    if response.status_code in (400, 422):
        assert answer["error"]["code"] and answer["error"]["message"]
        assert count_calls(app) == before and sim.state.connect_requests == sent
    elif response.status_code in (201, 502):
        assert count_calls(app) == before + 1  # the call row, with Exotel's answer
