"""Web forms of the auth area (Flask-WTF: CSRF on every form)."""
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from incident_service.auth.models import Role


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app (or a recovery code)",
                       validators=[DataRequired(), Length(max=20)])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class UserCreateForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=80)])
    display_name = StringField("Display name", validators=[Optional(), Length(max=120)])
    email = StringField("E-mail", validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Not an e-mail address."), Length(max=254)])
    roles = SelectMultipleField("Roles", choices=[SelectChoice(r.value) for r in Role], validators=[DataRequired()],
                                option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    password = PasswordField("Password (leave empty to generate one)", validators=[Optional(), Length(min=12, max=200)])


class TokenCreateForm(FlaskForm):
    user_id = SelectField("Acts as user", coerce=int, validators=[DataRequired()])
    name = StringField("What it is for", validators=[DataRequired(), Length(max=120)])
