"""The auditor's pack as a download (``/vendors/<id>/pack?from=&to=``), and how its documents look.

``reporting.pack`` assembles the ZIP; this module gives it the pieces the pages own: the history workbook (the
history export's columns, plus a header block and real date cells) and each incident's printable record rendered
to PDF from the page's own template (``incidents/print.html`` with ``pdf=True``). The API cannot import the web
layer, so these views are also left on the app (``PACK_VIEWS``) for ``api.pack`` to hand in."""
from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.styles import Font
from sqlalchemy.orm import joinedload, selectinload

from incident_service.api_common import actor, catalogues, registry, request_now
from incident_service.auth.decorators import require
from incident_service.auth.permissions import Permission
from incident_service.extensions import db
from incident_service.incidents.figures import figures_for
from incident_service.incidents.models import Incident, TimelineEvent
from incident_service.phrases import N_
from incident_service.reporting import pack
from incident_service.reporting.history import VendorHistory
from incident_service.reporting.models import Deadline, Filing
from incident_service.vendors.models import Contract, ContractSystem
from incident_service.web import exports, wording
from incident_service.web import incident_forms as forms

bp = Blueprint("pack_web", __name__)
PACK_VIEWS = pack.VIEWS_EXTENSION
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


# -- the records as PDF -------------------------------------------------------------------------------

def record_contexts(incident_ids: Sequence[int]) -> dict[int, dict]:
    """``incidents.record_context`` for many incidents at once, in a fixed number of queries: the same keys, so
    the PDF and the printable page render one template from the same values."""
    if not incident_ids:
        return {}
    now, reg = request_now(), registry()
    incidents = db.session.scalars(sa.select(Incident).where(Incident.id.in_(incident_ids)).options(
        joinedload(Incident.vendor), selectinload(Incident.systems), selectinload(Incident.remediations),
        selectinload(Incident.contract).selectinload(Contract.covered).joinedload(ContractSystem.system),
    )).unique().all()
    deadlines, filings, events = defaultdict(list), defaultdict(list), defaultdict(list)
    for d in db.session.scalars(sa.select(Deadline).where(Deadline.incident_id.in_(incident_ids))
                                .options(selectinload(Deadline.filing))
                                .order_by(Deadline.due_at.is_(None), Deadline.due_at, Deadline.id)):
        deadlines[d.incident_id].append(d)
    for f in db.session.scalars(sa.select(Filing).where(Filing.incident_id.in_(incident_ids))
                                .order_by(Filing.submitted_at, Filing.id)):
        filings[f.incident_id].append(f)
    for e in db.session.scalars(sa.select(TimelineEvent).where(TimelineEvent.incident_id.in_(incident_ids))
                                .order_by(TimelineEvent.id)):
        events[e.incident_id].append(e)
    figures = figures_for(list(incidents), session=db.session, now=now, zone=reg.zone)
    criteria = {c.key: (c.label_zh if wording.is_zh() else c.label_en) for c in catalogues().major_criteria.entries}
    field_labels = {name: f.args[0] for name in forms.EDIT_FIELDS
                    if (f := getattr(forms.EditIncidentForm, name, None)) is not None and f.args}
    labels = {"status": forms.STATUS_LABELS, "actions": forms.ACTION_LABELS, "rem_status": forms.REMEDIATION_STATUS_LABELS}
    contexts = {}
    for incident in incidents:
        its_deadlines, its_filings = deadlines[incident.id], filings[incident.id]
        by_id, filed = {d.id: d for d in its_deadlines}, {f.id: f for f in its_filings}
        contexts[incident.id] = {
            "incident": incident, "deadlines": its_deadlines, "now": now, "filings": its_filings,
            "states": {d.id: d.state_at(now).value for d in its_deadlines},
            "figures": figures[incident.id],
            "criteria_labels": criteria,
            "timeline": [(e, wording.timeline_line(e, deadlines=by_id, filings=filed, field_labels=field_labels))
                         for e in events[incident.id]],
            "labels": labels,
            "firm_name": current_app.config.get("FIRM_NAME", ""),
        }
    return contexts


