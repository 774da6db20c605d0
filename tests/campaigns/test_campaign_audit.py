"""Every campaign and suppression action writes exactly one audit row, with its actor; a refused one writes none."""

from __future__ import annotations

from tests.support.teams import audit_rows

BODY = {"name": "Dues", "app_id": "1", "contacts": [{"number": "+919876500001"}, {"number": "+919876500002"}]}


def story(app):
    return [(row.actor, row.action, row.target) for row in audit_rows(app) if not row.action.startswith(("token", "user"))]


def test_campaign_actions_are_audited(app, client, auth_headers):
    assert client.post("/api/campaigns", json={**BODY, "contacts": [{"number": "x"}]}, headers=auth_headers).status_code == 422
    campaign_id = client.post("/api/campaigns", json=BODY, headers=auth_headers).get_json()["id"]
    for action in ("pause", "resume", "cancel"):
        assert client.post(f"/api/campaigns/{campaign_id}/{action}", headers=auth_headers).status_code == 200
    assert client.post(f"/api/campaigns/{campaign_id}/resume", headers=auth_headers).status_code == 409
    client.post("/api/suppressions", json={"numbers": ["+919876500003"], "reason": "asked"}, headers=auth_headers)
    client.delete("/api/suppressions/+919876500003", headers=auth_headers)
    target = f"campaign:{campaign_id}"
    assert story(app) == [
        ("token:tests", "campaign.create", target),
        ("token:tests", "campaign.pause", target),
        ("token:tests", "campaign.resume", target),
        ("token:tests", "campaign.cancel", target),
        ("token:tests", "suppression.add", None),
        ("token:tests", "suppression.remove", "+919876500003"),
    ]
    (created,) = audit_rows(app, "campaign.create")
    assert '"contacts": 2' in created.detail
