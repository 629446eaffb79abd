"""Users, passwords, sign-in checks and sign-in tokens (no Streamlit here; `ui.py` draws the form).

Credentials live in `<data>/auth/users.yaml` in streamlit-authenticator's YAML layout, with bcrypt
hashes written once (no plaintext), file mode 0600, outside git. The cookie key is random, made
at first set-up, kept in the same file. In app.db: failed sign-ins (so a restart does not reset
the lockout, and so parallel guesses are counted in one transaction) and each account's session
version (carried in the cookie token; raised by sign-out, password reset, disabling).
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import math
import os
import re
import secrets
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import bcrypt
import yaml

from . import records
from .access import DISTRICT, ROLES
from .timeutil import now_local

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200  # characters; pre-hashing makes any length fit bcrypt's 72 bytes
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
DEFAULT_COOKIE_EXPIRY_DAYS = 1.0
COOKIE_NAME = "csdl_giam_sat"
TOKEN_ALGORITHM = "HS256"  # the only one accepted: `alg=none` or HS512 tokens are refused
MAX_TOKEN_LENGTH = 4096  # a browser cookie cannot be longer; anything longer is not ours
COOKIE_SECURE_ENV = "CSDL_COOKIE_SECURE"  # 1 / 0; unset: Secure when the page is served over HTTPS
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
DEMO_RETIRED_KEY = "demo_retired_at"  # top-level key of users.yaml: the demo accounts never return
SCHOOL_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")

# The most guessed passwords of at least MIN_PASSWORD_LENGTH characters (compared case-folded,
# without surrounding spaces), with the Vietnamese ones seen in school and office accounts.
# Shorter ones are refused by the length rule already. The demo passwords are printed on the
# demo's sign-in page, so they count as common for every real account too.
COMMON_PASSWORDS = frozenset({
    "1234567890", "0123456789", "0987654321", "9876543210", "1234567899", "12345678910",
    "123456789a", "a123456789", "123456789@", "1234567890a", "123456789abc", "123123123123",
    "1234512345", "1122334455", "1qaz2wsx3edc", "1q2w3e4r5t", "1q2w3e4r5t6y", "qwertyuiop",
    "qwerty1234", "qwerty12345", "qwerty123456", "asdfghjkl;", "zxcvbnm123", "abcdefghij",
    "abc1234567", "abcd123456", "abc@123456", "abc@12345678", "aa@123456789", "password12",
    "password123", "password1234", "passw0rd123", "p@ssw0rd123", "p@ssword123", "iloveyou12",
    "iloveyou123", "admin12345", "admin123456", "admin@1234", "admin@123456", "administrator",
    "matkhau123", "matkhau1234", "matkhau@123", "anhyeuem123", "emyeuanh123", "truonghoc123",
    "giaovien123", "tieuhoc123", "hieutruong123", "quantri123", "csdl123456", "vnedu123456",
    "changeme123", "welcome123", "letmein123",
})


def _nfc(text: str) -> str:
    # Vietnamese keyboards send either composed or decomposed accents: one password either way.
    return unicodedata.normalize("NFC", text)


# New hashes are bcrypt over base64(SHA-256(NFC password)): bcrypt reads only 72 bytes (bcrypt 5
# raises ValueError beyond), and 44 base64 bytes hold no NUL. Older hashes (no prefix) are bcrypt
# over the raw UTF-8 password and stay verifiable.
_PREHASH_PREFIX = "sha256+"


def _prehashed(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(_nfc(password).encode("utf-8")).digest())


def hash_password(password: str) -> str:
    return _PREHASH_PREFIX + bcrypt.hashpw(_prehashed(password), bcrypt.gensalt()).decode("ascii")


def check_password(password: str, hashed: str) -> bool:
    try:
        if hashed.startswith(_PREHASH_PREFIX):
            return bcrypt.checkpw(_prehashed(password),
                                  hashed[len(_PREHASH_PREFIX):].encode("ascii"))
        raw = password.encode("utf-8")
        if len(raw) > 72:  # an old-style hash was never made from a longer password
            return False
        return bcrypt.checkpw(raw, hashed.encode("utf-8"))
    except (ValueError, TypeError, UnicodeError):  # not a bcrypt hash
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


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


def check_password_rules(password: str, username: str | None = None, demo: bool = False) -> None:
    """Length 10–200 characters; not one repeated character (ten spaces); not the username;
    not a common password (nor, for a real account, a demo password)."""
    password = _nfc(password or "")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError("auth.password_too_short", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError("auth.password_too_long", n=MAX_PASSWORD_LENGTH)
    folded = password.strip().casefold()
    if len(set(password)) == 1 or not folded:
        raise AuthError("auth.password_one_char")
    if username and folded == username.strip().casefold():
        raise AuthError("auth.password_is_username")
    demo_passwords = {pw for *_, pw in DEMO_ACCOUNTS}
    if folded in COMMON_PASSWORDS or (not demo and folded in demo_passwords):
        raise AuthError("auth.password_common")


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
    check_password_rules(password, username, demo=demo)
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
    revoke_sessions(data_dir, username)  # its open sessions end at their next run


def enable_user(data_dir: Path | str, username: str, actor: str | None) -> None:
    _change_user(data_dir, username, actor, "user_enable", disabled=False)


def reset_password(data_dir: Path | str, username: str, password: str, actor: str | None) -> None:
    user = get_user(data_dir, username)
    check_password_rules(password, username, demo=user is not None and user.demo)
    _change_user(data_dir, username, actor, "user_reset_password", password=hash_password(password))
    revoke_sessions(data_dir, username)  # cookies issued with the old password stop working
    with records.connect(data_dir) as con:  # a new password lifts a lockout
        con.executescript(_ATTEMPTS_SCHEMA)
        con.execute("INSERT INTO login_attempt (username, at, success) VALUES (?, ?, 1)",
                    (username, now_local().isoformat(sep=" ")))


# --- the lockout -----------------------------------------------------------------------------

_ATTEMPTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS login_attempt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    at TEXT NOT NULL,
    success INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempt_user ON login_attempt (username, at);
"""


