"""Calls written straight to the database, and Exotel's callbacks for them, for tests of the pages that show calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from webapp.calls.signing import callback_token
from webapp.db import get_db
from webapp.models import Call

from .credentials import SECRET_KEY

FLOW = "http://my.exotel.com/testaccount/exoml/start_voice/4242"


def add_call(app, **values: Any) -> Call:
    """A call row with sensible defaults (a completed call to an Indian mobile); `values` override them."""
    now = datetime.now(UTC)
    values.setdefault("from_number", "+919876543210")
    values.setdefault("caller_id", "08047112345")
    values.setdefault("flow_url", FLOW)
    values.setdefault("status", "completed")
    values.setdefault("created_at", now)
    values.setdefault("updated_at", now)
    with app.app_context(), get_db().transaction() as session:
        call = Call(**values)
        session.add(call)
    return call


def settle_calls(app, sim) -> None:
    """Let the simulator finish its calls, then reconcile: the app's calls get their final status as Exotel has it
    (their callbacks could not reach a test client)."""
    assert sim.state.wait_idle(10)
    result = app.test_cli_runner().invoke(args=["calls", "reconcile", "--older-than", "0"])
    assert result.exit_code == 0, result.output


def callback_path(call_id: str, secret_key: str = SECRET_KEY) -> str:
    """The StatusCallback path this app gave Exotel for the call."""
    return f"/webhooks/exotel/{call_id}/{callback_token(secret_key, call_id)}"


def archive_row(app, call_id: str):
    """The call's row in `call_recordings` (detached), or None."""
    from webapp.models import CallRecording

    with app.app_context(), get_db().transaction(write=False) as session:
        row = session.get(CallRecording, call_id)
        if row is not None:
            session.expunge(row)
        return row
