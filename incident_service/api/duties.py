"""REST endpoints for the vendor's life between incidents: duties on the clock, the access register and its
reviews, open findings, and ending a contract. Parse, call one use case or loader, serialize."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from incident_service.api_common import SQLCursorPage, actor, registry, request_now
from incident_service.cases import duties as cases
from incident_service.errors import NotFound
from incident_service.extensions import db
from incident_service.reporting import duty_schemas as schemas
from incident_service.reporting.duties import duties_query, duty_deadline
from incident_service.vendors import access
from incident_service.vendors.access import AccessReview
from incident_service.vendors.models import Vendor
from incident_service.vendors.termination import get_termination

blp = Blueprint("duties", __name__, url_prefix="/api/v1",
                description="Vendor duties on the clock, the access register, findings and contract termination")


def _vendor(vendor_id: int) -> Vendor:
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound(f"Vendor {vendor_id} does not exist.")
    return vendor


def _duty_answer(duty_id: int):
    deadline = duty_deadline(db.session, duty_id)
    if deadline is None:
        raise NotFound(f"Duty {duty_id} does not exist.")
    return deadline


def _termination_answer(contract_id: int) -> dict:
    termination = get_termination(session=db.session, contract_id=contract_id)
    duty = cases.open_duty(db.session, vendor_id=termination.vendor_id, kind="termination", contract_id=contract_id)
    if duty is None:  # settled: the completed occurrence
        duty = cases.last_duty(db.session, vendor_id=termination.vendor_id, kind="termination", contract_id=contract_id)
    answer = {c: getattr(termination, c) for c in ("id", "contract_id", "vendor_id", "ends_on", "reason", "successor",
                                                 "started_at", "started_by", "completed_at", "items")}
    answer["duty"] = duty_deadline(db.session, duty.id) if duty is not None else None
    return answer


@blp.route("/duties")
class Duties(MethodView):
    @blp.arguments(schemas.DutyQuerySchema, location="query")
    @blp.response(200, schemas.DutySchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args):
        """Vendor duties on the clock, soonest due first (filter by vendor, kind, state as of now, due before)."""
        return duties_query(now=request_now(), **args)


@blp.route("/duties/<int:duty_id>")
class DutyById(MethodView):
    @blp.response(200, schemas.DutySchema)
    def get(self, duty_id):
        """One occurrence of a vendor duty and its clock."""
        return _duty_answer(duty_id)


@blp.route("/duties/<int:duty_id>/completions")
class DutyCompletions(MethodView):
    @blp.arguments(schemas.CompletionSchema)
    @blp.response(201, schemas.DutySchema)
    def post(self, data, duty_id):
        """Record that the duty was done: its clock stops (met, or met_late after the due time) and the next
        occurrence starts from `completed_at`; each of `actions` becomes a remediation action. 409 when already
        completed; an access review completes through /vendors/{id}/access-reviews, a termination through its items."""
        cases.complete_duty(session=db.session, duty_id=duty_id, actor=actor()[0], registry=registry(),
                            now=request_now(), **data)
        return _duty_answer(duty_id)


@blp.route("/vendors/<int:vendor_id>/access-grants")
class AccessGrants(MethodView):
    @blp.arguments(schemas.AccessGrantQuerySchema, location="query")
    @blp.response(200, schemas.AccessGrantSchema(many=True))
    @blp.paginate(SQLCursorPage)
    def get(self, args, vendor_id):
        """The vendor access register: who holds which access to which system (revoked ones on request)."""
        _vendor(vendor_id)
        return access.grants_query(vendor_id=vendor_id, include_revoked=args["include_revoked"])

    @blp.arguments(schemas.AccessGrantCreateSchema)
    @blp.response(201, schemas.AccessGrantSchema)
    def post(self, data, vendor_id):
        """Record a grant of access. Remote access without MFA is accepted (it happens) and shows as a finding."""
        return cases.grant_access(session=db.session, vendor_id=vendor_id, data=data, registry=registry(), now=request_now())


@blp.route("/access-grants/<int:grant_id>/revocation")
class AccessRevocation(MethodView):
    @blp.arguments(schemas.RevocationSchema)
    @blp.response(200, schemas.AccessGrantSchema)
    def post(self, data, grant_id):
        """Revoke a grant (once: 409 when already revoked)."""
        return cases.revoke_access(session=db.session, grant_id=grant_id, reason=data["reason"], actor=actor()[0],
                                   registry=registry(), now=request_now())


@blp.route("/vendors/<int:vendor_id>/access-reviews")
class AccessReviews(MethodView):
    @blp.response(200, schemas.AccessReviewSchema(many=True))
    def get(self, vendor_id):
        """The vendor's access reviews, newest first."""
        _vendor(vendor_id)
        return db.session.scalars(db.select(AccessReview).where(AccessReview.vendor_id == vendor_id)
                                  .order_by(AccessReview.reviewed_at.desc())).all()

    @blp.arguments(schemas.AccessReviewCreateSchema)
    @blp.response(201, schemas.AccessReviewSchema)
    def post(self, data, vendor_id):
        """Review every grant the vendor holds (each kept or revoked); completes the `access_review` duty.
        422 names the grants left undecided."""
        return cases.review_access(session=db.session, vendor_id=vendor_id, actor=actor()[0], registry=registry(),
                                   now=request_now(), **data)


@blp.route("/vendors/<int:vendor_id>/findings")
class Findings(MethodView):
    @blp.response(200, schemas.FindingSchema(many=True))
    def get(self, vendor_id):
        """Open findings of the vendor's access: remote access without MFA, access past its end date or past the
        end of the contract covering its system."""
        _vendor(vendor_id)
        return access.open_findings(db.session, vendor_id=vendor_id, today=request_now().astimezone(registry().zone).date())


@blp.route("/contracts/<int:contract_id>/termination")
class ContractTermination(MethodView):
    @blp.response(200, schemas.TerminationSchema)
    def get(self, contract_id):
        """The termination checklist of a contract and its clock (404 when the contract is not being ended)."""
        return _termination_answer(contract_id)

    @blp.arguments(schemas.TerminationCreateSchema)
    @blp.response(201, schemas.TerminationSchema)
    def post(self, data, contract_id):
        """End a contract: its checklist (access revoked, assets returned or destroyed, transfer, confidentiality)
        opens with its own clock (the `termination` duty, 30 days by default). 409 when already under way."""
        cases.terminate_contract(session=db.session, contract_id=contract_id, actor=actor()[0], registry=registry(),
                                 now=request_now(), **data)
        return _termination_answer(contract_id)


@blp.route("/contracts/<int:contract_id>/termination/items/<string:key>")
class TerminationItem(MethodView):
    @blp.arguments(schemas.TerminationItemUpdateSchema)
    @blp.response(200, schemas.TerminationSchema)
    def post(self, data, contract_id, key):
        """Settle one checklist item (settling `access_revoked` revokes every grant on the contract's systems);
        the last one completes the termination duty."""
        cases.settle_termination_item(session=db.session, contract_id=contract_id, key=key, actor=actor()[0],
                                      registry=registry(), now=request_now(), **data)
        return _termination_answer(contract_id)
