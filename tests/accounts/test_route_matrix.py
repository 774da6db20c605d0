"""Every route of the app, taken from its URL map, against every kind of caller.

A route missing from POLICY fails the test, so a new route cannot escape it. Each
answer must be the allowed one or a refusal (401, 403, or a redirect to sign in),
and never a 5xx. CSRF is off here so that the role rule, not the CSRF check, is
what answers a form posted without its token (tests/ui and test_admin cover CSRF).
"""

from __future__ import annotations

import pytest

from tests.support.apps import make_app
from tests.support.teams import ROLE_EMAILS, ROLE_PASSWORDS
from webapp.accounts import create_token, create_user, sign_in
from webapp.db import get_db
from webapp.reporting import TABLES

ROLES = ("viewer", "operator", "admin")
# What each endpoint needs: "public", "session:<permission>", "token:<permission>" or "callback".
POLICY = {
    "static": "public", "health.healthz": "public", "metrics.metrics": "public",
    "auth.login": "public", "auth.setup": "public", "auth.logout": "public", "auth.set_password": "public",
    "auth.password": "session:read",
    "home.index": "session:read", "home.live": "session:read", "ui.calls": "session:read", "ui.show_call": "session:read",
    "ui.call_status": "session:read", "ui.calls_status": "session:read", "ui.settings": "session:read",
    "ui.new_call": "session:place", "ui.call_again": "session:place", "ui.ask_exotel": "session:place",
    "reports.index": "session:read", "reports.table_csv": "session:read", "reports.calls_csv": "session:read",
    "admin.users": "session:admin", "admin.add_user": "session:admin", "admin.set_role": "session:admin",
    "admin.disable": "session:admin", "admin.reset": "session:admin", "admin.tokens": "session:admin",
    "admin.add_token": "session:admin", "admin.revoke": "session:admin", "admin.audit": "session:admin",
    "admin.audit_csv": "session:admin",
    "recordings.call_recording": "session:read",
    "exotel_account.page": "session:admin", "exotel_account.run": "session:admin",
    "api.index_calls": "token:read", "api.show_call": "token:read", "api.create_call": "token:place",
    "api.check_call": "token:place",
    "webhooks.status_callback": "callback",
    "api.openapi": "public",
    "api.list_campaigns": "token:read", "api.show_campaign": "token:read", "api.campaign_contacts": "token:read",
    "api.create_campaign": "token:place", "api.pause_campaign": "token:place", "api.resume_campaign": "token:place",
    "api.cancel_campaign": "token:place", "api.campaign_not_imported": "token:read",
    "api.index_alerts": "token:read", "alerts.index": "session:read", "alerts.show": "session:read",
    "alerts.acknowledge_alert": "session:admin",
    "api.index_suppressions": "token:read", "api.add_suppressions": "token:place", "api.remove_suppression": "token:place",
    "campaigns.index": "session:read", "campaigns.show": "session:read", "campaigns.live": "session:read",
    "campaigns.results_csv": "session:read", "campaigns.not_imported_csv": "session:read",
    "campaigns.new_campaign": "session:place",
    "campaigns.start": "session:place", "campaigns.resume": "session:place", "campaigns.pause": "session:place",
    "campaigns.cancel": "session:place", "campaigns.remove_suppression": "session:place",
    **dict.fromkeys(("webhook_endpoints.index", "webhook_endpoints.create", "webhook_endpoints.show",
                     "webhook_endpoints.rotate", "webhook_endpoints.toggle", "webhook_endpoints.delete",
                     "webhook_endpoints.replay"), "session:admin"),
    **dict.fromkeys(("api.index_webhooks", "api.create_webhook", "api.show_webhook", "api.change_webhook",
                     "api.rotate_webhook", "api.delete_webhook", "api.replay_webhook"), "token:admin"),
    # One endpoint, two needs: reading the list, and adding to it.
    "campaigns.suppressions": {"GET": "session:read", "POST": "session:place"},
}
GRANTS = {"viewer": {"read"}, "operator": {"read", "place"}, "admin": {"read", "place", "admin"}}
CALLERS = ["anonymous"] + [f"session:{role}" for role in ROLES] + [f"token:{role}" for role in ROLES]


