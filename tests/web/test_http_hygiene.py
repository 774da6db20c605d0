"""What every answer says about itself: no cache keeps anything but the static assets, and a 405 names the
methods its route takes (Allow)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.support.signin import sign_in
from webapp.db import get_db
from webapp.models import Call

CAMPAIGN = {"name": "Dues", "app_id": "1", "contacts": [{"number": "+919876500001"}, {"number": "+919876500002"}]}


def _paths(app, values: dict[str, str]) -> list[str]:
    """Every GET route of the app with its arguments filled in (an argument not in `values` gets "x")."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        paths.append(re.sub(r"<(?:[^:>]+:)?([a-z_]+)>", lambda m: values.get(m.group(1), "x"), rule.rule))
    return sorted(paths)


def test_every_answer_but_static_assets_is_no_store(app, client, user, auth_headers):
    """Signed in and with a token, every GET route (pages, JSON, CSV, errors, 304s) says no-store."""
    campaign = client.post("/api/campaigns", json=CAMPAIGN, headers=auth_headers).get_json()
    placed = client.post("/api/calls", json={"from": "+919876500004", "app_id": 1}, headers=auth_headers)
    assert placed.status_code == 201
    with app.app_context():
        call_id = get_db().session().scalar(select(Call.id).limit(1))
    assert sign_in(client).status_code == 302
    paths = _paths(app, {"campaign_id": str(campaign["id"]), "call_id": call_id, "table": "daily_call_stats"})
    assert "/campaigns/{}/live.json".format(campaign["id"]) in paths and len(paths) >= 25
    for path in [*paths, "/no-such-page", "/api/calls/no-such-call"]:
        response = client.get(path, headers=auth_headers)
        assert response.headers.get("Cache-Control") == "no-store", (path, response.status_code)
    # A poll that already has the current version gets a 304: no-store too.
    first = client.get("/home.json")
    again = client.get("/home.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "no-store"
    # Signed out: the sign-in page and the refusals as well.
    client.post("/logout", data={})
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert client.get("/api/calls").headers["Cache-Control"] == "no-store"


def test_static_assets_may_be_cached(client):
    response = client.get("/static/app.css")
    response.close()
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers.get("ETag") or response.headers.get("Last-Modified")


def test_a_405_names_the_methods_its_route_takes(client, user, auth_headers):
    answers = {
        "/healthz": client.post("/healthz"),
        "/api/calls": client.delete("/api/calls", headers=auth_headers),
        "/api/campaigns/1/pause": client.get("/api/campaigns/1/pause", headers=auth_headers),
        "/campaigns/1/pause": client.get("/campaigns/1/pause"),
        "/calls/new": client.put("/calls/new"),
    }
    expected = {
        "/healthz": {"GET", "HEAD", "OPTIONS"},
        "/api/calls": {"GET", "HEAD", "OPTIONS", "POST"},
        "/api/campaigns/1/pause": {"OPTIONS", "POST"},
        "/campaigns/1/pause": {"OPTIONS", "POST"},
        "/calls/new": {"GET", "HEAD", "OPTIONS", "POST"},
    }
    for path, response in answers.items():
        assert response.status_code == 405, path
        allowed = {method.strip() for method in response.headers.get("Allow", "").split(",") if method.strip()}
        assert allowed == expected[path], path
        assert response.headers["Cache-Control"] == "no-store"
    assert answers["/api/calls"].get_json()["error"]["code"] == "method_not_allowed"
