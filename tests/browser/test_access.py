"""Sign-in, the page matrix, deep links, forged cookies, refresh and the lockout in a real browser."""
import time

import jwt
import pytest
from playwright.sync_api import Page, expect

from csdl import access, auth
from csdl.access import ROLES
from csdl.i18n import t

# settled and signed_in are also imported from here by the other browser tests.
from .conftest import PASSWORDS, Server, make_data, settled, sign_in, signed_in, url_of

SCHOOL = "Trường Tiểu học Thử"


def menu_titles(page: Page) -> set[str]:
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_be_visible()
    return {s.strip().splitlines()[-1].strip() for s in nav.get_by_role("link").all_inner_texts()}  # after the icon name


def test_fresh_server_deep_links_show_no_school_data(page, tmp_path):
    server = Server(make_data(tmp_path / "fresh"))  # a server no session has touched yet
    try:
        for spec in access.PAGES:
            page.goto(url_of(server.url, spec.key))
            expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
            body = page.locator("body").inner_text()
            assert SCHOOL not in body and "Nguyễn An" not in body and "20270108" not in body
    finally:
        server.stop()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_its_pages(page, server, role):
    signed_in(page, server.url, f"u_{role}", PASSWORDS[role])
    # Signed in at the app's address, the role's own first page opens (not the page that was
    # the default while signed out, which another role's may be).
    first = access.pages_for({role})[0]
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    assert page.get_by_role("heading", level=1).first.inner_text().startswith(t(first.title_key))
    expected = {t(p.title_key) for p in access.pages_for({role})}
    if len(expected) > 1:
        assert menu_titles(page) == expected
    else:  # Streamlit hides a one-page menu
        assert page.get_by_test_id("stSidebarNav").count() == 0
    for spec in access.PAGES:
        page.goto(url_of(server.url, spec.key))
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        heading = page.get_by_role("heading", level=1).first.inner_text()
        if spec.key in {p.key for p in access.pages_for({role})}:
            assert heading.startswith(t(spec.title_key))
        else:
            assert not heading.startswith(t(spec.title_key))


def test_a_mistyped_or_old_address_gets_our_page_not_streamlits_dialog(page, server):
    signed_in(page, server.url, "u_principal", PASSWORDS["principal"])
    first = access.pages_for({"principal"})[0]
    # The first page's own name (it lives at the root) opens it.
    page.goto(f"{server.url}/{first.key}")
    expect(page.get_by_role("heading", name=t(first.title_key)).first).to_be_visible()
    settled(page)
    assert "Page not found" not in page.locator("body").inner_text()
    # Any other address that is no page says so in Vietnamese, with a link to the first page.
    page.goto(f"{server.url}/tong-quan_cu")
    expect(page.get_by_text(t("page.not_found_text", path="/tong-quan_cu"))).to_be_visible()
    settled(page)
    body = page.locator("body").inner_text()
    assert "Page not found" not in body and "You have requested" not in body
    page.get_by_role("link", name=t("page.not_found_link")).click()
    expect(page.get_by_role("heading", name=t(first.title_key)).first).to_be_visible()


def test_refresh_keeps_the_sub_page(page, server):
    signed_in(page, server.url, "u_admin", PASSWORDS["admin"], path="data")
    expect(page.get_by_role("heading", name=t("page.data")).first).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name=t("page.data")).first).to_be_visible()
    assert page.url.rstrip("/").endswith("/data")
    # After a reload the session is restored from the cookie by a component, which reruns the
    # script; a click while that rerun is pending can be dropped, so wait for it as a user would.
    settled(page)
    page.get_by_role("link", name=t("page.users")).click()
    expect(page.get_by_role("heading", name=t("page.users")).first).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name=t("page.users")).first).to_be_visible()


def _cookie(server, key: str) -> dict:
    token = jwt.encode({"username": "u_principal", "exp_date": time.time() + 3600}, key,
                       algorithm="HS256")
    return {"name": auth.COOKIE_NAME, "value": token, "url": server.url}


def test_cookie_signed_with_another_key_is_refused(page, server):
    page.context.add_cookies([_cookie(server, "another-key-" + "x" * 40)])
    page.goto(url_of(server.url, "overview"))
    expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
    assert SCHOOL not in page.locator("body").inner_text()


def test_cookie_signed_with_the_right_key_is_accepted(page, server):
    # The control for the test above: the same cookie with the installation's key signs in.
    key = auth.load_config(server.data_dir)["cookie"]["key"]
    page.context.add_cookies([_cookie(server, key)])
    page.goto(url_of(server.url, "overview"))
    expect(page.get_by_text(SCHOOL).first).to_be_visible()


def test_sign_out(page, server):
    signed_in(page, server.url, "u_principal", PASSWORDS["principal"])
    page.get_by_role("button", name=t("auth.sign_out")).click()
    expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
    # The cookie is removed by a component, as it was set: wait for the browser to drop it.
    deadline = time.monotonic() + 40
    while any(c["name"] == auth.COOKIE_NAME for c in page.context.cookies()):
        assert time.monotonic() < deadline, "the sign-in cookie was never removed"
        page.wait_for_timeout(100)
    page.goto(url_of(server.url, "overview"))
    expect(page.get_by_label("Tên đăng nhập")).to_be_visible()


def test_five_wrong_passwords_lock_the_username(page, server):
    for _ in range(5):
        sign_in(page, server.url, "u_vice_principal", "wrong-password")
        expect(page.get_by_text(t("auth.bad_credentials"))).to_be_visible()
    sign_in(page, server.url, "u_vice_principal", PASSWORDS["vice_principal"])
    expect(page.get_by_text("Tài khoản tạm khóa")).to_be_visible()
    assert SCHOOL not in page.locator("body").inner_text()


def test_school_account_deep_link_to_another_school_shows_its_own(page, server):
    # ?school=S2 in the URL is ignored for an account of S1; the district account follows it.
    signed_in(page, server.url, "u_principal", PASSWORDS["principal"], path="overview?school=S2")
    page.goto(f"{server.url}/overview?school=S2")
    settled(page)
    expect(page.get_by_text(SCHOOL).first).to_be_visible()
    assert "Trường khác" not in page.locator("body").inner_text()
    page.context.clear_cookies()  # a new visit, signed out
    signed_in(page, server.url, "u_district", PASSWORDS["district"])
    page.goto(f"{server.url}/overview?school=S2")
    settled(page)
    expect(page.get_by_text("Trường khác").first).to_be_visible()
