"""The UI's forms: fields, labels and CSRF. Call rules live in calls.validation, not here."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

ROLE_CHOICES = [
    SelectChoice("operator", "Operator: places calls, reads everything"),
    SelectChoice("viewer", "Viewer: reads calls and reports"),
    SelectChoice("admin", "Admin: everything, users and API tokens too"),
]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class SetupForm(FlaskForm):
    setup_code = StringField("Set-up code", validators=[DataRequired(), Length(max=64)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=1024)])
    confirm = PasswordField("Repeat the password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])


class LogoutForm(FlaskForm):
    """Signing out is a POST, so another site cannot sign people out with a link."""


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    password = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=1024)])
    confirm = PasswordField("Repeat the new password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=1024)])
    confirm = PasswordField("Repeat the password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])


class AddUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="operator")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class ConfirmForm(FlaskForm):
    """A button that changes something: a POST carrying only its CSRF token."""


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="operator")
    expires_on = DateField("Expires on (optional)", validators=[Optional()])


CALL_TYPE_CHOICES = [
    SelectChoice("", "Exotel's default"),
    SelectChoice("trans", "Transactional (trans)"),
    SelectChoice("promo", "Promotional (promo)"),
]


class PlaceCallForm(FlaskForm):
    """Fields of the place-a-call form; calls.validation.validate_call judges their values."""

    from_number = StringField("Customer number (From)", validators=[Length(max=40)])
    caller_id = StringField("ExoPhone (CallerId)", validators=[Length(max=40)])
    flow = StringField("Flow: app id or flow URL", validators=[Length(max=500)])
    call_type = SelectField("Call type", choices=CALL_TYPE_CHOICES, default="")
    time_limit = StringField("Time limit (seconds)", validators=[Length(max=9)])
    time_out = StringField("Ring timeout (seconds)", validators=[Length(max=9)])
    custom_field = StringField("Custom field", validators=[Length(max=128)])
    event_answered = BooleanField("answered", default=True)
    event_terminal = BooleanField("terminal", default=True)
    nonce = HiddenField()


class TimezoneForm(FlaskForm):
    timezone = SelectField("Time zone", choices=[])
