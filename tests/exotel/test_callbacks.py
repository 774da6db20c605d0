"""Parsing callback bodies: every encoding, Legs both ways, odd fields, time zones."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from webapp.exotel.callbacks import Leg, fields_from_form, parse_callback, parse_exotel_time

IST = ZoneInfo("Asia/Kolkata")

TERMINAL_FORM = [
    ("CallSid", "b6cfaf0a2d4e5b1a7c9d0e1f2a3b4c5d"),
    ("EventType", "terminal"),
    ("Status", "completed"),
    ("DateCreated", "2026-11-27 14:00:00"),
    ("DateUpdated", "2026-11-27 14:01:30"),
    ("StartTime", "2026-11-27 14:00:00"),
    ("EndTime", "2026-11-27 14:01:29"),
    ("ConversationDuration", "75"),
    ("RecordingUrl", "https://recordings.exotel.com/x.mp3"),
    ("CustomField", "order-42"),
    ("Legs[0][Status]", "completed"),
    ("Legs[0][OnCallDuration]", "75"),
    ("Legs[0][AnsweredBy]", "human"),
    ("Legs[1][Status]", "no-answer"),
    ("Legs[1][OnCallDuration]", "0"),
]

TERMINAL_JSON = {
    "CallSid": "b6cfaf0a2d4e5b1a7c9d0e1f2a3b4c5d",
    "EventType": "terminal",
    "Status": "completed",
    "DateCreated": "2026-11-27 14:00:00",
    "DateUpdated": "2026-11-27 14:01:30",
    "StartTime": "2026-11-27 14:00:00",
    "EndTime": "2026-11-27 14:01:29",
    "ConversationDuration": 75,
    "RecordingUrl": "https://recordings.exotel.com/x.mp3",
    "CustomField": "order-42",
    "Legs": [
        {"Status": "completed", "OnCallDuration": 75, "AnsweredBy": "human"},
        {"Status": "no-answer", "OnCallDuration": 0},
    ],
}


def test_form_terminal_is_read_in_ist_and_stored_utc():
    event = parse_callback(fields_from_form(TERMINAL_FORM), IST)
    assert event.event_type == "terminal"
    assert event.status == "completed"
    assert event.proposed_status == "completed"
    assert event.occurred_at == datetime(2026, 11, 27, 8, 31, 30, tzinfo=UTC)
    assert event.ended_at == datetime(2026, 11, 27, 8, 31, 29, tzinfo=UTC)
    assert event.conversation_duration == 75
    assert event.answered_at == datetime(2026, 11, 27, 8, 30, 14, tzinfo=UTC)
    assert event.answered_by == "human"
    assert event.legs == (Leg("completed", 75, "human"), Leg("no-answer", 0, None))


def test_json_and_form_bodies_give_the_same_event_and_the_same_identity():
    from_form = parse_callback(fields_from_form(TERMINAL_FORM), IST)
    from_json = parse_callback(TERMINAL_JSON, IST)
    assert from_form == from_json
    assert from_form.dedup_key("call-1") == from_json.dedup_key("call-1")
    assert from_form.dedup_key("call-1") != from_form.dedup_key("call-2")


def test_legs_as_a_json_string_inside_a_form():
    fields = {"CallSid": "x", "Legs": '[{"Status": "busy", "OnCallDuration": "0"}]'}
    assert parse_callback(fields, IST).legs == (Leg("busy", 0, None),)


def test_answered_event_proposes_in_progress_and_dates_the_answer():
    event = parse_callback({"CallSid": "x", "EventType": "answered", "Status": "in-progress", "DateUpdated": "2026-11-27 14:00:05"}, IST)
    assert event.proposed_status == "in-progress"
    assert event.answered_at == datetime(2026, 11, 27, 8, 30, 5, tzinfo=UTC)
    assert event.ended_at is None


def test_classic_callback_without_event_type():
    event = parse_callback({"CallSid": "x", "Status": "busy", "DateUpdated": "2026-11-27 14:00:05", "RecordingUrl": ""}, IST)
    assert event.event_type == "status"
    assert event.proposed_status == "busy"
    assert event.recording_url is None
    assert event.ended_at == event.occurred_at


def test_every_field_is_optional():
    event = parse_callback({}, IST)
    assert event.call_sid is None
    assert event.event_type == "status"
    assert event.proposed_status is None
    assert event.occurred_at is None and event.legs == ()


@pytest.mark.parametrize(
    "fields",
    [
        {"Status": "Completed"},
        {"Status": ["completed", "busy"]},
    ],
)
def test_status_is_normalised(fields):
    assert parse_callback(fields, IST).status == "completed"


def test_unknown_values_are_data_not_errors():
    event = parse_callback(
        {
            "EventType": "ringing-ish",
            "Status": "weird",
            "ConversationDuration": "abc",
            "DateUpdated": "yesterday",
            "Legs[0][OnCallDuration]": "-5",
            "Legs[99999][Status]": "x",
            "Cause": "16",
            "CallSid": "a" * 500,
        },
        IST,
    )
    assert event.event_type == "status"
    assert event.status == "weird" and event.proposed_status is None
    assert event.conversation_duration is None and event.occurred_at is None
    assert event.legs == (Leg(None, None, None),)
    assert len(event.call_sid) == 64
    assert event.payload["Cause"] == "16"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-11-27 05:30:00", datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),
        ("2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("2026-11-27T10:00:00+01:00", datetime(2026, 11, 27, 9, 0, tzinfo=UTC)),
        ("1970-01-01 05:30:00", None),  # Exotel's "not set"
        ("0000-00-00 00:00:00", None),
        ("", None),
        (None, None),
        ("\x00", None),
    ],
)
def test_exotel_time(raw, expected):
    assert parse_exotel_time(raw, IST) == expected


def test_time_zone_is_configurable():
    assert parse_exotel_time("2026-11-27 10:00:00", ZoneInfo("UTC")) == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert parse_exotel_time("2026-11-27 10:00:00", ZoneInfo("Asia/Singapore")) == datetime(2026, 11, 27, 2, tzinfo=UTC)


def test_repeated_form_keys_are_kept_as_lists_in_the_payload():
    fields = fields_from_form([("A", "1"), ("A", "2"), ("B", "3")])
    assert fields == {"A": ["1", "2"], "B": "3"}


@pytest.mark.parametrize(
    "fields, expected",
    [
        # The customer's leg says NA ("not applicable"); the leg that answered says HUMAN.
        ({"Legs": [{"Status": "completed", "OnCallDuration": 0, "AnsweredBy": "NA"},
                   {"Status": "completed", "OnCallDuration": 84, "AnsweredBy": "HUMAN"}]}, "HUMAN"),
        ({"Legs[0][AnsweredBy]": "NA", "Legs[0][Status]": "no-answer",
          "Legs[1][AnsweredBy]": "MACHINE", "Legs[1][Status]": "in-progress"}, "MACHINE"),
        ({"Legs": [{"Status": "no-answer", "AnsweredBy": "HUMAN"}, {"Status": "completed", "OnCallDuration": 5,
                                                                    "AnsweredBy": "MACHINE"}]}, "MACHINE"),
        ({"AnsweredBy": "NA", "Legs": [{"Status": "busy", "AnsweredBy": "NA"}]}, None),
        ({"AnsweredBy": "HUMAN"}, "HUMAN"),
        ({"AnsweredBy": "na", "Legs": [{"AnsweredBy": "HUMAN"}]}, "HUMAN"),
    ],
)
def test_answered_by_is_what_the_leg_that_answered_says(fields, expected):
    event = parse_callback({"CallSid": "x", "EventType": "terminal", "Status": "completed", **fields}, IST)
    assert event.answered_by == expected


def test_a_legs_field_nested_past_the_recursion_limit_is_data():
    event = parse_callback({"CallSid": "x", "Status": "completed", "Legs": "[" * 5000 + "]" * 5000}, IST)
    assert event.legs == () and event.status == "completed"
