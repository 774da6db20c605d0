"""Creating a campaign once per Idempotency-Key is one service call: a retry gets the first campaign back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support.campaigns import all_day_window, us_number
from webapp.campaigns.idempotency import CampaignKeyConflict, create_once
from webapp.campaigns.models import Campaign
from webapp.campaigns.spec import parse_campaign
from webapp.db import get_db, utcnow


def _spec():
    return parse_campaign({"name": "Dues", "app_id": "1", "window": all_day_window()}, account_sid="testaccount",
                          default_caller_id="08047112345", budget=200)


def _create(key, *, spec=_spec):
    return create_once(get_db(), [(1, us_number(1), None)], spec=spec, key=key, created_by="token:tests", now=utcnow())


def _campaigns() -> int:
    with get_db().transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Campaign))


def test_a_retry_with_the_same_key_gets_the_first_campaign_without_judging_again(app):
    with app.app_context():
        first = _create(("token:1", "k-1", "hash-a"))
        assert first.created is not None and first.earlier is None

        def never_judged():
            raise AssertionError("a retry must not judge its request again")

        again = _create(("token:1", "k-1", "hash-a"), spec=never_judged)
        assert (again.created, again.earlier) == (None, first.created.campaign.id)
        assert _campaigns() == 1


def test_the_same_key_with_another_request_creates_nothing(app):
    with app.app_context():
        _create(("token:1", "k-1", "hash-a"))
        with pytest.raises(CampaignKeyConflict):
            _create(("token:1", "k-1", "hash-b"))
        assert _create(("token:2", "k-1", "hash-b")).created is not None  # another client's key is its own
        assert _create(None).created is not None and _create(None).created is not None  # no key: every call creates
        assert _campaigns() == 4
