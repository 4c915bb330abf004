"""Deadline (one clock of one incident), Filing, the alert instants the engine claims, and Notification."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incident_service.extensions import db
from incident_service.incidents.models import Incident


class DeadlineState(str, enum.Enum):
    waiting = "waiting"  # its start event has not happened yet (e.g. recovery, an earlier filing)
    pending = "pending"
    met = "met"
    met_late = "met_late"
    missed = "missed"
    waived = "waived"  # a supervisor recorded why no filing is owed
    withdrawn = "withdrawn"  # the clock no longer applies (e.g. trading turned out unaffected)


OPEN_STATES = (DeadlineState.waiting, DeadlineState.pending, DeadlineState.missed)


class Deadline(db.Model):
    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
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
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    incident: Mapped[Incident] = relationship(lazy="joined")
    filing: Mapped[Filing | None] = relationship(foreign_keys=[filing_id])

    __table_args__ = (
        sa.UniqueConstraint("incident_id", "policy_key", "clock_key", name="uq_deadlines_clock"),
        sa.Index("ix_deadlines_state_due", "state", "due_at"),
    )


class Filing(db.Model):
    """A report the firm filed (to the exchange, the regulator, the public)."""

    __tablename__ = "filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))  # initial, formal, closure, public_notice, ...
    policy_key: Mapped[str | None] = mapped_column(sa.String(40))  # None: stops the kind in every policy
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[str] = mapped_column(sa.String(120))
    reference: Mapped[str | None] = mapped_column(sa.String(120))
    text: Mapped[str | None] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(sa.String(120))


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
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
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
