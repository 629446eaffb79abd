"""Vietnamese throughout: every role, every page and tab, no English a user reads and no
internal code; Streamlit's own texts included; the language choice survives a reload."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from csdl import access
from csdl.i18n import t

from .conftest import PASSWORDS
from .test_access import settled, signed_in, url_of

# Streamlit's own English (widgets, dialogs, uploader, errors) and words of ours left in English.
ENGLISH = re.compile(
    r"\b(Choose an? options?|Choose options|Upload|Browse files|Drag and drop|per file|"
    r"Page not found|not allowed|No results|Select all|Download|Snapshot|Error|"
    r"Running|Loading|Press Enter)\b")
# Internal codes: snapshot ids, subject / trait codes, file paths and commands.
CODES = re.compile(
    r"\b\d{8}-\d{6}-[0-9a-f]{6}\b|\b(?:NLC|NLD|PC)_[A-Z]+\b|\b(?:TOAN|NGOAINGU|TIENGDT|TINHOC|"
    r"CONGNGHE|LSDL|KHOAHOC|AMNHAC|MITHUAT|HDTN|GDTC|DAODUC|TNXH|PCNL)\b|settings\.yaml|"
    r"data/|python -m|\.venv|Traceback")


def visible_text(page: Page) -> str:
    return page.locator("[data-testid=stApp]").inner_text()


def check_text(page: Page, where: str) -> None:
    text = visible_text(page)
    for pattern in (ENGLISH, CODES):
        found = pattern.search(text)
        assert found is None, f"{where}: «{found.group(0)}» in «{text[max(0, found.start() - 80):found.end() + 80]}»"


# The principal opens every school page, the administrator its editing forms, the district its
# own page, the meeting screen other content on the same pages. The vice-principal sees a subset
# of the principal's pages and forms (AppTest runs every page for every role): left out for time.
@pytest.mark.parametrize("role", ["principal", "admin", "viewer", "district"])
def test_every_page_and_tab_speaks_vietnamese(page, server, role):
    signed_in(page, server.url, f"u_{role}", PASSWORDS[role])
    # A page the role may not open: our message in Vietnamese, not Streamlit's "Page not found".
    others = [s for s in access.PAGES if s not in access.pages_for({role})]
    if others:
        page.goto(f"{server.url}/{others[0].key}")
        settled(page)
        expect(page.get_by_role("heading", name=t("ui.no_access_title"))).to_be_visible()
        check_text(page, f"{role} {others[0].key} (not allowed)")
    for spec in access.pages_for({role}):
        page.goto(url_of(server.url, spec.key))
        settled(page)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        check_text(page, f"{role} {spec.key}")
        tabs = page.get_by_role("tab")
        for i in range(tabs.count()):
            tabs.nth(i).click()
            settled(page)
            check_text(page, f"{role} {spec.key} tab {i + 1}")
        # Streamlit's uploader texts are replaced: the translation is drawn by CSS.
        dropzones = page.get_by_test_id("stFileUploaderDropzoneInstructions")
        for i in range(dropzones.count()):
            after = dropzones.nth(i).evaluate(
                "e => getComputedStyle(e.firstElementChild, '::after').content")
            assert "tối đa" in after, f"{role} {spec.key}: uploader says {after}"


def test_the_language_choice_survives_a_reload_and_the_menu_follows_at_once(page, server):
    signed_in(page, server.url, "u_principal", PASSWORDS["principal"])
    page.get_by_text("English", exact=True).click()
    settled(page)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text(t("page.overview", "en"), exact=True)).to_be_visible()
    page.reload()
    settled(page)
    expect(page.get_by_test_id("stSidebarNav").get_by_text(t("page.overview", "en"),
                                                           exact=True)).to_be_visible()
    page.get_by_text("Tiếng Việt", exact=True).click()
    settled(page)
    expect(page.get_by_test_id("stSidebarNav").get_by_text(t("page.overview"),
                                                           exact=True)).to_be_visible()
