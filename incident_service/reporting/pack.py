"""The auditor's pack: one ZIP per vendor and period, for an inspection or a vendor review.

It holds the vendor's history (``history.xlsx``), every incident aware in the period as its printable record
(``incidents/<id>.pdf``), their filings and remediation actions (CSV), the audit-trail excerpt with each entry's
hashes (``audit.csv``), the result of the trail's verification (the check of ``flask audit verify``) and a
``README.txt`` listing every file with its SHA-256.

The web page and the API call ``auditor_pack`` alike. How the workbook and the records *look* (the record's
template, the page's language) belongs to the web layer, above this one: the caller hands those renderers in as
``PackViews``. Loading is a fixed number of queries whatever the number of incidents.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.api_common import StrictSchema
from incident_service.audit import anchors, chain
from incident_service.audit.models import AuditEntry
from incident_service.errors import DomainError, ValidationFailed
from incident_service.incidents.models import Incident, Remediation, TimelineEvent
from incident_service.incidents.service import incidents_query
from incident_service.phrases import N_
from incident_service.reporting.history import VendorHistory, vendor_history
from incident_service.reporting.models import Deadline, Filing
from incident_service.reporting.policy import PolicyRegistry
from incident_service.timerange import in_range
from incident_service.vendors.models import Contract

MAX_YEARS = 5
VIEWS_EXTENSION = "auditor_pack_views"  # app.extensions: the PackViews the web layer leaves for the API
AUDIT_COLUMNS = ("seq", "at", "actor", "actor_id", "action", "record_type", "record_id", "old_values", "new_values",
                 "details", "prev_hash", "hash")
FILING_COLUMNS = ("incident", "policy", "policy_name", "kind", "report", "submitted_at", "recorded_at", "reference",
                  "submitted_by", "recorded_by")
REMEDIATION_COLUMNS = ("incident", "action", "action_name", "title", "owner", "due_on", "status", "status_name",
                       "evidence", "completed_by", "completed_at", "verified_by", "verified_at")


class PdfUnavailable(DomainError):
    """WeasyPrint (or the Pango it loads) is not installed: the pack cannot hold the records."""

    status = 503
    code = "pdf_unavailable"


# -- the period ---------------------------------------------------------------------------------------

def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class _PeriodRules(StrictSchema):
    @ma.validates_schema
    def _period(self, data, **kwargs):
        first, last = data.get("from"), data.get("to")
        if first is None or last is None or not (in_range(first) and in_range(last)):
            return  # the fields' own messages say it
        if last < first:
            raise ma.ValidationError({"to": [N_("The end of the period cannot precede its start.")]})
        if last >= _years_later(first, MAX_YEARS):
            raise ma.ValidationError({"to": [N_("A pack covers at most 5 years: choose a shorter period.")]})


# ``from`` is a Python keyword, so the fields are declared by name: the errors then name them as sent.
PackQuerySchema = _PeriodRules.from_dict({
    "from": ma.fields.Date(required=True, metadata={"description": "first day of the period (the firm's zone), "
                                                                   "e.g. 2026-01-01"}),
    "to": ma.fields.Date(required=True, metadata={"description": "last day of the period, included; at most "
                                                                 f"{MAX_YEARS} years after `from`"}),
}, name="PackQuerySchema")


@dataclass(frozen=True)
class Period:
    """Whole days in the firm's zone, both included."""

    first_day: date
    last_day: date

    @classmethod
    def parse(cls, args: dict[str, Any]) -> Period:
        """From query arguments as typed (strings); ``ValidationFailed`` names each wrong field."""
        try:
            data = PackQuerySchema().load({k: args[k] for k in ("from", "to") if k in args})
        except ma.ValidationError as error:
            raise ValidationFailed(error.normalized_messages()) from error
        return cls(data["from"], data["to"])

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start of the first day, start of the day after the last) as UTC instants."""
        start = datetime.combine(self.first_day, time(), zone).astimezone(UTC)
        end = datetime.combine(self.last_day + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, end

    def __str__(self) -> str:
        return f"{self.first_day.isoformat()} – {self.last_day.isoformat()}"


# -- what the caller provides -------------------------------------------------------------------------

@dataclass(frozen=True)
class PackHeader:
    """What the workbook's header block and the README state."""

    vendor_name: str
    period: Period
    zone: ZoneInfo
    exported_by: str
    exported_at: datetime


@dataclass(frozen=True)
class PackViews:
    """The pack's documents as the pages show them, in the reader's language (from the web layer)."""

    history_xlsx: Callable[[VendorHistory, PackHeader], bytes]  # the history export's workbook, with the header block
    record_pdfs: Callable[[Sequence[int]], dict[int, bytes]]  # incident id → its printable record as PDF
    policy_name: Callable[[str], str]
    report_name: Callable[[str, str], str]  # (filing kind, policy) → the report's name
    remediation_action: Callable[[str], str]
    remediation_status: Callable[[str], str]


@dataclass(frozen=True)
class Pack:
    filename: str
    body: bytes
    files: list[tuple[str, str]]  # (name in the ZIP, SHA-256), README.txt last


