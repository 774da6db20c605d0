"""The JSON API for backend systems: one blueprint under /api, bearer tokens, JSON errors.

The blueprint lives in `blueprint.py`; each resource's routes (alerts, calls, campaigns,
suppressions) add themselves to it, so importing this package loads them all.
"""

from . import alerts, calls, campaigns, suppressions, webhooks
from .blueprint import bp

__all__ = ["alerts", "bp", "calls", "campaigns", "suppressions", "webhooks"]
