"""Users: creating them, checking passwords."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy.orm import Session

from incident_service.auth.models import Role, User
from incident_service.errors import Conflict, ValidationFailed

_hasher = PasswordHasher()
MIN_PASSWORD = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def create_user(*, session: Session, username: str, password: str, roles: list[Role | str], now: datetime,
                display_name: str | None = None, email: str | None = None) -> User:
    errors: dict[str, list[str]] = {}
    if not username or len(username) > 80:
        errors["username"] = ["Give a user name of at most 80 characters."]
    if len(password) < MIN_PASSWORD:
        errors["password"] = [f"Use at least {MIN_PASSWORD} characters."]
    try:
        role_values = sorted({Role(r).value for r in roles})
    except ValueError:
        errors["roles"] = [f"Roles are: {', '.join(r.value for r in Role)}."]
        role_values = []
    if not role_values and "roles" not in errors:
        errors["roles"] = ["Give at least one role."]
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(sa.select(User.id).where(User.username == username)):
        raise Conflict("This user name is taken.", errors={"username": ["taken"]}, code="duplicate")
    user = User(username=username, password_hash=hash_password(password), roles=role_values, created_at=now,
                display_name=display_name, email=email)
    session.add(user)
    session.commit()
    return user


def get_user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(sa.select(User).where(User.username == username))
