"""Traditional Chinese by default, English on request; every time shown in the firm's zone."""
from __future__ import annotations

from datetime import timedelta


def test_pages_are_in_traditional_chinese_by_default_and_switch_to_english(world, web, frozen):
    world.incident(title="登入失敗", aware_at=frozen() - timedelta(minutes=25))
    web.login("supervisor")
    page = web.get("/board").get_data(as_text=True)
    assert '<html lang="zh-TW">' in page and "通報時限看板" in page and "初步通報" in page
    assert 'href="/board?lang=en"' in page
    page = web.get("/board?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page and "Reporting deadlines" in page and "Initial report" in page
    assert "Reporting deadlines" in web.get("/board").get_data(as_text=True)  # the choice is remembered
    assert "通報時限看板" in web.get("/board?lang=zh_TW").get_data(as_text=True)
    assert "通報時限看板" in web.get("/board?lang=klingon").get_data(as_text=True)


def test_times_are_shown_in_the_firms_zone(world, web, frozen):
    incident = world.incident(aware_at=frozen() - timedelta(minutes=25))  # 17:45 UTC
    web.login("oncall")
    page = web.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert "2026-11-21 01:45" in page and "2026-11-20 17:45" not in page


def test_the_language_choice_works_before_login(client):
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page


def test_the_catalogue_translates_every_message(app):
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(app.root_path) / "translations" / "zh_Hant_TW" / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po_file, (folder / "messages.mo").open("rb") as mo_file:
        po, mo = read_po(po_file), read_mo(mo_file)
    untranslated = [m.id for m in po if m.id and not (any(m.string) if m.pluralizable else m.string)]
    assert untranslated == []

    def key(message_id):  # a plural message's id is a pair
        return tuple(message_id) if isinstance(message_id, (list, tuple)) else message_id

    assert {key(m.id) for m in po if m.id} == {key(m.id) for m in mo if m.id}, "messages.mo is stale: run `make translations`"
