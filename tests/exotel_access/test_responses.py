"""Exotel's answers counted on /metrics by HTTP status, and its refusals of the account apart from a number's."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families


def counts(client, name: str) -> dict[str, float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {sample.labels["status"]: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == name}


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {status: after[status] - before.get(status, 0) for status in after if after[status] != before.get(status, 0)}


@pytest.mark.sqlite_only
def test_answers_by_status_and_account_refusals(client, auth_headers, sim):
    responses, refusals = counts(client, "exotel_api_responses_total"), counts(client, "exotel_account_refusals_total")
    assert refusals == {"401": refusals["401"], "402": refusals["402"], "403": refusals["403"]}  # there from the start
    # Accepted; out of balance (402); a trial account's unverified number (403); a number on DND (403, not the account's).
    for number in ("+919876543210", "+919876547777", "+919876543219", "+919876548888"):
        client.post("/api/calls", json={"from": number, "app_id": "1"}, headers=auth_headers)
    sim.state.add_fault("status", status=401)
    assert client.post("/api/calls", json={"from": "+919876543210", "app_id": "1"}, headers=auth_headers).status_code == 502
    assert delta(responses, counts(client, "exotel_api_responses_total")) == {"200": 1, "401": 1, "402": 1, "403": 2}
    assert delta(refusals, counts(client, "exotel_account_refusals_total")) == {"401": 1, "402": 1, "403": 1}
