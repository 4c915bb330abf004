"""Web forms of the auth area (Flask-WTF: CSRF on every form)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from incident_service.auth.models import Role
from incident_service.textcheck import NoNul, OneLine


# The roles by their names in the page's language (the stored value stays the key: ``oncall``, ``supervisor``...).
ROLE_LABELS = {Role.oncall.value: _l("On-call engineer"), Role.supervisor.value: _l("Supervisor"),
               Role.auditor.value: _l("Auditor"), Role.admin.value: _l("Administrator")}


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80), OneLine()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200), NoNul()])


class CodeForm(FlaskForm):
    code = StringField(_l("Code from your authenticator app (or a recovery code)"),
                       validators=[DataRequired(), Length(max=20), OneLine()])


class EnrolForm(CodeForm):
    reset_code = StringField(_l("One-time code from your administrator (after an MFA reset)"),
                             validators=[Optional(), Length(max=20), OneLine()])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200), NoNul()])
    new_password = PasswordField(_l("New password (at least 12 characters)"),
                                 validators=[DataRequired(), Length(min=12, max=200), NoNul()])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), EqualTo("new_password", _l("The two differ."))])
    code = StringField(_l("Code from your authenticator app"), validators=[Optional(), Length(max=20), OneLine()])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class UserCreateForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80), OneLine()])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=120), OneLine()])
    email = StringField(_l("E-mail"), validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Not an e-mail address.")), Length(max=254), OneLine()])
    roles = SelectMultipleField(_l("Roles"), choices=[SelectChoice(r.value) for r in Role], validators=[DataRequired()],
                                option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    service_account = BooleanField(_l("Service account (an integration: API tokens only; no supervisor role)"))
    password = PasswordField(_l("Password (leave empty to generate one)"), validators=[Optional(), Length(min=12, max=200), NoNul()])


class TokenCreateForm(FlaskForm):
    user_id = SelectField(_l("Acts as user (you, or a service account)"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("What it is for"), validators=[DataRequired(), Length(max=120), OneLine()])


class DisplayCreateForm(FlaskForm):
    name = StringField(_l("Which screen (e.g. the operations room wall)"), validators=[DataRequired(), Length(max=120), OneLine()])
