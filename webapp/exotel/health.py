"""Is this Exotel account ready for real use? A few requests, one verdict per question.

Credentials (and, when Exotel refuses them, whether the other region takes
them), the default ExoPhone among the account's, the balance with its runway
at today's spend. The ExoPhones and Balance resources belong to Exotel's newer
portal and their shapes are not settled: they are read leniently. Every
request first draws from the deployment's budget.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import requests

from .client import INTERACTIVE, Permit
from .errors import NotSent

Verdict = Literal["ok", "warn", "fail"]
RUNWAY_WARN_DAYS = 3  # fewer days of calls than this at today's spend: a warning


@dataclass(frozen=True)
class Check:
    """One question's answer: `name`, a verdict and what a person should know (never a secret)."""

    name: str
    verdict: Verdict
    message: str

    def line(self) -> str:
        return f"{self.verdict:<4} {self.name}: {self.message}"


@dataclass(frozen=True)
class Answer:
    """Exotel's answer to one request: its HTTP status (0: none came) and JSON body (None: not JSON)."""

    status: int
    body: Any
    why: str = ""


def host(origin: str) -> str:
    return urlsplit(origin).netloc or origin


def e164_digits(number: str) -> str:
    """A number's digits in E.164 (India's 0 or no prefix becomes 91), for comparing how Exotel writes numbers."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    return "91" + digits if len(digits) == 10 else digits


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) in a JSON document, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def phone_numbers(body: Any) -> list[str]:
    """The numbers an IncomingPhoneNumbers answer lists, whatever its envelope (PhoneNumber or phone_number)."""
    return [str(v) for k, v in _walk(body) if re.sub(r"[_\s]", "", k).lower() == "phonenumber" and isinstance(v, (str, int))]


def amount(body: Any, names: tuple[str, ...] = ("amount", "balance", "availablebalance")) -> Decimal | None:
    """The first number under one of `names` (any case, any nesting): Exotel writes amounts as strings."""
    for key, value in _walk(body):
        if re.sub(r"[_\s]", "", key).lower() in names and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            try:
                found = Decimal(str(value).strip())
            except InvalidOperation:
                continue
            if found.is_finite():
                return found
    return None


class Probe:
    """GETs with the account's Basic auth, each drawn from the budget first; never raises for Exotel's answer."""

    def __init__(self, credentials: tuple[str, str], permit: Permit | None, *, timeout: float = 10.0):
        self._session = requests.Session()
        self._session.auth = credentials
        self._session.headers.update({"Accept": "application/json", "User-Agent": "exotel-calls/0.1"})
        self._permit = permit
        self.timeout = (5.0, timeout)
        self.sent = 0

    def __repr__(self) -> str:
        return "<Probe>"

    def get(self, url: str, params: dict[str, str] | None = None) -> Answer:
        try:
            if self._permit is not None:
                self._permit(INTERACTIVE)
        except NotSent as exc:
            return Answer(0, None, f"not sent: {exc}")
        self.sent += 1
        try:
            response = self._session.get(url, params=params, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return Answer(0, None, f"no answer ({type(exc).__name__})")
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(response.status_code, body, f"HTTP {response.status_code}")

    def close(self) -> None:
        self._session.close()


@dataclass(frozen=True)
class Account:
    """What to check: the account, where its API is (and the other region's origin, if there is one to try)."""

    sid: str
    origin: str
    region: str | None = None
    other_region: tuple[str, str] | None = None  # (name, origin)
    caller_id: str | None = None
    tz_today: tuple[datetime, datetime] | None = None  # today so far, in the account's zone


def check_credentials(probe: Probe, account: Account) -> tuple[Check, Answer]:
    """Exotel's Calls list of today (it also gives today's spend); on refusal, the other region is asked."""
    params = {"PageSize": "100"}
    if account.tz_today:
        start, now = (moment.strftime("%Y-%m-%d %H:%M:%S") for moment in account.tz_today)
        params["DateCreated"] = f"gte:{start};lte:{now}"
    answer = probe.get(f"{account.origin}/v1/Accounts/{account.sid}/Calls.json", params)
    where = host(account.origin) + (f" ({account.region})" if account.region else "")
    if answer.status == 200:
        return Check("credentials", "ok", f"Exotel accepts the API key and token of account {account.sid} at {where}"), answer
    if answer.status not in (401, 403):
        # Exotel's rate limit, or this deployment's spent budget, says nothing about the credentials.
        verdict: Verdict = "warn" if answer.status == 429 or answer.why.startswith("not sent") else "fail"
        return Check("credentials", verdict, f"{where} did not say whether it accepts them ({answer.why})"), answer
    message = f"{where} refuses the API key and token of account {account.sid} ({answer.why})"
    if account.other_region is not None:
        name, origin = account.other_region
        other = probe.get(f"{origin}/v1/Accounts/{account.sid}/Calls.json", {"PageSize": "1"})
        if other.status == 200:
            return Check("credentials", "fail", f"{message}, but {host(origin)} accepts them: "
                                                f"the account lives in {name}: set EXOTEL_REGION={name}"), answer
        message += f", and so does {host(origin)} ({name})"
    return Check("credentials", "fail", message + ": check EXOTEL_ACCOUNT_SID, EXOTEL_API_KEY and EXOTEL_API_TOKEN"), answer


def check_exophone(probe: Probe, account: Account) -> Check:
    """The default ExoPhone among the account's: the list first, then the one number."""
    if not account.caller_id:
        return Check("exophone", "warn", "EXOTEL_CALLER_ID is not set: every call must name its ExoPhone")
    wanted = e164_digits(account.caller_id)
    listed = probe.get(f"{account.origin}/v2_beta/Accounts/{account.sid}/IncomingPhoneNumbers")
    numbers = phone_numbers(listed.body) if listed.status == 200 else []
    if numbers:
        if wanted in {e164_digits(number) for number in numbers}:
            return Check("exophone", "ok", f"{account.caller_id} is an ExoPhone of account {account.sid}")
        shown = ", ".join(numbers[:5]) + (" ..." if len(numbers) > 5 else "")
        return Check("exophone", "fail", f"{account.caller_id} is not an ExoPhone of account {account.sid} (its ExoPhones: {shown})")
    one = probe.get(f"{account.origin}/v1/Accounts/{account.sid}/IncomingPhoneNumbers/{quote(account.caller_id)}.json")
    if one.status == 200:
        return Check("exophone", "ok", f"{account.caller_id} is an ExoPhone of account {account.sid}")
    if one.status == 404:
        return Check("exophone", "fail", f"{account.caller_id} is not an ExoPhone of account {account.sid}")
    return Check("exophone", "warn", f"Exotel did not list the account's ExoPhones ({listed.why}; {one.why})")


def spend_today(calls: Answer) -> Decimal | None:
    """Today's spend from the Calls list of today: the sum of Price, scaled up when there are more pages."""
    rows = calls.body.get("Calls") if isinstance(calls.body, dict) else None
    if calls.status != 200 or not isinstance(rows, list):
        return None
    prices = [price for row in rows if (price := amount(row, ("price",))) is not None]
    total = sum(prices, Decimal(0))
    listed = amount(calls.body.get("Metadata"), ("total",))
    if rows and listed is not None and listed > len(rows):
        total = total * listed / len(rows)
    return abs(total)


def check_balance(probe: Probe, account: Account, spent: Decimal | None) -> Check:
    """The balance where Exotel answers it; a warning when it lasts fewer than RUNWAY_WARN_DAYS at today's spend."""
    answer = probe.get(f"{account.origin}/v1/Accounts/{account.sid}/Balance.json")
    balance = amount(answer.body) if answer.status == 200 else None
    if balance is None:
        return Check("balance", "warn", f"Exotel did not give the account's balance ({answer.why}): check it in the dashboard")
    if balance <= 0:
        return Check("balance", "fail", f"the balance is {balance:.2f}: Exotel refuses every call (402) until it is recharged")
    if not spent:
        return Check("balance", "ok", f"the balance is {balance:.2f}; nothing spent today")
    days = balance / spent
    verdict: Verdict = "warn" if days < RUNWAY_WARN_DAYS else "ok"
    low = " (low)" if verdict == "warn" else ""
    return Check("balance", verdict, f"the balance is {balance:.2f}{low}: about {days:.1f} days at today's spend of {spent:.2f}")


def is_loopback(hostname: str) -> bool:
    hostname = hostname.lower().rstrip(".")
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def check_public_base_url(url: str | None, *, simulator: bool) -> Check:
    """PUBLIC_BASE_URL set, https, and reachable from outside (not loopback)."""
    bad: Verdict = "warn" if simulator else "fail"
    suffix = " (fine with the simulator; real Exotel needs it)" if simulator else ""
    if not url:
        return Check("public_base_url", bad, "PUBLIC_BASE_URL is not set: Exotel cannot be told where to post callbacks" + suffix)
    parts = urlsplit(url)
    if is_loopback(parts.hostname or ""):
        return Check("public_base_url", bad, f"PUBLIC_BASE_URL {url} is loopback: Exotel cannot reach it" + suffix)
    if parts.scheme != "https":
        return Check("public_base_url", bad, f"PUBLIC_BASE_URL {url} is not https: callback URLs carry each call's token" + suffix)
    return Check("public_base_url", "ok", f"callbacks go to {url}")


def check_account(probe: Probe, account: Account) -> list[Check]:
    """Credentials, then (if they work) the ExoPhone and the balance: three requests, five at most."""
    credentials, calls = check_credentials(probe, account)
    if credentials.verdict == "fail":
        skipped = "not checked: the credentials do not work"
        return [credentials, Check("exophone", "warn", skipped), Check("balance", "warn", skipped)]
    return [credentials, check_exophone(probe, account), check_balance(probe, account, spend_today(calls))]
