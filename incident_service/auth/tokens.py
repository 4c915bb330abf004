"""API tokens: shown once when created, kept only as a SHA-256 hash, revocable, expiring (renewable), last use
recorded. A person may make a token for themselves (it carries only their own roles) or, as an admin, for a
service account; never for another person, so an admin cannot act as a supervisor through a token."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from incident_service.auth.models import ApiToken, Role, User
from incident_service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from incident_service.textcheck import text_problem

PREFIX = "isk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # a busy integration does not write on every call


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def may_hold_token_of(actor: User | None, user: User) -> bool:
    """Whether ``actor`` (a logged-in person; None on the command line) may make or renew a token for ``user``:
    their own, or a service account's when they administer users. The command line is the operator, who holds
    the database itself, and may make one for any active user."""
    if actor is None:
        return True
    if actor.id == user.id:
        return True
    return user.is_service_account and Role.admin.value in (actor.roles or [])


def _check_owner(actor: User | None, user: User) -> None:
    if not may_hold_token_of(actor, user):
        raise Forbidden("A token can be made only for yourself or for a service account.",
                        errors={"user_id": ["Choose yourself or a service account."]}, code="token_owner")


def create_token(*, session: Session, user: User, name: str, created_by: str, now: datetime, days: int = 90,
                 actor: User | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``, valid ``days``; returns it with the plain text, which is never stored or shown
    again. ``actor`` is the person making it (None: the command line)."""
    name = (name or "").strip()
    if not name or len(name) > 120 or text_problem(name, one_line=True):
        raise ValidationFailed({"name": ["Say what the token is for, in one line of at most 120 characters."]})
    if not 1 <= days <= 3650:
        raise ValidationFailed({"days": ["A token lives 1 to 3650 days."]})
    if not user.is_active:
        raise Conflict(f"User {user.username} is disabled.", code="user_disabled")
    _check_owner(actor, user)
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=plain[:10], token_hash=_digest(plain), created_at=now,
                     created_by=created_by, expires_at=now + timedelta(days=days))
    session.add(token)
    session.commit()
    return token, plain


def get_token(*, session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"Token {token_id} does not exist.")
    return token


def revoke_token(*, session: Session, token_id: int, actor: str, now: datetime) -> ApiToken:
    """Any token may be revoked by whoever manages tokens: taking power away needs no ownership."""
    token = get_token(session=session, token_id=token_id)
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = now, actor
        session.commit()
    return token


def renew_token(*, session: Session, token_id: int, now: datetime, days: int = 90, by: User | None = None) -> ApiToken:
    """Another ``days`` from now, for a token that was not revoked (an expired one comes back to life)."""
    token = get_token(session=session, token_id=token_id)
    _check_owner(by, token.user)
    if token.revoked_at is not None:
        raise Conflict("A revoked token cannot be renewed: make a new one.", code="token_revoked")
    if not token.user.is_active:
        raise Conflict(f"User {token.user.username} is disabled.", code="user_disabled")
    token.expires_at, token.renewed_at = now + timedelta(days=days), now
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
    if token is None or not token.is_live(now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.commit()
    return token.user
