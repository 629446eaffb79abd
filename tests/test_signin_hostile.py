"""Sign-in under attack: parallel guesses, revoked and forged cookies, long and weak passwords,
demo accounts beside real data, and CSV reports carrying spreadsheet formulas. Every fixture is
made here."""
import base64
import csv
import io
import json
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import bcrypt
import jwt
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from csdl import auth, cli, exports, records, schedule, snapshots
from csdl.config import REPO_ROOT
from tests.conftest import small_school_tables

PASSWORD = "mat-khau-dai-1"
HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2+3", "\t=1", "\r=1"]


@pytest.fixture
def data(tmp_path):
    auth.add_user(tmp_path, "hieutruong", "principal", "Nguyễn Văn Hiệu", PASSWORD, "test",
                  school_id="S1")
    return tmp_path


def _actions(data_dir) -> list[str]:
    return [r["action"] for r in records.audit_entries(data_dir, limit=10_000)]


# --- 30 simultaneous guesses ---------------------------------------------------------------

def test_thirty_parallel_guesses_evaluate_only_five(data, monkeypatch):
    evaluated = []
    real_check = auth.check_password
    lock = threading.Lock()

    def counting(password, hashed):
        with lock:
            evaluated.append(password)
        return real_check(password, hashed)

    monkeypatch.setattr(auth, "check_password", counting)
    start = threading.Barrier(30)

    def guess(i):
        start.wait()
        try:
            auth.sign_in(data, "hieutruong", f"guess-{i:04d}-wrong", demo_allowed=False)
        except auth.AuthError as exc:
            return exc.key
        return "ok"

    with ThreadPoolExecutor(30) as pool:
        outcomes = list(pool.map(guess, range(30)))
    assert len(evaluated) == auth.MAX_FAILURES
    assert outcomes.count("auth.bad_credentials") == auth.MAX_FAILURES
    assert outcomes.count("auth.locked") == 30 - auth.MAX_FAILURES
    # The right password is refused too now: the lockout holds.
    with pytest.raises(auth.AuthError) as exc:
        auth.sign_in(data, "hieutruong", PASSWORD, demo_allowed=False)
    assert exc.value.key == "auth.locked"


def _guess_in_process(job):
    data_dir, i = job
    try:
        auth.sign_in(data_dir, "hieutruong", f"guess-{i:04d}-wrong", demo_allowed=False)
    except auth.AuthError as exc:
        return exc.key
    return "ok"


def test_parallel_guesses_from_several_processes_evaluate_only_five(data):
    # Several servers or CLI runs share app.db: the count is held there, not in memory.
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outcomes = pool.map(_guess_in_process, [(str(data), i) for i in range(12)])
    assert outcomes.count("auth.bad_credentials") == auth.MAX_FAILURES
    assert outcomes.count("auth.locked") == 12 - auth.MAX_FAILURES
    actions = _actions(data)
    assert actions.count("sign_in_failed") == auth.MAX_FAILURES
    assert actions.count("sign_in_refused_locked") == 12 - auth.MAX_FAILURES


def test_a_success_still_clears_the_count(data):
    for i in range(4):
        with pytest.raises(auth.AuthError):
            auth.sign_in(data, "hieutruong", "wrong-wrong", demo_allowed=False)
    assert auth.sign_in(data, "hieutruong", PASSWORD, demo_allowed=False).username == "hieutruong"
    for i in range(4):
        with pytest.raises(auth.AuthError):
            auth.sign_in(data, "hieutruong", "wrong-wrong", demo_allowed=False)
    assert auth.locked_until(data, "hieutruong") is None


# --- cookies: revoked, forged, flags --------------------------------------------------------

def _token(data_dir, username="hieutruong", version=0, **claims):
    return auth.issue_token(data_dir, username, version) if not claims else jwt.encode(
        {"username": username, "exp_date": time.time() + 3600, "sv": version, **claims},
        auth.load_config(data_dir)["cookie"]["key"], algorithm="HS256")


