"""The sector database's account register ("Phụ lục 1", DOMAIN.md §7), imported on request,
and the checks the principal makes on it (issue 7).

The school keeps a list of the sector database's accounts: user name, the staff member (code or
name), the permissions and the account's state. It is read from an .xlsx/.xls/.csv with the
columns Tên đăng nhập · Mã cán bộ · Họ tên · Quyền (comma-separated) · Trạng thái, checked
whole — any bad row refuses the file, naming the row and column, and nothing is written — and
stored in app.db (`account_register`), replacing the school's previous register; the import is
audited.

Checks, against the staff list of the chosen snapshot:
- `leaver_account`: an account in use for someone whose status is not working, or who is not
  in the staff list at all;
- `teacher_without_account`: a working teacher with no account in use;
- `unexpected_admin`: an account in use with an administrator permission ("quản trị" or
  "admin") for someone who is neither the principal, a vice-principal, nor the data
  administrator (a job position naming "quản trị", "CSDL", "cơ sở dữ liệu" or "công nghệ
  thông tin", or one of the staff the caller names, e.g. this app's administrators).
An account is in use unless its state says locked, stopped or disabled.
"""
from __future__ import annotations

import sqlite3
import tempfile
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from . import records, scope, staffing
from .i18n import t
from .problems import ImportRefused, Problem, column_letter
from .readers import load_sheets
from .text import fold, nfc
from .timeutil import now_local

# field → the headers it is recognised by (the first is the template's)
HEADERS: dict[str, tuple[str, ...]] = {
    "username": ("Tên đăng nhập", "Tài khoản", "Tên tài khoản", "Username"),
    "staff_id": ("Mã cán bộ", "Mã CB", "Mã giáo viên"),
    "full_name": ("Họ tên", "Họ và tên", "Họ tên cán bộ"),
    "permissions": ("Quyền", "Nhóm quyền", "Phân quyền", "Quyền hạn"),
    "status": ("Trạng thái", "Trạng thái tài khoản"),
}
TEMPLATE_COLUMNS = tuple(h[0] for h in HEADERS.values())
FIELDS = tuple(HEADERS)
HEADER_SCAN_ROWS = 30
CHECKS = ("leaver_account", "teacher_without_account", "unexpected_admin")
IMPORT_ROLES = ("principal", "admin")  # who may replace the register (others only read it)
CHECK_COLUMNS = ["check", "username", "staff_id", "full_name", "job_position", "detail"]
# Folded words of an account state that is not in use.
_INACTIVE = ("khoa", "ngung", "vohieu", "huy", "khonghoatdong", "tamdung", "locked",
             "disabled", "inactive")
