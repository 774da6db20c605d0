"""Browser-facing protections: security headers, CSRF, and a session cookie marked Secure on HTTPS."""

from __future__ import annotations

from flask import Flask, Request, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..config import get_settings

csrf = CSRFProtect()

# No inline script or style anywhere: everything comes from /static of this app. Only media (a
# call's recording, played in its page) may come from elsewhere: see content_security_policy.
POLICY_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def content_security_policy(app: Flask) -> str:
    """The app's CSP: media also from https origins (Exotel keeps recordings on https storage) and from
    the Exotel origin this deployment is configured with, such as a simulator on loopback http."""
    simulator = app.extensions.get("simulator")  # the embedded one starts on first use
    cached = app.extensions.get("content_security_policy")
    if cached is not None and cached[0] is simulator:
        return cached[1]
    media = ["'self'", "https:"]
    api_base = get_settings(app).exotel_api_base
    if api_base:
        media.append(api_base)
    if simulator is not None:
        try:
            media.append(simulator.base_url)
        except RuntimeError:  # stopped: nothing to allow
            pass
    policy = "; ".join([*POLICY_DIRECTIVES, f"media-src {' '.join(dict.fromkeys(media))}"])
    app.extensions["content_security_policy"] = (simulator, policy)
    return policy


# Paths served without a session (see SessionInterface.open_session).
SESSIONLESS_PREFIXES = ("/webhooks/",)


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, Secure whenever the request came over HTTPS.

    Deciding per request (rather than from PUBLIC_BASE_URL) keeps a plain-http
    `make run` usable and still never sends the cookie in clear once the site is
    served over HTTPS. Behind a TLS-terminating proxy the app must see the
    scheme (X-Forwarded-Proto through ProxyFix); SESSION_COOKIE_SECURE=True
    forces it.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request_: Request):
        # Exotel's callbacks carry no cookie worth reading: they are authenticated by
        # their URL. Not verifying a cookie spares the hot path the signing work; the
        # null session Flask puts in its place refuses to be written to.
        if request_.path.startswith(SESSIONLESS_PREFIXES):
            return None
        return super().open_session(app, request_)


# Sent with every answer unless the view set its own (and the Content-Security-Policy above).
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    # One pass over the answer's headers: werkzeug's per-name lookups each rescan
    # the list (and setdefault raises and catches a KeyError for every miss).
    present = {name.lower() for name, _ in headers.items()}
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", content_security_policy(current_app))
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", "max-age=31536000")
    if "cache-control" not in present and request.endpoint != "static":
        # Every answer but the static assets (pages, JSON, CSV, errors, 304s) may carry customer data
        # or numbers that change by the second: kept by no cache, shared or private, nor replayed from disk.
        headers["Cache-Control"] = "no-store"
    return response


def init_security(app: Flask, exempt_blueprints=()) -> None:
    """CSRF on every form except the machine endpoints named; headers on every answer."""
    app.session_interface = SessionInterface()
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    csrf.init_app(app)
    for blueprint in exempt_blueprints:
        csrf.exempt(blueprint)
    app.after_request(set_security_headers)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        from .errors import error_response

        return error_response(400, "csrf_failed", "This form has expired or came from another site. Reload the page and try again.")
