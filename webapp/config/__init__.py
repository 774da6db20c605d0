"""Settings read from the environment once, validated, inside create_app()."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .timebase import corrected_now
from .values import (
    QUEUE_SCHEMES,
    ConfigError,
    _alert_urls,
    _allowed_hosts,
    _check_origin,
    _clean,
    _flag,
    _integer,
    _minutes,
    _multiproc_dir,
    _proxy_hops,
    _queue_url,
    _recordings_dir,
    _secret_key,
    queue_kind,
)

# The ExoPhone calls come from when no credentials are set (the built-in simulator).
SIMULATOR_EXOPHONE = "08047112345"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REGIONS = {
    "singapore": "https://api.exotel.com",
    "mumbai": "https://api.in.exotel.com",
}


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
    recordings_dir: str | None = None  # where the worker archives recordings (None: never kept, always from Exotel)
    recordings_keep_days: int = 0  # archived recordings older than this are removed (0: kept for ever)
    alert_urls: tuple[str, ...] = field(default=(), repr=False)  # Apprise URLs: they carry secrets
    # Tuning set through the app's config (tests, `worker` options), not the environment: see TUNING.
    exotel_connect_timeout: float = 5.0
    exotel_read_timeout: float = 30.0
    exotel_max_rate_limit_wait: float = 10.0  # longest Retry-After of Exotel's 429 worth waiting for
    exotel_budget_wait: float = 3.0  # a person waits this long at most for a budget slot
    exotel_budget_bulk_wait: float = 30.0  # background work (reconciliation, campaigns) this long
    check_call_delay: float = 180.0  # a call placed without Exotel's answer is looked up this long after
    dispatch_seconds: float = 5.0  # one campaign dispatcher run
    dispatch_lock_margin: float = 15.0  # its lock outlives the run by this much (a worker killed mid-run holds it)
    reconcile_lock_seconds: float = 300.0  # a reconciliation run's lock lives this long at most
    reconcile_interval_seconds: float | None = None  # tests: the scheduled runs' interval, over the minutes
    sqlite_busy_timeout: float = 10.0
    simulator_speed: float | None = None  # the embedded simulator's, over SIMULATOR_SPEED
    health_min_free_bytes: int | None = None  # /readyz's disk threshold, over the probe's own default
    home_poll_seconds: int = 5  # how often the home page asks for its live part
    recording_max_bytes: int = 200 * 1024 * 1024  # a recording relayed from Exotel is cut off past this size
    recording_max_seconds: float = 600.0  # ... or after streaming this long
    recording_read_timeout: float = 20.0  # ... or when Exotel sends nothing for this long
    recording_archive_batch: int = 20  # recordings one archiving run fetches at most
    # Alert rules' thresholds (README, "Alerts").
    alert_hold_minutes: float = 5.0  # an alert's condition stays clear this long before it resolves
    alert_watch_seconds: float = 60.0  # the web app checks the workers this often (0: never; tests: off unless set)
    # One worker evaluates the rules once per this interval (tests: a few seconds, with a short --scheduler-period:
    # by default the worker looks at its periodic tasks once a minute).
    alert_evaluate_seconds: float = 60.0
    callbacks_missing_calls: int = 3  # accepted calls without a callback that fire callbacks_missing
    callbacks_missing_grace_minutes: float = 3.0  # ... once this old
    budget_saturated_minutes: int = 3  # minutes of the last 5 with budget waits or refusals
    answer_rate_min_calls: int = 20  # calls placed in the hour (and in the 7 days' same hours) to compare at all
    answer_rate_drop_ratio: float = 0.5  # fires under this share of the 7 days' answer rate
    worker_down_after_seconds: float = 90.0  # no worker heartbeat for this long
    unsettled_after_minutes: float = 60.0  # a call without a final status this long after it began
    webhook_failing_after_minutes: float = 60.0  # an outbound webhook endpoint failing this long fires webhook_failing
    webhook_allow_private: bool = False  # WEBHOOK_ALLOW_PRIVATE: endpoints on loopback or private addresses allowed
    webhook_timeout: float = 15.0  # one delivery's connect and read timeouts
    webhook_lease_seconds: float = 60.0  # a claimed delivery is another worker's to retry after this long
    webhook_retry_scale: float = 1.0  # the retry schedule's delays times this (tests shrink it)
    webhook_run_seconds: float = 5.0  # one delivery run of the worker
    webhook_poll_seconds: float = 0.5  # the run looks for new events this often when idle
    # Exotel's regional API origins over config.REGIONS (tests point them at simulators).
    region_origins: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    # The app's one clock (UTC datetimes); None is the real one. A test sets it (CLOCK in the config,
    # or with_clock()); the Exotel budget then counts on it too instead of its storage's clock.
    clock: Callable[[], datetime] | None = field(default=None, repr=False, compare=False)
    # More fields come from the app's config rather than the environment: webapp/config/tuning.py.

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

    def now(self) -> datetime:
        """The app's time: its clock's, else the real UTC now on the shared clock (config.timebase)."""
        return self.clock() if self.clock is not None else corrected_now()


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
        recordings_dir=_recordings_dir(_clean(env, "RECORDINGS_DIR")),
        recordings_keep_days=_integer(env, "RECORDINGS_KEEP_DAYS", 0, 0, 36_500),
        alert_urls=_alert_urls(_clean(env, "ALERT_URLS")),
        webhook_allow_private=_flag(env, "WEBHOOK_ALLOW_PRIVATE"),
    )


def get_settings(app: Flask | None = None) -> Settings:
    """The Settings of the current app (or of `app`), read once at start-up."""
    return (app or current_app).extensions["settings"]


__all__ = ["QUEUE_SCHEMES", "SIMULATOR_EXOPHONE", "ConfigError", "Settings", "get_settings", "load_settings", "queue_kind"]
