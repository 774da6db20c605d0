"""Campaigns driven as a customer drives them, for tests with real worker processes: the app served over HTTP
(the workers' calls send their callbacks there), an API token to create and control campaigns, and reads of
what the workers did."""

from __future__ import annotations

import time
from datetime import time as clock_time
from typing import Any

import requests
from sqlalchemy import func, select

from webapp.accounts import create_token
from webapp.campaigns.models import IN_FLIGHT, CampaignContact
from webapp.db import get_db, utcnow
from webapp.models import Call

from .apps import LiveServer, make_app


def all_day_window() -> dict[str, str]:
    """A window open now and for the next few minutes: all day (but 23:59) in a zone whose day is not ending.

    Non-Indian numbers may be called at any hour, and a window ends at 23:59 at the latest.
    """
    zone = "UTC" if utcnow().time() < clock_time(23, 30) else "Etc/GMT+6"  # 23:30 UTC is 17:30 there
    return {"start": "00:00", "end": "23:59", "timezone": zone}


# Refused by the simulator (webapp/simulator/outcomes.py): out of balance (402), and on India's DND registry (403).
OUT_OF_BALANCE, DND = "+14155557777", "+14155558888"


def us_number(index: int) -> str:
    """A valid US number (so any hour is allowed), distinct for each index below 1000, answered and completed."""
    return f"+1415555{index:03d}0"


class CampaignSite:
    """The app on `database_url`, served on a free port, its Exotel the simulator; campaigns through its API."""

    def __init__(self, database_url: str, sim_url: str):
        self.live = LiveServer()
        self.app = make_app(database_url, sim_url, PUBLIC_BASE_URL=self.live.url, EXOTEL_REQUESTS_PER_MINUTE=100_000)
        self.live.serve(self.app)
        with self.app.app_context():
            token = create_token(get_db(), "campaign-tests")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    @property
    def url(self) -> str:
        return self.live.url

    def close(self) -> None:
        self.http.close()
        self.live.stop()
        self.app.extensions["database"].engine.dispose()

    def create(self, numbers: list[str], **fields: Any) -> dict[str, Any]:
        """POST /api/campaigns with these numbers (dialled in this order), 600 a minute, open all day."""
        body = {"name": "Reminders", "app_id": "1", "calls_per_minute": 600, "window": all_day_window(), **fields,
                "contacts": [{"number": number} for number in numbers]}
        response = self.http.post(f"{self.url}/api/campaigns", json=body, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def control(self, campaign_id: int, action: str) -> tuple[dict[str, Any], float]:
        """POST pause, resume or cancel; the campaign as answered, and when the answer came (Unix seconds)."""
        response = self.http.post(f"{self.url}/api/campaigns/{campaign_id}/{action}", timeout=10)
        answered = time.time()
        assert response.status_code == 200, response.text
        return response.json(), answered

    def campaign(self, campaign_id: int) -> dict[str, Any]:
        response = self.http.get(f"{self.url}/api/campaigns/{campaign_id}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def calls(self, campaign_id: int) -> list[Call]:
        """The campaign's calls rows, oldest first."""
        with self.app.app_context(), get_db().transaction(write=False) as session:
            return list(session.scalars(select(Call).where(Call.campaign_id == campaign_id).order_by(Call.created_at)))

    def contacts(self, campaign_id: int) -> dict[str, CampaignContact]:
        """The campaign's contacts by number."""
        with self.app.app_context(), get_db().transaction(write=False) as session:
            rows = session.scalars(select(CampaignContact).where(CampaignContact.campaign_id == campaign_id))
            return {row.number: row for row in rows}

    def in_flight(self, campaign_id: int) -> int:
        """Contacts with an attempt claimed and not yet settled."""
        with self.app.app_context(), get_db().transaction(write=False) as session:
            return session.scalar(select(func.count()).select_from(CampaignContact).where(
                CampaignContact.campaign_id == campaign_id, CampaignContact.state.in_(IN_FLIGHT))) or 0


def connects_after(sim: Any, moment: float) -> list[dict[str, Any]]:
    """The connect requests that reached the simulator after `moment` (Unix seconds)."""
    return [entry for entry in sim.state.connects.entries() if entry["at"] > moment]