_ADMIN = ("quantri", "admin")
_LEADER = ("hieutruong",)  # hiệu trưởng and phó hiệu trưởng
_DATA_ADMIN = ("quantri", "csdl", "cosodulieu", "congnghethongtin", "cntt")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS account_register (
    school_id TEXT NOT NULL,
    "row" INTEGER,              -- the row of the imported file, as Excel numbers it
    username TEXT NOT NULL,
    staff_id TEXT,
    full_name TEXT,
    permissions TEXT,           -- as in the file, comma-separated
    status TEXT,
    file_name TEXT,
    imported_at TEXT NOT NULL,
    imported_by TEXT
);
CREATE INDEX IF NOT EXISTS account_register_school ON account_register (school_id);
"""
REGISTER_COLUMNS = ["row", "username", "staff_id", "full_name", "permissions", "status",
                    "file_name", "imported_at", "imported_by"]


@contextmanager
def _connect(data_dir: Path | str) -> Iterator[sqlite3.Connection]:
    with records.connect(data_dir) as con:
        con.executescript(_SCHEMA)
        yield con


# --- reading a file ------------------------------------------------------------------------
def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return value.strftime("%d/%m/%Y")
    return nfc(value)


_KEYS = {fold(h): field for field, headers in HEADERS.items() for h in headers}


def _header(rows: list[list[object]]) -> tuple[int, dict[str, int]] | None:
    """The first row naming the user name and at least the staff code or name."""
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        for c, value in enumerate(row):
            field = _KEYS.get(fold(value))
            if field and field not in found:
                found[field] = c
        if "username" in found and ({"staff_id", "full_name"} & set(found)):
            return r, found
    return None


def read_register(content: bytes, file_name: str = "phu_luc_1.xlsx") -> pd.DataFrame:
    """Every account of a register file, checked; raises ImportRefused listing every problem
    (row as Excel numbers it, column as 'letter (header)'). Columns: row, username, staff_id,
    full_name, permissions, status."""
    suffix = Path(file_name).suffix.lower() or ".xlsx"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"register{suffix}"
        path.write_bytes(content)
        sheets = load_sheets(path, file_name)
    found = next(((s, h) for s in sheets if (h := _header(s.rows)) is not None), None)
    if found is None:
        raise ImportRefused([Problem(file_name, "account_columns_missing",
                                     sheet=sheets[0].name or None,
                                     params={"columns": ", ".join(TEMPLATE_COLUMNS[:3])})])
    sheet, (header_row, columns) = found
    where = sheet.name or None
    problems: list[Problem] = []
    accounts: list[dict] = []
    first_seen: dict[str, int] = {}

    def column(field: str) -> str:
        return f"{column_letter(columns[field])} ({_text(sheet.cell(header_row, columns[field]))})"

    for r in range(header_row + 1, len(sheet.rows)):
        cells = {f: _text(sheet.cell(r, c)) for f, c in columns.items()}
        if not any(cells.values()):
            continue
        if not cells.get("username"):
            problems.append(Problem(file_name, "account_username_missing", sheet=where,
                                    row=r + 1, column=column("username")))
            continue
        if not cells.get("staff_id") and not cells.get("full_name"):
            field = "staff_id" if "staff_id" in columns else "full_name"
            problems.append(Problem(file_name, "account_staff_missing", sheet=where, row=r + 1,
                                    column=column(field), params={"username": cells["username"]}))
        key = cells["username"].casefold()
        if key in first_seen:
            problems.append(Problem(file_name, "account_duplicate", sheet=where, row=r + 1,
                                    column=column("username"),
                                    params={"username": cells["username"],
                                            "first_row": first_seen[key]}))
        first_seen.setdefault(key, r + 1)
        accounts.append({"row": r + 1, **{f: cells.get(f) or None for f in FIELDS}})
    if not accounts and not problems:
        problems.append(Problem(file_name, "account_no_rows", sheet=where))
    if problems:
        raise ImportRefused(problems)
    out = pd.DataFrame(accounts, columns=["row", *FIELDS])
    return out.astype(object).where(out.notna(), None).astype({"row": int})


def import_register(data_dir: Path | str, school_id: str, content: bytes, actor: str | None,
                    file_name: str = "phu_luc_1.xlsx") -> int:
    """Replace the school's register with the file's accounts, all or none (ImportRefused on
    any problem, nothing written); audited. Returns the number of accounts stored."""
    accounts = read_register(content, file_name)
    stamp = now_local().replace(microsecond=0).isoformat(sep=" ")
    with _connect(data_dir) as con:
        con.execute("DELETE FROM account_register WHERE school_id = ?", (school_id,))
        con.executemany(
            'INSERT INTO account_register (school_id, "row", username, staff_id, full_name, '
            "permissions, status, file_name, imported_at, imported_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(school_id, int(a.row), a.username, a.staff_id, a.full_name, a.permissions,
              a.status, file_name, stamp, actor) for a in accounts.itertuples()])
    records.audit(data_dir, actor, "account_register_import", school_id=school_id,
                  file=file_name, accounts=len(accounts))
    return len(accounts)


def register(data_dir: Path | str, school_id: str) -> pd.DataFrame:
    """The school's stored register (empty when none was imported)."""
    scope.check(school_id)
    if not records.db_path(data_dir).exists():
        return pd.DataFrame(columns=REGISTER_COLUMNS)
    with _connect(data_dir) as con:
        rows = con.execute(
            'SELECT "row", username, staff_id, full_name, permissions, status, file_name, '
            "imported_at, imported_by FROM account_register WHERE school_id = ? "
            'ORDER BY "row"', (school_id,)).fetchall()
    return pd.DataFrame(rows, columns=REGISTER_COLUMNS)


