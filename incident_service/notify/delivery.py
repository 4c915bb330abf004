"""Delivering the outbox: claim due messages under a lease, send, and mark each one only after its channel
accepted it; failures wait with exponential backoff until the retry limit, then count as undelivered.

Claims are one conditional UPDATE (on PostgreSQL over ``FOR UPDATE SKIP LOCKED``), so several engines
never claim the same row. A live sender renews the lease of what it still holds (its heartbeat), so the lease is
short and a dead sender's rows go to another engine within seconds. A sender that dies after sending and before
marking leaves its rows ``sending``; once the lease ran out another tick sends them again with the same
idempotency key, which the receiver can use to drop the copy (at-least-once delivery, duplicates detectable by key).

How many can repeat: at most ``workers`` messages are sent and not yet marked at any moment (a finished send is
marked before the next one starts), so a crash repeats at most the messages in flight. On SQLite marks are grouped
(one commit per message made it the bottleneck), which lets up to ``MARK_EVERY_SQLITE`` more repeat there.
A sender told to stop starts nothing new, gives back what it had not started, and marks what it sends.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.notify.channels import DeliveryFailed, Outgoing, Transport, send
from incident_service.notify.models import Channel, MessageState, OutboxMessage
from incident_service.notify.settings import NotifySettings

MARK_EVERY_SQLITE = 20


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    released: int = 0  # claimed, then given back unsent because the sender was stopping


def backoff(attempts: int, settings: NotifySettings) -> timedelta:
    """The wait after the ``attempts``-th failure: base, 2×base, 4×base, ... up to the cap."""
    seconds = settings.backoff_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.backoff_max_seconds))


def _due(now: datetime):
    pending = sa.and_(OutboxMessage.state == MessageState.pending, OutboxMessage.next_attempt_at <= now)
    orphaned = sa.and_(OutboxMessage.state == MessageState.sending, OutboxMessage.sending_until < now)
    return sa.or_(pending, orphaned)


def claim_due_messages(session: Session, *, now: datetime, sender_id: str, limit: int, lease_seconds: float) -> list[int]:
    """Claim up to ``limit`` due messages (and ones whose sender's lease ran out); each claim is an attempt."""
    due = sa.select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return list(session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()), _due(now))
        .values(state=MessageState.sending, sending_until=now + timedelta(seconds=lease_seconds),
                claimed_by=sender_id, attempts=OutboxMessage.attempts + 1, updated_at=now)
        .returning(OutboxMessage.id),
        execution_options={"synchronize_session": False},
    ).scalars().all())


def _transport(channel: Channel, settings: NotifySettings) -> Transport:
    password = settings.smtp.password if channel.from_config else channel.smtp_password
    return Transport(kind=channel.kind, name=channel.name, smtp_host=channel.smtp_host, smtp_port=channel.smtp_port,
                     smtp_security=channel.smtp_security.value if channel.smtp_security else "none",
                     smtp_username=channel.smtp_username, smtp_password=password,
                     from_address=channel.from_address, url=channel.url, secret=channel.secret,
                     allowed_hosts=settings.webhook_allowed_hosts)


def _snapshots(session: Session, ids: list[int], settings: NotifySettings, now: datetime) -> list[tuple[Outgoing, bool]]:
    rows = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).unique().all()
    out = []
    for m in rows:
        e = m.event
        out.append((Outgoing(message_id=m.id, idempotency_key=m.idempotency_key, recipient=m.recipient,
                             attempt=m.attempts, sent_at=now, event_kind=e.kind, subject=e.subject, text_zh=e.text_zh,
                             text_en=e.text_en, link=e.link, facts=dict(e.facts or {}),
                             transport=_transport(m.channel, settings)), m.channel.is_active))
    session.commit()  # end the read transaction: nothing is held open while the network is slow
    return out


def mark_sent(session: Session, *, message_ids: list[int], now: datetime) -> int:
    """Record that the channels accepted these messages (whoever's lease it is: they were sent). Commits."""
    done = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.state == MessageState.sending)
        .values(state=MessageState.sent, sent_at=now, sending_until=None, last_error=None, updated_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    session.commit()
    return done


def renew_leases(session: Session, *, message_ids: list[int], sender_id: str, now: datetime,
                 lease_seconds: float) -> int:
    """Extend the lease of the messages this sender still works on (its heartbeat). Commits.

    A row another sender took over after our lease ran out is not touched: it is theirs now."""
    renewed = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.claimed_by == sender_id,
               OutboxMessage.state == MessageState.sending)
        .values(sending_until=now + timedelta(seconds=lease_seconds)),
        execution_options={"synchronize_session": False},
    ).rowcount
    session.commit()
    return renewed


