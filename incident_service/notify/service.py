"""Admin and reading use cases: channels, routing rules, personal preferences, the outbox, retries.

Web pages and the API call these; each validates the whole request, raises a domain error naming the
field, and commits once.
"""
from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.auth.models import Role, User
from incident_service.database import apply_changes
from incident_service.errors import Conflict, NotFound, ValidationFailed
from incident_service.notify.egress import EgressPolicy
from incident_service.notify.settings import current_settings
from incident_service.notify.models import (
    WEBHOOK_KINDS,
    Channel,
    ChannelKind,
    EventKind,
    MessageState,
    NotifyEvent,
    OutboxMessage,
    Preference,
    RoutingRule,
    TargetKind,
)
from incident_service.api_common import check_version

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
SECRET_FIELDS = ("smtp_password", "secret", "url")  # write-only: left out (or empty on a page) keeps what is stored


# --- channels ----------------------------------------------------------------------------------------

def channels_query() -> sa.Select:
    return sa.select(Channel).order_by(Channel.name)


def get_channel(*, session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"Channel {channel_id} does not exist.")
    return channel


def _egress(allowed_hosts: tuple[str, ...] | None) -> EgressPolicy:
    """The webhook allow-list given, or the app's (WEBHOOK_ALLOWED_HOSTS)."""
    if allowed_hosts is None:
        allowed_hosts = current_settings().webhook_allowed_hosts
    return EgressPolicy.of(allowed_hosts)


def _check_channel(session: Session, channel: Channel, egress: EgressPolicy | None) -> None:
    """``egress``: check where the webhook URL leads (None: the URL did not change)."""
    errors: dict[str, list[str]] = {}
    if not (channel.name or "").strip():
        errors["name"] = ["Give the channel a name."]
    elif session.scalar(sa.select(Channel.id).where(Channel.name == channel.name, Channel.id != channel.id)):
        errors["name"] = ["Another channel has this name."]
    if channel.kind == ChannelKind.email:
        if not channel.smtp_host:
            errors["smtp_host"] = ["An email channel needs the SMTP server's host name."]
        if channel.smtp_port is not None and not 0 < channel.smtp_port < 65536:
            errors["smtp_port"] = ["A port is between 1 and 65535."]
        if not channel.from_address or not EMAIL.match(channel.from_address):
            errors["from_address"] = ["Give the sender address, e.g. soc@firm.example."]
    else:
        if not channel.url or not re.match(r"^https?://[^\s/]+", channel.url):
            errors["url"] = ["A webhook needs an http(s) URL."]
        elif egress is not None and (problem := egress.problem(channel.url)):
            errors["url"] = [problem]
        if channel.is_default:
            errors["is_default"] = ["Only an email channel can be the default."]
    if errors:
        raise ValidationFailed(errors)


def _one_default(session: Session, channel: Channel) -> None:
    if channel.is_default:
        session.execute(sa.update(Channel).where(Channel.id != channel.id, Channel.is_default.is_(True))
                        .values(is_default=False))


def create_channel(*, session: Session, data: dict[str, Any], now: datetime,
                   allowed_hosts: tuple[str, ...] | None = None) -> Channel:
    """A new channel; a webhook's URL must resolve to a public address unless its host is allowed."""
    channel = Channel(**data, created_at=now, updated_at=now)
    if channel.kind == ChannelKind.email and channel.smtp_port is None:
        channel.smtp_port = 25
    _check_channel(session, channel, _egress(allowed_hosts))
    session.add(channel)
    session.flush()
    _one_default(session, channel)
    session.commit()
    return channel


def update_channel(*, session: Session, channel_id: int, data: dict[str, Any], now: datetime,
                   expected_version: int | None = None, allowed_hosts: tuple[str, ...] | None = None) -> Channel:
    """Change a channel; a secret left out is kept (secrets are write-only)."""

    channel = get_channel(session=session, channel_id=channel_id)
    check_version(channel, expected_version)
    if channel.from_config and set(data) - {"is_active", "is_default"}:
        raise Conflict("This channel comes from the SMTP_* settings: change them in the environment.",
                       code="from_config")
    if "kind" in data and data["kind"] != channel.kind:
        raise ValidationFailed({"kind": ["A channel's kind cannot change; add a new channel."]})
    changed = apply_changes(channel, data)
    if not changed:
        return channel
    _check_channel(session, channel, _egress(allowed_hosts) if "url" in changed else None)
    _one_default(session, channel)
    channel.updated_at = now
    session.commit()
    return channel


