"""One variable's checks: each reads its value from the environment and raises ConfigError naming it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url


class ConfigError(SystemExit):
    """A bad setting: raised as SystemExit so start-up stops with one line, no traceback."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"configuration error: {variable}: {problem}")


def _clean(env: dict[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _check_origin(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(name, f"not an http(s) URL: {value!r}")
    if parts.username or parts.password:
        raise ConfigError(name, "must not carry credentials; set EXOTEL_API_KEY/EXOTEL_API_TOKEN")
    if parts.query or parts.fragment:
        raise ConfigError(name, "must be an origin (scheme://host[:port][/path]) without query")
    return value.rstrip("/")


def _secret_key(env: dict[str, str], instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/."""
    value = _clean(env, "SECRET_KEY")
    if value is not None:
        if len(value) < 16:
            raise ConfigError("SECRET_KEY", "too short: use at least 16 random characters")
        return value
    path = instance_path / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two workers starting together agree on whichever key was written first.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def _alert_urls(value: str | None) -> tuple[str, ...]:
    """ALERT_URLS: Apprise URLs separated by spaces or commas; a bad one is named by its place and scheme only."""
    urls = tuple(part for part in value.replace(",", " ").split() if part) if value else ()
    if not urls:
        return ()
    import logging
    import warnings

    import apprise

    quiet = logging.getLogger("apprise")  # its lines name the URLs, secrets included
    quiet.setLevel(logging.CRITICAL + 1)
    quiet.propagate = False
    for place, url in enumerate(urls, start=1):
        with warnings.catch_warnings():  # Apprise's plugins import modules Python deprecates (imghdr)
            warnings.simplefilter("ignore", DeprecationWarning)
            accepted = apprise.Apprise().add(url)
        if not accepted:
            scheme = url.partition("://")[0] if "://" in url else "(no scheme)"
            raise ConfigError("ALERT_URLS", f"URL {place} ({scheme[:20]}://...) is not an Apprise URL Apprise can use, "
                                            "e.g. mailto://user:password@example.com, json://host/path, slack://...")
    return urls


def _allowed_hosts(value: str | None) -> tuple[str, ...]:
    """ALLOWED_HOSTS: comma-separated host names (no scheme, no port) a callback URL may name."""
    hosts = []
    for entry in (value or "").split(","):
        host = entry.strip().lower().rstrip(".")
        if not host:
            continue
        if any(char in host for char in "/:@ ") and not host.startswith("["):
            raise ConfigError("ALLOWED_HOSTS", f"not a host name: {entry.strip()!r} (names only, e.g. calls.example.com)")
        hosts.append(host)
    return tuple(hosts)


def _proxy_hops(value: str | None) -> int:
    """TRUSTED_PROXY_HOPS: how many proxies in front set X-Forwarded-*; 0 trusts none."""
    if value is None:
        return 0
    if not value.isdigit() or int(value) > 10:
        raise ConfigError("TRUSTED_PROXY_HOPS", f"not a number of proxies from 0 to 10: {value!r}")
    return int(value)


def _multiproc_dir(value: str | None) -> str | None:
    """PROMETHEUS_MULTIPROC_DIR, created when missing.

    prometheus_client opens a file there for every metric as soon as the metric is
    defined (webapp.observability.metrics, imported after the settings), so the
    directory must exist by then or every command fails.
    """
    return _writable_dir("PROMETHEUS_MULTIPROC_DIR", value)


def _recordings_dir(value: str | None) -> str | None:
    """RECORDINGS_DIR, absolute (the web and the worker start in different folders), created when missing."""
    if value is not None and not Path(value).is_absolute():
        raise ConfigError("RECORDINGS_DIR", f"must be an absolute path, not {value[:60]!r}")
    return _writable_dir("RECORDINGS_DIR", value)


def _writable_dir(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(value)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(name, f"not a directory: {value!r}") from None
    except OSError as exc:
        raise ConfigError(name, f"cannot create {value!r}: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(name, f"not writable: {value!r}")
    return value


QUEUE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "redis", "rediss")


def queue_kind(queue_url: str) -> str:
    """`sqlite`, `postgresql` or `redis`: the storage a QUEUE_URL names (the queue's, and the Exotel budget's)."""
    scheme = urlsplit(queue_url).scheme
    return {"rediss": "redis", "postgresql+psycopg": "postgresql"}.get(scheme, scheme)


def _queue_url(env: dict[str, str], database_url: str, instance_path: Path) -> str:
    """QUEUE_URL, else a SQLite file beside a SQLite database, else the PostgreSQL database itself."""
    value = _clean(env, "QUEUE_URL")
    if value is None:
        url = make_url(database_url)
        if url.get_backend_name() == "postgresql":
            return database_url
        folder = Path(url.database).parent if url.database and url.database != ":memory:" else instance_path
        return f"sqlite:///{folder / 'queue.db'}"
    parts = urlsplit(value)
    if parts.scheme not in QUEUE_SCHEMES:
        raise ConfigError("QUEUE_URL", "use sqlite:///PATH, postgresql://... or redis://...")
    if parts.scheme == "sqlite" and (parts.netloc or len(parts.path) < 2):
        raise ConfigError("QUEUE_URL", "a SQLite queue is sqlite:///PATH (three slashes, then a file)")
    if parts.scheme != "sqlite" and not parts.hostname:
        raise ConfigError("QUEUE_URL", "names no host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError("QUEUE_URL", "has a port that is not a number") from None
    return value


def _flag(env: dict[str, str], name: str) -> bool:
    """`1` (or `true`, `yes`) on, unset, empty or `0` (`false`, `no`) off; anything else stops start-up."""
    value = (_clean(env, name) or "0").lower()
    if value not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError(name, f"use 1 or 0, not {value!r}")
    return value in ("1", "true", "yes")


def _integer(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _clean(env, name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise ConfigError(name, f"must be a whole number from {low} to {high}, not {value[:20]!r}")
    return int(value)


def _minutes(env: dict[str, str], name: str, default: float, *, positive: bool = False) -> float:
    value = _clean(env, name)
    if value is None:
        return default
    try:
        minutes = float(value)
    except ValueError:
        minutes = -1.0
    if not 0 <= minutes <= 7 * 24 * 60 or (positive and minutes == 0):
        low = "above 0" if positive else "from 0"
        raise ConfigError(name, f"must be a number of minutes {low} to 10080, not {value[:20]!r}")
    return minutes