# -- the files ----------------------------------------------------------------------------------------

def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @) is kept as text, as in the history export."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")  # UTF-8 with a BOM: Excel reads it as such


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    """ISO 8601 in the firm's zone with its offset, e.g. 2026-11-21T02:10:00+08:00."""
    return value.astimezone(zone).isoformat(timespec="seconds") if value else ""


def _enum(value: Any) -> str:
    return getattr(value, "value", value) or ""


def filingscsv_bytes(filings: Sequence[Filing], *, zone: ZoneInfo, views: PackViews) -> bytes:
    return csv_bytes(FILING_COLUMNS, ([
        f.incident_id, f.policy_key, views.policy_name(f.policy_key), f.kind, views.report_name(f.kind, f.policy_key),
        _local(f.submitted_at, zone), _local(f.recorded_at, zone), f.reference, f.submitted_by, f.recorded_by,
    ] for f in filings))


def remediationcsv_bytes(actions: Sequence[Remediation], *, zone: ZoneInfo, views: PackViews) -> bytes:
    return csv_bytes(REMEDIATION_COLUMNS, ([
        r.incident_id, _enum(r.action), views.remediation_action(_enum(r.action)), r.title, r.owner,
        r.due_on.isoformat(), _enum(r.status), views.remediation_status(_enum(r.status)), r.evidence, r.completed_by,
        _local(r.completed_at, zone), r.verified_by, _local(r.verified_at, zone),
    ] for r in actions))


def _audit_value(value: Any) -> Any:
    if isinstance(value, datetime):  # as the trail's own export and its hash: UTC
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def auditcsv_bytes(entries: Sequence[Any]) -> bytes:
    # No formula guard here: the values are the ones each hash covers, to be checked as they are.
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    writer.writerows(["" if (v := _audit_value(getattr(e, c))) is None else v for c in AUDIT_COLUMNS] for e in entries)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def verification_text(verdict: chain.Verdict, *, known: dict[int, str], problems: list[str], excerpt: int,
                      now: datetime, zone: ZoneInfo) -> str:
    """The verdict as ``flask audit verify`` words it, for the pack."""
    lines = [f"Audit trail verification (as `flask audit verify`), at {_local(now, zone)} ({zone.key})", ""]
    if verdict.ok and not problems:
        lines.append(f"Result: INTACT. {verdict.checked} entries, every hash and link holds"
                     + (f"; {len(known)} signed checkpoint(s) agree." if known else "."))
        lines.append(f"Chain head: entry #{verdict.head_seq}, hash {verdict.head_hash}")
    elif not verdict.ok:
        where = f"entry #{verdict.broken_seq}" + (f" (row id {verdict.broken_id})" if verdict.broken_id else "")
        lines.append(f"Result: BROKEN at {where}: {verdict.reason}. {verdict.checked} entries before it are intact.")
    else:
        lines.append(f"Result: NOT TRUSTED. {verdict.checked} entries hold, but some checkpoint files cannot be "
                     "trusted:")
    lines += [f"Checkpoint refused: {p}" for p in problems]
    lines += ["", f"The excerpt (audit.csv) holds {excerpt} entries of this chain. Each entry's hash is SHA-256 over "
              "the canonical JSON of its fields and the previous entry's hash (prev_hash)."]
    return "\n".join(lines) + "\n"


def readme_text(header: PackHeader, files: list[tuple[str, str, int]], *, incidents: int) -> str:
    lines = [
        "Auditor's pack",
        f"Vendor: {header.vendor_name}",
        f"Period: {header.period} (incidents whose awareness falls in these days, {header.zone.key})",
        f"Times: {header.zone.key} (UTC in audit.csv, as the trail stores and hashes them)",
        f"Exported by: {header.exported_by}",
        f"Exported at: {_local(header.exported_at, header.zone)}",
        f"Incidents: {incidents}",
        "",
        "history.xlsx      the vendor's history for the period: one row per incident, its clocks and figures",
        "incidents/<id>.pdf  each incident's printable record",
        "filings.csv       every filing of those incidents (stated submission time and recording time)",
        "remediation.csv   their remediation actions: owner, due date, status, evidence, verification",
        "audit.csv         the audit trail of those incidents (and their deadlines, filings, remediation, timeline),",
        "                  and of the vendor and its contracts in the period, with each entry's hash and prev_hash",
        "audit-verify.txt  the verification of the whole trail when the pack was made",
        "",
        "SHA-256 of each file:",
    ]
    lines += [f"{digest}  {name}  ({size} bytes)" for name, digest, size in files]
    return "\n".join(lines) + "\n"


# -- loading ------------------------------------------------------------------------------------------

def _ids_of(model: Any, incidents: sa.Select) -> sa.Select:
    return sa.select(model.id).where(model.incident_id.in_(incidents))


