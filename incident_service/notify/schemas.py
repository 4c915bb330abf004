"""Request and response schemas for channels, routing rules, preferences and the outbox.

Secrets (the SMTP password, the webhook secret, the webhook URL) are write-only: answers say only whether one is
set, and show a URL as scheme://host/… . A delivery error's text (it may quote the receiver's answer) is shown
to admins only.
"""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from incident_service.api_common import Line, StrictSchema, UTCDateTimeField, VersionedUpdateSchema
from incident_service.auth.models import Role
from incident_service.auth.permissions import Permission, actor_can
from incident_service.notify.models import ChannelKind, EventKind, MessageState, SmtpSecurity, TargetKind

URL = validate.URL(schemes={"http", "https"}, require_tld=False, error="Give an http(s) URL.")


class ChannelFieldsMixin:
    name = Line(required=True, max_length=120)
    kind = ma.fields.Enum(ChannelKind, required=True, metadata={"description": "email, webhook (generic signed JSON), teams, slack"})
    is_active = ma.fields.Boolean()
    is_default = ma.fields.Boolean(metadata={"description": "the email channel for users who chose none"})
    smtp_host = Line(allow_none=True, max_length=255)
    smtp_port = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=65535))
    smtp_security = ma.fields.Enum(SmtpSecurity, allow_none=True, metadata={"description": "none, starttls or ssl"})
    smtp_username = Line(allow_none=True, max_length=255)
    smtp_password = ma.fields.String(allow_none=True, load_only=True, validate=validate.Length(max=255),
                                     metadata={"description": "write-only"})
    from_address = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    url = ma.fields.String(allow_none=True, load_only=True, validate=[URL, validate.Length(max=1000)],
                           metadata={"description": "write-only (a Teams or Slack URL is a credential); answers show url_hint"})
    secret = ma.fields.String(allow_none=True, load_only=True, validate=validate.Length(max=255),
                              metadata={"description": "write-only; signs generic webhooks (X-Signature: sha256=<HMAC of the body>)"})


class ChannelCreateSchema(ChannelFieldsMixin, StrictSchema):
    pass


class ChannelUpdateSchema(ChannelFieldsMixin, VersionedUpdateSchema):
    name = Line(max_length=120)
    kind = ma.fields.Enum(ChannelKind)


class ChannelSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.Enum(ChannelKind)
    is_active = ma.fields.Boolean()
    is_default = ma.fields.Boolean()
    from_config = ma.fields.Boolean(metadata={"description": "built from SMTP_* settings; edit those instead"})
    smtp_host = ma.fields.String(allow_none=True)
    smtp_port = ma.fields.Integer(allow_none=True)
    smtp_security = ma.fields.Enum(SmtpSecurity, allow_none=True)
    smtp_username = ma.fields.String(allow_none=True)
    has_password = ma.fields.Boolean()
    from_address = ma.fields.String(allow_none=True)
    has_url = ma.fields.Boolean()
    url_hint = ma.fields.String(allow_none=True, metadata={"description": "scheme://host/… of the webhook URL"})
    has_secret = ma.fields.Boolean()
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    version = ma.fields.Integer()


class RuleFieldsMixin:
    name = Line(required=True, max_length=120)
    is_active = ma.fields.Boolean()
    events = ma.fields.List(ma.fields.Enum(EventKind), metadata={
        "description": "empty: every event; `missed` matches escalations at or after the due time"})
    clocks = ma.fields.List(Line(max_length=40), validate=validate.Length(max=50),
                            metadata={"description": "clock keys (initial, formal, ...); empty: every clock"})
    min_severity = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=4))
    target = ma.fields.Enum(TargetKind, required=True)
    target_role = ma.fields.String(allow_none=True, validate=validate.OneOf([r.value for r in Role]))
    target_user_id = ma.fields.Integer(strict=True, allow_none=True)
    target_email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    channel_id = ma.fields.Integer(strict=True, allow_none=True, metadata={
        "description": "target channel: the webhook to post to; target email: the email channel (default if empty)"})


class RuleCreateSchema(RuleFieldsMixin, StrictSchema):
    @ma.post_load
    def _values(self, data, **kwargs):
        data["events"] = [e.value for e in data.get("events", [])]
        return data


