"""The forms of a vendor's assessments and changes, parsed through the API's schemas (vendors.lifecycle_schemas)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from incident_service.vendors.catalogues import Checklist
from incident_service.web.forms import DayField, MultiCheckboxField, ZonedDateTimeField, options

CHANGE_FIELDS = ("title", "description", "rollback_plan", "system_ids", "planned_start", "planned_end", "emergency",
                 "emergency_reason")
ASSESSMENT_FIELDS = ("assessed_on", "service_location", "service_region", "result", "conditions", "summary")
LOCATION_LABELS = {"onshore": _l("Onshore (境內)"), "offshore": _l("Offshore (境外)"), "cloud": _l("Cloud region")}
RESULT_LABELS = {"approved": _l("Approved"), "conditional": _l("Approved on conditions"), "rejected": _l("Rejected")}
ANSWER_LABELS = {"yes": _l("Yes"), "no": _l("No"), "na": _l("Not applicable")}
CHANGE_STATE_LABELS = {"proposed": _l("Waiting for approval"), "approved": _l("Approved"), "done": _l("Done"),
                       "cancelled": _l("Cancelled")}


class ChangeForm(FlaskForm):
    title = StringField(_l("What changes"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=10_000)])
    rollback_plan = TextAreaField(_l("Rollback plan"), validators=[
        DataRequired(message=_l("Say how the change is rolled back if it fails.")), Length(max=10_000)])
    system_ids = MultiCheckboxField(_l("Systems affected"), coerce=int)
    planned_start = ZonedDateTimeField(_l("Planned start"), validators=[Optional()], ahead=True)
    planned_end = ZonedDateTimeField(_l("Planned end"), validators=[Optional()], ahead=True)
    emergency = BooleanField(_l("Emergency: it cannot wait for the market to close"))
    emergency_reason = TextAreaField(_l("Why it cannot wait"), validators=[Length(max=10_000)])


class ApprovalForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Length(max=10_000)])


class ChangeCloseForm(FlaskForm):
    state = SelectField(_l("Outcome"), choices=options([("done", _l("Done")), ("cancelled", _l("Cancelled"))]))
    outcome = TextAreaField(_l("What happened"), validators=[Length(max=10_000)])


class AssessmentForm(FlaskForm):
    version = HiddenField()
    assessed_on = DayField(_l("Assessed on"), validators=[Optional()])
    service_location = SelectField(_l("Where the service is provided"), choices=options(LOCATION_LABELS.items()))
    service_region = StringField(_l("Place or cloud region"), validators=[Length(max=200)])
    result = SelectField(_l("Result"), choices=options(RESULT_LABELS.items()))
    conditions = TextAreaField(_l("Conditions (for a conditional result)"), validators=[Length(max=10_000)])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=10_000)])


def item_field(key: str, which: str) -> str:
    return f"item-{key}-{which}"


def assessment_form_class(checklist: Checklist) -> type[AssessmentForm]:
    """The assessment form with, per checklist item: applies, result, explanation, evidence."""
    fields: dict = {}
    results = options([("", _l("Not answered"))] + list(ANSWER_LABELS.items()))
    for item in checklist.items():
        fields[item_field(item.key, "applies")] = SelectField(
            _l("Applies"), choices=options([("yes", _l("Yes")), ("no", _l("No"))]), default="yes")
        fields[item_field(item.key, "result")] = SelectField(_l("Result"), choices=results, default="")
        fields[item_field(item.key, "explanation")] = StringField(_l("Explanation"), validators=[Length(max=2000)])
        fields[item_field(item.key, "evidence")] = StringField(_l("Evidence"), validators=[Length(max=500)])
    return type("AssessmentFormWithItems", (AssessmentForm,), fields)


def answers_given(form: AssessmentForm, checklist: Checklist) -> list[dict]:
    """Every item as the API takes it; an item that does not apply is answered na."""
    out = []
    for item in checklist.items():
        applies = form[item_field(item.key, "applies")].data != "no"
        result = form[item_field(item.key, "result")].data or None
        if not applies and result is None:
            result = "na"
        out.append({"item": item.key, "applies": applies, "result": result,
                    "explanation": (form[item_field(item.key, "explanation")].data or "").strip() or None,
                    "evidence": (form[item_field(item.key, "evidence")].data or "").strip() or None})
    return out


def answer_values(answers) -> dict:
    """A saved assessment's answers as the form's fields."""
    values = {}
    for a in answers:
        values[item_field(a.item_key, "applies")] = "yes" if a.applies else "no"
        values[item_field(a.item_key, "result")] = a.result.value if a.result else ""
        values[item_field(a.item_key, "explanation")] = a.explanation
        values[item_field(a.item_key, "evidence")] = a.evidence
    return values
