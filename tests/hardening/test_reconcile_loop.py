"""Reconciliation closes the loop: lost callbacks and a database outage, then one `calls reconcile`."""

from __future__ import annotations

import requests
from sqlalchemy import select

from tests.support.credentials import API_TOKEN
from tests.support.waiting import wait_until
from webapp.accounts import create_token
from webapp.db import get_db
from webapp.models import Call


def test_one_reconcile_settles_every_call(outage, outage_live_app, sim):
    app, live = outage_live_app
    with app.app_context():
        token = create_token(get_db(), "reconcile")
    headers = {"Authorization": f"Bearer {token}"}
    # Slow enough that most callbacks come after the last call is placed; one in five is never sent.
    sim.state.configure(speed=0.5, drop_callbacks=0.2, seed=5)
    try:
        with requests.Session() as session:
            for index in range(30):
                number = f"+91987654{index:03d}{index % 9}"  # the last digit picks the outcome; never 9
                response = session.post(f"{live.url}/api/calls", json={"from": number, "app_id": "7"}, headers=headers,
                                        timeout=30)
                assert response.status_code == 201, response.text
        outage.down()
        # Callbacks arrive and are refused with 503; wait until a retry is refused too.
        assert wait_until(lambda: any(d["status"] == 503 and d["attempt"] > 1 for d in sim.state.deliveries),
                          timeout=30)
        outage.up()
        assert sim.state.wait_idle(30)
    finally:
        sim.state.configure(speed=0.02, drop_callbacks=0.0, seed=None)

    truth = {sid: call["status"] for sid, call in sim.state.calls.items()}
    assert len(truth) == 30 and all(call["finished"] for call in sim.state.calls.values())
    assert sim.state.dropped_callbacks, "the simulator dropped no callback: nothing to reconcile"
    refused = [d for d in sim.state.deliveries if d["status"] == 503]
    assert refused, "no callback met the outage"

    with app.app_context(), get_db().transaction(write=False) as session:
        before = dict(session.execute(select(Call.sid, Call.status)).all())
    assert before != truth  # lost callbacks left some calls behind

    result = app.test_cli_runner().invoke(args=["calls", "reconcile", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert API_TOKEN not in result.output

    with app.app_context(), get_db().transaction(write=False) as session:
        after = dict(session.execute(select(Call.sid, Call.status)).all())
    assert after == truth
