"""What the domain says, in the page's language: states, kinds, policy and report names, timeline lines, the reasons
figures give, and refusals. The domain keeps its words in English for the API and the log; structured values (a
state, a code, a timeline event's changes, a ``Phrase``) are turned into the page's words here, never parsed back.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import get_locale, gettext, lazy_gettext as _l

from incident_service.api_common import registry
from incident_service.errors import DomainError
from incident_service.incidents.models import IncidentKind, IncidentStatus
from incident_service.phrases import N_
from incident_service.timefmt import local

STATE_LABELS = {
    "waiting": _l("Not started"), "pending": _l("Running"), "met": _l("Met"), "met_late": _l("Met late"),
    "missed": _l("Overdue"), "waived": _l("Waived"), "withdrawn": _l("Withdrawn"),
}
KIND_LABELS = {IncidentKind.outage.value: _l("Service outage"), IncidentKind.security.value: _l("Security incident")}
STATUS_LABELS = {IncidentStatus.open.value: _l("Open"), IncidentStatus.reported.value: _l("Reported"),
                 IncidentStatus.recovered.value: _l("Recovered"), IncidentStatus.closed.value: _l("Closed")}
REMEDIATION_STATES = {"planned": _l("Planned"), "in_progress": _l("In progress"), "done": _l("Done, awaiting verification"),
                      "verified": _l("Verified"), "cancelled": _l("Cancelled")}

# A refusal's short message by its code (the code is shown beside it); the service's English stays in the log.
REFUSALS = {
    "service_down": _l("The service is still down: record when it was restored before closing the incident."),
    "clocks_open": _l("Every clock needs a filing, or a waiver before its due time, before closing."),
    "remediation_open": _l("Remediation actions are still open: confirm that the incident closes with them open."),
    "closed": _l("The incident is closed: reopen it first."),
    "past_due": _l("The due time has passed: a missed deadline stays missed and cannot be waived. Add a justification instead."),
    "not_open": _l("This clock has stopped: there is nothing to waive."),
    "not_missed": _l("Only a missed or late deadline is justified."),
    "backdated_filing": _l("This filing was submitted too long ago: a supervisor records it."),
    "stale_version": _l("This record changed meanwhile: reload the page and apply your change again."),
    "four_eyes": _l("You marked this action done, so someone else verifies it."),
    "verified": _l("A verified action is final; add a new action instead."),
    "not_done": _l("Only a done action can be verified."),
    "market_hours": _l("The change falls in market hours: plan it outside them, or mark it an emergency."),
    "own_change": _l("You requested this change: another supervisor approves it."),
    "own_assessment": _l("You made this assessment: someone else approves it."),
    "unanswered": _l("Some checklist items are not answered yet: answer them before the approval."),
    "not_proposed": _l("This change no longer waits for approval."),
    "approved": _l("This assessment is approved: record a new one instead."),
    "not_approved": _l("Only an approved change can be recorded as done."),
    "change_closed": _l("This change is already done or cancelled."),
    "validation_failed": _l("Some fields are not valid."),
    "forbidden": _l("Your role may not do this."),
    "not_found": _l("Not found."),
    "conflict": _l("The record changed meanwhile."),
}

# Field messages of the services and the form libraries that carry no values: the catalogue has them, so a page
# shows them translated (``field_message``); a message with values in it is shown as the service wrote it.
FIELD_MESSAGES = (
    N_("This field is required."), N_("Not a valid integer value."), N_("Not a valid decimal value."),
    N_("Not a valid datetime value."), N_("Not a valid date value."), N_("Not a valid choice."),
    N_("Missing data for required field."), N_("Field may not be null."), N_("Not a valid integer."),
    N_("Not a valid date-time: use ISO 8601 with an offset, e.g. 2026-11-21T02:10:00+08:00."),
    N_("Give a date between 2000-01-01 and 2100-12-31."), N_("A filing cannot be submitted in the future."),
    N_("Say why no filing is owed."), N_("Say why the deadline was missed."), N_("Say why the awareness time changes."),
    N_("Say why the incident's reporting policies change."), N_("Say how the decision was reached."),
    N_("Give both ends of the data-loss window."), N_("Record the evidence before verifying."),
    N_("Give the time the service went down before the time it was restored."),
    N_("Give the time the impact was known only when trading or investors' rights are affected."),
    N_("Field must be between %(min)s and %(max)s characters long."),
    N_("Field must be at least %(min)d character long."), N_("Field must be at least %(min)d characters long."),
    N_("Field cannot be longer than %(max)d character."), N_("Field cannot be longer than %(max)d characters."),
    N_("Number must be at least %(min)s."), N_("Invalid value, must be one of: %(values)s."),
    N_("The CSRF token is missing."), N_("The CSRF token has expired."), N_("The CSRF token is invalid."),
)


def is_zh() -> bool:
    return str(get_locale() or "").startswith("zh")


def say(value: Any) -> str:
    """A domain sentence (a ``Phrase`` or a plain message the catalogue knows) in the page's language."""
    if not value:
        return ""
    parts = getattr(value, "parts", None)
    if not parts:
        return gettext(str(value))
    return ("" if is_zh() else " ").join(gettext(msgid, **params) if params else gettext(msgid) for msgid, params in parts)


def field_message(message: str) -> str:
    return say(message)


