"""A vendor's history, for auditors: the figures of the period (SQL aggregates, ``reporting.figures``) and its
incidents, a page at a time, each with its clocks and figures (``reporting.rows``). A fixed number of queries
whatever the number of incidents."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from incident_service.incidents.service import incidents_query
from incident_service.reporting.figures import VendorSummary, clock_order, vendor_summaries
from incident_service.reporting.policy import PolicyRegistry
from incident_service.reporting.rows import IncidentRow, incident_page
from incident_service.vendors.models import Vendor
from incident_service.vendors.service import get_vendor


@dataclass
class VendorHistory:
    vendor: Vendor
    aware_from: datetime | None
    aware_to: datetime | None
    summary: VendorSummary
    incidents: list[IncidentRow]  # the page asked for
    total: int  # incidents in the period


def vendor_history(*, session: Session, vendor_id: int, now: datetime, zone: ZoneInfo, registry: PolicyRegistry | None = None,
                   aware_from: datetime | None = None, aware_to: datetime | None = None, page: int = 1,
                   page_size: int | None = 50) -> VendorHistory:
    """The vendor's figures over the incidents aware in [aware_from, aware_to), and one page of those incidents
    (newest first; ``page_size=None`` for all of them, as the exports want)."""
    vendor = get_vendor(session=session, vendor_id=vendor_id)
    summary = vendor_summaries(session=session, now=now, zone=zone, vendor_ids=[vendor_id], aware_from=aware_from,
                               aware_to=aware_to, clock_order=clock_order(registry) if registry else None,
                               with_availability=True)[vendor_id]
    stmt = incidents_query(vendor_id=vendor_id, aware_from=aware_from, aware_to=aware_to)
    size = page_size or max(summary.incidents, 1)
    rows, total = incident_page(session, stmt, page=page if page_size else 1, page_size=size, now=now, zone=zone)
    return VendorHistory(vendor=vendor, aware_from=aware_from, aware_to=aware_to, summary=summary, incidents=rows, total=total)
