"""Checkpoints of the chain's head, kept outside the database: ``{seq, hash, at, hmac}`` files in
``AUDIT_ANCHOR_DIR``, signed with HMAC-SHA256 under ``AUDIT_ANCHOR_KEY`` (never stored in the database).

Someone who can write the database can rewrite the whole chain and its head so that it verifies again; they
cannot change a checkpoint already written (or mailed) without the key. ``audit verify --anchors DIR`` checks
every checkpoint's signature and that the entry at its ``seq`` still has its ``hash`` (recomputing the chain), so
no entry before the latest checkpoint can have changed unseen, and the chain cannot have been cut below it.
Written every ``AUDIT_ANCHOR_MINUTES`` by the clock engine (after checking the entries since the last one) and at
each successful ``audit verify``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from incident_service.audit import chain
from incident_service.database import utc_iso


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: str
    hmac: str

    def payload(self) -> bytes:
        return canonical(self.seq, self.hash, self.at)


def canonical(seq: int, hash_: str, at: str) -> bytes:
    return json.dumps({"at": at, "hash": hash_, "seq": seq}, sort_keys=True, separators=(",", ":")).encode()


def signature(key: str, seq: int, hash_: str, at: str) -> str:
    return hmac.new(key.encode(), canonical(seq, hash_, at), hashlib.sha256).hexdigest()


def make(key: str, seq: int, hash_: str, now: datetime) -> Anchor:
    at = utc_iso(now)
    return Anchor(seq=seq, hash=hash_, at=at, hmac=signature(key, seq, hash_, at))


def write(directory: str | Path, anchor: Anchor) -> Path:
    """One file per checkpoint (never overwritten), readable only by the service's user."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = anchor.at.replace("-", "").replace(":", "").replace(".", "")
    path = folder / f"anchor-{anchor.seq:012d}-{stamp}-{anchor.hash[:12]}.json"
    text = json.dumps(asdict(anchor), sort_keys=True) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.read_text(encoding="utf-8") == text:
            return path  # the same checkpoint, written in the same instant
        raise
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


@dataclass
class Reading:
    anchors: list[Anchor]
    problems: list[str]  # files that are not checkpoints signed with our key


def read(directory: str | Path, key: str) -> Reading:
    folder = Path(directory)
    anchors, problems = [], []
    if not folder.is_dir():
        return Reading(anchors, problems)
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            anchor = Anchor(seq=int(data["seq"]), hash=str(data["hash"]), at=str(data["at"]), hmac=str(data["hmac"]))
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(f"{path.name}: not a checkpoint file")
            continue
        if not hmac.compare_digest(anchor.hmac, signature(key, anchor.seq, anchor.hash, anchor.at)):
            problems.append(f"{path.name}: its signature does not hold (forged, edited, or another AUDIT_ANCHOR_KEY)")
            continue
        anchors.append(anchor)
    anchors.sort(key=lambda a: (a.seq, a.at))
    return Reading(anchors, problems)


def checkpoints(anchors: list[Anchor]) -> tuple[dict[int, str], list[str]]:
    """seq → hash of the anchors; two signed anchors that disagree about one entry are a problem in themselves."""
    seen: dict[int, str] = {}
    problems = []
    for anchor in anchors:
        if seen.get(anchor.seq, anchor.hash) != anchor.hash:
            problems.append(f"two signed checkpoints disagree about entry #{anchor.seq}")
        seen[anchor.seq] = anchor.hash
    return seen, problems


@dataclass
class Checkpoint:
    anchor: Anchor | None
    path: Path | None
    verdict: chain.Verdict


def checkpoint(session: Session, *, directory: str | Path, key: str, now: datetime) -> Checkpoint:
    """Check the entries added since the latest good checkpoint, then write one for the head (nothing to write
    for an empty chain, and nothing when the check fails: a broken chain is never signed)."""
    latest = (read(directory, key).anchors or [None])[-1]
    chain.snapshot(session)
    if latest is None:
        verdict = chain.verify(session)
    else:
        verdict = chain.verify(session, start_seq=latest.seq, start_hash=latest.hash)
    session.rollback()  # end the read snapshot
    if not verdict.ok or verdict.head_seq == 0:
        return Checkpoint(None, None, verdict)
    anchor = make(key, verdict.head_seq, verdict.head_hash, now)
    return Checkpoint(anchor, write(directory, anchor), verdict)
