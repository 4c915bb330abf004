"""Web pages of the vendors area: the list with per-vendor figures, a vendor's history and its exports,
and the admin pages for vendors, systems and contracts."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from incident_service.api_common import registry, request_now, vendor_catalogues
from incident_service.auth.decorators import require
from incident_service.auth.permissions import Permission
from incident_service.cases import vendors as vendor_cases
from incident_service.errors import DomainError
from incident_service.extensions import db
from incident_service.reporting.figures import clock_order, vendor_summaries
from incident_service.reporting.history import vendor_history
from incident_service.reporting.vendor_pages import vendor_overview
from incident_service.vendors import schemas, service
from incident_service.web import exports
from incident_service.web import vendor_forms as forms
from incident_service.vendors.models import Contract, System, Vendor
from incident_service.web.forms import load, refuse
from incident_service.web.wording import is_zh

bp = Blueprint("vendors_web", __name__)
HISTORY_PAGE = 50


# -- the list and a vendor's page (auditors) ---------------------------------------------------------

@bp.route("/vendors")
@require(Permission.read)
def vendor_list():
    vendors = db.session.scalars(service.vendors_query()).all()
    figures = vendor_summaries(session=db.session, now=request_now(), zone=registry().zone, clock_order=clock_order(registry()))
    return render_template("vendors/list.html", vendors=vendors, figures=figures, categories=forms.CATEGORY_LABELS)


def _period(form: forms.PeriodForm) -> tuple[datetime | None, datetime | None]:
    """The period's dates as UTC instants: from the start of the first day to the end of the last, in the firm's zone."""
    zone = registry().zone
    start = datetime.combine(form.aware_from.data, time(), zone) if form.aware_from.data else None
    end = datetime.combine(form.aware_to.data + timedelta(days=1), time(), zone) if form.aware_to.data else None
    return start, end


def _history(vendor_id: int, *, page: int = 1, page_size: int | None = HISTORY_PAGE):
    form = forms.PeriodForm(request.args)
    if not form.validate():
        return form, None
    aware_from, aware_to = _period(form)
    if aware_from and aware_to and aware_to <= aware_from:
        form.aware_to.errors = [_("The end of the period cannot precede its start.")]
        return form, None
    history = vendor_history(session=db.session, vendor_id=vendor_id, now=request_now(), zone=registry().zone,
                             registry=registry(), aware_from=aware_from, aware_to=aware_to, page=page, page_size=page_size)
    return form, history


def _vendor_or_404(vendor_id: int) -> Vendor:
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None:
        abort(404)
    return vendor


@bp.route("/vendors/<int:vendor_id>")
@require(Permission.read)
def vendor_page(vendor_id: int):
    """The overview tab: figures, the last approved assessment and its age, open findings and duties."""
    vendor = _vendor_or_404(vendor_id)
    overview = vendor_overview(db.session, vendor=vendor, now=request_now(), zone=registry().zone,
                               clock_order=clock_order(registry()))
    return render_template("vendors/detail.html", vendor=vendor, tab="overview", o=overview,
                           categories=forms.CATEGORY_LABELS, duties=overview.open_duties, findings=overview.findings,
                           server_now=request_now())


@bp.route("/vendors/<int:vendor_id>/incidents")
@require(Permission.read)
def incidents_tab(vendor_id: int):
    """The incidents tab: the vendor's history by period, its figures and exports."""
    vendor = _vendor_or_404(vendor_id)
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    form, history = _history(vendor_id, page=page)
    args = {k: v for k, v in request.args.items() if k in ("aware_from", "aware_to") and v}
    return render_template(
        "vendors/tab_incidents.html", vendor=vendor, tab="incidents", form=form, history=history,
        rows=history.incidents if history else [], page=page,
        pages=max(1, -(-history.total // HISTORY_PAGE)) if history else 1, period_args=args,
    ), (200 if history is not None else 422)


def _export(vendor_id: int, kind: str):
    vendor = _vendor_or_404(vendor_id)
    form, history = _history(vendor_id, page_size=None)
    if history is None:
        abort(400)
    headers, rows = exports.history_table(history, zone=registry().zone, zh=is_zh())
    stamp = request_now().astimezone(registry().zone).strftime("%Y%m%d")
    filename = f"vendor-{vendor.id}-history-{stamp}.{kind}"
    if kind == "csv":
        body, mimetype = exports.to_csv(headers, rows), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(headers, rows, title=vendor.name)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/vendors/<int:vendor_id>/history.csv")
@require(Permission.export)
def history_csv(vendor_id: int):
    return _export(vendor_id, "csv")


@bp.route("/vendors/<int:vendor_id>/history.xlsx")
@require(Permission.export)
def history_xlsx(vendor_id: int):
    return _export(vendor_id, "xlsx")


# -- admin: vendors, systems, contracts -------------------------------------------------------------

@bp.route("/admin/vendors")
@require(Permission.admin_vendors)
def admin_vendors():
    return render_template(
        "vendors/admin.html",
        vendors=db.session.scalars(service.vendors_query()).all(),
        systems=db.session.scalars(service.systems_query()).all(),
        contracts=db.session.scalars(service.contracts_query().options(selectinload(Contract.vendor))).all(),
        categories=forms.CATEGORY_LABELS,
    )


def _vendor_values(vendor: Vendor) -> dict:
    values = {name: getattr(vendor, name) for name in forms.VENDOR_FIELDS}
    values.update(category=vendor.category.value, version=vendor.version,
                  certifications=forms.format_lines([{"name": c.name, "expires_on": c.expires_on} for c in vendor.certifications], ("name", "expires_on")),
                  subcontractors=forms.format_lines(vendor.subcontractors, ("name", "service")))
    return values


def _vendor_extra(form) -> dict:
    return {"certifications": forms.parse_lines(form.certifications.data, ("name", "expires_on")),
            "subcontractors": forms.parse_lines(form.subcontractors.data, ("name", "service"))}


def _contract_values(contract: Contract) -> dict:
    values = {name: getattr(contract, name) for name in forms.CONTRACT_FIELDS if name != "system_ids"}
    values.update(system_ids=[link.system_id for link in contract.covered], version=contract.version)
    for row in contract.clauses:
        values[forms.clause_status_field(row.clause_key)] = row.status.value
        values[forms.clause_section_field(row.clause_key)] = row.section
    for link in contract.covered:
        values[forms.level_field(link.system_id, "rto")] = link.rto_minutes
        values[forms.level_field(link.system_id, "rpo")] = link.rpo_minutes
    return values


def _contract_form(data: dict | None = None):
    """The contract form for today's catalogue of clauses and systems (each with its RTO/RPO fields)."""
    systems = db.session.scalars(service.systems_query()).all()
    catalogue = vendor_catalogues().clauses
    form = forms.contract_form_class(catalogue.keys(), [s.id for s in systems])(data=data)
    vendors = db.session.execute(sa.select(Vendor.id, Vendor.name).order_by(Vendor.name)).all()
    form.vendor_id.choices = [("", _("Choose…"))] + [(v.id, v.name) for v in vendors]
    form.system_ids.choices = [(s.id, s.name) for s in systems]
    form.clause_catalogue, form.level_systems = catalogue, systems
    return form


def _contract_extra(form) -> dict:
    return {"clauses": forms.clauses_given(form, form.clause_catalogue.keys()),
            "service_levels": forms.levels_given(form, [s.id for s in form.level_systems])}


def _create_contract(**kwargs):
    return vendor_cases.create_contract(clauses=vendor_catalogues().clauses, **kwargs)


def _update_contract(**kwargs):
    return vendor_cases.update_contract(clauses=vendor_catalogues().clauses, **kwargs)


# What each admin page edits: its form, the API's schemas, the service functions, and how a record fills the form.
ADMIN = {
    "vendors": dict(form=forms.VendorForm, fields=forms.VENDOR_FIELDS, create_schema=schemas.VendorCreateSchema,
                    update_schema=schemas.VendorUpdateSchema, create=vendor_cases.create_vendor, update=vendor_cases.update_vendor,
                    model=Vendor, id_arg="vendor_id", values=_vendor_values, extra=_vendor_extra, choices=None,
                    noun=_l("vendor")),
    "systems": dict(form=forms.SystemForm, fields=forms.SYSTEM_FIELDS, create_schema=schemas.SystemCreateSchema,
                    update_schema=schemas.SystemUpdateSchema, create=vendor_cases.create_system, update=vendor_cases.update_system,
                    model=System, id_arg="system_id", values=lambda s: {**{n: getattr(s, n) for n in forms.SYSTEM_FIELDS}, "version": s.version},
                    extra=None, choices=None, noun=_l("system")),
    "contracts": dict(form=_contract_form, fields=forms.CONTRACT_FIELDS, create_schema=schemas.ContractCreateSchema,
                      update_schema=schemas.ContractUpdateSchema, create=_create_contract, update=_update_contract,
                      model=Contract, id_arg="contract_id", values=_contract_values, extra=_contract_extra, choices=None,
                      noun=_l("contract"), template="vendors/contract_form.html"),
}


@require(Permission.admin_vendors)
def admin_edit(kind: str, record_id: int | None = None):
    spec = ADMIN[kind]
    record = None
    if record_id is not None:
        record = db.session.get(spec["model"], record_id)
        if record is None:
            abort(404)
    form = spec["form"](data=spec["values"](record) if record is not None and request.method == "GET" else None)
    if spec["choices"]:
        spec["choices"](form)
    if form.validate_on_submit():
        extra = spec["extra"](form) if spec["extra"] else None
        schema = spec["update_schema"]() if record else spec["create_schema"]()
        data = load(form, schema, spec["fields"], extra=extra)
        if data is not None:
            try:
                if record is None:
                    spec["create"](session=db.session, data=data, registry=registry(), now=request_now())
                else:
                    raw = (form.version.data or "").strip()
                    spec["update"](session=db.session, data=data, registry=registry(), now=request_now(),
                                   expected_version=int(raw) if raw.isdigit() and len(raw) <= 18 else None,
                                   **{spec["id_arg"]: record_id})
            except DomainError as error:
                refuse(form, error)
            else:
                flash(_("Saved."), "success")
                return redirect(url_for(".admin_vendors"))
    status = 422 if form.is_submitted() else 200
    return render_template(spec.get("template", "vendors/admin_form.html"), form=form, kind=kind, record=record,
                           noun=spec["noun"]), status


# One page per kind (/admin/vendors/new, /admin/vendors/<id>/edit, ...), all served by admin_edit.
for _kind in ADMIN:
    bp.add_url_rule(f"/admin/{_kind}/new", "admin_edit", admin_edit, defaults={"kind": _kind}, methods=["GET", "POST"])
    bp.add_url_rule(f"/admin/{_kind}/<int:record_id>/edit", "admin_edit", admin_edit, defaults={"kind": _kind},
                    methods=["GET", "POST"])
