"""A small client for Exotel's voice API: one Session, timeouts, no blind re-sends."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import requests
from defusedxml import ElementTree
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.util.retry import Retry

from .connect import ConnectRequest, encode_status_callback_events
from .errors import ExotelError, ExotelRateLimited, ExotelRejected, ExotelTimeout, ExotelUncertain, ExotelUnreachable
from .flows import FLOW_URL
from .recordings import RecordingFetcher
from .resources import BULK_LIMIT, CallFilter, CallInfo, _text

log = logging.getLogger(__name__)
Priority = Literal["interactive", "bulk"]
INTERACTIVE: Priority = "interactive"  # a person or an API client waits for the answer
BULK: Priority = "bulk"  # reconciliation, campaigns: never the budget's last share
#: Called before every request leaves; raises BudgetSpent when the budget allows none.
Permit = Callable[[Priority], None]

def _xml_to_dict(element: Any) -> Any:
    children = list(element)
    if not children:
        return element.text
    return {child.tag: _xml_to_dict(child) for child in children}


def _parse_body(response: requests.Response) -> dict[str, Any] | None:
    """Exotel's answer as a dict, from JSON or (without the .json suffix) XML; None if unreadable."""
    text = response.text
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    try:
        if content_type.endswith("json") or text.lstrip().startswith("{"):
            body = json.loads(text)
        elif content_type.endswith("xml") or text.lstrip().startswith("<?xml"):
            root = ElementTree.fromstring(text)
            body = _xml_to_dict(root)  # <TwilioResponse><Call>...</Call></TwilioResponse>
        else:
            return None
    except (ValueError, ElementTree.ParseError, Exception) as exc:  # defusedxml raises its own types too
        log.debug("unreadable Exotel body: %s", type(exc).__name__)
        return None
    return body if isinstance(body, dict) else None


