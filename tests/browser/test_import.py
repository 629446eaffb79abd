"""The Data page end to end: upload, preview, problems by cell, import; nothing written on refusal."""
from playwright.sync_api import expect

from csdl import auth, snapshots
from csdl.i18n import t
from csdl.samples import write_sector_files
from tests.readers_fixtures import SCHOOL_ID, SCHOOL_NAME, SCHOOL_YEAR, contract_tables

from .conftest import Server
from .test_access import settled, signed_in


def test_first_import_through_the_data_page(page, tmp_path):
    data = tmp_path / "data"
    auth.add_user(data, "quantri", "admin", "Quản trị", "quan-tri-pw-123", "test")
    files = {p.name: p for p in write_sector_files(
        contract_tables(), tmp_path / "files", school_id=SCHOOL_ID, school_name=SCHOOL_NAME,
        school_year=SCHOOL_YEAR, periods=["GK1"])}
    bad = tmp_path / "ket_qua.xls"
    bad.write_text("not a spreadsheet", encoding="utf-8")
    server = Server(data)
    try:
        signed_in(page, server.url, "quantri", "quan-tri-pw-123", path="data")
        # The import tab's uploader (the backup tab has one of its own).
        upload = page.get_by_role("tabpanel", name=t("data.tab_import")).get_by_test_id(
            "stFileUploaderDropzoneInput")
        expect(upload).to_have_count(1)  # once the sign-in rerun has cleared stale elements

        # A file that only changed its extension: refused, named, nothing written.
        upload.set_input_files([str(bad)])
        expect(page.get_by_text("Không thể nhập").first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("ket_qua.xls").first).to_be_visible()
        assert snapshots.list_snapshots(data) == ([], [])

        # A fresh visit (signed in by the cookie) starts with an empty uploader.
        page.goto(f"{server.url}/data")
        settled(page)
        page.get_by_label(t("data.school_id")).fill(SCHOOL_ID)
        page.get_by_label(t("data.school_name")).fill(SCHOOL_NAME)
        page.get_by_label(t("data.school_name")).press("Enter")
        settled(page)
        expect(upload).to_have_count(1)
        upload.set_input_files([str(files["C1-HocSinh.xls"]), str(files["KQHT-C1-GK1-Khoi4.xlsx"])])
        expect(page.get_by_text("Sẵn sàng nhập").first).to_be_visible(timeout=30_000)
        page.get_by_role("button", name=t("data.do_import"), exact=True).click()
        expect(page.get_by_text("Đã nhập: bản chụp").first).to_be_visible(timeout=30_000)
        good, _ = snapshots.list_snapshots(data)
        assert len(good) == 1 and good[0].source == "import"
        page.get_by_role("tab", name=t("data.tab_snapshots")).click()
        expect(page.get_by_text("1 bản chụp", exact=True)).to_be_visible()
    finally:
        server.stop()
