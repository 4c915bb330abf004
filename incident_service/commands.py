"""Management commands: ``flask --app wsgi <command>``."""
from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from werkzeug.serving import run_simple

from incident_service import clock
from incident_service.audit import recorder
from incident_service.database import rotate_encrypted_columns
from incident_service.extensions import db
from incident_service.keys import field_cipher, field_keys
from incident_service.audit_commands import register as register_audit_commands
from incident_service.auth.commands import register as register_auth_commands
from incident_service.demo import load_demo_data
from incident_service.auth.demo import demo_logins
from incident_service.engine.runner import run_engine
from incident_service.reporting.policy import PolicyError, parse_policy

keys_cli = AppGroup("keys", help="The keys that encrypt stored secrets (FIELD_ENCRYPTION_KEY).")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret with the newest FIELD_ENCRYPTION_KEY (the first one listed).

    Put the new key first and keep the old ones after it (FIELD_ENCRYPTION_KEY=new,old), run this, then drop the
    old keys. Exit 1 when some value no listed key can read (they are named; reset or re-enter them).
    """
    current_app.config["AUDIT_ACTOR"] = f"cli:{getpass.getuser()}"
    outcome = rotate_encrypted_columns(db.session.connection(), db.metadata, field_cipher(current_app.config))
    recorder.add(db.session, action="keys_rotate", record_type="encrypted_columns",
                 details={"rewritten": outcome.rewritten, "unreadable": outcome.unreadable[:100],
                          "keys_listed": len(field_keys(current_app.config))})
    db.session.commit()
    click.echo(f"Re-encrypted {outcome.rewritten} stored secret(s) with the newest key.")
    if outcome.unreadable:
        click.echo("No listed key reads these (reset the user's MFA, or enter the channel's secret again): "
                   + ", ".join(outcome.unreadable), err=True)
        raise SystemExit(1)


def register(app: Flask) -> None:
    register_auth_commands(app)
    register_audit_commands(app)
    app.cli.add_command(keys_cli)

    @app.cli.command("demo-data")
    def demo_data() -> None:
        """Load the demo vendors, systems, contracts and incidents (only into an empty database)."""

        made = load_demo_data(session=db.session, registry=current_app.extensions["policies"], now=clock.now())
        if not made:
            click.echo("The database already holds vendors: demo data not loaded.")
        else:
            click.echo("Demo data loaded: " + ", ".join(f"{n} {k}" for k, n in made.items()))

        click.echo(demo_logins(session=db.session, now=clock.now()))

    @app.cli.command("scheduler")
    @click.option("--wait-for-lock", default=0.0, type=float, metavar="SECONDS",
                  help="SQLite: wait this long for an engine that is stopping to let go of the lock.")
    @click.option("--stop-with-parent", is_flag=True, help="Stop when the process that started this one is gone.")
    def scheduler(wait_for_lock: float, stop_with_parent: bool) -> None:
        """Run the clock engine in this process until Ctrl-C or SIGTERM (both let the sends in flight finish)."""

        click.echo("Clock engine starting (Ctrl-C stops it).")
        run_engine(current_app._get_current_object(), lock_wait_seconds=wait_for_lock,
                   stop_with_parent=stop_with_parent)

    @app.cli.command("policies")
    @click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
    def policies(path: str | None) -> None:
        """List the loaded reporting policies, or check one policy file."""

        if path:
            try:
                policy = parse_policy(Path(path).read_text(encoding="utf-8"), source=path)
            except PolicyError as exc:
                raise click.ClickException(str(exc)) from exc
            click.echo(f"{path}: policy {policy.key!r} with clocks {', '.join(c.key for c in policy.clocks)} is valid.")
            return
        registry = current_app.extensions["policies"]
        for key in registry.keys():
            policy = registry.get(key)
            click.echo(f"{key}: {policy.title_en} — " + ", ".join(f"{c.key}" for c in policy.clocks))

    @app.cli.command("serve-all")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int)
    @click.option("--stop-with-parent", is_flag=True, help="Stop when the process that started this one is gone.")
    def serve_all(host: str, port: int, stop_with_parent: bool) -> None:
        """Development: the web app and API, with the clock engine in a second process. Ctrl-C, or a SIGTERM to this
        process (`make` sends one when it is killed), stops both; the engine also stops if this process is killed."""

        def _terminate(signum, frame):  # noqa: ARG001 - without this a SIGTERM ends us and leaves the engine running
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, _terminate)
        if stop_with_parent:
            watch_parent(os.getppid())
        # The engine may still be finishing the previous run's sends: it waits for the SQLite lock a little.
        engine = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler",
                                   "--wait-for-lock", str(ENGINE_STOP_SECONDS), "--stop-with-parent"])
        try:
            click.echo(f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/v1/docs)")
            # Flask refuses app.run() inside its own CLI; werkzeug's server is what it would have used.
            run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)
        finally:
            stop_engine(engine)


def watch_parent(parent_pid: int) -> None:
    """SIGTERM this process once its parent is gone (`make run` killed with SIGKILL cannot pass anything on)."""

    def _watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=_watch, name="watch-parent", daemon=True).start()


# Long enough for the sends in flight to finish (NOTIFY_SEND_TIMEOUT, 10 s) and be marked.
ENGINE_STOP_SECONDS = 20


def stop_engine(engine: subprocess.Popen) -> None:
    """SIGTERM, and the time to finish its sends; then SIGKILL."""
    if engine.poll() is None:
        engine.send_signal(signal.SIGTERM)
    try:
        engine.wait(timeout=ENGINE_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        engine.kill()
        engine.wait()
