"""The read side of a vendor's page, tab by tab: each loader reads what its tab shows in a fixed number of queries
and returns typed values that the templates only format."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from incident_service.incidents.models import Incident
from incident_service.reporting.duties import duties_query
from incident_service.reporting.figures import VendorSummary, vendor_summaries
from incident_service.reporting.models import Deadline
from incident_service.vendors.access import Finding, open_findings
from incident_service.vendors.assessments import Concentration, VendorAssessment, concentration, last_approved
from incident_service.vendors.catalogues import ClauseCatalogue
from incident_service.vendors.changes import ChangeState, VendorChange, changes_query
from incident_service.vendors.clauses import ClauseRow, clause_rows
from incident_service.vendors.models import Contract, Vendor
from incident_service.vendors.termination import Termination

TAB_LIMIT = 200  # rows a tab lists; the API pages through the rest


@dataclass(frozen=True)
class VendorOverview:
    vendor: Vendor
    summary: VendorSummary
    last_assessment: VendorAssessment | None
    assessment_age_days: int | None
    pending_assessments: int
    concentration: Concentration
    findings: list[Finding]
    open_duties: list[Deadline]
    terminations: list[Termination]  # contracts being ended, until their checklist is complete
    changes_waiting: int


def vendor_overview(session: Session, *, vendor: Vendor, now: datetime, zone: ZoneInfo, clock_order) -> VendorOverview:
    today = now.astimezone(zone).date()
    summary = vendor_summaries(session=session, now=now, zone=zone, vendor_ids=[vendor.id],
                               clock_order=clock_order)[vendor.id]
    last = last_approved(session, vendor_id=vendor.id)
    pending = session.scalar(sa.select(sa.func.count()).select_from(VendorAssessment).where(
        VendorAssessment.vendor_id == vendor.id, VendorAssessment.approved_at.is_(None)))
    waiting = session.scalar(sa.select(sa.func.count()).select_from(VendorChange).where(
        VendorChange.vendor_id == vendor.id, VendorChange.state == ChangeState.proposed))
    terminations = list(session.scalars(sa.select(Termination).where(Termination.vendor_id == vendor.id,
                                                                     Termination.completed_at.is_(None))
                                        .order_by(Termination.ends_on)))
    return VendorOverview(
        vendor=vendor, summary=summary, last_assessment=last,
        assessment_age_days=last.age_days(today) if last else None, pending_assessments=pending or 0,
        concentration=concentration(session, vendor_id=vendor.id, on=today),
        findings=open_findings(session, vendor_id=vendor.id, today=today),
        open_duties=list(session.scalars(duties_query(now=now, vendor_id=vendor.id, state="open").limit(TAB_LIMIT))),
        terminations=terminations, changes_waiting=waiting or 0)


@dataclass(frozen=True)
class ContractClauses:
    contract: Contract
    rows: list[ClauseRow]

    @property
    def gaps(self) -> list[ClauseRow]:
        return [row for row in self.rows if row.is_gap]


def vendor_contracts(session: Session, *, vendor_id: int, catalogue: ClauseCatalogue) -> list[ContractClauses]:
    """The vendor's contracts, each with every clause of the catalogue as recorded (clauses and covered systems come
    with the contracts: three queries whatever the count)."""
    contracts = session.scalars(sa.select(Contract).where(Contract.vendor_id == vendor_id)
                                .options(selectinload(Contract.clauses), selectinload(Contract.covered))
                                .order_by(Contract.starts_on.desc(), Contract.id.desc())).all()
    return [ContractClauses(contract=c, rows=clause_rows(c, catalogue)) for c in contracts]


def all_contract_gaps(session: Session, *, catalogue: ClauseCatalogue, active_on: date | None = None,
                      vendor_id: int | None = None, only_gaps: bool = True) -> list[ContractClauses]:
    """The gap report: every contract (in force on a day, of a vendor, or all) that owes a clause it does not show
    (or every contract, ``only_gaps=False``). Four queries whatever the count."""
    stmt = sa.select(Contract).options(selectinload(Contract.clauses), selectinload(Contract.covered),
                                       selectinload(Contract.vendor)).order_by(Contract.vendor_id, Contract.starts_on)
    if vendor_id is not None:
        stmt = stmt.where(Contract.vendor_id == vendor_id)
    if active_on is not None:
        stmt = stmt.where(Contract.starts_on <= active_on,
                          sa.or_(Contract.ends_on.is_(None), Contract.ends_on >= active_on))
    rows = [ContractClauses(contract=c, rows=clause_rows(c, catalogue)) for c in session.scalars(stmt)]
    return [r for r in rows if r.gaps or not only_gaps]


@dataclass(frozen=True)
class ChangeRow:
    change: VendorChange
    incidents: list[tuple[int, str]]  # (id, title) of the incidents it caused


def vendor_changes(session: Session, *, vendor_id: int) -> list[ChangeRow]:
    """The vendor's changes, latest planned first, each with the incidents it caused (two queries)."""
    changes = list(session.scalars(changes_query(vendor_id=vendor_id).limit(TAB_LIMIT)))
    caused: dict[int, list[tuple[int, str]]] = {}
    if changes:
        for change_id, incident_id, title in session.execute(
                sa.select(Incident.caused_by_change_id, Incident.id, Incident.title)
                .where(Incident.caused_by_change_id.in_([c.id for c in changes])).order_by(Incident.id)):
            caused.setdefault(change_id, []).append((incident_id, title))
    return [ChangeRow(change=c, incidents=caused.get(c.id, [])) for c in changes]
