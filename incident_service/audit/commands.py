"""`flask --app wsgi audit verify`: check the hash chain and name the first broken entry."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from incident_service.audit import chain
from incident_service.extensions import db

audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")


@audit_cli.command("verify")
def verify() -> None:
    """Recompute every entry's hash in order; exit 1 at the first one that does not hold."""
    verdict = chain.verify(db.session)
    if verdict.ok:
        click.echo(f"Audit trail intact: {verdict.checked} entries, every hash and link holds.")
        return
    where = f"entry #{verdict.broken_seq}" + (f" (row id {verdict.broken_id})" if verdict.broken_id else "")
    click.echo(f"Audit trail BROKEN at {where}: {verdict.reason}. "
               f"{verdict.checked} entries before it are intact.", err=True)
    raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(audit_cli)
