"""The account's health as the simulator answers it: its ExoPhones and its balance (shapes per Exotel's newer portal,
which leaves them unconfirmed; the app reads them leniently)."""

from __future__ import annotations

import re

from flask import Blueprint, Response

from .api import error, state
from .formats import render

account = Blueprint("simulator_account", __name__)


def _e164(number: str) -> str:
    """+91... for an Indian number written with 0 or without a prefix."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    return "+91" + digits if len(digits) == 10 else "+" + digits


def _entry(index: int, number: str) -> dict[str, object]:
    return {"sid": f"exophone{index}", "phone_number": _e164(number), "friendly_name": f"ExoPhone {number}",
            "capabilities": {"voice": True, "sms": False},
            "connectivity": {"incoming_call": {"status": "active"}, "outgoing_call": {"status": "active"}}}


@account.get("/v2_beta/Accounts/<account_sid>/IncomingPhoneNumbers")
@account.get("/v2_beta/Accounts/<account_sid>/IncomingPhoneNumbers.json")
def exophones(account_sid: str) -> Response:
    """The account's ExoPhones, E.164."""
    return render({"IncomingPhoneNumbers": [_entry(i, number) for i, number in enumerate(state().exophones)]})


@account.get("/v1/Accounts/<account_sid>/IncomingPhoneNumbers/<number>")
def exophone(account_sid: str, number: str) -> Response:
    """One ExoPhone of the account, or 404."""
    wanted = _e164(number.removesuffix(".json"))
    for index, known in enumerate(state().exophones):
        if _e164(known) == wanted:
            return render({"IncomingPhoneNumber": _entry(index, known)}, as_json=number.endswith(".json"))
    return error(404, "The requested phone number was not found in this account")


@account.get("/v1/Accounts/<account_sid>/Balance.json")
def balance(account_sid: str) -> Response:
    """The account's balance, in rupees (404 when the simulator plays an account whose balance Exotel does not serve)."""
    amount = state().balance
    if amount is None:
        return error(404, "Not found")
    return render({"Balance": {"Amount": amount, "Currency": "INR"}})
