"""The campaign pages' forms: fields, labels, CSRF, and the campaign rules' verdicts shown in the form's words.

Formats and ranges are checked here, each field on its own, so every mistake is
reported at once; the rules that only the campaign service knows (flows,
ExoPhones, windows) are asked of campaigns.spec.parse_campaign, which stops at
the first fault: `judge` asks again with that field set aside until it passes.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ...calls.validation import MAX_TIME_LIMIT, MAX_TIME_OUT
from ...calls.validation import ValidationError as CampaignFieldError
from ...campaigns.retries import MAX_DELAY_MINUTES, MAX_RETRIES, RETRYABLE
from ...campaigns.spec import MAX_NAME, CampaignInput, parse_campaign
from ...campaigns.window import DAYS
from .call_forms import NO_EXOPHONE
from .forms import CALL_TYPE_CHOICES

log = logging.getLogger(__name__)

DAY_LABELS = dict(zip(DAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
RETRY_LABELS = {"busy": "busy", "no-answer": "not answered", "failed": "failed"}
DEFAULT_ZONE = "Asia/Kolkata"

# The campaign service's field names -> this form's fields.
FORM_FIELDS = {
    "name": "name", "flow_url": "flow", "app_id": "flow", "caller_id": "caller_id",
    "calls_per_minute": "calls_per_minute", "max_in_flight": "max_in_flight",
    "window": "window_start", "window.start": "window_start", "window.end": "window_end",
    "window.days": "window_days", "window.timezone": "window_timezone",
    "retries": "retry_count", "retries.count": "retry_count", "retries.on": "retry_on",
    "retries.delay_minutes": "retry_delay", "retries.backoff": "retry_backoff",
    "start_at": "start_at", "end_at": "end_at", "call_type": "call_type", "time_limit": "time_limit",
    "time_out": "time_out", "contacts": "file", "file": "file",
}
# The service's messages name its JSON fields; these say the same in the form's words.
FORM_WORDS = {
    "name": f"Give the campaign a name of 1 to {MAX_NAME} characters.",
    "flow_url": "Give the flow as its app id (digits, e.g. 123456) or its full http(s) URL.",
    "app_id": "Give the flow as its app id (digits, e.g. 123456) or its full http(s) URL.",
    "end_at": "The stop time must be after the start time.",
}
CALLER_ID_WORDS = {
    "missing_field": NO_EXOPHONE,
    "invalid_field": "The ExoPhone is a phone number of 6 to 16 digits, e.g. 08047112345.",
}
# What stands in for a faulty value while the rest of the form is judged (never stored).
STAND_INS: dict[str, dict[str, Any]] = {
    "name": {"name": "campaign"},
    "flow_url": {"flow_url": None, "app_id": "1"},
    "app_id": {"flow_url": None, "app_id": "1"},
    "caller_id": {"caller_id": "000000"},
}


class WholeNumberField(IntegerField):
    """A whole number, with the complaint about anything else in plain words."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None  # empty: Optional() or InputRequired() judges it
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Give a whole number, e.g. 30.") from None

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()  # not a number: saying its range too would only repeat the fault


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _one_day_at_least(form: FlaskForm, field: CheckboxesField) -> None:
    if not field.data:
        raise StopValidation("Choose at least one day.")


