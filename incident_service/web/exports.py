"""A vendor's incident history as a table, written as CSV (for Excel: UTF-8 with a BOM) or XLSX."""
from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from incident_service.reporting.pack import csv_bytes, safe_cell


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""


def _flag(value: bool | None) -> str:
    return "" if value is None else (_("Yes") if value else _("No"))


def history_table(history: Any, *, zone: ZoneInfo, zh: bool) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows: one row per incident, one column per clock the vendor's incidents run."""
    clocks = [(c.policy, c.clock, c.label_zh if zh else c.label_en) for c in history.summary.clocks]
    headers = [_("Incident"), _("Aware at"), _("Title"), _("Kind"), _("Severity"), _("Status"),
               _("Outage (min)"), _("RTO breached"), _("Data loss (min)"), _("RPO breached"),
               _("Vendor notification delay (min)"), _("Notification later than contract"), _("Open remediation actions")]
    headers += [f"{label} ({policy})" for policy, _clock, label in clocks]
    headers += [_("Filings (submitted / recorded)"), _("Justifications of misses")]

    def label(d: Any) -> str:
        return d.label_zh if zh else d.label_en

    rows = []
    for item in history.incidents:
        derived = item.derived
        states = {(d.policy, d.clock): d.state for d in item.deadlines}
        justified = [f"{label(d)} ({d.policy}): {d.justification} — {d.justified_by}, {_local(d.justified_at, zone)}"
                     for d in item.deadlines if d.justification]
        filed = [f"{label(d)} ({d.policy}): {_local(d.filed_at, zone)} / {_local(d.recorded_at, zone)}"
                 for d in item.deadlines if d.filed_at]
        rows.append([
            item.id, _local(item.aware_at, zone), item.title, item.kind.value, item.severity, item.status.value,
            derived["outage"]["minutes"], _flag(derived["outage"]["rto_breached"]),
            derived["data_loss"]["minutes"], _flag(derived["data_loss"]["rpo_breached"]),
            derived["vendor_notification"]["delay_minutes"], _flag(derived["vendor_notification"]["breached"]),
            item.open_remediations,
            *[states.get((policy, clock), "") for policy, clock, _label in clocks],
            "; ".join(filed),
            "; ".join(justified),
        ])
    return headers, rows


def to_csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    return csv_bytes(headers, rows)


def to_xlsx(headers: list[str], rows: list[list[Any]], *, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "history"
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([None if v == "" else safe_cell(v) for v in row])
    sheet.freeze_panes = "A2"
    for n, header in enumerate(headers, 1):
        sheet.column_dimensions[get_column_letter(n)].width = max(10, min(40, len(str(header)) * 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
