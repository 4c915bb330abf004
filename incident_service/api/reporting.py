"""REST endpoints for the reporting clock: filings, the deadline board, waivers, notifications, policies."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from flask import current_app

from incident_service.api_common import SQLCursorPage, actor, catalogues, registry, request_now
from incident_service.auth.decorators import actor_can
from incident_service.auth.permissions import Permission
from incident_service.cases import filings as cases
from incident_service.extensions import db
from incident_service.incidents.figures import incident_figures
from incident_service.incidents.service import get_incident
from incident_service.reporting import alerts, drafts, schemas, service
from incident_service.reporting.models import DeadlineState
from incident_service.reporting.rows import DeadlineRow, deadline_page, deadline_row

blp = Blueprint("reporting", __name__, url_prefix="/api/v1", description="Reporting clock: filings, deadlines, notifications")


@blp.route("/incidents/<int:incident_id>/filings")
class Filings(MethodView):
    @blp.response(200, schemas.FilingSchema(many=True))
    def get(self, incident_id):
        """Reports filed for the incident."""
        get_incident(session=db.session, incident_id=incident_id)
        return service.filings_of(db.session, incident_id)

    @blp.arguments(schemas.FilingCreateSchema)
    @blp.response(201, schemas.FilingSchema)
    def post(self, data, incident_id):
        """Record a filed report; it stops its own policy's clock (`met` at or before due, `met_late` after).

        Name the `policy` when the incident runs more than one with this kind of report (422 lists them). A closure
        report is refused while the service is down; no filing on a closed incident (409). A filing recorded more
        than FILING_BACKDATE_MINUTES after `submitted_at` needs a supervisor (403 otherwise); both times are kept."""
        return cases.record_filing(session=db.session, incident_id=incident_id, data=data, actor=actor()[0],
                                   registry=registry(), now=request_now(), may_backdate=actor_can(Permission.filing_backdate),
                                   backdate_minutes=current_app.config["FILING_BACKDATE_MINUTES"])


class DraftSchema(ma.Schema):
    deadline_id = ma.fields.Integer()
    policy = ma.fields.String()
    clock = ma.fields.String()
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    text = ma.fields.String(metadata={"description": "ready to paste into the reporting system named in it"})


@blp.route("/incidents/<int:incident_id>/drafts")
class Drafts(MethodView):
    @blp.response(200, DraftSchema(many=True))
    def get(self, incident_id):
        """The draft text of each report the incident owes, in the layout of the policy it goes to."""
        incident = get_incident(session=db.session, incident_id=incident_id)
        now, reg = request_now(), registry()
        deadlines = [d for d in service.incident_deadlines(db.session, incident_id) if d.state != DeadlineState.withdrawn]
        texts = drafts.drafts_for(
            incident=incident, deadlines=deadlines, registry=reg, filings=service.filings_of(db.session, incident_id),
            figures=incident_figures(session=db.session, incident=incident, now=now, zone=reg.zone),
            context=drafts.DraftContext.from_config(current_app.config), zone=reg.zone, now=now,
            criteria_labels={c.key: c.label_en for c in catalogues().major_criteria.entries})
        return [{"deadline_id": d.id, "policy": d.policy_key, "clock": d.clock_key, "label_zh": d.label_zh,
                 "label_en": d.label_en, "text": texts[d.id]} for d in deadlines]


def _deadline(deadline_id: int) -> DeadlineRow:
    return deadline_row(db.session, deadline_id, now=request_now())


@blp.route("/deadlines")
class Deadlines(MethodView):
    @blp.etag
    @blp.arguments(schemas.DeadlineQuerySchema, location="query")
    @blp.response(200, schemas.DeadlineSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """The board: deadlines of open incidents, overdue first, then by time left.

        The ETag covers everything but `seconds_left` (which only moves with time): send it back in
        `If-None-Match` and get 304 until a deadline, its incident or the page really changed."""
        include_closed = args.pop("include_closed", False)
        stmt = service.deadlines_query(now=request_now(), open_incidents_only=not include_closed, **args)
        rows, pagination_parameters.item_count = deadline_page(
            db.session, stmt, page=pagination_parameters.page, page_size=pagination_parameters.page_size, now=request_now())
        steady = schemas.DeadlineSchema(many=True, exclude=("seconds_left",)).dump(rows)
        blp.set_etag([steady, pagination_parameters.page, pagination_parameters.page_size, pagination_parameters.item_count])
        return rows


@blp.route("/deadlines/<int:deadline_id>")
class DeadlineById(MethodView):
    @blp.response(200, schemas.DeadlineSchema)
    def get(self, deadline_id):
        """One deadline with its state and seconds left."""
        return _deadline(deadline_id)


@blp.route("/deadlines/<int:deadline_id>/waiver")
class Waiver(MethodView):
    @blp.arguments(schemas.WaiverSchema)
    @blp.response(200, schemas.DeadlineSchema)
    def post(self, data, deadline_id):
        """Waive a clock before its due time (supervisor), saying why no filing is owed; 409 after the due time."""
        cases.waive_deadline(session=db.session, deadline_id=deadline_id, reason=data["reason"],
                             actor=actor()[0], registry=registry(), now=request_now())
        return _deadline(deadline_id)


@blp.route("/deadlines/<int:deadline_id>/justification")
class Justification(MethodView):
    @blp.arguments(schemas.JustificationSchema)
    @blp.response(200, schemas.DeadlineSchema)
    def post(self, data, deadline_id):
        """Explain a missed (or late) deadline after its due time (supervisor). It stays missed in every on-time rate."""
        cases.justify_deadline(session=db.session, deadline_id=deadline_id, reason=data["reason"],
                               actor=actor()[0], now=request_now())
        return _deadline(deadline_id)


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
    requires_recovery = ma.fields.Boolean(metadata={"description": "refused while the service is still down"})
    filed_with_zh = ma.fields.String()
    filed_with_en = ma.fields.String()
    citation = ma.fields.String(metadata={"description": "the rule's source"})
    note_zh = ma.fields.String()
    note_en = ma.fields.String(metadata={"description": "e.g. a duration that is the firm's own target"})

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
    source = ma.fields.String(metadata={"description": "the file it was read from"})
    citation = ma.fields.String(metadata={"description": "the regulation it implements"})
    draft_template = ma.fields.String(metadata={"description": "the layout of its draft reports: twse, dora or generic"})
    clocks = ma.fields.List(ma.fields.Nested(PolicyClockSchema))


@blp.route("/policies")
class Policies(MethodView):
    @blp.response(200, PolicySchema(many=True))
    def get(self):
        """Reporting policies known to the service (data files)."""
        reg = registry()
        return [reg.get(k) for k in reg.keys()]
