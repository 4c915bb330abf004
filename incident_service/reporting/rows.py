"""The read side of incidents and their clocks: typed rows loaded in a fixed number of queries, which the API
schemas and the page templates only format. Nothing here writes; no query runs while rows are formatted."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from incident_service.errors import NotFound
from incident_service.incidents.figures import figures_for
from incident_service.incidents.models import Incident, Remediation, RemediationStatus
from incident_service.reporting.models import RUNNING_STATES, Deadline, Filing

OPEN_REMEDIATION = (RemediationStatus.planned, RemediationStatus.in_progress, RemediationStatus.done)


@dataclass(frozen=True)
class DeadlineRow:
    """One clock of an incident as of ``now``."""

    id: int
    incident_id: int
    policy: str
    clock: str
    label_zh: str
    label_en: str
    stopped_by: str
    started_at: datetime | None
    due_at: datetime | None
    state: str  # a DeadlineState's value, as of now: a running deadline past its due time is missed
    seconds_left: int | None
    filing_id: int | None
    filed_at: datetime | None
    recorded_at: datetime | None
    reference: str | None
    waived_by: str | None
    waived_at: datetime | None
    waiver_reason: str | None
    justification: str | None
    justified_by: str | None
    justified_at: datetime | None
    # On the board and the deadline list, what the row belongs to.
    incident_title: str | None = None
    incident_severity: int | None = None
    vendor_id: int | None = None
    vendor_name: str | None = None

    @classmethod
    def of(cls, d: Deadline, now: datetime, **incident: Any) -> DeadlineRow:
        filing = d.filing
        return cls(id=d.id, incident_id=d.incident_id, policy=d.policy_key, clock=d.clock_key, label_zh=d.label_zh,
                   label_en=d.label_en, stopped_by=d.stopped_by, started_at=d.started_at, due_at=d.due_at,
                   state=d.state_at(now).value, seconds_left=d.seconds_left(now), filing_id=d.filing_id,
                   filed_at=filing.submitted_at if filing else None, recorded_at=filing.recorded_at if filing else None,
                   reference=filing.reference if filing else None, waived_by=d.waived_by, waived_at=d.waived_at,
                   waiver_reason=d.waiver_reason, justification=d.justification, justified_by=d.justified_by,
                   justified_at=d.justified_at, **incident)


def _deadline_rows_of(session: Session, incident_ids: list[int], now: datetime) -> dict[int, list[DeadlineRow]]:
    """Every deadline of these incidents as rows, in one plain (non-ORM) query: the state as of now is the same rule
    (``Deadline.state_at``) in its SQL form."""
    rows: dict[int, list[DeadlineRow]] = defaultdict(list)
    if not incident_ids:
        return rows
    stmt = (
        sa.select(Deadline.id, Deadline.incident_id, Deadline.policy_key, Deadline.clock_key, Deadline.label_zh,
                  Deadline.label_en, Deadline.stopped_by, Deadline.started_at, Deadline.due_at,
                  Deadline.state_at(now).label("state_now"), Deadline.state, Deadline.filing_id, Filing.submitted_at,
                  Filing.recorded_at, Filing.reference, Deadline.waived_by, Deadline.waived_at, Deadline.waiver_reason,
                  Deadline.justification, Deadline.justified_by, Deadline.justified_at)
        # The filings of these incidents only: else PostgreSQL hashes every filing there is.
        .outerjoin(Filing, sa.and_(Filing.id == Deadline.filing_id, Filing.incident_id.in_(incident_ids)))
        .where(Deadline.incident_id.in_(incident_ids))
        .order_by(Deadline.incident_id, Deadline.due_at.is_(None), Deadline.due_at, Deadline.id)
    )
    for r in session.execute(stmt):
        running = r.state in RUNNING_STATES and r.due_at is not None
        rows[r.incident_id].append(DeadlineRow(
            id=r.id, incident_id=r.incident_id, policy=r.policy_key, clock=r.clock_key, label_zh=r.label_zh,
            label_en=r.label_en, stopped_by=r.stopped_by, started_at=r.started_at, due_at=r.due_at, state=r.state_now,
            seconds_left=math.floor((r.due_at - now).total_seconds()) if running else None, filing_id=r.filing_id,
            filed_at=r.submitted_at, recorded_at=r.recorded_at, reference=r.reference, waived_by=r.waived_by,
            waived_at=r.waived_at, waiver_reason=r.waiver_reason, justification=r.justification,
            justified_by=r.justified_by, justified_at=r.justified_at))
    return rows


@dataclass
class IncidentRow:
    """An incident with its clocks and derived figures; its own fields read through to the record."""

    incident: Incident
    deadlines: list[DeadlineRow]
    derived: dict[str, Any]
    open_remediations: int = 0

    def __getattr__(self, name: str) -> Any:
        if name == "incident":  # not set yet (e.g. while copying): no recursion
            raise AttributeError(name)
        return getattr(self.incident, name)

    @property
    def system_ids(self) -> list[int]:
        return [s.id for s in self.incident.systems]


def with_relations(stmt: sa.Select) -> sa.Select:
    """What a row shows of an incident, loaded with it. Its contract comes with its vendor's contracts (the figures
    load them all at once), so reading ``incident.contract`` afterwards finds it in the session, without a query."""
    return stmt.options(joinedload(Incident.vendor), selectinload(Incident.systems))


def incident_rows(session: Session, incidents: list[Incident], *, now: datetime, zone: ZoneInfo) -> list[IncidentRow]:
    """Rows for these incidents: their deadlines (one query), open remediation counts (one), and their figures."""
    ids = [i.id for i in incidents]
    deadlines = _deadline_rows_of(session, ids, now)
    open_remediations: dict[int, int] = {}
    if ids:
        open_remediations = dict(session.execute(
            sa.select(Remediation.incident_id, sa.func.count()).where(Remediation.incident_id.in_(ids),
                                                                        Remediation.status.in_(OPEN_REMEDIATION))
            .group_by(Remediation.incident_id)).all())
    figures = figures_for(incidents, session=session, now=now, zone=zone)
    return [IncidentRow(incident=i, deadlines=deadlines[i.id], derived=figures[i.id],
                        open_remediations=open_remediations.get(i.id, 0)) for i in incidents]


def incident_row(session: Session, incident_id: int, *, now: datetime, zone: ZoneInfo) -> IncidentRow:
    incident = session.scalar(with_relations(sa.select(Incident).where(Incident.id == incident_id)))
    if incident is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    return incident_rows(session, [incident], now=now, zone=zone)[0]


def incident_page(session: Session, stmt: sa.Select, *, page: int, page_size: int, now: datetime,
                  zone: ZoneInfo) -> tuple[list[IncidentRow], int]:
    """One page of an incident list and the total: a count, the page, and the rows' fixed set of queries."""
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    incidents = session.scalars(with_relations(stmt).offset((page - 1) * page_size).limit(page_size)).unique().all()
    return incident_rows(session, list(incidents), now=now, zone=zone), total


def _deadline_with_incident(d: Deadline, now: datetime) -> DeadlineRow:
    incident = d.incident
    return DeadlineRow.of(d, now, incident_title=incident.title, incident_severity=incident.severity,
                          vendor_id=incident.vendor_id, vendor_name=incident.vendor.name)


def deadline_page(session: Session, stmt: sa.Select, *, page: int, page_size: int, now: datetime) -> tuple[list[DeadlineRow], int]:
    """One page of a deadline list (``deadlines_query``) with each deadline's incident and vendor: two queries."""
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    stmt = stmt.options(sa.orm.contains_eager(Deadline.incident).joinedload(Incident.vendor), joinedload(Deadline.filing))
    found = session.scalars(stmt.offset((page - 1) * page_size).limit(page_size)).unique().all()
    return [_deadline_with_incident(d, now) for d in found], total


def deadline_row(session: Session, deadline_id: int, *, now: datetime) -> DeadlineRow:
    d = session.scalar(sa.select(Deadline).where(Deadline.id == deadline_id).options(
        joinedload(Deadline.incident).joinedload(Incident.vendor), joinedload(Deadline.filing)))
    if d is None:
        raise NotFound(f"Deadline {deadline_id} does not exist.")
    return _deadline_with_incident(d, now)
