"""A team: one user and one API token per role, and clients signed in as each."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support.signin import sign_in
from tests.support.teams import ROLE_EMAILS, ROLE_PASSWORDS
from webapp.accounts import create_token, create_user
from webapp.db import get_db


@dataclass
class Team:
    app: object
    users: dict       # role -> User
    tokens: dict      # role -> the token in clear

    def client(self, role: str):
        """A new test client signed in through the form as the user of `role`."""
        client = self.app.test_client()
        response = sign_in(client, ROLE_EMAILS[role], ROLE_PASSWORDS[role])
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    def bearer(self, role: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def team(app, user):
    """The `user` fixture's admin, an operator and a viewer, and a token of each role."""
    with app.app_context():
        db = get_db()
        users = {"admin": user}
        users["operator"] = create_user(db, ROLE_EMAILS["operator"], ROLE_PASSWORDS["operator"], role="operator")
        users["viewer"] = create_user(db, ROLE_EMAILS["viewer"], ROLE_PASSWORDS["viewer"], role="viewer")
        tokens = {role: create_token(db, f"{role}-token", role=role) for role in ("admin", "operator", "viewer")}
    return Team(app, users, tokens)
