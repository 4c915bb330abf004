"""Web pages for the vendor's life between incidents: the duties on the clock (list, one duty, completing it), the
access register (grant, revoke, review) and ending a contract (its checklist). Thin: parse the form through the
API's schema, call one use case, render."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from incident_service.api_common import actor, registry, request_now
from incident_service.auth.decorators import require
from incident_service.auth.permissions import Permission, user_can
from incident_service.cases import duties as cases
from incident_service.errors import DomainError
from incident_service.extensions import db
from incident_service.incidents.models import Remediation
from incident_service.reporting import duty_schemas as schemas
from incident_service.reporting.duties import duties_query, duty_deadline
from incident_service.vendors import access
from incident_service.vendors.access import AccessReview
from incident_service.vendors.duties import VendorDuty
from incident_service.vendors.models import Contract, ContractSystem, System, Vendor
from incident_service.vendors.termination import Termination
from incident_service.web import duty_forms as forms
from incident_service.web.forms import now_in_zone, options, submit

bp = Blueprint("duties_web", __name__)
LIST_LIMIT = 500


def _today():
    return request_now().astimezone(registry().zone).date()


@bp.get("/duties")
@require(Permission.read)
def duty_list():
    """Every vendor duty: open ones by default, soonest due first (overdue at the top)."""
    state = request.args.get("state") or "open"
    if state not in schemas.DUTY_STATES and state != "all":
        state = "open"
    vendor_id = request.args.get("vendor_id", type=int)
    stmt = duties_query(now=request_now(), vendor_id=vendor_id, state=None if state == "all" else state)
    duties = db.session.scalars(stmt.limit(LIST_LIMIT)).all()
    vendors = db.session.execute(sa.select(Vendor.id, Vendor.name).order_by(Vendor.name)).all()
    return render_template("duties/list.html", duties=duties, state=state, vendor_id=vendor_id, vendors=vendors,
                           server_now=request_now(), limit=LIST_LIMIT)


def _duty_or_404(duty_id: int):
    deadline = duty_deadline(db.session, duty_id)
    if deadline is None:
        abort(404)
    return deadline


@bp.route("/duties/<int:duty_id>", methods=["GET", "POST"])
@require(Permission.read)
def duty_page(duty_id: int):
    deadline = _duty_or_404(duty_id)
    duty = deadline.duty
    form = forms.CompletionForm()
    if request.method == "GET":
        form.completed_at.data = now_in_zone(request_now())
    if request.method == "POST":
        if not _may(Permission.duty_complete):
            abort(403)
        action = {"title": form.action_title.data, "owner": form.action_owner.data,
                  "due_on": form.action_due_on.data.isoformat() if form.action_due_on.data else None}
        done = submit(form, schemas.CompletionSchema(), forms.COMPLETION_FIELDS,
                      lambda data: cases.complete_duty(session=db.session, duty_id=duty_id, actor=actor()[0],
                                                       registry=registry(), now=request_now(), **data),
                      extra={"actions": [action] if any(action.values()) else []},
                      done=_("Recorded: the duty is done and its next occurrence is on the clock."),
                      then=url_for(".duty_page", duty_id=duty_id))
        if done:
            return done
    history = db.session.scalars(sa.select(VendorDuty).where(VendorDuty.kind == duty.kind,
                                                             VendorDuty.subject_ref == duty.subject_ref)
                                 .order_by(VendorDuty.anchor_at.desc())).all()
    actions = db.session.scalars(sa.select(Remediation).where(Remediation.duty_id == duty_id)).all()
    policy = registry().duty(duty.kind)
    status = 422 if form.is_submitted() and request.method == "POST" else 200
    return render_template("duties/duty.html", deadline=deadline, duty=duty, form=form, history=history,
                           actions=actions, policy=policy, server_now=request_now()), status


def _may(permission: Permission) -> bool:
    return user_can(current_user, permission)


# -- the access register ---------------------------------------------------------------------------------------

def _vendor_or_404(vendor_id: int) -> Vendor:
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None:
        abort(404)
    return vendor


def _system_choices(form: forms.GrantForm, vendor_id: int) -> None:
    covered = sa.select(ContractSystem.system_id).join(Contract).where(Contract.vendor_id == vendor_id)
    systems = db.session.execute(sa.select(System.id, System.name).order_by(System.id.in_(covered).desc(), System.name)).all()
    form.system_id.choices = options([("", _("Choose…"))] + [(str(s.id), s.name) for s in systems])


def _access_page(vendor: Vendor, *, grant_form=None, review_form=None, status: int = 200):
    grant_form = grant_form or forms.GrantForm(formdata=None)
    _system_choices(grant_form, vendor.id)
    review_form = review_form or forms.ReviewForm(formdata=None, reviewed_at=now_in_zone(request_now()))
    grants = db.session.scalars(access.grants_query(vendor_id=vendor.id)).all()
    reviews = db.session.scalars(sa.select(AccessReview).where(AccessReview.vendor_id == vendor.id)
                                 .order_by(AccessReview.reviewed_at.desc()).limit(20)).all()
    return render_template("duties/access.html", vendor=vendor, grants=grants, reviews=reviews,
                           findings=access.open_findings(db.session, vendor_id=vendor.id, today=_today()),
                           grant_form=grant_form, review_form=review_form, revoke_form=forms.RevokeForm(formdata=None),
                           today=_today(), server_now=request_now()), status


@bp.get("/vendors/<int:vendor_id>/access")
@require(Permission.read)
def access_page(vendor_id: int):
    return _access_page(_vendor_or_404(vendor_id))


@bp.post("/vendors/<int:vendor_id>/access")
@require(Permission.admin_vendors)
def grant_access(vendor_id: int):
    vendor = _vendor_or_404(vendor_id)
    form = forms.GrantForm()
    _system_choices(form, vendor_id)
    done = submit(form, schemas.AccessGrantCreateSchema(), forms.GRANT_FIELDS, drop_none=True,
                  action=lambda data: cases.grant_access(session=db.session, vendor_id=vendor_id, data=data,
                                                         registry=registry(), now=request_now()),
                  done=_("Access recorded."), then=url_for(".access_page", vendor_id=vendor_id))
    return done or _access_page(vendor, grant_form=form, status=422)


@bp.post("/access-grants/<int:grant_id>/revoke")
@require(Permission.admin_vendors)
def revoke_access(grant_id: int):
    grant = db.session.get(access.AccessGrant, grant_id)
    if grant is None:
        abort(404)
    form = forms.RevokeForm()
    reason = (form.reason.data or "").strip() if form.validate_on_submit() else ""
    if not reason:
        flash(_("Say why the access is revoked."), "error")
    else:
        try:
            cases.revoke_access(session=db.session, grant_id=grant_id, reason=reason, actor=actor()[0],
                                registry=registry(), now=request_now())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(_("Access revoked."), "success")
    return redirect(url_for(".access_page", vendor_id=grant.vendor_id))


@bp.post("/vendors/<int:vendor_id>/access/review")
@require(Permission.access_review)
def review_access(vendor_id: int):
    vendor = _vendor_or_404(vendor_id)
    form = forms.ReviewForm()
    decisions = [{"grant_id": int(name.removeprefix("grant-")), "keep": value == "keep"}
                 for name, value in request.form.items()
                 if name.startswith("grant-") and name[6:].isdigit() and len(name) < 20 and value in ("keep", "revoke")]
    done = submit(form, schemas.AccessReviewCreateSchema(), ("reviewed_at", "note"), extra={"decisions": decisions},
                  action=lambda data: cases.review_access(session=db.session, vendor_id=vendor_id, actor=actor()[0],
                                                          registry=registry(), now=request_now(), **data),
                  done=_("Access review recorded."), then=url_for(".access_page", vendor_id=vendor_id))
    return done or _access_page(vendor, review_form=form, status=422)


# -- ending a contract -------------------------------------------------------------------------------------------

def _termination_page(contract: Contract, *, form=None, item_form=None, item_key=None, status: int = 200):
    termination = db.session.scalar(sa.select(Termination).where(Termination.contract_id == contract.id))
    deadline = None
    if termination is not None:
        duty = cases.last_duty(db.session, vendor_id=contract.vendor_id, kind="termination", contract_id=contract.id)
        deadline = duty_deadline(db.session, duty.id) if duty is not None else None
    return render_template("duties/termination.html", contract=contract, termination=termination, deadline=deadline,
                           form=form or forms.TerminationForm(formdata=None), item_form=item_form, item_key=item_key,
                           blank_item_form=forms.ItemForm(formdata=None), server_now=request_now()), status


def _contract_or_404(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        abort(404)
    return contract


@bp.route("/contracts/<int:contract_id>/termination", methods=["GET", "POST"])
@require(Permission.read)
def termination_page(contract_id: int):
    contract = _contract_or_404(contract_id)
    if request.method == "GET":
        return _termination_page(contract)
    if not _may(Permission.admin_vendors):
        abort(403)
    form = forms.TerminationForm()
    done = submit(form, schemas.TerminationCreateSchema(), forms.TERMINATION_FIELDS,
                  action=lambda data: cases.terminate_contract(session=db.session, contract_id=contract_id,
                                                               actor=actor()[0], registry=registry(), now=request_now(), **data),
                  done=_("The contract is being ended: its checklist is on the clock."),
                  then=url_for(".termination_page", contract_id=contract_id))
    return done or _termination_page(contract, form=form, status=422)


@bp.post("/contracts/<int:contract_id>/termination/items/<key>")
@require(Permission.admin_vendors)
def settle_item(contract_id: int, key: str):
    contract = _contract_or_404(contract_id)
    form = forms.ItemForm()
    done = submit(form, schemas.TerminationItemUpdateSchema(), forms.ITEM_FIELDS,
                  action=lambda data: cases.settle_termination_item(session=db.session, contract_id=contract_id,
                                                                    key=key[:40], actor=actor()[0], registry=registry(),
                                                                    now=request_now(), **data),
                  done=_("Checklist item settled."), then=url_for(".termination_page", contract_id=contract_id))
    return done or _termination_page(contract, item_form=form, item_key=key, status=422)
