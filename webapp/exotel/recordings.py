"""Fetching a call's recording from Exotel, streamed, from Exotel's own hosts only.

Since Exotel's update of 8 October 2024 a RecordingUrl opens only with the
account's API key and token (HTTP Basic). The app fetches it for the browser,
which must never be given them. A RecordingUrl is data from a callback: it is
fetched only from Exotel's hosts (and the configured API origin), redirects are
followed only to those, and the credentials go only to Exotel itself.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

log = logging.getLogger(__name__)

#: Exotel's own domains: recordings.exotel.com, its Mumbai twins, the API hosts. https only.
EXOTEL_DOMAINS = ("exotel.com", "exotel.in")
#: Older RecordingUrls point at Exotel's bucket on Amazon S3 (public then, pre-signed now): no credentials go there.
_S3_HOST = re.compile(r"^(?:exotelrecordings\.)?s3[.-](?:[a-z0-9-]+[.-])?amazonaws\.com$")
_S3_BUCKET = "exotelrecordings"
_RANGE = re.compile(r"^bytes=(\d{0,15})-(\d{0,15})$")
MAX_REDIRECTS = 3
CHUNK = 64 * 1024


class RecordingError(Exception):
    """A recording that cannot be served; `message` is for people, `reason` for the log."""

    status = 502

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.message = message
        self.reason = reason or message


class RecordingNotAllowed(RecordingError):
    """The address is not Exotel's: nothing was fetched from it."""

    status = 404


class RecordingUnavailable(RecordingError):
    """Exotel has no recording there (404/410): not ready yet, or no longer kept."""

    status = 404


class RecordingRefused(RecordingError):
    """Exotel refused the account's credentials for it (401/403)."""


class RecordingTooLarge(RecordingError):
    """Bigger than this deployment streams."""


class RecordingUnreachable(RecordingError):
    """No answer from Exotel in time, or the connection failed."""

    status = 504


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower().rstrip("."), port


def is_exotel_host(host: str) -> bool:
    """Whether `host` is one of Exotel's own (exotel.com, exotel.in or below them)."""
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in EXOTEL_DOMAINS)


def credentials_go_to(url: str, api_origin: str) -> bool | None:
    """Whether the account's credentials go with a request to `url`; None when `url` is not to be fetched at all.

    Exotel's hosts over https, and the configured API origin (scheme, host and
    port alike: a simulator on loopback), get them; Exotel's S3 bucket is
    fetched without them; anything else is never fetched.
    """
    try:
        scheme, host, port = _origin(url)
        configured = _origin(api_origin)
    except ValueError:  # an unparsable port
        return None
    if not host or scheme not in ("http", "https"):
        return None
    if (scheme, host, port) == configured:
        return True
    if scheme != "https":
        return None
    if is_exotel_host(host):
        return True
    path = urlsplit(url).path
    if _S3_HOST.match(host) and (host.startswith(_S3_BUCKET + ".") or path.startswith(f"/{_S3_BUCKET}/")):
        return False
    return None


def without_secrets(payload: dict[str, object]) -> dict[str, object]:
    """A payload fit to show: a pre-signed link (a credential while it lasts) hidden, user:password@ dropped from URLs."""
    shown = dict(payload)
    for name, value in payload.items():
        if not isinstance(value, str):
            continue
        if "presigned" in name.lower() and value.strip():
            shown[name] = "(hidden: a pre-signed link)"
        elif "@" in value and value.lower().startswith(("http://", "https://")):
            parts = urlsplit(value)
            if parts.username or parts.password:
                shown[name] = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return shown


