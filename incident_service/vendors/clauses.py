"""Which of the Art. 4 clauses a contract contains (seed 001): per clause present / absent / not applicable, with the
contract's section; the gaps read off it; and the contract's own fields that say the same thing as a clause (the
vendor's duty to notify, the audit right, subcontracting, penalties), kept consistent with it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incident_service.errors import ValidationFailed
from incident_service.phrases import N_
from incident_service.vendors.catalogues import ClauseCatalogue
from incident_service.vendors.models import ClauseStatus, Contract, ContractClause


@dataclass(frozen=True)
class ClauseRow:
    """One clause of the catalogue as it stands for one contract."""

    key: str
    number: str
    basic: int | None
    title_zh: str
    title_en: str
    status: ClauseStatus | None  # None: not recorded yet
    section: str | None
    note: str | None
    applies: bool  # False when the clause's condition does not hold for this contract (and nothing was recorded)

    @property
    def is_gap(self) -> bool:
        return self.applies and self.status in (None, ClauseStatus.absent)


@dataclass(frozen=True)
class CoveredTraits:
    """What the contract's covered systems are, for the clauses that apply only under a condition."""

    real_time_quotes: bool
    core_system: bool

    @classmethod
    def of(cls, contract: Contract) -> CoveredTraits:
        systems = [link.system for link in contract.covered]
        return cls(real_time_quotes=any(s.real_time_quotes for s in systems), core_system=any(s.is_core for s in systems))

    def holds(self, condition: str | None) -> bool:
        return condition is None or bool(getattr(self, condition))


def clause_rows(contract: Contract, catalogue: ClauseCatalogue) -> list[ClauseRow]:
    """Every clause of the catalogue, in its order, with what the contract records for it (no query: the contract's
    clauses and covered systems are loaded with it)."""
    recorded = {row.clause_key: row for row in contract.clauses}
    traits = CoveredTraits.of(contract)
    rows = []
    for clause in catalogue.clauses:
        entry = recorded.get(clause.key)
        rows.append(ClauseRow(
            key=clause.key, number=clause.number, basic=clause.basic, title_zh=clause.title_zh, title_en=clause.title_en,
            status=entry.status if entry else None, section=entry.section if entry else None,
            note=entry.note if entry else None, applies=entry is not None or traits.holds(clause.applies_when)))
    return rows


def gap_keys(rows: list[ClauseRow]) -> list[str]:
    """The clauses the contract owes and does not show: absent, or not recorded yet."""
    return [row.key for row in rows if row.is_gap]


# -- recording -----------------------------------------------------------------------------------------------------

def record_clauses(contract: Contract, given: list[dict[str, Any]], catalogue: ClauseCatalogue) -> dict[str, ContractClause]:
    """Record the clauses given (each replaces what the contract recorded for that key; others stay); returns the
    contract's clauses after it, by key. Unknown and doubled keys are field errors naming the entry."""
    errors: dict[str, Any] = {}
    seen: set[str] = set()
    for index, entry in enumerate(given):
        key = entry["key"]
        if catalogue.get(key) is None:
            errors[str(index)] = {"key": [f"{key!r} is not a clause; GET /api/v1/clauses lists them."]}
        elif key in seen:
            errors[str(index)] = {"key": [f"{key!r} is given twice."]}
        seen.add(key)
    if errors:
        raise ValidationFailed({"clauses": errors})
    recorded = {row.clause_key: row for row in contract.clauses}
    for entry in given:
        row = recorded.get(entry["key"])
        if row is None:
            row = recorded[entry["key"]] = ContractClause(clause_key=entry["key"])
            contract.clauses.append(row)
        row.status = ClauseStatus(entry["status"])
        row.section = entry.get("section")
        row.note = entry.get("note")
    return recorded


# -- the contract's fields that repeat a clause ------------------------------------------------------------------

@dataclass(frozen=True)
class LinkedField:
    field: str
    clause: str
    exact: bool  # True: the field is yes exactly when the clause is present; False: a yes needs the clause present

    def says_yes(self, contract: Contract) -> bool:
        value = getattr(contract, self.field)
        if isinstance(value, str):
            return bool(value.strip())
        return bool(value) if isinstance(value, bool) else value is not None


LINKED_FIELDS = (
    LinkedField("vendor_notify_minutes", "incident_notification", exact=False),
    LinkedField("audit_right", "audit_right", exact=True),
    LinkedField("subcontracting_allowed", "assignment_subcontracting", exact=False),
    LinkedField("penalty_terms", "penalties", exact=False),
)


def reconcile_linked_fields(contract: Contract, recorded: dict[str, ContractClause], *, fields_given: set[str],
                            clauses_given: set[str]) -> list[ContractClause]:
    """Bring a contract's fields and the clauses they repeat in line, or refuse a contradiction (422 naming both).

    A clause recorded now and a field not sent: an exact field follows the clause. A field that says yes and a
    clause not recorded: the clause is recorded present. A yes beside a clause recorded absent or not applicable,
    or an exact field's no beside a clause present, is a contradiction. Returns the clause rows it added."""
    errors: dict[str, list[str]] = {}
    added: list[ContractClause] = []
    for link in LINKED_FIELDS:
        row = recorded.get(link.clause)
        if link.exact and row is not None and link.clause in clauses_given and link.field not in fields_given:
            setattr(contract, link.field, row.status == ClauseStatus.present)
        yes = link.says_yes(contract)
        if row is None:
            if yes:
                row = recorded[link.clause] = ContractClause(clause_key=link.clause, status=ClauseStatus.present,
                                                             note="recorded from the contract's own field")
                contract.clauses.append(row)
                added.append(row)
            continue
        present = row.status == ClauseStatus.present
        if (yes and not present) or (link.exact and present and not yes):
            stated = "present" if present else row.status.value.replace("_", " ")
            errors.setdefault(link.field, []).append(
                N_("Contradicts the clause %(clause)s, recorded %(stated)s: change one of them.", clause=link.clause,
                   stated=stated))
            errors.setdefault("clauses", []).append(f"{link.clause!r} contradicts {link.field}.")
    if errors:
        raise ValidationFailed(errors)
    return added

