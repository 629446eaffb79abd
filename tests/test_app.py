"""Every page through Streamlit's AppTest: runs for every role allowed, refused to every other."""
import re

import pytest
from streamlit.testing.v1 import AppTest

from csdl import access
from csdl.access import ROLES
from csdl.config import REPO_ROOT as ROOT
from tests.conftest import add_account

ALLOWED = [(p.key, r) for p in access.PAGES for r in ROLES if r in p.roles]
REFUSED = [(p.key, r) for p in access.PAGES for r in ROLES if r not in p.roles]


@pytest.fixture
def data_env(small_snapshot, monkeypatch):
    data_dir, _ = small_snapshot
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    return data_dir


def signed_in(script: str, role: str | None, school: str | None = "S1",
              username: str | None = None) -> AppTest:
    """A session signed in as an account of `role`; school roles belong to `school` (S1)."""
    from csdl import config

    at = AppTest.from_file(str(ROOT / script), default_timeout=30)
    if role:
        username = username or f"test_{role}"
        add_account(config.data_dir(), username, role,
                    None if role == access.DISTRICT else school)
        at.session_state["authentication_status"] = True
        at.session_state["username"] = username
        at.session_state["name"] = "Người thử"
        at.session_state["roles"] = [role]
    return at


def table_frame(table):
    """An st.table as the user reads it: its cells and headers are literal Markdown (each
    punctuation mark escaped by a backslash), shown without the backslashes."""
    plain = table.value.map(lambda v: re.sub(r"\\(.)", r"\1", v) if isinstance(v, str) else v)
    return plain.rename(columns=lambda c: re.sub(r"\\(.)", r"\1", str(c)))


def table_text(table) -> str:
    return table_frame(table).to_string()


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning",
                                  "error", "success") for e in getattr(at, kind)]
    parts += [str(m.value) + str(m.label) for m in at.metric]
    parts += [df.value.to_string() for df in at.dataframe]
    parts += [table_text(tb) for tb in at.table]
    return "\n".join(str(p) for p in parts)


def test_overview_shows_school_age_and_completion(data_env):
    at = signed_in("app.py", "principal")
    at.query_params["school"] = "S1"
    at.query_params["period"] = "CK1"
    at.run()
    assert not at.exception, at.exception
    assert any("Trường Tiểu học Thử" in s.value for s in at.subheader)
    assert any("Dữ liệu lúc 08/01/2027 17:00" in c.value for c in at.caption)
    assert at.metric[0].value == "6,5%"  # (7 + 2) / (71 + 68), counts worked out in test_queries


@pytest.mark.parametrize("page,role", REFUSED)
def test_refused_pages_open_to_a_message_in_vietnamese(data_env, page, role):
    # Registered but hidden from the menu: a link opens our message, not Streamlit's English
    # "Page not found", and nothing of the page.
    at = signed_in("app.py", role).run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    assert [h.value for h in at.title] == ["Không có quyền xem trang này"]
    assert [w.value for w in at.warning] == [
        "Vui lòng đăng nhập bằng tài khoản có quyền xem trang này."]
    assert not at.dataframe and not at.table and not at.metric


@pytest.mark.parametrize("page,role", ALLOWED)
def test_page_runs_for_allowed_role(data_env, page, role):
    at = signed_in("app.py", role).run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    assert not any(w.value.startswith("Vui lòng đăng nhập") for w in at.warning)


@pytest.mark.parametrize("page,role", REFUSED + [(p.key, None) for p in access.PAGES])
def test_page_refused_when_run_directly(data_env, page, role):
    # The page script itself checks the role: opened on its own, as by a deep link.
    at = signed_in(f"pages/{page}.py", role).run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Trường Tiểu học Thử" not in shown and "Nguyễn An" not in shown
    if role is None:
        assert at.text_input and at.text_input[0].label == "Tên đăng nhập"
    else:
        assert any(w.value.startswith("Vui lòng đăng nhập") for w in at.warning)


def test_users_page_adds_disables_and_audits(data_env):
    from csdl import auth, records

    # Run the page script itself: AppTest does not deliver form submits through st.navigation
    # (the same form works through the menu in a real browser).
    at = signed_in("pages/users.py", "admin").run()
    form_inputs = {ti.label: ti for ti in at.text_input}
    form_inputs["Tên đăng nhập"].input("pho.hieutruong")
    form_inputs["Họ tên"].input("Lê Thị Mai")
    form_inputs["Mật khẩu"].input("ngan")  # too short: refused, nothing written
    submit = [b for b in at.button if b.label == "Thêm tài khoản"][0]
    submit.click().run()
    assert any("ít nhất 10 ký tự" in e.value for e in at.error)
    assert [u.username for u in auth.list_users(data_env)] == ["test_admin"]
    form_inputs = {ti.label: ti for ti in at.text_input}
    form_inputs["Tên đăng nhập"].input("pho.hieutruong")
    form_inputs["Họ tên"].input("Lê Thị Mai")
    form_inputs["Mật khẩu"].input("mat-khau-du-dai")
    [b for b in at.button if b.label == "Thêm tài khoản"][0].click().run()
    assert not at.exception
    users = [u for u in auth.list_users(data_env) if u.username != "test_admin"]
    # A new account belongs to the administrator's own school.
    assert [(u.username, u.name, u.roles, u.school_id) for u in users] == [
        ("pho.hieutruong", "Lê Thị Mai", ("principal",), "S1")]
    at.selectbox(key="change_user").select("pho.hieutruong").run()
    [b for b in at.button if b.label == "Khóa tài khoản"][0].click().run()
    assert auth.get_user(data_env, "pho.hieutruong").disabled
    actions = [r["action"] for r in records.audit_entries(data_env)]
    assert actions[:2] == ["user_disable", "user_add"]
    assert records.audit_entries(data_env)[0]["actor"] == "test_admin"