class CampaignForm(FlaskForm):
    """Every field of a new campaign; `judge` turns it into a checked campaign or errors beside the fields."""

    name = StringField("Name", validators=[InputRequired("Give the campaign a name."), Length(max=MAX_NAME)])
    flow = StringField("Flow: app id or flow URL", validators=[InputRequired("Give the flow: its app id or its URL."),
                                                                 Length(max=500)])
    caller_id = StringField("ExoPhone (CallerId)", validators=[Length(max=40)])
    calls_per_minute = WholeNumberField("Calls per minute", default=60)
    max_in_flight = WholeNumberField(
        "Calls in progress at once, at most",
        validators=[Optional(), NumberRange(1, 100_000, "From 1 to 100,000, or leave it empty for no limit.")],
    )
    window_start = TimeField("From", default=time(9, 0), validators=[InputRequired("Give a time like 09:00.")])
    window_end = TimeField("Until", default=time(21, 0), validators=[InputRequired("Give a time like 21:00.")])
    window_days = CheckboxesField("Days", choices=[SelectChoice(k, v) for k, v in DAY_LABELS.items()], default=list(DAYS),
                                  validators=[_one_day_at_least])
    window_timezone = SelectField("Time zone of the window", default=DEFAULT_ZONE)
    retry_count = WholeNumberField(
        "Retries per contact", default=0,
        validators=[InputRequired("Give a number from 0 to 5."),
                    NumberRange(0, MAX_RETRIES, f"From 0 to {MAX_RETRIES} retries.")],
    )
    retry_on = CheckboxesField("Retry when the call was", choices=[SelectChoice(k, v) for k, v in RETRY_LABELS.items()], default=list(RETRYABLE))
    retry_delay = WholeNumberField(
        "Minutes before the first retry", default=30,
        validators=[InputRequired("Give the minutes to wait."),
                    NumberRange(1, MAX_DELAY_MINUTES, f"From 1 to {MAX_DELAY_MINUTES:,} minutes (a week).")],
    )
    retry_backoff = RadioField(
        "Later retries wait", default="linear",
        choices=[SelectChoice("linear", "as long again each time (30, 60, 90 min)"),
                 SelectChoice("exponential", "twice as long each time (30, 60, 120 min)")],
    )
    start_at = DateTimeLocalField("Start no earlier than", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                  validators=[Optional()])
    end_at = DateTimeLocalField("Stop at", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()])
    call_type = SelectField("Call type", choices=CALL_TYPE_CHOICES, default="")
    time_limit = WholeNumberField(
        "Time limit (seconds)",
        validators=[Optional(), NumberRange(1, MAX_TIME_LIMIT, f"From 1 to {MAX_TIME_LIMIT} seconds.")],
    )
    time_out = WholeNumberField(
        "Ring timeout (seconds)",
        validators=[Optional(), NumberRange(1, MAX_TIME_OUT, f"From 1 to {MAX_TIME_OUT} seconds.")],
    )
    file = FileField("Contact list (CSV)", validators=[FileRequired("Choose the CSV file of contacts.")])
    nonce = HiddenField()

    def __init__(self, *args: Any, budget: int, zones: tuple[str, ...], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.calls_per_minute.validators = [
            InputRequired(f"Give a number from 1 to {budget}."),
            NumberRange(1, budget, f"From 1 to {budget} calls a minute (this account's Exotel budget)."),
        ]
        self.window_timezone.choices = [SelectChoice(name) for name in zones]
        self.group_errors: list[str] = []  # faults of the form as a whole

    def validate_retry_on(self, field: CheckboxesField) -> None:
        if self.retry_count.data and not field.data:
            raise ValidationError("Choose at least one outcome to retry, or set retries to 0.")

    def _instant(self, field: DateTimeLocalField, zone: ZoneInfo) -> str | None:
        """The viewer's local date and time as an ISO instant in their zone."""
        value: datetime | None = field.data
        return value.replace(tzinfo=zone).isoformat() if value is not None and not field.errors else None

    def campaign_request(self, zone: ZoneInfo) -> dict[str, Any]:
        """The fields that passed their own checks, in parse_campaign's shape; the faulty ones left to defaults."""
        flow = (self.flow.data or "").strip() if not self.flow.errors else ""
        data: dict[str, Any] = {
            "name": self.name.data if not self.name.errors else "campaign",
            ("app_id" if flow.isdigit() or not flow else "flow_url"): flow or "1",
            "caller_id": (self.caller_id.data or "").strip() if not self.caller_id.errors else "000000",
            "start_at": self._instant(self.start_at, zone),
            "end_at": self._instant(self.end_at, zone),
            "call_type": self.call_type.data or None,
        }
        for name, key in (("calls_per_minute", "calls_per_minute"), ("max_in_flight", "max_in_flight"),
                          ("time_limit", "time_limit"), ("time_out", "time_out")):
            field = getattr(self, name)
            if not field.errors and field.data is not None:
                data[key] = field.data
        window = (self.window_start, self.window_end, self.window_days, self.window_timezone)
        if not any(field.errors for field in window) and self.window_start.data and self.window_end.data:
            data["window"] = {
                "start": self.window_start.data.strftime("%H:%M"), "end": self.window_end.data.strftime("%H:%M"),
                "days": list(self.window_days.data or []), "timezone": self.window_timezone.data,
            }
        retries = (self.retry_count, self.retry_on, self.retry_delay, self.retry_backoff)
        if not any(field.errors for field in retries) and self.retry_count.data is not None:
            data["retries"] = {
                "count": self.retry_count.data, "on": list(self.retry_on.data or []),
                "delay_minutes": self.retry_delay.data, "backoff": self.retry_backoff.data,
            }
        return {key: value for key, value in data.items() if value is not None}

    def add_error(self, service_field: str | None, message: str, code: str = "invalid_field") -> None:
        """A fault the campaign service found, beside the field it names, in the form's words."""
        if service_field == "caller_id":
            message = CALLER_ID_WORDS.get(code, message)
            if code == "missing_field":
                log.warning("a campaign form came without an ExoPhone and none is set up: set EXOTEL_CALLER_ID for a default")
        else:
            message = FORM_WORDS.get(service_field or "", message)
        field = getattr(self, FORM_FIELDS.get(service_field or "", ""), None)
        if field is None:
            self.group_errors.append(message)
        elif message not in field.errors:
            field.errors = [*field.errors, message]

    def judge(self, zone: ZoneInfo, *, account_sid: str, default_caller_id: str | None) -> CampaignInput | None:
        """The campaign if the whole form is right, else None with every fault beside its field."""
        data = self.campaign_request(zone)
        spec: CampaignInput | None = None
        for _ in range(len(FORM_FIELDS)):
            try:
                spec = parse_campaign(data, account_sid=account_sid, default_caller_id=default_caller_id,
                                      budget=self.budget)
                break
            except CampaignFieldError as exc:
                self.add_error(exc.field, exc.message, exc.code)
                field = exc.field or ""
                if field in STAND_INS:
                    data.update(STAND_INS[field])
                    data = {key: value for key, value in data.items() if value is not None}
                else:
                    data.pop(field.split(".")[0], None)
                    if field not in FORM_FIELDS:
                        break
        if self.errors or self.group_errors:
            return None
        return spec

    @property
    def any_errors(self) -> bool:
        return bool(self.errors or self.group_errors)


class SuppressionForm(FlaskForm):
    """Numbers to suppress: pasted (one a line, or separated by commas) or a CSV with a number column."""

    numbers = TextAreaField("Numbers", validators=[Length(max=400_000)])
    file = FileField("Or a CSV file with a number column")
    reason = StringField("Reason", default="requested", validators=[Length(max=64, message="At most 64 characters.")])


class RemoveSuppressionForm(FlaskForm):
    number = HiddenField(validators=[InputRequired(), Length(max=40)])


class ControlForm(FlaskForm):
    """Start, pause, resume or cancel: a POST carrying only its CSRF token."""