def test_cookie_stops_working_after_sign_out(data):
    token = _token(data)
    user, version = auth.user_from_token(data, token)
    assert user.username == "hieutruong" and version == 0
    auth.sign_out(data, "hieutruong")
    assert auth.user_from_token(data, token) is None
    # A sign-in after that gets a token of the new version, which works.
    assert auth.user_from_token(data, _token(data, version=1))[1] == 1
    assert "sign_out" in _actions(data)


def test_cookie_stops_working_after_password_reset_and_disable(data):
    token = _token(data)
    auth.reset_password(data, "hieutruong", "mat-khau-moi-99", "test")
    assert auth.user_from_token(data, token) is None
    fresh = _token(data, version=auth.session_version(data, "hieutruong"))
    assert auth.user_from_token(data, fresh) is not None
    auth.disable_user(data, "hieutruong", "test")
    assert auth.user_from_token(data, fresh) is None
    auth.enable_user(data, "hieutruong", "test")
    assert auth.user_from_token(data, fresh) is None  # disabling ended it for good


def test_token_made_before_session_versions_still_works_until_a_sign_out(data):
    key = auth.load_config(data)["cookie"]["key"]
    old = jwt.encode({"username": "hieutruong", "exp_date": time.time() + 3600}, key,
                     algorithm="HS256")
    assert auth.user_from_token(data, old) is not None
    auth.sign_out(data, "hieutruong")
    assert auth.user_from_token(data, old) is None


def _b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def forged_tokens(data_dir) -> dict[str, str]:
    key = auth.load_config(data_dir)["cookie"]["key"]
    claims = {"username": "hieutruong", "exp_date": time.time() + 3600, "sv": 0}
    return {
        "alg_none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".",
        "alg_none_signed": _b64({"alg": "none"}) + "." + _b64(claims) + ".c2ln",
        "hs512_right_key": jwt.encode(claims, key, algorithm="HS512"),
        "hs384_right_key": jwt.encode(claims, key, algorithm="HS384"),
        "another_key": jwt.encode(claims, "another-key-" + "x" * 40, algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp_date": time.time() - 1}, key, algorithm="HS256"),
        "exp_as_text": jwt.encode({**claims, "exp_date": "tomorrow"}, key, algorithm="HS256"),
        "exp_missing": jwt.encode({"username": "hieutruong"}, key, algorithm="HS256"),
        "username_as_list": jwt.encode({**claims, "username": ["hieutruong"]}, key,
                                       algorithm="HS256"),
        "version_as_text": jwt.encode({**claims, "sv": "0"}, key, algorithm="HS256"),
        "version_ahead": jwt.encode({**claims, "sv": 7}, key, algorithm="HS256"),
        "claims_a_list": jwt.api_jws.encode(b"[1, 2]", key, algorithm="HS256"),
        "unknown_user": jwt.encode({**claims, "username": "nobody"}, key, algorithm="HS256"),
        "garbage": "%%%.not-a-token.###",
        "bad_header_json": base64.urlsafe_b64encode(b"{nope").decode() + ".e30.",
        "huge": "a" * 100_000,
        "empty": "",
    }


def test_forged_tokens_are_refused_quietly(data):
    for name, token in forged_tokens(data).items():
        assert auth.user_from_token(data, token) is None, name
    assert auth.user_from_token(data, None) is None
    assert auth.user_from_token(data, 12345) is None


class _FakeContext:
    """What ui.py reads of st.context, with a cookie the browser sent."""

    def __init__(self, cookies=None, url=None, headers=None):
        self.cookies = cookies or {}
        self.url = url
        self.headers = headers or {}


def _app_with_cookie(monkeypatch, data_dir, token) -> AppTest:
    import streamlit

    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    monkeypatch.setattr(streamlit, "context", _FakeContext({auth.COOKIE_NAME: token}))
    return AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30).run()


def _small_import(data_dir, source="import", taken_at=datetime(2027, 1, 8, 17, 0)):
    return snapshots.write_snapshot(data_dir, small_school_tables(), school_year="2026-2027",
                                    taken_at=taken_at, source=source)


@pytest.mark.parametrize("name", ["alg_none", "hs512_right_key", "exp_as_text", "claims_a_list",
                                  "username_as_list", "garbage", "huge"])
