"""Printing a class summary in a real browser: the print is registered, the PDF downloads, and
typing its code back finds the sheet."""
from playwright.sync_api import expect

from csdl import printing
from csdl.i18n import t

from .conftest import PASSWORDS, Server, make_data
from .test_access import settled, signed_in


def test_print_download_and_check_by_code(page, tmp_path):
    data = make_data(tmp_path / "data")
    server = Server(data)
    try:
        signed_in(page, server.url, "u_principal", PASSWORDS["principal"],
                  path="printed?school=S1&period=CK1")
        expect(page.get_by_role("heading", name=t("page.printed")).first).to_be_visible()
        page.get_by_text(t("printing.format_pdf"), exact=True).click()
        settled(page)
        page.get_by_role("button", name=t("printing.create")).click()
        settled(page)
        [code] = printing.prints(data, "2026-2027", "S1")["print_code"].tolist()
        with page.expect_download() as info:
            page.get_by_role("button", name=t("printing.download", code=code)).click()
        content = open(info.value.path(), "rb").read()
        assert content.startswith(b"%PDF") and b"DejaVu" in content
        page.get_by_role("tab", name=t("printing.tab_code")).click()
        box = page.get_by_label(t("printing.code_input"))
        box.fill(code.lower().replace("-", " "))  # typed back loosely, as people do
        box.press("Enter")
        settled(page)
        expect(page.get_by_text(f"Bản in {code}: lớp 1A").first).to_be_visible()
        expect(page.get_by_text(t("printing.no_differences")).first).to_be_visible()
    finally:
        server.stop()
