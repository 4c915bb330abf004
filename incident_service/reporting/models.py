"""Deadline (one clock of one incident), Filing, the alert instants the engine claims, and Notification."""
from __future__ import annotations

import enum
import math
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incident_service.extensions import db
from incident_service.incidents.models import Incident
from incident_service.vendors.duties import VendorDuty


class DeadlineState(str, enum.Enum):
    waiting = "waiting"  # its start event has not happened yet (e.g. recovery, an earlier filing)
    pending = "pending"
    met = "met"
    met_late = "met_late"
    missed = "missed"
    waived = "waived"  # a supervisor recorded why no filing is owed
    withdrawn = "withdrawn"  # the clock no longer applies (e.g. trading turned out unaffected)


OPEN_STATES = (DeadlineState.waiting, DeadlineState.pending, DeadlineState.missed)
RUNNING_STATES = (DeadlineState.pending, DeadlineState.missed)
DONE_STATES = (DeadlineState.met, DeadlineState.met_late)


class Deadline(db.Model):
    """One clock: of an incident (a report owed to a regulator) or of a vendor duty (an audit, a review, ...)."""

    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    duty_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendor_duties.id", ondelete="CASCADE"), unique=True)
    policy_key: Mapped[str] = mapped_column(sa.String(40))
    clock_key: Mapped[str] = mapped_column(sa.String(40))
    label_zh: Mapped[str] = mapped_column(sa.String(100))
    label_en: Mapped[str] = mapped_column(sa.String(100))
    stopped_by: Mapped[str] = mapped_column(sa.String(40))
    started_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    # Stored state; "missed" is also read off the clock (pending and past due) so a slow engine never
    # makes a read wrong.
    state: Mapped[DeadlineState] = mapped_column(sa.Enum(DeadlineState, native_enum=False, length=20), index=True)
    filing_id: Mapped[int | None] = mapped_column(sa.ForeignKey("filings.id"))
    waived_by: Mapped[str | None] = mapped_column(sa.String(120))
    waived_at: Mapped[datetime | None]
    waiver_reason: Mapped[str | None] = mapped_column(sa.Text)
    # After the due time a miss cannot be waived, only explained: the justification shows beside the miss.
    justification: Mapped[str | None] = mapped_column(sa.Text)
    justified_by: Mapped[str | None] = mapped_column(sa.String(120))
    justified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    incident: Mapped[Incident | None] = relationship(lazy="joined")
    duty: Mapped[VendorDuty | None] = relationship(lazy="joined")
    filing: Mapped[Filing | None] = relationship(foreign_keys=[filing_id])

    __table_args__ = (
        sa.CheckConstraint("(incident_id IS NULL) <> (duty_id IS NULL)", name="one_subject"),
        sa.UniqueConstraint("incident_id", "policy_key", "clock_key", name="uq_deadlines_clock"),
        sa.Index("ix_deadlines_state_due", "state", "due_at"),
        # The board's "met in the last half hour" rows.
        sa.Index("ix_deadlines_state_updated", "state", "updated_at"),
    )

    # -- the one home of "overdue": a running deadline past its due time is missed, even before the engine ran --

    @hybrid_method
    def state_at(self, now: datetime) -> DeadlineState:
        """The state as of ``now`` (in Python on a row, or as SQL on the table: the same rule)."""
        if self.state in RUNNING_STATES and self.due_at is not None:
            return DeadlineState.missed if now > self.due_at else DeadlineState.pending
        return self.state

    @state_at.expression
    def state_at(cls, now: datetime) -> sa.ColumnElement[str]:
        raw = sa.type_coerce(cls.state, sa.String)
        running = sa.and_(cls.state.in_(RUNNING_STATES), cls.due_at.is_not(None))
        return sa.case((sa.and_(running, cls.due_at < now), DeadlineState.missed.value),
                       (running, DeadlineState.pending.value), else_=raw)

    @classmethod
    def in_state(cls, state: DeadlineState, now: datetime) -> sa.ColumnElement[bool]:
        """``state_at(now) == state`` written so the (state, due_at) index serves it."""
        if state == DeadlineState.pending:
            return sa.and_(cls.state.in_(RUNNING_STATES), cls.due_at >= now)
        if state == DeadlineState.missed:
            return sa.and_(cls.state.in_(RUNNING_STATES), cls.due_at < now)
        return cls.state == state

    def seconds_left(self, now: datetime) -> int | None:
        """Whole seconds to the due time (negative once overdue); None when the clock is stopped or not started."""
        if self.due_at is None or self.state not in RUNNING_STATES:
            return None
        return math.floor((self.due_at - now).total_seconds())


