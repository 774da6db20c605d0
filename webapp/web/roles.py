"""Who may use which route: one rule per blueprint, run before any of its views.

Pages check the signed-in user's role (anonymous visitors go to sign in); the API
checks the bearer token's role. Hiding a button is a courtesy: these rules are
what refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import g, make_response, request
from flask_login import current_user
from werkzeug.wrappers import Response

from ..accounts import Actor, can
from ..accounts.audit import SYSTEM, record_refusal, token_actor, user_actor
from ..db import get_db
from .browser.login import login_manager
from .errors import error_response, route

# Methods that only read: a viewer's token may use these and nothing else.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def forbidden(message: str = "Your role does not allow this.", needed: str | None = None) -> Response:
    """403, as JSON for machines and as a page for people; audited as `access.refused`."""
    audit_refusal(needed)
    return make_response(error_response(403, "forbidden", message))


def audit_refusal(needed: str | None) -> None:
    """One `access.refused` row: who, which route (as declared: a raw path may hold a secret), and why."""
    token = g.get("api_token")
    detail = {"method": request.method, "role": token.role if token is not None else getattr(current_user, "role", None)}
    if needed:
        detail["needed"] = needed
    if token is not None and token.role != token.own_role:
        detail["token_role"] = token.own_role  # a token held down by its maker's current role
    record_refusal(get_db(), current_actor(), "access.refused", route(), detail)


def page_rule(default: str, endpoints: Mapping[str, str] | None = None) -> Callable[[], Response | None]:
    """A blueprint's before-request rule: a signed-in user whose role grants the endpoint's
    permission (`endpoints[endpoint]`, else `default`)."""
    needed_by_endpoint = dict(endpoints or {})

    def check_role() -> Response | None:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        needed = needed_by_endpoint.get(request.endpoint or "", default)
        if not current_user.can(needed):
            return forbidden(needed=needed)
        return None

    return check_role


def token_permission() -> str:
    """What an API request needs: reading for safe methods, placing for everything else."""
    return "read" if request.method in READ_METHODS else "place"


def token_allows(role: str) -> bool:
    return can(role, token_permission())


def current_actor() -> Actor:
    """Who this request acts for, as the audit log names them, with the client's address."""
    token = g.get("api_token")
    if token is not None:
        return Actor(token_actor(token.name), request.remote_addr)
    if current_user.is_authenticated:
        return Actor(user_actor(current_user.email), request.remote_addr)
    return Actor(SYSTEM, request.remote_addr)
