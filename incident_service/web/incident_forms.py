"""Web forms of the incidents area: the one-minute report, edits, filings, waivers, remediation."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from incident_service.incidents.models import IncidentKind, IncidentStatus, RemediationAction, RemediationStatus
from incident_service.web.forms import DayField, MultiCheckboxField, ZonedDateTimeField, optional_int, options
from incident_service.textcheck import NoNul, OneLine

KIND_CHOICES = [(IncidentKind.outage.value, _l("Service outage")), (IncidentKind.security.value, _l("Security incident"))]
SEVERITY_CHOICES = [(4, _l("4 — most severe")), (3, _l("3 — severe")), (2, _l("2 — moderate")), (1, _l("1 — low"))]
ACTION_LABELS = {
    RemediationAction.stress_test: _l("Wider stress test"),
    RemediationAction.resource_allocation: _l("Resource allocation"),
    RemediationAction.code_review: _l("Code review"),
    RemediationAction.patch_process: _l("Patch process change"),
    RemediationAction.vendor_penalty: _l("Vendor penalty claim"),
    RemediationAction.performance: _l("Performance improvement"),
    RemediationAction.other: _l("Other"),
}
REMEDIATION_STATUS_LABELS = {
    RemediationStatus.planned: _l("Planned"),
    RemediationStatus.in_progress: _l("In progress"),
    RemediationStatus.done: _l("Done, awaiting verification"),
    RemediationStatus.verified: _l("Verified"),
    RemediationStatus.cancelled: _l("Cancelled"),
}
STATUS_LABELS = {
    IncidentStatus.open: _l("Open"),
    IncidentStatus.reported: _l("Reported"),
    IncidentStatus.recovered: _l("Recovered"),
    IncidentStatus.closed: _l("Closed"),
}

# The few fields an on-call engineer types at 2 a.m.; everything else is editable later.
REPORT_FIELDS = ("vendor_id", "system_ids", "aware_at", "kind", "severity", "title", "description",
                 "trading_affected", "investors_affected", "contract_id")
# Awareness further back than this is more often a typing mistake than a late entry: the form asks to confirm it.
CONFIRM_AWARENESS_DAYS = 30
EDIT_FIELDS = ("vendor_id", "contract_id", "system_ids", "kind", "severity", "title", "description",
               "occurred_at", "detected_at", "classified_at", "vendor_aware_at", "vendor_notified_at",
               "service_down_at", "service_restored_at", "data_loss_from", "data_loss_to",
               "trading_affected", "investors_affected", "impact_known_at", "clients_affected", "estimated_loss_ntd",
               "root_cause", "bcp_invoked", "failover_performed", "response_notes", "customer_notice",
               "alternative_channels", "complaint_handling", "public_notice_text", "reporting_contact", "caused_by_change_id")


class ReportForm(FlaskForm):
    vendor_id = SelectField(_l("Vendor"), coerce=optional_int, validators=[InputRequired(message=_l("Choose the vendor."))])
    system_ids = MultiCheckboxField(_l("Affected systems"), coerce=int)
    aware_at = ZonedDateTimeField(_l("Aware at (知悉時間)"), validators=[InputRequired(message=_l("Give the time the firm became aware."))],
                                  description=_l("The reporting clock starts here. Change it if you knew earlier."))
    kind = RadioField(_l("Kind"), choices=options(KIND_CHOICES), default=IncidentKind.outage.value, validators=[InputRequired()])
    severity = SelectField(_l("Severity"), coerce=optional_int, choices=options(SEVERITY_CHOICES), default=2, validators=[InputRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Give a short title.")), Length(max=200)])
    description = TextAreaField(_l("What happened"), validators=[Optional(), Length(max=10_000)])
    trading_affected = BooleanField(_l("Trading is affected"))
    investors_affected = BooleanField(_l("Investors' rights are affected"))
    contract_id = SelectField(_l("Contract"), coerce=optional_int, validators=[Optional()],
                              description=_l("Filled in with the vendor's contract in force that covers the chosen systems."))
    confirm_old_awareness = BooleanField(_l("Yes, the firm became aware that long ago"))


class EditIncidentForm(ReportForm):
    version = HiddenField()
    aware_at = None  # corrected separately, with a reason
    confirm_old_awareness = None
    contract_id = SelectField(_l("Contract"), coerce=optional_int, validators=[Optional()])
    occurred_at = ZonedDateTimeField(_l("Occurred at"), validators=[Optional()])
    detected_at = ZonedDateTimeField(_l("Detected at"), validators=[Optional()])
    classified_at = ZonedDateTimeField(_l("Classified as major at"), validators=[Optional()])
    vendor_aware_at = ZonedDateTimeField(_l("Vendor knew at"), validators=[Optional()])
    vendor_notified_at = ZonedDateTimeField(_l("Vendor notified us at"), validators=[Optional()])
    service_down_at = ZonedDateTimeField(_l("Service down at"), validators=[Optional()])
    service_restored_at = ZonedDateTimeField(_l("Service restored at"), validators=[Optional()])
    data_loss_from = ZonedDateTimeField(_l("Data lost from"), validators=[Optional()])
    data_loss_to = ZonedDateTimeField(_l("Data lost until"), validators=[Optional()])
    clients_affected = IntegerField(_l("Clients affected"), validators=[Optional(), NumberRange(min=0)])
    estimated_loss_ntd = IntegerField(_l("Estimated amount (NTD)"), validators=[Optional(), NumberRange(min=0)])
    root_cause = TextAreaField(_l("Root cause"), validators=[Optional(), Length(max=10_000)])
    bcp_invoked = BooleanField(_l("Business continuity plan invoked"))
    failover_performed = BooleanField(_l("Failed over to the backup"))
    response_notes = TextAreaField(_l("Response so far"), validators=[Optional(), Length(max=10_000)])
    impact_known_at = ZonedDateTimeField(_l("Impact known at"), validators=[Optional()],
                                         description=_l("When the firm learnt that trading or investors' rights are affected: the public notice's clock starts here."))
    customer_notice = TextAreaField(_l("First notice to customers"), validators=[Optional(), Length(max=10_000)])
    alternative_channels = TextAreaField(_l("Alternative order channels"), validators=[Optional(), Length(max=10_000)])
    complaint_handling = TextAreaField(_l("Complaint handling"), validators=[Optional(), Length(max=10_000)])
    public_notice_text = TextAreaField(_l("Public notice text (for investors)"), validators=[Optional(), Length(max=10_000)],
                                       description=_l("Pre-filled; no internal cause and no vendor name."))
    reporting_contact = StringField(_l("Reporting contact"), validators=[Optional(), Length(max=200)])
    caused_by_change_id = SelectField(_l("Caused by a vendor change"), coerce=optional_int, validators=[Optional()],
                                      description=_l("The vendor's change that started before the firm became aware, if it caused this."))


class AwarenessForm(FlaskForm):
    version = HiddenField()
    aware_at = ZonedDateTimeField(_l("Aware at (知悉時間)"), validators=[InputRequired()])
    reason = TextAreaField(_l("Why it changes"), validators=[DataRequired(), Length(min=3, max=1000)])
    confirm_old_awareness = BooleanField(_l("Yes, the firm became aware that long ago"))


class StatusForm(FlaskForm):
    version = HiddenField()
    status = HiddenField(validators=[DataRequired()])
    confirm_open_remediation = BooleanField(_l("Close although remediation actions are still open"))


class PoliciesForm(FlaskForm):
    version = HiddenField()
    policies = MultiCheckboxField(_l("Reporting policies"), validators=[DataRequired(message=_l("Choose at least one policy."))])
    reason = TextAreaField(_l("Why they change"), validators=[DataRequired(), Length(min=3, max=1000)])


class ReportabilityForm(FlaskForm):
    version = HiddenField()
    major = RadioField(_l("Major security incident"), choices=options([("yes", _l("Yes, a major security incident")),
                                                                        ("no", _l("No, not a major security incident"))]),
                       validators=[InputRequired(message=_l("Decide yes or no."))])
    criteria = MultiCheckboxField(_l("Criteria met"))
    reason = TextAreaField(_l("How the decision was reached"), validators=[DataRequired(), Length(min=3, max=2000)])


class FilingForm(FlaskForm):
    submitted_at = ZonedDateTimeField(_l("Time filed"), validators=[InputRequired(message=_l("Give the time it was filed."))])
    reference = StringField(_l("Reference number"), validators=[Optional(), Length(max=120)])
    text = TextAreaField(_l("Text filed"), validators=[Optional(), Length(max=10_000)])


class WaiverForm(FlaskForm):
    reason = TextAreaField(_l("Why no filing is owed"), validators=[DataRequired(), Length(min=3, max=2000), NoNul()])


class JustificationForm(FlaskForm):
    reason = TextAreaField(_l("Why the deadline was missed"), validators=[DataRequired(), Length(min=3, max=2000)],
                           description=_l("It stays missed: the justification shows beside the miss."))


class RemediationForm(FlaskForm):
    action = SelectField(_l("Action"), choices=options((a.value, label) for a, label in ACTION_LABELS.items()))
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    owner = StringField(_l("Owner"), validators=[DataRequired(), Length(max=120)])
    due_on = DayField(_l("Due on"), validators=[InputRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10_000)])


class RemediationUpdateForm(FlaskForm):
    version = HiddenField()
    status = SelectField(_l("Status"), choices=options((s.value, label) for s, label in REMEDIATION_STATUS_LABELS.items()
                                                        if s != RemediationStatus.verified))
    owner = StringField(_l("Owner"), validators=[DataRequired(), Length(max=120)])
    due_on = DayField(_l("Due on"), validators=[InputRequired()])
    evidence = TextAreaField(_l("Evidence"), validators=[Optional(), Length(max=10_000)])


class VerifyForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500), OneLine()])
