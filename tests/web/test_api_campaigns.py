"""The campaigns API: create from JSON or CSV, rows not imported, idempotency, control, suppressions."""

from __future__ import annotations

import io

import pytest

NUMBERS = ["+919876500001", "+919876500002", "+919876500003"]


def create(client, headers, **fields):
    body = {"name": "Payment reminders", "flow_url": "http://my.exotel.com/testaccount/exoml/start_voice/1",
            "contacts": [{"number": n} for n in NUMBERS], **fields}
    return client.post("/api/campaigns", json=body, headers=headers)


def test_create_from_json(client, auth_headers):
    response = create(client, auth_headers, contacts=[
        {"number": "+919876500001", "custom_field": "inv-1"}, {"number": "12"}, {"number": "09876500001"},
    ])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "running"
    assert body["counts"]["contacts"] == 1 and body["counts"]["waiting"] == 1
    assert body["not_imported"] == [
        {"row": 2, "number": "12", "reason": "invalid number"},
        {"row": 3, "number": "+919876500001", "reason": "duplicate in the list"},
    ]
    assert body["created_by"] == "token:tests"
    assert response.headers["Location"] == f"/api/campaigns/{body['id']}"
    assert client.get(f"/api/campaigns/{body['id']}", headers=auth_headers).get_json()["name"] == "Payment reminders"


def test_create_from_an_excel_csv(client, auth_headers):
    csv = "\ufeffnumber;custom_field\r\n098765 00001;\"a; b\"\r\nnope;x\r\n".encode()
    response = client.post(
        "/api/campaigns", headers=auth_headers, content_type="multipart/form-data",
        data={"name": "CSV", "app_id": "1", "retries": '{"count": 1, "on": ["busy"], "delay_minutes": 1}',
              "file": (io.BytesIO(csv), "list.csv")},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["counts"]["contacts"] == 1
    assert body["retries"] == {"count": 1, "on": ["busy"], "delay_minutes": 1, "backoff": "linear"}
    assert body["not_imported"] == [{"row": 2, "number": "nope", "reason": "invalid number"}]
    contacts = client.get(f"/api/campaigns/{body['id']}/contacts", headers=auth_headers).get_json()["contacts"]
    assert contacts[0]["custom_field"] == "a; b"


@pytest.mark.parametrize("fields, field", [
    ({"contacts": [{"number": "x"}]}, "contacts"),
    ({"window": {"start": "08:00", "end": "20:00"}}, "window"),
    ({"calls_per_minute": 0}, "calls_per_minute"),
    ({"calls_per_minute": 201}, "calls_per_minute"),
    ({"retries": {"count": 9}}, "retries.count"),
    ({"name": ""}, "name"),
    ({"end_at": "2020-01-01T00:00:00+05:30", "start_at": "2020-01-02T00:00:00+05:30"}, "end_at"),
])
@pytest.mark.sqlite_only
def test_bad_campaigns_are_refused_whole(client, auth_headers, fields, field):
    response = create(client, auth_headers, **fields)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field
    assert client.get("/api/campaigns", headers=auth_headers).get_json()["campaigns"] == []


def test_idempotency_key(client, auth_headers):
    headers = {**auth_headers, "Idempotency-Key": "list-2026-12-01"}
    first = create(client, headers)
    again = create(client, headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert create(client, headers, name="Another").status_code == 422
    assert len(client.get("/api/campaigns", headers=auth_headers).get_json()["campaigns"]) == 1


def test_pause_resume_cancel(client, auth_headers):
    campaign_id = create(client, auth_headers).get_json()["id"]
    paused = client.post(f"/api/campaigns/{campaign_id}/pause", headers=auth_headers)
    assert (paused.status_code, paused.get_json()["status"]) == (200, "paused")
    assert client.post(f"/api/campaigns/{campaign_id}/resume", headers=auth_headers).get_json()["status"] == "running"
    canceled = client.post(f"/api/campaigns/{campaign_id}/cancel", headers=auth_headers).get_json()
    assert canceled["status"] == "canceled" and canceled["counts"]["canceled"] == 3
    assert client.post(f"/api/campaigns/{campaign_id}/resume", headers=auth_headers).status_code == 409
    assert client.post("/api/campaigns/999999/pause", headers=auth_headers).status_code == 404


def test_contacts_pages(client, auth_headers):
    contacts = [{"number": f"+9198765{i:05d}"} for i in range(1, 8)]
    campaign_id = create(client, auth_headers, contacts=contacts).get_json()["id"]
    first = client.get(f"/api/campaigns/{campaign_id}/contacts?limit=5", headers=auth_headers).get_json()
    second = client.get(f"/api/campaigns/{campaign_id}/contacts?limit=5&cursor={first['next_cursor']}",
                        headers=auth_headers).get_json()
    assert [c["row"] for c in first["contacts"] + second["contacts"]] == list(range(1, 8))
    assert second["next_cursor"] is None
    assert client.get(f"/api/campaigns/{campaign_id}/contacts?cursor=%%%", headers=auth_headers).status_code == 400
    assert client.get(f"/api/campaigns/{campaign_id}/contacts?status=nope", headers=auth_headers).status_code == 400


def test_suppressions(client, auth_headers):
    added = client.post("/api/suppressions", json={"numbers": ["09876500002", "+919876500002"], "reason": "asked"},
                        headers=auth_headers)
    assert added.get_json() == {"added": ["+919876500002"]}
    body = create(client, auth_headers).get_json()
    assert body["not_imported"] == [{"row": 2, "number": "+919876500002", "reason": "suppressed"}]
    listed = client.get("/api/suppressions", headers=auth_headers).get_json()["suppressions"]
    assert [(s["number"], s["reason"], s["created_by"]) for s in listed] == [("+919876500002", "asked", "token:tests")]
    assert client.delete("/api/suppressions/+919876500002", headers=auth_headers).status_code == 204
    assert client.delete("/api/suppressions/+919876500002", headers=auth_headers).status_code == 404
    assert client.post("/api/suppressions", json={"numbers": ["x"]}, headers=auth_headers).status_code == 422


def test_campaign_routes_need_a_token(client):
    assert client.get("/api/campaigns").status_code == 401
    assert client.post("/api/campaigns", json={}).status_code == 401
    assert client.get("/api/suppressions").status_code == 401


@pytest.mark.parametrize("fields", [
    {"name": "a\x00b"}, {"name": "\ud800"}, {"window": {"timezone": "Asia/Kolkata\x00"}}, {"caller_id": "0804\x007112345"},
])
def test_nul_and_lone_surrogates_are_refused(client, auth_headers, fields):
    response = create(client, auth_headers, **fields)
    assert response.status_code == 422
    assert client.get("/api/campaigns", headers=auth_headers).get_json()["campaigns"] == []
