"""The clock engine's checkpoint job: thin. Every AUDIT_ANCHOR_MINUTES it checks the entries since the last
checkpoint and writes a signed one for the head (mailed to the auditors when AUDIT_ANCHOR_MAIL is set). Only the
active engine runs it.

Referenced as ``module:function`` with plain arguments (APScheduler stores jobs that way)."""
from __future__ import annotations

import logging

from incident_service import clock
from incident_service.audit import anchors
from incident_service.notify.audit_mail import mail_checkpoint
from incident_service.jobapp import current_engine_app, engine_is_active
from incident_service.extensions import db

log = logging.getLogger(__name__)


def write_checkpoint(engine_id: str) -> int:  # noqa: ARG001 - the engine passes its id to every job
    if not engine_is_active():
        return 0
    app = current_engine_app()
    with app.app_context():
        config = app.config
        done = anchors.checkpoint(db.session, directory=config["AUDIT_ANCHOR_DIR"], key=config["AUDIT_ANCHOR_KEY"],
                                  now=clock.now())
        if not done.verdict.ok:
            log.error("audit trail BROKEN at entry #%s: %s (AUDIT-001); no checkpoint written",
                      done.verdict.broken_seq, done.verdict.reason)
            return 0
        if done.anchor is not None and config.get("AUDIT_ANCHOR_MAIL"):
            mail_checkpoint(done.anchor)
        return done.anchor.seq if done.anchor else 0


def add_jobs(scheduler, app, engine_id: str) -> None:
    scheduler.add_job(
        "incident_service.engine.audit_jobs:write_checkpoint", "interval", minutes=app.config.get("AUDIT_ANCHOR_MINUTES", 60),
        id="audit_checkpoint", kwargs={"engine_id": engine_id}, replace_existing=True,
    )
