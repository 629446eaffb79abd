"""The Data page end to end: upload, preview, problems by cell, import; nothing written on refusal."""
import os

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


def test_a_whole_school_of_class_summaries_imports_from_the_data_page(page, tmp_path):
    """The school's five class-summary files of a period (one sheet a class): the preview lists
    each sheet with what it read, and one click makes the school's first snapshot."""
    from csdl.samples import write_class_summaries

    data = tmp_path / "data"
    auth.add_user(data, "quantri", "admin", "Quản trị", "quan-tri-pw-123", "test")
    files = write_class_summaries(contract_tables(), tmp_path / "files", school_id=SCHOOL_ID,
                                  school_name=SCHOOL_NAME, school_year=SCHOOL_YEAR,
                                  period="CK1")
    assert len(files) == 5
    server = Server(data)
    try:
        signed_in(page, server.url, "quantri", "quan-tri-pw-123", path="data")
        upload = page.get_by_role("tabpanel", name=t("data.tab_import")).get_by_test_id(
            "stFileUploaderDropzoneInput")
        expect(upload).to_have_count(1)
        page.get_by_label(t("data.school_id")).fill(SCHOOL_ID)
        page.get_by_label(t("data.school_id")).press("Enter")
        settled(page)
        upload.set_input_files([str(f) for f in files])
        expect(page.get_by_text("Sẵn sàng nhập").first).to_be_visible(timeout=60_000)
        if os.environ.get("CSDL_SCREENSHOTS"):  # for a person to look at the preview
            page.set_viewport_size({"width": 1366, "height": 768})
            page.get_by_test_id("stDataFrame").first.scroll_into_view_if_needed()
            page.screenshot(path=os.environ["CSDL_SCREENSHOTS"] + "/data-summaries.png")
        page.get_by_role("button", name=t("data.do_import"), exact=True).click()
        expect(page.get_by_text("Đã nhập").first).to_be_visible(timeout=60_000)
        good, _ = snapshots.list_snapshots(data)
        assert len(good) == 1 and good[0].source == "import"
        con = snapshots.connect(data, good[0].snapshot_id)
        try:
            counts = con.execute("SELECT (SELECT count(*) FROM student), (SELECT count(*) FROM "
                                 "class), (SELECT count(*) FROM subject_result)").fetchone()
        finally:
            con.close()
        assert counts[0] == 9 and counts[1] == 5 and counts[2] > 0  # enrolled students
    finally:
        server.stop()


def test_the_demo_administrator_imports_the_samples_from_the_page(page, demo_copy):
    """In the demo installation the administrator uploads the samples folder's files: the
    school comes pre-filled, the import is a trial kept as demo data (the demo accounts stay),
    and the new snapshot is listed and can be shown."""
    from csdl.i18n import fmt_datetime

    data = demo_copy()  # as demo.make_demo(data) writes it
    auth.ensure_demo_users(data)
    before, _ = snapshots.list_snapshots(data)
    files = sorted(str(p) for p in (data / "samples").iterdir() if p.is_file())
    server = Server(data)
    try:
        signed_in(page, server.url, "quantri", "quantri-demo", path="data")
        upload = page.get_by_role("tabpanel", name=t("data.tab_import")).get_by_test_id(
            "stFileUploaderDropzoneInput")
        expect(upload).to_have_count(1)
        expect(page.get_by_label(t("data.school_id"))).to_have_value("DEMO01")
        upload.set_input_files(files)
        expect(page.get_by_text("Sẵn sàng nhập").first).to_be_visible(timeout=90_000)
        expect(page.get_by_text(t("data.trial_import")).first).to_be_visible()
        page.get_by_role("button", name=t("data.do_import"), exact=True).click()
        expect(page.get_by_text("Đã nhập").first).to_be_visible(timeout=90_000)
        after, _ = snapshots.list_snapshots(data)
        new = [s for s in after if s.snapshot_id not in {b.snapshot_id for b in before}]
        assert len(new) == 1 and new[0].source == "demo"
        assert auth.get_user(data, "quantri") is not None  # the demo goes on
        settled(page)
        page.get_by_role("tab", name=t("data.tab_snapshots")).click()
        count = fmt_datetime(new[0].taken_at)
        expect(page.get_by_text(t("data.snapshot_count", count=str(len(after))),
                                exact=True)).to_be_visible()
        # Shown: pick it in the sidebar and the page says the data's time.
        page.goto(f"{server.url}/")
        settled(page)
        page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option").filter(has_text=count).first.click()
        settled(page)
        expect(page.get_by_text(f"Dữ liệu lúc {count}").first).to_be_visible()
    finally:
        server.stop()
