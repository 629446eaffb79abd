"""The progress page in a real browser: a shared deep link keeps its filters, the charts draw,
the reminder list downloads as a real Excel file."""
import io
from datetime import date

import openpyxl
from playwright.sync_api import expect

from csdl import schedule
from csdl.i18n import t

from .conftest import PASSWORDS, Server, make_data
from .test_access import settled, signed_in


def test_deep_link_filters_charts_and_reminder_download(page, tmp_path):
    data = make_data(tmp_path / "data")
    schedule.set_window(data, "2026-2027", "CK1", None, date(2026, 12, 29), date(2027, 1, 14),
                        date(2027, 1, 17), "test")
    server = Server(data)
    try:
        signed_in(page, server.url, "u_principal", PASSWORDS["principal"],
                  path="progress?period=CK1&grade=1&school=S1")
        expect(page.get_by_role("heading", name=t("page.progress")).first).to_be_visible()
        assert "grade=1" in page.url and "period=CK1" in page.url
        expect(page.get_by_role("combobox", name=t("ui.grade"))).to_have_value("Khối 1")
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        # Days to the deadline as of the snapshot (08/01/2027): 6.
        expect(page.get_by_test_id("stMetricValue").nth(3)).to_have_text("6")
        # A click while a rerun is pending can be dropped (the deferred download's element is
        # replaced by the rerun's): wait for the page to settle, as a user would.
        settled(page)
        page.get_by_role("tab", name=t("progress.tab_teachers")).click()
        settled(page)
        with page.expect_download() as info:
            page.get_by_role("button", name=t("progress.reminders")).click()
        book = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))
        assert book.sheetnames[0] == t("progress.reminder_summary")
        summary = book[book.sheetnames[0]]
        assert summary["A1"].value.startswith("Danh sách nhắc nhở nhập liệu CK1")
        classes = {summary.cell(r, 2).value for r in range(5, summary.max_row + 1)}
        assert classes == {"1A", "1B"}  # the grade filter applies to the list too
        settled(page)  # the download's click reruns the page: the old tabs are replaced
        history_tab = page.get_by_role("tab", name=t("progress.tab_history"))
        expect(history_tab).to_have_count(1)
        history_tab.click()
        settled(page)
        # Only the open tab is drawn: the burn-up chart, not the map's heatmap any more.
        expect(page.locator(".js-plotly-plot")).to_have_count(1)
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        # The missing entries' tab writes its unit in the URL (?unit=, the link that opens that
        # tab): a tab opened after it stays open.
        page.get_by_role("tab", name=t("progress.tab_missing")).click()
        settled(page)
        assert "unit=" in page.url
        forecast_tab = page.get_by_role("tab", name=t("progress.tab_forecast"))
        forecast_tab.click()
        settled(page)
        expect(forecast_tab).to_have_attribute("aria-selected", "true")
    finally:
        server.stop()
