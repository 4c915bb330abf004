"""Web pages of the incidents area: the one-minute report form, the incident page and its forms.

Handlers are thin: parse the form (through the API's schema), call one service function, redirect to
the incident page; on a refusal, show the page again with the form as typed and the errors beside it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from incident_service.api_common import actor, catalogues, registry, request_now
from incident_service.auth.decorators import actor_can, require
from incident_service.auth.permissions import Permission
from incident_service.cases import filings as filing_cases, incidents as cases
from incident_service.errors import DomainError
from incident_service.extensions import db
from incident_service.incidents import remediation as remediations, schemas, service
from incident_service.incidents.derived import contract_in_force
from incident_service.web import incident_forms as forms
from incident_service.web import wording
from incident_service.web.common import form_sent, localtime
from incident_service.incidents.figures import contracts_by_vendor, incident_figures
from incident_service.incidents.models import Incident, IncidentStatus, Remediation
from incident_service.reporting import board, drafts, schemas as reporting_schemas, service as clocks
from incident_service.reporting.models import OPEN_STATES, DeadlineState
from incident_service.vendors.changes import VendorChange
from incident_service.vendors.models import Contract, ContractSystem, System, Vendor
from incident_service.web.forms import LOCAL_FORMATS, load, now_in_zone, refuse

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


def _change_choices(vendor_id: int | None) -> list[tuple[int | str, str]]:
    """The chosen vendor's changes, newest first (the service also refuses one started after awareness)."""
    rows = db.session.execute(
        sa.select(VendorChange.id, VendorChange.title, VendorChange.planned_start, Vendor.name).join(Vendor)
        .where(VendorChange.vendor_id == vendor_id).order_by(VendorChange.planned_start.desc()).limit(500)
    ).all() if vendor_id else []
    return [("", _("None"))] + [(r.id, f"#{r.id} {r[3]} — {r.title} ({localtime(r.planned_start)})") for r in rows]


def _fill(form) -> None:
    chosen = form.vendor_id.data
    chosen = chosen if isinstance(chosen, int) and 0 < chosen < 2**31 else None
    form.vendor_id.choices = _vendor_choices(chosen)
    form.system_ids.choices = _system_choices()
    if hasattr(form, "contract_id"):
        form.contract_id.choices = _contract_choices()
    if hasattr(form, "caused_by_change_id"):
        form.caused_by_change_id.choices = _change_choices(chosen)


# -- the report form ---------------------------------------------------------------------------------

def _awareness_confirmed(form, now: datetime) -> bool:
    """Awareness more than CONFIRM_AWARENESS_DAYS back is asked about once: the box beside it confirms it."""
    aware = form.aware_at.data
    if aware is None or aware >= now - timedelta(days=forms.CONFIRM_AWARENESS_DAYS) or form.confirm_old_awareness.data:
        return True
    days = (now - aware).days
    form.confirm_old_awareness.errors = [_("This is %(days)s days ago: tick the box to confirm it, or correct the time.", days=days)]
    return False


def _needs_awareness_confirmation(form, now: datetime) -> bool:
    aware = form.aware_at.data
    return bool(form.confirm_old_awareness.errors) or (aware is not None and aware < now - timedelta(days=forms.CONFIRM_AWARENESS_DAYS))


@bp.route("/incidents/new", methods=["GET", "POST"])
@require(Permission.incident_write)
def report():
    form = forms.ReportForm()
    _fill(form)
    now = request_now()
    if not form.is_submitted():
        form.aware_at.data = now_in_zone(now)
    elif form.validate() and _awareness_confirmed(form, now):
        data = load(form, schemas.IncidentCreateSchema(), forms.REPORT_FIELDS)
        if data is not None:
            data["system_ids"] = sorted(data.get("system_ids") or [])
            try:
                incident = cases.open_incident(
                    session=db.session, data=data, actor=actor()[0], registry=registry(),
                    default_policies=current_app.config["DEFAULT_POLICIES"], now=now, reporter_id=actor()[1])
            except DomainError as error:
                refuse(form, error)
            else:
                form_sent("report")
                flash(_("Incident #%(id)s is recorded; its clocks are running.", id=incident.id), "success")
                return redirect(url_for(".incident_page", incident_id=incident.id))
    status = 422 if form.is_submitted() else 200
    return render_template("incidents/report.html", form=form, server_now=now,
                           ask_confirmation=_needs_awareness_confirmation(form, now)), status


