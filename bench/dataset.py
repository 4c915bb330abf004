"""A realistic data set for benchmarks against a real database, written in bulk (SQLAlchemy Core executemany).

The schema is built by Alembic (`flask db upgrade`), so the indexes are the real ones. Then, in one transaction:
- 20 vendors of the four categories (certifications, subcontractors), 10 systems with RTO/RPO, one or two
  contracts per vendor covering two or three systems, each with an availability target, a duty to notify and,
  for some systems, its own RTO/RPO;
- incidents spread over two years, one "big" vendor holding 1/9 of them (the vendor benchmarks read it), each with
  its systems, the deadlines of the default `twse` policy (durations and labels read from the policy registry), the
  filings that met most of them (some late), some missed (a few justified), a few waived; outages with
  down/restored times and data-loss windows (some beyond the contract's RTO/RPO), remediation actions (with four
  eyes on verification) and the timeline of each;
- 40 incidents still open: aware within the last three days, or weeks ago with the closure report overdue, so the
  board shows running, overdue and recently met clocks whatever the size of the history.
Incidents are written in chunks, so 100,000 of them need no more memory than 2,000. Audit entries and the clock
engine's alert instants are not written: no benchmarked request reads them.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from incident_service.database import empty_database
from incident_service.reporting.policy import INCIDENT_EVENTS
from incident_service.vendors.catalogues import load_clauses

VENDORS = 20
SYSTEMS = 10
OPEN_INCIDENTS = 40
BIG_VENDOR_SHARE = 1 / 9
HISTORY = timedelta(days=730)
CHUNK = 2_000
ONCALL = ("oncall-chen", "oncall-lin", "oncall-wang")
SUPERVISORS = ("supervisor-huang", "supervisor-tsai")
CATEGORIES = ("system_development", "operations", "cloud", "consulting_training")
BASIC_CLAUSES = [c.key for c in sorted((c for c in load_clauses().clauses if c.basic), key=lambda c: c.basic)]
SYSTEM_NAMES = ("APP電子下單系統", "憑證驗章系統", "行情報價系統", "網路下單系統", "後台帳務系統", "公司官網",
                "客戶關係管理系統", "電子對帳單系統", "內部郵件系統", "人事薪資系統")
REMEDIATION_TITLES = {
    "stress_test": "擴大壓力測試範圍", "resource_allocation": "調整系統資源分配與告警門檻",
    "code_review": "程式碼審查（連線釋放、例外處理）", "patch_process": "更新須先於測試環境驗證後上線",
    "vendor_penalty": "依合約就超過 RTO 部分求償", "performance": "效能調校", "other": "其他改善措施",
}
SYMPTOMS = ("無法登入", "回應緩慢", "報價中斷", "下單失敗", "憑證驗章逾時", "資料同步延遲", "異常連線告警")
CAUSES = ("作業系統更新後防火牆預設封鎖", "資料庫連線未釋放致連線池耗盡", "機房光纖中斷", "憑證過期",
          "記憶體洩漏", "設定檔部署錯誤", "第三方雲端區域故障", "惡意程式感染")


def ensure_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database when it is missing (a fresh machine has only ``test``)."""
    target = sa.engine.make_url(url)
    if not target.drivername.startswith("postgresql"):
        return
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def reset_schema(db) -> None:
    """Drop everything, then build the schema with the migrations (inside an app context)."""
    from flask_migrate import upgrade

    empty_database(db)
    upgrade()


@dataclass
class Filled:
    """What was written: rows per table, and the vendor holding 1/9 of the incidents."""

    big_vendor_id: int
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Contract:
    id: int
    starts_on: date
    ends_on: date | None
    system_ids: tuple[int, ...]


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


