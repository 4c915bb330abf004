"""REST endpoints for incidents, their timeline and remediation actions."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import SQLCursorPage, actor, catalogues, expected_version, registry, request_now
from incident_service.cases import incidents as cases
from incident_service.extensions import db
from incident_service.incidents import remediation, schemas, service
from incident_service.reporting.history import vendor_history
from incident_service.reporting.rows import IncidentRow, incident_page, incident_row
from incident_service.reporting.schemas import HistoryQuerySchema, HistorySchema, IncidentSchema

blp = Blueprint("incidents", __name__, url_prefix="/api/v1", description="Incidents, timeline and remediation")


def _answer(incident_id: int) -> IncidentRow:
    """The incident as every answer shows it: with its clocks and figures as of this request."""
    return incident_row(db.session, incident_id, now=request_now(), zone=registry().zone)


@blp.route("/incidents")
class Incidents(MethodView):
    @blp.arguments(schemas.IncidentQuerySchema, location="query")
    @blp.response(200, IncidentSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """List incidents, newest awareness first (filter by vendor, status, kind, severity, period)."""
        rows, pagination_parameters.item_count = incident_page(
            db.session, service.incidents_query(**args), page=pagination_parameters.page,
            page_size=pagination_parameters.page_size, now=request_now(), zone=registry().zone)
        return rows

    @blp.arguments(schemas.IncidentCreateSchema)
    @blp.response(201, IncidentSchema)
    def post(self, data):
        """Record an incident; its deadlines start from `aware_at`."""
        name, user_id = actor()
        incident = cases.open_incident(
            session=db.session, data=data, actor=name, reporter_id=user_id, registry=registry(),
            default_policies=current_app.config["DEFAULT_POLICIES"], now=request_now(),
        )
        return _answer(incident.id)


@blp.route("/incidents/<int:incident_id>")
class IncidentById(MethodView):
    @blp.response(200, IncidentSchema)
    def get(self, incident_id):
        """One incident with its deadlines and derived figures."""
        return _answer(incident_id)

    @blp.arguments(schemas.IncidentUpdateSchema)
    @blp.response(200, IncidentSchema)
    def patch(self, data, incident_id):
        """Change an incident; send the `version` you read (or If-Match). A stale version gets 409.

        Closing needs the service restored and every clock resolved; with remediation still open it needs
        `confirm_open_remediation`. Changing `policies` needs a supervisor and a `reason`."""
        version = expected_version(data)
        confirm = data.pop("confirm_open_remediation", False)
        cases.update_incident(
            session=db.session, incident_id=incident_id, data=data, expected_version=version,
            actor=actor()[0], registry=registry(), now=request_now(), confirm_open_remediation=confirm,
        )
        return _answer(incident_id)


@blp.route("/incidents/<int:incident_id>/awareness")
class Awareness(MethodView):
    @blp.arguments(schemas.AwarenessCorrectionSchema)
    @blp.response(200, IncidentSchema)
    def post(self, data, incident_id):
        """Correct the awareness time (知悉時間) with a reason; every clock that starts from it moves.

        Awareness is never later than the vendor's notice, the incident's recording or any filing (422 naming
        the bound). Each deadline whose outcome changed is written on the timeline."""
        cases.correct_awareness(
            session=db.session, incident_id=incident_id, aware_at=data["aware_at"], reason=data["reason"],
            expected_version=data.get("version"), actor=actor()[0], registry=registry(), now=request_now(),
        )
        return _answer(incident_id)


@blp.route("/incidents/<int:incident_id>/reportability")
class Reportability(MethodView):
    @blp.arguments(schemas.ReportabilitySchema)
    @blp.response(200, IncidentSchema)
    def post(self, data, incident_id):
        """Decide whether the incident is a major security incident under the firm's criteria (supervisor)."""
        cases.decide_reportability(
            session=db.session, incident_id=incident_id, major=data["major"], criteria=data["criteria"],
            reason=data["reason"], expected_version=data.get("version"), actor=actor()[0], registry=registry(),
            catalogues=catalogues(), now=request_now(),
        )
        return _answer(incident_id)


@blp.route("/incident-criteria")
class IncidentCriteria(MethodView):
    @blp.response(200, schemas.IncidentCriteriaSchema)
    def get(self):
        """The severity scale and the firm's criteria for a major security incident, with their sources."""
        return catalogues()


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


@blp.route("/vendors/<int:vendor_id>/history")
class VendorHistory(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, HistorySchema)
    @blp.paginate()
    def get(self, args, vendor_id, pagination_parameters):
        """A vendor's figures over a period (on-time rate per clock, breaches, monthly availability) and its
        incidents with their clocks and figures, a page at a time."""
        history = vendor_history(session=db.session, vendor_id=vendor_id, now=request_now(), zone=registry().zone,
                                 registry=registry(), page=pagination_parameters.page,
                                 page_size=pagination_parameters.page_size, **args)
        pagination_parameters.item_count = history.total
        return history