def release_messages(session: Session, *, message_ids: list[int], sender_id: str, now: datetime) -> int:
    """Give back claimed messages this sender never started (it is stopping): due again at once for any engine,
    and the claim does not count as an attempt. Commits."""
    released = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.claimed_by == sender_id,
               OutboxMessage.state == MessageState.sending)
        .values(state=MessageState.pending, sending_until=None, claimed_by=None, attempts=OutboxMessage.attempts - 1,
                updated_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    session.commit()
    return released


def mark_failed(session: Session, *, message_id: int, sender_id: str, error: DeliveryFailed, now: datetime,
                settings: NotifySettings) -> MessageState | None:
    """Schedule a retry with backoff, or give up (retry limit or a permanent refusal). Returns the new state."""
    row = session.execute(
        sa.select(OutboxMessage.attempts).where(OutboxMessage.id == message_id, OutboxMessage.state == MessageState.sending,
                                                OutboxMessage.claimed_by == sender_id)
    ).first()
    if row is None:  # another sender took it over after our lease ran out: its outcome counts
        session.commit()
        return None
    attempts = row[0]
    state = MessageState.dead if error.permanent or attempts >= settings.max_attempts else MessageState.pending
    session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == sender_id,
                                       OutboxMessage.state == MessageState.sending)
        .values(state=state, sending_until=None, last_error=str(error)[:500], updated_at=now,
                next_attempt_at=now + backoff(attempts, settings) if state == MessageState.pending else now),
        execution_options={"synchronize_session": False},
    )
    session.commit()
    return state


def deliver_due(*, session: Session, settings: NotifySettings, now_fn: Callable[[], datetime], sender_id: str,
                after_send: Callable[[Outgoing], None] | None = None, should_stop: Callable[[], bool] | None = None,
                max_rounds: int = 1000) -> DeliveryReport:
    """Send every due message, batch after batch, until none is due or ``should_stop()`` says so.

    ``after_send`` runs after a channel accepted a message and before it is marked: tests use it to play a
    sender killed at the worst moment.
    """
    report = DeliveryReport()
    stopping = should_stop or (lambda: False)
    mark_every = MARK_EVERY_SQLITE if session.get_bind().dialect.name == "sqlite" else 1
    with ThreadPoolExecutor(max_workers=max(settings.workers, 1), thread_name_prefix="notify-send") as pool:
        for _ in range(max_rounds):
            if stopping():
                break
            now = now_fn()
            ids = claim_due_messages(session, now=now, sender_id=sender_id, limit=settings.batch_size,
                                     lease_seconds=settings.lease_seconds)
            session.commit()
            if not ids:
                break
            _send_claimed(session, pool, ids, settings=settings, now=now, now_fn=now_fn, sender_id=sender_id,
                          after_send=after_send, stopping=stopping, mark_every=mark_every, report=report)
            if len(ids) < settings.batch_size:
                break
    return report


def _send_claimed(session: Session, pool: ThreadPoolExecutor, ids: list[int], *, settings: NotifySettings,
                  now: datetime, now_fn: Callable[[], datetime], sender_id: str,
                  after_send: Callable[[Outgoing], None] | None, stopping: Callable[[], bool], mark_every: int,
                  report: DeliveryReport) -> None:
    """Send one claimed batch, at most ``workers`` at a time, renewing the lease of what is left as it goes."""
    waiting: deque[Outgoing] = deque()
    for out, active in _snapshots(session, ids, settings, now):
        if active:
            waiting.append(out)
        else:
            _record_failure(session, out, DeliveryFailed("the channel is disabled"), sender_id, now_fn(), settings,
                            report)
    running: dict[Future, Outgoing] = {}
    accepted: list[int] = []
    renewed_at = now
    while waiting or running:
        if waiting and stopping():
            report.released += release_messages(session, message_ids=[o.message_id for o in waiting],
                                                sender_id=sender_id, now=now_fn())
            waiting.clear()
        # A new send starts only once the finished one is marked: never more than `workers` sent and unmarked.
        while waiting and len(running) < max(settings.workers, 1):
            out = waiting.popleft()
            running[pool.submit(send, out, timeout=settings.send_timeout)] = out
        if not running:
            break
        done, _ = wait(running, timeout=settings.renew_seconds, return_when=FIRST_COMPLETED)
        for future in done:
            out = running.pop(future)
            error = future.exception()
            if error is None:
                if after_send is not None:
                    after_send(out)
                accepted.append(out.message_id)
                report.sent += 1
                if len(accepted) >= mark_every:
                    mark_sent(session, message_ids=accepted, now=now_fn())
                    accepted = []
            else:
                if not isinstance(error, DeliveryFailed):
                    error = DeliveryFailed(f"{error.__class__.__name__}: {error}")
                _record_failure(session, out, error, sender_id, now_fn(), settings, report)
        if (waiting or running) and (now_fn() - renewed_at).total_seconds() >= settings.renew_seconds:
            renewed_at = now_fn()
            renew_leases(session, message_ids=[o.message_id for o in (*waiting, *running.values())],
                         sender_id=sender_id, now=renewed_at, lease_seconds=settings.lease_seconds)
    if accepted:
        mark_sent(session, message_ids=accepted, now=now_fn())


def _record_failure(session, out, error, sender_id, now, settings, report) -> None:
    state = mark_failed(session, message_id=out.message_id, sender_id=sender_id, error=error, now=now, settings=settings)
    if state == MessageState.dead:
        report.dead += 1
    elif state == MessageState.pending:
        report.retrying += 1
