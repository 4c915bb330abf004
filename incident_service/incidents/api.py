"""REST endpoints for incidents, their timeline and remediation actions."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import SQLCursorPage, actor, expected_version, registry, request_now
from incident_service.extensions import db
from incident_service.incidents import remediation, schemas, service

blp = Blueprint("incidents", __name__, url_prefix="/api/v1", description="Incidents, timeline and remediation")


@blp.route("/incidents")
class Incidents(MethodView):
    @blp.arguments(schemas.IncidentQuerySchema, location="query")
    @blp.response(200, schemas.IncidentSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """List incidents, newest awareness first (filter by vendor, status, kind, severity, period)."""
        return service.incidents_query(**args)

    @blp.arguments(schemas.IncidentCreateSchema)
    @blp.response(201, schemas.IncidentSchema)
    def post(self, data):
        """Record an incident; its deadlines start from `aware_at`."""
        name, user_id = actor()
        return service.open_incident(
            session=db.session, data=data, actor=name, reporter_id=user_id, registry=registry(),
            default_policies=current_app.config["DEFAULT_POLICIES"], now=request_now(),
        )


@blp.route("/incidents/<int:incident_id>")
class IncidentById(MethodView):
    @blp.response(200, schemas.IncidentSchema)
    def get(self, incident_id):
        """One incident with its deadlines and derived figures."""
        return service.get_incident(session=db.session, incident_id=incident_id)

    @blp.arguments(schemas.IncidentUpdateSchema)
    @blp.response(200, schemas.IncidentSchema)
    def patch(self, data, incident_id):
        """Change an incident; send the `version` you read (or If-Match). A stale version gets 409."""
        version = expected_version(data)
        return service.update_incident(
            session=db.session, incident_id=incident_id, data=data, expected_version=version,
            actor=actor()[0], registry=registry(), now=request_now(),
        )


@blp.route("/incidents/<int:incident_id>/awareness")
class Awareness(MethodView):
    @blp.arguments(schemas.AwarenessCorrectionSchema)
    @blp.response(200, schemas.IncidentSchema)
    def post(self, data, incident_id):
        """Correct the awareness time (知悉時間) with a reason; every clock that starts from it moves."""
        return service.correct_awareness(
            session=db.session, incident_id=incident_id, aware_at=data["aware_at"], reason=data["reason"],
            expected_version=data.get("version"), actor=actor()[0], registry=registry(), now=request_now(),
        )


@blp.route("/incidents/<int:incident_id>/timeline")
class Timeline(MethodView):
    @blp.response(200, schemas.TimelineEventSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, incident_id):
        """Every change and filing on the incident, oldest first (append-only)."""
        return service.timeline_of(db.session, incident_id)


@blp.route("/incidents/<int:incident_id>/remediations")
class Remediations(MethodView):
    @blp.response(200, schemas.RemediationSchema(many=True))
    def get(self, incident_id):
        """The incident's follow-up actions."""
        service.get_incident(session=db.session, incident_id=incident_id)
        return db.session.scalars(remediation.remediations_query(incident_id=incident_id)).all()

    @blp.arguments(schemas.RemediationCreateSchema)
    @blp.response(201, schemas.RemediationSchema)
    def post(self, data, incident_id):
        """Add a follow-up action (stress test, code review, patch process change, penalty claim, …)."""
        return remediation.add_remediation(session=db.session, incident_id=incident_id, data=data, actor=actor()[0], now=request_now())


@blp.route("/remediations/<int:remediation_id>")
class RemediationById(MethodView):
    @blp.response(200, schemas.RemediationSchema)
    def get(self, remediation_id):
        """One follow-up action."""
        return remediation.get_remediation(session=db.session, remediation_id=remediation_id)

    @blp.arguments(schemas.RemediationUpdateSchema)
    @blp.response(200, schemas.RemediationSchema)
    def patch(self, data, remediation_id):
        """Update an action (status, evidence, owner, due date); send the `version` you read."""
        version = expected_version(data)
        return remediation.update_remediation(
            session=db.session, remediation_id=remediation_id, data=data, expected_version=version,
            actor=actor()[0], now=request_now(),
        )


@blp.route("/remediations/<int:remediation_id>/verify")
class VerifyRemediation(MethodView):
    @blp.response(200, schemas.RemediationSchema)
    def post(self, remediation_id):
        """Verify a done action (supervisor): records who verified it and when."""
        return remediation.verify_remediation(session=db.session, remediation_id=remediation_id, actor=actor()[0], now=request_now())


class HistoryQuerySchema(schemas.StrictSchema):
    aware_from = schemas.UTCDateTimeField(metadata={"description": "incidents aware at or after"})
    aware_to = schemas.UTCDateTimeField(metadata={"description": "incidents aware before"})


class HistorySchema(ma.Schema):
    vendor = ma.fields.Dict(metadata={"description": "id, name, category"})
    period = ma.fields.Dict(metadata={"description": "the aware_from / aware_to asked for"})
    summary = ma.fields.Dict(metadata={"description": (
        "incidents; rto_breaches; rpo_breaches; vendor_notification_breaches; open_remediations; clocks: per policy "
        "and clock the counts met / met_late / missed / pending / waived and on_time_rate (met over decided); "
        "availability: per contract and month, outage minutes, availability_percent, target_percent, breached")})
    incidents = ma.fields.List(ma.fields.Dict(), metadata={"description": (
        "each incident with its deadlines' states and derived figures (outage, data_loss, vendor_notification)")})


@blp.route("/vendors/<int:vendor_id>/history")
class VendorHistory(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, HistorySchema)
    def get(self, args, vendor_id):
        """A vendor's incidents with derived figures, on-time rate per clock, breaches and monthly availability."""
        return service.vendor_history(session=db.session, vendor_id=vendor_id, now=request_now(),
                                      zone=registry().zone, **args)
