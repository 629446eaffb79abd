"""Users, passwords and sign-in checks (no Streamlit here; `auth_ui.py` draws the form).

Credentials live in `<data>/auth/users.yaml` in streamlit-authenticator's own format, with bcrypt
hashes written once (no plaintext, auto_hash off), file mode 0600, outside git. The cookie key is
random, made at first set-up, kept in the same file. Failed sign-ins are counted in app.db so a
restart does not reset the lockout.
"""
from __future__ import annotations

import copy
import functools
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import bcrypt
import yaml

from . import records
from .access import DISTRICT, ROLES
from .timeutil import now_local

MIN_PASSWORD_LENGTH = 10
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
DEFAULT_COOKIE_EXPIRY_DAYS = 1.0
COOKIE_NAME = "csdl_giam_sat"
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")

# One account per role, created with the demo school only (never in a real installation).
DEMO_ACCOUNTS = (
    ("hieutruong", "principal", "Hiệu trưởng (mẫu)", "hieutruong-demo"),
    ("phohieutruong", "vice_principal", "Phó hiệu trưởng (mẫu)", "phohieutruong-demo"),
    ("quantri", "admin", "Quản trị (mẫu)", "quantri-demo"),
    ("trinhchieu", "viewer", "Màn hình họp (mẫu)", "trinhchieu-demo"),
    ("phonggd", "district", "Cán bộ phòng GD&ĐT (mẫu)", "phonggd-demo"),
)
DEMO_SCHOOL = "DEMO01"  # the school the demo's school accounts belong to
SCHOOL_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")

_ATTEMPTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS login_attempt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    at TEXT NOT NULL,
    success INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempt_user ON login_attempt (username, at);
"""


def hash_password(password: str) -> str:
    """bcrypt, as streamlit-authenticator's Hasher writes it (without importing Streamlit)."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("utf-8")


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed.encode("utf-8"))
    except ValueError:  # not a bcrypt hash
        return False