def refusal(error: DomainError) -> str:
    """A refusal's short message in the page's language, with its code."""
    known = REFUSALS.get(error.code)
    text = str(known) if known is not None else say(error.message)
    return f"{text} ({error.code})"


def state_label(state: Any) -> str:
    value = getattr(state, "value", state)
    return str(STATE_LABELS.get(value, value or ""))


def kind_label(kind: Any) -> str:
    value = getattr(kind, "value", kind)
    return str(KIND_LABELS.get(value, value or ""))


def status_label(status: Any) -> str:
    value = getattr(status, "value", status)
    return str(STATUS_LABELS.get(value, value or ""))


def policy_title(key: str | None) -> str:
    policy = registry().get(key) if key else None
    if policy is None:
        return key or ""
    return policy.title_zh if is_zh() else policy.title_en


def report_name(kind: str | None, policy_key: str | None = None) -> str:
    """A filing kind (``public_notice``) by the name of the report it is: its clock's label in the page's language."""
    policies = [registry().get(policy_key)] if policy_key else [registry().get(k) for k in registry().keys()]
    for policy in policies:
        for clock in (policy.clocks if policy else ()):
            if kind in (clock.stopped_by, clock.key):
                return clock.label_zh if is_zh() else clock.label_en
    return kind or ""


def _at(value: Any, zone) -> str:
    if not value:
        return "—"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return local(moment, zone)


def _new(changes: dict, key: str) -> Any:
    pair = changes.get(key) or [None, None]
    return pair[1] if isinstance(pair, (list, tuple)) and len(pair) > 1 else pair


def _old(changes: dict, key: str) -> Any:
    pair = changes.get(key) or [None, None]
    return pair[0] if isinstance(pair, (list, tuple)) and pair else None


def timeline_line(event: Any, *, deadlines: dict[int, Any], filings: dict[int, Any], field_labels: dict[str, Any]) -> str:
    """One timeline event in the page's language, from its kind and its recorded changes (its English summary when
    the kind is not one this page knows)."""
    changes = event.changes or {}
    zone = registry().zone
    kind = event.kind
    deadline = deadlines.get(_new(changes, "deadline_id"))
    clock = (f"{deadline.label_zh if is_zh() else deadline.label_en}（{policy_title(deadline.policy_key)}）"
             if deadline is not None else "")
    if kind == "created":
        return gettext("Incident opened: %(title)s", title=_new(changes, "title") or "")
    if kind == "status":
        return gettext("Status %(old)s → %(new)s", old=status_label(_old(changes, "status")), new=status_label(_new(changes, "status")))
    if kind == "updated":
        if "status" in changes:
            return gettext("Closed") if _new(changes, "status") == IncidentStatus.closed.value else gettext("Reopened")
        names = [str(field_labels.get(k, k)) for k in sorted(changes)]
        return gettext("Changed: %(fields)s", fields="、".join(names) if is_zh() else ", ".join(names))
    if kind == "policies_changed":
        return gettext("Reporting policies %(old)s → %(new)s: %(reason)s",
                       old="、".join(policy_title(p) for p in _old(changes, "policies") or []),
                       new="、".join(policy_title(p) for p in _new(changes, "policies") or []), reason=_new(changes, "reason") or "")
    if kind == "awareness_corrected":
        return gettext("Awareness time corrected from %(old)s to %(new)s: %(reason)s", old=_at(_old(changes, "aware_at"), zone),
                       new=_at(_new(changes, "aware_at"), zone), reason=_new(changes, "reason") or "")
    if kind == "reportability":
        verdict = gettext("a major security incident") if _new(changes, "major_incident") else gettext("not a major security incident")
        return gettext("Decided: %(verdict)s", verdict=verdict)
    if kind == "deadline_outcome" and deadline is not None:
        return gettext("%(clock)s: %(old)s → %(new)s", clock=clock, old=state_label(_old(changes, "state")) or "—",
                       new=state_label(_new(changes, "state")))
    if kind == "filing":
        filing = filings.get(_new(changes, "filing_id"))
        if filing is not None:
            return gettext("Filed %(report)s (%(policy)s), submitted %(at)s", report=report_name(filing.kind, filing.policy_key),
                           policy=policy_title(filing.policy_key), at=_at(filing.submitted_at, zone)) + (
                f" · {gettext('Ref.')} {filing.reference}" if filing.reference else "")
    if kind == "waiver" and deadline is not None:
        return gettext("Waived %(clock)s before its due time: %(reason)s", clock=clock, reason=deadline.waiver_reason or "")
    if kind == "justification" and deadline is not None:
        return gettext("Justified the miss of %(clock)s: %(reason)s", clock=clock, reason=_new(changes, "justification") or "")
    if kind == "remediation":
        if "remediation_id" in changes:
            return gettext("Remediation #%(id)s added: %(title)s (owner %(owner)s, due %(due)s)", id=_new(changes, "remediation_id"),
                           title=_new(changes, "title"), owner=_new(changes, "owner"), due=_new(changes, "due_on"))
        if _new(changes, "status") == "verified" and _old(changes, "status") == "done":
            return gettext("A remediation action is verified")
        if changes:
            return gettext("A remediation action changed: %(fields)s", fields="、".join(
                str(field_labels.get(k, k)) for k in sorted(changes)) if is_zh() else ", ".join(sorted(changes)))
    return event.summary
