"""Channels, routing rules, personal preferences, the events to tell about, and the outbox of messages."""
from __future__ import annotations

import enum
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incident_service.database import EncryptedText, is_unreadable
from incident_service.extensions import db
from incident_service.notify.egress import url_hint


class ChannelKind(str, enum.Enum):
    email = "email"  # SMTP; each user recipient gets a message at their own address
    webhook = "webhook"  # generic JSON, signed with HMAC-SHA256
    teams = "teams"  # Microsoft Teams incoming webhook (adaptive card)
    slack = "slack"  # Slack incoming webhook (text + blocks)


WEBHOOK_KINDS = (ChannelKind.webhook, ChannelKind.teams, ChannelKind.slack)


class SmtpSecurity(str, enum.Enum):
    none = "none"
    starttls = "starttls"
    ssl = "ssl"


class EventKind(str, enum.Enum):
    warning = "warning"  # before a reporting deadline
    escalation = "escalation"  # at the due time with no filing
    # Not stored on events: a rule that names "missed" hears escalations raised at or after the due time.
    missed = "missed"
    remediation_overdue = "remediation_overdue"
    vendor_duty_breached = "vendor_duty_breached"
    audit_checkpoint = "audit_checkpoint"  # a signed checkpoint of the audit trail, for the auditors to keep


# Quiet hours hold back everything but these.
URGENT_EVENTS = (EventKind.escalation, EventKind.missed)


class TargetKind(str, enum.Enum):
    reporter = "reporter"  # the incident's reporter
    role = "role"  # every active user holding a role
    user = "user"  # one user
    email = "email"  # a fixed address (e.g. the security officer's mailbox)
    channel = "channel"  # a shared webhook channel (one post, e.g. the SOC's Teams channel)


class MessageState(str, enum.Enum):
    pending = "pending"
    sending = "sending"  # claimed under a lease
    sent = "sent"  # the channel accepted it
    dead = "dead"  # gave up after the retry limit (or a permanent refusal): undelivered


class Channel(db.Model):
    __tablename__ = "notify_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[ChannelKind] = mapped_column(sa.Enum(ChannelKind, native_enum=False, length=20))
    is_active: Mapped[bool] = mapped_column(default=True)
    # The email channel used for users who chose none, and for rules naming an address without a channel.
    is_default: Mapped[bool] = mapped_column(default=False)
    # Built from SMTP_* settings: edited in the environment, not here; its password is never stored.
    from_config: Mapped[bool] = mapped_column(default=False)
    smtp_host: Mapped[str | None] = mapped_column(sa.String(255))
    smtp_port: Mapped[int | None]
    smtp_security: Mapped[SmtpSecurity | None] = mapped_column(sa.Enum(SmtpSecurity, native_enum=False, length=20))
    smtp_username: Mapped[str | None] = mapped_column(sa.String(255))
    # Credentials, stored encrypted and write-only through API and pages: the SMTP password, the webhook's secret
    # (signs generic webhooks) and its URL (a Teams or Slack URL is itself the key; shown as scheme://host/… only).
    smtp_password: Mapped[str | None] = mapped_column(EncryptedText(1500))
    from_address: Mapped[str | None] = mapped_column(sa.String(254))
    url: Mapped[str | None] = mapped_column(EncryptedText(4000))
    secret: Mapped[str | None] = mapped_column(EncryptedText(1500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}

    @property
    def has_password(self) -> bool:
        return bool(self.smtp_password)

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    @property
    def has_url(self) -> bool:
        return bool(self.url)

    @property
    def url_hint(self) -> str | None:
        return "[unreadable: enter it again]" if is_unreadable(self.url) else url_hint(self.url)


class RoutingRule(db.Model):
    """Who else hears what: events (empty: all), clocks (empty: all), a minimum severity, and a target."""

    __tablename__ = "notify_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    is_active: Mapped[bool] = mapped_column(default=True)
    events: Mapped[list] = mapped_column(sa.JSON, default=list)  # values of EventKind
    clocks: Mapped[list] = mapped_column(sa.JSON, default=list)  # clock keys: initial, formal, ...
    min_severity: Mapped[int | None]
    target: Mapped[TargetKind] = mapped_column(sa.Enum(TargetKind, native_enum=False, length=20))
    target_role: Mapped[str | None] = mapped_column(sa.String(20))
    target_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    target_email: Mapped[str | None] = mapped_column(sa.String(254))
    channel_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notify_channels.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
    # Every UPDATE says WHERE version = <read>, and bumps it: two concurrent writers cannot both pass.
    __mapper_args__ = {"version_id_col": version}

    channel: Mapped[Channel | None] = relationship(lazy="joined")


class Preference(db.Model):
    """A user's own choice of channels and quiet hours (in the firm's zone); escalations ignore quiet hours."""

    __tablename__ = "notify_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel_ids: Mapped[list] = mapped_column(sa.JSON, default=list)  # empty: the default email channel
    quiet_from: Mapped[time | None]
    quiet_to: Mapped[time | None]
    updated_at: Mapped[datetime]


class NotifyEvent(db.Model):
    """Something to tell people about, recorded once per source key and fanned out to the outbox at once."""

    __tablename__ = "notify_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "notification:17", "remediation:12:overdue:2026-11-21", "contract:3:expires:2027-01-31"
    source_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    notification_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("notifications.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[EventKind] = mapped_column(sa.Enum(EventKind, native_enum=False, length=40), index=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    clock_key: Mapped[str | None] = mapped_column(sa.String(40))
    severity: Mapped[int | None]
    due_at: Mapped[datetime | None]
    seconds_left: Mapped[int | None]
    subject: Mapped[str] = mapped_column(sa.String(300))
    text_zh: Mapped[str] = mapped_column(sa.Text)
    text_en: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str | None] = mapped_column(sa.String(1000))
    facts: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # the event's fields, for webhook payloads
    recipients: Mapped[int] = mapped_column(default=0)  # outbox rows written; 0: nobody was routed
    created_at: Mapped[datetime] = mapped_column(index=True)


class OutboxMessage(db.Model):
    """One message to one recipient over one channel, delivered by the engine with retries."""

    __tablename__ = "notify_outbox"
    __audit_redact__ = frozenset({"last_error"})  # a receiver's answer is for admins, not for the trail's readers

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("notify_events.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("notify_channels.id"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))  # an address, or "channel:<id>" for a webhook
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.String(120))  # why this recipient: reporter, role:supervisor, rule:3
    # Stable across retries: in the Message-ID, the Idempotency-Key header and the payload, so a receiver
    # that saw it already can drop a second copy sent after a crash between sending and marking.
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    state: Mapped[MessageState] = mapped_column(
        sa.Enum(MessageState, native_enum=False, length=20), default=MessageState.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    sending_until: Mapped[datetime | None]  # the lease of the sender that claimed it
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    last_error: Mapped[str | None] = mapped_column(sa.String(500))  # may hold a receiver's answer: admins only
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    event: Mapped[NotifyEvent] = relationship(lazy="joined")
    channel: Mapped[Channel] = relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("event_id", "channel_id", "recipient", name="uq_notify_outbox_fanout"),
        sa.Index("ix_notify_outbox_state_next", "state", "next_attempt_at"),
    )
