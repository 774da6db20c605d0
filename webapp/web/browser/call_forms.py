"""The place-a-call form: its fields, and calls.validation's verdicts on them in the form's own words.

calls.validation checks the whole request and returns every fault keyed by the
API's field names; the API answers with the first, in its words (the contract
fixes them). Here each fault goes beside its field, said as a person at the form
reads it: the form's labels, never an API field or an environment variable.
"""

from __future__ import annotations

import logging
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField

from ...calls.validation import (
    MAX_CUSTOM_FIELD,
    MAX_FLOW_URL,
    MAX_TEXT,
    MAX_TIME_LIMIT,
    MAX_TIME_OUT,
    CallInput,
    ValidationError,
    check_call,
)
from .forms import CALL_TYPE_CHOICES

log = logging.getLogger(__name__)

# validate_call's field names -> the form's.
FORM_FIELDS = {
    "from": "from_number",
    "caller_id": "caller_id",
    "flow_url": "flow",
    "app_id": "flow",
    "call_type": "call_type",
    "time_limit": "time_limit",
    "time_out": "time_out",
    "custom_field": "custom_field",
    "status_callback_events": "event_answered",
}
# How the messages name each field (the labels, without their API names in brackets).
NAMES = {
    "from_number": "Customer number", "caller_id": "ExoPhone", "flow": "Flow", "call_type": "Call type",
    "time_limit": "Time limit", "time_out": "Ring timeout", "custom_field": "Custom field",
}
LIMITS = {"custom_field": MAX_CUSTOM_FIELD, "flow": MAX_FLOW_URL}
FLOW_WORDS = "Flow must be an app id (digits only, e.g. 123456) or a full flow URL starting with http:// or https://."
NO_EXOPHONE = "No ExoPhone is set up for this account: enter yours, or ask an admin."
# What each fault means, in the form's words: by (API field, code), else by API field.
WORDS: dict[Any, str] = {
    ("from", "missing_field"): "Enter the customer's number.",
    "from": "Customer number is not a valid phone number: give it with its area or mobile code, "
            "e.g. 09876543210 or +91 98765 43210.",
    ("caller_id", "missing_field"): NO_EXOPHONE,
    "caller_id": "ExoPhone must be a phone number of 6 to 16 digits, e.g. 08047112345.",
    ("flow_url", "missing_field"): "A flow is required: enter its app id (e.g. 123456) or its full URL.",
    "flow_url": FLOW_WORDS,
    "app_id": FLOW_WORDS,
    "call_type": "Choose a call type from the list.",
    "time_limit": f"Time limit must be a whole number of seconds from 1 to {MAX_TIME_LIMIT}.",
    "time_out": f"Ring timeout must be a whole number of seconds from 1 to {MAX_TIME_OUT}.",
    "custom_field": "Custom field must be text.",
    "status_callback_events": "Choose when this service is told about the call: answered, over, or both.",
}
UNREADABLE = "This form could not be read as sent: reload the page and try again."


def in_words(error: ValidationError, length: int = 0) -> str:
    """What a fault of calls.validation means, as the form says it (`length`: the faulty value's)."""
    name = FORM_FIELDS.get(error.field or "", "")
    label = NAMES.get(name, "A field")
    if error.code == "too_long":
        return f"{label} is limited to {LIMITS.get(name, MAX_TEXT)} characters; this one has {length}."
    if error.code == "invalid_text":
        return f"{label} holds characters that cannot be sent (such as NUL or broken characters): retype it."
    return WORDS.get((error.field, error.code)) or WORDS.get(error.field) or UNREADABLE


class PlaceCallForm(FlaskForm):
    """Fields of the place-a-call form; `judge` asks calls.validation about their values."""

    # No length or choice validators here: calls.validation judges every value, so each
    # fault is reported once, in the words below, and nothing is cut short unseen.
    from_number = StringField("Customer number (From)")
    caller_id = StringField("ExoPhone (CallerId)")
    flow = StringField("Flow: app id or flow URL")
    call_type = SelectField("Call type", choices=CALL_TYPE_CHOICES, default="", validate_choice=False)
    time_limit = StringField("Time limit (seconds)")
    time_out = StringField("Ring timeout (seconds)")
    custom_field = StringField("Custom field")
    event_answered = BooleanField("answered", default=True)
    event_terminal = BooleanField("terminal", default=True)
    # Admins only (the view refuses anyone else): call a number on the suppression list anyway, audited.
    override_suppression = BooleanField("Call even if this number is on the suppression list")
    nonce = HiddenField()

    custom_field_limit = MAX_CUSTOM_FIELD

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group_errors: list[str] = []  # faults that belong to no field

    def call_request(self) -> dict[str, Any]:
        """The form's values in the shape validate_call reads (the JSON API's field names)."""
        flow = (self.flow.data or "").strip()
        events = [name for name, box in (("answered", self.event_answered), ("terminal", self.event_terminal)) if box.data]
        return {
            "from": self.from_number.data or "",
            "caller_id": self.caller_id.data or None,
            ("app_id" if flow.isdigit() else "flow_url"): flow or None,
            "call_type": self.call_type.data or None,
            "time_limit": self.time_limit.data or None,
            "time_out": self.time_out.data or None,
            "custom_field": self.custom_field.data or None,
            "status_callback_events": events,
        }

    def add_error(self, error: ValidationError) -> None:
        """One fault of calls.validation, beside its field, in the form's words (the first per field)."""
        field = getattr(self, FORM_FIELDS.get(error.field or "", ""), None)
        if field is None:
            if UNREADABLE not in self.group_errors:
                self.group_errors.append(UNREADABLE)
            return
        if error.field == "caller_id" and error.code == "missing_field":
            log.warning("a call form came without an ExoPhone and none is set up: set EXOTEL_CALLER_ID for a default")
        if not field.errors:
            field.errors = [in_words(error, len(field.data or ""))]

    def judge(self, *, account_sid: str, default_caller_id: str | None) -> CallInput | None:
        """The call to place if every field is right, else None with every fault beside its field."""
        call, errors = check_call(self.call_request(), account_sid=account_sid, default_caller_id=default_caller_id)
        for error in errors:
            self.add_error(error)
        return None if self.any_errors else call

    @property
    def any_errors(self) -> bool:
        return bool(self.errors or self.group_errors)
