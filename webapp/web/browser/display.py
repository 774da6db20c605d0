"""How the UI shows things: the viewer's time zone, status badges, payloads, Exotel refusals in words."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import Flask, request

from ...calls.overdue import overdue_since
from ...calls.status import FINAL, is_final
from ...config import get_settings
from ...exotel import ExotelError, ExotelRateLimited
from ...exotel.body import storable_text
from ...exotel.callbacks import fields_from_form, parse_callback
from ...exotel.flows import app_id_of
from ...exotel.recordings import without_secrets
from .status_words import OVERDUE, call_label, call_shown, call_tone, status_label, status_tone

log = logging.getLogger(__name__)

TZ_COOKIE = "tz"

EVENT_LABELS = {"answered": "Answered", "terminal": "Ended", "status": "Status update", "reconcile": "Checked with Exotel"}


def _tab(name: str) -> list[list[str]]:
    """The rows of one of tzdata's tab-separated tables, comments left out."""
    text = resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def zone_countries() -> dict[str, str]:
    """The zones of tzdata's zone.tab (each country's zones by their current names, no old aliases) -> countries."""
    countries = {row[0]: row[1] for row in _tab("iso3166.tab")}
    known = available_timezones()
    zones: dict[str, list[str]] = {}
    for row in _tab("zone.tab"):
        if row[2] in known:
            zones.setdefault(row[2], []).append(countries.get(row[0], row[0]))
    named = {zone: ", ".join(sorted(names)) for zone, names in sorted(zones.items())}
    return {**named, "UTC": "Coordinated Universal Time"}


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """The zones a viewer may choose: one canonical name per zone of each country, and UTC."""
    return tuple(zone_countries())


def default_zone() -> str:
    return get_settings().exotel_timezone


def viewer_zone_name() -> str:
    """The zone the viewer chose (a cookie), else the account's zone, EXOTEL_TIMEZONE."""
    name = request.cookies.get(TZ_COOKIE, "")
    if name and (name in zone_names()):
        return name
    return default_zone()


def viewer_zone() -> ZoneInfo:
    try:
        return ZoneInfo(viewer_zone_name())
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A UTC datetime in the viewer's zone, with the zone's abbreviation."""
    if value is None:
        return ""
    local = value.astimezone(viewer_zone())
    return f"{local.strftime(fmt)} {local.tzname()}"


def shorttime(value: datetime | None, fmt: str = "%d %b %H:%M:%S", *, now: datetime | None = None) -> str:
    """A UTC datetime in the viewer's zone, briefly: with the year when it is not this year (in that zone)."""
    if value is None:
        return ""
    zone = viewer_zone()
    local = value.astimezone(zone)
    if local.year != (now or datetime.now(UTC)).astimezone(zone).year:
        fmt = fmt.replace("%b", "%b %Y", 1)
    return local.strftime(fmt)


def waiting_since(call: Any) -> str:
    """Since when a call past its expected end has waited for its final status, in the viewer's zone ("17:21 IST";
    with the day when not today); "" for any other call."""
    now = get_settings().now()
    since = overdue_since(call)
    if since is None or call_shown(call, now) != OVERDUE:
        return ""
    zone = viewer_zone()
    local = since.astimezone(zone)
    fmt = "%H:%M" if local.date() == now.astimezone(zone).date() else "%d %b %H:%M"
    return f"{local.strftime(fmt)} {local.tzname()}"


def placed_by(created_by: str | None, campaign_names: Mapping[int, str] | None = None) -> str:
    """Who placed a call, in words: the user's email, the API token's name, the campaign's name (from
    `campaign_names`, by id; its number only when it is not there, e.g. deleted since)."""
    kind, _, name = (created_by or "").partition(":")
    if not name:
        return created_by or ""
    if kind == "campaign":
        known = (campaign_names or {}).get(int(name)) if name.isdigit() else None
        return f"{known} (campaign)" if known else f"Campaign {name}"
    return {"user": name, "token": f"API token {name}"}.get(kind, created_by or "")


