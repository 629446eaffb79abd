"""Accounts, password rules, the lockout counted in app.db, and the audit of every sign-in."""
import stat
from datetime import datetime, timedelta

import pytest

from csdl import auth, records

T0 = datetime(2027, 1, 8, 9, 0)


@pytest.fixture
def data(tmp_path):
    auth.add_user(tmp_path, "hieutruong", "principal", "Nguyễn Văn Hiệu", "mat-khau-dai-1", "test")
    return tmp_path


def test_users_file_is_private_and_hashed(data):
    path = auth.users_file(data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "mat-khau-dai-1" not in text and "$2b$" in text
    key = auth.load_config(data)["cookie"]["key"]
    assert len(bytes.fromhex(key)) >= 32
    assert auth.load_config(data)["cookie"]["expiry_days"] == 1


def test_cookie_keys_differ_between_installations(tmp_path):
    a = auth.load_config(tmp_path / "a")["cookie"]["key"]
    b = auth.load_config(tmp_path / "b")["cookie"]["key"]
    assert a != b


def test_password_rules_and_duplicates(data):
    with pytest.raises(auth.AuthError) as exc:
        auth.add_user(data, "ngan", "admin", "Ngân", "123456789", "test")
    assert exc.value.key == "auth.password_too_short"
    with pytest.raises(auth.AuthError):
        auth.add_user(data, "HieuTruong", "admin", "X", "mat-khau-dai-2", "test")
    with pytest.raises(auth.AuthError):
        auth.add_user(data, "a b", "admin", "X", "mat-khau-dai-2", "test")
    with pytest.raises(auth.AuthError):
        auth.add_user(data, "ngan", "teacher", "X", "mat-khau-dai-2", "test")


def test_sign_in_ok_and_wrong(data):
    user = auth.sign_in(data, "HieuTruong ", "mat-khau-dai-1", demo_allowed=False, now=T0)
    assert user.roles == ("principal",)
    with pytest.raises(auth.AuthError) as exc:
        auth.sign_in(data, "hieutruong", "wrong-password", demo_allowed=False, now=T0)
    assert exc.value.key == "auth.bad_credentials"
    actions = [r["action"] for r in records.audit_entries(data)]
    assert actions[:3] == ["sign_in_failed", "sign_in", "user_add"]


def test_five_failures_lock_for_fifteen_minutes_even_with_right_password(data):
    for i in range(5):
        with pytest.raises(auth.AuthError):
            auth.sign_in(data, "hieutruong", "wrong", demo_allowed=False, now=T0 + timedelta(minutes=2 * i))
    last = T0 + timedelta(minutes=8)
    # Counted in app.db: a fresh call (as after a restart) still sees it.
    assert auth.locked_until(data, "hieutruong", last) == last + timedelta(minutes=15)
    with pytest.raises(auth.AuthError) as exc:
        auth.sign_in(data, "hieutruong", "mat-khau-dai-1", demo_allowed=False, now=last + timedelta(minutes=14))
    assert exc.value.key == "auth.locked"
    user = auth.sign_in(data, "hieutruong", "mat-khau-dai-1", demo_allowed=False,
                        now=last + timedelta(minutes=15, seconds=1))
    assert user.username == "hieutruong"


def test_four_failures_or_spread_out_do_not_lock(data):
    for i in range(4):
        with pytest.raises(auth.AuthError):
            auth.sign_in(data, "hieutruong", "wrong", demo_allowed=False, now=T0 + timedelta(minutes=i))
    assert auth.locked_until(data, "hieutruong", T0 + timedelta(minutes=5)) is None
    # A fifth failure 20 minutes after the first: only 4 within any 15 minutes.
    with pytest.raises(auth.AuthError):
        auth.sign_in(data, "hieutruong", "wrong", demo_allowed=False, now=T0 + timedelta(minutes=20))
    assert auth.locked_until(data, "hieutruong", T0 + timedelta(minutes=20)) is None


def test_lockout_is_per_username(data):
    auth.add_user(data, "quantri", "admin", "Quản trị", "mat-khau-dai-3", "test")
    for i in range(5):
        with pytest.raises(auth.AuthError):
            auth.sign_in(data, "hieutruong", "wrong", demo_allowed=False, now=T0)
    assert auth.sign_in(data, "quantri", "mat-khau-dai-3", demo_allowed=False, now=T0).username == "quantri"


def test_disable_and_reset(data):
    auth.disable_user(data, "hieutruong", "test")
    with pytest.raises(auth.AuthError):
        auth.sign_in(data, "hieutruong", "mat-khau-dai-1", demo_allowed=False, now=T0)
    assert auth.authenticator_credentials(data, demo_allowed=False)["usernames"] == {}
    auth.enable_user(data, "hieutruong", "test")
    auth.reset_password(data, "hieutruong", "mat-khau-moi-99", "test")
    assert auth.sign_in(data, "hieutruong", "mat-khau-moi-99", demo_allowed=False, now=T0)
    with pytest.raises(auth.AuthError):
        auth.disable_user(data, "nobody", "test")


def test_demo_accounts_only_with_demo_data(tmp_path):
    auth.ensure_demo_users(tmp_path)
    users = auth.list_users(tmp_path)
    assert {u.roles[0] for u in users} == {"principal", "vice_principal", "admin", "viewer",
                                           "district"}
    # The school accounts belong to DEMO01; the district account (phonggd) to no school.
    assert {u.username: u.school_id for u in users} == {
        "hieutruong": "DEMO01", "phohieutruong": "DEMO01", "quantri": "DEMO01",
        "trinhchieu": "DEMO01", "phonggd": None}
    username, _, _, password = auth.DEMO_ACCOUNTS[0]
    assert auth.sign_in(tmp_path, username, password, demo_allowed=True, now=T0)
    with pytest.raises(auth.AuthError):
        auth.sign_in(tmp_path, username, password, demo_allowed=False, now=T0)
    assert auth.authenticator_credentials(tmp_path, demo_allowed=False)["usernames"] == {}


def test_school_binding_rule():
    rule = auth.allowed_schools
    assert rule(("district",), None, ["S1", "S2"]) == ["S1", "S2"]
    assert rule(("principal",), "S1", ["S1", "S2"]) == ["S1"]
    assert rule(("viewer",), "S3", ["S1", "S2"]) == []  # its school is not in this snapshot
    # An account made before schools were bound: the only school, else none.
    assert rule(("admin",), None, ["S1"]) == ["S1"]
    assert rule(("admin",), None, ["S1", "S2"]) == []
    assert rule((), None, ["S1"]) == []


def test_accounts_bound_to_a_school(data):
    auth.add_user(data, "ht.s1", "principal", "Hiệu trưởng S1", "mat-khau-dai-1", "test",
                  school_id="S1")
    auth.add_user(data, "phong", "district", "Cán bộ phòng", "mat-khau-dai-1", "test")
    assert auth.get_user(data, "ht.s1").school_id == "S1"
    assert auth.get_user(data, "phong").school_id is None
    assert auth.sign_in(data, "ht.s1", "mat-khau-dai-1", demo_allowed=False, now=T0).school_id == "S1"
    with pytest.raises(auth.AuthError) as exc:
        auth.add_user(data, "phong2", "district", "X", "mat-khau-dai-1", "test", school_id="S1")
    assert exc.value.key == "auth.district_no_school"
    with pytest.raises(auth.AuthError):
        auth.add_user(data, "ht.s2", "principal", "X", "mat-khau-dai-1", "test", school_id="S 2;")
    auth.set_school(data, "ht.s1", "S2", "test")
    assert auth.get_user(data, "ht.s1").school_id == "S2"
    auth.set_school(data, "ht.s1", None, "test")
    assert auth.get_user(data, "ht.s1").school_id is None
    with pytest.raises(auth.AuthError):
        auth.set_school(data, "phong", "S1", "test")
    actions = [r["action"] for r in records.audit_entries(data)]
    assert actions.count("user_set_school") == 2


def test_cli_users_add_with_school_and_set_school(data, monkeypatch, capsys):
    from csdl import cli

    monkeypatch.setenv("PW", "mat-khau-dai-1")
    assert cli.main(["users", "add", "pho.s2", "--role", "vice_principal", "--name", "Phó S2",
                     "--school", "S2", "--password-env", "PW", "--data", str(data)]) == 0
    assert cli.main(["users", "add", "phong", "--role", "district", "--name", "Phòng",
                     "--password-env", "PW", "--data", str(data)]) == 0
    assert cli.main(["users", "add", "phong2", "--role", "district", "--name", "Phòng",
                     "--school", "S1", "--password-env", "PW", "--data", str(data)]) == 2
    assert cli.main(["users", "set-school", "pho.s2", "S1", "--data", str(data)]) == 0
    capsys.readouterr()
    assert cli.main(["users", "list", "--data", str(data)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "username,name,role,school_id,disabled,demo"
    assert "pho.s2,Phó S2,vice_principal,S1,0,0" in listed
    assert "phong,Phòng,district,,0,0" in listed
