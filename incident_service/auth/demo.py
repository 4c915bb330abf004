"""Demo users, one per role, for `make run`: created once, and given a fresh password on every run."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from incident_service.auth import service
from incident_service.auth.models import Role

DEMO_USERS = [(f"demo-{role.value}", [role.value]) for role in Role]


def demo_logins(*, session: Session, now: datetime) -> str:
    """Make sure the demo users exist with a new password each; return the text that tells them."""
    if current_app.config.get("PRODUCTION"):
        return "Production: no demo users are created."
    lines = ["Demo logins (new passwords on every run):"]
    for username, roles in DEMO_USERS:
        password = service.generate_password()
        user = service.get_user_by_name(session, username)
        if user is None:
            service.create_user(session=session, username=username, password=password, roles=roles, now=now,
                                display_name=f"Demo {roles[0]}")
        else:
            service.set_password(session=session, user=user, password=password)
        lines.append(f"  {username:<16} {password}   (role {', '.join(roles)})")
    if current_app.config["MFA_REQUIRED"]:
        lines.append("MFA is on: at the first login, scan the QR code with an authenticator app (TOTP).")
    else:
        lines.append("MFA is off for this development demo (MFA_REQUIRED=0); production always requires it.")
    return "\n".join(lines)
