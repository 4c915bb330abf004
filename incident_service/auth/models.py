"""User accounts and their roles (a user may hold several), and API tokens."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incident_service.database import EncryptedText
from incident_service.extensions import db


class Role(str, enum.Enum):
    oncall = "oncall"
    supervisor = "supervisor"
    auditor = "auditor"
    admin = "admin"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    # Secrets never enter the audit trail: a change shows as "[redacted]" (encrypted columns always are).
    __audit_redact__ = frozenset({"password_hash", "mfa_secret", "recovery_codes", "mfa_reset_code_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    roles: Mapped[list] = mapped_column(sa.JSON, default=list)  # values of Role
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # TOTP second factor: the base32 secret once enrolled, hashes of unused recovery codes, and the last
    # time step accepted (a code is good once: a replayed one is refused). The secret is stored encrypted.
    mfa_secret: Mapped[str | None] = mapped_column(EncryptedText())
    mfa_enrolled_at: Mapped[datetime | None]
    recovery_codes: Mapped[list] = mapped_column(sa.JSON, default=list)
    last_totp_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Lock-out after repeated failures.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # Sessions are revocable on the server: each session carries the epoch it was started in, and logging out,
    # disabling the user, resetting MFA or changing the password moves the epoch on, ending every older session.
    session_epoch: Mapped[int] = mapped_column(default=0)
    # An integration's account (no person logs in with it): tokens may be made for it. It may not hold the
    # supervisor role, nor admin together with another role (README "API tokens").
    is_service_account: Mapped[bool] = mapped_column(default=False)
    # After an MFA reset: the hash of the one-time code the admin was shown, needed with the next enrolment.
    mfa_reset_code_hash: Mapped[str | None] = mapped_column(sa.String(64))
    mfa_reset_code_expires_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", order_by="ApiToken.id")

    def has_role(self, role: Role | str) -> bool:
        return Role(role).value in (self.roles or [])

    @property
    def mfa_enrolled(self) -> bool:
        return bool(self.mfa_secret)

    @property
    def name_for_record(self) -> str:
        return self.username


class RevocableKey:
    """What an API token and a wall display's key share: a name, the prefix shown in lists so a key can be
    recognised, the SHA-256 of the key (never the key), who made it, its last use and its revocation."""

    name: Mapped[str] = mapped_column(sa.String(120))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(80))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(80))


class ApiToken(RevocableKey, db.Model):
    """A bearer token for an integration; it acts with its user's roles. Only the SHA-256 of it is kept."""

    __tablename__ = "api_tokens"
    __audit_redact__ = frozenset({"token_hash"})
    __audit_ignore__ = frozenset({"last_used_at"})  # a use is not a change; it would flood the trail

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # A token stops working at this time (API_TOKEN_DAYS after it was made or last renewed).
    expires_at: Mapped[datetime]
    renewed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.user.is_active and now < self.expires_at

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "live" if now < self.expires_at else "expired"


class DisplayToken(RevocableKey, db.Model):
    """A wall screen's read-only key (admin-made, revocable): it opens the board in wall mode and its feed, and
    nothing else, so the screen is never logged out by the people's session limits. Only its SHA-256 is kept."""

    __tablename__ = "display_tokens"
    __audit_redact__ = frozenset({"token_hash"})
    __audit_ignore__ = frozenset({"last_used_at"})  # a use is not a change; the feed's reads are in the trail

    id: Mapped[int] = mapped_column(primary_key=True)

    @property
    def actor_name(self) -> str:
        return f"display:{self.name}"[:80]
