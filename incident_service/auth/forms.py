"""Web forms of the auth area (Flask-WTF: CSRF on every form)."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from incident_service.auth.models import Role
from incident_service.textcheck import NoNul, OneLine


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=80), OneLine()])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200), NoNul()])


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app (or a recovery code)",
                       validators=[DataRequired(), Length(max=20), OneLine()])


class EnrolForm(CodeForm):
    reset_code = StringField("One-time code from your administrator (after an MFA reset)",
                             validators=[Optional(), Length(max=20), OneLine()])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=200), NoNul()])
    new_password = PasswordField("New password (at least 12 characters)",
                                 validators=[DataRequired(), Length(min=12, max=200), NoNul()])
    confirm = PasswordField("New password again", validators=[DataRequired(), EqualTo("new_password", "The two differ.")])
    code = StringField("Code from your authenticator app", validators=[Optional(), Length(max=20), OneLine()])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class UserCreateForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=80), OneLine()])
    display_name = StringField("Display name", validators=[Optional(), Length(max=120), OneLine()])
    email = StringField("E-mail", validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Not an e-mail address."), Length(max=254), OneLine()])
    roles = SelectMultipleField("Roles", choices=[SelectChoice(r.value) for r in Role], validators=[DataRequired()],
                                option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    service_account = BooleanField("Service account (an integration: API tokens only; no supervisor role)")
    password = PasswordField("Password (leave empty to generate one)", validators=[Optional(), Length(min=12, max=200), NoNul()])


class TokenCreateForm(FlaskForm):
    user_id = SelectField("Acts as user (you, or a service account)", coerce=int, validators=[DataRequired()])
    name = StringField("What it is for", validators=[DataRequired(), Length(max=120), OneLine()])
