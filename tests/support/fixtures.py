"""Fixtures every test directory may ask for, registered by tests/conftest.py (`pytest_plugins`)."""

from __future__ import annotations

import pytest

from .signin import sign_in


@pytest.fixture
def signed_in(client, user):
    """The test client, signed in through the form as the `user` fixture's admin."""
    response = sign_in(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
