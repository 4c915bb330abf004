"""Management commands: demo data, policy checks."""
from __future__ import annotations

import sqlalchemy as sa

from incident_service.incidents.models import Incident, Remediation
from incident_service.reporting.models import Filing
from incident_service.vendors.models import Contract, System, Vendor


def _count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_demo_data_loads_the_two_exchange_cases_once(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "Demo data loaded" in result.output
    assert _count(session, Vendor) >= 8 and _count(session, System) >= 4 and _count(session, Contract) >= 2
    categories = set(session.scalars(sa.select(Vendor.category)))
    assert len(categories) == 4
    titles = " ".join(session.scalars(sa.select(Incident.title)))
    assert "防火牆" in titles and "憑證" in titles
    assert _count(session, Remediation) >= 4 and _count(session, Filing) >= 4
    again = runner.invoke(args=["demo-data"])
    assert again.exit_code == 0 and "already holds" in again.output
    assert _count(session, Incident) == 3


def test_policies_command_checks_a_file(app, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('key = "x"\ntitle_zh = "x"\ntitle_en = "x"\n[[clocks]]\nkey = "a"\nlabel_zh = "a"\nlabel_en = "a"\n'
                    'start = "aware"\nduration = "1h"\n', encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text(encoding="utf-8").replace('"1h"', '"an hour"'), encoding="utf-8")
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["policies", str(good)])
    assert ok.exit_code == 0 and "is valid" in ok.output
    refused = runner.invoke(args=["policies", str(bad)])
    assert refused.exit_code != 0 and "clocks.0.duration" in refused.output
    listing = runner.invoke(args=["policies"])
    assert "twse" in listing.output and "eu_dora" in listing.output
