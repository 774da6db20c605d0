"""Every answer Exotel's API gives this app, counted by HTTP status as the client receives it (for /metrics)."""

from __future__ import annotations

from typing import Any

import requests

from ..observability.metrics import ACCOUNT_REFUSALS, EXOTEL_RESPONSES

# A 403 naming one of these refuses one number (India's Do Not Disturb list), not the account;
# the same words campaigns use to suppress such a number (webapp.campaigns.refusals).
DND_WORDS = ("dnd", "ndnc", "do not disturb")
ACCOUNT_STATUSES = (401, 402, 403)


def _count(response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
    status = response.status_code
    EXOTEL_RESPONSES.labels(str(status)).inc()
    # Only a refusal's small body is read here: it would be read next anyway (never a stream on this Session).
    if status in ACCOUNT_STATUSES and not (status == 403 and any(word in response.text.lower() for word in DND_WORDS)):
        ACCOUNT_REFUSALS.labels(str(status)).inc()
    return response


def counted_session() -> requests.Session:
    """A requests Session whose every response is counted (a response hook, so retries after 429 count too)."""
    session = requests.Session()
    session.hooks["response"].append(_count)
    return session
