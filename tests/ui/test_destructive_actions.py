"""What cannot be undone asks first: canceling a campaign, revoking a token, disabling a user.

The question is a page of its own (it works without script): the list or campaign page links to it, it says
what will happen, and only its form does the deed. Opening it changes nothing.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.support.signin import csrf_token
from tests.support.teams import audit_rows
from webapp.accounts import create_token, create_user
from webapp.campaigns.models import Campaign
from webapp.db import get_db
from webapp.models import ApiToken, User

CAMPAIGN = {"name": "Dues", "app_id": "1", "contacts": [{"number": "+919876500001"}, {"number": "+919876500002"}]}


def _forms_posting_to(page: str, path: str) -> int:
    return len(re.findall(rf'<form[^>]*method="post"[^>]*action="{re.escape(path)}"', page))


def _ask(client, listing: str, path: str) -> str:
    """From `listing`, follow the link to `path`: the question page, whose only form posts to `path`."""
    page = client.get(listing).get_data(as_text=True)
    assert f'href="{path}"' in page
    assert _forms_posting_to(page, path) == 0, "the action is done without asking"
    question = client.get(path)
    assert question.status_code == 200
    html = question.get_data(as_text=True)
    assert _forms_posting_to(html, path) == 1
    return html


def _confirm(client, path: str, html: str):
    return client.post(path, data={"csrf_token": csrf_token(html)})


def test_canceling_a_campaign_asks_first(app, signed_in, auth_headers):
    campaign_id = signed_in.post("/api/campaigns", json=CAMPAIGN, headers=auth_headers).get_json()["id"]
    path = f"/campaigns/{campaign_id}/cancel"
    html = _ask(signed_in, f"/campaigns/{campaign_id}", path)
    assert "Cancel the campaign “Dues”?" in html
    assert "2 contacts still waiting will never be called." in html
    assert f'href="/campaigns/{campaign_id}"' in html  # and a way back
    with app.app_context():
        assert get_db().session().get(Campaign, campaign_id).status == "running"
    assert audit_rows(app, "campaign.cancel") == []
    assert _confirm(signed_in, path, html).status_code == 303
    with app.app_context():
        assert get_db().session().get(Campaign, campaign_id).status == "canceled"
    assert len(audit_rows(app, "campaign.cancel")) == 1
    # Once canceled, there is nothing left to ask about.
    assert signed_in.get(path).status_code == 303


def test_revoking_a_token_asks_first(app, signed_in):
    with app.app_context():
        token = create_token(get_db(), "crm", role="viewer")
        token_id = get_db().session().scalar(select(ApiToken.id).where(ApiToken.name == "crm"))
    path = f"/admin/tokens/{token_id}/revoke"
    html = _ask(signed_in, "/admin/tokens", path)
    assert "Revoke the API token “crm”?" in html and "refused from its next request" in html
    headers = {"Authorization": f"Bearer {token}"}
    assert signed_in.get("/api/calls", headers=headers).status_code == 200
    assert _confirm(signed_in, path, html).status_code == 303
    assert signed_in.get("/api/calls", headers=headers).status_code == 401
    assert [row.target for row in audit_rows(app, "token.revoke")] == ["token:crm"]


def test_disabling_a_user_asks_first(app, signed_in):
    with app.app_context():
        create_user(get_db(), "agent@example.com", "agent password 1", role="operator")
        user_id = get_db().session().scalar(select(User.id).where(User.email == "agent@example.com"))
    path = f"/admin/users/{user_id}/disable"
    html = _ask(signed_in, "/admin/users", path)
    assert "Disable agent@example.com?" in html and "can no longer sign in" in html
    with app.app_context():
        assert get_db().session().get(User, user_id).disabled_at is None
    assert _confirm(signed_in, path, html).status_code == 303
    with app.app_context():
        assert get_db().session().get(User, user_id).disabled_at is not None
    assert [row.target for row in audit_rows(app, "user.disable")] == ["user:agent@example.com"]
