"""Known calls and events for the reporting tests: every expected number here is counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, text

from webapp.models import Call, CallEvent

A, B = "08047112345", "02248906789"
F1 = "http://my.exotel.com/acme1/exoml/start_voice/1001"
F2 = "http://my.exotel.com/acme1/exoml/start_voice/1002"


def at(text: str) -> datetime:
    """'2024-05-01 09:00:01.5' as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _call(key, created, status, *, sid=True, caller=A, flow=F1, placed=None, answered=None, ended=None, duration=None, custom=None, error=None):
    return {
        "id": f"00000000-0000-4000-8000-0000000000{key:02d}",
        "sid": f"sid{key:02d}" if sid else None,
        "from_number": f"+9198765432{key:02d}",
        "caller_id": caller,
        "flow_url": flow,
        "call_type": "trans",
        "custom_field": custom,
        "status": status,
        "error_code": error,
        "error_message": "refused" if error else None,
        "created_at": at(created),
        "placed_at": at(placed) if placed else None,
        "answered_at": at(answered) if answered else None,
        "ended_at": at(ended) if ended else None,
        "conversation_duration": duration,
        "updated_at": at(ended or answered or placed or created),
    }


CALLS = [
    # 2024-05-01: 6 calls, 4 placed, 2 answered (95 s and 30 s)
    _call(1, "2024-05-01 09:00:00.25", "completed", placed="2024-05-01 09:00:01", answered="2024-05-01 09:00:13.5",
          ended="2024-05-01 09:01:48.5", duration=95, custom="order-1"),
    _call(2, "2024-05-01 09:30:00", "completed", flow=F2, placed="2024-05-01 09:30:01",
          answered="2024-05-01 09:30:09.123456", ended="2024-05-01 09:30:39", duration=30, custom="=HYPERLINK(\"http://x\")"),
    _call(3, "2024-05-01 10:15:00", "no-answer", placed="2024-05-01 10:15:01", ended="2024-05-01 10:15:40", duration=0),
    _call(4, "2024-05-01 14:00:00", "busy", caller=B, placed="2024-05-01 14:00:01", ended="2024-05-01 14:00:06", duration=0),
    _call(5, "2024-05-01 14:05:00", "rejected", sid=False, caller=B, error="403", custom="-1+2"),
    _call(6, "2024-05-01 23:59:59.999999", "unknown", sid=False),
    # 2024-05-02: 6 calls, 5 placed (an unknown with a Sid counts), 2 answered (one without a duration yet)
    _call(7, "2024-05-02 00:00:00", "completed", caller=B, flow=F2, placed="2024-05-02 00:00:01",
          answered="2024-05-02 00:00:21", ended="2024-05-02 00:07:01", duration=400),
    _call(8, "2024-05-02 08:00:00", "failed", flow=F2, placed="2024-05-02 08:00:01", ended="2024-05-02 08:00:03", duration=0),
    _call(9, "2024-05-02 08:10:00", "unknown", placed="2024-05-02 08:10:01"),
    _call(10, "2024-05-02 08:20:00", "in-progress", placed="2024-05-02 08:20:01", answered="2024-05-02 08:20:06"),
    _call(11, "2024-05-02 08:30:00", "pending", sid=False, custom="@SUM(A1)"),
    _call(12, "2024-05-02 12:00:00", "canceled", caller=B, placed="2024-05-02 12:00:01", ended="2024-05-02 12:00:09", duration=0),
    # 2024-05-03: no calls. 2024-05-04: one refused call, so nothing placed (answer_rate NULL).
    _call(13, "2024-05-04 10:00:00", "rejected", sid=False, error="403"),
    # 2024-05-05: one answered call, 700 s.
    _call(14, "2024-05-05 11:00:00", "completed", placed="2024-05-05 11:00:01", answered="2024-05-05 11:00:04",
          ended="2024-05-05 11:11:44", duration=700, custom="+919876543210"),
]

# (call key or None for an orphan, event type, status)
EVENTS = [
    (1, "answered", "in-progress"), (1, "terminal", "completed"),
    (2, "answered", "in-progress"), (2, "terminal", "completed"),
    (3, "terminal", "no-answer"),
    (4, "terminal", "busy"),
    (7, "answered", "in-progress"), (7, "reconcile", "completed"),  # terminal callback missed
    (8, "terminal", "failed"), (8, "reconcile", "failed"),  # reconciled although the callback came
    (10, "answered", "in-progress"),
    (12, "terminal", "canceled"),
    (14, "answered", "in-progress"), (14, "terminal", "completed"), (14, "status", "completed"),
    (None, "terminal", "completed"),  # a Sid that matches no call
]

EVENT_COUNTS = {1: 2, 2: 2, 3: 1, 4: 1, 5: 0, 6: 0, 7: 2, 8: 2, 9: 0, 10: 1, 11: 0, 12: 1, 13: 0, 14: 3}
RING_SECONDS = {1: 12.5, 2: 8.123, 7: 20.0, 10: 5.0, 14: 3.0}
UNSETTLED = {6, 9, 10, 11}

# daily_call_stats, by hand: day -> (calls, placed, answered, completed, busy, no_answer, failed, rejected,
# answer_rate, avg_conversation_seconds)
DAILY = {
    "2024-05-01": (6, 4, 2, 2, 1, 1, 0, 1, 0.5, 62.5),
    "2024-05-02": (6, 5, 2, 1, 0, 0, 1, 0, 0.4, 400.0),
    "2024-05-04": (1, 0, 0, 0, 0, 0, 0, 1, None, None),
    "2024-05-05": (1, 1, 1, 1, 0, 0, 0, 0, 1.0, 700.0),
}


def call_id(key: int) -> str:
    return f"00000000-0000-4000-8000-0000000000{key:02d}"


def load_known_data(db) -> None:
    """Insert CALLS and EVENTS, and have the report cache rebuilt on its next use."""
    events = []
    for n, (key, event_type, status) in enumerate(EVENTS):
        events.append({
            "call_id": call_id(key) if key else None,
            "call_sid": f"sid{key:02d}" if key else "sid-unmatched",
            "event_type": event_type,
            "status": status,
            "occurred_at": at("2024-05-01 00:00:00"),
            "received_at": at("2024-05-01 00:00:00"),
            "payload": "{}",
            "dedup_key": f"known-{n}",
        })
    with db.transaction() as session:
        session.execute(insert(Call), CALLS)
        session.execute(insert(CallEvent), events)
        # Written behind the app's back (as a bulk import would be), with old updated_at stamps.
        session.execute(text("DELETE FROM report_refresh"))
