"""One served app shared by browser tests: a user of each role, a week of calls, a campaign.

It is built once (the app on its own SQLite copy, served on a free port, its
Exotel the session's simulator) and the tests that only add to it reuse it and
one browser, so a page costs a navigation, not a server.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select, update

from tests.support.apps import LiveServer, make_app
from tests.support.webhooks import webhook_endpoint
from webapp.accounts import create_token, create_user
from webapp.accounts.audit import Actor
from webapp.accounts.links import issue_link
from webapp.alerts import Alert
from webapp.calls.seeding import seed_many
from webapp.campaigns import store
from webapp.campaigns.models import Campaign, CampaignContact
from webapp.campaigns.spec import parse_campaign
from webapp.db import get_db, utcnow
from webapp.models import ApiToken, Call

ROLES = ("admin", "operator", "viewer")
PASSWORD = "correct horse battery"
CAMPAIGN_CONTACTS = 12


def email(role: str) -> str:
    """The signed-in user of `role`."""
    return f"{role}@example.com"


@dataclass
class Site:
    """The served app and what its pages need: a call's id, a campaign's id, a valid set-password link."""

    app: Flask
    url: str
    simulator_url: str
    ids: dict[str, str] = field(default_factory=dict)

    def populate(self, calls: int = 300) -> None:
        """A user of each role, `calls` calls over a week, a running campaign with attempts, an unused link."""
        with self.app.app_context():
            db = get_db()
            for role in ROLES:
                self.ids.setdefault("user", str(create_user(db, email(role), PASSWORD, role=role).id))
            create_token(db, "crm", role="viewer")
            invited = create_user(db, "invited@example.com", None, role="viewer")
            self.ids["link"] = issue_link(db, invited.id, Actor(f"user:{email('admin')}"), action="")
            seed_many([db.engine], calls, days=7, seed=7)
            with db.transaction() as session:
                call = session.scalars(select(Call).where(Call.status == "completed").limit(1)).one()
                call.recording_url = f"{self.simulator_url}/recordings/testaccount/{'0' * 32}.wav"  # the page's player too
                self.ids["call"] = call.id
                self.ids["failed"] = session.scalars(select(Call.id).where(Call.status == "failed").limit(1)).one()
            self.ids["campaign"] = str(self._campaign(db))
            self.ids["alert"] = str(self._alerts(db))
            self.ids["token"] = str(db.session().scalar(select(ApiToken.id).where(ApiToken.name == "crm")))
            self.ids["webhook"] = str(webhook_endpoint(db))

    @staticmethod
    def _alerts(db) -> int:
        """A firing callbacks_missing (behind three calls; every page's banner) and an acknowledged, resolved one."""
        now = utcnow()
        with db.transaction() as session:
            calls = session.scalars(select(Call.id).where(Call.sid.is_not(None)).limit(3)).all()
            firing = Alert(rule="callbacks_missing", state="firing", severity="critical", started_at=now, last_held_at=now,
                           summary="3 calls Exotel accepted in the last hour got no status callback after 3 minutes: "
                                   "check that Exotel can reach PUBLIC_BASE_URL.",
                           detail=json.dumps({"calls": 3, "call_ids": list(calls)}), notify_attempts=0)
            session.add(firing)
            session.add(Alert(rule="budget_saturated", state="resolved", severity="warning", notify_attempts=0,
                              summary="Requests waited for the Exotel budget (200 a minute) in 4 of the last 5 minutes.",
                              started_at=now - timedelta(days=1), resolved_at=now - timedelta(hours=23),
                              last_held_at=now - timedelta(hours=23), acknowledged_by=f"user:{email('admin')}",
                              acknowledged_at=now - timedelta(hours=23)))
            session.flush()
            return firing.id

    @staticmethod
    def _campaign(db) -> int:
        """A running campaign whose contacts' first attempts are some of the seeded calls, for its chart."""
        spec = parse_campaign(
            {"name": "Payment reminders", "app_id": "123456", "caller_id": "08047112345"},
            account_sid="acme1", default_caller_id=None, budget=200,
        )
        rows = [(i, f"+9198765{i:05d}", f"order-{i}") for i in range(1, CAMPAIGN_CONTACTS + 1)]
        campaign = store.create_campaign(db, spec, rows, created_by=f"user:{email('operator')}", now=utcnow()).campaign
        with db.transaction() as session:
            contacts = session.scalars(select(CampaignContact).where(CampaignContact.campaign_id == campaign.id)
                                       .order_by(CampaignContact.row_number)).all()
            calls = session.scalars(select(Call).order_by(Call.created_at.desc()).limit(len(contacts) - 2)).all()
            for contact, call in zip(contacts, calls, strict=False):  # the last two are still waiting
                session.execute(update(Call).where(Call.id == call.id).values(
                    campaign_id=campaign.id, campaign_contact_id=contact.id, attempt=1, from_number=contact.number))
                contact.attempts, contact.last_call_id = 1, call.id
                contact.state = "completed" if call.status == "completed" else "exhausted"
            session.get(Campaign, campaign.id).status = "running"
        return campaign.id


@contextmanager
def served_site(template: Path, directory: Path, simulator_url: str) -> Iterator[Site]:
    """A fresh app (no user yet) on a copy of the migrated SQLite `template`, served over HTTP."""
    path = directory / "calls.db"
    shutil.copy(template, path)
    live = LiveServer()
    app = make_app(f"sqlite:///{path}", simulator_url, PUBLIC_BASE_URL=live.url)
    live.serve(app)
    try:
        yield Site(app, live.url, simulator_url)
    finally:
        live.stop()
        app.extensions["database"].engine.dispose()