def template() -> bytes:
    """A blank register (.xlsx) with the columns and one example row."""
    from . import exports

    example = pd.DataFrame([("gv.lan", "GV001", "Nguyễn Thị Lan", "Nhập điểm, Xem báo cáo",
                             "Đang hoạt động")], columns=list(TEMPLATE_COLUMNS))
    return exports.workbook([exports.Sheet("Phụ lục 1", example,
                                           "Danh sách tài khoản CSDL ngành (Phụ lục 1)")])


# --- checks ----------------------------------------------------------------------------------
def in_use(status: object) -> bool:
    """An account is in use unless its state says locked, stopped or disabled."""
    key = fold(status) if isinstance(status, str) else ""
    return not any(word in key for word in _INACTIVE)


def permissions(text: object) -> list[str]:
    if not isinstance(text, str):
        return []
    return [p for p in (nfc(part) for part in text.replace(";", ",").split(",")) if p]


def admin_permissions(text: object) -> list[str]:
    """The permissions that give administrator rights ("quản trị", "admin")."""
    return [p for p in permissions(text) if any(w in fold(p) for w in _ADMIN)]


def data_admin_ids(staff: pd.DataFrame, names: Iterable[str]) -> set[str]:
    """Staff ids whose name (folded) is one of `names` — e.g. the names of this app's
    administrators, who are the school's data administrators."""
    wanted = {fold(n) for n in names if isinstance(n, str) and fold(n)}
    return {s for s, n in zip(staff["staff_id"], staff["full_name"])
            if isinstance(n, str) and fold(n) in wanted}


def app_admin_ids(data_dir: Path | str, staff: pd.DataFrame) -> set[str]:
    """Staff ids of this app's enabled administrators (matched by name): the school's data
    administrators, whom administrator rights in the sector database are expected for."""
    from . import auth

    names = [u.name for u in auth.list_users(data_dir) if "admin" in u.roles and not u.disabled]
    return data_admin_ids(staff, names)


def may_administer(job_position: object, staff_id: object, data_admins: set[str]) -> bool:
    key = fold(job_position) if isinstance(job_position, str) else ""
    return (any(w in key for w in _LEADER) or any(w in key for w in _DATA_ADMIN)
            or staff_id in data_admins)


