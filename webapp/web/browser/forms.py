"""The UI's forms: fields, labels and CSRF. Call rules live in calls.validation; the place-a-call form in call_forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ...accounts import MIN_PASSWORD
from ...accounts.users import MAX_PASSWORD

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
    """The first admin; every field is judged on every submit, so all its faults show at once."""

    setup_code = StringField("Set-up code", validators=[
        DataRequired("Enter the set-up code printed on the server's console."),
        Length(max=64, message="That is not the code printed on the server's console.")])
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Length(max=254, message="An email address has at most 254 characters.")])
    password = PasswordField("Password", validators=[
        DataRequired(f"Choose a password of at least {MIN_PASSWORD} characters."),
        Length(min=MIN_PASSWORD, max=MAX_PASSWORD,
               message=f"The password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters.")])
    confirm = PasswordField("Repeat the password", validators=[DataRequired("Repeat the password."),
                                                               EqualTo("password", "The passwords differ.")])


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


class TimezoneForm(FlaskForm):
    timezone = SelectField("Time zone", choices=[])
