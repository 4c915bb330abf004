"""A TOTP secret is stored encrypted: a database dump does not hand out second factors."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from incident_service.auth.models import User
from incident_service.auth.service import create_user


def test_mfa_secret_is_encrypted_at_rest_and_read_back_plain(app, session):
    user = create_user(session=session, username="erin", password="correct horse battery", roles=["oncall"],
                       now=datetime.now(UTC))
    user.mfa_secret = "JBSWY3DPEHPK3PXP"
    session.commit()
    stored = session.execute(sa.text("SELECT mfa_secret FROM users WHERE id = :id"), {"id": user.id}).scalar()
    assert stored and "JBSWY3DPEHPK3PXP" not in stored
    session.expire_all()
    assert session.get(User, user.id).mfa_secret == "JBSWY3DPEHPK3PXP"


def test_a_secret_under_another_key_is_refused_not_treated_as_unenrolled(app, session):
    user = create_user(session=session, username="ivan", password="correct horse battery", roles=["oncall"],
                       now=datetime.now(UTC))
    user.mfa_secret = "JBSWY3DPEHPK3PXP"
    session.commit()
    session.expire_all()
    app.config["FIELD_ENCRYPTION_KEY"] = "a different key"
    try:
        with pytest.raises(RuntimeError, match="encrypted field"):
            session.get(User, user.id).mfa_secret
    finally:
        app.config.pop("FIELD_ENCRYPTION_KEY")
        session.rollback()
