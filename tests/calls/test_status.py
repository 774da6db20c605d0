"""The status rules: forward only, finals final."""

import pytest

from webapp.calls.status import FINAL, KNOWN, next_status


@pytest.mark.parametrize(
    "current, proposed, expected",
    [
        ("pending", "in-progress", "in-progress"),
        ("pending", "completed", "completed"),
        ("pending", "unknown", "unknown"),
        ("unknown", "in-progress", "in-progress"),
        ("unknown", "busy", "busy"),
        ("in-progress", "ringing", "in-progress"),
        ("in-progress", "completed", "completed"),
        ("completed", "in-progress", "completed"),
        ("completed", "busy", "completed"),
        ("busy", "completed", "busy"),
        ("rejected", "completed", "rejected"),
        ("in-progress", "unknown", "in-progress"),
        ("in-progress", "pending", "in-progress"),
        ("ringing", "something-new", "ringing"),
        ("ringing", None, "ringing"),
    ],
)
def test_next_status(current, proposed, expected):
    assert next_status(current, proposed) == expected


@pytest.mark.parametrize("final", sorted(FINAL))
def test_nothing_moves_a_final_status(final):
    assert all(next_status(final, other) == final for other in KNOWN)


def test_order_of_events_does_not_matter_for_the_final_status():
    events = ["in-progress", "completed"]
    assert next_status(next_status("pending", events[0]), events[1]) == "completed"
    assert next_status(next_status("pending", events[1]), events[0]) == "completed"