@cache
def _print_css(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _html_class():
    """WeasyPrint's HTML, loaded when first needed: it needs Pango from the system, which a server may lack."""
    try:
        from weasyprint import HTML  # noqa: PLC0415 - an optional system library, not a cycle
    except (OSError, ImportError) as error:
        current_app.logger.warning("the auditor's pack cannot render PDFs: %s", error)
        raise pack.PdfUnavailable(N_("PDFs cannot be made here: WeasyPrint or its Pango library is not installed.")) from error
    return HTML


def record_pdfs(incident_ids: Sequence[int]) -> dict[int, bytes]:
    html_class = _html_class()
    css = _print_css(str(Path(current_app.static_folder) / "print.css"))
    return {incident_id: html_class(string=render_template("incidents/print.html", pdf=True, print_css=css, **context),
                                    base_url=current_app.static_folder).write_pdf()
            for incident_id, context in record_contexts(incident_ids).items()}


# -- the history as a workbook ------------------------------------------------------------------------

def history_xlsx(history: VendorHistory, header: pack.PackHeader) -> bytes:
    """The history export's workbook (``web.exports``), with awareness as real date cells in the firm's zone and a
    header block above the table: vendor, period, zone, exported by and when."""
    zone = header.zone
    headers, rows = exports.history_table(history, zone=zone, zh=wording.is_zh())
    aware = headers.index(_("Aware at"))
    headers[aware] = f"{headers[aware]} ({zone.key})"
    for row, item in zip(rows, history.incidents, strict=True):
        row[aware] = item.aware_at.astimezone(zone).replace(tzinfo=None)  # Excel holds no zone: it is stated above
    book = load_workbook(io.BytesIO(exports.to_xlsx(headers, rows, title=header.vendor_name)))
    sheet = book.active
    block = [
        (_("Vendor"), header.vendor_name, None),
        (_("Period"), header.period.first_day, header.period.last_day),
        (_("Time zone"), zone.key, None),
        (_("Exported by"), header.exported_by, None),
        (_("Exported at"), header.exported_at.astimezone(zone).replace(tzinfo=None), None),
    ]
    sheet.insert_rows(1, amount=len(block) + 1)
    for n, (label, value, more) in enumerate(block, 1):
        sheet.cell(n, 1, label).font = Font(bold=True)
        for column, cell_value in ((2, value), (3, more)):
            if cell_value is None:
                continue
            cell = sheet.cell(n, column, pack.safe_cell(cell_value) if isinstance(cell_value, str) else cell_value)
            if not isinstance(cell_value, str):
                cell.number_format = DATETIME_FORMAT if hasattr(cell_value, "hour") else DATE_FORMAT
    table_top = len(block) + 2
    for cell in sheet[table_top]:
        cell.font = Font(bold=True)
    for (cell,) in sheet.iter_rows(min_row=table_top + 1, min_col=aware + 1, max_col=aware + 1):
        cell.number_format = DATETIME_FORMAT
    sheet.freeze_panes = f"A{table_top + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


VIEWS = pack.PackViews(
    history_xlsx=history_xlsx,
    record_pdfs=record_pdfs,
    policy_name=wording.policy_title,
    report_name=wording.report_name,
    remediation_action=lambda key: str(forms.ACTION_LABELS.get(key, key)),
    remediation_status=lambda key: str(forms.REMEDIATION_STATUS_LABELS.get(key, key)),
)


@bp.record_once
def _leave_views_on_the_app(state) -> None:
    state.app.extensions[PACK_VIEWS] = VIEWS


def download(vendor_id: int, period: pack.Period) -> Response:
    """The pack as an attachment: the request's audit records every attachment as an export (who, the vendor, and
    the period in its query)."""
    config = current_app.config
    built = pack.auditor_pack(session=db.session, vendor_id=vendor_id, period=period, now=request_now(),
                              zone=registry().zone, registry=registry(), exported_by=actor()[0], views=VIEWS,
                              anchor_dir=config["AUDIT_ANCHOR_DIR"], anchor_key=config["AUDIT_ANCHOR_KEY"])
    return Response(built.body, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{built.filename}"'})


@bp.get("/vendors/<int:vendor_id>/pack")
@require(Permission.export)
def vendor_pack(vendor_id: int):
    """The auditor's pack of one vendor over a period; a wrong period gets the error page (422) naming the field."""
    return download(vendor_id, pack.Period.parse(request.args))