class Filing(db.Model):
    """A report the firm filed (to the exchange, the regulator, the public)."""

    __tablename__ = "filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))  # initial, formal, closure, public_notice, ...
    policy_key: Mapped[str] = mapped_column(sa.String(40))  # the regulator's policy it went to; stops only its clock
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[str] = mapped_column(sa.String(120))
    reference: Mapped[str | None] = mapped_column(sa.String(120))
    text: Mapped[str | None] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime]  # when it was entered here; kept beside the stated submission time
    recorded_by: Mapped[str] = mapped_column(sa.String(120))

    incident: Mapped[Incident] = relationship(viewonly=True)


class AlertStage(str, enum.Enum):
    warning = "warning"  # before the due time, to the reporter
    escalation = "escalation"  # at the due time with no filing, to supervisors


class AlertState(str, enum.Enum):
    scheduled = "scheduled"
    fired = "fired"
    cancelled = "cancelled"  # the deadline was met, waived, withdrawn or moved
    skipped = "skipped"  # already past when scheduled, or overtaken by a later alert of the same deadline


class DeadlineAlert(db.Model):
    """One instant at which the engine must warn or escalate. The engine claims due rows atomically."""

    __tablename__ = "deadline_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(sa.ForeignKey("deadlines.id", ondelete="CASCADE"), index=True)
    stage: Mapped[AlertStage] = mapped_column(sa.Enum(AlertStage, native_enum=False, length=20))
    offset_minutes: Mapped[int]  # before the due time; 0 for the escalation
    due_at: Mapped[datetime]  # the due time this alert belongs to: a moved deadline gets new alerts
    fire_at: Mapped[datetime]
    state: Mapped[AlertState] = mapped_column(sa.Enum(AlertState, native_enum=False, length=20))
    fired_at: Mapped[datetime | None]
    fired_by: Mapped[str | None] = mapped_column(sa.String(120))

    deadline: Mapped[Deadline] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("deadline_id", "stage", "offset_minutes", "due_at", name="uq_deadline_alerts_instant"),
        # The engine's claim query reads only scheduled rows by fire time.
        sa.Index(
            "ix_deadline_alerts_due",
            "fire_at",
            postgresql_where=sa.text("state = 'scheduled'"),
            sqlite_where=sa.text("state = 'scheduled'"),
        ),
    )


class Notification(db.Model):
    """A warning or escalation raised by the engine: the outbox that delivery channels work from."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("deadline_alerts.id"), unique=True)  # never twice
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    duty_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendor_duties.id", ondelete="CASCADE"), index=True)
    vendor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    deadline_id: Mapped[int] = mapped_column(sa.ForeignKey("deadlines.id", ondelete="CASCADE"), index=True)
    policy_key: Mapped[str] = mapped_column(sa.String(40))
    clock_key: Mapped[str] = mapped_column(sa.String(40))
    stage: Mapped[AlertStage] = mapped_column(sa.Enum(AlertStage, native_enum=False, length=20), index=True)
    audience: Mapped[list] = mapped_column(sa.JSON)  # ["reporter"], ["reporter", "supervisors"]
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    due_at: Mapped[datetime]
    fire_at: Mapped[datetime]  # when it should have fired
    created_at: Mapped[datetime] = mapped_column(index=True)  # when it did
    seconds_left: Mapped[int]  # at creation; negative when overdue
    message_en: Mapped[str] = mapped_column(sa.String(500))
    message_zh: Mapped[str] = mapped_column(sa.String(500))

    incident: Mapped[Incident] = relationship()
