"""Finding calls: the list's filters as queries, on SQLite and PostgreSQL alike (the `database_url` fixture runs both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from tests.support.calls import FLOW, add_call
from webapp.calls.queries import CallFilters, call_rows, count_calls, list_calls
from webapp.web.browser.filters import list_filters

T0 = datetime(2024, 5, 10, 6, 0, tzinfo=UTC)
OTHER_FLOW = "http://my.exotel.com/testaccount/exoml/start_voice/77"


@pytest.fixture
def calls(app):
    """Five calls, newest last; keyed by a short name."""
    rows = {
        "mobile": dict(from_number="+919876543212", sid="a1b2c3d4e5f6", created_by="user:ops@example.com"),
        "neighbour": dict(from_number="+919876543213", sid="f6e5d4c3b2a1", caller_id="02248906789", flow_url=OTHER_FLOW,
                          created_by="token:crm"),
        "same_end": dict(from_number="+919812343212", flow_url="https://flows.example.com/ivr", created_by="token:crm"),
        # Numbers no valid call has, holding LIKE's wildcards literally: only an escaped pattern tells them apart.
        "percent": dict(from_number="+91987%43212", status="in-progress"),
        "underscore": dict(from_number="+9198_6543212", status="in-progress", answered_at=T0),
    }
    return {name: add_call(app, created_at=T0 + timedelta(minutes=i), **values).id for i, (name, values) in enumerate(rows.items())}


def _found(db, filters: CallFilters) -> tuple[list[str], int]:
    """The ids the list shows (newest first) and the count above it."""
    session = db.session()
    return [call.id for call in list_calls(session, filters).calls], count_calls(session, filters)


def _named(calls: dict[str, str], *names: str) -> list[str]:
    """The ids of `names`, newest first as the list orders them."""
    order = list(calls)
    return [calls[name] for name in sorted(names, key=order.index, reverse=True)]


def _from_query(app, **args: str) -> tuple[CallFilters, dict[str, str]]:
    with app.test_request_context():
        return list_filters(MultiDict(args))


def test_the_last_digits_find_every_number_ending_in_them(app, db, calls):
    filters, errors = _from_query(app, number="43212")
    assert errors == {} and filters.number_suffix == "43212" and filters.from_number is None
    assert _found(db, filters) == (_named(calls, "mobile", "same_end", "percent", "underscore"), 4)
    for written in ("5-43212", " 543 212 ", "(5) 43.212"):
        assert _found(db, _from_query(app, number=written)[0])[0] == _named(calls, "mobile", "underscore"), written


def test_a_whole_number_in_any_format_finds_that_number(app, db, calls):
    for written in ("+91 98765-43212", "098765 43212", "+919876543212", "98765 43212", "(0)98765-43212"):
        filters, errors = _from_query(app, number=written)
        assert errors == {} and filters.from_number == "+919876543212", written
        assert _found(db, filters) == ([calls["mobile"]], 1), written


def test_what_is_no_number_or_no_ending_of_one_is_explained_and_left_out(app, db, calls):
    for written in ("%", "_", "4%2", "43_12", "ab", "+91 98765", "1234567890123456", "212", "2-12"):
        filters, errors = _from_query(app, number=written)
        assert set(errors) == {"number"}, written
        assert filters.number_suffix is None and filters.from_number is None, written
        assert _found(db, filters)[1] == len(calls), written  # the table still shows, without that filter


def test_like_wildcards_in_a_suffix_match_only_themselves(db, calls):
    assert _found(db, CallFilters(number_suffix="%43212")) == ([calls["percent"]], 1)
    assert _found(db, CallFilters(number_suffix="_6543212")) == ([calls["underscore"]], 1)
    assert _found(db, CallFilters(number_suffix="%")) == ([], 0)
    assert _found(db, CallFilters(number_suffix="_")) == ([], 0)
    assert _found(db, CallFilters(app_id="%")) == ([], 0)
    assert _found(db, CallFilters(custom_field="%")) == ([], 0)


def test_sid_exophone_flow_and_who_placed_it(app, db, calls):
    assert _found(db, _from_query(app, sid="  a1b2c3d4e5f6 ")[0]) == ([calls["mobile"]], 1)  # exact, spaces forgiven
    assert _found(db, _from_query(app, sid="a1b2c3")[0]) == ([], 0)  # no prefix match
    filters, errors = _from_query(app, sid="x" * 65)
    assert set(errors) == {"sid"} and filters.sid is None
    assert _found(db, _from_query(app, exophone="022 4890-6789")[0]) == ([calls["neighbour"]], 1)
    assert _found(db, _from_query(app, flow=FLOW)[0])[0] == _named(calls, "mobile", "percent", "underscore")
    assert _found(db, _from_query(app, flow="77")[0]) == ([calls["neighbour"]], 1)  # an app id of App Bazaar
    assert _found(db, _from_query(app, flow="7")[0]) == ([], 0)  # ...whole, not its last digits
    both = _from_query(app, exophone="08047112345", flow="https://flows.example.com/ivr")[0]
    assert _found(db, both) == ([calls["same_end"]], 1)
    assert _found(db, _from_query(app, created_by="token:crm")[0]) == (_named(calls, "neighbour", "same_end"), 2)
    assert _found(db, _from_query(app, created_by=" user:ops@example.com ")[0]) == ([calls["mobile"]], 1)


def test_filters_combine_and_the_count_ignores_the_page(app, db, calls):
    assert _found(db, _from_query(app, status="calling")[0]) == ([calls["percent"]], 1)  # in progress, not answered
    assert _found(db, _from_query(app, status="talking")[0]) == ([calls["underscore"]], 1)
    # The stored status, as links and scripts have always used it: both.
    assert _found(db, _from_query(app, status="in-progress")[0])[1] == 2
    filters = _from_query(app, number="3212", created_by="token:crm")[0]
    assert _found(db, filters) == ([calls["same_end"]], 1)
    session = db.session()
    page = list_calls(session, CallFilters(number_suffix="3212"), limit=2)
    assert len(page.calls) == 2 and page.next_cursor and count_calls(session, CallFilters(number_suffix="3212")) == 4
    assert count_calls(session, CallFilters(), cap=2) == 3  # counted no further than "more than 2"


    # The CSV export streams the same selection.
    filters = _from_query(app, number="43212", exophone="08047112345", flow="4242")[0]
    rows = list(call_rows(db.engine, filters, ("id", "from_number")))
    assert [row[0] for row in rows] == _named(calls, "mobile", "percent", "underscore")
