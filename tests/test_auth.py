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
        auth.add_user(data, "ngan", "district", "X", "mat-khau-dai-2", "test")


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
    roles = {u.roles[0] for u in auth.list_users(tmp_path)}
    assert roles == {"principal", "vice_principal", "admin", "viewer"}
    username, _, _, password = auth.DEMO_ACCOUNTS[0]
    assert auth.sign_in(tmp_path, username, password, demo_allowed=True, now=T0)
    with pytest.raises(auth.AuthError):
        auth.sign_in(tmp_path, username, password, demo_allowed=False, now=T0)
    assert auth.authenticator_credentials(tmp_path, demo_allowed=False)["usernames"] == {}