def _locked_until(con: sqlite3.Connection, username: str, now: datetime) -> datetime | None:
    rows = con.execute(
        "SELECT at, success FROM login_attempt WHERE username = ? AND at >= ? ORDER BY at, id",
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


def locked_until(data_dir: Path | str, username: str, now: datetime | None = None) -> datetime | None:
    """When ≥ 5 failures fall within 15 minutes (after the last success), refuse for 15 minutes."""
    now = now or now_local()
    with records.connect(data_dir) as con:
        con.executescript(_ATTEMPTS_SCHEMA)
        return _locked_until(con, username, now)


def _reserve_attempt(data_dir: Path | str, username: str, now: datetime) -> int | datetime:
    """Count the recent failures and, unless locked, record this attempt as a failure, in one
    write transaction (BEGIN IMMEDIATE: one process or thread at a time, across processes).
    Guesses sent in parallel are thus counted before any bcrypt runs: the sixth is refused.
    Returns the attempt's row id, or the time the lockout ends."""
    with records.connect(data_dir) as con:
        con.executescript(_ATTEMPTS_SCHEMA)
        con.execute("BEGIN IMMEDIATE")
        until = _locked_until(con, username, now)
        if until is not None:
            return until
        return con.execute("INSERT INTO login_attempt (username, at, success) VALUES (?, ?, 0)",
                           (username, now.isoformat(sep=" "))).lastrowid


def sign_in(data_dir: Path | str, username: str, password: str, demo_allowed: bool,
            now: datetime | None = None) -> User:
    """Check a sign-in; record it and audit it whatever the outcome. Raises AuthError."""
    now = now or now_local()
    username = (username or "").strip().lower()
    password = password or ""
    reserved = _reserve_attempt(data_dir, username, now)
    if isinstance(reserved, datetime):
        records.audit(data_dir, username, "sign_in_refused_locked")
        raise AuthError("auth.locked", until=reserved.strftime("%H:%M"))
    user = load_config(data_dir)["credentials"]["usernames"].get(username)
    usable = (user is not None and not user.get("disabled")
              and (demo_allowed or not user.get("demo")))
    # bcrypt runs whatever the account, so the time taken does not tell which usernames exist.
    hashed = user.get("password", "") if usable else _dummy_hash()
    ok = check_password(password, str(hashed)) and usable
    if ok:
        with records.connect(data_dir) as con:
            con.execute("UPDATE login_attempt SET success = 1 WHERE id = ?", (reserved,))
    records.audit(data_dir, username, "sign_in" if ok else "sign_in_failed")
    if not ok:
        raise AuthError("auth.bad_credentials")
    return _user(username, user)


# --- session versions and cookie tokens ------------------------------------------------------

_SESSION_SCHEMA = """
CREATE TABLE IF NOT EXISTS session_version (
    username TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
"""


def session_version(data_dir: Path | str, username: str) -> int:
    """The account's session version (0 until its first sign-out or reset). Raises
    sqlite3.Error when app.db cannot be read (callers decide what that means)."""
    path = records.db_path(data_dir)
    if not path.exists():
        return 0
    con = sqlite3.connect(path, timeout=records.BUSY_TIMEOUT_MS / 1000)
    try:
        row = con.execute("SELECT version FROM session_version WHERE username = ?",
                          (username,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    finally:
        con.close()
    return int(row[0]) if row else 0


def revoke_sessions(data_dir: Path | str, username: str) -> int:
    """Raise the account's session version: every cookie and open session issued before ends."""
    with records.connect(data_dir) as con:
        con.executescript(_SESSION_SCHEMA)
        con.execute("INSERT INTO session_version (username, version) VALUES (?, 1) "
                    "ON CONFLICT (username) DO UPDATE SET version = version + 1", (username,))
        return con.execute("SELECT version FROM session_version WHERE username = ?",
                           (username,)).fetchone()[0]


def sign_out(data_dir: Path | str, username: str | None) -> None:
    """Sign out: the account's cookies (in this browser and any other) stop working."""
    if username:
        revoke_sessions(data_dir, username)
    records.audit(data_dir, username, "sign_out")


def issue_token(data_dir: Path | str, username: str, version: int,
                now: datetime | None = None) -> str:
    """The cookie's value: HS256 over the username, the expiry and the session version."""
    import jwt

    cookie = load_config(data_dir)["cookie"]
    expires = (now or datetime.now()) + timedelta(days=float(cookie["expiry_days"]))
    return jwt.encode({"username": username, "exp_date": expires.timestamp(), "sv": int(version)},
                      str(cookie["key"]), algorithm=TOKEN_ALGORITHM)


def user_from_token(data_dir: Path | str, token: object,
                    now: datetime | None = None) -> tuple[User, int] | None:
    """The account a cookie signs in, with its session version; None for anything else —
    another key or algorithm (`none`, HS512…), a malformed or expired token, an old session
    version, a disabled, unknown or retired demo account. Never raises: a bad cookie only
    leaves the visitor signed out."""
    import jwt

    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        if jwt.get_unverified_header(token).get("alg") != TOKEN_ALGORITHM:
            return None
        claims = jwt.decode(token, str(load_config(data_dir)["cookie"]["key"]),
                            algorithms=[TOKEN_ALGORITHM])
    except Exception:  # noqa: BLE001 - whatever a forged cookie holds, it only fails to sign in
        return None
    username, expires, version = (claims.get("username"), claims.get("exp_date"),
                                  claims.get("sv", 0))
    if (not isinstance(username, str) or isinstance(expires, bool)
            or not isinstance(expires, (int, float)) or not math.isfinite(expires)
            or isinstance(version, bool) or not isinstance(version, int)):
        return None
    if expires <= (now or datetime.now()).timestamp():
        return None
    return session_check(data_dir, username, version)


def session_check(data_dir: Path | str, username: str | None,
                  version: int) -> tuple[User, int] | None:
    """(the account, its version) while a session of `version` is still good: the account
    exists, is enabled, is not a demo account outside a demo installation, and has not been
    signed out or reset since. None otherwise, or when app.db cannot be read."""
    d = load_config(data_dir)["credentials"]["usernames"].get(username or "")
    if d is None or d.get("disabled") or (d.get("demo") and not demo_allowed(data_dir)):
        return None
    try:
        current = session_version(data_dir, username)
    except sqlite3.Error:
        return None
    return (_user(username, d), current) if current == version else None


def cookie_secure(url: str | None, forwarded_proto: str | None,
                  setting: str | None = None) -> bool:
    """Whether the cookie gets Secure (sent over HTTPS only). `CSDL_COOKIE_SECURE` = 1 / 0
    decides; unset, Secure when the browser's address is https:// or a proxy in front says
    X-Forwarded-Proto: https (over plain HTTP a Secure cookie would not be stored at all)."""
    choice = (setting or "").strip().lower()
    if choice in {"1", "true", "yes", "on"}:
        return True
    if choice in {"0", "false", "no", "off"}:
        return False
    proto = (forwarded_proto or "").split(",")[0].strip().lower()
    return (url or "").lower().startswith("https://") or proto == "https"


# --- demo accounts ---------------------------------------------------------------------------

def demo_retired(data_dir: Path | str) -> bool:
    return bool(load_config(data_dir).get(DEMO_RETIRED_KEY))


def demo_allowed(data_dir: Path | str) -> bool:
    """Demo accounts sign in only in a demo installation: its demo accounts were never retired
    and every snapshot was made by the demo (one real import is enough to end it, whatever
    the snapshots' dates)."""
    from . import snapshots

    if demo_retired(data_dir):
        return False
    found, _ = snapshots.list_snapshots(data_dir)
    return bool(found) and all(s.source == "demo" for s in found)


def ensure_demo_users(data_dir: Path | str) -> None:
    """The demo accounts: the school ones belong to DEMO01, `phonggd` is the district's.
    Never in an installation that has retired them or holds a real import."""
    from . import snapshots

    if demo_retired(data_dir):
        return
    found, _ = snapshots.list_snapshots(data_dir)
    if any(s.source != "demo" for s in found):
        return
    existing = {u.username: u for u in list_users(data_dir)}
    for username, role, name, password in DEMO_ACCOUNTS:
        school = None if role == DISTRICT else DEMO_SCHOOL
        if username not in existing:
            add_user(data_dir, username, role, name, password, actor="demo", demo=True,
                     school_id=school)
        elif existing[username].demo and existing[username].school_id != school:
            set_school(data_dir, username, school, actor="demo")


def retire_demo_accounts(data_dir: Path | str, actor: str | None = "import") -> list[str]:
    """Remove the demo accounts for good (call on the first real import): their passwords are
    public. users.yaml keeps `demo_retired_at`, so `ensure_demo_users` never makes them again;
    their session versions are raised, so no demo cookie signs in a later account of the same
    name. Returns the usernames removed (none when already retired)."""
    config = load_config(data_dir)
    users = config["credentials"]["usernames"]
    gone = sorted(u for u, d in users.items() if d.get("demo"))
    if config.get(DEMO_RETIRED_KEY) and not gone:
        return []
    for username in gone:
        del users[username]
    config.setdefault(DEMO_RETIRED_KEY, now_local().isoformat(sep=" ", timespec="seconds"))
    _write_config(data_dir, config)
    for username in gone:
        revoke_sessions(data_dir, username)
    records.audit(data_dir, actor, "demo_accounts_retired", usernames=gone)
    return gone


def authenticator_credentials(data_dir: Path | str, demo_allowed: bool) -> dict:
    """The enabled accounts (streamlit-authenticator's credentials layout)."""
    users = load_config(data_dir)["credentials"]["usernames"]
    return {"usernames": {u: {"name": d.get("name", u), "password": d["password"],
                              "roles": list(d.get("roles") or ())}
                          for u, d in users.items()
                          if not d.get("disabled") and (demo_allowed or not d.get("demo"))}}