def delete_channel(*, session: Session, channel_id: int) -> None:
    channel = get_channel(session=session, channel_id=channel_id)
    used = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.channel_id == channel.id))
    ruled = session.scalar(sa.select(sa.func.count()).select_from(RoutingRule).where(RoutingRule.channel_id == channel.id))
    if used or ruled:
        raise Conflict(f"This channel has {used} message(s) and {ruled} rule(s): disable it instead, so the record stays.",
                       code="in_use")
    session.delete(channel)
    session.commit()


# --- routing rules -----------------------------------------------------------------------------------

def rules_query() -> sa.Select:
    return sa.select(RoutingRule).order_by(RoutingRule.id)


def get_rule(*, session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"Routing rule {rule_id} does not exist.")
    return rule


def _check_rule(session: Session, rule: RoutingRule) -> None:
    errors: dict[str, list[str]] = {}
    if not (rule.name or "").strip():
        errors["name"] = ["Give the rule a name."]
    known = {k.value for k in EventKind}
    if set(rule.events or []) - known:
        errors["events"] = [f"Events are: {', '.join(sorted(known))}."]
    if rule.min_severity is not None and not 1 <= rule.min_severity <= 4:
        errors["min_severity"] = ["Severity is 1 to 4."]
    channel = session.get(Channel, rule.channel_id) if rule.channel_id else None
    if rule.channel_id and channel is None:
        errors["channel_id"] = ["No such channel."]
    if rule.target == TargetKind.role and rule.target_role not in {r.value for r in Role}:
        errors["target_role"] = [f"Roles are: {', '.join(r.value for r in Role)}."]
    elif rule.target == TargetKind.user and (not rule.target_user_id or session.get(User, rule.target_user_id) is None):
        errors["target_user_id"] = ["No such user."]
    elif rule.target == TargetKind.email:
        if not rule.target_email or not EMAIL.match(rule.target_email):
            errors["target_email"] = ["Give an email address."]
        if channel is not None and channel.kind != ChannelKind.email:
            errors["channel_id"] = ["Send to an address through an email channel."]
    elif rule.target == TargetKind.channel and (channel is None or channel.kind not in WEBHOOK_KINDS):
        errors["channel_id"] = ["Choose a webhook, Teams or Slack channel."]
    if errors:
        raise ValidationFailed(errors)


def create_rule(*, session: Session, data: dict[str, Any], now: datetime) -> RoutingRule:
    rule = RoutingRule(**{"events": [], "clocks": [], **data}, created_at=now, updated_at=now)
    _check_rule(session, rule)
    session.add(rule)
    session.commit()
    return rule


def update_rule(*, session: Session, rule_id: int, data: dict[str, Any], now: datetime,
                expected_version: int | None = None) -> RoutingRule:

    rule = get_rule(session=session, rule_id=rule_id)
    check_version(rule, expected_version)
    if not apply_changes(rule, data):
        return rule
    _check_rule(session, rule)
    rule.updated_at = now
    session.commit()
    return rule


def delete_rule(*, session: Session, rule_id: int) -> None:
    session.delete(get_rule(session=session, rule_id=rule_id))
    session.commit()


# --- personal preferences ----------------------------------------------------------------------------

def get_preference(*, session: Session, user_id: int) -> Preference:
    """A user's preference (an unsaved default when they never chose)."""
    if session.get(User, user_id) is None:
        raise NotFound(f"User {user_id} does not exist.")
    return session.get(Preference, user_id) or Preference(user_id=user_id, channel_ids=[], quiet_from=None, quiet_to=None)


