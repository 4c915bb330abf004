"""Web pages benchmark: python -m bench.pages  (or: make bench-pages)

Fills a database with 10,000 incidents (two years of history, a few dozen still open, every one with its
reporting deadlines, outages against RTOs, data-loss windows, remediation actions), then times the pages the
issue names — the board, its feed, the vendor list and a vendor's page — with a logged-in Flask test client,
and counts the SQL statements each request sends, to show they do not grow with the number of rows.

SQLite (a temporary file) by default; --postgres uses postgresql+psycopg://postgres@127.0.0.1:5432/test_web,
PAGES_DATABASE_URL any other URL.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from incident_service.database import empty_database

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_web"
CLOCKS = [("initial", "初步通報", "Initial report", timedelta(minutes=30)),
          ("formal", "正式通報", "Formal report", timedelta(hours=24)),
          ("closure", "解除通報", "Closure report", timedelta(days=3))]


def _app(url: str):
    from config import TestingConfig
    from incident_service import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)




def _fill(app, db, n_incidents: int, now: datetime) -> dict:
    """Reference data through the services; the incidents and their deadlines as bulk rows (Core inserts)."""
    from incident_service.incidents.models import Incident, Remediation, incident_systems
    from incident_service.reporting.models import Deadline
    from incident_service.api_common import vendor_catalogues
    from incident_service.vendors import service as vendors

    rng = random.Random(7)
    vendor_ids, contract_of, system_ids = [], {}, []
    for n in range(5):
        system = vendors.create_system(session=db.session, data={"name": f"系統 {n}", "is_core": n < 3, "rto_minutes": 30 * (n + 1),
                                                                  "rpo_minutes": 5 * n}, now=now)
        system_ids.append(system.id)
    for n in range(9):
        vendor = vendors.create_vendor(session=db.session, data={"name": f"廠商 {n}", "category": "operations"}, now=now)
        contract = vendors.create_contract(session=db.session, data={
            "vendor_id": vendor.id, "reference": f"C-{n}", "title": "維運", "starts_on": date(2024, 1, 1),
            "system_ids": system_ids[:3], "availability_target": "99.9", "vendor_notify_minutes": 30},
            catalogue=vendor_catalogues().clauses, now=now)
        vendor_ids.append(vendor.id)
        contract_of[vendor.id] = contract.id

    incidents, links, deadlines, remediations = [], [], [], []
    for i in range(1, n_incidents + 1):
        recent = i > n_incidents - 40  # the last few dozen are still open, their clocks running
        aware = now - (timedelta(minutes=rng.randint(1, 600)) if recent else timedelta(days=rng.uniform(3, 730)))
        vendor_id = vendor_ids[i % len(vendor_ids)]
        down = aware - timedelta(minutes=rng.randint(0, 20)) if i % 3 else None
        restored = down + timedelta(minutes=rng.randint(5, 240)) if down and not recent else None
        loss = i % 7 == 0
        incidents.append({
            "id": i, "kind": "outage" if i % 4 else "security", "severity": 1 + i % 4, "title": f"事件 {i}",
            "status": "open" if recent else "closed", "vendor_id": vendor_id, "contract_id": contract_of[vendor_id],
            "policies": ["twse"], "aware_at": aware, "occurred_at": aware - timedelta(minutes=5),
            "vendor_aware_at": aware - timedelta(minutes=10), "vendor_notified_at": aware + timedelta(minutes=rng.randint(0, 60)),
            "service_down_at": down, "service_restored_at": restored,
            "data_loss_from": aware - timedelta(minutes=rng.randint(1, 30)) if loss else None, "data_loss_to": aware if loss else None,
            "closed_at": None if recent else aware + timedelta(days=3), "trading_affected": i % 5 == 0, "investors_affected": False,
            "bcp_invoked": False, "failover_performed": False, "created_at": aware, "updated_at": aware, "version": 1,
        })
        links.append({"incident_id": i, "system_id": system_ids[i % len(system_ids)]})
        for key, zh, en, duration in CLOCKS:
            due = aware + duration
            if recent:
                state = "pending"
            else:
                state = rng.choices(["met", "met_late", "missed", "waived"], weights=[85, 8, 5, 2])[0]
            deadlines.append({"incident_id": i, "policy_key": "twse", "clock_key": key, "label_zh": zh, "label_en": en,
                              "stopped_by": key, "started_at": aware, "due_at": due, "state": state,
                              "created_at": aware, "updated_at": aware})
        if i % 4 == 0:
            remediations.append({"incident_id": i, "action": "code_review", "title": "程式碼檢視", "owner": "王大明",
                                 "due_on": (aware + timedelta(days=30)).date(), "status": "verified" if not recent else "planned",
                                 "created_at": aware, "updated_at": aware, "version": 1})
    with db.engine.begin() as conn:
        for table, rows in ((Incident.__table__, incidents), (incident_systems, links), (Deadline.__table__, deadlines),
                            (Remediation.__table__, remediations)):
            for start in range(0, len(rows), 2000):
                conn.execute(sa.insert(table), rows[start:start + 2000])
        if db.engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval('incidents_id_seq', (SELECT max(id) FROM incidents))"))
    return {"vendors": vendor_ids, "deadlines": len(deadlines), "remediations": len(remediations)}


def _client(app, db, now):
    from incident_service.auth.service import create_user

    user = create_user(session=db.session, username="bench", password="correct horse battery",
                       roles=["supervisor", "auditor"], now=now)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess.update({"_user_id": str(user.id), "_fresh": True, "_login_at": time.time(), "_last_seen": time.time()})
    return client


def _measure(engine, client, url: str, repeats: int) -> dict:
    statements: list[int] = []
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    timings = []
    try:
        for _ in range(repeats):
            counter["n"] = 0
            started = time.perf_counter()
            response = client.get(url)  # no app context is active here: each request has its own, as in production
            timings.append((time.perf_counter() - started) * 1000)
            statements.append(counter["n"])
            assert response.status_code == 200, (url, response.status_code)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    timings.sort()
    return {"url": url, "median_ms": statistics.median(timings), "p95_ms": timings[max(0, int(len(timings) * 0.95) - 1)],
            "queries": sorted(set(statements)), "bytes": len(response.data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help=f"use {POSTGRES_URL}")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-pages-")
    url = os.environ.get("PAGES_DATABASE_URL") or (POSTGRES_URL if args.postgres else f"sqlite:///{folder}/pages.db")
    import logging

    logging.disable(logging.INFO)
    app = _app(url)
    from incident_service.extensions import db

    now = datetime.now(UTC)
    with app.app_context():
        empty_database(db)
        db.create_all()
        started = time.perf_counter()
        filled = _fill(app, db, args.incidents, now)
        client = _client(app, db, now)
        print(f"database: {db.engine.dialect.name} ({url.split('@')[-1]})")
        print(f"filled {args.incidents:,} incidents, {filled['deadlines']:,} deadlines, {filled['remediations']:,} remediation "
              f"actions across {len(filled['vendors'])} vendors in {time.perf_counter() - started:.1f} s")
        vendor = filled["vendors"][0]
        period = (now - timedelta(days=90)).astimezone().strftime("%Y-%m-%d")
        engine = db.engine
        pages = ["/board", "/board/feed", "/vendors", f"/vendors/{vendor}", f"/vendors/{vendor}?aware_from={period}",
                 f"/vendors/{vendor}/history.csv"]
    print(f"{'page':45} {'median ms':>10} {'p95 ms':>8} {'queries':>10} {'KB':>7}")
    for page in pages:
        repeats = args.repeats if "history" not in page and "/vendors/" not in page else max(5, args.repeats // 4)
        result = _measure(engine, client, page, repeats)
        queries = ",".join(map(str, result["queries"]))
        print(f"{page:45} {result['median_ms']:10.1f} {result['p95_ms']:8.1f} {queries:>10} {result['bytes'] / 1024:7.0f}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