class _Writer:
    """Collects the rows of a chunk per table, handing out primary keys, and writes them in bulk."""

    def __init__(self, conn, tables: dict[str, sa.Table]):
        self.conn, self.tables = conn, tables
        self.pending: dict[str, list[dict]] = defaultdict(list)
        self.next_id: dict[str, int] = defaultdict(lambda: 1)
        self.written: dict[str, int] = defaultdict(int)

    def add(self, table: str, **row: Any) -> int | None:
        if "id" in self.tables[table].c and "id" not in row:
            row["id"] = self.next_id[table]
        if "id" in row:
            self.next_id[table] = max(self.next_id[table], row["id"] + 1)
        self.pending[table].append(row)
        return row.get("id")

    def flush(self) -> None:
        for name, table in self.tables.items():  # in foreign-key order
            rows = self.pending.pop(name, [])
            if rows:
                self.conn.execute(sa.insert(table), rows)
                self.written[name] += len(rows)

    def reset_sequences(self) -> None:
        """Explicit ids leave the serial sequences at 1: move them past the rows written."""
        for name, table in self.tables.items():
            if "id" in table.c and self.written[name]:
                last_id = self.next_id[name] - 1
                self.conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {last_id})"))


class _DataSet:
    """The generator: reference data, then one incident at a time with everything that hangs off it."""

    def __init__(self, writer: _Writer, registry, now: datetime, rng: random.Random):
        self.writer, self.now, self.rng, self.zone = writer, now, rng, registry.zone
        self.clocks = registry.get("twse").clocks
        self.system_names: dict[int, str] = {}
        self.contracts: dict[int, list[_Contract]] = {}

    # -- vendors, systems, contracts ----------------------------------------------------------------------

    def reference_data(self) -> list[int]:
        """Systems, then vendors with their contracts; the vendor ids, the big vendor first."""
        self._systems()
        return self._vendors()

    def _systems(self) -> None:
        rng, now = self.rng, self.now
        for n, name in enumerate(SYSTEM_NAMES[:SYSTEMS], start=1):
            core = n <= 4  # order entry, certificates, quotes, web trading: 核心系統
            rto = rng.choice((15, 30, 60)) if core else rng.choice((240, 480, 1440))
            self.system_names[n] = name
            self.writer.add(
                "systems", id=n, name=name, description=f"{name}（{'核心' if core else '非核心'}）", is_core=core,
                tolerable_outage_minutes=rto, rto_minutes=rto, rpo_minutes=0 if core else 60,
                created_at=now - HISTORY - timedelta(days=200), updated_at=now - HISTORY, version=1)

    def _vendors(self) -> list[int]:
        rng, now = self.rng, self.now
        created = now - HISTORY - timedelta(days=365)
        renewed_on = (now - timedelta(days=364)).date()
        contract_id = 0
        for n in range(1, VENDORS + 1):
            self.writer.add(
                "vendors", id=n, name=f"供應商 {n:02d} 資訊股份有限公司", tax_id=f"{10_000_000 + n * 7919:08d}",
                category=CATEGORIES[n % 4], service_location=rng.choice(("台北市內湖區", "新北市汐止區", "ap-northeast-1")),
                contact_name=f"窗口 {n}", contact_phone=f"+886-2-2345-{n:04d}", contact_email=f"noc{n}@vendor.example",
                subcontractors=[{"name": "雲端機房", "service": "主機代管"}] if n % 3 == 0 else [],
                notes=None, is_active=True, created_at=created, updated_at=created, version=1)
            self.writer.add("vendor_certifications", vendor_id=n, name="ISO 27001",
                            expires_on=(now + timedelta(days=rng.randint(-60, 700))).date())
            covered = tuple(sorted(rng.sample(range(1, SYSTEMS + 1), rng.choice((2, 3)))))
            # Half the vendors renewed their contract a year ago: incidents are measured against the one in force.
            terms = [(created.date(), renewed_on - timedelta(days=1)), (renewed_on, None)] if n % 2 \
                else [(created.date(), None)]
            self.contracts[n] = []
            for starts_on, ends_on in terms:
                contract_id += 1
                self._contract(contract_id, n, starts_on, ends_on, covered)
        return list(range(1, VENDORS + 1))

    def _contract(self, contract_id: int, vendor_id: int, starts_on: date, ends_on: date | None,
                  covered: tuple[int, ...]) -> None:
        rng = self.rng
        created = datetime.combine(starts_on, datetime.min.time(), UTC)
        self.writer.add("contracts", id=contract_id, vendor_id=vendor_id, reference=f"C-{vendor_id:02d}-{starts_on.year}",
                   title="維運服務合約", scope="系統維護、更新與 7x24 支援", starts_on=starts_on, ends_on=ends_on,
                   availability_target=rng.choice((Decimal("99.9"), Decimal("99.95"), Decimal("99.5"))),
                   vendor_notify_minutes=rng.choice((10, 15, 30, 60)), penalty_terms="每超過 RTO 1 小時扣當月維護費 5%",
                   audit_right=True, subcontracting_allowed=vendor_id % 3 == 0,
                   created_at=created, updated_at=created, version=1)
        for number, key in enumerate(BASIC_CLAUSES, start=1):
            if vendor_id % 4 or number in (1, 2, 3, 5, 8, 13):
                self.writer.add("contract_clauses", contract_id=contract_id, clause_key=key, status="present",
                                section=f"第{number}條", note=None)
        for system_id in covered:
            own = system_id % 2 == 0  # the contract sets its own RTO/RPO for some systems
            self.writer.add("contract_systems", contract_id=contract_id, system_id=system_id,
                       rto_minutes=rng.choice((30, 60, 120)) if own else None,
                       rpo_minutes=rng.choice((0, 5, 15)) if own else None)
        self.contracts[vendor_id].append(_Contract(contract_id, starts_on, ends_on, covered))

    def _contract_on(self, vendor_id: int, day: date) -> _Contract:
        for contract in self.contracts[vendor_id]:
            if contract.starts_on <= day and (contract.ends_on is None or day <= contract.ends_on):
                return contract
        return self.contracts[vendor_id][-1]

    # -- one incident -------------------------------------------------------------------------------------

    def incident(self, incident_id: int, vendor_id: int, aware: datetime, is_open: bool) -> None:
        """An incident with its systems, deadlines, filings, remediation and timeline; closed unless ``is_open``."""
        rng, now = self.rng, self.now
        row, systems = self._incident_row(incident_id, vendor_id, aware, is_open)
        reporter = rng.choice(ONCALL)
        self.writer.add("timeline_events", incident_id=incident_id, at=row["created_at"], actor=reporter, kind="created",
                        summary=f"Incident recorded: {row['title']}", changes={})
        for system_id in systems:
            self.writer.add("incident_systems", incident_id=incident_id, system_id=system_id)
        last_write = self._deadlines(row, reporter, is_open)
        restored = row["service_restored_at"]
        if restored:
            at = min(restored + _minutes(rng, 1, 30), now)
            self.writer.add("timeline_events", incident_id=incident_id, at=at, actor=reporter, kind="updated",
                            summary="Service restored", changes={"service_restored_at": [None, restored.isoformat()]})
            last_write = max(last_write, at)
        last_write = max(last_write, self._remediations(incident_id, aware, is_open))
        if is_open:
            row["status"] = "recovered" if restored else "open"
        else:
            row["status"] = "closed"
            row["closed_at"] = min(last_write + _minutes(rng, 5, 1440), now)
            self.writer.add("timeline_events", incident_id=incident_id, at=row["closed_at"], actor=SUPERVISORS[0],
                            kind="status", summary="Closed", changes={"status": ["recovered", "closed"]})
        row["updated_at"] = row["closed_at"] or max(row["created_at"], min(last_write, now))
        row["version"] = 2 + rng.randint(0, 4)
        self.writer.add("incidents", **row)

    def _incident_row(self, incident_id: int, vendor_id: int, aware: datetime, is_open: bool) -> tuple[dict, list[int]]:
        """The incident's columns (status and closing filled in later), and its systems."""
        rng, now = self.rng, self.now
        contract = self._contract_on(vendor_id, aware.date())
        systems = rng.sample(contract.system_ids, 1 if rng.random() < 0.8 else 2)
        kind = "security" if rng.random() < 0.25 else "outage"
        down = aware - _minutes(rng, 0, 30) if kind == "outage" or rng.random() < 0.3 else None
        restored = down + timedelta(minutes=min(rng.lognormvariate(4.0, 0.9), 2880)) if down else None
        if restored and is_open and restored > now - timedelta(minutes=5):
            restored = None  # still down
        trading = rng.random() < 0.2
        investors = rng.random() < (0.4 if trading else 0.03)
        affected = trading or investors
        severity = rng.choices((1, 2, 3, 4), weights=(10, 30, 40, 20) if affected else (40, 35, 20, 5))[0]
        created = min(aware + _minutes(rng, 1, 20), now)
        loss_from = (down or aware) - _minutes(rng, 0, 20) if rng.random() < 0.12 else None
        impact_known = (aware if rng.random() < 0.8 else min(aware + _minutes(rng, 10, 180), now)) if affected else None
        occurred = (down or aware) - _minutes(rng, 0, 15)
        cause = rng.choice(CAUSES)
        row = dict(
            id=incident_id, kind=kind, severity=severity, status="open",
            title=f"{self.system_names[systems[0]]}{rng.choice(SYMPTOMS)}（#{incident_id}）",
            description=f"廠商維運之{self.system_names[systems[0]]}發生異常，初判原因：{cause}。已請廠商處理並持續追蹤。",
            vendor_id=vendor_id, contract_id=contract.id if rng.random() < 0.9 else None, policies=["twse"],
            occurred_at=occurred, detected_at=max(occurred, aware - _minutes(rng, 0, 10)), aware_at=aware,
            aware_on=aware.astimezone(self.zone).date(),
            classified_at=None, vendor_aware_at=max(occurred, aware - _minutes(rng, 0, 60)),
            vendor_notified_at=min(aware + _minutes(rng, 0, 15), now) if rng.random() < 0.85 else None,
            service_down_at=down, service_restored_at=restored,
            data_loss_from=loss_from, data_loss_to=loss_from + _minutes(rng, 1, 45) if loss_from else None, closed_at=None,
            trading_affected=trading, investors_affected=investors,
            impact_known_at=impact_known,
            clients_affected=rng.randint(10, 5000) if affected else None,
            estimated_loss_ntd=rng.randint(10, 5000) * 1000 if affected else None,
            root_cause=None if is_open else f"{cause}。", bcp_invoked=affected and rng.random() < 0.5,
            failover_performed=down is not None and rng.random() < 0.3,
            response_notes=None if is_open else "切換備援並請廠商修復，已恢復服務。",
            customer_notice="於 APP 及官網首頁公告服務異常" if trading else None,
            alternative_channels="語音下單及網頁下單" if trading else None, complaint_handling=None, public_notice_text=None,
            reporting_contact=None, major_incident=True if severity >= 3 else None,
            major_criteria=["severity_3_or_above"] + (["trading_affected"] if trading else []) if severity >= 3 else [],
            major_decided_by=SUPERVISORS[0] if severity >= 3 else None,
            major_decided_at=min(created + timedelta(minutes=10), now) if severity >= 3 else None,
            major_decision_reason="事件等級第三級以上" if severity >= 3 else None,
            reported_by_id=None, created_at=created, updated_at=created, version=1,
        )
        return row, systems

    def _deadlines(self, incident: dict, reporter: str, is_open: bool) -> datetime:
        """The policy's deadlines with their outcomes and filings; returns the last time something was written."""
        last = incident["created_at"]
        for clock in self.clocks:
            if not clock.applies.holds_for(SimpleNamespace(**incident)):
                continue
            rule = clock.rules[0]  # twse: one rule per clock, each starting at an incident event
            start = incident[INCIDENT_EVENTS[rule.start]]
            due = rule.duration.after(start, self.zone)
            deadline = dict(incident_id=incident["id"], policy_key="twse", clock_key=clock.key, label_zh=clock.label_zh,
                            label_en=clock.label_en, stopped_by=clock.stopped_by, started_at=start, due_at=due,
                            state="pending", filing_id=None, waived_by=None, waived_at=None, waiver_reason=None,
                            justification=None, justified_by=None, justified_at=None,
                            created_at=incident["created_at"], updated_at=incident["created_at"])
            restored = incident["service_restored_at"]
            # No closure while the service is down: its filing comes after the restoration.
            earliest = max(start, restored) if clock.requires_recovery and restored else start
            still_down = clock.requires_recovery and restored is None
            outcome = self._outcome(due, earliest, is_open, still_down=still_down)
            if outcome in ("met", "met_late"):
                self._file(deadline, clock, incident, reporter, earliest, on_time=outcome == "met")
            elif outcome == "missed":
                self._miss(deadline)
            elif outcome == "waived":
                waived = _between(self.rng, start, due)
                deadline.update(state="waived", waived_by=SUPERVISORS[0], waived_at=waived, updated_at=waived,
                                waiver_reason="經確認非屬應通報事件")
            self.writer.add("deadlines", **deadline)
            last = max(last, min(deadline["updated_at"], self.now))
        return last

    def _outcome(self, due: datetime, earliest: datetime, is_open: bool, still_down: bool) -> str:
        """Met, met late, missed, waived or pending: history mostly on time; open incidents as the clocks stand now."""
        rng, now = self.rng, self.now
        if not is_open:
            return rng.choices(("met", "met_late", "missed", "waived"), weights=(86, 8, 5, 1))[0]
        if still_down or earliest >= now:
            return "missed" if due < now else "pending"
        if due < now:
            return rng.choices(("met", "met_late", "missed"), weights=(70, 10, 20))[0]
        return "met" if rng.random() < 0.4 else "pending"

    def _file(self, deadline: dict, clock, incident: dict, reporter: str, earliest: datetime, on_time: bool) -> None:
        """The filing that stopped a deadline (recorded a few minutes after its submission), and its timeline event."""
        rng, now, due = self.rng, self.now, deadline["due_at"]
        submitted = _between(rng, earliest, min(due, now)) if on_time else min(due + _minutes(rng, 1, 360), now)
        recorded = min(max(submitted + _minutes(rng, 0, 8), incident["created_at"]), now)
        state = "met" if submitted <= due else "met_late"
        filing_id = self.writer.add(
            "filings", incident_id=incident["id"], kind=clock.stopped_by, policy_key="twse", submitted_at=submitted,
            submitted_by=reporter, reference=f"ISAC-{incident['id']:06d}-{clock.key[:3].upper()}", text=None,
            recorded_at=recorded, recorded_by=reporter)
        self.writer.add("timeline_events", incident_id=incident["id"], at=recorded, actor=reporter, kind="filing",
                        summary=f"Filed {clock.stopped_by} (twse) — {clock.label_en}: {state}",
                        changes={"filing_id": [None, filing_id]})
        deadline.update(state=state, filing_id=filing_id, updated_at=recorded)

    def _miss(self, deadline: dict) -> None:
        """Missed at its due time (the engine marks it then); a supervisor explains some of them a day later."""
        deadline.update(state="missed", updated_at=deadline["due_at"])
        if self.rng.random() < 0.3 and deadline["due_at"] + timedelta(days=1) < self.now:
            justified = deadline["due_at"] + _minutes(self.rng, 60, 1440)
            deadline.update(justification="廠商未及時提供資訊", justified_by=SUPERVISORS[1], justified_at=justified,
                            updated_at=justified)

    def _remediations(self, incident_id: int, aware: datetime, is_open: bool) -> datetime:
        """A third of the incidents get one or two actions; old ones mostly verified, by someone else than the doer."""
        rng, now, last = self.rng, self.now, aware
        if rng.random() > (0.5 if is_open else 0.35):
            return last
        for _ in range(rng.choice((1, 1, 2))):
            action = rng.choice(tuple(REMEDIATION_TITLES))
            created = min(aware + _minutes(rng, 60, 2880), now)
            old = now - aware > timedelta(days=90)
            status = "planned" if is_open else rng.choices(
                ("verified", "cancelled", "done", "in_progress", "planned"),
                weights=(80, 5, 10, 5, 0) if old else (30, 5, 20, 25, 20))[0]
            completed = min(created + timedelta(days=rng.randint(3, 40)), now) if status in ("done", "verified") else None
            verified = min(completed + timedelta(days=rng.randint(1, 10)), now) if status == "verified" else None
            self.writer.add(
                "remediations", incident_id=incident_id, action=action, title=REMEDIATION_TITLES[action],
                description=None, owner=rng.choice(("資訊部 維運組", "資訊部 系統組", "廠商專案經理", "法務室")),
                due_on=(aware + timedelta(days=30)).date(), status=status,
                evidence="測試紀錄與變更單" if completed else None, completed_at=completed,
                completed_by=ONCALL[0] if completed else None, verified_by=SUPERVISORS[0] if verified else None,
                verified_at=verified, created_at=created, updated_at=verified or completed or created,
                version=1 + (completed is not None) + (verified is not None))
            self.writer.add("timeline_events", incident_id=incident_id, at=created, actor=ONCALL[0], kind="remediation",
                            summary=f"Remediation added: {REMEDIATION_TITLES[action]}", changes={})
            last = max(last, verified or completed or created)
        return last


