"""What the pages that ask before an action that cannot be undone say: canceling a campaign, revoking a
token, disabling a user."""

from __future__ import annotations

from typing import Any

from flask import url_for

from ...campaigns.models import IN_FLIGHT, Campaign
from ...models import ApiToken, User


def revoke_question(token: ApiToken) -> dict[str, Any]:
    return {
        "question": f"Revoke the API token “{token.name}”?",
        "consequences": [f"Every program using it ({token.role} token, starting {token.prefix}…) is refused from "
                         "its next request.", "A revoked token cannot be brought back: make a new one instead."],
        "action": url_for("admin.revoke", token_id=token.id), "verb": "Revoke the token",
        "back": url_for("admin.tokens"), "keep": "Keep it",
    }


def disable_question(user: User) -> dict[str, Any]:
    return {
        "question": f"Disable {user.email}?",
        "consequences": [f"{user.email} is signed out everywhere and can no longer sign in; the API tokens "
                         f"{user.email} made stop working at their next request."],
        "action": url_for("admin.disable", user_id=user.id), "verb": "Disable the user",
        "back": url_for("admin.users"), "keep": "Keep the user",
    }


def cancel_question(campaign: Campaign, counts: dict[str, int]) -> dict[str, Any]:
    """What the page asking before a cancel says: what stops, what still runs, and that it is for good."""
    waiting, in_flight = counts["waiting"], sum(counts[name] for name in IN_FLIGHT)
    lines = [f"{waiting} contact{'s' if waiting != 1 else ''} still waiting will never be called."]
    if in_flight:
        lines.append(f"{in_flight} call{'s' if in_flight != 1 else ''} in progress will run to {'their' if in_flight != 1 else 'its'} end.")
    lines.append("A canceled campaign cannot be resumed.")
    return {
        "question": f"Cancel the campaign “{campaign.name}”?", "consequences": lines,
        "action": url_for("campaigns.cancel", campaign_id=campaign.id), "verb": "Cancel the campaign",
        "back": url_for("campaigns.show", campaign_id=campaign.id), "keep": "Keep it",
    }
