"""The second factor: TOTP (RFC 6238) enrolled at first login, and single-use recovery codes."""
from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from datetime import datetime, timedelta

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy.orm import Session

from incident_service.auth.models import User
from incident_service.auth.service import LoginFailed, finish_login, is_locked, note_failure, reset_code_matches
from incident_service.database import is_unreadable
from incident_service.phrases import N_

RECOVERY_CODES = 10
STEP_SECONDS = 30
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: codes are read off paper


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG markup (no image request, no inline script)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode("utf-8")
    return svg[svg.index("<svg"):]


def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step the code belongs to, allowing one step of clock drift either way."""
    code = (code or "").strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    for drift in (0, -1, 1):
        moment = now + timedelta(seconds=drift * STEP_SECONDS)
        if hmac.compare_digest(totp.at(moment), code):
            return _step(moment)
    return None


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").replace(" ", "").encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """(codes to show once, their hashes to keep)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes, [_hash_code(c) for c in codes]


def _use_recovery_code(user: User, code: str) -> bool:
    digest = _hash_code(code)
    remaining = list(user.recovery_codes or [])
    for stored in remaining:
        if hmac.compare_digest(stored, digest):
            remaining.remove(stored)
            user.recovery_codes = remaining  # a new list, so the JSON column sees the change
            return True
    return False


class SecondFactorUnreadable(LoginFailed):
    """The stored TOTP key cannot be decrypted with any FIELD_ENCRYPTION_KEY: a clear answer, never a 500."""

    code = "mfa_unreadable"

    def __init__(self, username: str):
        super().__init__(f"the TOTP key of {username} cannot be decrypted with any FIELD_ENCRYPTION_KEY")
        self.message = N_("Your second factor cannot be checked: its stored key is unreadable. Ask an administrator "
                          "to reset your MFA. (AUTH-KEY)")


def _fail(session: Session, user: User, reason: str, *, now: datetime, max_failures: int, lock_minutes: int):
    note_failure(session, user, now=now, max_failures=max_failures, lock_minutes=lock_minutes)
    session.commit()
    raise LoginFailed(reason)


def verify_second_factor(*, session: Session, user: User, code: str, now: datetime, max_failures: int,
                         lock_minutes: int) -> bool:
    """Check a TOTP or recovery code and finish the login (one commit). A code already used (its time step
    or an earlier one) is refused, as is every code while the account is locked. Returns whether a recovery
    code was used. Raises LoginFailed after counting the failure."""
    if not user.is_active or is_locked(user, now) or not user.mfa_secret:
        raise LoginFailed(f"second factor refused for {user.username}: locked, disabled or not enrolled")
    if is_unreadable(user.mfa_secret):
        raise SecondFactorUnreadable(user.username)
    limits = {"now": now, "max_failures": max_failures, "lock_minutes": lock_minutes}
    used_recovery = False
    step = matching_step(user.mfa_secret, code, now)
    if step is not None and user.last_totp_step is not None and step <= user.last_totp_step:
        _fail(session, user, f"replayed TOTP code for {user.username}", **limits)
    if step is not None:
        user.last_totp_step = step
    elif len((code or "").strip()) > 6 and _use_recovery_code(user, code):
        used_recovery = True
    else:
        _fail(session, user, f"wrong second factor for {user.username}", **limits)
    finish_login(user, now=now)
    session.commit()
    return used_recovery


def needs_reset_code(user: User) -> bool:
    """After an admin reset the user's MFA, enrolling again also takes the one-time code the admin was given."""
    return bool(user.mfa_reset_code_hash)


def check_totp(*, session: Session, user: User, code: str, now: datetime, max_failures: int, lock_minutes: int) -> None:
    """A fresh TOTP code of the enrolled user (not a recovery code), e.g. to confirm a password change; a wrong
    or replayed one counts towards the lock. The caller commits."""
    if is_unreadable(user.mfa_secret):
        raise SecondFactorUnreadable(user.username)
    step = matching_step(user.mfa_secret, code, now) if user.mfa_secret else None
    if step is None or (user.last_totp_step is not None and step <= user.last_totp_step):
        _fail(session, user, f"wrong or replayed TOTP code from {user.username}", now=now, max_failures=max_failures,
              lock_minutes=lock_minutes)
    user.last_totp_step = step


def enroll(*, session: Session, user: User, secret: str, code: str, now: datetime, max_failures: int,
           lock_minutes: int, reset_code: str | None = None) -> list[str]:
    """Confirm the new authenticator with one of its codes (and, after an MFA reset, the admin's one-time code),
    keep the secret, finish the login (one commit). Returns the recovery codes, to be shown once."""
    if not user.is_active or is_locked(user, now) or user.mfa_secret:
        raise LoginFailed(f"enrolment refused for {user.username}: locked, disabled or already enrolled")
    limits = {"now": now, "max_failures": max_failures, "lock_minutes": lock_minutes}
    if needs_reset_code(user) and not reset_code_matches(user, reset_code or "", now):
        _fail(session, user, f"wrong or expired MFA reset code for {user.username}", **limits)
    step = matching_step(secret, code, now)
    if step is None:
        _fail(session, user, f"wrong enrolment code for {user.username}", **limits)
    codes, hashes = new_recovery_codes()
    user.mfa_reset_code_hash = user.mfa_reset_code_expires_at = None
    user.mfa_secret, user.mfa_enrolled_at, user.last_totp_step, user.recovery_codes = secret, now, step, hashes
    finish_login(user, now=now)
    session.commit()
    return codes