class AuthError(Exception):
    """A user operation that cannot be done; the message says why (message key + params)."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class User:
    username: str
    name: str
    roles: tuple[str, ...]
    disabled: bool
    demo: bool
    school_id: str | None = None  # the school of a school role; None for the district role


def allowed_schools(roles: tuple[str, ...] | list[str], school_id: str | None,
                    snapshot_schools: list[str]) -> list[str]:
    """The schools of a snapshot an account may see. The district role: all of them. A school
    role: its own school. A school account without a school (made before schools were bound):
    the only school when the snapshot holds exactly one, else none (an administrator must set
    its school with `users set-school`)."""
    if DISTRICT in roles:
        return list(snapshot_schools)
    if not roles:
        return []
    if school_id is not None:
        return [school_id] if school_id in snapshot_schools else []
    return list(snapshot_schools) if len(snapshot_schools) == 1 else []


def users_file(data_dir: Path | str) -> Path:
    return Path(data_dir) / "auth" / "users.yaml"


def _write_config(data_dir: Path | str, config: dict) -> None:
    """Write atomically with mode 0600 (created that way, never readable by others)."""
    path = users_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".users-{os.getpid()}-{secrets.token_hex(4)}.yaml")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh, allow_unicode=True, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_config(data_dir: Path | str) -> dict:
    """The users file; made on first use with a fresh random cookie key and no users."""
    path = users_file(data_dir)
    if not path.exists():
        config = {
            "cookie": {"name": COOKIE_NAME, "key": secrets.token_hex(32),
                       "expiry_days": DEFAULT_COOKIE_EXPIRY_DAYS},
            "credentials": {"usernames": {}},
        }
        _write_config(data_dir, config)
        return config
    st = path.stat()
    # Every page run reads the accounts several times: parse once per version of the file.
    return copy.deepcopy(_parsed_config(str(path), st.st_mtime_ns, st.st_size, st.st_ino))


@functools.lru_cache(maxsize=8)
def _parsed_config(path: str, mtime_ns: int, size: int, inode: int) -> dict:
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    config.setdefault("credentials", {}).setdefault("usernames", {})
    config["credentials"]["usernames"] = config["credentials"]["usernames"] or {}
    return config


def list_users(data_dir: Path | str) -> list[User]:
    users = load_config(data_dir)["credentials"]["usernames"]
    return [_user(u, d) for u, d in sorted(users.items())]


def _user(username: str, d: dict) -> User:
    return User(username, d.get("name", username), tuple(d.get("roles") or ()),
                bool(d.get("disabled")), bool(d.get("demo")), d.get("school_id") or None)


def get_user(data_dir: Path | str, username: str | None) -> User | None:
    """The account as users.yaml holds it now (None when there is no such account)."""
    d = load_config(data_dir)["credentials"]["usernames"].get(username or "")
    return None if d is None else _user(username, d)


def _check_school(role: str, school_id: str | None) -> str | None:
    school_id = (school_id or "").strip() or None
    if role == DISTRICT and school_id is not None:
        raise AuthError("auth.district_no_school")
    if school_id is not None and not SCHOOL_ID_RE.match(school_id):
        raise AuthError("auth.bad_school", school=school_id)
    return school_id


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError("auth.password_too_short", n=MIN_PASSWORD_LENGTH)


def add_user(data_dir: Path | str, username: str, role: str, name: str, password: str,
             actor: str | None, demo: bool = False, school_id: str | None = None) -> None:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AuthError("auth.bad_username")
    if role not in ROLES:
        raise AuthError("auth.bad_role", role=role, roles=", ".join(ROLES))
    if not name.strip():
        raise AuthError("auth.name_required")
    school_id = _check_school(role, school_id)
    check_password_rules(password)
    config = load_config(data_dir)
    users = config["credentials"]["usernames"]
    if username in users:
        raise AuthError("auth.user_exists", username=username)
    users[username] = {"name": name.strip(), "password": hash_password(password),
                       "roles": [role], "disabled": False, "demo": demo}
    if school_id is not None:
        users[username]["school_id"] = school_id
    _write_config(data_dir, config)
    records.audit(data_dir, actor, "user_add", username=username, role=role, demo=demo,
                  school_id=school_id)


def set_school(data_dir: Path | str, username: str, school_id: str | None,
               actor: str | None) -> None:
    """Bind a school account to its school (None: unbind)."""
    user = get_user(data_dir, username)
    if user is None:
        raise AuthError("auth.no_such_user", username=username)
    school_id = _check_school(user.roles[0] if user.roles else "", school_id)
    config = load_config(data_dir)
    entry = config["credentials"]["usernames"][username]
    if school_id is None:
        entry.pop("school_id", None)
    else:
        entry["school_id"] = school_id
    _write_config(data_dir, config)
    records.audit(data_dir, actor, "user_set_school", username=username, school_id=school_id)


def _change_user(data_dir: Path | str, username: str, actor: str | None, action: str,
                 **changes: object) -> None:
    config = load_config(data_dir)
    user = config["credentials"]["usernames"].get(username)
    if user is None:
        raise AuthError("auth.no_such_user", username=username)
    user.update(changes)
    _write_config(data_dir, config)
    records.audit(data_dir, actor, action, username=username)


def disable_user(data_dir: Path | str, username: str, actor: str | None) -> None:
    _change_user(data_dir, username, actor, "user_disable", disabled=True)


def enable_user(data_dir: Path | str, username: str, actor: str | None) -> None:
    _change_user(data_dir, username, actor, "user_enable", disabled=False)


def reset_password(data_dir: Path | str, username: str, password: str, actor: str | None) -> None:
    check_password_rules(password)
    _change_user(data_dir, username, actor, "user_reset_password", password=hash_password(password))
    with records.connect(data_dir) as con:  # a new password lifts a lockout
        con.executescript(_ATTEMPTS_SCHEMA)
        con.execute("INSERT INTO login_attempt (username, at, success) VALUES (?, ?, 1)",
                    (username, now_local().isoformat(sep=" ")))


def locked_until(data_dir: Path | str, username: str, now: datetime | None = None) -> datetime | None:
    """When ≥ 5 failures fall within 15 minutes (after the last success), refuse for 15 minutes."""
    now = now or now_local()
    with records.connect(data_dir) as con:
        con.executescript(_ATTEMPTS_SCHEMA)
        rows = con.execute(
            "SELECT at, success FROM login_attempt WHERE username = ? AND at >= ? ORDER BY at",
            (username, (now - FAILURE_WINDOW - LOCKOUT).isoformat(sep=" "))).fetchall()
    failures: list[datetime] = []
    for at, success in rows:
        if success:
            failures = []
        else:
            failures.append(datetime.fromisoformat(at))
    for i in range(len(failures) - MAX_FAILURES + 1):
        window = failures[i:i + MAX_FAILURES]
        if window[-1] - window[0] <= FAILURE_WINDOW and now < window[-1] + LOCKOUT:
            return window[-1] + LOCKOUT
    return None


def sign_in(data_dir: Path | str, username: str, password: str, demo_allowed: bool,
            now: datetime | None = None) -> User:
    """Check a sign-in; record it and audit it whatever the outcome. Raises AuthError."""
    now = now or now_local()
    username = (username or "").strip().lower()
    until = locked_until(data_dir, username, now)
    if until is not None:
        records.audit(data_dir, username, "sign_in_refused_locked")
        raise AuthError("auth.locked", until=until.strftime("%H:%M"))
    user = load_config(data_dir)["credentials"]["usernames"].get(username)
    ok = (user is not None and not user.get("disabled")
          and (demo_allowed or not user.get("demo"))
          and check_password(password or "", user.get("password", "")))
    with records.connect(data_dir) as con:
        con.executescript(_ATTEMPTS_SCHEMA)
        con.execute("INSERT INTO login_attempt (username, at, success) VALUES (?, ?, ?)",
                    (username, now.isoformat(sep=" "), int(ok)))
    records.audit(data_dir, username, "sign_in" if ok else "sign_in_failed")
    if not ok:
        raise AuthError("auth.bad_credentials")
    return _user(username, user)


def ensure_demo_users(data_dir: Path | str) -> None:
    """The demo accounts: the school ones belong to DEMO01, `phonggd` is the district's."""
    existing = {u.username: u for u in list_users(data_dir)}
    for username, role, name, password in DEMO_ACCOUNTS:
        school = None if role == DISTRICT else DEMO_SCHOOL
        if username not in existing:
            add_user(data_dir, username, role, name, password, actor="demo", demo=True,
                     school_id=school)
        elif existing[username].demo and existing[username].school_id != school:
            set_school(data_dir, username, school, actor="demo")


def authenticator_credentials(data_dir: Path | str, demo_allowed: bool) -> dict:
    """What streamlit-authenticator may restore from a cookie: enabled accounts only."""
    users = load_config(data_dir)["credentials"]["usernames"]
    return {"usernames": {u: {"name": d.get("name", u), "password": d["password"],
                              "roles": list(d.get("roles") or ())}
                          for u, d in users.items()
                          if not d.get("disabled") and (demo_allowed or not d.get("demo"))}}
