"""Who hears what: an event is recorded once (unique source key) and fanned out to one outbox row per
(channel, recipient) in the same transaction, so routing happens exactly once.

Recipients come from the event's own audience (the clock engine's: the reporter hears warnings, the
reporter and supervisors hear escalations) and from the admin's routing rules (by event, clock and
severity: e.g. the security officer's mailbox hears every missed deadline). A rule naming ``missed``
matches escalations raised at or after the due time, which is what a missed deadline is.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.auth.models import User
from incident_service.notify.models import (
    URGENT_EVENTS,
    WEBHOOK_KINDS,
    Channel,
    ChannelKind,
    EventKind,
    NotifyEvent,
    OutboxMessage,
    Preference,
    RoutingRule,
    SmtpSecurity,
    TargetKind,
)
from incident_service.notify.settings import NotifySettings, SmtpSettings

KEY_NAMESPACE = uuid.UUID("6f1b1c2e-8d7a-4c3e-9a51-2f0a7b9e4d10")


def idempotency_key(source_key: str, channel_id: int, recipient: str) -> str:
    """The same for every attempt at one message, and different for every other message."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{source_key}|{channel_id}|{recipient.lower()}"))


def sync_config_channel(session: Session, *, smtp: SmtpSettings, now: datetime) -> Channel | None:
    """The email channel described by SMTP_* settings, kept in step with them (flushes; no commit)."""
    channel = session.scalar(sa.select(Channel).where(Channel.from_config.is_(True)))
    if smtp.host is None:
        return None
    values = {"smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_security": SmtpSecurity(smtp.security),
              "smtp_username": smtp.username, "from_address": smtp.from_address}
    if channel is None:
        channel = Channel(name="SMTP (from settings)", kind=ChannelKind.email, from_config=True, is_active=True,
                          created_at=now, updated_at=now, **values)
        session.add(channel)
        session.flush()
    elif any(getattr(channel, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(channel, k, v)
        channel.updated_at = now
    return channel


def _in_quiet(local_time: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= local_time < end
    return local_time >= start or local_time < end  # the window crosses midnight


@dataclass
class Router:
    """What routing reads, loaded once per batch: channels, rules, preferences, users by role."""

    session: Session
    settings: NotifySettings
    now: datetime
    channels: dict[int, Channel] = field(default_factory=dict)
    default_email: Channel | None = None
    rules: list[RoutingRule] = field(default_factory=list)
    _prefs: dict[int, Preference | None] = field(default_factory=dict)
    _roles: dict[str, list[User]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, *, settings: NotifySettings, now: datetime) -> Router:
        config_channel = sync_config_channel(session, smtp=settings.smtp, now=now)
        channels = {c.id: c for c in session.scalars(sa.select(Channel).where(Channel.is_active.is_(True)))}
        marked = [c for c in channels.values() if c.is_default and c.kind == ChannelKind.email]
        default = marked[0] if marked else (config_channel if config_channel and config_channel.is_active else None)
        rules = list(session.scalars(sa.select(RoutingRule).where(RoutingRule.is_active.is_(True)).order_by(RoutingRule.id)))
        return cls(session=session, settings=settings, now=now, channels=channels, default_email=default, rules=rules)

    def _preference(self, user_id: int) -> Preference | None:
        if user_id not in self._prefs:
            self._prefs[user_id] = self.session.get(Preference, user_id)
        return self._prefs[user_id]

    def _users_with_role(self, role: str) -> list[User]:
        if role not in self._roles:
            users = self.session.scalars(sa.select(User).where(User.is_active.is_(True)).order_by(User.id)).all()
            self._roles[role] = [u for u in users if role in (u.roles or [])]
        return self._roles[role]

    def _user(self, user_id: int | None) -> User | None:
        user = self.session.get(User, user_id) if user_id else None
        return user if user is not None and user.is_active else None

    def _user_by_name(self, name: str | None) -> User | None:
        if not name:
            return None
        return self.session.scalar(sa.select(User).where(
            User.is_active.is_(True), sa.or_(User.username == name, User.email == name)))

    def _quiet_until(self, user: User, kind: EventKind) -> datetime | None:
        pref = self._preference(user.id)
        if kind in URGENT_EVENTS or pref is None or pref.quiet_from is None or pref.quiet_to is None:
            return None
        here = self.now.astimezone(self.settings.zone)
        if not _in_quiet(here.time().replace(tzinfo=None), pref.quiet_from, pref.quiet_to):
            return None
        end = here.replace(hour=pref.quiet_to.hour, minute=pref.quiet_to.minute, second=0, microsecond=0)
        if end <= here:
            end += timedelta(days=1)
        return end.astimezone(self.now.tzinfo)

    def _user_deliveries(self, user: User, reason: str, kind: EventKind):
        pref = self._preference(user.id)
        chosen = [self.channels[i] for i in (pref.channel_ids if pref else []) if i in self.channels]
        if not chosen and self.default_email is not None:
            chosen = [self.default_email]
        hold = self._quiet_until(user, kind)
        for channel in chosen:
            if channel.kind == ChannelKind.email:
                if user.email:
                    yield channel, user.email.strip().lower(), user.id, reason, hold
            else:
                yield channel, f"channel:{channel.id}", user.id, reason, hold

    def _audience(self, token: str, event: NotifyEvent, reporter_id: int | None, owner: str | None):
        if token == "reporter":
            users = [u for u in [self._user(reporter_id)] if u]
        elif token == "owner":
            users = [u for u in [self._user_by_name(owner)] if u]
        else:  # supervisors, admins: everyone holding the role
            users = self._users_with_role(token.removesuffix("s"))
        for user in users:
            yield from self._user_deliveries(user, token, event.kind)

    @staticmethod
    def matches(rule: RoutingRule, event: NotifyEvent) -> bool:
        kinds = set(rule.events or [])
        missed = event.kind == EventKind.escalation and (event.seconds_left or 0) <= 0
        if kinds and event.kind.value not in kinds and not (missed and EventKind.missed.value in kinds):
            return False
        if rule.clocks and event.clock_key not in rule.clocks:
            return False
        return rule.min_severity is None or (event.severity is not None and event.severity >= rule.min_severity)

    def _rule(self, rule: RoutingRule, event: NotifyEvent, reporter_id: int | None):
        reason = f"rule:{rule.id}"
        if rule.target == TargetKind.reporter:
            user = self._user(reporter_id)
            users = [user] if user else []
        elif rule.target == TargetKind.role:
            users = self._users_with_role(rule.target_role or "")
        elif rule.target == TargetKind.user:
            user = self._user(rule.target_user_id)
            users = [user] if user else []
        elif rule.target == TargetKind.email:
            channel = self.channels.get(rule.channel_id) if rule.channel_id else self.default_email
            if channel is not None and channel.kind == ChannelKind.email and rule.target_email:
                yield channel, rule.target_email.strip().lower(), None, reason, None
            return
        else:  # a shared webhook channel
            channel = self.channels.get(rule.channel_id or 0)
            if channel is not None and channel.kind in WEBHOOK_KINDS:
                yield channel, f"channel:{channel.id}", None, reason, None
            return
        for user in users:
            yield from self._user_deliveries(user, reason, event.kind)

    def fan_out(self, event: NotifyEvent, *, audience: list[str], reporter_id: int | None = None,
                owner: str | None = None) -> list[OutboxMessage]:
        """Add the event and its outbox rows (one per channel and recipient) to the session; flushes."""
        self.session.add(event)
        self.session.flush()
        candidates = []
        if self.settings.follow_audience:
            for token in audience:
                candidates.extend(self._audience(token, event, reporter_id, owner))
        for rule in self.rules:
            if self.matches(rule, event):
                candidates.extend(self._rule(rule, event, reporter_id))
        rows: dict[tuple[int, str], OutboxMessage] = {}
        for channel, recipient, user_id, reason, hold in candidates:
            at = hold or self.now
            row = rows.get((channel.id, recipient))
            if row is not None:
                # Heard through several routes: one message, at the earliest time any route allows.
                row.next_attempt_at = min(row.next_attempt_at, at)
                continue
            rows[(channel.id, recipient)] = OutboxMessage(
                event_id=event.id, channel_id=channel.id, recipient=recipient[:254], user_id=user_id, reason=reason,
                idempotency_key=idempotency_key(event.source_key, channel.id, recipient),
                next_attempt_at=at, attempts=0, created_at=self.now, updated_at=self.now,
            )
        self.session.add_all(rows.values())
        event.recipients = len(rows)
        return list(rows.values())
