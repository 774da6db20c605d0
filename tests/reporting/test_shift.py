"""The shift's home page: its figures at a given moment, its page, and its JSON that answers 304 while unchanged."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from known_data import CALLS, at, call_id, load_known_data
from sqlalchemy import insert

from webapp.db import get_db
from webapp.models import Call
from webapp.reporting.shift import WorkerState, shift_summary

NOON_MAY_2 = at("2024-05-02 06:30:00")  # 12:00 in India


def test_shift_figures_in_india_at_noon_on_may_2(known):
    shift = shift_summary(known.engine, known.session(), "Asia/Kolkata", now=NOON_MAY_2)
    assert shift.today.isoformat() == "2024-05-02"
    # May 2 in India runs from 18:30 UTC on May 1: calls 6 to 12.
    assert shift.today_counts.calls == 7
    assert (shift.today_counts.placed, shift.today_counts.answered) == (5, 2)
    assert shift.today_counts.answer_rate == 0.4
    # The seven days before: April 25 to May 1 in India hold calls 1 to 5 (4 placed, 2 answered).
    assert shift.baseline.calls == 5 and shift.baseline.answer_rate == 0.5
    assert shift.in_flight == {"pending": 1, "queued": 0, "ringing": 0, "in-progress": 1}
    assert shift.unanswered == 0  # call 10 was answered
    assert shift.unsettled == 2  # calls 6 and 9
    assert [call.id for call in shift.failures] == [call_id(13), call_id(8), call_id(5)]
    assert shift.worker is None


def test_shift_in_utc_counts_utc_days(known):
    shift = shift_summary(known.engine, known.session(), "UTC", now=NOON_MAY_2)
    assert shift.today_counts.calls == 6  # calls 7 to 12
    assert shift.baseline.calls == 6  # May 1, UTC


def test_worker_state_comes_from_the_hook(known):
    seen = WorkerState(True, NOON_MAY_2)
    shift = shift_summary(known.engine, known.session(), "UTC", now=NOON_MAY_2, worker=lambda: seen)
    assert shift.worker == seen


def test_version_changes_with_what_the_page_shows(known):
    first = shift_summary(known.engine, known.session(), "UTC", now=NOON_MAY_2).version()
    assert shift_summary(known.engine, known.session(), "UTC", now=NOON_MAY_2).version() == first
    with known.transaction() as session:
        session.execute(insert(Call), [dict(CALLS[7], id="00000000-0000-4000-8000-000000000077", sid="sid77",
                                            created_at=at("2024-05-02 06:00:00"), updated_at=datetime.now(UTC))])
    assert shift_summary(known.engine, known.session(), "UTC", now=NOON_MAY_2).version() != first


@pytest.fixture
def signed_in(app, signed_in):
    """The signed-in client (tests/support/fixtures.py) over the known calls; no app context stays open
    across its requests."""
    with app.app_context():
        load_known_data(get_db())
    return signed_in


def _add_failure(app, key: int) -> str:
    """A failed call created now; its id."""
    new_id = f"00000000-0000-4000-8000-0000000000{key:02d}"
    with app.app_context(), get_db().transaction() as session:
        session.execute(insert(Call), [dict(CALLS[7], id=new_id, sid=f"sid{key:02d}",
                                            created_at=datetime.now(UTC), updated_at=datetime.now(UTC))])
    return new_id


def test_home_page_links_each_figure_to_the_filtered_list(signed_in):
    response = signed_in.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for link in ('href="/calls?status=failed"', 'href="/calls?status=rejected"', 'href="/calls?status=calling"',
                 'href="/calls?status=talking"', 'href="/calls?status=pending"', 'href="/calls?status=unknown"',
                 "/calls?since="):
        assert link in html, link
    assert f'href="/calls/{call_id(13)}"' in html  # the latest refusal
    assert 'id="shift-live"' in html and 'data-poll-url="/home.json"' in html
    assert "No worker is running" in html and "reports no worker heartbeat" not in html  # the tile is wired


def test_home_json_answers_304_until_something_changes(signed_in, app):
    first = signed_in.get("/home.json")
    assert first.status_code == 200 and first.headers["ETag"]
    assert first.get_json()["version"] in first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-store"
    same = signed_in.get("/home.json", headers={"If-None-Match": first.headers["ETag"]})
    assert same.status_code == 304 and same.data == b""
    new_id = _add_failure(app, 78)
    changed = signed_in.get("/home.json", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    html = changed.get_json()["html"]
    assert f'href="/calls/{new_id}"' in html  # the new failure, listed first
    assert html.index(new_id) < html.index(call_id(13))


def test_home_needs_sign_in(client):
    assert client.get("/home.json").status_code == 401  # JSON: no redirect to a page
    assert client.get("/").status_code == 302


def test_in_flight_says_calling_until_the_call_is_answered(app, signed_in):
    """Exotel says in-progress from the moment it accepts a call: the home page counts it as calling until answered."""
    with app.app_context():
        with get_db().transaction() as session:
            session.execute(insert(Call), [dict(CALLS[9], id="00000000-0000-4000-8000-000000000078", sid="sid78",
                                                answered_at=None, updated_at=datetime.now(UTC))])
        shift = shift_summary(get_db().engine, get_db().session(), "UTC", now=NOON_MAY_2)
    assert shift.in_flight["in-progress"] == 2 and shift.unanswered == 1
    tile = signed_in.get("/").get_data(as_text=True)
    assert re.search(r'status=calling">Calling</a> <span class="num">1</span>', tile)
    assert re.search(r'status=talking">In progress</a> <span class="num">1</span>', tile)
