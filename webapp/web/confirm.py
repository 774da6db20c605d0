"""What the pages that ask before an admin action that cannot be undone say."""

from __future__ import annotations

from typing import Any

from flask import url_for

from ..models import ApiToken, User


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