def _local_time(value: str | None) -> datetime | None:
    zone = registry().zone
    for fmt in LOCAL_FORMATS:
        try:
            return datetime.strptime(value or "", fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    return None


@bp.get("/incidents/new/contract")
@require(Permission.incident_write)
def contract_for_report():
    """The vendor's contract in force on the day of awareness that covers the chosen systems (the same rule the figures
    measure an incident by), for the report form to fill in."""
    vendor_id = request.args.get("vendor_id", type=int)
    system_ids = [int(v) for v in request.args.getlist("system_ids") if v.isdigit() and len(v) < 10]
    aware = _local_time(request.args.get("aware_at")) or request_now()
    found = None
    if vendor_id and 0 < vendor_id < 2**31 and system_ids:
        contracts = contracts_by_vendor(db.session, [vendor_id]).get(vendor_id, [])
        found = contract_in_force(contracts, system_ids=system_ids, day=aware.astimezone(registry().zone).date())
    note = (_("Filled in: %(reference)s, in force on that day and covering a chosen system.", reference=found.reference)
            if found else "")
    return jsonify({"contract_id": found.id if found else None, "note": note})


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
            selectinload(Incident.systems), selectinload(Incident.remediations), selectinload(Incident.caused_by_change),
            selectinload(Incident.contract).selectinload(Contract.covered).joinedload(ContractSystem.system),
        )
    )
    if incident is None:
        abort(404)
    return incident


def draft_context() -> drafts.DraftContext:
    return drafts.DraftContext.from_config(current_app.config)


def _edit_values(incident: Incident) -> dict:
    values = {name: getattr(incident, name) for name in forms.EDIT_FIELDS if name not in ("system_ids", "kind")}
    values.update(kind=incident.kind.value, system_ids=[s.id for s in incident.systems], version=incident.version)
    if not values.get("public_notice_text") and service.impact_affected(incident):
        # The public notice is its own text: pre-filled from the incident, edited before it is filed.
        values["public_notice_text"] = drafts.public_notice(incident, context=draft_context(), zone=registry().zone)
    return values


def is_zh() -> bool:
    return str(get_locale()).startswith("zh")


def _criteria_choices() -> list[tuple[str, str]]:
    return [(c.key, c.label_zh if is_zh() else c.label_en) for c in catalogues().major_criteria.entries]


