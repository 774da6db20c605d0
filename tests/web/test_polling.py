"""What the pages poll stays cheap: one query for the list's live rows, 304 when nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, insert, update

from webapp.db import get_db
from webapp.models import Call

IDS = [f"00000000-0000-4000-8000-0000000001{n:02d}" for n in range(5)]


@pytest.fixture
def live_calls(app):
    """Five ringing calls; no app context stays open across the test's requests."""
    now = datetime.now(UTC)
    with app.app_context(), get_db().transaction() as session:
        session.execute(insert(Call), [
            {"id": call_id, "sid": f"poll{n}", "from_number": f"+91987654{n:04d}", "caller_id": "08047112345",
             "flow_url": "http://my.exotel.com/acme1/exoml/start_voice/1", "status": "ringing",
             "created_at": now, "updated_at": now}
            for n, call_id in enumerate(IDS)
        ])
    return app


def _set_status(app, call_id: str, status: str) -> None:
    with app.app_context(), get_db().transaction() as session:
        session.execute(update(Call).where(Call.id == call_id).values(status=status, updated_at=datetime.now(UTC)))


def _calls_queries(app, action) -> int:
    """How many statements reading the calls table `action` sends."""
    seen: list[str] = []
    engine = app.extensions["database"].engine

    def count(_conn, _cursor, statement, *_args):
        if "FROM calls" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_list_polls_its_live_rows_in_one_query(signed_in, live_calls):
    responses = []
    queries = _calls_queries(live_calls, lambda: responses.append(signed_in.get(f"/calls/status.json?ids={','.join(IDS)}")))
    assert responses[0].status_code == 200
    assert set(responses[0].get_json()["calls"]) == set(IDS)
    assert queries == 1


def test_the_list_poll_answers_304_until_a_row_changes(signed_in, live_calls):
    url = f"/calls/status.json?ids={','.join(IDS)}"
    first = signed_in.get(url)
    tag = first.headers["ETag"]
    assert signed_in.get(url, headers={"If-None-Match": tag}).status_code == 304
    _set_status(live_calls, IDS[2], "in-progress")
    changed = signed_in.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert changed.get_json()["calls"][IDS[2]]["status"] == "in-progress"


def test_the_call_page_poll_answers_304_while_the_call_is_unchanged(signed_in, live_calls):
    url = f"/calls/{IDS[0]}/status.json"
    first = signed_in.get(url)
    assert first.status_code == 200 and first.get_json()["status"] == "ringing"
    assert signed_in.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    _set_status(live_calls, IDS[0], "completed")
    after = signed_in.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.get_json()["final"] is True