def test_forged_cookie_shows_the_sign_in_form_on_every_page(data, monkeypatch, name):
    _small_import(data)
    at = _app_with_cookie(monkeypatch, data, forged_tokens(data)[name])
    assert not at.exception, at.exception
    assert [ti.label for ti in at.text_input][:2] == ["Tên đăng nhập", "Mật khẩu"]
    assert "authentication_status" not in at.session_state
    for page in ("progress", "users", "data"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert at.text_input and at.text_input[0].label == "Tên đăng nhập"


def test_valid_cookie_signs_in_and_a_revoked_one_does_not(data, monkeypatch):
    # The control: the same path with a good token signs in; after sign-out it no longer does.
    _small_import(data)
    token = _token(data)
    at = _app_with_cookie(monkeypatch, data, token)
    assert not at.exception, at.exception
    assert at.session_state["username"] == "hieutruong"
    auth.sign_out(data, "hieutruong")
    at = _app_with_cookie(monkeypatch, data, token)
    assert not at.exception, at.exception
    assert at.text_input[0].label == "Tên đăng nhập"


def test_open_session_ends_at_the_next_run_after_a_reset_elsewhere(data, monkeypatch):
    _small_import(data)
    at = _app_with_cookie(monkeypatch, data, _token(data))
    assert at.session_state["username"] == "hieutruong"
    auth.reset_password(data, "hieutruong", "mat-khau-moi-99", "quantri")
    at.run()
    assert not at.exception, at.exception
    assert "authentication_status" not in at.session_state
    assert at.text_input[0].label == "Tên đăng nhập"
    assert any("Phiên đăng nhập đã kết thúc" in i.value for i in at.info)


def test_cookie_secure_over_https_or_by_setting():
    assert auth.cookie_secure("https://truong.example/overview", None)
    assert auth.cookie_secure("http://10.0.0.5:8501/", "https")
    assert auth.cookie_secure("http://10.0.0.5:8501/", "https, http")
    assert not auth.cookie_secure("http://localhost:8501/", None)
    assert not auth.cookie_secure(None, None)
    assert auth.cookie_secure("http://localhost:8501/", None, "1")
    assert not auth.cookie_secure("https://truong.example/", None, "0")


class _RecordingCookieComponent:
    """Stands for the cookie component: records each call; answers `done` (the browser has
    run the method) or False (the component has not reached the browser yet)."""

    def __init__(self, done=True):
        self.calls, self.done = [], done

    def __call__(self, method, key, default, **args):
        self.calls.append((method, args.get("cookie"), args.get("value"), args.get("options")))
        return self.done


def _record_cookies(monkeypatch, done=True):
    import importlib

    # The package's CookieManager class shadows its module of the same name.
    component_module = importlib.import_module("extra_streamlit_components.CookieManager")
    recorder = _RecordingCookieComponent(done)
    monkeypatch.setattr(component_module, "_component_func", recorder)
    return recorder


def _signed_in_app(data, monkeypatch, **state):
    monkeypatch.setenv("CSDL_DATA_DIR", str(data))
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30)
    for key, value in {"authentication_status": True, "username": "hieutruong",
                       "name": "Nguyễn Văn Hiệu", "roles": ["principal"],
                       "_session_version": 0, **state}.items():
        at.session_state[key] = value
    return at


@pytest.mark.parametrize("setting,secure", [("1", True), ("0", None)])
def test_cookie_is_set_strict_and_secure_when_asked(data, monkeypatch, setting, secure):
    _small_import(data)
    recorder = _record_cookies(monkeypatch)
    monkeypatch.setenv(auth.COOKIE_SECURE_ENV, setting)
    at = _signed_in_app(data, monkeypatch, _cookie_pending=True)
    at.run()
    assert not at.exception, at.exception
    [(what, name, token, options)] = recorder.calls
    assert (what, name) == ("set", auth.COOKIE_NAME)
    assert options["sameSite"] == "strict" and options.get("secure") == secure
    assert auth.user_from_token(data, token)[0].username == "hieutruong"
    assert "_cookie_pending" not in at.session_state  # the browser answered: not drawn again


