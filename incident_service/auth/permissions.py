"""The least-privilege matrix: what each role may do. Enforced on every page and API endpoint."""
from __future__ import annotations

import enum

from flask import g, has_request_context

from incident_service.auth.models import Role


class Permission(str, enum.Enum):
    read = "read"  # incidents, deadlines, vendors, contracts, systems, notifications
    incident_write = "incident_write"  # create and update incidents
    filing_record = "filing_record"  # record a filed report
    remediation_write = "remediation_write"  # add and update remediation actions
    deadline_waive = "deadline_waive"  # waive a clock before its due time
    deadline_justify = "deadline_justify"  # explain a missed deadline after its due time (it stays missed)
    filing_backdate = "filing_backdate"  # record a filing more than FILING_BACKDATE_MINUTES after it was submitted
    policies_change = "policies_change"  # change the reporting policies an incident runs (with a reason)
    reportability_decide = "reportability_decide"  # decide whether an incident is a major security incident
    remediation_verify = "remediation_verify"
    awareness_correct = "awareness_correct"
    incident_close = "incident_close"  # close or reopen an incident
    export = "export"  # CSV/XLSX exports and printable records
    audit_read = "audit_read"  # browse and export the audit trail
    admin_vendors = "admin_vendors"  # vendors, contracts, systems, the access register, ending a contract
    duty_complete = "duty_complete"  # record that a vendor duty was done (an audit, a drill, a report), with evidence
    access_review = "access_review"  # review a vendor's access: keep or revoke every grant
    assessment_record = "assessment_record"  # assess a vendor against the outsourcing checklist
    assessment_approve = "assessment_approve"  # management's approval of an assessment (not one's own)
    change_record = "change_record"  # plan a vendor change, record it done or cancelled
    change_approve = "change_approve"  # approve a vendor change (an emergency one in market hours too; not one's own)
    admin_users = "admin_users"  # users, roles, tokens
    admin_policies = "admin_policies"  # reporting policies and notification channels


_ONCALL = {Permission.read, Permission.incident_write, Permission.filing_record, Permission.remediation_write,
           Permission.change_record}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.oncall: frozenset(_ONCALL),
    Role.supervisor: frozenset(_ONCALL | {Permission.deadline_waive, Permission.deadline_justify, Permission.filing_backdate,
                                          Permission.policies_change, Permission.reportability_decide,
                                          Permission.remediation_verify, Permission.awareness_correct,
                                          Permission.incident_close, Permission.export, Permission.duty_complete,
                                          Permission.access_review, Permission.assessment_record,
                                          Permission.assessment_approve, Permission.change_record,
                                          Permission.change_approve}),
    Role.auditor: frozenset({Permission.read, Permission.export, Permission.audit_read}),
    Role.admin: frozenset({Permission.read, Permission.admin_vendors, Permission.admin_users, Permission.admin_policies,
                           Permission.duty_complete, Permission.assessment_record, Permission.change_record}),
}


def role_can(role: Role | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())


def user_can(user, permission: Permission) -> bool:
    """Any of the user's roles grants the permission."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return any(role_can(role, permission) for role in (user.roles or []))


def actor_can(permission: Permission) -> bool:
    """Whether the request's actor (a token's user or the logged-in user, set by the auth guards) holds it."""
    if not has_request_context():
        return False
    return user_can(g.get("actor_user"), permission)


def matrix_markdown() -> str:
    """The matrix as the README's table (a test keeps the README in step with this module)."""
    roles = list(Role)
    lines = ["| permission | " + " | ".join(r.value for r in roles) + " |",
             "| --- | " + " | ".join(":-:" for _ in roles) + " |"]
    for permission in Permission:
        marks = " | ".join("✔" if role_can(role, permission) else "" for role in roles)
        lines.append(f"| `{permission.value}` | {marks} |")
    return "\n".join(lines)
