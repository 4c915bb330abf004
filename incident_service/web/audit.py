"""The audit trail's page and CSV export (auditors); the API endpoint is api/audit.py."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request
from flask_babel import lazy_gettext as _l

from incident_service.api_common import registry
from incident_service.audit.service import CSV_COLUMNS, entries_query
from incident_service.auth.decorators import require
from incident_service.auth.permissions import Permission
from incident_service.extensions import db
from incident_service.timerange import in_range
from incident_service.web.forms import latest_event_day

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 50
ACTION_LABELS = {
    "create": _l("created"), "update": _l("changed"), "delete": _l("deleted"), "bulk_update": _l("changed (bulk)"),
    "bulk_delete": _l("deleted (bulk)"), "read": _l("read"), "list": _l("list read"), "export": _l("exported"),
    "denied": _l("refused"), "login": _l("logged in"), "login_failed": _l("login failed"), "logout": _l("logged out"),
    "password_refused": _l("password change refused"), "keys_rotate": _l("keys rotated"), "checkpoint": _l("checkpoint"),
}


def _zone() -> ZoneInfo:
    return registry().zone


def _day(value: str | None) -> date | None:
    """A filter's day, or None when empty, not a date, or outside 2000–2100 (it could not be placed in a zone)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and in_range(day) else None


def _filters() -> tuple[dict, dict]:
    """(filters for the query, the form's values as typed). Dates are whole days in the firm's zone."""
    args = request.args
    typed = {k: (args.get(k) or "").strip()[:80] for k in ("actor", "record_type", "record_id", "action", "date_from", "date_to")}
    start, end = _day(typed["date_from"]), _day(typed["date_to"])
    zone = _zone()
    filters = {k: typed[k] or None for k in ("actor", "record_type", "record_id", "action")}
    filters["since"] = datetime.combine(start, time(), zone).astimezone(UTC) if start else None
    filters["until"] = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC) if end else None
    return filters, typed


@bp.get("")
@require(Permission.audit_read)
def entries():
    filters, typed = _filters()
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 100_000)
    stmt = entries_query(**filters)
    rows = db.session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return render_template("audit/entries.html", entries=rows[:PAGE_SIZE], has_more=len(rows) > PAGE_SIZE, page=page,
                           filters=typed, zone=_zone(), actions=list(ACTION_LABELS), action_labels=ACTION_LABELS,
                           latest_day=latest_event_day().isoformat())


@bp.get("/export.csv")
@require(Permission.audit_read)
def export():
    """The filtered trail as CSV, oldest first, with each entry's hashes so it can be checked offline."""
    filters, _ = _filters()
    stmt = entries_query(**filters).order_by(None).order_by("seq")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in db.session.scalars(stmt).yield_per(1000):
        row = []
        for column in CSV_COLUMNS:
            value = getattr(entry, column)
            if isinstance(value, datetime):
                value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
            elif isinstance(value, (dict, list)):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            row.append("" if value is None else value)
        writer.writerow(row)
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'})