def _history_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """Awareness times of the closed incidents, oldest first, over two years up to three days ago."""
    span = HISTORY - timedelta(days=4)
    return sorted(now - timedelta(days=3, hours=1) - span * rng.random() for _ in range(count))


def _open_times(rng: random.Random, now: datetime) -> list[datetime]:
    """10 open incidents with the initial report running, 15 the formal one, 10 the closure, 5 weeks old and overdue."""
    spans = [(2, 30)] * 10 + [(30, 24 * 60)] * 15 + [(24 * 60, 70 * 60)] * 10 + [(4 * 1440, 20 * 1440)] * 5
    return sorted(now - _minutes(rng, low, high) for low, high in spans[:OPEN_INCIDENTS])


def _vendor_for(rng: random.Random, vendor_ids: list[int]) -> int:
    """The big vendor (the first) holds BIG_VENDOR_SHARE of the incidents; the others share the rest, unevenly."""
    if rng.random() < BIG_VENDOR_SHARE:
        return vendor_ids[0]
    others = vendor_ids[1:]
    return rng.choices(others, weights=[1 + (n % 4) * 0.5 for n in range(len(others))])[0]


def fill(*, db, registry, incidents: int, now: datetime, seed: int = 7) -> Filled:
    """Write the data set into an empty schema (one transaction), then VACUUM ANALYZE it."""
    from incident_service.incidents.models import Incident, Remediation, TimelineEvent, incident_systems
    from incident_service.reporting.models import Deadline, Filing
    from incident_service.vendors.models import Certification, Contract, ContractSystem, System, Vendor

    tables = {t.name: t for t in (System.__table__, Vendor.__table__, Certification.__table__, Contract.__table__,
                                  ContractSystem.__table__, Incident.__table__, incident_systems, Filing.__table__,
                                  Deadline.__table__, Remediation.__table__, TimelineEvent.__table__)}
    if incidents <= OPEN_INCIDENTS:
        raise ValueError(f"give more than {OPEN_INCIDENTS} incidents")
    with db.engine.begin() as conn:
        writer = _Writer(conn, tables)
        data = _DataSet(writer, registry, now, random.Random(seed))
        vendor_ids = data.reference_data()
        writer.flush()
        history = _history_times(data.rng, incidents - OPEN_INCIDENTS, now)
        for incident_id, aware in enumerate(history, start=1):
            data.incident(incident_id, _vendor_for(data.rng, vendor_ids), aware, is_open=False)
            if incident_id % CHUNK == 0:
                writer.flush()
        data.rng = random.Random(seed + 1)  # the open incidents from their own generator: the same board at every size
        for incident_id, aware in enumerate(_open_times(data.rng, now), start=len(history) + 1):
            data.incident(incident_id, _vendor_for(data.rng, vendor_ids), aware, is_open=True)
        writer.flush()
        writer.reset_sequences()
    # VACUUM too, not only ANALYZE: fresh bulk rows would otherwise get autovacuumed in the middle of a measurement.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return Filled(big_vendor_id=vendor_ids[0], rows=dict(writer.written))
