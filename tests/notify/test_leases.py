"""Delivery at its limits: a slow send is never taken over by another engine while its sender lives, a crash repeats
at most the messages in flight, and a sender told to stop finishes and marks its sends and gives the rest back."""
from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from incident_service.extensions import db
from incident_service.notify import service
from incident_service.notify.delivery import MARK_EVERY_SQLITE, deliver_due
from incident_service.notify.models import ChannelKind, MessageState, OutboxMessage
from incident_service.notify.sources import route_new_notifications
from tests.conftest import Clock, T0
from tests.notify.conftest import wait_for

DUE_AT = T0 + timedelta(minutes=29)  # each incident's initial report falls due (and escalates) here


@pytest.fixture
def escalations(session, settings, endpoint, people, open_incident, raise_alerts):
    """``escalations(n)``: n escalations routed to a webhook on loopback, waiting in the outbox."""
    def _queue(n: int) -> None:
        channel = service.create_channel(session=session, now=T0, data={"name": "SOC", "kind": ChannelKind.webhook,
                                                                        "url": endpoint.url, "secret": "s3cret"},
                                         allowed_hosts=("127.0.0.1",))
        service.create_rule(session=session, now=T0, data={"name": "to the SOC", "target": "channel",
                                                           "channel_id": channel.id, "events": ["escalation"]})
        for _ in range(n):
            open_incident(people["reporter"])
        raise_alerts(DUE_AT)
        route_new_notifications(session=session, settings=settings, now=DUE_AT)
        assert _states(session) == {"pending": n}

    return _queue


def _states(session) -> dict[str, int]:
    session.rollback()
    return {s.value: n for s, n in session.execute(
        sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state))}


def _keys(endpoint) -> Counter:
    return Counter(r["headers"]["Idempotency-Key"] for r in endpoint.requests)


def test_a_slow_send_is_not_sent_again_by_another_engine_while_its_sender_renews_the_lease(
        app, session, settings, endpoint, escalations):
    escalations(1)
    settings = dataclasses.replace(settings, lease_seconds=3)  # renewed every second of the clock
    clock = Clock(DUE_AT)
    endpoint.held.clear()  # the receiver takes its time answering
    outcome = {}

    def first_engine():
        with app.app_context():
            outcome["report"] = deliver_due(session=db.session, settings=settings, now_fn=clock, sender_id="engine-a")

    sender = threading.Thread(target=first_engine)
    sender.start()
    try:
        assert wait_for(lambda: len(endpoint.requests) == 1)  # engine A is sending, its lease ends at DUE_AT + 3 s
        clock.advance(seconds=2)
        renewed = DUE_AT + timedelta(seconds=5)
        assert wait_for(lambda: (session.rollback(), session.scalar(sa.select(OutboxMessage.sending_until)))[1] == renewed)
        clock.advance(seconds=2)  # past the first lease, within the renewed one
        other = deliver_due(session=session, settings=settings, now_fn=clock, sender_id="engine-b")
        assert other.sent == 0
    finally:
        endpoint.held.set()
        sender.join(timeout=10)
    assert outcome["report"].sent == 1
    assert list(_keys(endpoint).values()) == [1]  # one post: nobody took the message over
    assert _states(session) == {"sent": 1}


def test_a_crash_repeats_at_most_the_messages_in_flight_each_with_its_key(session, settings, endpoint, escalations):
    escalations(30)
    settings = dataclasses.replace(settings, workers=3, batch_size=40)
    accepted = []

    def killed_at_the_tenth(out):
        accepted.append(out.message_id)
        if len(accepted) == 10:
            raise SystemExit("engine killed after the receiver took its 10th message")

    with pytest.raises(SystemExit):
        deliver_due(session=session, settings=settings, now_fn=lambda: DUE_AT, sender_id="engine-a",
                    after_send=killed_at_the_tenth)
    session.rollback()
    assert set(_states(session)) <= {"sent", "sending"}  # nothing lost: what was not marked is still leased
    # The other engine takes over once the lease ran out; every message arrives, some twice, with the same key.
    after_lease = DUE_AT + timedelta(seconds=settings.lease_seconds + 1)
    deliver_due(session=session, settings=settings, now_fn=lambda: after_lease, sender_id="engine-b")
    keys = _keys(endpoint)
    repeated = sum(n - 1 for n in keys.values())
    assert len(keys) == 30 and _states(session) == {"sent": 30}
    in_flight = settings.workers if session.get_bind().dialect.name != "sqlite" else settings.workers + MARK_EVERY_SQLITE
    assert 1 <= repeated <= in_flight  # PostgreSQL marks each message at once: only those in flight repeat
    assert all(n <= 2 for n in keys.values())


def test_a_sender_told_to_stop_marks_what_it_sent_and_gives_back_the_rest_at_once(session, settings, endpoint,
                                                                                  escalations):
    escalations(5)
    settings = dataclasses.replace(settings, workers=1)
    stopping = lambda: len(endpoint.requests) >= 1  # noqa: E731 - SIGTERM arrives while the first send is out

    report = deliver_due(session=session, settings=settings, now_fn=lambda: DUE_AT, sender_id="engine-a",
                         should_stop=stopping)
    assert (report.sent, report.released) == (1, 4)
    assert _states(session) == {"sent": 1, "pending": 4}
    given_back = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.state == MessageState.pending)).all()
    assert all(m.attempts == 0 and m.claimed_by is None for m in given_back)  # never tried: no attempt counted

    # Another engine sends them at once: no lease to wait out, nothing twice.
    assert deliver_due(session=session, settings=settings, now_fn=lambda: DUE_AT, sender_id="engine-b").sent == 4
    assert sorted(_keys(endpoint).values()) == [1] * 5
