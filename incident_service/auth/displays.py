"""Wall displays: read-only keys for the board's wall mode. Made by an admin and shown once (only the hash is kept),
revocable at once, and they open nothing but the wall board and its feed (``guards``)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incident_service.auth.models import DisplayToken
from incident_service.auth.tokens import LAST_USED_RESOLUTION
from incident_service.errors import NotFound, ValidationFailed
from incident_service.textcheck import text_problem

PREFIX = "isd_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_display(*, session: Session, name: str, created_by: str, now: datetime) -> tuple[DisplayToken, str]:
    """A new display key; returns it with the plain key, which is never stored or shown again."""
    name = (name or "").strip()
    if not name or len(name) > 120 or text_problem(name, one_line=True):
        raise ValidationFailed({"name": ["Say which screen it is, in one line of at most 120 characters."]})
    plain = PREFIX + secrets.token_urlsafe(32)
    display = DisplayToken(name=name, prefix=plain[:10], token_hash=_digest(plain), created_at=now, created_by=created_by)
    session.add(display)
    session.commit()
    return display, plain


def revoke_display(*, session: Session, display_id: int, actor: str, now: datetime) -> DisplayToken:
    display = session.get(DisplayToken, display_id)
    if display is None:
        raise NotFound(f"Display {display_id} does not exist.")
    if display.revoked_at is None:
        display.revoked_at, display.revoked_by = now, actor
        session.commit()
    return display


def displays_query() -> sa.Select:
    return sa.select(DisplayToken).order_by(DisplayToken.revoked_at.is_not(None), DisplayToken.id.desc())


def live_display(*, session: Session, display_id: int | None = None, presented: str | None = None,
                 now: datetime) -> DisplayToken | None:
    """The display a key (or a display session's id) stands for while it is not revoked; its use is recorded."""
    if presented is not None:
        if not presented.startswith(PREFIX) or len(presented) > 200:
            return None
        display = session.scalar(sa.select(DisplayToken).where(DisplayToken.token_hash == _digest(presented)))
    elif display_id is not None:
        display = session.get(DisplayToken, display_id)
    else:
        return None
    if display is None or display.revoked_at is not None:
        return None
    if display.last_used_at is None or now - display.last_used_at >= LAST_USED_RESOLUTION:
        display.last_used_at = now
        session.commit()
    return display
