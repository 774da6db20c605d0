"""Fixtures: both databases, the app, its test client and CLI runner, the simulator, a live server."""

from __future__ import annotations

import os
import shutil
import threading
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from webapp import create_app
from webapp.accounts import create_token, create_user
from webapp.db import get_db

SECRET_KEY = "test-secret-key-not-for-production-0123456789"
ACCOUNT_SID = "testaccount"
API_KEY = "test-api-key"
API_TOKEN = "test-api-token-s3cr3t-value"  # asserted absent from logs, pages and tables

TABLES = (
    "audit_log", "call_events", "idempotency_keys", "calls", "password_links", "user_sessions", "api_tokens", "users",
    "report_hours", "report_refresh",  # the report cache: a test reading /reports must not leave it to the next
)


def _migrate(url: str) -> None:
    from alembic import command

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "TESTING": True})
    with app.app_context():
        from webapp.cli import alembic_config

        command.upgrade(alembic_config(), "head")
    get_engine = app.extensions["database"].engine
    get_engine.dispose()


@pytest.fixture(scope="session")
def postgres_server_url():
    """TEST_DATABASE_URL, checked reachable; skip without it, but fail under CI=true."""
    url = os.environ.get("TEST_DATABASE_URL")
    in_ci = os.environ.get("CI", "").lower() == "true"
    if not url:
        if in_ci:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL suite must run")
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    url = make_url(url).set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        if in_ci:
            pytest.fail(f"CI=true but PostgreSQL at TEST_DATABASE_URL is unreachable: {type(exc).__name__}")
        pytest.skip(f"PostgreSQL unreachable: {type(exc).__name__}")
    return url


@pytest.fixture(scope="session")
def postgres_database(postgres_server_url):
    """A scratch database for this test session, migrated once, dropped at the end."""
    name = f"exotel_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server_url.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "calls.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture(scope="session")
def simulator():
    """The Exotel simulator as a real HTTP server, fast-forwarded."""
    from webapp.simulator import SimulatorServer

    server = SimulatorServer(ACCOUNT_SID, API_KEY, API_TOKEN, **SIMULATOR_DEFAULTS)
    server.start()
    yield server
    server.stop()


SIMULATOR_DEFAULTS = dict(speed=0.02, callback_retry_delays=(0.05, 0.1), drop_callbacks=0.0, rate_limit_per_minute=None)


@pytest.fixture
def sim(simulator):
    """The simulator, with no calls and its default settings, for each test."""
    simulator.state.reset()
    simulator.state.configure(**SIMULATOR_DEFAULTS)
    yield simulator
    simulator.state.reset()


def make_app(database_url: str, simulator_url: str, **overrides):
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "EXOTEL_ACCOUNT_SID": ACCOUNT_SID,
        "EXOTEL_API_KEY": API_KEY,
        "EXOTEL_API_TOKEN": API_TOKEN,
        "EXOTEL_API_BASE": simulator_url,
        "EXOTEL_CALLER_ID": "08047112345",
        "EXOTEL_READ_TIMEOUT": 2.0,
        "EXOTEL_MAX_RATE_LIMIT_WAIT": 3.0,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(database_url, sim):
    app = make_app(database_url, sim.base_url)
    yield app
    app.extensions["database"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(request):
    """The Database of the test's app (the live one if the test serves one), inside its app context."""
    if "live_app" in request.fixturenames:
        app = request.getfixturevalue("live_app")[0]
    else:
        app = request.getfixturevalue("app")
    with app.app_context():
        yield get_db()


@pytest.fixture
def api_token(app):
    with app.app_context():
        return create_token(get_db(), "tests")


@pytest.fixture
def auth_headers(api_token):
    return {"Authorization": f"Bearer {api_token}"}


@pytest.fixture
def user(app):
    with app.app_context():
        return create_user(get_db(), "ops@example.com", "correct horse battery", is_admin=True)


class LiveServer:
    """A real HTTP server on a free loopback port; the app is attached once its URL is known."""

    def __init__(self):
        self.server = make_server("127.0.0.1", 0, None, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve(self, app):
        self.server.app = app
        self.thread.start()
        return self

    def stop(self):
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(5)
        self.server.server_close()


@pytest.fixture
def live_app(database_url, sim):
    """An app served over real HTTP, its PUBLIC_BASE_URL its own origin; yields (app, server)."""
    live = LiveServer()
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL=live.url)
    live.serve(app)
    yield app, live
    live.stop()
    app.extensions["database"].engine.dispose()
