from __future__ import annotations

from datetime import UTC, datetime

import pytest

from incident_service.extensions import db


@pytest.fixture
def make_api_user(app):
    def _make(username: str = "integration", *roles: str):
        from incident_service.auth.service import create_user
        from incident_service.auth.tokens import create_token

        user = create_user(session=db.session, username=username, password="correct horse battery",
                           roles=list(roles) or ["auditor"], now=datetime.now(UTC))
        return create_token(session=db.session, user=user, name="test", created_by="test", now=datetime.now(UTC))

    return _make
