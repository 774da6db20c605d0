"""The retry policy: which outcomes, how many times, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from webapp.campaigns.retries import RetryError, RetryPolicy, parse_retries

ENDED = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_no_retries_by_default():
    assert parse_retries(None).next_attempt_at("busy", 1, ENDED) is None


def test_linear_waits_grow_by_the_delay():
    policy = parse_retries({"count": 3, "on": ["busy"], "delay_minutes": 10})
    assert [policy.next_attempt_at("busy", n, ENDED) for n in (1, 2, 3, 4)] == [
        ENDED + timedelta(minutes=10), ENDED + timedelta(minutes=20), ENDED + timedelta(minutes=30), None,
    ]


def test_exponential_waits_double():
    policy = parse_retries({"count": 4, "delay_minutes": 5, "backoff": "exponential"})
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]


def test_only_the_listed_outcomes_are_retried():
    policy = parse_retries({"count": 1, "on": ["busy", "no-answer"], "delay_minutes": 1})
    assert policy.next_attempt_at("no-answer", 1, ENDED) == ENDED + timedelta(minutes=1)
    assert policy.next_attempt_at("failed", 1, ENDED) is None
    assert policy.next_attempt_at("completed", 1, ENDED) is None


def test_round_trip():
    policy = RetryPolicy(count=2, on=frozenset({"failed"}), delay_minutes=7, backoff="exponential")
    assert parse_retries(policy.to_dict()) == policy


@pytest.mark.parametrize("data, field", [
    ({"count": 6}, "retries.count"),
    ({"count": -1}, "retries.count"),
    ({"count": True}, "retries.count"),
    ({"count": 1, "on": ["completed"]}, "retries.on"),
    ({"count": 1, "on": "busy"}, "retries.on"),
    ({"count": 1, "delay_minutes": 0}, "retries.delay_minutes"),
    ({"count": 1, "backoff": "fibonacci"}, "retries.backoff"),
    ({"tries": 1}, "retries"),
    ([1], "retries"),
])
def test_bad_policies_name_their_field(data, field):
    with pytest.raises(RetryError) as error:
        parse_retries(data)
    assert error.value.field == field
