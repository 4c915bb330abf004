"""The forms of the vendor-duty pages: completing a duty, granting and revoking access, reviewing it, ending a
contract and settling its checklist. They are parsed through the API's schemas (reporting.duty_schemas)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from incident_service.web.forms import DayField, ZonedDateTimeField, options

COMPLETION_FIELDS = ("completed_at", "evidence", "findings")
GRANT_FIELDS = ("person", "system_id", "access", "mfa", "approved_by", "starts_on", "ends_on", "note")
TERMINATION_FIELDS = ("ends_on", "reason", "successor")
ITEM_FIELDS = ("reference", "not_applicable", "note")


class CompletionForm(FlaskForm):
    completed_at = ZonedDateTimeField(_l("Done at"), validators=[Optional()])
    evidence = StringField(_l("Evidence (report or file reference)"), validators=[Length(max=500)])
    findings = TextAreaField(_l("Findings"), validators=[Length(max=10_000)])
    action_title = StringField(_l("Action on a finding (optional)"), validators=[Length(max=200)])
    action_owner = StringField(_l("Owner"), validators=[Length(max=200)])
    action_due_on = DayField(_l("Action due on"), validators=[Optional()])


class GrantForm(FlaskForm):
    person = StringField(_l("Person at the vendor"), validators=[Length(max=120)])
    system_id = SelectField(_l("System"), coerce=str, validate_choice=False)
    access = SelectField(_l("Access"), choices=options([("remote", _l("Remote")), ("onsite", _l("On site")),
                                                        ("privileged", _l("Privileged"))]))
    mfa = BooleanField(_l("Multi-factor authentication"))
    approved_by = StringField(_l("Approved by"), validators=[Length(max=120)])
    starts_on = DayField(_l("From"), validators=[Optional()])
    ends_on = DayField(_l("Until"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Length(max=10_000)])


class RevokeForm(FlaskForm):
    reason = StringField(_l("Why revoke"), validators=[Length(max=500)])


class ReviewForm(FlaskForm):
    """Each held grant is a radio named ``grant-<id>`` (keep / revoke), read from the request by the view."""

    reviewed_at = ZonedDateTimeField(_l("Reviewed at"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Length(max=10_000)])


class TerminationForm(FlaskForm):
    ends_on = DayField(_l("Last day of the contract"), validators=[Optional()])
    reason = TextAreaField(_l("Reason"), validators=[Length(max=10_000)])
    successor = StringField(_l("Successor (the firm or the next vendor)"), validators=[Length(max=200)])


class ItemForm(FlaskForm):
    reference = StringField(_l("Reference (certificate, confirmation)"), validators=[Length(max=200)])
    not_applicable = BooleanField(_l("Does not apply"))
    note = StringField(_l("Note"), validators=[Length(max=500)])
