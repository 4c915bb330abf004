"""REST endpoints for the vendor's life between incidents kept by the vendor area: the Art. 4 clauses and the gap
report, the outsourcing checklist and due-diligence assessments, and vendor changes against the market's hours.
Parse, call one use case or loader, serialize."""
from __future__ import annotations

from datetime import date

from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import SQLCursorPage, actor, expected_version, registry, request_now, vendor_catalogues
from incident_service.extensions import db
from incident_service.reporting.vendor_pages import all_contract_gaps
from incident_service.vendors import assessments, changes
from incident_service.vendors import lifecycle_schemas as schemas
from incident_service.vendors.changes import ChangeState
from incident_service.vendors.service import get_vendor

blp = Blueprint("lifecycle", __name__, url_prefix="/api/v1",
                description="Contract clauses and their gaps, due diligence against the checklist, vendor changes")


def _today() -> date:
    return request_now().astimezone(registry().zone).date()


@blp.route("/clauses")
class Clauses(MethodView):
    @blp.arguments(schemas.ClauseQuerySchema, location="query")
    @blp.response(200, schemas.ClauseSchema(many=True))
    def get(self, args):
        """The 17 basic contract clauses of seed 001 Art. 4 and the other obligations of the article that matter to
        incidents (no updates in market hours, the yearly failover drill, third-party components, ...)."""
        return [c for c in vendor_catalogues().clauses.clauses
                if "basic" not in args or (c.basic is not None) == args["basic"]]


@blp.route("/clause-gaps")
class ClauseGaps(MethodView):
    @blp.arguments(schemas.GapQuerySchema, location="query")
    @blp.response(200, schemas.ContractGapsSchema(many=True))
    def get(self, args):
        """The gap report across contracts: per contract the clauses it owes and does not show (absent, or not
        recorded yet). Contracts without a gap are left out unless `with_gaps=false`."""
        return all_contract_gaps(db.session, catalogue=vendor_catalogues().clauses, vendor_id=args.get("vendor_id"),
                                 active_on=args.get("active_on"), only_gaps=args["with_gaps"])


@blp.route("/checklists/outsourcing")
class OutsourcingChecklist(MethodView):
    @blp.response(200, schemas.ChecklistSchema)
    def get(self):
        """The outsourcing security checklist (seed 000) as data: phases, and items with their questions."""
        return vendor_catalogues().checklist


@blp.route("/vendors/<int:vendor_id>/assessments")
class VendorAssessments(MethodView):
    @blp.response(200, schemas.AssessmentSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, vendor_id):
        """The vendor's due-diligence assessments, newest first."""
        get_vendor(session=db.session, vendor_id=vendor_id)
        return assessments.assessments_query(vendor_id=vendor_id)

    @blp.arguments(schemas.AssessmentCreateSchema)
    @blp.response(201, schemas.AssessmentSchema)
    def post(self, data, vendor_id):
        """Record an assessment against the checklist, as its assessor; the concentration figure is taken as of
        `assessed_on`. It waits for a supervisor's approval (seed 001 Art. 3)."""
        return assessments.record_assessment(session=db.session, vendor_id=vendor_id, data=data, actor=actor()[0],
                                             checklist=vendor_catalogues().checklist, now=request_now(), today=_today())


@blp.route("/assessments/<int:assessment_id>")
class AssessmentById(MethodView):
    @blp.response(200, schemas.AssessmentSchema)
    def get(self, assessment_id):
        """One assessment with every checklist item's answer."""
        return assessments.get_assessment(session=db.session, assessment_id=assessment_id)

    @blp.arguments(schemas.AssessmentUpdateSchema)
    @blp.response(200, schemas.AssessmentSchema)
    def patch(self, data, assessment_id):
        """Change an assessment before it is approved (409 after); the answers sent replace those items'."""
        version = expected_version(data)
        return assessments.update_assessment(session=db.session, assessment_id=assessment_id, data=data,
                                             expected_version=version, checklist=vendor_catalogues().checklist,
                                             now=request_now(), today=_today())


@blp.route("/assessments/<int:assessment_id>/approval")
class AssessmentApproval(MethodView):
    @blp.arguments(schemas.ApprovalSchema)
    @blp.response(200, schemas.AssessmentSchema)
    def post(self, data, assessment_id):
        """A supervisor approves the assessment: not the assessor (403 `own_assessment`), and only once every item that
        applies is answered (409 `unanswered`)."""
        return assessments.approve_assessment(session=db.session, assessment_id=assessment_id, actor=actor()[0],
                                              note=data["note"], now=request_now())


@blp.route("/vendor-changes")
class VendorChanges(MethodView):
    @blp.arguments(schemas.ChangeQuerySchema, location="query")
    @blp.response(200, schemas.ChangeSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """Vendor changes, latest planned first (filter by vendor, state, period)."""
        return changes.changes_query(**args)

    @blp.arguments(schemas.ChangeCreateSchema)
    @blp.response(201, schemas.ChangeSchema)
    def post(self, data):
        """Plan a vendor change. One planned before the open or during a trading session (the trading calendar) is
        refused with 422 `market_hours` unless it is an `emergency` with a reason; every change then waits for a
        supervisor's approval."""
        return changes.plan_change(session=db.session, data=data, calendar=vendor_catalogues().calendar,
                                   actor=actor()[0], now=request_now())


@blp.route("/vendor-changes/<int:change_id>")
class VendorChangeById(MethodView):
    @blp.response(200, schemas.ChangeSchema)
    def get(self, change_id):
        """One vendor change."""
        return changes.get_change(session=db.session, change_id=change_id)

    @blp.arguments(schemas.ChangeUpdateSchema)
    @blp.response(200, schemas.ChangeSchema)
    def patch(self, data, change_id):
        """Re-plan a change that waits for approval (409 once approved); the market-hours rule is checked again."""
        version = expected_version(data)
        return changes.update_change(session=db.session, change_id=change_id, data=data, expected_version=version,
                                     calendar=vendor_catalogues().calendar, now=request_now())


@blp.route("/vendor-changes/<int:change_id>/approval")
class VendorChangeApproval(MethodView):
    @blp.arguments(schemas.ApprovalSchema)
    @blp.response(200, schemas.ChangeSchema)
    def post(self, data, change_id):
        """A supervisor approves a proposed change: not its requester (403 `own_change`)."""
        return changes.approve_change(session=db.session, change_id=change_id, actor=actor()[0], note=data["note"],
                                      calendar=vendor_catalogues().calendar, now=request_now())


@blp.route("/vendor-changes/<int:change_id>/closure")
class VendorChangeClosure(MethodView):
    @blp.arguments(schemas.ChangeCloseSchema)
    @blp.response(200, schemas.ChangeSchema)
    def post(self, data, change_id):
        """Record an approved change as done, or cancel a change, with its outcome."""
        return changes.close_change(session=db.session, change_id=change_id, state=ChangeState(data["state"]),
                                    outcome=data["outcome"], actor=actor()[0], now=request_now())