def _v(value: object) -> object:
    """None for a missing value (None, NaN, blank text), else the value."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value if not isinstance(value, str) or value.strip() else None


def _matched(register_df: pd.DataFrame, annotated: pd.DataFrame) -> list[dict]:
    by_id: dict[str, dict] = {}
    by_name: dict[str, dict] = {}
    people = annotated.sort_values("working", ascending=False, kind="stable")
    for person in people.to_dict("records"):
        person = {k: _v(v) for k, v in person.items()}
        by_id.setdefault(fold(person["staff_id"]), person)
        if person["full_name"] and fold(person["full_name"]):
            by_name.setdefault(fold(person["full_name"]), person)
    rows = []
    for account in register_df.to_dict("records"):
        account = {k: _v(v) for k, v in account.items()}
        person = by_id.get(fold(account["staff_id"])) if account.get("staff_id") else None
        if person is None and account.get("full_name"):
            person = by_name.get(fold(account["full_name"]))
        person = person or {}
        rows.append({**account,
                     "matched_id": person.get("staff_id"),
                     "matched_name": person.get("full_name"),
                     "job_position": person.get("job_position"),
                     "position_group": person.get("position_group"),
                     "staff_status": person.get("status"),
                     "working": bool(person.get("working")),
                     "teacher": bool(person.get("teacher")),
                     "in_use": in_use(account.get("status"))})
    return rows


def match(register_df: pd.DataFrame, staff: pd.DataFrame) -> pd.DataFrame:
    """The register with the staff member each account belongs to: by staff code (case and
    spaces aside), else by name when the code is blank or unknown (a working person first).
    Adds: matched_id, matched_name, job_position, position_group, staff_status, working,
    teacher, in_use."""
    annotated = staff if "working" in staff else staffing.annotate(staff, date.today())
    columns = [*register_df.columns, "matched_id", "matched_name", "job_position",
               "position_group", "staff_status", "working", "teacher", "in_use"]
    return pd.DataFrame(_matched(register_df, annotated), columns=columns)


def checks(register_df: pd.DataFrame, staff: pd.DataFrame, lang: str = "vi",
           data_admins: Iterable[str] = ()) -> pd.DataFrame:
    """Every finding of the three checks (CHECKS), columns CHECK_COLUMNS; `detail` is a line
    in `lang`. `staff` is the snapshot's staff list (annotated or not); `data_admins` are
    staff ids allowed administrator rights besides the principal and vice-principals."""
    annotated = staff if "working" in staff else staffing.annotate(staff, date.today())
    admins = set(data_admins)
    matched = _matched(register_df, annotated)
    found = []

    def add(code: str, who: tuple, key: str | None = None, **params) -> None:
        """A finding of `code` for who = (username, staff_id, full_name, job_position)."""
        found.append({"check": code, **dict(zip(CHECK_COLUMNS[1:5], who)),
                      "detail": t(key or f"accounts.{code}.detail", lang, **params)})

    in_use_ = [a for a in matched if a["in_use"]]
    for a in in_use_:
        name = a["matched_name"] or a["full_name"]
        if a["matched_id"] is None:
            add("leaver_account", (a["username"], a["staff_id"], name, None),
                key="accounts.leaver_account.not_listed")
        elif not a["working"]:
            add("leaver_account", (a["username"], a["matched_id"], name, a["job_position"]),
                status=a["staff_status"] or "")
    for a in in_use_:
        rights = admin_permissions(a["permissions"])
        if rights and not may_administer(a["job_position"], a["matched_id"], admins):
            add("unexpected_admin", (a["username"], a["matched_id"] or a["staff_id"],
                                     a["matched_name"] or a["full_name"], a["job_position"]),
                rights=", ".join(rights),
                position=a["job_position"] or t("accounts.position_unknown", lang))
    accounts_of: dict[str, list[dict]] = {}
    for a in matched:
        if a["matched_id"] is not None:
            accounts_of.setdefault(a["matched_id"], []).append(a)
    teachers = annotated[annotated["working"] & annotated["teacher"]]
    for person in teachers.to_dict("records"):
        person = {k: _v(v) for k, v in person.items()}
        own = accounts_of.get(person["staff_id"], [])
        who = (own[0]["username"] if own else None, person["staff_id"], person["full_name"],
               person["job_position"])
        if any(a["in_use"] for a in own):
            continue
        if own:
            add("teacher_without_account", who, key="accounts.teacher_without_account.locked",
                username=own[0]["username"], status=own[0]["status"] or "")
        else:
            add("teacher_without_account", who)
    out = pd.DataFrame(found, columns=CHECK_COLUMNS)
    order = {c: i for i, c in enumerate(CHECKS)}
    return out.sort_values("check", key=lambda s: s.map(order), kind="stable") \
        .reset_index(drop=True)


def summary(found: pd.DataFrame, lang: str = "vi") -> pd.DataFrame:
    """Per check: check, name, description, count (every check, 0 when nothing found)."""
    counts = found["check"].value_counts()
    return pd.DataFrame([{"check": c, "name": t(f"accounts.{c}.name", lang),
                          "description": t(f"accounts.{c}.description", lang),
                          "count": int(counts.get(c, 0))} for c in CHECKS])
