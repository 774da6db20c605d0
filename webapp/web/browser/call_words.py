"""What a person is told after asking Exotel about a call ("Ask Exotel now" on the call page)."""

from __future__ import annotations

from ...calls.asking import AskAnswer, Asked
from .status_words import LABELS


def ask_answer_words(answer: AskAnswer) -> str:
    """One sentence: what Exotel said, and what the page now shows."""
    said = LABELS.get(answer.status or "", answer.status or "no status")
    if answer.kind is Asked.FINAL:
        return f"Exotel says this call has ended: {said}. The call now shows its final status."
    if answer.kind is Asked.OPEN:
        return (f"Exotel says this call has not ended yet (its status there: {said}). "
                "Its final status is recorded as soon as Exotel sends it or is asked again.")
    if answer.kind is Asked.NEVER_PLACED:
        return "Exotel lists no such call: it was never placed. Nobody was rung."
    if answer.kind is Asked.AMBIGUOUS:
        return ("Exotel lists several calls from this number through this ExoPhone around that time, "
                "so which one is this call cannot be told.")
    return ("Exotel does not list this call yet. It lists a call once it has ended, so it may still be ringing or "
            "in progress; the worker goes on asking.")
