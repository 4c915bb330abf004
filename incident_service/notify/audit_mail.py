"""Mailing a checkpoint to the auditors (``AUDIT_ANCHOR_MAIL=1``): an event in the notification outbox, which the
clock engine delivers with retries to every active auditor through their channels (by default the email
channel), so a copy of each checkpoint leaves the service's own machines."""
from __future__ import annotations

import logging

from incident_service import clock
from incident_service.audit.anchors import Anchor
from incident_service.extensions import db
from incident_service.notify.settings import current_settings
from incident_service.notify.sources import record_audit_checkpoint

log = logging.getLogger(__name__)


def mail_checkpoint(anchor: Anchor) -> None:
    if not record_audit_checkpoint(session=db.session, settings=current_settings(), anchor=anchor.__dict__,
                                   now=clock.now()):
        log.warning("audit checkpoint #%d was not queued for the auditors (already queued, or nobody to tell)",
                    anchor.seq)
