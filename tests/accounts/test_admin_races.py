"""Two admins demoting each other at the same instant, in real threads: each gets a true answer, never a 503,
and the team keeps an admin."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from tests.support.signin import page_token
from tests.support.teams import audit_rows
from webapp.accounts import Actor, change_role
from webapp.db import get_db
from webapp.models import User

ROUNDS = 12


def _roles(app) -> dict[str, str]:
    with app.app_context(), get_db().transaction(write=False) as session:
        return {user.email: user.role for user in session.scalars(select(User))}


def _demote(client, target: User, token: str, barrier: threading.Barrier) -> int:
    barrier.wait(10)  # both requests leave together
    return client.post(f"/admin/users/{target.id}/role", data={"csrf_token": token, "role": "operator"}).status_code


def test_two_admins_demoting_each_other_at_once(team):
    app = team.app
    first, second = team.users["admin"], team.users["operator"]
    clients = {first.email: team.client("admin"), second.email: team.client("operator")}
    other = {first.email: second, second.email: first}
    statuses: list[int] = []
    for _ in range(ROUNDS):
        with app.app_context():
            for user in (first, second):  # both admins again before each round
                change_role(get_db(), user.id, "admin", Actor("system"))
        tokens = {email: page_token(client, "/admin/users") for email, client in clients.items()}
        barrier = threading.Barrier(2)
        done_before = len(audit_rows(app, "user.role"))

        with ThreadPoolExecutor(2) as pool:
            work = [pool.submit(_demote, clients[email], other[email], tokens[email], barrier) for email in clients]
            answers = [future.result() for future in work]
        statuses += answers
        roles = _roles(app)
        admins = [email for email in clients if roles[email] == "admin"]
        assert len(admins) == 1, (answers, roles)  # exactly one demotion went through
        demotions = [row for row in audit_rows(app, "user.role")[done_before:] if '"to": "operator"' in row.detail]
        assert len(demotions) == 1 and demotions[0].target == f"user:{other[admins[0]].email}"
        assert demotions[0].actor == f"user:{admins[0]}"  # the admin left is the one who acted
    assert [status for status in statuses if status not in (303, 403)] == []  # a refusal or a redirect, never a 503
    refused = audit_rows(app, "user.role_refused") + audit_rows(app, "access.refused")
    assert len(refused) == ROUNDS  # the loser of every round was told no, and it is written down
