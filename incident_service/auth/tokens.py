"""API tokens: shown once when created, kept only as a SHA-256 hash, revocable, last use recorded."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from incident_service.auth.models import ApiToken, User
from incident_service.errors import Conflict, NotFound, ValidationFailed

PREFIX = "isk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # a busy integration does not write on every call


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(*, session: Session, user: User, name: str, created_by: str, now: datetime) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it with the plain text, which is never stored or shown again."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed({"name": ["Say what the token is for, in at most 120 characters."]})
    if not user.is_active:
        raise Conflict(f"User {user.username} is disabled.", code="user_disabled")
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=plain[:10], token_hash=_digest(plain), created_at=now,
                     created_by=created_by)
    session.add(token)
    session.commit()
    return token, plain


def revoke_token(*, session: Session, token_id: int, actor: str, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"Token {token_id} does not exist.")
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = now, actor
        session.commit()
    return token


def tokens_query() -> sa.Select:
    return sa.select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())


def authenticate(*, session: Session, presented: str, now: datetime) -> User | None:
    """The user a live token acts for, or None. Records the use (at most once a minute per token)."""
    if not presented or not presented.startswith(PREFIX) or len(presented) > 200:
        return None
    token = session.scalar(
        sa.select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == _digest(presented))
    )
    if token is None or not token.is_live:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.commit()
    return token.user
