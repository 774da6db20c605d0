"""When a call should have ended (calls.overdue): the rule the wording, the early checks and Call again share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from webapp.calls.early_checks import check_due
from webapp.calls.overdue import GRACE, is_overdue, overdue_since, should_have_ended
from webapp.models import Call

T0 = datetime(2026, 12, 6, 11, 50, tzinfo=UTC)


def _call(**values) -> Call:
    return Call(**{"status": "in-progress", "placed_at": T0, **values})


def test_unanswered_calls_end_with_their_ring_timeout_and_answered_ones_with_their_time_limit():
    assert should_have_ended(_call(time_out=30)) == T0 + timedelta(seconds=30)
    assert should_have_ended(_call()) == T0 + timedelta(seconds=60)  # no TimeOut: Exotel's longest ring
    answered = T0 + timedelta(seconds=12)
    assert should_have_ended(_call(time_out=30, answered_at=answered, time_limit=300)) == answered + timedelta(seconds=300)
    assert should_have_ended(_call(answered_at=answered)) == answered + timedelta(hours=4)  # no TimeLimit: the longest
    assert overdue_since(_call(time_out=30)) == T0 + timedelta(seconds=30) + GRACE


@pytest.mark.parametrize("status", ["completed", "busy", "no-answer", "failed", "canceled", "rejected"])
def test_a_final_call_is_never_overdue(status):
    assert overdue_since(_call(status=status)) is None
    assert not is_overdue(_call(status=status), T0 + timedelta(days=1))


def test_a_call_exotel_never_accepted_has_no_end_to_wait_for():
    assert overdue_since(Call(status="unknown", placed_at=None)) is None
    assert overdue_since({"status": "in-progress", "answered_at": None}) is None  # a campaign attempt's summary


def test_a_campaign_attempts_times_as_iso_text_are_read_as_times():
    attempt = {"status": "in-progress", "placed_at": "2026-12-06T11:50:00Z", "answered_at": "2026-12-06T11:50:12+00:00",
               "time_limit": 300}
    assert should_have_ended(attempt) == T0 + timedelta(seconds=312)
    assert overdue_since({"status": "in-progress", "placed_at": "not a time"}) is None


def test_overdue_from_the_moment_on():
    call = _call(time_out=30)
    since = overdue_since(call)
    assert not is_overdue(call, since - timedelta(seconds=1)) and is_overdue(call, since)


def test_two_early_checks_spaced_as_scheduled_then_none():
    call = _call(time_out=30, checks=0)
    since = overdue_since(call)
    assert not check_due(call, since + timedelta(minutes=1, seconds=59)) and check_due(call, since + timedelta(minutes=2))
    # A worker that was down asks late: the second ask still waits the schedule's three minutes after it.
    call.checks, call.checked_at = 1, since + timedelta(minutes=4, seconds=30)
    assert not check_due(call, since + timedelta(minutes=7)) and check_due(call, since + timedelta(minutes=7, seconds=30))
    call.checks = 2
    assert not check_due(call, since + timedelta(hours=1))
