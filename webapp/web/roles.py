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
from ..accounts.audit import SYSTEM, token_actor, user_actor
from .browser.login import login_manager
from .errors import error_response

# Methods that only read: a viewer's token may use these and nothing else.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def forbidden(message: str = "Your role does not allow this.") -> Response:
    """403, as JSON for machines and as a page for people."""
    return make_response(error_response(403, "forbidden", message))


def page_rule(default: str, endpoints: Mapping[str, str] | None = None) -> Callable[[], Response | None]:
    """A blueprint's before-request rule: a signed-in user whose role grants the endpoint's
    permission (`endpoints[endpoint]`, else `default`)."""
    needed_by_endpoint = dict(endpoints or {})

    def check_role() -> Response | None:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        needed = needed_by_endpoint.get(request.endpoint or "", default)
        if not current_user.can(needed):
            return forbidden()
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