def _about(table: str, ids: sa.Select) -> sa.ColumnElement[bool]:
    """The trail's entries about these rows (``ids`` selects their primary keys): by ``record_id``, or, for a row's
    creation (recorded before the row had its identity), by the ``id`` among its new values. Subqueries, not lists:
    five years of a vendor's deadlines and timeline events would pass the drivers' limit on parameters."""
    keys = ids.subquery()
    return sa.and_(AuditEntry.record_type == table, sa.or_(
        AuditEntry.record_id.in_(sa.select(sa.cast(keys.c[0], sa.String(80)))),
        sa.and_(AuditEntry.record_id.is_(None), AuditEntry.new_values["id"].as_integer().in_(sa.select(keys.c[0])))))


def _trail(session: Session, *, vendor_id: int, start: datetime, end: datetime,
           known: dict[int, str]) -> tuple[list[sa.Row], chain.Verdict]:
    """The excerpt, oldest first: every entry about the incidents aware in [start, end) and their deadlines, filings,
    remediation and timeline, whenever it was written; those about the vendor and its contracts written in the period.
    With the verdict over the whole chain, both read in one snapshot of the trail (in a session of their own: the
    request's transaction has begun already)."""
    incidents = incidents_query(vendor_id=vendor_id, aware_from=start, aware_to=end).with_only_columns(Incident.id).order_by(None)
    in_period = sa.and_(AuditEntry.at >= start, AuditEntry.at < end)
    scoped = [
        _about("incidents", incidents),
        *(_about(table, _ids_of(model, incidents)) for table, model in (
            ("deadlines", Deadline), ("filings", Filing), ("remediations", Remediation), ("timeline_events", TimelineEvent))),
        sa.and_(_about("vendors", sa.select(sa.literal(vendor_id))), in_period),
        sa.and_(_about("contracts", sa.select(Contract.id).where(Contract.vendor_id == vendor_id)), in_period),
    ]
    columns = [getattr(AuditEntry, c) for c in AUDIT_COLUMNS]
    with Session(bind=session.get_bind()) as snap:
        chain.snapshot(snap)
        entries = list(snap.execute(sa.select(*columns).where(sa.or_(*scoped)).order_by(AuditEntry.seq)))
        verdict = chain.verify(snap, checkpoints=known)
        snap.rollback()
    return entries, verdict


def auditor_pack(*, session: Session, vendor_id: int, period: Period, now: datetime, zone: ZoneInfo,
                 registry: PolicyRegistry, exported_by: str, views: PackViews, anchor_dir: str | Path,
                 anchor_key: str) -> Pack:
    """The pack of ``vendor_id`` over ``period`` as of ``now``. Reads only (the download itself is recorded in the
    trail by the request's audit, as every export is)."""
    start, end = period.bounds(zone)
    history = vendor_history(session=session, vendor_id=vendor_id, now=now, zone=zone, registry=registry,
                             aware_from=start, aware_to=end, page_size=None)
    header = PackHeader(vendor_name=history.vendor.name, period=period, zone=zone, exported_by=exported_by,
                        exported_at=now)
    incident_ids = sorted(item.id for item in history.incidents)
    pdfs = views.record_pdfs(incident_ids)  # first: without WeasyPrint, nothing else is worth loading
    filings = list(session.scalars(sa.select(Filing).where(Filing.incident_id.in_(incident_ids))
                                   .order_by(Filing.incident_id, Filing.submitted_at, Filing.id))) if incident_ids else []
    actions = list(session.scalars(sa.select(Remediation).where(Remediation.incident_id.in_(incident_ids))
                                   .order_by(Remediation.incident_id, Remediation.due_on, Remediation.id))) if incident_ids else []
    reading = anchors.read(anchor_dir, anchor_key)
    known, disagreements = anchors.checkpoints(reading.anchors)
    entries, verdict = _trail(session, vendor_id=vendor_id, start=start, end=end, known=known)

    files: list[tuple[str, bytes]] = [("history.xlsx", views.history_xlsx(history, header))]
    files += [(f"incidents/{i}.pdf", pdfs[i]) for i in incident_ids]
    files += [
        ("filings.csv", filingscsv_bytes(filings, zone=zone, views=views)),
        ("remediation.csv", remediationcsv_bytes(actions, zone=zone, views=views)),
        ("audit.csv", auditcsv_bytes(entries)),
        ("audit-verify.txt", verification_text(verdict, known=known, problems=reading.problems + disagreements,
                                               excerpt=len(entries), now=now, zone=zone).encode("utf-8")),
    ]
    listed = [(name, hashlib.sha256(body).hexdigest(), len(body)) for name, body in files]
    files.append(("README.txt", readme_text(header, listed, incidents=len(incident_ids)).encode("utf-8")))

    stamp = now.astimezone(zone).replace(tzinfo=None).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in files:
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), body, compress_type=zipfile.ZIP_DEFLATED)
    filename = f"vendor-{vendor_id}-pack-{period.first_day:%Y%m%d}-{period.last_day:%Y%m%d}.zip"
    return Pack(filename=filename, body=out.getvalue(),
                files=[(name, digest) for name, digest, _size in listed] + [("README.txt", hashlib.sha256(files[-1][1]).hexdigest())])
