"""Secrets: the Exotel token and SECRET_KEY in no log line, page, API answer or table, whatever happens.

Every hardening test is scanned by the `no_secrets` fixture; this one walks the
product's paths with SQL logging on too, including failures, where secrets
usually slip out (error messages, reprs, tracebacks).
"""

from __future__ import annotations

import logging

import requests

from tests.hardening.support import new_call
from tests.support.calls import callback_path
from tests.support.credentials import API_TOKEN, SECRET_KEY
from webapp.accounts import create_token
from webapp.db import get_db
from webapp.exotel_access import exotel_client

GOOD = {"from": "+919876543210", "app_id": "1", "custom_field": "secrets"}


def test_no_secret_anywhere(outage, outage_live_app, sim, caplog, no_secrets):
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    app, live = outage_live_app
    with app.app_context():
        token = create_token(get_db(), "secrets")
        client_repr = repr(exotel_client()) + repr(app.extensions["settings"])
    assert API_TOKEN not in client_repr and SECRET_KEY not in client_repr
    headers = {"Authorization": f"Bearer {token}"}
    seen = []
    with requests.Session() as session:
        def get(path, **kwargs):
            response = session.get(live.url + path, timeout=30, **kwargs)
            seen.append(response.text + repr(dict(response.headers)))
            return response

        def post(path, **kwargs):
            response = session.post(live.url + path, timeout=30, **kwargs)
            seen.append(response.text + repr(dict(response.headers)))
            return response

        placed = post("/api/calls", json=GOOD, headers=headers).json()
        for fault in (dict(mode="status", status=401), dict(mode="status", status=500, place=True), dict(mode="garbage"),
                      dict(mode="reset"), dict(mode="timeout", delay=3.0), dict(mode="ratelimit", retry_after=5, times=3)):
            sim.state.add_fault(**fault)
            post("/api/calls", json=GOOD, headers=headers)
        post("/api/calls", json={**GOOD, "from": "+919876543219"}, headers=headers)  # refused: unverified number
        post("/api/calls", json={"from": "nope"}, headers=headers)
        post("/api/calls", json=GOOD, headers={"Authorization": f"Basic {API_TOKEN}"})
        get("/api/calls", headers=headers)
        get(f"/api/calls/{placed['id']}", headers=headers)
        for path in ("/", "/login", "/calls", "/nowhere", "/healthz", "/metrics"):
            get(path)
        call = new_call(app)
        post(callback_path(call.id), data={"CallSid": call.sid, "Status": "busy"})
        post(callback_path(call.id) + "x", data={"CallSid": call.sid})
        post(callback_path(call.id), data="x" * 70000, headers={"Content-Type": "application/x-www-form-urlencoded"})
        post(callback_path(call.id), data="{", headers={"Content-Type": "application/json"})
        outage.down()
        try:
            post(callback_path(call.id), data={"CallSid": call.sid, "Status": "completed"})
            get("/healthz")
            post("/api/calls", json=GOOD, headers=headers)
        finally:
            outage.up()
        sim.state.wait_idle(15)
    result = app.test_cli_runner().invoke(args=["calls", "reconcile", "--older-than", "0"])
    seen.append(result.output)
    text = "\n".join(seen)
    assert API_TOKEN not in text and SECRET_KEY not in text
    # The no_secrets fixture then scans every log line (SQL included), every answer and every table.
