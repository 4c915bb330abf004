"""Vendor duties on the clock: which duties a vendor owes now (from the duty policies and the vendor's contracts,
certifications, access and incidents), the open occurrence of each with its deadline and alert instants, and the
next occurrence once one is completed. A duty's deadline is counted exactly like a reporting deadline: met, met
late, missed (a miss stays a miss), waived, withdrawn when it stops applying before its due time.

``sync_vendor_duties`` is idempotent: after any change to a vendor's records (and every hour, from the engine) it
brings the vendor's duties in line. It flushes; the use case commits.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.incidents.models import Incident
from incident_service.reporting.clock_rules import cancel_alerts, new_state, schedule_alerts
from incident_service.reporting.duty_policy import DutyPolicy
from incident_service.reporting.models import OPEN_STATES, Deadline, DeadlineState
from incident_service.reporting.policy import PolicyRegistry
from incident_service.vendors.access import AccessGrant
from incident_service.vendors.duties import DutySubject, VendorDuty, subject_ref
from incident_service.vendors.models import Certification, Contract, Vendor
from incident_service.vendors.termination import Termination

DUTY_POLICY = "vendor_duty"  # the policy_key of every duty's deadline (its clock_key is the duty's key)


@dataclass(frozen=True)
class Owed:
    """A duty the vendor owes now, about one subject: when its first occurrence counts from, and for a duty with a
    fixed end or event, that instant."""

    policy: DutyPolicy
    subject: DutySubject
    subject_id: int
    contract_id: int | None = None
    certification_id: int | None = None
    incident_id: int | None = None
    start: datetime | None = None  # every: the first occurrence counts from here
    fixed: datetime | None = None  # before_end: the end; within: the event

    @property
    def ref(self) -> str:
        return subject_ref(self.subject, self.subject_id)


@dataclass
class VendorFacts:
    """What the duties of one vendor depend on, loaded in a fixed number of queries."""

    vendor: Vendor
    contracts: list[Contract]
    certifications: list[Certification]
    grants: list[AccessGrant]
    incidents: list[tuple[int, int, datetime]]  # (id, severity, aware_at)
    terminations: list[Termination]
    occurrences: list[VendorDuty]
    deadlines: dict[int, Deadline]  # by duty id


def load_facts(session: Session, vendor_id: int) -> VendorFacts:
    vendor = session.get(Vendor, vendor_id)
    occurrences = list(session.scalars(sa.select(VendorDuty).where(VendorDuty.vendor_id == vendor_id).order_by(VendorDuty.id)))
    deadlines = {d.duty_id: d for d in session.scalars(
        sa.select(Deadline).join(VendorDuty, VendorDuty.id == Deadline.duty_id).where(VendorDuty.vendor_id == vendor_id))}
    return VendorFacts(
        vendor=vendor,
        contracts=list(session.scalars(sa.select(Contract).where(Contract.vendor_id == vendor_id).order_by(Contract.id))),
        certifications=list(session.scalars(sa.select(Certification).where(Certification.vendor_id == vendor_id))),
        grants=list(session.scalars(sa.select(AccessGrant).where(AccessGrant.vendor_id == vendor_id))),
        incidents=[tuple(r) for r in session.execute(
            sa.select(Incident.id, Incident.severity, Incident.aware_at).where(Incident.vendor_id == vendor_id))],
        terminations=list(session.scalars(sa.select(Termination).where(Termination.vendor_id == vendor_id))),
        occurrences=occurrences,
        deadlines=deadlines,
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone)


def _in_force(contract: Contract, today: date) -> bool:
    return contract.starts_on <= today and (contract.ends_on is None or today <= contract.ends_on)


def _term_months(contract: Contract) -> float:
    if contract.ends_on is None:
        return float("inf")
    return (contract.ends_on - contract.starts_on).days / 30.44


def owed(policies: list[DutyPolicy], facts: VendorFacts, *, today: date, zone: ZoneInfo) -> list[Owed]:
    """Every duty the vendor owes as of ``today`` (the firm's date), one per duty and subject."""
    in_force = [c for c in facts.contracts if _in_force(c, today)]
    covered = [link.system for c in in_force for link in c.covered]
    active_grants = [g for g in facts.grants if g.is_active(today)]
    vendor_traits = {
        "core_systems": any(s.is_core for s in covered),
        "real_time_quotes": any(s.real_time_quotes for s in covered),
        "access_grants": bool(active_grants),
    }
    result: list[Owed] = []
    for policy in policies:
        a = policy.applies
        if a.categories and facts.vendor.category.value not in a.categories:
            continue
        if any(getattr(a, trait) is not None and getattr(a, trait) != value for trait, value in vendor_traits.items()):
            continue
        if policy.subject == "vendor":
            if not in_force or not facts.vendor.is_active:
                continue
            starts = [c.starts_on for c in in_force]
            if a.access_grants:
                starts = [g.starts_on for g in active_grants]
            result.append(Owed(policy, DutySubject.vendor, facts.vendor.id, start=_midnight(min(starts), zone)))
        elif policy.subject == "contract" and policy.within is not None:
            for t in facts.terminations:
                result.append(Owed(policy, DutySubject.contract, t.contract_id, contract_id=t.contract_id, fixed=t.started_at))
        elif policy.subject == "contract":
            terminated = {t.contract_id for t in facts.terminations}
            for c in in_force:
                if c.id in terminated or (a.min_term_months is not None and _term_months(c) < a.min_term_months):
                    continue
                if policy.before_end is not None:
                    if c.ends_on is not None:
                        result.append(Owed(policy, DutySubject.contract, c.id, contract_id=c.id, fixed=_midnight(c.ends_on, zone)))
                else:
                    result.append(Owed(policy, DutySubject.contract, c.id, contract_id=c.id, start=_midnight(c.starts_on, zone)))
        elif policy.subject == "certification":
            if not in_force or not facts.vendor.is_active:
                continue
            for cert in facts.certifications:
                if cert.expires_on is not None and cert.expires_on >= today - timedelta(days=366):
                    result.append(Owed(policy, DutySubject.certification, cert.id, certification_id=cert.id,
                                       fixed=_midnight(cert.expires_on, zone)))
        elif policy.subject == "incident":
            for incident_id, severity, aware_at in facts.incidents:
                if a.min_severity is None or severity >= a.min_severity:
                    result.append(Owed(policy, DutySubject.incident, incident_id, incident_id=incident_id, fixed=aware_at))
    return result


def due_of(policy: DutyPolicy, anchor: datetime, zone: ZoneInfo) -> datetime:
    """When an occurrence falls due, from what it counts from."""
    if policy.every is not None:
        return policy.every.after(anchor, zone)
    if policy.before_end is not None:
        return anchor - timedelta(minutes=policy.before_end.minutes)
    return policy.within.after(anchor, zone)


def _current(session: Session, facts: VendorFacts, item: Owed, occurrences: list[VendorDuty], now: datetime) -> VendorDuty:
    """The occurrence of a duty that is running now, made when there is none.

    A periodic duty counts from its last completion (the first, from its subject's start); one with an end or an
    event counts from it, so a new end date (a renewed certificate) makes a new occurrence.
    """
    if item.policy.every is None:
        found = next((o for o in occurrences if o.anchor_at == item.fixed), None)
        return found or _open_occurrence(session, facts, item, item.fixed, now)
    done = [o.completed_at for o in occurrences if o.completed_at is not None]
    anchor = max(done) if done else item.start
    running = next((o for o in occurrences if o.completed_at is None), None)
    if running is None:
        return _open_occurrence(session, facts, item, anchor, now)
    deadline = facts.deadlines.get(running.id)
    if running.anchor_at != anchor and (deadline is None or deadline.state_at(now) != DeadlineState.missed):
        running.anchor_at = anchor  # its basis moved before it fell due (say, the contract's start): it follows
    return running


def _open_occurrence(session: Session, facts: VendorFacts, item: Owed, anchor: datetime, now: datetime) -> VendorDuty:
    duty = VendorDuty(vendor_id=facts.vendor.id, kind=item.policy.key, subject=item.subject, subject_ref=item.ref,
                      contract_id=item.contract_id, certification_id=item.certification_id, incident_id=item.incident_id,
                      anchor_at=anchor, created_at=now, updated_at=now)
    session.add(duty)
    session.flush()
    facts.occurrences.append(duty)
    return duty


def _refresh(session: Session, facts: VendorFacts, duty: VendorDuty, policy: DutyPolicy, applies: bool,
             zone: ZoneInfo, now: datetime) -> Deadline:
    """The occurrence's deadline (made on first sight) in line with its completion and whether it still applies."""
    deadline = facts.deadlines.get(duty.id)
    if deadline is None:
        deadline = Deadline(duty_id=duty.id, policy_key=DUTY_POLICY, clock_key=policy.key, label_zh=policy.title_zh,
                            label_en=policy.title_en, stopped_by="completion", state=DeadlineState.waiting,
                            created_at=now, updated_at=now)
        session.add(deadline)
        facts.deadlines[duty.id] = deadline
    due = due_of(policy, duty.anchor_at, zone) if applies else deadline.due_at
    stop = SimpleNamespace(submitted_at=duty.completed_at) if duty.completed_at else None
    state = new_state(deadline, filing=stop, applies=applies, due_at=due, closed=False, now=now)
    deadline.label_zh, deadline.label_en = policy.title_zh, policy.title_en
    deadline.started_at, deadline.due_at = duty.anchor_at, due
    if state != deadline.state:
        deadline.state = state
    deadline.updated_at = now
    session.flush()
    if deadline.state in (DeadlineState.pending, DeadlineState.missed) and due is not None:
        cancel_alerts(session, deadline, keep_due=due)
        schedule_alerts(session, deadline, policy, now)
    else:
        cancel_alerts(session, deadline)
    return deadline


def sync_vendor_duties(*, session: Session, vendor_id: int, registry: PolicyRegistry, now: datetime) -> list[Deadline]:
    """Bring the vendor's duties in line with its records: an open occurrence, with its deadline, for every duty it
    owes; the next occurrence after a completion; occurrences that no longer apply withdrawn (a miss stays)."""
    zone = registry.zone
    today = now.astimezone(zone).date()
    facts = load_facts(session, vendor_id)
    policies = [registry.duty(k) for k in registry.duty_keys()]
    by_subject: dict[tuple[str, str], list[VendorDuty]] = defaultdict(list)
    for occurrence in facts.occurrences:
        by_subject[(occurrence.kind, occurrence.subject_ref)].append(occurrence)
    touched: list[Deadline] = []
    wanted: set[int] = set()
    for item in owed(policies, facts, today=today, zone=zone):
        occurrences = by_subject[(item.policy.key, item.ref)]
        current = _current(session, facts, item, occurrences, now)
        wanted.add(current.id)
        touched.append(_refresh(session, facts, current, item.policy, True, zone, now))
    for occurrence in facts.occurrences:  # what is no longer owed
        deadline = facts.deadlines.get(occurrence.id)
        policy = registry.duty(occurrence.kind)
        if occurrence.id in wanted or policy is None or deadline is None or deadline.state not in OPEN_STATES:
            continue
        touched.append(_refresh(session, facts, occurrence, policy, False, zone, now))
    session.flush()
    return touched


def vendors_owing_duties(session: Session) -> list[int]:
    """Every vendor the hourly sync looks at: active ones, and any with an open duty."""
    open_duties = sa.select(VendorDuty.vendor_id).join(Deadline, Deadline.duty_id == VendorDuty.id).where(
        Deadline.state.in_(OPEN_STATES))
    return list(session.scalars(sa.select(Vendor.id).where(sa.or_(Vendor.is_active.is_(True), Vendor.id.in_(open_duties)))
                                .order_by(Vendor.id)))


def duties_query(*, now: datetime, vendor_id: int | None = None, kind: str | None = None, state: str | None = None,
                 due_before: datetime | None = None) -> sa.Select:
    """Vendor duties as their clocks (one deadline per occurrence, the duty and vendor joined), soonest due first."""
    stmt = sa.select(Deadline).where(Deadline.duty_id.is_not(None)).join(VendorDuty, VendorDuty.id == Deadline.duty_id)
    if vendor_id is not None:
        stmt = stmt.where(VendorDuty.vendor_id == vendor_id)
    if kind is not None:
        stmt = stmt.where(Deadline.clock_key == kind)
    if state == "open":
        stmt = stmt.where(Deadline.state.in_(OPEN_STATES))
    elif state is not None:
        stmt = stmt.where(Deadline.in_state(DeadlineState(state), now))
    if due_before is not None:
        stmt = stmt.where(Deadline.due_at <= due_before)
    return stmt.order_by(Deadline.due_at.is_(None), Deadline.due_at, Deadline.id)


def duty_deadline(session: Session, duty_id: int) -> Deadline | None:
    return session.scalar(sa.select(Deadline).where(Deadline.duty_id == duty_id))


BOARD_HORIZON = timedelta(days=30)


def board_duties(session: Session, *, now: datetime, vendor_id: int | None = None, limit: int = 200) -> list[Deadline]:
    """The board's "vendor duties": overdue, and due within 30 days (one query; duty and vendor joined)."""
    stmt = duties_query(now=now, vendor_id=vendor_id, state="open", due_before=now + BOARD_HORIZON)
    return list(session.scalars(stmt.where(Deadline.state.in_([DeadlineState.pending, DeadlineState.missed])).limit(limit)))
