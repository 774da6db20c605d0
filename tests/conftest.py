"""Fixtures: both databases, the app, its test client and CLI runner, the simulator, a live server.

Under pytest-xdist each worker is a test session of its own, with its own scratch PostgreSQL database
(`postgres_database`) and its own Redis db (tests.support.workers.REDIS_URL); they share nothing else.
"""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.apps import SIMULATOR_DEFAULTS, LiveServer, make_app
from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN
from tests.support.databases import migrate, postgres_error, scratch_postgres
from webapp.accounts import create_token, create_user
from webapp.db import get_db

pytest_plugins = ("tests.support.fixtures",)

TABLES = (
    "audit_log", "call_events", "idempotency_keys", "calls", "password_links", "user_sessions", "api_tokens", "users",
    "campaign_contacts", "campaigns", "suppressions", "call_recordings", "setup_codes", "alerts", "alert_signals",
    "worker_heartbeats",  # a worker that stops cleanly keeps its row (the home page names a stopped host)
    "webhook_deliveries", "webhook_messages", "webhook_events", "webhook_endpoints",
    "report_quarters", "report_quarter_totals", "report_refresh",  # the report cache: a test reading /reports must not leave it to the next
)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """`sqlite_only` tests get `database_url` on SQLite alone (the fixture's own params are then not applied)."""
    if "database_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.definition.add_marker(pytest.mark.parametrize("database_url", ["sqlite"], indirect=True))


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups
def pytest_collection_modifyitems(items):
    """Mark each test that needs the PostgreSQL server (or Redis) `postgresql`, so `-m postgresql` runs them alone.

    Under xdist (`make test`), the `processes` tests form one group and the `browser` tests another: each group
    runs on one worker, one test at a time. Several workers' worth of real processes at once would starve the
    timing the worker tests assert on two cores, and one worker's Chromium serves all the browser tests.
    """
    for item in items:
        if "workers" in item.fixturenames and not item.get_closest_marker("processes"):
            item.add_marker(pytest.mark.processes)  # real worker processes, whether or not the module says so
        for group in ("processes", "browser"):
            if item.get_closest_marker(group):
                item.add_marker(pytest.mark.xdist_group(group))
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if (params.get("database_url") == "postgresql" or params.get("queue") in ("postgresql", "redis")
                or {"postgres_database", "postgres_server_url"} & set(item.fixturenames)):
            item.add_marker(pytest.mark.postgresql)


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
    error = postgres_error(url)
    if error is not None:
        if in_ci:
            pytest.fail(f"CI=true but PostgreSQL at TEST_DATABASE_URL is unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    return url


@pytest.fixture(scope="session")
def postgres_database(postgres_server_url):
    """A scratch database for this test session, migrated once, dropped at the end."""
    with scratch_postgres(postgres_server_url, "exotel_test") as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate(f"sqlite:///{path}")
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


@pytest.fixture
def sim(simulator):
    """The simulator, with no calls and its default settings, for each test."""
    simulator.state.reset()
    simulator.state.configure(**SIMULATOR_DEFAULTS)
    yield simulator
    simulator.state.reset()


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


@pytest.fixture
def live_app(database_url, sim):
    """An app served over real HTTP, its PUBLIC_BASE_URL its own origin; yields (app, server)."""
    live = LiveServer()
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL=live.url)
    live.serve(app)
    yield app, live
    live.stop()
    app.extensions["database"].engine.dispose()
