"""Settings read from the environment once, validated, inside create_app()."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# The ExoPhone calls come from when no credentials are set (the built-in simulator).
SIMULATOR_EXOPHONE = "08047112345"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REGIONS = {
    "singapore": "https://api.exotel.com",
    "mumbai": "https://api.in.exotel.com",
}


class ConfigError(SystemExit):
    """A bad setting: raised as SystemExit so start-up stops with one line, no traceback."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"configuration error: {variable}: {problem}")


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment."""

    database_url: str
    secret_key: str = field(repr=False)
    exotel_account_sid: str | None = None
    exotel_api_key: str | None = None
    exotel_api_token: str | None = field(default=None, repr=False)
    exotel_region: str = "singapore"
    exotel_api_base: str | None = None
    exotel_caller_id: str | None = None
    exotel_timezone: str = "Asia/Kolkata"
    public_base_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    trusted_proxy_hops: int = 0
    log_level: str = "INFO"
    metrics_token: str | None = field(default=None, repr=False)
    prometheus_multiproc_dir: str | None = None
    queue_url: str = ""
    exotel_requests_per_minute: int = 200
    reconcile_every_minutes: int = 5
    reconcile_older_than_minutes: float = 15.0
    # A call without a Sid that Exotel still does not list this long after its creation was never placed.
    reconcile_never_placed_after_minutes: float = 60.0
    # A campaign attempt still `pending` this long after its claim lost its worker mid-request: it becomes `unknown`.
    campaign_lost_after_minutes: float = 10.0

    @property
    def use_simulator(self) -> bool:
        """No credentials means the built-in simulator stands in for Exotel."""
        return self.exotel_api_key is None

    @property
    def api_origin(self) -> str | None:
        """Where Exotel's API lives; None with the simulator and no override."""
        if self.exotel_api_base:
            return self.exotel_api_base
        if self.use_simulator:
            return None
        return REGIONS[self.exotel_region]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.exotel_timezone)


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
    if value is None:
        return None
    path = Path(value)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError("PROMETHEUS_MULTIPROC_DIR", f"not a directory: {value!r}") from None
    except OSError as exc:
        raise ConfigError("PROMETHEUS_MULTIPROC_DIR", f"cannot create {value!r}: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError("PROMETHEUS_MULTIPROC_DIR", f"not writable: {value!r}")
    return value


QUEUE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "redis", "rediss")


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


def load_settings(env: dict[str, str], instance_path: Path) -> Settings:
    """Read and validate every variable of the contract; raise ConfigError on the first bad one."""
    database_url = _clean(env, "DATABASE_URL")
    if database_url is None:
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_path / 'calls.db'}"
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", "not a SQLAlchemy URL (sqlite:///... or postgresql+psycopg://...)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("DATABASE_URL", f"unsupported database {url.get_backend_name()!r}; use sqlite or postgresql")
    if url.get_backend_name() == "postgresql" and url.get_driver_name() not in ("psycopg", "psycopg2", "default", ""):
        raise ConfigError("DATABASE_URL", "use the psycopg 3 driver: postgresql+psycopg://...")
    if url.get_backend_name() == "postgresql":
        # A bare postgresql:// would pick psycopg2, which is not installed.
        database_url = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)

    creds = {name: _clean(env, name) for name in ("EXOTEL_ACCOUNT_SID", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN")}
    given = [name for name, value in creds.items() if value]
    if given and len(given) != 3:
        missing = [name for name in creds if not creds[name]]
        raise ConfigError(missing[0], "set all three of EXOTEL_ACCOUNT_SID, EXOTEL_API_KEY, EXOTEL_API_TOKEN, or none (simulator)")

    region = (_clean(env, "EXOTEL_REGION") or "singapore").lower()
    if region not in REGIONS:
        raise ConfigError("EXOTEL_REGION", f"unknown region {region!r}; use singapore or mumbai")

    api_base = _clean(env, "EXOTEL_API_BASE")
    if api_base is not None:
        api_base = _check_origin("EXOTEL_API_BASE", api_base)

    public_base = _clean(env, "PUBLIC_BASE_URL")
    if public_base is not None:
        public_base = _check_origin("PUBLIC_BASE_URL", public_base)

    if public_base is None and given and (api_base is None or api_base in REGIONS.values()):
        # Else the callback URL (and its token) would follow whatever Host a request names.
        raise ConfigError("PUBLIC_BASE_URL", "required with Exotel credentials: the https origin Exotel posts callbacks to")

    timezone = _clean(env, "EXOTEL_TIMEZONE") or "Asia/Kolkata"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("EXOTEL_TIMEZONE", f"unknown time zone {timezone!r}; use an IANA name like Asia/Kolkata") from None

    log_level = (_clean(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"unknown level {log_level!r}; use one of {', '.join(LOG_LEVELS)}")

    return Settings(
        allowed_hosts=_allowed_hosts(_clean(env, "ALLOWED_HOSTS")),
        trusted_proxy_hops=_proxy_hops(_clean(env, "TRUSTED_PROXY_HOPS")),
        database_url=database_url,
        secret_key=_secret_key(env, instance_path),
        exotel_account_sid=creds["EXOTEL_ACCOUNT_SID"],
        exotel_api_key=creds["EXOTEL_API_KEY"],
        exotel_api_token=creds["EXOTEL_API_TOKEN"],
        exotel_region=region,
        exotel_api_base=api_base,
        # The simulator has an ExoPhone of its own, so a newcomer's first call needs none.
        exotel_caller_id=_clean(env, "EXOTEL_CALLER_ID") or (None if given else SIMULATOR_EXOPHONE),
        exotel_timezone=timezone,
        public_base_url=public_base,
        log_level=log_level,
        metrics_token=_clean(env, "METRICS_TOKEN"),
        prometheus_multiproc_dir=_multiproc_dir(_clean(env, "PROMETHEUS_MULTIPROC_DIR")),
        queue_url=_queue_url(env, database_url, instance_path),
        exotel_requests_per_minute=_integer(env, "EXOTEL_REQUESTS_PER_MINUTE", 200, 1, 100_000),
        reconcile_every_minutes=_integer(env, "RECONCILE_EVERY_MINUTES", 5, 0, 1440),
        reconcile_older_than_minutes=_minutes(env, "RECONCILE_OLDER_THAN_MINUTES", 15.0),
        reconcile_never_placed_after_minutes=_minutes(env, "RECONCILE_NEVER_PLACED_AFTER_MINUTES", 60.0, positive=True),
        campaign_lost_after_minutes=_minutes(env, "CAMPAIGN_LOST_AFTER_MINUTES", 10.0, positive=True),
    )


def get_settings(app: Flask | None = None) -> Settings:
    """The Settings of the current app (or of `app`), read once at start-up."""
    return (app or current_app).extensions["settings"]