def test_cookie_is_drawn_again_until_the_browser_has_set_it(data, monkeypatch):
    # A run cut short before the component reached the browser must not lose the cookie.
    _small_import(data)
    recorder = _record_cookies(monkeypatch, done=False)
    at = _signed_in_app(data, monkeypatch, _cookie_pending=True)
    at.run()
    at.run()
    assert [c[0] for c in recorder.calls] == ["set", "set"]
    assert recorder.calls[0] == recorder.calls[1]  # the same token and expiry each time
    assert at.session_state["_cookie_pending"]
    recorder.done = True
    at.run()
    assert "_cookie_pending" not in at.session_state
    at.run()
    assert len(recorder.calls) == 3


def _sign_out_script():
    from csdl import ui

    ui.restore_session()
    ui.issue_pending_cookie()
    if ui.current_roles():
        ui.sign_out_button()


def test_sign_out_button_revokes_and_deletes_the_cookie(data, monkeypatch):
    # Run without st.navigation: AppTest does not deliver clicks through it.
    recorder = _record_cookies(monkeypatch)
    monkeypatch.setenv("CSDL_DATA_DIR", str(data))
    token = _token(data)
    at = AppTest.from_function(_sign_out_script, default_timeout=30)
    for key, value in {"authentication_status": True, "username": "hieutruong",
                       "name": "Nguyễn Văn Hiệu", "roles": ["principal"]}.items():
        at.session_state[key] = value
    at.run()
    at.button(key="sign_out").click().run()
    assert not at.exception, at.exception
    assert "authentication_status" not in at.session_state
    assert [c[:2] for c in recorder.calls] == [("delete", auth.COOKIE_NAME)]
    assert "_cookie_delete_pending" not in at.session_state
    assert auth.user_from_token(data, token) is None
    assert "sign_out" in _actions(data)


# --- passwords ------------------------------------------------------------------------------

def test_long_passphrase_over_72_bytes_works(data):
    phrase = "Trường Tiểu học Hòa Bình mùa thu năm hai nghìn không trăm hai mươi bảy " * 2
    assert len(phrase.encode("utf-8")) > 72 and len(phrase) <= auth.MAX_PASSWORD_LENGTH
    auth.add_user(data, "pho.ht", "vice_principal", "Lê Thị Mai", phrase, "test", school_id="S1")
    assert auth.sign_in(data, "pho.ht", phrase, demo_allowed=False).username == "pho.ht"
    # The same text with its 72 first bytes only is not the password.
    with pytest.raises(auth.AuthError) as exc:
        auth.sign_in(data, "pho.ht", phrase.encode("utf-8")[:72].decode("utf-8", "ignore"),
                     demo_allowed=False)
    assert exc.value.key == "auth.bad_credentials"
    # Typed with decomposed accents (another keyboard), it is the same password.
    import unicodedata
    assert auth.sign_in(data, "pho.ht", unicodedata.normalize("NFD", phrase),
                        demo_allowed=False)


def test_password_length_limit_and_huge_guesses(data):
    with pytest.raises(auth.AuthError) as exc:
        auth.add_user(data, "pho.ht", "vice_principal", "X", "x1" * 101, "test")
    assert exc.value.key == "auth.password_too_long"
    auth.add_user(data, "pho.ht", "vice_principal", "X", "x1" * 100, "test")  # 200: allowed
    for guess in ("ư" * 5000, "a" * 73, "\x00" * 80):
        with pytest.raises(auth.AuthError) as exc:  # never a ValueError from bcrypt
            auth.sign_in(data, "pho.ht", guess, demo_allowed=False, now=datetime(2027, 1, 1))
        assert exc.value.key == "auth.bad_credentials"


def test_old_hashes_stay_verifiable(data):
    # Accounts made before pre-hashing: bcrypt over the raw password.
    config = auth.load_config(data)
    old = bcrypt.hashpw(b"mat-khau-cu-12", bcrypt.gensalt(4)).decode()
    config["credentials"]["usernames"]["hieutruong"]["password"] = old
    auth._write_config(data, config)
    assert auth.sign_in(data, "hieutruong", "mat-khau-cu-12", demo_allowed=False)
    assert not auth.check_password("mat-khau-cu-12" + "x" * 80, old)
    assert auth.hash_password("abc").startswith("sha256+$2b$")


