"""Admin forms for vendors, systems and contracts; and the period filter of a vendor's history."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from incident_service.vendors.models import VendorCategory
from incident_service.web.forms import DayField, FiniteDecimalField, MultiCheckboxField, optional_int, options

CATEGORY_LABELS = {
    VendorCategory.system_development: _l("System development (系統發展類)"),
    VendorCategory.operations: _l("Operations (維運管理類)"),
    VendorCategory.cloud: _l("Cloud (雲端服務類)"),
    VendorCategory.consulting_training: _l("Consulting and training (顧問訓練類)"),
}

VENDOR_FIELDS = ("name", "tax_id", "category", "service_location", "contact_name", "contact_phone", "contact_email",
                 "notes", "is_active")
SYSTEM_FIELDS = ("name", "description", "is_core", "real_time_quotes", "tolerable_outage_minutes", "rto_minutes", "rpo_minutes")
CONTRACT_FIELDS = ("vendor_id", "reference", "title", "scope", "starts_on", "ends_on", "system_ids", "availability_target",
                   "vendor_notify_minutes", "penalty_terms", "audit_right", "subcontracting_allowed")


class VendorForm(FlaskForm):
    version = HiddenField()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    tax_id = StringField(_l("Tax id (統一編號)"), validators=[Optional(), Length(min=8, max=8)])
    category = SelectField(_l("Category"), choices=options((c.value, label) for c, label in CATEGORY_LABELS.items()))
    service_location = StringField(_l("Location of service"), validators=[Optional(), Length(max=200)])
    contact_name = StringField(_l("24x7 contact"), validators=[Optional(), Length(max=200)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=50)])
    contact_email = StringField(_l("Contact e-mail"), validators=[Optional(), Length(max=254)])
    certifications = TextAreaField(_l("Certifications"), validators=[Optional()],
                                   description=_l("One per line: name | expiry date (YYYY-MM-DD), e.g. ISO 27001 | 2027-06-30"))
    subcontractors = TextAreaField(_l("Subcontractors and third-party providers"), validators=[Optional()],
                                   description=_l("One per line: name | what it provides"))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10_000)])
    is_active = BooleanField(_l("Active"), default=True)


class SystemForm(FlaskForm):
    version = HiddenField()
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10_000)])
    is_core = BooleanField(_l("Core system (核心系統)"))
    real_time_quotes = BooleanField(_l("Real-time quote feed (即時報價)"))
    tolerable_outage_minutes = IntegerField(_l("Tolerable outage (min)"), validators=[Optional(), NumberRange(min=0)])
    rto_minutes = IntegerField(_l("RTO (min)"), validators=[Optional(), NumberRange(min=0)])
    rpo_minutes = IntegerField(_l("RPO (min)"), validators=[Optional(), NumberRange(min=0)])


class ContractForm(FlaskForm):
    version = HiddenField()
    vendor_id = SelectField(_l("Vendor"), coerce=optional_int, validators=[InputRequired()])
    reference = StringField(_l("Contract number"), validators=[DataRequired(), Length(max=100)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    scope = TextAreaField(_l("Scope"), validators=[Optional(), Length(max=10_000)])
    starts_on = DayField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DayField(_l("Ends on"), validators=[Optional()])
    system_ids = MultiCheckboxField(_l("Covered systems"), coerce=int)
    availability_target = FiniteDecimalField(_l("Availability target (% per month)"), places=3, validators=[Optional(), NumberRange(min=0, max=100)])
    vendor_notify_minutes = IntegerField(_l("Vendor must notify us within (min)"), validators=[Optional(), NumberRange(min=0)])
    penalty_terms = TextAreaField(_l("Penalty terms"), validators=[Optional(), Length(max=10_000)])
    audit_right = BooleanField(_l("Audit right"))
    subcontracting_allowed = BooleanField(_l("Subcontracting allowed"))


CLAUSE_STATUS_LABELS = {"present": _l("Present"), "absent": _l("Absent"), "not_applicable": _l("Not applicable")}


def clause_status_field(name: str) -> str:
    return f"clause-{name}-status"


def clause_section_field(name: str) -> str:
    return f"clause-{name}-section"


def level_field(system_id: int, which: str) -> str:
    return f"level-{system_id}-{which}"


def contract_form_class(clause_keys: list[str], system_ids: list[int]) -> type[ContractForm]:
    """The contract form with a status and a section per clause of the catalogue, and RTO/RPO per system."""
    fields: dict = {}
    choices = options([("", _l("Not recorded"))] + list(CLAUSE_STATUS_LABELS.items()))
    for key in clause_keys:
        fields[clause_status_field(key)] = SelectField(_l("Status"), choices=choices, default="", validators=[Optional()])
        fields[clause_section_field(key)] = StringField(_l("Section"), validators=[Optional(), Length(max=100)])
    for system_id in system_ids:
        fields[level_field(system_id, "rto")] = IntegerField(_l("RTO (min)"), validators=[Optional(), NumberRange(min=0, max=525_600)])
        fields[level_field(system_id, "rpo")] = IntegerField(_l("RPO (min)"), validators=[Optional(), NumberRange(min=0, max=525_600)])
    return type("ContractFormWithClauses", (ContractForm,), fields)


def clauses_given(form: ContractForm, clause_keys: list[str]) -> list[dict]:
    """The clauses the form records (a status chosen), as the API takes them."""
    out = []
    for key in clause_keys:
        status = form[clause_status_field(key)].data
        if status:
            section = (form[clause_section_field(key)].data or "").strip() or None
            out.append({"key": key, "status": status, "section": section})
    return out


def levels_given(form: ContractForm, system_ids: list[int]) -> list[dict]:
    """RTO/RPO per covered system, and per system the form gives a level for (the service refuses those not covered)."""
    covered = set(form.system_ids.data or [])
    out = []
    for system_id in system_ids:
        rto, rpo = form[level_field(system_id, "rto")].data, form[level_field(system_id, "rpo")].data
        if system_id in covered or rto is not None or rpo is not None:
            out.append({"system_id": system_id, "rto_minutes": rto, "rpo_minutes": rpo})
    return out


class PeriodForm(FlaskForm):
    """The history's period, as dates in the firm's zone (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    aware_from = DayField(_l("From"), validators=[Optional()])
    aware_to = DayField(_l("Until (inclusive)"), validators=[Optional()])


def parse_lines(text: str | None, keys: tuple[str, str]) -> list[dict]:
    """``a | b`` lines into ``[{keys[0]: a, keys[1]: b}]``; empty second parts are None."""
    out = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        first, _, second = line.partition("|")
        out.append({keys[0]: first.strip(), keys[1]: second.strip() or None})
    return out


def format_lines(items: list[dict], keys: tuple[str, str]) -> str:
    return "\n".join(f"{i.get(keys[0])}" + (f" | {i.get(keys[1])}" if i.get(keys[1]) else "") for i in items or [])