@pytest.fixture
def world(database_url, sim):
    """An app with CSRF off, a user and a token of each role, a call, and things to act on."""
    app = make_app(database_url, sim.base_url, WTF_CSRF_ENABLED=False)
    with app.app_context():
        db = get_db()
        users = {role: create_user(db, ROLE_EMAILS[role], ROLE_PASSWORDS[role], role=role) for role in ROLES}
        tokens = {role: create_token(db, f"{role}-token", role=role) for role in ROLES}
        target = create_user(db, "target@example.com", "target password", role="viewer")
        create_token(db, "target-token", role="viewer")
        from webapp.models import ApiToken

        target_token = db.session().query(ApiToken).filter_by(name="target-token").one().id
    client = app.test_client()
    call = client.post("/api/calls", json={"from": "+919876543210", "app_id": "4242"},
                       headers={"Authorization": f"Bearer {tokens['operator']}"}).json
    campaign = client.post("/api/campaigns", json={"name": "n", "app_id": "4242", "contacts": [{"number": "+919876543211"}]},
                           headers={"Authorization": f"Bearer {tokens['operator']}"}).json
    values = {
        "campaign_id": campaign["id"], "number": "+919876543211",
        "call_id": call["id"], "user_id": target.id, "token_id": target_token, "table": next(iter(TABLES)),
        "filename": "app.css", "alert_id": 1, "endpoint_id": 1,
    }
    yield app, users, tokens, values
    app.extensions["database"].engine.dispose()



def _url(rule, values: dict) -> str:
    args = {}
    for name in rule.arguments:
        if name == "token":
            args[name] = "1.not-a-link" if rule.endpoint == "auth.set_password" else "not-the-token"
        else:
            args[name] = values[name]
    return rule.build(args, append_unknown=False)[1]


def _client(app, caller: str, users: dict, tokens: dict):
    """A client for `caller` and the headers it sends; sessions are minted fresh for each request."""
    client = app.test_client()
    kind, _, role = caller.partition(":")
    if kind == "session":
        with app.app_context():
            secret = sign_in(get_db(), users[role], "127.0.0.1")
        with client.session_transaction() as session:
            session["_user_id"] = secret
            session["_fresh"] = True
        return client, {}
    if kind == "token":
        return client, {"Authorization": f"Bearer {tokens[role]}"}
    return client, {}


def _refused(response) -> bool:
    location = response.headers.get("Location", "")
    return response.status_code in (401, 403) or (response.status_code in (302, 303) and location.startswith("/login"))


def _expect(policy: str, caller: str) -> str:
    """"any", "allowed", "refused" or "callback"."""
    if policy in ("public", "callback"):
        return "any" if policy == "public" else "callback"
    kind, permission = policy.split(":")
    caller_kind, _, role = caller.partition(":")
    if caller_kind != kind:
        return "refused"
    return "allowed" if permission in GRANTS[role] else "refused"


def test_every_route_is_in_the_policy(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(POLICY), f"routes without a policy: {endpoints - set(POLICY)}; stale: {set(POLICY) - endpoints}"


def test_every_route_answers_each_caller_as_its_role_allows(world):
    app, users, tokens, values = world
    failures = []
    for rule in app.url_map.iter_rules():
        url = _url(rule, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for caller in CALLERS:
                client, headers = _client(app, caller, users, tokens)
                body = {"json": {}} if rule.endpoint.startswith("api.") else {"data": {}}
                response = client.open(url, method=method, headers=headers, **(body if method == "POST" else {}))
                response.get_data()
                response.close()  # a streamed answer holds its request's context until closed, as a server would
                policy = POLICY[rule.endpoint]
                expected = _expect(policy[method] if isinstance(policy, dict) else policy, caller)
                status = response.status_code
                ok = status < 500 and (
                    expected == "any"
                    or (expected == "callback" and status == 403)
                    or (expected == "refused" and _refused(response))
                    or (expected == "allowed" and not _refused(response))
                )
                if not ok:
                    failures.append(f"{method} {url} as {caller}: {status} (expected {expected})")
    assert not failures, "\n".join(failures)