def _rest_exception(body: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """Exotel's (code, message) from a RestException body, if there is one."""
    if not body or not isinstance(body.get("RestException"), dict):
        return None, None
    exc = body["RestException"]
    return _text(exc.get("Code")), _text(exc.get("Message"))


def _never_sent(exc: requests.ConnectionError) -> bool:
    """Whether a connection error happened before any byte of the request was sent."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError, requests.exceptions.InvalidURL)):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError, NameResolutionError))


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        reset = response.headers.get("X-RateLimit-Reset")
        # Some gateways give seconds-until-reset, others an epoch; only trust a small number.
        value = reset if reset and reset.isdigit() and int(reset) < 3600 else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class ExotelClient:
    """Exotel's voice API for one account. Thread-safe for concurrent requests."""

    def __init__(
        self,
        account_sid: str,
        api_key: str,
        api_token: str,
        base_url: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_rate_limit_wait: float = 10.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        permit: Permit | None = None,
    ):
        self.account_sid = account_sid
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self.permit = permit  # the budget every request draws from (public: a caller may wrap it)
        self._session = session or requests.Session()
        self._session.auth = (api_key, api_token)  # Basic auth header, never key:token@ in the URL
        self._session.headers.update({"Accept": "application/json", "User-Agent": "exotel-calls/0.1"})
        # Only failures to connect are retried: the request never left, so nothing can
        # be placed twice. Reads, resets and statuses are never retried here.
        retry = Retry(total=2, connect=2, read=0, status=0, other=0, redirect=0, backoff_factor=0.2, raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=32)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def __repr__(self) -> str:
        return f"<ExotelClient account={self.account_sid} base={self.base_url}>"

    def close(self) -> None:
        self._session.close()

    def with_permit(self, permit: Permit | None) -> ExotelClient:
        """This client (same Session, same account) drawing each request from `permit`."""
        other = copy.copy(self)
        other.permit = permit
        return other

    @property
    def credentials(self) -> tuple[str, str]:
        """The API key and token, for requests beside the voice API (recordings, the account's health)."""
        return cast(tuple[str, str], self._session.auth)  # set in __init__

    def recordings(self, **limits: Any) -> RecordingFetcher:
        """This account's recordings, fetched with its credentials (its RecordingUrls need them) on a Session of their own."""
        return RecordingFetcher(*self.credentials, self.base_url, **limits)

    def flow_url(self, app_id: str) -> str:
        """The Url parameter for one of this account's call flows (App Bazaar apps)."""
        return FLOW_URL.format(account_sid=self.account_sid, app_id=app_id)

    # -- calls ---------------------------------------------------------------

    def connect_to_flow(self, request: ConnectRequest, *, priority: Priority = INTERACTIVE) -> CallInfo:
        """Ring `from_number` and connect it to the flow; raises an ExotelError subclass otherwise."""
        body = self._request("POST", "/Calls/connect.json", priority, data=request.form())
        call = body.get("Call") if isinstance(body, dict) else None
        if not isinstance(call, dict) or not _text(call.get("Sid")):
            raise ExotelUncertain("Exotel answered 200 without a Call Sid", http_status=200)
        return CallInfo.from_payload(call)

    def get_call(self, sid: str) -> CallInfo:
        """One call, with details (legs, conversation duration)."""
        body = self._request("GET", f"/Calls/{sid}.json", INTERACTIVE, params={"details": "true"})
        call = body.get("Call")
        if not isinstance(call, dict) or not call.get("Sid"):
            raise ExotelUncertain("Exotel answered without a Call", http_status=200)
        return CallInfo.from_payload(call)

    def get_calls(self, sids: Iterable[str], *, priority: Priority = BULK) -> list[CallInfo]:
        """Many calls by Sid, 100 per request; calls still in progress are not listed by Exotel."""
        sids = list(dict.fromkeys(sids))
        found: list[CallInfo] = []
        for start in range(0, len(sids), BULK_LIMIT):
            chunk = sids[start : start + BULK_LIMIT]
            params = {"Sid": ",".join(chunk), "details": "true", "PageSize": str(BULK_LIMIT)}
            for page in self._pages(params, priority):
                found += page
        return found

    def list_calls(self, filters: CallFilter, tz: ZoneInfo, *, priority: Priority = BULK, max_pages: int = 10) -> list[CallInfo]:
        """Calls matching `filters` (DateCreated in the account's zone `tz`), following NextPageUri."""
        found: list[CallInfo] = []
        for number, page in enumerate(self._pages(filters.params(tz), priority), start=1):
            found += page
            if number >= max_pages:
                break
        return found

    def _pages(self, params: dict[str, str], priority: Priority) -> Iterator[list[CallInfo]]:
        path: str | None = "/Calls.json"
        query: dict[str, str] | None = params
        while path:
            body = self._request("GET", path, priority, params=query)
            calls = body.get("Calls") or []
            yield [CallInfo.from_payload(c) for c in calls if isinstance(c, dict) and c.get("Sid")]
            path, query = self._next_page(body), None

    def _next_page(self, body: dict[str, Any]) -> str | None:
        meta: dict[str, Any] = body["Metadata"] if isinstance(body.get("Metadata"), dict) else {}
        next_uri = _text(meta.get("NextPageUri"))
        if not next_uri:
            return None
        prefix = f"/v1/Accounts/{self.account_sid}"
        return next_uri[len(prefix) :] if next_uri.startswith(prefix) else None

    # -- transport -----------------------------------------------------------

    def _request(self, method: str, path: str, priority: Priority, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.base_url}/v1/Accounts/{self.account_sid}{path}"
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            if self.permit is not None:
                self.permit(priority)  # raises BudgetSpent: then nothing leaves
            started = time.monotonic()
            try:
                response = self._session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.ConnectionError as exc:
                elapsed = time.monotonic() - started
                if _never_sent(exc):
                    log.warning("exotel %s %s unreachable after %.0f ms", method, path, elapsed * 1000)
                    raise ExotelUnreachable("Could not connect to Exotel; nothing was sent") from None
                log.warning("exotel %s %s connection lost after sending (%.0f ms)", method, path, elapsed * 1000)
                raise ExotelUncertain("The connection to Exotel broke after the request was sent") from None
            except requests.Timeout:
                log.warning("exotel %s %s no answer within %.0f s", method, path, self.timeout[1])
                raise ExotelTimeout(f"Exotel gave no answer within {self.timeout[1]:g} s") from None
            except requests.RequestException as exc:
                raise ExotelUnreachable(f"Could not send the request to Exotel ({type(exc).__name__})") from None
            elapsed_ms = (time.monotonic() - started) * 1000
            log.info("exotel %s %s -> %s in %.0f ms", method, path, response.status_code, elapsed_ms)

            if response.status_code == 429:
                retry_after = _retry_after(response)
                # A 429 means Exotel placed nothing, so waiting and asking again cannot
                # call anyone twice; but never hold the caller for longer than allowed.
                delay = retry_after if retry_after is not None else min(2.0**attempt, 8.0)
                if attempt <= 2 and waited + delay <= self.max_rate_limit_wait:
                    self._sleep(delay)
                    waited += delay
                    continue
                code, message = _rest_exception(_parse_body(response))
                raise ExotelRateLimited(
                    message or "Exotel's rate limit was reached; try again shortly",
                    http_status=429,
                    code=code or "429",
                    retry_after=retry_after,
                    body=response.text,
                )
            return self._interpret(response)

    @staticmethod
    def _interpret(response: requests.Response) -> dict[str, Any]:
        body = _parse_body(response)
        status = response.status_code
        if 200 <= status < 300:
            if body is None:
                raise ExotelUncertain("Exotel's answer could not be read", http_status=status, body=response.text)
            return body
        code, message = _rest_exception(body)
        message = message or f"Exotel answered HTTP {status}"
        if 400 <= status < 500:
            raise ExotelRejected(message, http_status=status, code=code or str(status), body=response.text)
        raise ExotelUncertain(message, http_status=status, code=code or str(status), body=response.text)


__all__ = ["BULK_LIMIT", "CallFilter", "CallInfo", "ConnectRequest", "ExotelClient", "ExotelError", "encode_status_callback_events"]