@pytest.mark.parametrize("password,key", [
    ("1234567890", "auth.password_common"),
    ("  1234567890 ", "auth.password_common"),
    ("QwertyUiop", "auth.password_common"),
    ("matkhau123", "auth.password_common"),
    ("hieutruong-demo", "auth.password_common"),  # printed on the demo's sign-in page
    (" " * 10, "auth.password_one_char"),
    ("a" * 12, "auth.password_one_char"),
    ("\t" * 10, "auth.password_one_char"),
    ("nguyen.van.an", "auth.password_is_username"),
    ("Nguyen.Van.An", "auth.password_is_username"),
    ("123456789", "auth.password_too_short"),
])
def test_weak_passwords_are_refused(data, password, key):
    with pytest.raises(auth.AuthError) as exc:
        auth.add_user(data, "nguyen.van.an", "admin", "Nguyễn Văn An", password, "test")
    assert exc.value.key == key
    with pytest.raises(auth.AuthError) as exc:
        auth.reset_password(data, "hieutruong", password.replace("nguyen.van.an", "hieutruong")
                            .replace("Nguyen.Van.An", "HieuTruong"), "test")
    assert exc.value.key == key
    assert auth.get_user(data, "nguyen.van.an") is None


def test_every_refusal_has_a_message_in_both_languages():
    from csdl.i18n import t

    for key in ("auth.password_common", "auth.password_one_char", "auth.password_is_username",
                "auth.password_too_long", "auth.session_ended"):
        assert t(key, "vi") != key and t(key, "en") != key


# --- demo accounts beside real data ---------------------------------------------------------

def _demo_install(data_dir):
    _small_import(data_dir, source="demo", taken_at=datetime(2027, 3, 1, 8, 0))
    auth.ensure_demo_users(data_dir)


def test_demo_accounts_work_in_a_demo_installation_only(tmp_path):
    _demo_install(tmp_path)
    assert auth.demo_allowed(tmp_path)
    username, _, _, password = auth.DEMO_ACCOUNTS[-1]  # phonggd: the district, sees all
    assert auth.sign_in(tmp_path, username, password, demo_allowed=auth.demo_allowed(tmp_path))
    demo_cookie = _token(tmp_path, username)
    assert auth.user_from_token(tmp_path, demo_cookie) is not None
    # A real import older than the demo snapshot: the installation is no longer a demo.
    _small_import(tmp_path, taken_at=datetime(2027, 1, 8, 17, 0))
    assert not auth.demo_allowed(tmp_path)
    with pytest.raises(auth.AuthError):
        auth.sign_in(tmp_path, username, password, demo_allowed=auth.demo_allowed(tmp_path))
    assert auth.user_from_token(tmp_path, demo_cookie) is None


def test_retire_demo_accounts_is_for_good(tmp_path):
    _demo_install(tmp_path)
    demo_cookie = _token(tmp_path, "hieutruong")
    gone = auth.retire_demo_accounts(tmp_path)
    assert gone == sorted(u for u, *_ in auth.DEMO_ACCOUNTS)
    assert auth.list_users(tmp_path) == []
    assert auth.load_config(tmp_path)[auth.DEMO_RETIRED_KEY]
    assert auth.retire_demo_accounts(tmp_path) == []  # again: nothing to do
    # Only demo snapshots left, and the demo asks for its accounts again: they stay gone.
    auth.ensure_demo_users(tmp_path)
    assert auth.list_users(tmp_path) == [] and not auth.demo_allowed(tmp_path)
    # A real account later given a demo username is not signed in by the demo's old cookie.
    auth.add_user(tmp_path, "hieutruong", "principal", "Nguyễn Văn Thật", PASSWORD, "test",
                  school_id="S1")
    assert auth.user_from_token(tmp_path, demo_cookie) is None
    assert "demo_accounts_retired" in _actions(tmp_path)


