"""Accessibility basics: every input has a label, state colours have enough contrast, colour is never alone."""
from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "incident_service" / "static" / "app.css"


class _Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.controls, self.labelled, self.label_depth = [], set(), 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.labelled.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit", "button"):
            self.controls.append((a.get("id"), a.get("name"), self.label_depth > 0 or bool(a.get("aria-label"))))

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth -= 1


def unlabelled(html: str) -> list:
    parser = _Controls()
    parser.feed(html)
    return [(i, n) for i, n, wrapped in parser.controls if not wrapped and i not in parser.labelled]


def test_every_input_on_every_page_has_a_label(world, web, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=10), system_ids=[world.core.id])
    from incident_service.incidents.remediation import add_remediation
    from incident_service.incidents.models import RemediationAction, RemediationStatus
    from incident_service.extensions import db
    from datetime import date

    add_remediation(session=db.session, incident_id=incident.id, data={"action": RemediationAction.other, "title": "t", "owner": "o",
                    "due_on": date(2026, 12, 1), "status": RemediationStatus.done, "evidence": "e"}, actor="t", now=frozen())
    web.login("oncall", "supervisor", "auditor", "admin")
    pages = ["/incidents/new", f"/incidents/{incident.id}", "/incidents", "/board", "/vendors", f"/vendors/{world.vendor.id}",
             "/admin/vendors/new", "/admin/systems/new", f"/admin/contracts/{world.contract.id}/edit", "/admin/policies"]
    for url in pages:
        response = web.get(url)
        assert response.status_code == 200, url
        assert unlabelled(response.get_data(as_text=True)) == [], url


def _hex(value: str) -> tuple[float, float, float]:
    value = value.lstrip("#")
    return tuple(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))


def _luminance(rgb) -> float:
    channel = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * channel[0] + 0.7152 * channel[1] + 0.0722 * channel[2]


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(_hex(fg)), _luminance(_hex(bg))), reverse=True)
    return (a + 0.05) / (b + 0.05)


@pytest.mark.parametrize("state", ["overdue", "warning", "plenty", "met"])
def test_each_state_colour_meets_wcag_aa_contrast(state):
    css = CSS.read_text()
    bg = re.search(rf"--{state}-bg:\s*(#[0-9a-fA-F]{{6}})", css).group(1)
    fg = re.search(rf"--{state}-fg:\s*(#[0-9a-fA-F]{{6}})", css).group(1)
    assert contrast(fg, bg) >= 4.5
    assert re.search(rf"\.band-{state} \{{ background: var\(--{state}-bg\); color: var\(--{state}-fg\); \}}", css)


def test_the_contrast_check_itself():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#ffffff") < 4.5
