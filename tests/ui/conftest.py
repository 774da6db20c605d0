"""UI fixtures: more apps on the test's database. (`signed_in` comes from tests/support/fixtures.py.)"""

from __future__ import annotations

import pytest


@pytest.fixture
def app_factory(database_url, sim):
    """Builds more apps on the test's database (e.g. more hosts of one deployment), disposed after."""
    from webapp import create_app

    apps = []

    def make(**overrides):
        config = {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key-not-for-production-0123456789",
            "EXOTEL_ACCOUNT_SID": "testaccount",
            "EXOTEL_API_KEY": "test-api-key",
            "EXOTEL_API_TOKEN": "test-api-token-s3cr3t-value",
            "EXOTEL_API_BASE": sim.base_url,
            "EXOTEL_CALLER_ID": "08047112345",
        }
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["database"].engine.dispose()
