"""Web forms of the delivery area (Flask-WTF: CSRF on every form). Their values go through the API's schemas."""
from __future__ import annotations

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
    EventKind.warning: "提醒 Warning (before a deadline)",
    EventKind.escalation: "升級 Escalation (at the due time)",
    EventKind.missed: "逾期 Missed deadline",
    EventKind.remediation_overdue: "後續處理逾期 Remediation overdue",
    EventKind.vendor_duty_breached: "廠商通知義務違反 Vendor notification duty breached",
    EventKind.audit_checkpoint: "稽核檢查點 Audit trail checkpoint",
}


class ChannelForm(FlaskForm):
    name = StringField("Name 名稱", validators=[Length(max=120)])
    kind = SelectField("Kind 類型", choices=[SelectChoice(k.value) for k in ChannelKind], coerce=enum_value)
    is_active = BooleanField("Active 啟用", default=True)
    is_default = BooleanField("Default email channel 預設郵件通道")
    smtp_host = StringField("SMTP host", validators=[Length(max=255)])
    smtp_port = IntegerField("SMTP port", validators=[Optional()])
    smtp_security = SelectField("TLS", choices=[SelectChoice(s.value) for s in SmtpSecurity], coerce=enum_value)
    smtp_username = StringField("SMTP login", validators=[Length(max=255)])
    smtp_password = PasswordField("SMTP password (empty: keep)", validators=[Length(max=255)])
    from_address = StringField("From address 寄件者", validators=[Length(max=254)])
    url = StringField("Webhook URL (write-only; empty: keep)", validators=[Length(max=1000)])
    secret = PasswordField("Webhook secret (empty: keep)", validators=[Length(max=255)])

    FIELDS = ("name", "kind", "is_active", "is_default", "smtp_host", "smtp_port", "smtp_security", "smtp_username",
              "smtp_password", "from_address", "url", "secret")


class RuleForm(FlaskForm):
    name = StringField("Name 名稱", validators=[Length(max=120)])
    is_active = BooleanField("Active 啟用", default=True)
    events = MultiCheckboxField("Events (none: all) 事件", choices=[SelectChoice(k.value, label) for k, label in EVENT_LABELS.items()])
    clocks = StringField("Clocks, comma-separated (empty: all) 時限", validators=[Length(max=400)])
    min_severity = SelectField("Minimum severity 最低等級", choices=[SelectChoice("", "any")] + [SelectChoice(str(i)) for i in range(1, 5)],
                               coerce=optional_int)
    target = SelectField("Who hears it 對象", choices=[SelectChoice(t.value) for t in TargetKind], coerce=enum_value)
    target_role = SelectField("Role 角色", choices=[SelectChoice("", "—")] + [SelectChoice(r.value) for r in Role])
    target_user_id = SelectField("User 使用者", coerce=optional_int, choices=[])
    target_email = StringField("Email address 信箱", validators=[Length(max=254)])
    channel_id = SelectField("Channel 通道", coerce=optional_int, choices=[])

    FIELDS = ("name", "is_active", "events", "min_severity", "target", "target_role", "target_user_id",
              "target_email", "channel_id")


class PreferenceForm(FlaskForm):
    channel_ids = MultiCheckboxField("My channels (none: the default email) 我的通道", coerce=int, choices=[])
    quiet_from = TimeField("Quiet from 勿擾開始", validators=[Optional()])
    quiet_to = TimeField("Quiet until 勿擾結束", validators=[Optional()])
