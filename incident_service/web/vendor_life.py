"""The vendor page's tabs beyond the overview and the incidents: contracts with their clauses, duties, changes and
assessments; and the clause gap report across every contract. Thin: parse through the API's schema, call one use
case or loader, render."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from incident_service.api_common import actor, registry, request_now, vendor_catalogues
from incident_service.auth.decorators import require
from incident_service.auth.permissions import Permission
from incident_service.errors import DomainError
from incident_service.extensions import db
from incident_service.reporting.duties import duties_query
from incident_service.reporting.vendor_pages import TAB_LIMIT, all_contract_gaps, vendor_changes, vendor_contracts
from incident_service.vendors import assessments, changes
from incident_service.vendors import lifecycle_schemas as schemas
from incident_service.vendors.changes import ChangeState
from incident_service.vendors.models import Vendor
from incident_service.vendors.service import systems_query
from incident_service.web import exports
from incident_service.web import lifecycle_forms as forms
from incident_service.web.forms import load, refuse, submit
from incident_service.web.wording import is_zh, refusal

bp = Blueprint("vendor_life", __name__)


def _vendor_or_404(vendor_id: int) -> Vendor:
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None:
        abort(404)
    return vendor


def _today():
    return request_now().astimezone(registry().zone).date()


# -- contracts and their clauses -------------------------------------------------------------------------------

@bp.get("/vendors/<int:vendor_id>/contracts")
@require(Permission.read)
def contracts_tab(vendor_id: int):
    vendor = _vendor_or_404(vendor_id)
    rows = vendor_contracts(db.session, vendor_id=vendor_id, catalogue=vendor_catalogues().clauses)
    return render_template("vendors/tab_contracts.html", vendor=vendor, tab="contracts", contracts=rows,
                           today=_today())


@bp.get("/contracts/clause-gaps")
@require(Permission.read)
def clause_gaps():
    rows = all_contract_gaps(db.session, catalogue=vendor_catalogues().clauses, active_on=_today())
    return render_template("vendors/clause_gaps.html", rows=rows, today=_today())


@bp.get("/contracts/clause-gaps.xlsx")
@require(Permission.export)
def clause_gaps_xlsx():
    headers, table = _gap_table(all_contract_gaps(db.session, catalogue=vendor_catalogues().clauses,
                                                  active_on=_today()), zh=is_zh())
    body = exports.to_xlsx(headers, table, title=_("Clause gaps"))
    stamp = request_now().astimezone(registry().zone).strftime("%Y%m%d")
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="clause-gaps-{stamp}.xlsx"'})


def _gap_table(rows, *, zh: bool) -> tuple[list[str], list[list]]:
    """One spreadsheet row per missing clause of each contract."""
    headers = [_("Vendor"), _("Contract number"), _("Title"), _("Term"), _("No."), _("Clause"), _("Status")]
    table = []
    for row in rows:
        c = row.contract
        for gap in row.gaps:
            table.append([c.vendor.name, c.reference, c.title, f"{c.starts_on} – {c.ends_on or ''}",
                          gap.basic or gap.number, gap.title_zh if zh else gap.title_en,
                          _("Absent") if gap.status else _("Not recorded")])
    return headers, table


# -- duties ----------------------------------------------------------------------------------------------------------

@bp.get("/vendors/<int:vendor_id>/duties")
@require(Permission.read)
def duties_tab(vendor_id: int):
    vendor = _vendor_or_404(vendor_id)
    now = request_now()
    open_duties = db.session.scalars(duties_query(now=now, vendor_id=vendor_id, state="open").limit(TAB_LIMIT)).all()
    done = db.session.scalars(duties_query(now=now, vendor_id=vendor_id, state="met").limit(TAB_LIMIT)).all() + \
        db.session.scalars(duties_query(now=now, vendor_id=vendor_id, state="met_late").limit(TAB_LIMIT)).all()
    done.sort(key=lambda d: d.duty.completed_at or d.updated_at, reverse=True)
    return render_template("vendors/tab_duties.html", vendor=vendor, tab="duties", duties=open_duties, done=done,
                           server_now=now)


# -- changes --------------------------------------------------------------------------------------------------------

def _change_form() -> forms.ChangeForm:
    form = forms.ChangeForm()
    form.system_ids.choices = [(s.id, s.name) for s in db.session.scalars(systems_query())]
    return form


def _changes_page(vendor: Vendor, *, form=None, status: int = 200):
    form = form or _change_form()
    calendar = vendor_catalogues().calendar
    return render_template("vendors/tab_changes.html", vendor=vendor, tab="changes", form=form,
                           rows=vendor_changes(db.session, vendor_id=vendor.id), calendar=calendar,
                           approval_form=forms.ApprovalForm(formdata=None), close_form=forms.ChangeCloseForm(formdata=None),
                           state_labels=forms.CHANGE_STATE_LABELS), status


@bp.get("/vendors/<int:vendor_id>/changes")
@require(Permission.read)
def changes_tab(vendor_id: int):
    return _changes_page(_vendor_or_404(vendor_id))


@bp.post("/vendors/<int:vendor_id>/changes")
@require(Permission.change_record)
def plan_change(vendor_id: int):
    vendor = _vendor_or_404(vendor_id)
    form = _change_form()
    done = submit(form, schemas.ChangeCreateSchema(), forms.CHANGE_FIELDS, extra={"vendor_id": vendor_id},
                  action=lambda data: changes.plan_change(session=db.session, data=data, actor=actor()[0],
                                                          calendar=vendor_catalogues().calendar, now=request_now()),
                  done=_("The change is planned and waits for a supervisor's approval."),
                  then=url_for(".changes_tab", vendor_id=vendor_id))
    return done or _changes_page(vendor, form=form, status=422)


def _change_action(change_id: int, action, done_message: str):
    change = db.session.get(changes.VendorChange, change_id)
    if change is None:
        abort(404)
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(refusal(error), "error")
    else:
        flash(done_message, "success")
    return redirect(url_for(".changes_tab", vendor_id=change.vendor_id))


@bp.post("/vendor-changes/<int:change_id>/approval")
@require(Permission.change_approve)
def approve_change(change_id: int):
    form = forms.ApprovalForm()
    if not form.validate_on_submit():
        abort(400)
    note = (form.note.data or "").strip() or None
    return _change_action(change_id, lambda: changes.approve_change(
        session=db.session, change_id=change_id, actor=actor()[0], note=note, calendar=vendor_catalogues().calendar,
        now=request_now()), _("Change approved."))


@bp.post("/vendor-changes/<int:change_id>/closure")
@require(Permission.change_record)
def close_change(change_id: int):
    form = forms.ChangeCloseForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = (form.outcome.data or "").strip() or None
    return _change_action(change_id, lambda: changes.close_change(
        session=db.session, change_id=change_id, state=ChangeState(form.state.data), outcome=outcome,
        actor=actor()[0], now=request_now()), _("Change closed."))


# -- assessments -------------------------------------------------------------------------------------------------

@bp.get("/vendors/<int:vendor_id>/assessments")
@require(Permission.read)
def assessments_tab(vendor_id: int):
    vendor = _vendor_or_404(vendor_id)
    found = db.session.scalars(assessments.assessments_query(vendor_id=vendor_id).limit(TAB_LIMIT)).all()
    return render_template("vendors/tab_assessments.html", vendor=vendor, tab="overview", assessments=found,
                           today=_today(), labels=forms.RESULT_LABELS)


def _assessment_form(data: dict | None = None):
    return forms.assessment_form_class(vendor_catalogues().checklist)(data=data)


def _assessment_page(vendor: Vendor, form, *, assessment=None, status: int = 200):
    return render_template("vendors/assessment.html", vendor=vendor, tab="overview", form=form, assessment=assessment,
                           checklist=vendor_catalogues().checklist, approval_form=forms.ApprovalForm(formdata=None),
                           labels=forms.RESULT_LABELS, answer_labels=forms.ANSWER_LABELS,
                           locations=forms.LOCATION_LABELS, today=_today()), status


def _save_assessment(form, action) -> bool:
    """Validate the form through the API's schema and run the use case; False (errors on the form) when refused."""
    if not form.validate_on_submit():
        return False
    data = load(form, schemas.AssessmentCreateSchema(), forms.ASSESSMENT_FIELDS,
                extra={"answers": forms.answers_given(form, vendor_catalogues().checklist)})
    if data is None:
        return False
    try:
        action(data)
    except DomainError as error:
        error.errors = _answers_beside_items(error.errors, vendor_catalogues().checklist)
        refuse(form, error)
        return False
    return True


