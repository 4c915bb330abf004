"""Browsing, filtering and exporting the trail (auditors): a web page, a CSV export and an API endpoint."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Blueprint, Flask, Response, current_app, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint

from incident_service.api_common import SQLCursorPage, StrictSchema, UTCDateTimeField
from incident_service.audit import recorder
from incident_service.audit.service import CSV_COLUMNS, entries_query
from incident_service.auth.decorators import require
from incident_service.auth.permissions import Permission
from incident_service.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")
blp = ApiBlueprint("audit_api", __name__, url_prefix="/api/v1", description="The audit trail (auditors)")
PAGE_SIZE = 50


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["FIRM_TIMEZONE"])


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


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
    page = max(1, request.args.get("page", 1, type=int) or 1)
    stmt = entries_query(**filters)
    rows = db.session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return render_template("audit/entries.html", entries=rows[:PAGE_SIZE], has_more=len(rows) > PAGE_SIZE, page=page,
                           filters=typed, zone=_zone())


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


class AuditQuerySchema(StrictSchema):
    actor = ma.fields.String(validate=ma.validate.Length(max=80))
    record_type = ma.fields.String(validate=ma.validate.Length(max=80), metadata={"description": "a table name, e.g. incidents"})
    record_id = ma.fields.String(validate=ma.validate.Length(max=80))
    action = ma.fields.String(validate=ma.validate.OneOf(
        ["create", "update", "delete", "bulk_update", "bulk_delete", "read", "export", "denied"]))
    since = UTCDateTimeField(metadata={"description": "entries at or after"})
    until = UTCDateTimeField(metadata={"description": "entries before"})


class AuditEntrySchema(ma.Schema):
    seq = ma.fields.Integer(metadata={"description": "position in the chain"})
    at = UTCDateTimeField()
    actor = ma.fields.String()
    actor_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String()
    record_type = ma.fields.String()
    record_id = ma.fields.String(allow_none=True)
    old_values = ma.fields.Dict(allow_none=True)
    new_values = ma.fields.Dict(allow_none=True)
    details = ma.fields.Dict(allow_none=True)
    prev_hash = ma.fields.String()
    hash = ma.fields.String(metadata={"description": "SHA-256 over the entry's canonical JSON and prev_hash"})


@blp.route("/audit-entries")
class AuditEntries(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditEntrySchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """The audit trail, newest first (filter by actor, record, action, period)."""
        return entries_query(**args)


def register(app: Flask) -> None:
    from incident_service.extensions import api, csrf

    recorder.register(app)
    app.register_blueprint(bp)
    api.register_blueprint(blp)
    csrf.exempt(blp)
