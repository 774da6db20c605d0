"""The rules, one small module per area; RULES is the registry the evaluation walks.

A new rule is a function `check(session, context) -> Finding | None` and one
line in RULES.
"""

from __future__ import annotations

from .base import CRITICAL, WARNING, Context, Finding, Rule
from .calls import answer_rate_drop, callbacks_missing, calls_unsettled
from .campaigns import campaign_paused_by_system
from .exotel import budget_saturated, exotel_refusing
from .webhooks import webhook_failing
from .workers import reconcile_stale, worker_down

RULES: tuple[Rule, ...] = (
    Rule("callbacks_missing", CRITICAL, callbacks_missing),
    Rule("exotel_refusing", CRITICAL, exotel_refusing),
    Rule("budget_saturated", WARNING, budget_saturated),
    Rule("answer_rate_drop", WARNING, answer_rate_drop),
    Rule("worker_down", CRITICAL, worker_down, by_web=True),
    Rule("reconcile_stale", WARNING, reconcile_stale),
    Rule("calls_unsettled", WARNING, calls_unsettled),
    Rule("campaign_paused_by_system", WARNING, campaign_paused_by_system),
    Rule("webhook_failing", WARNING, webhook_failing),
)
BY_NAME = {rule.name: rule for rule in RULES}

__all__ = ["BY_NAME", "CRITICAL", "RULES", "WARNING", "Context", "Finding", "Rule"]
