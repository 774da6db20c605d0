"""The JSON API for backend systems: one blueprint under /api, bearer tokens, JSON errors.

The blueprint lives in `blueprint.py`; each resource's routes (calls, campaigns,
suppressions) add themselves to it, so importing this package loads them all.
"""

from . import calls, campaigns, suppressions, webhooks
from .blueprint import bp

__all__ = ["bp", "calls", "campaigns", "suppressions", "webhooks"]
