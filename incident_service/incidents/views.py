"""Web pages of the incidents area: the one-minute report form, the incident page and its forms.

Handlers are thin: parse the form (through the API's schema), call one service function, redirect to
the incident page; on a refusal, show the page again with the form as typed and the errors beside it.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from incident_service.api_common import actor, registry, request_now
from incident_service.auth.decorators import require
from incident_service.auth.permissions import Permission
from incident_service.errors import DomainError
from incident_service.extensions import db
from incident_service.incidents import forms, remediation as remediations, schemas, service
from incident_service.incidents.models import Incident, IncidentStatus, Remediation
from incident_service.reporting import board, drafts, service as clocks
from incident_service.reporting.models import OPEN_STATES
from incident_service.vendors.models import Contract, ContractSystem, System, Vendor
from incident_service.webforms import load, now_in_zone, refuse

bp = Blueprint("incidents_web", __name__)
PAGE_SIZE = 50


# -- choices for the forms ---------------------------------------------------------------------------

def _vendor_choices(include_id: int | None = None) -> list[tuple[int | str, str]]:
    rows = db.session.execute(
        sa.select(Vendor.id, Vendor.name).where(sa.or_(Vendor.is_active.is_(True), Vendor.id == (include_id or 0))).order_by(Vendor.name)
    ).all()
    return [("", _("Choose…"))] + [(r.id, r.name) for r in rows]


def _system_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(sa.select(System.id, System.name, System.is_core).order_by(System.is_core.desc(), System.name)).all()
    return [(r.id, f"{r.name}{' ★' if r.is_core else ''}") for r in rows]


def _contract_choices() -> list[tuple[int | str, str]]:
    rows = db.session.execute(
        sa.select(Contract.id, Contract.reference, Contract.title, Vendor.name).join(Vendor).order_by(Vendor.name, Contract.reference)
    ).all()
    return [("", _("None"))] + [(r.id, f"{r[3]} — {r.reference} {r.title}") for r in rows]


def _fill(form) -> None:
    form.vendor_id.choices = _vendor_choices(form.vendor_id.data if isinstance(form.vendor_id.data, int) else None)
    form.system_ids.choices = _system_choices()
    if hasattr(form, "contract_id"):
        form.contract_id.choices = _contract_choices()


# -- the report form ---------------------------------------------------------------------------------

@bp.route("/incidents/new", methods=["GET", "POST"])
@require(Permission.incident_write)
def report():
    form = forms.ReportForm()
    _fill(form)
    if not form.is_submitted():
        form.aware_at.data = now_in_zone(request_now())
    elif form.validate():
        data = load(form, schemas.IncidentCreateSchema(), forms.REPORT_FIELDS)
        if data is not None:
            data["system_ids"] = sorted(data.get("system_ids") or [])
            try:
                incident = service.open_incident(
                    session=db.session, data=data, actor=actor()[0], registry=registry(),
                    default_policies=current_app.config["DEFAULT_POLICIES"], now=request_now(), reporter_id=actor()[1])
            except DomainError as error:
                refuse(form, error)
            else:
                flash(_("Incident #%(id)s is recorded; its clocks are running.", id=incident.id), "success")
                return redirect(url_for(".incident_page", incident_id=incident.id))
    status = 422 if form.is_submitted() else 200
    return render_template("incidents/report.html", form=form), status


# -- the list ---------------------------------------------------------------------------------------

@bp.route("/incidents")
@require(Permission.read)
def incident_list():
    status = request.args.get("status") or None
    vendor_id = request.args.get("vendor_id", type=int)
    page = max(request.args.get("page", 1, type=int), 1)
    try:
        status_value = IncidentStatus(status) if status else None
    except ValueError:
        status_value = None
    stmt = service.incidents_query(status=status_value, vendor_id=vendor_id, q=(request.args.get("q") or "").strip() or None)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    incidents = db.session.scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).unique().all()
    return render_template("incidents/list.html", incidents=incidents, total=total, page=page, page_size=PAGE_SIZE,
                           vendors=_vendor_choices()[1:], statuses=forms.STATUS_LABELS, status=status, vendor_id=vendor_id)


# -- the incident page -----------------------------------------------------------------------------

def _load_incident(incident_id: int) -> Incident:
    incident = db.session.scalar(
        sa.select(Incident).where(Incident.id == incident_id).options(
            selectinload(Incident.systems), selectinload(Incident.remediations),
            selectinload(Incident.contract).selectinload(Contract.covered).joinedload(ContractSystem.system),
        )
    )
    if incident is None:
        abort(404)
    return incident


def _edit_values(incident: Incident) -> dict:
    values = {name: getattr(incident, name) for name in forms.EDIT_FIELDS if name not in ("system_ids", "kind")}
    values.update(kind=incident.kind.value, system_ids=[s.id for s in incident.systems], version=incident.version)
    return values


def _render_incident(incident_id: int, status: int = 200, **given):
    """The incident page; ``given`` holds forms that were just refused, shown as typed with their errors."""
    incident = _load_incident(incident_id)
    now, reg = request_now(), registry()
    deadlines = clocks.incident_deadlines(db.session, incident.id)
    kinds = clocks.filing_kinds(incident, reg)
    running = [d for d in deadlines if d.state in OPEN_STATES]
    filing_forms, waiver_forms = given.pop("filing_forms", {}), given.pop("waiver_forms", {})
    for d in running:
        if d.id not in filing_forms:
            f = forms.FilingForm(prefix=f"filing-{d.id}", formdata=None, data={"submitted_at": now_in_zone(now)})
            filing_forms[d.id] = f
        policies = kinds.get(d.stopped_by, [])
        filing_forms[d.id].policy.choices = [("", _("Every clock of this kind"))] + [(p, p) for p in policies]
        filing_forms[d.id].show_policy = len(policies) > 1
        waiver_forms.setdefault(d.id, forms.WaiverForm(prefix=f"waiver-{d.id}", formdata=None))
    edit_form = given.pop("edit_form", None) or forms.EditIncidentForm(prefix="edit", formdata=None, data=_edit_values(incident))
    _fill(edit_form)
    rem_forms = given.pop("rem_forms", {})
    for r in incident.remediations:
        rem_forms.setdefault(r.id, forms.RemediationUpdateForm(prefix=f"rem-{r.id}", formdata=None, data={
            "status": r.status.value, "owner": r.owner, "due_on": r.due_on, "evidence": r.evidence, "version": r.version}))
    context = {
        "incident": incident,
        "deadlines": deadlines,
        "bands": {d.id: board.band(clocks.effective_state(d, now), clocks.seconds_left(d, now),
                                   board.warning_seconds(reg, d.policy_key, d.clock_key)) for d in deadlines},
        "warnings": {d.id: board.warning_seconds(reg, d.policy_key, d.clock_key) for d in deadlines},
        "states": {d.id: clocks.effective_state(d, now).value for d in deadlines},
        "left": {d.id: clocks.seconds_left(d, now) for d in deadlines},
        "filings": clocks.filings_of(db.session, incident.id),
        "drafts": drafts.drafts_for(incident=incident, deadlines=deadlines, zone=reg.zone, now=now),
        "figures": service.incident_figures(session=db.session, incident=incident, now=now, zone=reg.zone),
        "timeline": db.session.scalars(service.timeline_of(db.session, incident.id)).all(),
        "overdue_remediations": {r.id for r in incident.remediations if remediations.is_overdue(r, now, reg.zone)},
        "filing_forms": filing_forms,
        "waiver_forms": waiver_forms,
        "edit_form": edit_form,
        "awareness_form": given.pop("awareness_form", None) or forms.AwarenessForm(
            prefix="aware", formdata=None, data={"aware_at": incident.aware_at, "version": incident.version}),
        "status_form": given.pop("status_form", None) or forms.StatusForm(prefix="status", formdata=None, data={"version": incident.version}),
        "remediation_form": given.pop("remediation_form", None) or forms.RemediationForm(prefix="newrem", formdata=None),
        "rem_forms": rem_forms,
        "verify_forms": given.pop("verify_forms", {}),
        "VerifyForm": forms.VerifyForm,
        "labels": {"status": forms.STATUS_LABELS, "actions": forms.ACTION_LABELS, "rem_status": forms.REMEDIATION_STATUS_LABELS},
        "server_now": now,
        "open_errors": status != 200,
    }
    return render_template("incidents/detail.html", **context), status


@bp.route("/incidents/<int:incident_id>")
@require(Permission.read)
def incident_page(incident_id: int):
    return _render_incident(incident_id)


@bp.route("/incidents/<int:incident_id>/print")
@require(Permission.export)
def incident_print(incident_id: int):
    incident = _load_incident(incident_id)
    now, reg = request_now(), registry()
    deadlines = clocks.incident_deadlines(db.session, incident.id)
    return render_template(
        "incidents/print.html", incident=incident, deadlines=deadlines, now=now,
        states={d.id: clocks.effective_state(d, now).value for d in deadlines},
        filings=clocks.filings_of(db.session, incident.id),
        figures=service.incident_figures(session=db.session, incident=incident, now=now, zone=reg.zone),
        timeline=db.session.scalars(service.timeline_of(db.session, incident.id)).all(),
        labels={"status": forms.STATUS_LABELS, "actions": forms.ACTION_LABELS, "rem_status": forms.REMEDIATION_STATUS_LABELS},
    )


def _done(incident_id: int, message: str):
    flash(message, "success")
    return redirect(url_for(".incident_page", incident_id=incident_id))


def _version(form) -> int | None:
    raw = (form.version.data or "").strip()
    return int(raw) if raw.isdigit() else None


# -- forms on the incident page ----------------------------------------------------------------------

@bp.route("/incidents/<int:incident_id>/edit", methods=["POST"])
@require(Permission.incident_write)
def edit(incident_id: int):
    form = forms.EditIncidentForm(prefix="edit")
    _fill(form)
    if form.validate():
        data = load(form, schemas.IncidentUpdateSchema(), forms.EDIT_FIELDS)
        if data is not None:
            data["system_ids"] = sorted(data.get("system_ids") or [])
            try:
                service.update_incident(session=db.session, incident_id=incident_id, data=data, expected_version=_version(form),
                                        actor=actor()[0], registry=registry(), now=request_now())
            except DomainError as error:
                refuse(form, error)
            else:
                return _done(incident_id, _("The incident is updated."))
    return _render_incident(incident_id, 422, edit_form=form)


@bp.route("/incidents/<int:incident_id>/awareness", methods=["POST"])
@require(Permission.awareness_correct)
def correct_awareness(incident_id: int):
    form = forms.AwarenessForm(prefix="aware")
    if form.validate():
        data = load(form, schemas.AwarenessCorrectionSchema(), ("aware_at", "reason"))
        if data is not None:
            try:
                service.correct_awareness(session=db.session, incident_id=incident_id, aware_at=data["aware_at"],
                                          reason=data["reason"], actor=actor()[0], registry=registry(), now=request_now(),
                                          expected_version=_version(form))
            except DomainError as error:
                refuse(form, error)
            else:
                return _done(incident_id, _("The awareness time is corrected; the clocks moved with it."))
    return _render_incident(incident_id, 422, awareness_form=form)


@bp.route("/incidents/<int:incident_id>/status", methods=["POST"])
@require(Permission.incident_close)
def change_status(incident_id: int):
    form = forms.StatusForm(prefix="status")
    if form.validate() and form.status.data in (IncidentStatus.closed.value, IncidentStatus.open.value):
        try:
            service.update_incident(session=db.session, incident_id=incident_id, data={"status": IncidentStatus(form.status.data)},
                                    expected_version=_version(form), actor=actor()[0], registry=registry(), now=request_now())
        except DomainError as error:
            refuse(form, error)
        else:
            return _done(incident_id, _("The incident is closed.") if form.status.data == "closed" else _("The incident is reopened."))
    return _render_incident(incident_id, 422, status_form=form)


@bp.route("/deadlines/<int:deadline_id>/filing", methods=["POST"])
@require(Permission.filing_record)
def record_filing(deadline_id: int):
    deadline = _deadline_or_404(deadline_id)
    incident_id = deadline.incident_id
    form = forms.FilingForm(prefix=f"filing-{deadline_id}")
    form.policy.choices = [("", "")] + [(p, p) for p in clocks.filing_kinds(deadline.incident, registry()).get(deadline.stopped_by, [])]
    if form.validate():
        data = load(form, schemas.FilingCreateSchema(), ("policy", "submitted_at", "reference", "text"),
                    extra={"clock": deadline.stopped_by})
        if data is not None:
            try:
                clocks.record_filing(session=db.session, incident_id=incident_id, data=data, actor=actor()[0],
                                     registry=registry(), now=request_now())
            except DomainError as error:
                refuse(form, error)
            else:
                return _done(incident_id, _("The filing is recorded."))
    return _render_incident(incident_id, 422, filing_forms={deadline_id: form})


@bp.route("/deadlines/<int:deadline_id>/waiver", methods=["POST"])
@require(Permission.deadline_waive)
def waive(deadline_id: int):
    deadline = _deadline_or_404(deadline_id)
    incident_id = deadline.incident_id
    form = forms.WaiverForm(prefix=f"waiver-{deadline_id}")
    if form.validate():
        try:
            clocks.waive_deadline(session=db.session, deadline_id=deadline_id, reason=form.reason.data, actor=actor()[0],
                                  registry=registry(), now=request_now())
        except DomainError as error:
            refuse(form, error)
        else:
            return _done(incident_id, _("The clock is waived."))
    return _render_incident(incident_id, 422, waiver_forms={deadline_id: form})


def _deadline_or_404(deadline_id: int):
    try:
        return clocks.get_deadline(session=db.session, deadline_id=deadline_id)
    except DomainError:
        abort(404)


# -- remediation ---------------------------------------------------------------------------------

@bp.route("/incidents/<int:incident_id>/remediations", methods=["POST"])
@require(Permission.remediation_write)
def add_remediation(incident_id: int):
    form = forms.RemediationForm(prefix="newrem")
    if form.validate():
        data = load(form, schemas.RemediationCreateSchema(), ("action", "title", "owner", "due_on", "description"), drop_none=True)
        if data is not None:
            try:
                remediations.add_remediation(session=db.session, incident_id=incident_id, data=data, actor=actor()[0], now=request_now())
            except DomainError as error:
                refuse(form, error)
            else:
                return _done(incident_id, _("The action is added."))
    return _render_incident(incident_id, 422, remediation_form=form)


def _remediation_or_404(remediation_id: int) -> Remediation:
    remediation = db.session.get(Remediation, remediation_id)
    if remediation is None:
        abort(404)
    return remediation


@bp.route("/remediations/<int:remediation_id>", methods=["POST"])
@require(Permission.remediation_write)
def update_remediation(remediation_id: int):
    incident_id = _remediation_or_404(remediation_id).incident_id
    form = forms.RemediationUpdateForm(prefix=f"rem-{remediation_id}")
    if form.validate():
        data = load(form, schemas.RemediationUpdateSchema(), ("status", "owner", "due_on", "evidence"))
        if data is not None:
            try:
                remediations.update_remediation(session=db.session, remediation_id=remediation_id, data=data,
                                                expected_version=_version(form), actor=actor()[0], now=request_now())
            except DomainError as error:
                refuse(form, error)
            else:
                return _done(incident_id, _("The action is updated."))
    return _render_incident(incident_id, 422, rem_forms={remediation_id: form})


@bp.route("/remediations/<int:remediation_id>/verify", methods=["POST"])
@require(Permission.remediation_verify)
def verify_remediation(remediation_id: int):
    remediation = _remediation_or_404(remediation_id)
    incident_id = remediation.incident_id
    form = forms.VerifyForm(prefix=f"verify-{remediation_id}")
    if form.validate():
        try:
            remediations.verify_remediation(session=db.session, remediation_id=remediation_id, actor=actor()[0],
                                            now=request_now(), note=(form.note.data or "").strip() or None)
        except DomainError as error:
            refuse(form, error)
        else:
            return _done(incident_id, _("The action is verified."))
    return _render_incident(incident_id, 422, verify_forms={remediation_id: form})
