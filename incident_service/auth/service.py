"""Users: creating and disabling them, checking passwords, and locking an account after repeated failures."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from incident_service.auth.models import Role, User
from incident_service.errors import Conflict, DomainError, NotFound, ValidationFailed

MIN_PASSWORD = 12


class LoginFailed(DomainError):
    """Wrong name, password or code, or a locked or disabled account: one message for all, so a caller
    cannot tell which (details go to the log)."""

    status = 401
    code = "login_failed"

    def __init__(self, reason: str):
        super().__init__("User name, password or code is wrong, or the account is locked. (AUTH-401)")
        self.reason = reason


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    if not has_app_context():
        return _hasher_for(3, 65536, 4)
    c = current_app.config
    return _hasher_for(c["ARGON2_TIME_COST"], c["ARGON2_MEMORY_KIB"], c["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def password_matches(user: User, password: str) -> bool:
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters


def _role_values(roles: list[Role | str], errors: dict[str, list[str]]) -> list[str]:
    try:
        values = sorted({Role(r).value for r in roles})
    except ValueError:
        errors["roles"] = [f"Roles are: {', '.join(r.value for r in Role)}."]
        return []
    if not values:
        errors["roles"] = ["Give at least one role."]
    return values


def create_user(*, session: Session, username: str, password: str, roles: list[Role | str], now: datetime,
                display_name: str | None = None, email: str | None = None) -> User:
    errors: dict[str, list[str]] = {}
    username = (username or "").strip()
    if not username or len(username) > 80:
        errors["username"] = ["Give a user name of at most 80 characters."]
    if len(password) < MIN_PASSWORD:
        errors["password"] = [f"Use at least {MIN_PASSWORD} characters."]
    role_values = _role_values(roles, errors)
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(sa.select(User.id).where(User.username == username)):
        raise Conflict("This user name is taken.", errors={"username": ["taken"]}, code="duplicate")
    user = User(username=username, password_hash=hash_password(password), roles=role_values, created_at=now,
                display_name=display_name, email=email, recovery_codes=[], failed_logins=0)
    session.add(user)
    session.commit()
    return user


def get_user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(sa.select(User).where(User.username == username))


def get_user(*, session: Session, user_id: int | None = None, username: str | None = None) -> User:
    user = session.get(User, user_id) if user_id is not None else get_user_by_name(session, username or "")
    if user is None:
        raise NotFound(f"User {username or user_id} does not exist.")
    return user


def users_query() -> sa.Select:
    return sa.select(User).order_by(User.username)


def set_active(*, session: Session, user_id: int | None = None, username: str | None = None, active: bool,
               now: datetime) -> User:
    """Disable (or re-enable) an account: its sessions end at the next request and its tokens stop working."""
    user = get_user(session=session, user_id=user_id, username=username)
    user.is_active = active
    user.disabled_at = None if active else now
    if active:
        user.failed_logins, user.locked_until = 0, None
    session.commit()
    return user


def reset_mfa(*, session: Session, user_id: int | None = None, username: str | None = None) -> User:
    """Forget the user's second factor: they enrol a new one at their next login."""
    user = get_user(session=session, user_id=user_id, username=username)
    user.mfa_secret = None
    user.mfa_enrolled_at = None
    user.recovery_codes = []
    user.last_totp_step = None
    session.commit()
    return user


def set_password(*, session: Session, user: User, password: str) -> User:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed({"password": [f"Use at least {MIN_PASSWORD} characters."]})
    user.password_hash = hash_password(password)
    session.commit()
    return user


# -- the password step of a login ---------------------------------------------------------------------------

_DUMMY_HASH: dict[tuple, str] = {}


def _spend_hashing_time(password: str) -> None:
    """Verify against a dummy hash, so an unknown user name takes as long as a known one."""
    hasher = _hasher()
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hasher.hash(secrets.token_hex(8))
    try:
        hasher.verify(_DUMMY_HASH[key], password)
    except VerificationError:
        pass


def is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def note_failure(user: User, *, now: datetime, max_failures: int, lock_minutes: int) -> None:
    """Count a wrong password or code; the N-th in a row locks the account (the caller commits)."""
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= max_failures:
        user.locked_until = now + timedelta(minutes=lock_minutes)
        user.failed_logins = 0


def check_password(*, session: Session, username: str, password: str, now: datetime, max_failures: int,
                   lock_minutes: int) -> User:
    """The first factor. Returns the user, or counts the failure (committed) and raises LoginFailed."""
    user = get_user_by_name(session, (username or "").strip())
    if user is None:
        _spend_hashing_time(password)
        raise LoginFailed(f"unknown user {username!r}")
    if not user.is_active:
        _spend_hashing_time(password)
        raise LoginFailed(f"disabled user {user.username}")
    if is_locked(user, now):
        _spend_hashing_time(password)
        raise LoginFailed(f"locked user {user.username} until {user.locked_until.isoformat()}")
    if not password_matches(user, password):
        note_failure(user, now=now, max_failures=max_failures, lock_minutes=lock_minutes)
        session.commit()
        raise LoginFailed(f"wrong password for {user.username}")
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return user


def finish_login(user: User, *, now: datetime) -> None:
    """Both factors passed (the caller commits)."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now


def login_without_second_factor(*, session: Session, user: User, now: datetime) -> None:
    """Only where MFA is off (the development demo) and the user has not enrolled one."""
    finish_login(user, now=now)
    session.commit()