def test_sign_in_page_hides_demo_passwords_once_real_data_is_in(tmp_path, monkeypatch):
    _demo_install(tmp_path)
    monkeypatch.setenv("CSDL_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30).run()
    assert any("hieutruong-demo" in i.value for i in at.info)
    _small_import(tmp_path, taken_at=datetime(2027, 1, 8, 17, 0))  # older than the demo's
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception, at.exception
    assert not any("-demo" in i.value for i in at.info)


def test_demo_session_open_during_the_first_import_ends(tmp_path, monkeypatch):
    _demo_install(tmp_path)
    at = _app_with_cookie(monkeypatch, tmp_path, _token(tmp_path, "phonggd"))
    assert at.session_state["username"] == "phonggd"
    _small_import(tmp_path)
    auth.retire_demo_accounts(tmp_path)
    at.run()
    assert "authentication_status" not in at.session_state
    assert at.text_input[0].label == "Tên đăng nhập"


# --- CSV reports with formulas in the data --------------------------------------------------

def _hostile_school(data_dir):
    tables = small_school_tables()
    tables["staff"] = pd.DataFrame([
        {"school_id": "S1", "staff_id": "GV1", "full_name": HOSTILE[0]},
        {"school_id": "S1", "staff_id": "GV3", "full_name": HOSTILE[1]},
        {"school_id": "S1", "staff_id": "GV9", "full_name": HOSTILE[2]},
        {"school_id": "S1", "staff_id": "GV2", "full_name": HOSTILE[3]},
    ])
    tables["class"].loc[tables["class"]["class_id"] == "L4A", "class_name"] = HOSTILE[2]
    tables["class"].loc[tables["class"]["class_id"] == "L1B", "class_name"] = HOSTILE[4]
    tables["class"].loc[tables["class"]["class_id"] == "L1A", "class_name"] = HOSTILE[5]
    info = snapshots.write_snapshot(data_dir, tables, school_year="2026-2027",
                                    taken_at=datetime(2027, 1, 8, 17, 0), source="import")
    # A deadline already past at the snapshot's time: every incomplete unit is overdue.
    schedule.set_window(data_dir, "2026-2027", "CK1", None, date(2026, 12, 29), date(2027, 1, 5),
                        date(2027, 1, 17), "t")
    return info


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_no_formula(text: str) -> None:
    cells = _cells(text)
    assert cells
    for cell in cells:
        assert not cell.startswith(exports.FORMULA_START), repr(cell)
        assert "\r" not in cell.replace("\r\n", ""), repr(cell)


@pytest.mark.parametrize("args", [["progress", "--by", "teacher"], ["overdue"],
                                  ["progress", "--by", "class,subject"]])
def test_csv_reports_neutralise_formulas(tmp_path, capsys, args):
    _hostile_school(tmp_path)
    assert cli.main(["report", *args, "--period", "CK1", "--school-id", "S1",
                     "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    _assert_no_formula(out)
    cells = _cells(out)
    if args[0] == "overdue":
        assert "'" + HOSTILE[2] in cells and "'" + HOSTILE[0] in cells
    elif args[-1] == "teacher":
        assert {"'" + h for h in HOSTILE[:4]} <= set(cells)


def test_formula_safe_leaves_numbers_and_plain_text():
    table = pd.DataFrame({"name": [*HOSTILE, "Nguyễn An", None], "n": [-1, 2, 3, 4, 5, 6, 7, 8],
                          "ratio": [-0.5, 0.25, None, 1, 1, 1, 1, 1]})
    out = io.StringIO()
    exports.write_csv(table, out, float_format="%.4f")
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["name", "n", "ratio"]
    assert [r[0] for r in rows[1:]] == ["'" + h.replace("\r", "\n") for h in HOSTILE] + [
        "Nguyễn An", ""]
    assert rows[1][1:] == ["-1", "-0.5000"]
    assert exports.formula_safe(-3) == -3 and exports.formula_safe("A-1") == "A-1"
    # A lone CR inside a cell would start a new line in Excel: the cell is quoted instead.
    out = io.StringIO()
    exports.write_csv(pd.DataFrame({"x": ["a\r=1+1"]}), out)
    assert list(csv.reader(io.StringIO(out.getvalue())))[1] == ["a\n=1+1"]
