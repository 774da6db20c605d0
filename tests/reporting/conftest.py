"""Reporting fixtures: the known calls of known_data.py in each database."""

from __future__ import annotations

import pytest
from known_data import load_known_data


@pytest.fixture
def known(app, db):
    """The database of `db`, holding the known calls; the report cache is rebuilt from them on first use."""
    load_known_data(db)
    return db
