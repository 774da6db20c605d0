"""Exotel's flow URLs: the documented form and the older one many integrations still send."""

from __future__ import annotations

import re

#: The documented form, which names the account.
FLOW_URL = "http://my.exotel.com/{account_sid}/exoml/start_voice/{app_id}"

# Both reach a flow: http://my.exotel.com/<sid>/exoml/start_voice/<app_id> (documented), and
# http://my.exotel.in/exoml/start/<app_id> (Exotel's older samples; also seen with .com).
_APP_ID = re.compile(r"/exoml/start(?:_voice)?/(?P<app_id>[0-9]+)$")
#: What comes right before the app id of a flow of App Bazaar, in either form (for a SQL LIKE on the URL's end).
APP_ID_PREFIXES = ("/exoml/start_voice/", "/exoml/start/")


def app_id_of(flow_url: str | None) -> str | None:
    """The App Bazaar app id a flow URL names, in either form; None for any other URL."""
    match = _APP_ID.search((flow_url or "").strip())
    return match.group("app_id") if match else None
