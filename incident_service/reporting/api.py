"""REST endpoints for the reporting clock: filings, the deadline board, waivers, notifications, policies."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import SQLCursorPage, actor, registry, request_now
from incident_service.extensions import db
from incident_service.incidents import schemas
from incident_service.reporting import alerts, service

blp = Blueprint("reporting", __name__, url_prefix="/api/v1", description="Reporting clock: filings, deadlines, notifications")


@blp.route("/incidents/<int:incident_id>/filings")
class Filings(MethodView):
    @blp.response(200, schemas.FilingSchema(many=True))
    def get(self, incident_id):
        """Reports filed for the incident."""
        from incident_service.incidents.service import get_incident

        get_incident(session=db.session, incident_id=incident_id)
        return service.filings_of(db.session, incident_id)

    @blp.arguments(schemas.FilingCreateSchema)
    @blp.response(201, schemas.FilingSchema)
    def post(self, data, incident_id):
        """Record a filed report; it stops its clock (`met` at or before due, `met_late` after)."""
        return service.record_filing(session=db.session, incident_id=incident_id, data=data, actor=actor()[0],
                                     registry=registry(), now=request_now())


@blp.route("/deadlines")
class Deadlines(MethodView):
    @blp.arguments(schemas.DeadlineQuerySchema, location="query")
    @blp.response(200, schemas.DeadlineSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """The board: deadlines of open incidents, overdue first, then by time left."""
        include_closed = args.pop("include_closed", False)
        return service.deadlines_query(now=request_now(), open_incidents_only=not include_closed, **args)


@blp.route("/deadlines/<int:deadline_id>")
class DeadlineById(MethodView):
    @blp.response(200, schemas.DeadlineSchema)
    def get(self, deadline_id):
        """One deadline with its state and seconds left."""
        return service.get_deadline(session=db.session, deadline_id=deadline_id)


@blp.route("/deadlines/<int:deadline_id>/waiver")
class Waiver(MethodView):
    @blp.arguments(schemas.WaiverSchema)
    @blp.response(200, schemas.DeadlineSchema)
    def post(self, data, deadline_id):
        """Waive a clock (supervisor), saying why no filing is owed."""
        return service.waive_deadline(session=db.session, deadline_id=deadline_id, reason=data["reason"],
                                      actor=actor()[0], registry=registry(), now=request_now())


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(schemas.NotificationQuerySchema, location="query")
    @blp.response(200, schemas.NotificationSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """Warnings and escalations raised by the clock engine, newest first."""
        return alerts.notifications_query(**args)


class PolicyClockSchema(ma.Schema):
    key = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    stopped_by = ma.fields.String()
    rules = ma.fields.Method("_rules")
    warnings = ma.fields.Method("_warnings")
    escalate = ma.fields.Boolean()
    applies = ma.fields.Method("_applies")

    def _rules(self, clock):
        return [{"start": r.start, "duration": str(r.duration), "filing": r.filing} for r in clock.rules]

    def _warnings(self, clock):
        return [str(w) for w in clock.warnings]

    def _applies(self, clock):
        a = clock.applies
        return {k: v for k, v in {"trading_or_investors_affected": a.trading_or_investors_affected,
                                  "min_severity": a.min_severity, "max_severity": a.max_severity,
                                  "kinds": list(a.kinds) or None}.items() if v is not None}


class PolicySchema(ma.Schema):
    key = ma.fields.String()
    title_zh = ma.fields.String()
    title_en = ma.fields.String()
    description = ma.fields.String()
    source = ma.fields.String()
    clocks = ma.fields.List(ma.fields.Nested(PolicyClockSchema))


@blp.route("/policies")
class Policies(MethodView):
    @blp.response(200, PolicySchema(many=True))
    def get(self):
        """Reporting policies known to the service (data files)."""
        reg = registry()
        return [reg.get(k) for k in reg.keys()]
