"""Alerts the product evaluates from its own tables, fires and resolves once each, and sends through Apprise.

- `rules/`: one small module per area; `rules.RULES` is the registry.
- `state.py`: fire, hold, resolve (one function each for fire and resolve).
- `runs.py`: one evaluation, claimed by one process per minute; the web app's worker watch.
- `notify.py`: delivery to ALERT_URLS with retries and backoff; `queries.py`: the API's and pages' reads.
"""

from .models import FIRING, RESOLVED, Alert

__all__ = ["FIRING", "RESOLVED", "Alert"]
