"""The outbound webhook pages' forms: an endpoint, and a replay of the last hours."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange

from ...webhooks.models import EVENT_TYPES
from .campaign_forms import CheckboxesField


class EndpointForm(FlaskForm):
    url = URLField("Endpoint URL", validators=[DataRequired("Enter the URL that receives the events."), Length(max=2000)])
    events = CheckboxesField("Events", choices=[SelectChoice(e, e) for e in EVENT_TYPES],
                             validators=[DataRequired("Choose at least one event.")])
    description = StringField("Description (optional)", validators=[Length(max=500)])


class ReplayForm(FlaskForm):
    hours = IntegerField("Events of the last hours", default=24,
                         validators=[DataRequired("Say how many hours."), NumberRange(1, 24 * 30)])