def _answers_beside_items(errors: dict, checklist) -> dict:
    """The API names an answer's error by its place in the list; the page shows it beside that item's field."""
    answers = errors.get("answers") if isinstance(errors, dict) else None
    if not isinstance(answers, dict):
        return errors
    keys = checklist.item_keys()
    out = {k: v for k, v in errors.items() if k != "answers"}
    for index, problems in answers.items():
        item = keys[int(index)] if str(index).isdigit() and int(index) < len(keys) else None
        for name, messages in (problems.items() if isinstance(problems, dict) else [("result", problems)]):
            target = forms.item_field(item, "explanation" if name == "explanation" else "result") if item else "answers"
            out.setdefault(target, []).extend(messages if isinstance(messages, list) else [messages])
    return out


@bp.route("/vendors/<int:vendor_id>/assessments/new", methods=["GET", "POST"])
@require(Permission.assessment_record)
def new_assessment(vendor_id: int):
    vendor = _vendor_or_404(vendor_id)
    if not _save_assessment(form := _assessment_form(), lambda data: assessments.record_assessment(
            session=db.session, vendor_id=vendor_id, data=data, checklist=vendor_catalogues().checklist,
            actor=actor()[0], now=request_now(), today=_today())):
        if not form.is_submitted():
            form = _assessment_form({"assessed_on": _today(), **_defaults_for(vendor)})
        return _assessment_page(vendor, form, status=422 if form.is_submitted() else 200)
    flash(_("Assessment recorded: it waits for a supervisor's approval."), "success")
    return redirect(url_for(".assessments_tab", vendor_id=vendor_id))


