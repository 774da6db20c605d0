"""The campaigns API: create from JSON or CSV, rows not imported, idempotency, control, suppressions."""

from __future__ import annotations

import io

import pytest

from tests.support.csvfiles import csv_download, upload

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


def upload_csv(client, headers, body: bytes, **fields):
    response = client.post(
        "/api/campaigns", headers=headers, content_type="multipart/form-data",
        data={"name": "Upload", "app_id": "1", **fields, "file": (io.BytesIO(body), "list.csv")},
    )
    response.get_data()
    response.close()  # a large upload's body is a temporary file, closed with the response
    return response


def test_a_large_list_of_junk_answers_small_and_every_row_is_counted_and_downloadable(client, auth_headers):
    client.post("/api/suppressions", json={"numbers": ["+919876500003"]}, headers=auth_headers)
    rows = ["+919876500001,first", "+919876500002,second", "+919876500003,suppressed"]
    rows += [f"junk-{i},=HYPERLINK(\"x\")" for i in range(4, 6004)]  # 6,000 rows no one can call
    rows += ["+919876500001,again"]
    response = upload_csv(client, auth_headers, upload("number,custom_field", rows))
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert len(response.get_data()) < 200_000  # the answer stays small whatever the list
    body = response.get_json()
    assert len(body["not_imported"]) == 1000
    assert body["not_imported"][:2] == [
        {"row": 3, "number": "+919876500003", "reason": "suppressed"},
        {"row": 4, "number": "junk-4", "reason": "invalid number"},
    ]
    summary = body["import"]
    assert summary["rows"] == len(rows) == summary["imported"] + summary["not_imported"]
    assert (summary["imported"], summary["not_imported"]) == (2, 6002)
    assert summary["not_imported_by_reason"] == {"duplicate in the list": 1, "invalid number": 6000, "suppressed": 1}
    assert client.get(f"/api/campaigns/{body['id']}", headers=auth_headers).get_json()["import"] == summary
    download = client.get(summary["not_imported_csv"], headers=auth_headers)
    listed = csv_download(download)
    assert len(listed) == 6002 and [row["row_number"] for row in listed][-2:] == ["6003", str(len(rows))]
    assert listed[0] == {"row_number": "3", "number": "+919876500003", "custom_field": "suppressed", "reason": "suppressed"}
    assert listed[1]["custom_field"] == "'=HYPERLINK(\"x\")"  # text a spreadsheet would run is guarded
    assert listed[-1] == {"row_number": str(len(rows)), "number": "+919876500001", "custom_field": "again",
                          "reason": "duplicate in the list"}
    assert client.get(summary["not_imported_csv"]).status_code == 401
    assert client.get("/api/campaigns/999999/not-imported.csv", headers=auth_headers).status_code == 404


def test_a_list_with_no_valid_row_answers_422_with_its_counts_and_stores_nothing(client, auth_headers):
    rows = [f"junk-{i}" for i in range(1, 5001)]
    response = upload_csv(client, auth_headers, upload("number", rows))
    assert response.status_code == 422 and len(response.get_data()) < 2000
    error = response.get_json()["error"]
    assert error["code"] == "no_valid_contact" and "5,000 rows read: 5,000 invalid number" in error["message"]
    assert client.get("/api/campaigns", headers=auth_headers).get_json()["campaigns"] == []


@pytest.mark.parametrize("stray", [
    '"Rao,+919876500005,5',  # opens at the row's start and never closes: the rest of the file would be one cell
    '+919876500005,"order 5',  # opens in the last column
])
def test_a_stray_quote_is_refused_naming_its_row_and_nothing_is_stored(client, auth_headers, stray):
    rows = [f"Name {i},+9198765{i:05d},{i}" for i in range(1, 7001)]
    rows[4] = stray
    rows[3000] = 'Name 3001,+919876503001,closes"here'  # a later stray quote would close it: rows 6 to 3000 vanish
    response = upload_csv(client, auth_headers, upload("name,number,custom_field", rows))
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == "invalid_contacts" and error["field"] == "file"
    assert "Row 5 (line 6 of the file)" in error["message"] and "quote" in error["message"]
    assert client.get("/api/campaigns", headers=auth_headers).get_json()["campaigns"] == []


def test_a_quote_open_to_the_end_of_a_long_file_is_refused_too(client, auth_headers):
    rows = [f"+9198765{i:05d},order {i}" for i in range(1, 6001)]  # more after the quote than a cell may hold
    rows[9] = '+919876500010,"order 10'
    response = upload_csv(client, auth_headers, upload("number,custom_field", rows))
    assert response.status_code == 422
    assert "Row 10 (line 11 of the file)" in response.get_json()["error"]["message"]


def test_every_data_row_is_accounted_for(client, auth_headers):
    rows = ["+919876500001", "", "nope", "+919876500002", '"+919876500003"', "+91 98765 00001", ";;", "+919876500004"]
    response = upload_csv(client, auth_headers, upload("number", rows))
    summary = response.get_json()["import"]
    data_rows = [row for row in rows if row]  # a blank line is no row
    assert summary["rows"] == len(data_rows) == summary["imported"] + summary["not_imported"] == 7
    assert summary["imported"] == 4 and summary["not_imported_by_reason"] == {"duplicate in the list": 1, "invalid number": 2}


def test_a_json_list_is_limited_so_that_parsing_it_whole_stays_small(client, auth_headers):
    contacts = [{"number": f"+9198{i:08d}"} for i in range(200_000)]  # 5.4 MB of JSON
    response = create(client, auth_headers, contacts=contacts)
    assert response.status_code == 413
    assert "send a longer list as a CSV file" in response.get_json()["error"]["message"]
    assert client.get("/api/campaigns", headers=auth_headers).get_json()["campaigns"] == []
