"""The wall screen: `/board?wall=1` shows one row per incident with its nearest clock and nothing to click, and a
read-only display key (made by an admin, shown once, revocable, audited) keeps a screen on it without a login."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from incident_service.audit.models import AuditEntry
from incident_service.auth.models import DisplayToken


def test_wall_mode_shows_one_row_per_incident_with_its_nearest_clock_and_no_menu(world, web, frozen):
    first = world.incident(title="委託下單中斷", aware_at=frozen() - timedelta(minutes=25))
    second = world.incident(title="行情延遲", aware_at=frozen() - timedelta(minutes=40))  # initial report overdue
    web.login("supervisor")
    html = web.get("/board?wall=1").get_data(as_text=True)
    rows = re.findall(r'<li class="band-(\w+)"[^>]*data-incident-id="(\d+)"', html)
    assert [int(i) for _, i in rows] == [second.id, first.id]  # overdue first, each incident once
    assert rows[0][0] == "overdue"
    assert 'class="wall"' in html and "<nav" not in html and 'name="vendor_id"' not in html  # no menu, no filters
    assert "data-server-clock" in html and 'id="feed-status"' in html
    assert "#%d 行情延遲" % second.id in html


def _make_display(app, web, name="交易室牆面"):
    web.login("admin")
    page = web.get("/admin/displays").get_data(as_text=True)
    r = web.post("/admin/displays", {"name": name}, token_from="/admin/displays")
    assert r.status_code == 201, r.get_data(as_text=True)[:400]
    link = re.search(r"https?://[^\"'<\s]+/display/(isd_[\w-]+)", r.get_data(as_text=True))
    assert link and "isd_" not in page
    return link.group(1)


def test_a_display_key_opens_only_the_wall_board_and_its_feed_until_it_is_revoked(app, world, web, session, frozen):
    world.incident(title="委託下單中斷", aware_at=frozen() - timedelta(minutes=25))
    key = _make_display(app, web)
    listed = web.get("/admin/displays").get_data(as_text=True)
    assert "交易室牆面" in listed and key not in listed  # shown once, only its prefix after
    stored = session.scalar(sa.select(DisplayToken))
    assert stored.token_hash != key and key[:10] == stored.prefix

    screen = app.test_client()
    r = screen.get(f"/display/{key}")
    assert r.status_code == 302 and r.location.endswith("/board?wall=1")
    assert "委託下單中斷" in screen.get("/board?wall=1").get_data(as_text=True)
    assert screen.get("/board/feed").status_code == 200
    assert screen.get("/board").location.endswith("/board?wall=1")  # the wall, never the full board
    for elsewhere in ("/incidents", "/vendors", "/audit", "/admin/users", "/incidents/new"):
        r = screen.get(elsewhere)
        assert r.status_code == 302 and r.location.endswith("/board?wall=1"), elsewhere
    assert screen.get("/api/v1/incidents").status_code == 401
    assert screen.post("/incidents/new", data={"title": "x"}).status_code in (302, 400)
    assert screen.get("/display/isd_not-a-key").status_code == 403

    r = web.post(f"/admin/displays/{stored.id}/revoke", {}, token_from="/admin/displays")
    assert r.status_code == 302
    r = screen.get("/board/feed")
    assert r.status_code == 302 and "/login" in r.location
    assert screen.get(f"/display/{key}").status_code == 403  # the old link is dead too
    actions = {(e.action, e.record_type) for e in session.scalars(
        sa.select(AuditEntry).where(AuditEntry.record_type == "display_tokens"))}
    assert {("create", "display_tokens"), ("login", "display_tokens")} <= actions
    assert any(a == "update" for a, _ in actions)  # the revocation


def test_a_display_needs_a_one_line_name_and_only_an_admin_makes_one(world, web, session):
    web.login("supervisor")
    assert web.get("/admin/displays").status_code == 403
    web.login("admin")
    bad = web.post("/admin/displays", {"name": "wall\nscreen"}, token_from="/admin/displays")
    assert bad.status_code == 422 and "120" in bad.get_data(as_text=True)  # the rule, beside the field
    assert session.scalar(sa.select(sa.func.count()).select_from(DisplayToken)) == 0