def _defaults_for(vendor: Vendor) -> dict:
    """A new assessment starts with the items that do not apply to the vendor's category marked so."""
    checklist = vendor_catalogues().checklist
    return {forms.item_field(item.key, "applies"): "yes" if checklist.applies_by_default(item, vendor.category.value) else "no"
            for item in checklist.items()}


@bp.route("/assessments/<int:assessment_id>", methods=["GET", "POST"])
@require(Permission.read)
def assessment_page(assessment_id: int):
    assessment = db.session.get(assessments.VendorAssessment, assessment_id)
    if assessment is None:
        abort(404)
    form = _assessment_form({**{name: getattr(assessment, name) for name in forms.ASSESSMENT_FIELDS},
                             "service_location": assessment.service_location.value, "result": assessment.result.value,
                             "version": assessment.version, **forms.answer_values(assessment.answers)})
    return _assessment_page(assessment.vendor, form, assessment=assessment)


@bp.post("/assessments/<int:assessment_id>/edit")
@require(Permission.assessment_record)
def edit_assessment(assessment_id: int):
    assessment = db.session.get(assessments.VendorAssessment, assessment_id)
    if assessment is None:
        abort(404)
    form = _assessment_form()
    raw = (form.version.data or "").strip()
    if _save_assessment(form, lambda data: assessments.update_assessment(
            session=db.session, assessment_id=assessment_id, data=data, checklist=vendor_catalogues().checklist,
            expected_version=int(raw) if raw.isdigit() and len(raw) < 10 else None, now=request_now(), today=_today())):
        flash(_("Assessment saved."), "success")
        return redirect(url_for(".assessment_page", assessment_id=assessment_id))
    return _assessment_page(assessment.vendor, form, assessment=assessment, status=422)


@bp.post("/assessments/<int:assessment_id>/approval")
@require(Permission.assessment_approve)
def approve_assessment(assessment_id: int):
    assessment = db.session.get(assessments.VendorAssessment, assessment_id)
    if assessment is None:
        abort(404)
    form = forms.ApprovalForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        assessments.approve_assessment(session=db.session, assessment_id=assessment_id, actor=actor()[0],
                                       note=(form.note.data or "").strip() or None, now=request_now())
    except DomainError as error:
        db.session.rollback()
        flash(refusal(error), "error")
    else:
        flash(_("Assessment approved."), "success")
    return redirect(url_for(".assessment_page", assessment_id=assessment_id))

