"""Web forms of the delivery area (Flask-WTF: CSRF on every form). Their values go through the API's schemas."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, TimeField
from wtforms.validators import Length, Optional

from incident_service.auth.models import Role
from incident_service.notify.models import ChannelKind, EventKind, SmtpSecurity, TargetKind
from incident_service.web.forms import MultiCheckboxField, optional_int

def enum_value(value):
    """A stored enum as the select's option value (``str()`` of a str-enum is ``Kind.member``)."""
    return getattr(value, "value", value)


EVENT_LABELS = {
    EventKind.warning: _l("Warning (before a deadline)"),
    EventKind.escalation: _l("Escalation (at the due time)"),
    EventKind.missed: _l("Missed deadline"),
    EventKind.remediation_overdue: _l("Remediation overdue"),
    EventKind.vendor_duty_breached: _l("Vendor notification duty breached"),
    EventKind.audit_checkpoint: _l("Audit trail checkpoint"),
}


class ChannelForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=120)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value) for k in ChannelKind], coerce=enum_value)
    is_active = BooleanField(_l("Active"), default=True)
    is_default = BooleanField(_l("Default email channel"))
    smtp_host = StringField(_l("SMTP host"), validators=[Length(max=255)])
    smtp_port = IntegerField(_l("SMTP port"), validators=[Optional()])
    smtp_security = SelectField("TLS", choices=[SelectChoice(s.value) for s in SmtpSecurity], coerce=enum_value)
    smtp_username = StringField(_l("SMTP login"), validators=[Length(max=255)])
    smtp_password = PasswordField(_l("SMTP password (empty: keep)"), validators=[Length(max=255)])
    from_address = StringField(_l("From address"), validators=[Length(max=254)])
    url = StringField(_l("Webhook URL (write-only; empty: keep)"), validators=[Length(max=1000)])
    secret = PasswordField(_l("Webhook secret (empty: keep)"), validators=[Length(max=255)])

    FIELDS = ("name", "kind", "is_active", "is_default", "smtp_host", "smtp_port", "smtp_security", "smtp_username",
              "smtp_password", "from_address", "url", "secret")


class RuleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=120)])
    is_active = BooleanField(_l("Active"), default=True)
    events = MultiCheckboxField(_l("Events (none: all)"), choices=[SelectChoice(k.value, label) for k, label in EVENT_LABELS.items()])
    clocks = StringField(_l("Clocks, comma-separated (empty: all)"), validators=[Length(max=400)])
    min_severity = SelectField(_l("Minimum severity"), choices=[SelectChoice("", _l("any"))] + [SelectChoice(str(i)) for i in range(1, 5)],
                               coerce=optional_int)
    target = SelectField(_l("Who hears it"), choices=[SelectChoice(t.value) for t in TargetKind], coerce=enum_value)
    target_role = SelectField(_l("Role"), choices=[SelectChoice("", "—")] + [SelectChoice(r.value) for r in Role])
    target_user_id = SelectField(_l("User"), coerce=optional_int, choices=[])
    target_email = StringField(_l("Email address"), validators=[Length(max=254)])
    channel_id = SelectField(_l("Channel"), coerce=optional_int, choices=[])

    FIELDS = ("name", "is_active", "events", "min_severity", "target", "target_role", "target_user_id",
              "target_email", "channel_id")


class PreferenceForm(FlaskForm):
    channel_ids = MultiCheckboxField(_l("My channels (none: the default email)"), coerce=int, choices=[])
    quiet_from = TimeField(_l("Quiet from"), validators=[Optional()])
    quiet_to = TimeField(_l("Quiet until"), validators=[Optional()])


class TestMessageForm(FlaskForm):
    """The "send a test message" button of a channel: only the CSRF token."""
