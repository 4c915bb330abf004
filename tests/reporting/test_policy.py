"""Policies are data: a new file adds clocks without code; a bad file is refused naming the field."""
from __future__ import annotations

from datetime import timedelta

import pytest

from config import TestingConfig
from incident_service import create_app
from incident_service.reporting.policy import Duration, PolicyError, load_policies, parse_policy
from incident_service.reporting.service import incident_deadlines
from tests import factories
from tests.conftest import T0

NEW_POLICY = """
key = "home_regulator"
title_zh = "母國主管機關"
title_en = "Home regulator"

[[clocks]]
key = "flash"
label_zh = "快速通報"
label_en = "Flash report"
start = "aware"
duration = "2h"
warnings = ["30m"]
applies = { min_severity = 3 }
"""


def test_shipped_policies_load():
    policies, _duties = load_policies()
    assert {"twse", "internal_strict", "tw_csma", "eu_dora"} <= set(policies)
    twse = policies["twse"]
    assert [(c.key, str(c.rules[0].duration)) for c in twse.clocks] == [
        ("initial", "30m"), ("formal", "1d"), ("closure", "3d"), ("public_notice", "30m")]


def test_a_new_policy_file_adds_a_clock_without_code(tmp_path, monkeypatch):
    (tmp_path / "home.toml").write_text(NEW_POLICY, encoding="utf-8")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}", POLICY_DIRS=[str(tmp_path)])
    from incident_service.extensions import db

    with app.app_context():
        db.create_all()
        registry = app.extensions["policies"]
        inc = factories.incident(db.session, registry, T0, aware_at=T0 - timedelta(minutes=1), severity=3,
                                 policies=["twse", "home_regulator"])
        flash = [d for d in incident_deadlines(db.session, inc.id) if d.policy_key == "home_regulator"]
        assert [(d.clock_key, d.due_at) for d in flash] == [("flash", T0 - timedelta(minutes=1) + timedelta(hours=2))]
        minor = factories.incident(db.session, registry, T0, severity=1, policies=["home_regulator"])
        assert incident_deadlines(db.session, minor.id) == []
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("broken, names", [
    (NEW_POLICY.replace('duration = "2h"', 'duration = "2 hours"'), "clocks.0.duration"),
    (NEW_POLICY.replace('start = "aware"', 'start = "lunch"'), "clocks.0.start"),
    (NEW_POLICY.replace('key = "flash"\n', ""), "clocks.0.key"),
    (NEW_POLICY.replace('title_en = "Home regulator"\n', ""), "title_en"),
    (NEW_POLICY.replace("min_severity = 3", "min_severity = 9"), "clocks.0.applies.min_severity"),
    (NEW_POLICY + "\ncolour = 'red'\n", "colour"),
    (NEW_POLICY.replace('warnings = ["30m"]', 'warnings = ["1mo"]'), "clocks.0.warnings"),
    ("key = [", "not valid TOML"),
])
def test_a_bad_policy_file_is_refused_with_the_field_named(broken, names):
    with pytest.raises(PolicyError) as err:
        parse_policy(broken, source="bad.toml")
    assert "bad.toml" in str(err.value) and names in str(err.value)


def test_app_refuses_to_start_with_a_bad_policy_file(tmp_path):
    (tmp_path / "bad.toml").write_text(NEW_POLICY.replace('"2h"', '"soon"'), encoding="utf-8")
    with pytest.raises(PolicyError, match="bad.toml: clocks.0.duration"):
        create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://", POLICY_DIRS=[str(tmp_path)])


def test_duplicate_policy_key_is_refused(tmp_path):
    (tmp_path / "again.toml").write_text(NEW_POLICY.replace('key = "home_regulator"', 'key = "twse"'), encoding="utf-8")
    with pytest.raises(PolicyError, match="already used"):
        load_policies([str(tmp_path)])


def test_calendar_month_clamps_to_the_last_day():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    jan31 = datetime(2027, 1, 31, 2, 0, tzinfo=ZoneInfo("Asia/Taipei")).astimezone(UTC)
    due = Duration.parse("1mo").after(jan31, ZoneInfo("Asia/Taipei"))
    assert due.astimezone(ZoneInfo("Asia/Taipei")).date().isoformat() == "2027-02-28"
