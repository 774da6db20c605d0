"""A call's timeline: steps in the order they happened whatever order the callbacks came in, ring and talk time, outcomes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.support.calls import add_call, callback_path
from webapp.web.browser.timeline import duration_words

# Exotel writes its account's local time (Asia/Kolkata here): 11:30:00 IST is 06:00:00 UTC.
PLACED = datetime(2024, 5, 10, 6, 0, 1, tzinfo=UTC)
SID = "c0ffee00c0ffee00c0ffee00c0ffee00"


def _steps(page: str) -> list[str]:
    return re.findall(r'<li class="tl-[^"]*" data-step="([a-z]+)"', page)


def _step(page: str, key: str) -> str:
    match = re.search(rf'<li class="[^"]*" data-step="{key}".*?</li>', page, re.S)
    assert match, key
    return match.group(0)


def _post(client, call_id: str, **fields: str) -> None:
    response = client.post(callback_path(call_id), data={"CallSid": SID, **fields})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_callbacks_out_of_order_show_in_the_order_they_happened(app, client, signed_in):
    call = add_call(app, sid=SID, status="in-progress", created_at=PLACED.replace(second=0), placed_at=PLACED)
    # The terminal callback arrives first; the answered one is delivered later (Exotel's retry).
    _post(client, call.id, EventType="terminal", Status="completed", DateUpdated="2024-05-10 11:30:47",
          EndTime="2024-05-10 11:30:47", ConversationDuration="42")
    _post(client, call.id, EventType="answered", Status="in-progress", DateUpdated="2024-05-10 11:30:05")
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert _steps(page) == ["requested", "accepted", "answered", "terminal"]
    answered, ended = _step(page, "answered"), _step(page, "terminal")
    assert '<time datetime="2024-05-10T06:00:05+00:00" title="Received ' in answered  # Exotel's time; ours on hover
    assert 'class="small muted tl-received">received <time' in answered  # ...and beside it
    assert "Ring time 4 s" in answered
    assert "Talk time 42 s" in ended
    assert "tl-end tl-good" in ended and 'data-outcome="completed">Completed</span>' in ended


def test_an_unsuccessful_end_says_how_and_why_and_is_not_green(app, client, signed_in):
    failed = add_call(app, sid=SID, status="in-progress", created_at=PLACED, placed_at=PLACED)
    _post(client, failed.id, EventType="terminal", Status="failed", DateUpdated="2024-05-10 11:30:02",
          Cause="Subscriber absent", CauseCode="20", DisconnectedBy="network")
    page = signed_in.get(f"/calls/{failed.id}").get_data(as_text=True)
    ended = _step(page, "terminal")
    assert "tl-end tl-bad" in ended and "tl-good" not in ended and ">Failed</span>" in ended
    assert 'Exotel said: “Subscriber absent”; cause code 20; hung up by network.' in ended
    assert "1 s after it was placed" in ended

    busy = add_call(app, sid="b" * 32, status="in-progress", created_at=PLACED, placed_at=PLACED)
    response = client.post(callback_path(busy.id), data={"CallSid": "b" * 32, "Status": "busy",
                                                           "DateUpdated": "2024-05-10 11:30:04"})
    assert response.status_code == 200
    page = signed_in.get(f"/calls/{busy.id}").get_data(as_text=True)
    ended = _step(page, "status")
    assert "Ended <span" in ended and "tl-end tl-warn" in ended and ">Busy</span>" in ended and "Rang 3 s before the line was busy" in ended


def test_an_answer_known_only_from_the_end_is_shown_and_says_so(app, client, signed_in):
    call = add_call(app, sid=SID, status="in-progress", created_at=PLACED, placed_at=PLACED)
    _post(client, call.id, EventType="terminal", Status="completed", DateUpdated="2024-05-10 11:31:00",
          EndTime="2024-05-10 11:31:00", ConversationDuration="50")
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert _steps(page) == ["requested", "accepted", "answered", "terminal"]
    answered = _step(page, "answered")
    assert "No answered callback arrived" in answered and "Ring time 9 s" in answered
    assert "Talk time 50 s" in _step(page, "terminal")


def test_durations_read_as_people_say_them():
    assert [duration_words(s) for s in (0.4, 5, 42, 60, 125, 3600, 3725)] == [
        "0.4 s", "5 s", "42 s", "1 min", "2 min 5 s", "1 h", "1 h 2 min"]
