"""The OpenAPI document states what the API's checks refuse: bodies generated from it (schemathesis, positive
mode) pass the validators behind POST /api/calls and POST /api/campaigns, but for the rules across fields that
the document says in words; and its size limits are the app's."""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.apps import make_app
from webapp.calls.validation import ValidationError, validate_call
from webapp.campaigns.contacts import Contact, classify, json_rows
from webapp.campaigns.spec import parse_campaign
from webapp.campaigns.suppressions import override_asked
from webapp.web.api import campaigns as campaigns_api
from webapp.web.api.openapi import document
from webapp.web.api.openapi.requests import CALL_BODY_BYTES, CAMPAIGN_BODY_BYTES

ACCOUNT = "acme1"
EXOPHONE = "08047112345"  # the deployment's EXOTEL_CALLER_ID: without it, caller_id is required (as documented)
BUDGET = 120
# The rules across fields, which CampaignRequest's description and its window's say in words.
ACROSS_FIELDS = {"window.end", "end_at"}
EXAMPLES = 300


def _bodies(path: str):
    """A strategy of JSON bodies for POST `path`, as a client generated from the document sends them."""
    api = schemathesis.openapi.from_dict(document(BUDGET))
    operation = api[path]["POST"]
    cases = operation.as_strategy().filter(lambda case: case.media_type == "application/json")
    return cases.map(lambda case: case.body)


def _run(strategy, check) -> None:
    @given(body=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def walk(body):
        check(body)

    walk()


def test_every_call_the_document_allows_passes_the_checks():
    seen: Counter[str] = Counter()

    def check(body):
        try:
            # As the API reads it: the admin's override first, then the call itself.
            fields = dict(body)
            override_asked(fields.pop("override_suppression", False), "admin")
            validate_call(fields, account_sid=ACCOUNT, default_caller_id=EXOPHONE)
        except ValidationError as exc:
            raise AssertionError(f"the document allows {body!r}, the API refuses it: {exc.field}: {exc.message}") from None
        seen.update(list(body))

    _run(_bodies("/api/calls"), check)
    # The walk reached every field, not only the required ones.
    assert set(seen) == set(document()["components"]["schemas"]["CallRequest"]["properties"])


def test_every_campaign_the_document_allows_passes_the_checks():
    seen: Counter[str] = Counter()

    def check(body):
        try:
            parse_campaign(body, account_sid=ACCOUNT, default_caller_id=EXOPHONE, budget=BUDGET)
        except ValidationError as exc:
            if exc.field in ACROSS_FIELDS:
                seen["(a rule across fields)"] += 1
                return
            raise AssertionError(f"the document allows {body!r}, the API refuses it: {exc.field}: {exc.message}") from None
        rows = list(classify(json_rows(body["contacts"]), lambda numbers: set()))
        assert all(isinstance(row, Contact) or row.reason == "duplicate in the list" for row in rows), rows
        seen.update(list(body))
        seen.update(f"window.{key}" for key in body.get("window", {}))

    _run(_bodies("/api/campaigns"), check)
    properties = document()["components"]["schemas"]["CampaignRequest"]["properties"]
    assert set(properties) | {f"window.{key}" for key in properties["window"]["properties"]} <= set(seen), seen


def test_the_document_states_the_apps_limits(database_url, sim):
    app = make_app(database_url, sim.base_url, EXOTEL_REQUESTS_PER_MINUTE=BUDGET)
    try:
        assert app.config["MAX_CONTENT_LENGTH"] == CALL_BODY_BYTES
        assert campaigns_api.MAX_UPLOAD == CAMPAIGN_BODY_BYTES
        served = app.test_client().get("/api/openapi.json").get_json()
    finally:
        app.extensions["database"].engine.dispose()
    schemas = served["components"]["schemas"]
    assert schemas["CampaignRequest"]["properties"]["calls_per_minute"]["maximum"] == BUDGET
    assert "413" in served["paths"]["/api/calls"]["post"]["responses"]
    assert "413" in served["paths"]["/api/campaigns"]["post"]["responses"]
    # What each field's check refuses is in the document: lengths, list sizes, formats, patterns, ranges.
    call = schemas["CallRequest"]["properties"]
    assert call["custom_field"]["maxLength"] == 128 and call["time_limit"]["maximum"] == 14400
    assert call["from"]["pattern"] and call["caller_id"]["pattern"] and call["flow_url"]["format"] == "uri"
    campaign = schemas["CampaignRequest"]["properties"]
    assert campaign["name"]["minLength"] == 1 and campaign["contacts"]["minItems"] == 1
    assert campaign["window"]["properties"]["days"]["minItems"] == 1 and campaign["start_at"]["format"] == "date-time"
