"""The callback URL (it carries the call's token) never follows a Host header the client chose."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support.apps import make_app
from webapp.models import Call

GOOD = {"from": "+91 98765 43210", "app_id": "4242"}


def _count(app) -> int:
    with app.app_context():
        from webapp.db import get_db

        with get_db().transaction(write=False) as session:
            return session.scalar(select(func.count()).select_from(Call))


def _callback_urls(sim) -> list[str]:
    return [call["status_callback"] for call in sim.state.calls.values()]


def test_a_foreign_host_is_refused_without_public_base_url(app, auth_headers, sim):
    client = app.test_client()
    response = client.post("/api/calls", json=GOOD, headers={**auth_headers, "Host": "evil.example"})
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert "evil.example" in message and "PUBLIC_BASE_URL" in message and "ALLOWED_HOSTS" in message
    # Nothing placed, nothing stored: the token never left for evil.example.
    assert sim.state.connect_requests == 0 and _count(app) == 0

    for host in ("localhost", "127.0.0.1:5000", "[::1]:8000"):
        assert client.post("/api/calls", json=GOOD, headers={**auth_headers, "Host": host}).status_code == 201
    hosts = sorted(url.split("/")[2] for url in _callback_urls(sim))
    assert hosts == ["127.0.0.1:5000", "[::1]:8000", "localhost"]


def test_allowed_hosts_names_the_other_hosts_a_callback_may_go_to(database_url, sim, api_token_for):
    app = make_app(database_url, sim.base_url, ALLOWED_HOSTS="calls.internal, Ops.Example.com")
    try:
        headers = api_token_for(app)
        client = app.test_client()
        for host, status in (("calls.internal:8080", 201), ("ops.example.com", 201), ("evil.example", 400)):
            answer = client.post("/api/calls", json=GOOD, headers={**headers, "Host": host})
            assert answer.status_code == status, (host, answer.get_json())
        assert sorted(url.split("/")[2] for url in _callback_urls(sim)) == ["calls.internal:8080", "ops.example.com"]
    finally:
        app.extensions["database"].engine.dispose()


def test_public_base_url_wins_over_any_host(database_url, sim, api_token_for):
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL="https://calls.example.com")
    try:
        answer = app.test_client().post("/api/calls", json=GOOD, headers={**api_token_for(app), "Host": "evil.example"})
        assert answer.status_code == 201
        assert [url.split("/")[2] for url in _callback_urls(sim)] == ["calls.example.com"]
    finally:
        app.extensions["database"].engine.dispose()


@pytest.fixture
def api_token_for():
    from webapp.accounts import create_token
    from webapp.db import get_db

    def make(app) -> dict:
        with app.app_context():
            return {"Authorization": f"Bearer {create_token(get_db(), 'hosts')}"}

    return make