def set_preference(*, session: Session, user_id: int, channel_ids: list[int], quiet_from: time | None,
                   quiet_to: time | None, now: datetime) -> Preference:
    """Which channels reach the user (none: the default email channel), and quiet hours for non-urgent news."""
    pref = get_preference(session=session, user_id=user_id)
    errors: dict[str, list[str]] = {}
    usable = set(session.scalars(sa.select(Channel.id).where(Channel.id.in_(channel_ids), Channel.is_active.is_(True))))
    if set(channel_ids) - usable:
        errors["channel_ids"] = [f"No active channel {i}." for i in sorted(set(channel_ids) - usable)]
    if (quiet_from is None) != (quiet_to is None) or (quiet_from is not None and quiet_from == quiet_to):
        errors["quiet_from"] = ["Give both ends of the quiet hours (different times), or neither."]
    if errors:
        raise ValidationFailed(errors)
    pref.channel_ids, pref.quiet_from, pref.quiet_to, pref.updated_at = sorted(set(channel_ids)), quiet_from, quiet_to, now
    session.add(pref)
    session.commit()
    return pref


# --- the outbox --------------------------------------------------------------------------------------

def messages_query(*, state: MessageState | None = None, event: EventKind | None = None, channel_id: int | None = None,
                   incident_id: int | None = None, recipient: str | None = None) -> sa.Select:
    stmt = sa.select(OutboxMessage).join(OutboxMessage.event).order_by(OutboxMessage.id.desc())
    if state is not None:
        stmt = stmt.where(OutboxMessage.state == state)
    if event is not None:
        stmt = stmt.where(NotifyEvent.kind == event)
    if channel_id is not None:
        stmt = stmt.where(OutboxMessage.channel_id == channel_id)
    if incident_id is not None:
        stmt = stmt.where(NotifyEvent.incident_id == incident_id)
    if recipient is not None:
        stmt = stmt.where(OutboxMessage.recipient == recipient.strip().lower())
    return stmt


def get_message(*, session: Session, message_id: int) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"Message {message_id} does not exist.")
    return message


def retry_message(*, session: Session, message_id: int, now: datetime) -> OutboxMessage:
    """Give an undelivered message a fresh set of attempts, starting now (same idempotency key)."""
    message = get_message(session=session, message_id=message_id)
    if message.state != MessageState.dead:
        raise Conflict(f"Only an undelivered message can be retried; this one is {message.state.value}.", code="not_dead")
    message.state, message.attempts, message.next_attempt_at, message.updated_at = MessageState.pending, 0, now, now
    session.commit()
    return message


def undelivered_summary(session: Session, *, limit: int = 20) -> dict[str, Any]:
    """For the board and /health: messages given up on (with the latest of them), messages still on their
    way, and events that reached nobody (no channel or no recipient was configured for them)."""
    oldest = session.scalar(sa.select(sa.func.min(OutboxMessage.created_at))
                            .where(OutboxMessage.state.in_((MessageState.pending, MessageState.sending))))
    dead = session.scalars(messages_query(state=MessageState.dead).limit(limit)).unique().all()
    unrouted = session.scalar(sa.select(sa.func.count()).select_from(NotifyEvent).where(NotifyEvent.recipients == 0))
    return {
        **delivery_health(session),
        "oldest_pending_at": oldest,
        "unrouted_events": unrouted,
        "messages": [{"id": m.id, "event": m.event.kind.value, "subject": m.event.subject, "incident_id": m.event.incident_id,
                      "channel": m.channel.name, "recipient": m.recipient, "attempts": m.attempts,
                      "last_error": m.last_error, "updated_at": m.updated_at} for m in dead],
    }


def undelivered_count(*, session: Session, now: datetime | None = None) -> int:  # noqa: ARG001 - the board passes now
    """How many messages were given up on (the board's red figure)."""
    return session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.state == MessageState.dead)) or 0


def delivery_health(session: Session) -> dict[str, int]:
    """For /health: undelivered (given up) and pending (on their way) message counts."""
    counts = {state: n for state, n in session.execute(
        sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state))}
    return {"undelivered": counts.get(MessageState.dead, 0),
            "pending": counts.get(MessageState.pending, 0) + counts.get(MessageState.sending, 0)}
