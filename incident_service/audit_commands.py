"""`flask --app wsgi audit verify`: check the hash chain against itself and against the signed checkpoints kept
outside the database, name the first broken entry, and write a new checkpoint when everything holds."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from incident_service import clock
from incident_service.audit import anchors, chain
from incident_service.notify.audit_mail import mail_checkpoint
from incident_service.audit.recorder import NOT_AUDITED
from incident_service.extensions import db

audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")


def _holds_records() -> bool:
    """Whether any audited table has rows: then an empty trail is not a new database but a deleted trail."""
    for table in db.metadata.sorted_tables:
        if table.name not in NOT_AUDITED and db.session.scalar(sa.select(sa.exists().select_from(table))):
            return True
    return False


def _broken(where: str, reason: str, intact: int) -> None:
    click.echo(f"Audit trail BROKEN at {where}: {reason}. {intact} entries before it are intact.", err=True)
    raise SystemExit(1)


@audit_cli.command("verify")
@click.option("--anchors", "anchor_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of signed checkpoints to check against (default AUDIT_ANCHOR_DIR), e.g. a copy kept offline.")
def verify(anchor_dir: str | None) -> None:
    """Recompute every entry's hash in order and check the signed checkpoints; exit 1 at the first that does not
    hold. When all holds, a checkpoint of the head is written to AUDIT_ANCHOR_DIR (and mailed if AUDIT_ANCHOR_MAIL)."""
    config = current_app.config
    key = config["AUDIT_ANCHOR_KEY"]
    reading = anchors.read(anchor_dir or config["AUDIT_ANCHOR_DIR"], key)
    known, disagreements = anchors.checkpoints(reading.anchors)
    for problem in reading.problems + disagreements:
        click.echo(f"Checkpoint refused: {problem}", err=True)
    chain.snapshot(db.session)
    verdict = chain.verify(db.session, checkpoints=known)
    holds_records = _holds_records()
    db.session.rollback()
    if not verdict.ok:
        where = f"entry #{verdict.broken_seq}" + (f" (row id {verdict.broken_id})" if verdict.broken_id else "")
        _broken(where, verdict.reason, verdict.checked)
    if verdict.checked == 0 and holds_records:
        _broken("entry #1", "the trail is empty but the database holds records: the trail was deleted", 0)
    if reading.problems or disagreements:
        _broken("the checkpoints", "some checkpoint files cannot be trusted (see above)", verdict.checked)
    click.echo(f"Audit trail intact: {verdict.checked} entries, every hash and link holds"
               + (f"; {len(known)} signed checkpoint(s) agree." if known else "."))
    if verdict.head_seq:
        anchor = anchors.make(key, verdict.head_seq, verdict.head_hash, clock.now())
        path = anchors.write(config["AUDIT_ANCHOR_DIR"], anchor)
        click.echo(f"Checkpoint written: {path}")
        if config.get("AUDIT_ANCHOR_MAIL"):
            mail_checkpoint(anchor)


def register(app: Flask) -> None:
    app.cli.add_command(audit_cli)