class RuleUpdateSchema(RuleFieldsMixin, VersionedUpdateSchema):
    name = Line(max_length=120)
    target = ma.fields.Enum(TargetKind)

    @ma.post_load
    def _values(self, data, **kwargs):
        if "events" in data:
            data["events"] = [e.value for e in data["events"]]
        return data


class RuleSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    is_active = ma.fields.Boolean()
    events = ma.fields.List(ma.fields.String())
    clocks = ma.fields.List(ma.fields.String())
    min_severity = ma.fields.Integer(allow_none=True)
    target = ma.fields.Enum(TargetKind)
    target_role = ma.fields.String(allow_none=True)
    target_user_id = ma.fields.Integer(allow_none=True)
    target_email = ma.fields.String(allow_none=True)
    channel_id = ma.fields.Integer(allow_none=True)
    version = ma.fields.Integer()


class PreferenceSchema(StrictSchema):
    user_id = ma.fields.Integer(dump_only=True)
    channel_ids = ma.fields.List(ma.fields.Integer(strict=True), required=True, validate=validate.Length(max=20),
                                 metadata={"description": "channels that reach you; empty: the default email channel"})
    quiet_from = ma.fields.Time(allow_none=True, load_default=None, metadata={"description": "HH:MM in the firm's zone"})
    quiet_to = ma.fields.Time(allow_none=True, load_default=None,
                              metadata={"description": "warnings wait until then; escalations ignore quiet hours"})


class MessageQuerySchema(StrictSchema):
    state = ma.fields.Enum(MessageState, metadata={"description": "pending, sending, sent, dead (undelivered)"})
    event = ma.fields.Enum(EventKind)
    channel_id = ma.fields.Integer()
    incident_id = ma.fields.Integer()
    recipient = ma.fields.String()


GENERIC_DELIVERY_ERROR = "delivery failed (details: administrators)"


def delivery_error(text: str | None) -> str | None:
    """A delivery error as the caller may see it: in full for admins, else only that there was one."""
    if text is None or actor_can(Permission.admin_policies):
        return text
    return GENERIC_DELIVERY_ERROR


class MessageSchema(ma.Schema):
    id = ma.fields.Integer()
    event = ma.fields.Function(lambda m: m.event.kind.value)
    source = ma.fields.Function(lambda m: m.event.source_key)
    incident_id = ma.fields.Function(lambda m: m.event.incident_id)
    subject = ma.fields.Function(lambda m: m.event.subject)
    channel_id = ma.fields.Integer()
    channel = ma.fields.Function(lambda m: m.channel.name)
    recipient = ma.fields.String()
    reason = ma.fields.String(metadata={"description": "why this recipient: reporter, supervisors, rule:<id>, ..."})
    idempotency_key = ma.fields.String(metadata={"description": "the same in every copy of this message"})
    state = ma.fields.Enum(MessageState)
    attempts = ma.fields.Integer()
    next_attempt_at = UTCDateTimeField()
    last_error = ma.fields.Function(lambda m: delivery_error(m.last_error), allow_none=True,
                                    metadata={"description": "the last failure; its details for admins only"})
    sent_at = UTCDateTimeField(allow_none=True)
    created_at = UTCDateTimeField()


class UndeliveredMessageSchema(ma.Schema):
    id = ma.fields.Integer()
    event = ma.fields.String()
    subject = ma.fields.String()
    incident_id = ma.fields.Integer(allow_none=True)
    channel = ma.fields.String()
    recipient = ma.fields.String()
    attempts = ma.fields.Integer()
    last_error = ma.fields.Function(lambda m: delivery_error(m["last_error"]), allow_none=True,
                                    metadata={"description": "the last failure; its details for admins only"})
    updated_at = UTCDateTimeField()


class DeliverySummarySchema(ma.Schema):
    undelivered = ma.fields.Integer(metadata={"description": "messages given up after the retry limit"})
    pending = ma.fields.Integer(metadata={"description": "messages waiting for (another) attempt"})
    oldest_pending_at = UTCDateTimeField(allow_none=True)
    unrouted_events = ma.fields.Integer(metadata={"description": "events no channel or recipient was configured for"})
    messages = ma.fields.List(ma.fields.Nested(UndeliveredMessageSchema), metadata={"description": "latest undelivered"})


class DeliveryHealthSchema(ma.Schema):
    undelivered = ma.fields.Integer()
    pending = ma.fields.Integer()
