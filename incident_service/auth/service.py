"""Users: creating and disabling them, checking passwords, and locking an account after repeated failures."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from incident_service.auth.models import Role, User
from incident_service.errors import Conflict, DomainError, NotFound, ValidationFailed
from incident_service.phrases import N_
from incident_service.textcheck import text_problem

MIN_PASSWORD = 12


class LoginFailed(DomainError):
    """Wrong name, password or code, or a locked or disabled account: one message for all, so a caller
    cannot tell which (details go to the log)."""

    status = 401
    code = "login_failed"

    def __init__(self, reason: str):
        super().__init__(N_("User name, password or code is wrong, or the account is locked. (AUTH-401)"))
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


def service_account_role_problem(roles: list[str]) -> str | None:
    """Why a service account may not hold these roles, or None.

    A token made for a service account acts with its roles, and admins make those tokens: so a service account never
    holds the supervisor role (waivers, awareness corrections, closing and verifying are a person's decisions) nor
    admin together with another role, or an admin could act as a supervisor or an on-call engineer through a token.
    """
    if Role.supervisor.value in roles:
        return "A service account cannot hold the supervisor role: those decisions are a person's."
    if Role.admin.value in roles and len(roles) > 1:
        return "A service account holding admin holds no other role."
    return None


def _one_line_errors(errors: dict[str, list[str]], **values: str | None) -> None:
    for name, value in values.items():
        problem = text_problem(value, one_line=True) if value else None
        if problem:
            errors[name] = [problem]


def create_user(*, session: Session, username: str, password: str, roles: list[Role | str], now: datetime,
                display_name: str | None = None, email: str | None = None, service_account: bool = False) -> User:
    errors: dict[str, list[str]] = {}
    username = (username or "").strip()
    if not username or len(username) > 80:
        errors["username"] = ["Give a user name of at most 80 characters."]
    _one_line_errors(errors, username=username, display_name=display_name, email=email)
    if len(password) < MIN_PASSWORD:
        errors["password"] = [f"Use at least {MIN_PASSWORD} characters."]
    elif "\x00" in password:
        errors["password"] = ["A password may not contain NUL characters."]
    role_values = _role_values(roles, errors)
    if service_account and role_values and (problem := service_account_role_problem(role_values)):
        errors["roles"] = [problem]
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(sa.select(User.id).where(User.username == username)):
        raise Conflict("This user name is taken.", errors={"username": ["taken"]}, code="duplicate")
    user = User(username=username, password_hash=hash_password(password), roles=role_values, created_at=now,
                display_name=display_name, email=email, recovery_codes=[], failed_logins=0, session_epoch=0,
                is_service_account=service_account)
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


def end_sessions(session: Session, user_id: int) -> None:
    """Every session of the user ends at its next request: the user's session epoch moves on (one atomic UPDATE,
    so concurrent logouts never lose a step). The caller commits."""
    users = User.__table__
    session.connection().execute(sa.update(users).where(users.c.id == user_id)
                                 .values(session_epoch=users.c.session_epoch + 1))
    session.expire_all()


def set_active(*, session: Session, user_id: int | None = None, username: str | None = None, active: bool,
               now: datetime) -> User:
    """Disable (or re-enable) an account: its sessions end at once and its tokens stop working."""
    user = get_user(session=session, user_id=user_id, username=username)
    user.is_active = active
    user.disabled_at = None if active else now
    if active:
        user.failed_logins, user.locked_until = 0, None
    session.flush()
    if not active:
        end_sessions(session, user.id)
    session.commit()
    return user


RESET_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read out over the phone


def _code_digest(code: str) -> str:
    return hashlib.sha256((code or "").strip().lower().replace("-", "").replace(" ", "").encode()).hexdigest()


@dataclass
class MfaReset:
    user: User
    code: str  # shown once to the admin, who hands it to the user; only its hash is kept
    expires_at: datetime


def reset_mfa(*, session: Session, user_id: int | None = None, username: str | None = None, now: datetime,
              code_hours: int = 24) -> MfaReset:
    """Forget the user's second factor (even one no key can read any more) and end their sessions: they enrol a
    new one at their next login, which also needs the one-time code returned here (valid ``code_hours``)."""
    user = get_user(session=session, user_id=user_id, username=username)
    raw = "".join(secrets.choice(RESET_CODE_ALPHABET) for _ in range(10))
    code = f"{raw[:5]}-{raw[5:]}"
    user.mfa_secret = None
    user.mfa_enrolled_at = None
    user.recovery_codes = []
    user.last_totp_step = None
    user.mfa_reset_code_hash = _code_digest(code)
    user.mfa_reset_code_expires_at = now + timedelta(hours=code_hours)
    session.flush()
    end_sessions(session, user.id)
    session.commit()
    user = get_user(session=session, user_id=user.id)
    return MfaReset(user=user, code=code, expires_at=now + timedelta(hours=code_hours))


def reset_code_matches(user: User, code: str, now: datetime) -> bool:
    """The admin's one-time enrolment code after an MFA reset: right and not expired."""
    if not user.mfa_reset_code_hash or user.mfa_reset_code_expires_at is None or user.mfa_reset_code_expires_at <= now:
        return False
    return hmac.compare_digest(user.mfa_reset_code_hash, _code_digest(code))


def set_password(*, session: Session, user: User, password: str, now: datetime | None = None) -> User:
    """A new password; every session of the user ends (the caller's own is restamped by the page)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed({"password": [f"Use at least {MIN_PASSWORD} characters."]})
    if "\x00" in password:
        raise ValidationFailed({"password": ["A password may not contain NUL characters."]})
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    session.flush()
    end_sessions(session, user.id)
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


def note_failure(session: Session, user: User, *, now: datetime, max_failures: int, lock_minutes: int) -> bool:
    """Count a wrong password or code; the N-th in a row locks the account. One atomic UPDATE (the counter is
    read and written by the database), so N concurrent wrong attempts count N and lock. Returns whether this one
    locked the account. The caller commits."""
    users = User.__table__
    after = users.c.failed_logins + 1
    locks = after >= max_failures
    until = sa.type_coerce(now + timedelta(minutes=lock_minutes), users.c.locked_until.type)
    row = session.connection().execute(
        sa.update(users).where(users.c.id == user.id)
        .values(failed_logins=sa.case((locks, 0), else_=after),
                locked_until=sa.case((locks, until), else_=users.c.locked_until))
        .returning(users.c.failed_logins, users.c.locked_until)
    ).one()
    session.expire(user, ["failed_logins", "locked_until"])
    return row.failed_logins == 0 and row.locked_until is not None and row.locked_until > now


def check_password(*, session: Session, username: str, password: str, now: datetime, max_failures: int,
                   lock_minutes: int) -> User:
    """The first factor. Returns the user, or counts the failure (committed) and raises LoginFailed."""
    username = (username or "").strip()
    user = get_user_by_name(session, username) if not text_problem(username, one_line=True) else None
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
        locked = note_failure(session, user, now=now, max_failures=max_failures, lock_minutes=lock_minutes)
        session.commit()
        raise LoginFailed(f"wrong password for {user.username}" + ("; the account is now locked" if locked else ""))
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
