"""Appending to the hash chain, and checking it.

Each entry's hash is SHA-256 over a canonical JSON of its fields and the previous entry's hash, so editing,
deleting or reordering any stored entry breaks the chain from that entry on. Appends take the chain head
under a lock (a transaction-level advisory lock on PostgreSQL; SQLite has one writer at a time), just before
commit, so concurrent writers (web workers, the clock engine) never fork the chain and hold it only briefly.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from incident_service.database import jsonable

_ADVISORY_LOCK_KEY = 0x61756469745F6C  # "audit_l": one lock for the whole chain
HASHED_FIELDS = ("seq", "at", "actor", "actor_id", "action", "record_type", "record_id", "old_values",
                 "new_values", "details", "prev_hash")


@dataclass
class PendingEntry:
    """An entry waiting for the commit that will chain it."""

    at: datetime
    actor: str
    actor_id: int | None
    action: str
    record_type: str
    record_id: str | None = None
    old_values: dict | None = None
    new_values: dict | None = None
    details: dict | None = None

    def row(self) -> dict[str, Any]:
        return {
            "at": self.at.astimezone(UTC), "actor": self.actor[:80], "actor_id": self.actor_id, "action": self.action[:20],
            "record_type": self.record_type[:80], "record_id": None if self.record_id is None else str(self.record_id)[:80],
            # Through JSON once, so the hash is computed over exactly what the database gives back.
            "old_values": _roundtrip(self.old_values), "new_values": _roundtrip(self.new_values),
            "details": _roundtrip(self.details),
        }


def _roundtrip(value: dict | None) -> dict | None:
    return None if value is None else json.loads(json.dumps(jsonable(value), ensure_ascii=False))


def _canonical_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's fields (keys sorted, no spaces, UTC microseconds)."""
    data = {name: fields[name] for name in HASHED_FIELDS}
    data["at"] = _canonical_time(data["at"])
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _lock_head(session: Session) -> AuditChainHead | None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))
    else:
        # Take SQLite's write lock before reading the head, so no other writer can read the same head.
        session.execute(sa.update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=AuditChainHead.seq))
    return session.execute(
        sa.select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == 1)
    ).one_or_none()


def append(session: Session, entries: list[PendingEntry]) -> None:
    """Chain and insert ``entries`` inside the current transaction (the caller commits)."""
    if not entries:
        return
    head = _lock_head(session)
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    rows = []
    for entry in entries:
        seq += 1
        row = {"seq": seq, **entry.row(), "prev_hash": prev}
        row["hash"] = prev = entry_hash(row)
        rows.append(row)
    session.execute(sa.insert(AuditEntry), rows)
    if head:
        session.execute(sa.update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=seq, hash=prev))
    else:
        session.execute(sa.insert(AuditChainHead).values(id=1, seq=seq, hash=prev))


@dataclass
class Verdict:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""
    head_seq: int = 0  # the last entry that holds, and its hash
    head_hash: str = GENESIS_HASH


def snapshot(session: Session) -> None:
    """Read the chain as of one instant: appends write entries and head in one transaction, so a repeatable-read
    snapshot (PostgreSQL; SQLite's read transaction is one already) never sees half of an append."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify(session: Session, *, batch: int = 2000, start_seq: int = 0, start_hash: str = GENESIS_HASH,
           checkpoints: dict[int, str] | None = None) -> Verdict:
    """Walk the chain in ``seq`` order from ``start_seq`` (whose hash is ``start_hash``: a checkpoint already
    proven) and name the first entry that does not hold. ``checkpoints`` (seq → hash, from signed anchors kept
    outside the database) catch a chain rewritten whole, head included, and a chain cut below a checkpoint."""
    checkpoints = {seq: h for seq, h in (checkpoints or {}).items() if seq > start_seq}
    columns = [AuditEntry.id, AuditEntry.hash] + [getattr(AuditEntry, name) for name in HASHED_FIELDS]
    expected_seq, prev, checked, after = start_seq + 1, start_hash, 0, start_seq
    while True:
        rows = session.execute(
            sa.select(*columns).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
        ).mappings().all()
        if not rows:
            break
        for entry in rows:
            if entry["seq"] != expected_seq:
                return Verdict(False, checked, entry["seq"], entry["id"],
                               f"expected entry #{expected_seq} here, found #{entry['seq']}: entries are missing or reordered")
            if entry["prev_hash"] != prev:
                return Verdict(False, checked, entry["seq"], entry["id"],
                               "its previous-hash does not match the entry before it: an entry was removed or reordered")
            if entry_hash(dict(entry)) != entry["hash"]:
                return Verdict(False, checked, entry["seq"], entry["id"], "its content does not match its hash: it was edited")
            if entry["seq"] in checkpoints and checkpoints[entry["seq"]] != entry["hash"]:
                return Verdict(False, checked, entry["seq"], entry["id"],
                               "it differs from the signed checkpoint of this entry: the chain was rewritten up to here")
            prev, expected_seq, checked = entry["hash"], expected_seq + 1, checked + 1
        after = rows[-1]["seq"]
    last = expected_seq - 1
    head = session.execute(sa.select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == 1)).one_or_none()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if (head_seq, head_hash) != (last, prev):
        return Verdict(False, checked, last + 1, None,
                       f"the chain head records {head_seq} entries ending in {head_hash[:12]}…, but the stored chain "
                       f"has {last} ending in {prev[:12]}…: the newest entries were removed or replaced")
    beyond = sorted(seq for seq in checkpoints if seq > last)
    if beyond:
        return Verdict(False, checked, last + 1, None,
                       f"a signed checkpoint records entry #{beyond[-1]}, but the chain ends at #{last}: it was shortened")
    return Verdict(True, checked, head_seq=last, head_hash=prev)