def _render_incident(incident_id: int, status: int = 200, **given):
    """The incident page; ``given`` holds forms that were just refused, shown as typed with their errors."""
    incident = _load_incident(incident_id)
    now, reg = request_now(), registry()
    deadlines = clocks.incident_deadlines(db.session, incident.id)
    filings = clocks.filings_of(db.session, incident.id)
    figures = incident_figures(session=db.session, incident=incident, now=now, zone=reg.zone)
    states = {d.id: d.state_at(now) for d in deadlines}
    # One "record filing" per policy clock: a filing stops only its own policy's clock.
    running = [d for d in deadlines if d.state in OPEN_STATES and incident.status != IncidentStatus.closed]
    filing_forms, waiver_forms = given.pop("filing_forms", {}), given.pop("waiver_forms", {})
    justify_forms = given.pop("justify_forms", {})
    for d in running:
        filing_forms.setdefault(d.id, forms.FilingForm(prefix=f"filing-{d.id}", formdata=None, data={"submitted_at": now_in_zone(now)}))
        if states[d.id] != DeadlineState.missed:  # a miss cannot be waived after its due time, only justified
            waiver_forms.setdefault(d.id, forms.WaiverForm(prefix=f"waiver-{d.id}", formdata=None))
    for d in deadlines:
        if states[d.id] in (DeadlineState.missed, DeadlineState.met_late) and not d.justification:
            justify_forms.setdefault(d.id, forms.JustificationForm(prefix=f"justify-{d.id}", formdata=None))
    edit_form = given.pop("edit_form", None) or forms.EditIncidentForm(prefix="edit", formdata=None, data=_edit_values(incident))
    _fill(edit_form)
    rem_forms = given.pop("rem_forms", {})
    for r in incident.remediations:
        rem_forms.setdefault(r.id, forms.RemediationUpdateForm(prefix=f"rem-{r.id}", formdata=None, data={
            "status": r.status.value, "owner": r.owner, "due_on": r.due_on, "evidence": r.evidence, "version": r.version}))
    policies_form = given.pop("policies_form", None) or forms.PoliciesForm(
        prefix="policies", formdata=None, data={"policies": list(incident.policies or []), "version": incident.version})
    policies_form.policies.choices = [(k, f"{reg.get(k).title_zh if is_zh() else reg.get(k).title_en} ({k})") for k in reg.keys()]
    reportability_form = given.pop("reportability_form", None) or forms.ReportabilityForm(
        prefix="major", formdata=None, data={"version": incident.version, "criteria": list(incident.major_criteria or []),
                                              "major": None if incident.major_incident is None else ("yes" if incident.major_incident else "no")})
    reportability_form.criteria.choices = _criteria_choices()
    open_remediation = [r for r in incident.remediations if r.status in cases.OPEN_REMEDIATION]
    context = {
        "incident": incident,
        "deadlines": deadlines,
        "bands": {d.id: board.band(states[d.id], d.seconds_left(now),
                                   board.warning_seconds(reg, d.policy_key, d.clock_key)) for d in deadlines},
        "warnings": {d.id: board.warning_seconds(reg, d.policy_key, d.clock_key) for d in deadlines},
        "states": {d.id: states[d.id].value for d in deadlines},
        "left": {d.id: d.seconds_left(now) for d in deadlines},
        "filings": filings,
        "drafts": drafts.drafts_for(incident=incident, deadlines=deadlines, registry=reg, figures=figures, filings=filings,
                                    context=draft_context(), zone=reg.zone, now=now, criteria_labels=dict(_criteria_choices())),
        "figures": figures,
        "policy_titles": {k: (reg.get(k).title_zh if is_zh() else reg.get(k).title_en) for k in reg.keys()},
        "policy_notes": {(p, c.key): (c.note_zh if is_zh() else c.note_en) for p in reg.keys() for c in reg.get(p).clocks},
        "justify_forms": justify_forms,
        "policies_form": policies_form,
        "reportability_form": reportability_form,
        "criteria_labels": dict(_criteria_choices()),
        "open_remediation": open_remediation,
        "still_down": incident.service_down_at is not None and incident.service_restored_at is None,
        "timeline": _timeline(incident.id, deadlines, filings),
        "overdue_remediations": {r.id for r in incident.remediations if remediations.is_overdue(r, now, reg.zone)},
        "filing_forms": filing_forms,
        "waiver_forms": waiver_forms,
        "edit_form": edit_form,
        "awareness_form": given.pop("awareness_form", None) or forms.AwarenessForm(
            prefix="aware", formdata=None, data={"aware_at": incident.aware_at, "version": incident.version}),
        "status_form": given.pop("status_form", None) or forms.StatusForm(prefix="status", formdata=None, data={"version": incident.version}),
        "unresolved": [d for d in deadlines if d.state in OPEN_STATES],
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


def record_context(incident_id: int) -> dict:
    """What the printable record shows: the page and the auditor's pack (its PDF) render it with one template."""
    incident = _load_incident(incident_id)
    now, reg = request_now(), registry()
    deadlines = clocks.incident_deadlines(db.session, incident.id)
    filings = clocks.filings_of(db.session, incident.id)
    return {
        "incident": incident, "deadlines": deadlines, "now": now, "filings": filings,
        "states": {d.id: d.state_at(now).value for d in deadlines},
        "figures": incident_figures(session=db.session, incident=incident, now=now, zone=reg.zone),
        "criteria_labels": dict(_criteria_choices()),
        "timeline": _timeline(incident.id, deadlines, filings),
        "labels": {"status": forms.STATUS_LABELS, "actions": forms.ACTION_LABELS, "rem_status": forms.REMEDIATION_STATUS_LABELS},
        "firm_name": current_app.config.get("FIRM_NAME", ""),
    }


@bp.route("/incidents/<int:incident_id>/print")
@require(Permission.export)
def incident_print(incident_id: int):
    return render_template("incidents/print.html", pdf=False, **record_context(incident_id))


def _timeline(incident_id: int, deadlines, filings) -> list[tuple]:
    """The incident's timeline as (event, its line in the page's language)."""
    labels = {name: f.args[0] for name in forms.EDIT_FIELDS if (f := getattr(forms.EditIncidentForm, name, None)) is not None and f.args}
    by_id, filed = {d.id: d for d in deadlines}, {f.id: f for f in filings}
    events = db.session.scalars(service.timeline_of(db.session, incident_id)).all()
    return [(e, wording.timeline_line(e, deadlines=by_id, filings=filed, field_labels=labels)) for e in events]


def _done(incident_id: int, message: str):
    flash(message, "success")
    return redirect(url_for(".incident_page", incident_id=incident_id))


def _version(form) -> int | None:
    raw = (form.version.data or "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


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
                cases.update_incident(session=db.session, incident_id=incident_id, data=data, expected_version=_version(form),
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
    if form.validate() and _awareness_confirmed(form, request_now()):
        data = load(form, schemas.AwarenessCorrectionSchema(), ("aware_at", "reason"))
        if data is not None:
            try:
                cases.correct_awareness(session=db.session, incident_id=incident_id, aware_at=data["aware_at"],
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
            cases.update_incident(session=db.session, incident_id=incident_id, data={"status": IncidentStatus(form.status.data)},
                                  expected_version=_version(form), actor=actor()[0], registry=registry(), now=request_now(),
                                  confirm_open_remediation=bool(form.confirm_open_remediation.data))
        except DomainError as error:
            refuse(form, error)
        else:
            return _done(incident_id, _("The incident is closed.") if form.status.data == "closed" else _("The incident is reopened."))
    elif not form.status.errors:
        form.status.errors = [_("Choose to close or to reopen.")]
    return _render_incident(incident_id, 422, status_form=form)


@bp.route("/deadlines/<int:deadline_id>/filing", methods=["POST"])
@require(Permission.filing_record)
def record_filing(deadline_id: int):
    deadline = _deadline_or_404(deadline_id)
    incident_id = deadline.incident_id
    form = forms.FilingForm(prefix=f"filing-{deadline_id}")
    if form.validate():
        data = load(form, reporting_schemas.FilingCreateSchema(), ("submitted_at", "reference", "text"),
                    extra={"clock": deadline.stopped_by, "policy": deadline.policy_key})
        if data is not None:
            try:
                filing_cases.record_filing(session=db.session, incident_id=incident_id, data=data, actor=actor()[0],
                                           registry=registry(), now=request_now(),
                                           may_backdate=actor_can(Permission.filing_backdate),
                                           backdate_minutes=current_app.config["FILING_BACKDATE_MINUTES"])
            except DomainError as error:
                refuse(form, error)
            else:
                form_sent(f"filing-{deadline_id}")
                return _done(incident_id, _("The filing is recorded."))
    return _render_incident(incident_id, 422, filing_forms={deadline_id: form})


@bp.route("/deadlines/<int:deadline_id>/waiver", methods=["POST"])
@require(Permission.deadline_waive)
def waive(deadline_id: int):
    deadline = _deadline_or_404(deadline_id)
    incident_id = deadline.incident_id
    form = forms.WaiverForm(prefix=f"waiver-{deadline_id}")
    if deadline.state not in OPEN_STATES:  # the page shows no waiver form for a stopped clock: say why here
        flash(_("This clock has stopped: there is nothing to waive."), "error")
    elif form.validate():
        try:
            filing_cases.waive_deadline(session=db.session, deadline_id=deadline_id, reason=form.reason.data,
                                        actor=actor()[0], registry=registry(), now=request_now())
        except DomainError as error:
            refuse(form, error)
        else:
            return _done(incident_id, _("The clock is waived."))
    return _render_incident(incident_id, 422, waiver_forms={deadline_id: form})


@bp.route("/deadlines/<int:deadline_id>/justification", methods=["POST"])
@require(Permission.deadline_justify)
def justify(deadline_id: int):
    incident_id = _deadline_or_404(deadline_id).incident_id
    form = forms.JustificationForm(prefix=f"justify-{deadline_id}")
    if form.validate():
        try:
            filing_cases.justify_deadline(session=db.session, deadline_id=deadline_id, reason=form.reason.data,
                                          actor=actor()[0], now=request_now())
        except DomainError as error:
            refuse(form, error)
        else:
            return _done(incident_id, _("The justification is recorded; the deadline stays missed."))
    return _render_incident(incident_id, 422, justify_forms={deadline_id: form})


@bp.route("/incidents/<int:incident_id>/policies", methods=["POST"])
@require(Permission.policies_change)
def change_policies(incident_id: int):
    form = forms.PoliciesForm(prefix="policies")
    form.policies.choices = [(k, k) for k in registry().keys()]
    if form.validate():
        try:
            cases.update_incident(session=db.session, incident_id=incident_id,
                                  data={"policies": list(form.policies.data), "reason": form.reason.data},
                                  expected_version=_version(form), actor=actor()[0], registry=registry(), now=request_now())
        except DomainError as error:
            refuse(form, error)
        else:
            return _done(incident_id, _("The reporting policies are changed; the clocks follow."))
    return _render_incident(incident_id, 422, policies_form=form)


@bp.route("/incidents/<int:incident_id>/reportability", methods=["POST"])
@require(Permission.reportability_decide)
def decide_reportability(incident_id: int):
    form = forms.ReportabilityForm(prefix="major")
    form.criteria.choices = _criteria_choices()
    if form.validate():
        try:
            cases.decide_reportability(session=db.session, incident_id=incident_id, major=form.major.data == "yes",
                                       criteria=list(form.criteria.data or []), reason=form.reason.data,
                                       expected_version=_version(form), actor=actor()[0], registry=registry(),
                                       catalogues=catalogues(), now=request_now())
        except DomainError as error:
            refuse(form, error)
        else:
            return _done(incident_id, _("The reportability decision is recorded."))
    return _render_incident(incident_id, 422, reportability_form=form)


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
