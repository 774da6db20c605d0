"""Settings of the app's config rather than the environment: timeouts, waits, delays, the clock.

Tests and the `worker` command's options set them; each is read and checked
here, once, into Settings, under the config key it always had.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from flask import Flask

from . import ConfigError, Settings, get_settings

# Config keys (not environment variables) read into Settings: name -> (field, lowest value).
TUNING: dict[str, tuple[str, float]] = {
    "EXOTEL_CONNECT_TIMEOUT": ("exotel_connect_timeout", 0.01),
    "EXOTEL_READ_TIMEOUT": ("exotel_read_timeout", 0.01),
    "EXOTEL_MAX_RATE_LIMIT_WAIT": ("exotel_max_rate_limit_wait", 0.0),
    "EXOTEL_BUDGET_WAIT": ("exotel_budget_wait", 0.0),
    "EXOTEL_BUDGET_BULK_WAIT": ("exotel_budget_bulk_wait", 0.0),
    "CHECK_CALL_DELAY": ("check_call_delay", 0.0),
    "DISPATCH_SECONDS": ("dispatch_seconds", 0.01),
    "DISPATCH_LOCK_MARGIN": ("dispatch_lock_margin", 1.0),
    "RECONCILE_LOCK_SECONDS": ("reconcile_lock_seconds", 1.0),
    "RECONCILE_INTERVAL_SECONDS": ("reconcile_interval_seconds", 1.0),
    "SQLITE_BUSY_TIMEOUT": ("sqlite_busy_timeout", 0.0),
    "SIMULATOR_SPEED": ("simulator_speed", 0.0001),
    "HEALTH_MIN_FREE_BYTES": ("health_min_free_bytes", 0.0),
    "HOME_POLL_SECONDS": ("home_poll_seconds", 1.0),
    "RECORDING_MAX_BYTES": ("recording_max_bytes", 1.0),
    "RECORDING_MAX_SECONDS": ("recording_max_seconds", 0.01),
    "RECORDING_READ_TIMEOUT": ("recording_read_timeout", 0.01),
    "RECORDING_ARCHIVE_BATCH": ("recording_archive_batch", 1.0),
    "ALERT_HOLD_MINUTES": ("alert_hold_minutes", 0.0),
    "ALERT_WATCH_SECONDS": ("alert_watch_seconds", 0.0),
    "ALERT_EVALUATE_SECONDS": ("alert_evaluate_seconds", 1.0),
    "CALLBACKS_MISSING_CALLS": ("callbacks_missing_calls", 1.0),
    "CALLBACKS_MISSING_GRACE_MINUTES": ("callbacks_missing_grace_minutes", 0.0),
    "BUDGET_SATURATED_MINUTES": ("budget_saturated_minutes", 1.0),
    "ANSWER_RATE_MIN_CALLS": ("answer_rate_min_calls", 1.0),
    "ANSWER_RATE_DROP_RATIO": ("answer_rate_drop_ratio", 0.0),
    "WORKER_DOWN_AFTER_SECONDS": ("worker_down_after_seconds", 1.0),
    "UNSETTLED_AFTER_MINUTES": ("unsettled_after_minutes", 1.0),
    "WEBHOOK_FAILING_AFTER_MINUTES": ("webhook_failing_after_minutes", 0.0),
    "WEBHOOK_TIMEOUT": ("webhook_timeout", 0.01),
    "WEBHOOK_LEASE_SECONDS": ("webhook_lease_seconds", 1.0),
    "WEBHOOK_RETRY_SCALE": ("webhook_retry_scale", 0.0001),
    "WEBHOOK_RUN_SECONDS": ("webhook_run_seconds", 0.1),
    "WEBHOOK_POLL_SECONDS": ("webhook_poll_seconds", 0.01),
}
WHOLE = ("health_min_free_bytes", "home_poll_seconds", "recording_max_bytes", "recording_archive_batch",
         "callbacks_missing_calls", "budget_saturated_minutes", "answer_rate_min_calls")  # counted in whole units


def tune(settings: Settings, options: Mapping[str, Any]) -> Settings:
    """`settings` with the TUNING keys, CLOCK and EXOTEL_REGION_ORIGINS of `options` (the app's config) applied."""
    changes: dict[str, Any] = {}
    for name, (attribute, low) in TUNING.items():
        if options.get(name) is None:
            continue
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            raise ConfigError(name, f"must be a number of at least {low:g}, not {value!r}")
        changes[attribute] = int(value) if attribute in WHOLE else float(value)
    clock = options.get("CLOCK")
    if clock is not None:
        if not callable(clock):
            raise ConfigError("CLOCK", "must be a function returning the time (a UTC datetime)")
        changes["clock"] = clock
    origins = options.get("EXOTEL_REGION_ORIGINS")
    if origins is not None:
        if not isinstance(origins, Mapping) or not all(isinstance(v, str) for v in origins.values()):
            raise ConfigError("EXOTEL_REGION_ORIGINS", "must map a region's name to its API origin")
        changes["region_origins"] = dict(origins)
    if options.get("TESTING") and options.get("ALERT_WATCH_SECONDS") is None:
        changes["alert_watch_seconds"] = 0.0  # a test app watches the workers only when the test asks it to
    return replace(settings, **changes)


def with_clock(app: Flask, clock: Callable[[], datetime] | None) -> None:
    """Set the app's clock after its creation (a test moving time on); None restores the real one."""
    app.extensions["settings"] = replace(get_settings(app), clock=clock)


def with_settings(app: Flask, **changes: Any) -> None:
    """Change some settings after the app's creation (the `worker` command's options)."""
    app.extensions["settings"] = replace(get_settings(app), **changes)