def clean_range(value: str | None) -> str | None:
    """A single byte range worth passing on (`bytes=0-99`, `bytes=100-`, `bytes=-500`); None otherwise."""
    match = _RANGE.match((value or "").strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    return match.group(0)


@dataclass
class RecordingStream:
    """An open answer from Exotel: its status (200, 206 or 416), the headers to pass on, and the body in chunks."""

    status: int
    headers: dict[str, str]
    _response: requests.Response = field(repr=False)
    _max_bytes: int = 0
    _deadline: float = 0.0
    _skip: int = 0  # a range served here: bytes of Exotel's whole answer to pass over, then at most _limit
    _limit: int | None = None
    complete: bool = False  # set once the whole body (or the whole range) went through: not cut short, not broken

    def chunks(self) -> Iterator[bytes]:
        """The body, piece by piece; stops at the size cap or the time limit (the answer is then cut short)."""
        read = sent = 0
        try:
            for chunk in self._response.iter_content(CHUNK):
                read += len(chunk)
                if read > self._max_bytes or time.monotonic() > self._deadline:
                    log.warning("recording cut short after %d bytes (size or time limit)", read)
                    return
                if self._skip:
                    dropped = min(self._skip, len(chunk))
                    chunk, self._skip = chunk[dropped:], self._skip - dropped
                if self._limit is not None:
                    chunk = chunk[: self._limit - sent]
                if chunk:
                    sent += len(chunk)
                    yield chunk
                if self._limit is not None and sent >= self._limit:
                    self.complete = True
                    return
            self.complete = True
        except requests.RequestException as exc:
            log.warning("recording stream broke after %d bytes: %s", read, type(exc).__name__)
        finally:
            self.close()

    def close(self) -> None:
        self._response.close()


class RecordingFetcher:
    """Opens recordings of one account. Thread-safe; one Session of its own (no credentials on it)."""

    def __init__(self, api_key: str, api_token: str, api_origin: str, *, connect_timeout: float = 5.0,
                 read_timeout: float = 20.0, max_bytes: int = 200 * 1024 * 1024, max_seconds: float = 600.0):
        self._auth = (api_key, api_token)
        self.api_origin = api_origin
        self.timeout = (connect_timeout, read_timeout)
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "exotel-calls/0.1"

    def __repr__(self) -> str:
        return f"<RecordingFetcher origin={self.api_origin}>"

    def open(self, url: str, byte_range: str | None = None, *, presigned: bool = False) -> RecordingStream:
        """Ask for `url` (and `byte_range`), following redirects only to allowed hosts; raises a RecordingError.

        A pre-signed URL carries its own permission: it goes without the credentials (S3 refuses both at once).
        """
        byte_range = clean_range(byte_range)
        for _hop in range(MAX_REDIRECTS + 1):
            credentials = credentials_go_to(url, self.api_origin)
            if credentials is not None and presigned:
                credentials = False
            if credentials is None:
                raise RecordingNotAllowed("This recording is not at an Exotel address, so it is not fetched.",
                                          f"host {urlsplit(url).hostname!r} is not Exotel's")
            response = self._get(url, credentials, byte_range)
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                url = urljoin(url, location)
                continue
            return self._answer(response, byte_range)
        raise RecordingUnreachable("Exotel redirected the recording too many times.", "too many redirects")

    def _get(self, url: str, credentials: bool, byte_range: str | None) -> requests.Response:
        headers = {"Range": byte_range} if byte_range else {}
        try:
            return self._session.get(url, headers=headers, auth=self._auth if credentials else None, stream=True,
                                     allow_redirects=False, timeout=self.timeout)
        except requests.Timeout:
            raise RecordingUnreachable("Exotel did not answer in time; try again shortly.", "timeout") from None
        except requests.RequestException as exc:
            raise RecordingUnreachable("Exotel could not be reached; try again shortly.", type(exc).__name__) from None

    def _answer(self, response: requests.Response, byte_range: str | None) -> RecordingStream:
        status = response.status_code
        if status not in (200, 206, 416):
            response.close()
            raise _failure(status)
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            response.close()
            raise RecordingTooLarge("This recording is too large to play here.", f"{length} bytes")
        headers = {"Content-Type": _audio_type(response.headers.get("Content-Type")), "Accept-Ranges": "bytes"}
        for name in ("Content-Length", "Content-Range", "Last-Modified", "ETag"):
            if response.headers.get(name):
                headers[name] = response.headers[name]
        stream = RecordingStream(status, headers, response, self.max_bytes, time.monotonic() + self.max_seconds)
        if byte_range and status == 200 and length.isdigit():
            _serve_range(stream, byte_range, int(length))  # Exotel ignored the Range: the slice is cut here
        return stream


def _serve_range(stream: RecordingStream, byte_range: str, total: int) -> None:
    """Make a whole answer of `total` bytes into the 206 (or 416) that `byte_range` asks for."""
    first, last = byte_range.removeprefix("bytes=").split("-")
    start = max(0, total - int(last)) if not first else int(first)
    end = min(total - 1, int(last) if first and last else total - 1)
    if start > end:
        stream.status, stream._limit = 416, 0
        stream.headers.update({"Content-Range": f"bytes */{total}", "Content-Length": "0"})
        return
    stream.status, stream._skip, stream._limit = 206, start, end - start + 1
    stream.headers.update({"Content-Range": f"bytes {start}-{end}/{total}", "Content-Length": str(end - start + 1)})


def _failure(status: int) -> RecordingError:
    if status in (404, 410):
        return RecordingUnavailable("Exotel has no recording at this address.", f"HTTP {status}")
    if status in (401, 403):
        return RecordingRefused("Exotel refused this account's credentials for the recording.", f"HTTP {status}")
    if 300 <= status < 400:
        return RecordingNotAllowed("Exotel sent the recording elsewhere, without saying where.", f"HTTP {status}")
    return RecordingError(f"Exotel failed to give the recording (HTTP {status}); try again shortly.", f"HTTP {status}")


def _audio_type(value: str | None) -> str:
    """Exotel's Content-Type when it is audio; anything else is passed on as bytes, never as a page."""
    mimetype = (value or "").split(";")[0].strip().lower()
    return mimetype if re.fullmatch(r"audio/[a-z0-9.+-]{1,60}", mimetype) else "application/octet-stream"
