"""Exotel calls: place flow calls, record their status callbacks, report on them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from .config import ConfigError, Settings, load_settings
from .config.tuning import tune
from .db import Database

# Keys of the contract's environment that test_config may override.
ENVIRONMENT = (
    "DATABASE_URL", "SECRET_KEY", "EXOTEL_ACCOUNT_SID", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN",
    "EXOTEL_REGION", "EXOTEL_API_BASE", "EXOTEL_CALLER_ID", "EXOTEL_TIMEZONE", "PUBLIC_BASE_URL",
    "LOG_LEVEL", "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "ALLOWED_HOSTS", "TRUSTED_PROXY_HOPS",
    "QUEUE_URL", "EXOTEL_REQUESTS_PER_MINUTE", "RECONCILE_EVERY_MINUTES", "RECONCILE_OLDER_THAN_MINUTES",
    "RECONCILE_NEVER_PLACED_AFTER_MINUTES", "CAMPAIGN_LOST_AFTER_MINUTES", "RECORDINGS_DIR", "RECORDINGS_KEEP_DAYS",
    "ALERT_URLS",
    "WEBHOOK_ALLOW_PRIVATE",
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings read once from the environment, then the parts registered."""
    app = Flask(__name__, instance_relative_config=True)
    test_config = dict(test_config or {})
    env = dict(os.environ)
    env.update({key: str(test_config.pop(key)) for key in ENVIRONMENT if key in test_config})
    settings = tune(load_settings(env, Path(app.instance_path)), test_config)
    register_config(app, settings, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    register_proxy(app, settings)
    return app


def register_proxy(app: Flask, settings: Settings) -> None:
    """Trust X-Forwarded-For/-Proto/-Host/-Port from TRUSTED_PROXY_HOPS proxies in front, none by default.

    Each trusted proxy appends what it saw; werkzeug's ProxyFix takes the
    values that many hops from the right, so what a client wrote itself is
    never believed. With 0 the headers are ignored: the client address is the
    socket's peer.
    """
    hops = settings.trusted_proxy_hops
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]


def register_config(app: Flask, settings: Settings, overrides: dict[str, Any]) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=1024 * 1024,
        MAX_FORM_PARTS=200,
        JSON_SORT_KEYS=False,
    )
    app.config.update(overrides)
    app.extensions["settings"] = settings
    if not app.testing:
        from .observability.logs import configure_logging

        configure_logging(settings.log_level)


def register_extensions(app: Flask) -> None:
    from . import schema  # noqa: F401 - every table on Base.metadata before the first query
    from .exotel_access import init_exotel
    from .exotel_endpoint import exotel_access
    from .jobs import init_jobs
    from .jobs.tasks import register_tasks

    Database(app)
    init_exotel(app, exotel_access(app, app.extensions["settings"]))
    init_jobs(app, register_tasks)
    from .jobs.alerting import init_worker_watch

    init_worker_watch(app)  # worker_down: the web app notices when no worker is left
    from .web.browser.display import init_display
    from .web.browser.login import init_login
    from .web.browser.setup_code import init_setup_code

    init_login(app)
    init_display(app)
    init_setup_code(app)


def register_blueprints(app: Flask) -> None:
    from .web import api
    from .web.machines import health, webhooks
    from .web.pages import (
        admin,
        alerts,
        auth,
        calls,
        exotel_account,
        home,
        outbound_webhooks,
        recordings,
        reports,
        suppressions,  # noqa: F401 - its routes join the campaigns blueprint
    )
    from .web.pages import campaigns as campaign_pages
    from .web.security import init_security

    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(webhooks.bp)

    from .jobs.figures import DatabaseFigures
    from .observability import metrics

    metrics.init_app(app)
    metrics.add_collector(app, DatabaseFigures(app))
    app.register_blueprint(auth.bp)
    app.register_blueprint(calls.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(campaign_pages.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(recordings.bp)
    app.register_blueprint(exotel_account.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(outbound_webhooks.bp)
    # CSRF on every form; exempt exactly the machine endpoints (bearer token, per-call secret).
    init_security(app, exempt_blueprints=(api.bp, webhooks.bp))


def register_error_handlers(app: Flask) -> None:
    from .web.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)


__all__ = ["ConfigError", "create_app"]