def flow_name(flow_url: str | None) -> str:
    """A flow, briefly: "App 4242" for a flow of App Bazaar, else its URL."""
    app_id = app_id_of(flow_url)
    return f"App {app_id}" if app_id else (flow_url or "")


def isotime(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def safe_recording_url(url: str | None) -> str | None:
    """A recording URL worth linking to: http(s) only, never javascript: or data:."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return url.strip()
    return None


def parse_payload(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return text


def pretty_payload(text: str) -> str:
    """An event's raw body, indented for reading (escaped by the template).

    Whatever a row holds renders: a lone surrogate or NUL in a payload stored
    before payloads were made strict becomes U+FFFD, as UTF-8 cannot carry it.
    """
    payload = parse_payload(text)
    if isinstance(payload, dict):
        payload = without_secrets(payload)  # never a pre-signed recording link or a URL's password in a page
    if not isinstance(payload, str):
        try:
            text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError, RecursionError):  # keys of mixed types, or nested past the limit
            pass
    return storable_text(text or "")


def legs_of(events) -> list[dict[str, Any]]:
    """The legs reported by the latest event that has any."""
    tz = get_settings().tz
    for event in reversed(list(events)):
        payload = parse_payload(event.payload)
        if not isinstance(payload, dict):
            continue
        fields = payload if "Legs" in payload else fields_from_form(payload.items())
        try:
            legs = parse_callback(fields, tz).legs
        except Exception:
            continue
        if legs:
            return [{"number": i + 1, "status": leg.status, "duration": leg.on_call_duration, "answered_by": leg.answered_by}
                    for i, leg in enumerate(legs)]
    return []


def refusal_in_words(error: ExotelError) -> str:
    """Why Exotel did not take a call, for a person at the form."""
    message = (error.message or "").strip()
    said = f" Exotel said: “{message}”" if message else ""
    status = error.http_status
    if isinstance(error, ExotelRateLimited) or status == 429:
        return "Exotel is limiting how fast calls can be placed (about 200 a minute per account). Wait a moment and try again." + said
    if status == 403:
        return ("Exotel refused this call. Trial accounts can only call numbers verified in the Exotel dashboard, "
                "and accounts awaiting KYC are limited." + said)
    if status == 402:
        return "Exotel refused this call: the account's balance or plan does not allow it." + said
    if status == 401:
        log.warning("Exotel refused this service's credentials (HTTP 401): check EXOTEL_API_KEY and EXOTEL_API_TOKEN")
        return "Exotel did not accept this service's credentials, so no call was placed: ask an admin to check them." + said
    if status == 404:
        return "Exotel did not find the account or the flow. Check the app id or flow URL." + said
    if status == 400:
        return "Exotel found the request invalid." + said
    if error.outcome_unknown:
        return "Exotel did not answer clearly, so the call may or may not have been placed. It will be checked with Exotel; do not place it again yet."
    return "Exotel could not be reached, so no call was placed. Try again in a moment." + said


def init_display(app: Flask) -> None:
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(isotime, "isotime")
    app.add_template_filter(status_label, "status_label")
    app.add_template_filter(status_tone, "status_tone")
    app.add_template_filter(call_label, "call_label")
    app.add_template_filter(call_tone, "call_tone")
    app.add_template_filter(call_shown, "call_shown")
    app.add_template_filter(shorttime, "shorttime")
    app.add_template_filter(waiting_since, "waiting_since")
    app.add_template_filter(placed_by, "placed_by")
    app.add_template_filter(flow_name, "flow_name")
    app.add_template_global(is_final, "is_final")
    app.add_template_global(viewer_zone_name, "viewer_zone_name")
    # Pages naming the campaigns their calls came from pass their names; others show campaigns by number.
    app.jinja_env.globals.update(campaign_names=MappingProxyType({}), EVENT_LABELS=EVENT_LABELS, FINAL_STATUSES=sorted(FINAL), zone_countries=zone_countries)

    @app.context_processor
    def simulator_flag():
        settings = get_settings(app)
        return {"simulated": settings.use_simulator}
