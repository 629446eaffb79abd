"""The lock schedule ("Phụ lục 2") and the lock / unlock events, kept in app.db, and the lock
state they imply for a class: locked or not, since when, by whom and why (DOMAIN.md §6).

The schedule gives, per school year and period, the day entry opens, the entry deadline and the
lock day; a row without a grade is the whole school, a row for a grade overrides it for that
grade. Each school keeps its own schedule ("the principal decides"): rows with a `school_id`
are that school's, rows without one are the shared schedule (the demo's, a district calendar,
an installation from before schools had their own). A school follows the shared rows of a year
until it first edits that year: then the shared rows are copied to it (copy-on-write, in the
same transaction), it is marked as keeping its own schedule for the year (`lock_schedule_own`)
and the edit applies to its copy only. The mark, not the rows, decides, so a school that
deletes its last row has an empty schedule, not the shared one again; `use_shared` undoes it.

Events record what was actually done (lock or unlock, for the school, a grade or a class). The
latest event covering a class decides its state; the schedule decides only where no event
applies. Times are naive local time (Asia/Ho_Chi_Minh), like everywhere in the app.
"""
from __future__ import annotations

import io
import sqlite3
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Iterator

import pandas as pd
import python_calamine
import xlsxwriter

from . import records, rules
from . import scope as schools_scope  # `scope` here is a lock's scope (school/grade/class)
from .i18n import fmt_date, t
from .problems import ImportRefused, Problem, column_letter
from .text import fold, nfc
from .timeutil import now_local

DATE_FIELDS = ("opens", "deadline", "lock")
ACTIONS = ("lock", "unlock")
SCOPES = ("school", "grade", "class")
SHEET_NAME = "Lịch khóa sổ"
EXPORT_HEADERS = {  # field → header of the exported sheet
    "school_year": "Năm học",
    "period": "Đợt",
    "grade": "Khối (để trống = toàn trường)",
    "opens": "Mở nhập",
    "deadline": "Hạn nhập",
    "lock": "Khóa sổ",
}
DEMO_EVENT_TIME = time(17, 0)  # locks are done at the end of the working day

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lock_schedule (
    school_year TEXT NOT NULL,
    period TEXT NOT NULL,
    grade INTEGER,            -- NULL: the whole school; a grade's row overrides it
    opens TEXT NOT NULL,      -- ISO dates
    deadline TEXT NOT NULL,
    lock TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT,
    school_id TEXT            -- whose schedule; NULL: the shared one
);
-- The school years for which a school keeps its own schedule (its rows, even none, replace
-- the shared rows of that year).
CREATE TABLE IF NOT EXISTS lock_schedule_own (
    school_year TEXT NOT NULL,
    school_id TEXT NOT NULL,
    since TEXT NOT NULL,
    made_by TEXT,
    PRIMARY KEY (school_year, school_id)
);
CREATE TABLE IF NOT EXISTS lock_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school_year TEXT NOT NULL,
    period TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('lock', 'unlock')),
    scope TEXT NOT NULL CHECK (scope IN ('school', 'grade', 'class')),
    scope_value TEXT,         -- the grade ('4') or the class_id; NULL for the whole school
    at TEXT NOT NULL,         -- when it was locked or unlocked
    reason TEXT,
    recorded_by TEXT,
    recorded_at TEXT NOT NULL,
    school_id TEXT            -- whose lock; NULL: every school (events from before schools)
);
CREATE INDEX IF NOT EXISTS lock_event_when ON lock_event (school_year, period, at);
"""
# After the migration in _connect (an older lock_schedule has no school_id to index).
# UNIQUE counts NULLs as distinct, so the whole-school row and the shared schedule are kept
# unique through COALESCE: one window per (school year, school or shared, period, grade).
_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS lock_schedule_school_key
    ON lock_schedule (school_year, COALESCE(school_id, ''), period, COALESCE(grade, 0));
"""
# The rows of a school's schedule for a year: its own when it keeps one, else the shared ones
# (the sub-query gives NULL, and `school_id IS NULL` picks the shared rows). Binds the school
# year and the school (None: the shared schedule).
_EFFECTIVE = ("school_id IS (SELECT school_id FROM lock_schedule_own "
              "WHERE school_year = ? AND school_id = ?)")


class ScheduleError(Exception):
    """A schedule row or lock event that cannot be stored. `key` is an i18n message key; the
    params name the row (period, grade) and the field at fault."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params

    @property
    def field(self) -> str | None:
        return self.params.get("field")  # type: ignore[return-value]

    def message(self, lang: str = "vi") -> str:
        """'GK1, khối 4 — Hạn nhập: …': the row and field, then what is wrong."""
        where = []
        period = self.params.get("period")
        if period in rules.PERIODS and "grade" not in self.params:  # a lock event
            where.append(period)
        elif period in rules.PERIODS:  # a schedule row
            grade = self.params["grade"]
            where.append(t("schedule.row_school", lang, period=period) if grade is None
                         else t("schedule.row_grade", lang, period=period, grade=grade))
        if self.field:
            where.append(t(f"schedule.field_{self.field}", lang))
        text = t(self.key, lang, **self.params)
        return f"{' — '.join(where)}: {text}" if where else text


@dataclass(frozen=True)
class LockState:
    locked: bool
    since: datetime | None  # when the state began (the event, or the lock day at 00:00)
    by: str | None  # who recorded the deciding event
    reason: str | None
    source: str | None  # 'event', 'schedule', or None when neither locks it


# --------------------------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------------------------

@contextmanager
def _connect(data_dir: Path | str) -> Iterator[sqlite3.Connection]:
    """One short transaction on app.db, with this module's tables in place."""
    with records.connect(data_dir) as con:
        con.executescript(_SCHEMA)
        for table in ("lock_event", "lock_schedule"):  # tables made before schools had them
            if "school_id" not in {r[1] for r in con.execute(f"PRAGMA table_info({table})")}:
                con.execute(f"ALTER TABLE {table} ADD COLUMN school_id TEXT")
        # The old key (one row per year, period and grade) would refuse a school's own row.
        if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' "
                       "AND name = 'lock_schedule_key'").fetchone():
            con.execute("DROP INDEX lock_schedule_key")
        con.executescript(_INDEXES)
        yield con


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat(sep=" ")


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

def year_bounds(school_year: str) -> tuple[date, date]:
    """1 August of the first year to 31 July of the second."""
    first, second = rules.parse_school_year(school_year)
    return date(first, 8, 1), date(second, 7, 31)


def window_problems(school_year: str, period: object, grade: object, opens: date | None,
                    deadline: date | None, lock: date | None) -> list[ScheduleError]:
    """Everything wrong with one schedule row (empty when it may be stored)."""
    row = {"period": period if period in rules.PERIODS else None, "grade": grade}
    problems: list[ScheduleError] = []
    try:
        first_day, last_day = year_bounds(school_year)
    except (ValueError, AttributeError):
        problems.append(ScheduleError("problem.schedule_bad_year", field="school_year",
                                      value=school_year, **row))
        first_day = last_day = None
    if period not in rules.PERIODS:
        problems.append(ScheduleError("problem.schedule_bad_period", field="period",
                                      value=period, **row))
    if grade is not None and grade not in rules.GRADES:
        problems.append(ScheduleError("problem.schedule_bad_grade", field="grade",
                                      value=grade, **row))
    dates = {"opens": opens, "deadline": deadline, "lock": lock}
    for name, value in dates.items():
        if value is None:
            problems.append(ScheduleError("problem.schedule_date_missing", field=name, **row))
        elif first_day and not first_day <= value <= last_day:
            problems.append(ScheduleError(
                "problem.schedule_outside_year", field=name, value=fmt_date(value),
                year=school_year, first=fmt_date(first_day), last=fmt_date(last_day), **row))
    if opens and deadline and deadline < opens:
        problems.append(ScheduleError("problem.schedule_deadline_before_opens", field="deadline",
                                      deadline=fmt_date(deadline), opens=fmt_date(opens), **row))
    if deadline and lock and lock < deadline:
        problems.append(ScheduleError("problem.schedule_lock_before_deadline", field="lock",
                                      lock=fmt_date(lock), deadline=fmt_date(deadline), **row))
    return problems


# --------------------------------------------------------------------------------------------
# The schedule
# --------------------------------------------------------------------------------------------

def _whole_number(grade: object) -> object:
    """4, 4.0, '4' and numpy integers → 4; None or NA → None; anything else is left as it is,
    for validation to refuse."""
    if grade is None or (not isinstance(grade, str) and pd.isna(grade)):
        return None
    try:
        number = float(grade)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return grade
    return int(number) if number.is_integer() else grade


def _check_reader(school_id: str | None) -> None:
    """A school's schedule is read only within the caller's schools; the shared one by anyone."""
    if school_id is not None:
        schools_scope.check(school_id)


def _check_writer(school_id: str | None) -> None:
    """A school's schedule is written only within the caller's schools; the shared schedule only
    by an unrestricted caller (the library as the CLI, the demo and tests use it), never from a
    signed-in page, whose scope is always set."""
    if school_id is None:
        if schools_scope.current() is not None:
            raise schools_scope.ScopeError(None)
    else:
        schools_scope.check(school_id)


def _make_own(con: sqlite3.Connection, school_year: str, school_id: str | None,
              actor: str | None) -> int | None:
    """Before a school's first edit of a year: mark the year as its own and copy the shared
    rows to it, in the caller's transaction (the mark's INSERT takes the write lock, so two
    writers cannot both copy). Returns the rows copied, None when nothing was to be done (the
    shared schedule itself, or a school that already keeps its own)."""
    if school_id is None:
        return None
    made = con.execute(
        "INSERT OR IGNORE INTO lock_schedule_own (school_year, school_id, since, made_by) "
        "VALUES (?, ?, ?, ?)", (school_year, school_id, _stamp(now_local()), actor)).rowcount
    if not made:
        return None
    # Rows without the mark (none unless written by hand) would collide with the copy.
    con.execute("DELETE FROM lock_schedule WHERE school_year = ? AND school_id = ?",
                (school_year, school_id))
    return con.execute(
        "INSERT INTO lock_schedule (school_year, period, grade, opens, deadline, lock, "
        "updated_at, updated_by, school_id) "
        "SELECT school_year, period, grade, opens, deadline, lock, updated_at, updated_by, ? "
        "FROM lock_schedule WHERE school_year = ? AND school_id IS NULL",
        (school_id, school_year)).rowcount


def set_window(data_dir: Path | str, school_year: str, period: str, grade: int | None,
               opens: date, deadline: date, lock: date, actor: str | None, *,
               school_id: str | None = None) -> None:
    """Store one row of a school's schedule (None: the shared schedule), replacing the same
    school year, period and grade. A school's first edit of a year starts from a copy of the
    shared rows. Raises ScheduleError (ScopeError for a school outside the caller's)."""
    _check_writer(school_id)
    grade = _whole_number(grade)
    problems = window_problems(school_year, period, grade, opens, deadline, lock)
    if problems:
        raise problems[0]
    with _connect(data_dir) as con:
        copied = _make_own(con, school_year, school_id, actor)
        previous = con.execute(
            "DELETE FROM lock_schedule WHERE school_year = ? AND period = ? AND grade IS ? "
            "AND school_id IS ? RETURNING opens, deadline, lock",
            (school_year, period, grade, school_id)).fetchone()
        _insert_window(con, school_year, period, grade, opens, deadline, lock, actor, school_id)
    records.audit(data_dir, actor, "schedule_set", school_id=school_id, school_year=school_year,
                  period=period, grade=grade, opens=opens, deadline=deadline, lock=lock,
                  previous=dict(zip(DATE_FIELDS, previous)) if previous else None,
                  **({} if copied is None else {"copied_shared": copied}))


def _insert_window(con: sqlite3.Connection, school_year: str, period: str, grade: int | None,
                   opens: date, deadline: date, lock: date, actor: str | None,
                   school_id: str | None) -> None:
    con.execute(
        "INSERT INTO lock_schedule (school_year, period, grade, opens, deadline, lock, "
        "updated_at, updated_by, school_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (school_year, period, grade, opens.isoformat(), deadline.isoformat(), lock.isoformat(),
         _stamp(now_local()), actor, school_id))


def delete_window(data_dir: Path | str, school_year: str, period: str, grade: int | None,
                  actor: str | None, *, school_id: str | None = None) -> bool:
    """Remove one row of a school's schedule (None: of the shared schedule); False when there
    was none (nothing is written or audited then). A school that follows the shared schedule
    first gets its own copy, so the other schools keep the row."""
    _check_writer(school_id)
    grade = _whole_number(grade)
    with _connect(data_dir) as con:
        con.execute("BEGIN IMMEDIATE")  # the check and the copy see the same rows
        effective = con.execute(
            f"SELECT 1 FROM lock_schedule WHERE school_year = ? AND period = ? AND grade IS ? "
            f"AND {_EFFECTIVE}", (school_year, period, grade, school_year, school_id)).fetchone()
        if effective is None:
            return False
        copied = _make_own(con, school_year, school_id, actor)
        removed = con.execute(
            "DELETE FROM lock_schedule WHERE school_year = ? AND period = ? AND grade IS ? "
            "AND school_id IS ? RETURNING opens, deadline, lock",
            (school_year, period, grade, school_id)).fetchone()
    if removed:
        records.audit(data_dir, actor, "schedule_delete", school_id=school_id,
                      school_year=school_year, period=period, grade=grade,
                      **dict(zip(DATE_FIELDS, removed)),
                      **({} if copied is None else {"copied_shared": copied}))
    return removed is not None


def use_shared(data_dir: Path | str, school_year: str, school_id: str,
               actor: str | None) -> bool:
    """Give up a school's own schedule of a year: its rows are removed and it follows the
    shared schedule again. False when it kept none (nothing written or audited)."""
    _check_writer(school_id)
    with _connect(data_dir) as con:
        dropped = con.execute("DELETE FROM lock_schedule_own WHERE school_year = ? "
                              "AND school_id = ?", (school_year, school_id)).rowcount
        rows = con.execute("DELETE FROM lock_schedule WHERE school_year = ? AND school_id = ?",
                           (school_year, school_id)).rowcount
    if dropped:
        records.audit(data_dir, actor, "schedule_use_shared", school_id=school_id,
                      school_year=school_year, rows=rows)
    return bool(dropped)


def keeps_own(data_dir: Path | str, school_year: str, school_id: str | None) -> bool:
    """Whether the school keeps its own schedule for the year (else it follows the shared one)."""
    if school_id is None:
        return False
    _check_reader(school_id)
    with _connect(data_dir) as con:
        return con.execute("SELECT 1 FROM lock_schedule_own WHERE school_year = ? "
                           "AND school_id = ?", (school_year, school_id)).fetchone() is not None


def _frame(rows: list[tuple], extra: list[str]) -> pd.DataFrame:
    """Rows (period, grade, opens, deadline, lock, updated_at, updated_by, *extra) in period
    order, the whole-school row before the grades'; dates as datetime.date, grade as nullable
    Int64 (NA = whole school)."""
    df = pd.DataFrame(rows, columns=["period", "grade", *DATE_FIELDS, "updated_at", "updated_by",
                                     *extra], dtype=object)  # None stays None
    for name in DATE_FIELDS:
        df[name] = pd.Series([date.fromisoformat(v) for v in df[name]], dtype=object)
    df["updated_at"] = pd.Series([datetime.fromisoformat(v) for v in df["updated_at"]],
                                 dtype=object)
    df["grade"] = df["grade"].astype("Int64")
    order = df["period"].map(rules.PERIODS.index) * 10 + df["grade"].fillna(0)
    return df.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def windows(data_dir: Path | str, school_year: str, *,
            school_id: str | None = None) -> pd.DataFrame:
    """A school's schedule of a year (its own rows, else the shared ones; None: the shared
    schedule) in period order, the whole-school row before the grades'; dates as
    datetime.date, grade as nullable Int64 (NA = whole school)."""
    _check_reader(school_id)
    with _connect(data_dir) as con:
        rows = con.execute(
            f"SELECT period, grade, opens, deadline, lock, updated_at, updated_by "
            f"FROM lock_schedule WHERE school_year = ? AND {_EFFECTIVE}",
            (school_year, school_year, school_id)).fetchall()
    return _frame(rows, [])


def windows_of_schools(data_dir: Path | str, school_year: str,
                       school_ids: list[str]) -> pd.DataFrame:
    """`windows` of several schools read at once (the district's comparison): a school_id
    column first, then windows' columns, schools in the order given."""
    schools_scope.check_all(school_ids)
    ids = list(dict.fromkeys(school_ids))
    with _connect(data_dir) as con:
        own = {r[0] for r in con.execute(
            f"SELECT school_id FROM lock_schedule_own WHERE school_year = ? "
            f"AND school_id IN ({', '.join('?' * len(ids)) or 'NULL'})", (school_year, *ids))}
        keep = sorted(own)
        rows = con.execute(
            f"SELECT period, grade, opens, deadline, lock, updated_at, updated_by, school_id "
            f"FROM lock_schedule WHERE school_year = ? AND (school_id IS NULL "
            f"OR school_id IN ({', '.join('?' * len(keep)) or 'NULL'}))",
            (school_year, *keep)).fetchall()
    df = _frame(rows, ["school_id"])
    parts = [df[df["school_id"] == s] if s in own else df[df["school_id"].isna()]
             for s in ids]
    out = (pd.concat([p.assign(school_id=s) for p, s in zip(parts, ids)], ignore_index=True)
           if ids else df.iloc[:0])
    return out[["school_id", *df.columns.drop("school_id")]]


def window_for(data_dir: Path | str, school_year: str, period: str,
               grade: int | None, *, school_id: str | None = None
               ) -> tuple[date, date, date] | None:
    """(opens, deadline, lock) for a grade in a school's schedule (None: the shared one): its
    own row, else the whole school's."""
    _check_reader(school_id)
    with _connect(data_dir) as con:
        row = con.execute(
            f"SELECT opens, deadline, lock FROM lock_schedule "
            f"WHERE school_year = ? AND period = ? AND (grade IS NULL OR grade = ?) "
            f"AND {_EFFECTIVE} ORDER BY grade IS NULL LIMIT 1",
            (school_year, period, _whole_number(grade), school_year, school_id)).fetchone()
    return tuple(date.fromisoformat(v) for v in row) if row else None  # type: ignore[return-value]


def fingerprint(data_dir: Path | str, school_id: str) -> str:
    """A digest of every row of any year that the school's windows and lock events are made of
    (its own and the shared ones): it changes with any edit, so cached figures follow at once.
    One query per table, no frames: it is taken on every page run."""
    import hashlib

    _check_reader(school_id)
    digest = hashlib.sha256(school_id.encode())
    with _connect(data_dir) as con:
        for sql in ("SELECT * FROM lock_schedule WHERE school_id IS NULL OR school_id = ? "
                    "ORDER BY rowid",
                    "SELECT * FROM lock_schedule_own WHERE school_id = ? ORDER BY rowid",
                    "SELECT * FROM lock_event WHERE school_id IS NULL OR school_id = ? "
                    "ORDER BY id"):
            digest.update(b"\x1e" + repr(con.execute(sql, (school_id,)).fetchall()).encode())
    return digest.hexdigest()


def school_years(data_dir: Path | str, *, school_id: str | None = None) -> list[str]:
    """The school years app.db holds a schedule or an event for, as the school sees them (the
    shared schedule, its own and its events; None: the shared schedule and the events of
    every school)."""
    _check_reader(school_id)
    with _connect(data_dir) as con:
        rows = con.execute(
            "SELECT school_year FROM lock_schedule WHERE school_id IS NULL OR school_id = ? "
            "UNION SELECT school_year FROM lock_schedule_own WHERE school_id = ? "
            "UNION SELECT school_year FROM lock_event WHERE school_id IS NULL OR school_id = ?",
            (school_id, school_id, school_id)).fetchall()
    return sorted(r[0] for r in rows)


# --------------------------------------------------------------------------------------------
# Excel export and import
# --------------------------------------------------------------------------------------------

def export_excel(data_dir: Path | str, school_year: str, *,
                 school_id: str | None = None) -> bytes:
    """A school's schedule of the year (None: the shared one) as .xlsx: Vietnamese headers,
    dates as dd/mm/yyyy cells."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(SHEET_NAME)
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, list(EXPORT_HEADERS.values()), bold)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, 1, 12)
    sheet.set_column(2, 2, 16)
    sheet.set_column(3, 5, 13)
    for r, row in enumerate(windows(data_dir, school_year, school_id=school_id).itertuples(),
                            start=1):
        sheet.write_string(r, 0, school_year)
        sheet.write_string(r, 1, row.period)
        if not pd.isna(row.grade):
            sheet.write_number(r, 2, int(row.grade))
        for c, name in enumerate(DATE_FIELDS, start=3):
            sheet.write_datetime(r, c, datetime.combine(getattr(row, name), time()), day)
    book.close()
    return buffer.getvalue()


def _period_names() -> dict[str, str]:
    """Folded spellings of each period: code, Vietnamese name (I/1, kỳ/kì), English name."""
    names: dict[str, str] = {}
    for code in rules.PERIODS:
        vi = rules.PERIOD_NAMES_VI[code]
        spellings = {code, vi, vi.replace(" II", " 2").replace(" I", " 1"),
                     rules.PERIOD_NAMES_EN[code]}
        spellings |= {s.replace("kỳ", "kì") for s in spellings}
        names.update({fold(s): code for s in spellings})
    names[fold("Cuối năm")] = "CN"
    return names


_PERIOD_BY_NAME = _period_names()
_HEADER_FIELDS = {
    **{fold(h.split("(")[0]): f for f, h in EXPORT_HEADERS.items()},
    **{fold(f): f for f in EXPORT_HEADERS},  # the English field names
}
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIAL_RANGE = (20000, 60000)  # Excel day numbers ≈ 1954–2064 (DOMAIN.md §4)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_period(value: object) -> str | None:
    """GK1, 'Giữa học kỳ 1', 'Giữa học kỳ I', 'Cuối năm học' … → the code; None if unknown."""
    return _PERIOD_BY_NAME.get(fold(value))


def parse_day(value: object) -> date | None:
    """A date cell, an Excel day number, dd/mm/yyyy or ISO text; None if it is none of them."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        return None
    text = nfc(value)
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text).date()  # '2026-11-10 00:00:00' from a text cell
    except ValueError:
        return None


def _parse_grade(value: object) -> int:
    """1–5 from a number or text ('4', 'Khối 4'); raises ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and int(value) in rules.GRADES:
            return int(value)
        raise ValueError(value)
    digits = fold(value).removeprefix("khoi").removeprefix("lop")
    if digits.isdigit() and int(digits) in rules.GRADES:
        return int(digits)
    raise ValueError(value)


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return fmt_date(value)
    return nfc(value)


def _read_sheet(content: bytes, file_name: str) -> tuple[str, list[list[object]]]:
    """The sheet named like SHEET_NAME, else the first: its name and cell values."""
    if not content.strip():
        raise ImportRefused([Problem(file_name, "file_empty")])
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    except python_calamine.CalamineError:
        raise ImportRefused([Problem(file_name, "not_spreadsheet")]) from None
    names = book.sheet_names
    wanted = next((n for n in names if fold(n) == fold(SHEET_NAME)), names[0] if names else None)
    if wanted is None:
        raise ImportRefused([Problem(file_name, "file_empty")])
    try:
        return wanted, book.get_sheet_by_name(wanted).to_python(skip_empty_area=False)
    except python_calamine.CalamineError as exc:
        raise ImportRefused([Problem(file_name, "file_unreadable",
                                     params={"reason": str(exc)})]) from None


def _find_header(rows: list[list[object]]) -> tuple[int, dict[str, int]] | None:
    """The first row (of the first 20) naming the period and the three dates."""
    for r, row in enumerate(rows[:20]):
        found: dict[str, int] = {}
        for c, value in enumerate(row):
            name = _HEADER_FIELDS.get(fold(str(value).split("(")[0])) if not _blank(value) else None
            if name and name not in found:
                found[name] = c
        if {"period", *DATE_FIELDS} <= set(found):
            return r, found
    return None


def read_excel(content: bytes, school_year: str | None = None,
               file_name: str = "lich_khoa_so.xlsx") -> list[dict]:
    """Every row of a schedule workbook, checked; raises ImportRefused listing every problem
    (row as Excel numbers it, column as 'letter (header)'). Without a Năm học column the rows
    belong to `school_year`; with one, every row must name `school_year` when it is given."""
    sheet, rows = _read_sheet(content, file_name)
    header = _find_header(rows)
    if header is None:
        missing = [EXPORT_HEADERS[f] for f in ("period", *DATE_FIELDS)]
        raise ImportRefused([Problem(file_name, "schedule_columns_missing", sheet=sheet,
                                     params={"columns": ", ".join(missing)})])
    header_row, columns = header
    if "school_year" not in columns and school_year is None:
        raise ImportRefused([Problem(file_name, "schedule_columns_missing", sheet=sheet,
                                     row=header_row + 1,
                                     params={"columns": EXPORT_HEADERS["school_year"]})])

    problems: list[Problem] = []
    parsed: list[dict] = []
    first_seen: dict[tuple, int] = {}

    for r in range(header_row + 1, len(rows)):
        cells = {f: rows[r][c] if c < len(rows[r]) else None for f, c in columns.items()}
        if all(_blank(v) for v in cells.values()):
            continue
        reported: set[str] = set()  # fields of this row already reported: one problem per cell

        def problem(field: str, code: str, **params: object) -> None:
            reported.add(field)
            column = (f"{column_letter(columns[field])} ({EXPORT_HEADERS[field].split(' (')[0]})"
                      if field in columns else None)
            problems.append(Problem(file_name, code, sheet=sheet, row=r + 1, column=column,
                                    params=params))

        raw_year = cells.get("school_year")
        year = school_year if _blank(raw_year) else nfc(raw_year)
        if year is None:
            problem("school_year", "schedule_bad_year", value="")
        elif school_year is not None and year != school_year:
            problem("school_year", "schedule_other_year", value=year, year=school_year)
        period = parse_period(cells["period"])
        if period is None:
            problem("period", "schedule_bad_period", value=_cell_text(cells["period"]))
        grade = None
        if not _blank(cells.get("grade")):
            try:
                grade = _parse_grade(cells["grade"])
            except ValueError:
                problem("grade", "schedule_bad_grade", value=_cell_text(cells["grade"]))
        dates = {}
        for name in DATE_FIELDS:
            dates[name] = None if _blank(cells[name]) else parse_day(cells[name])
            if not _blank(cells[name]) and dates[name] is None:
                problem(name, "schedule_bad_date", value=_cell_text(cells[name]))
        # Then the row's own rules, on what could be read.
        for error in window_problems(year or "", period, grade, **dates):
            if error.field not in reported:
                params = {k: v for k, v in error.params.items() if k != "field"}
                problem(error.field, error.key.removeprefix("problem."), **params)
        key = (year, period, grade)
        if period is not None and key in first_seen:
            problem("period", "schedule_duplicate_row", first_row=first_seen[key])
        first_seen.setdefault(key, r + 1)
        parsed.append({"row": r + 1, "school_year": year, "period": period, "grade": grade,
                       **dates})
    if not parsed and not problems:
        problems.append(Problem(file_name, "schedule_no_rows", sheet=sheet))
    if problems:
        raise ImportRefused(problems)
    return parsed


def import_excel(data_dir: Path | str, content: bytes, actor: str | None,
                 school_year: str | None = None, file_name: str = "lich_khoa_so.xlsx", *,
                 school_id: str | None = None) -> int:
    """Replace a school's schedule (None: the shared one) of the school year(s) in the file,
    all rows or none: every row is checked first and any problem refuses the whole file
    (ImportRefused, nothing written). A school then keeps its own schedule of those years; the
    other schools keep theirs. Returns the number of rows stored."""
    _check_writer(school_id)
    parsed = read_excel(content, school_year, file_name)
    years = sorted({row["school_year"] for row in parsed})
    with _connect(data_dir) as con:
        for year in years:  # the copy is replaced at once; the mark is what matters
            _make_own(con, year, school_id, actor)
            con.execute("DELETE FROM lock_schedule WHERE school_year = ? AND school_id IS ?",
                        (year, school_id))
        for row in parsed:
            _insert_window(con, row["school_year"], row["period"], row["grade"], row["opens"],
                           row["deadline"], row["lock"], actor, school_id)
    records.audit(data_dir, actor, "schedule_import", school_id=school_id, file=file_name,
                  school_years=years, rows=len(parsed))
    return len(parsed)


# --------------------------------------------------------------------------------------------
# Lock events and the lock state
# --------------------------------------------------------------------------------------------

def record_event(data_dir: Path | str, school_year: str, period: str, action: str, scope: str,
                 scope_value: str | int | None, at: datetime, reason: str | None,
                 actor: str | None, *, recorded_by: str | None = None,
                 recorded_at: datetime | None = None, school_id: str | None = None) -> int:
    """Record that a scope was locked or unlocked at `at`; returns the event id.

    An unlock needs a reason (a change after a lock is made only with the principal's
    consent); a grade or class scope needs its grade or class_id. `recorded_by` is whose act
    it was when someone else enters it (the demo); it defaults to `actor`. `school_id` is the
    school whose book it locks (None: every school of the installation).
    """
    if school_id is not None:
        schools_scope.check(school_id)
    def refuse(key: str, field: str, **params: object) -> ScheduleError:
        return ScheduleError(key, field=field, period=period, **params)

    try:
        first_day, last_day = year_bounds(school_year)
    except (ValueError, AttributeError):
        raise refuse("problem.schedule_bad_year", "school_year", value=school_year) from None
    if period not in rules.PERIODS:
        raise refuse("problem.schedule_bad_period", "period", value=period)
    if action not in ACTIONS:
        raise refuse("problem.schedule_bad_action", "action", value=action)
    if scope not in SCOPES:
        raise refuse("problem.schedule_bad_scope", "scope", value=scope)
    if not isinstance(at, datetime):
        raise refuse("problem.schedule_date_missing", "at")
    if not first_day <= at.date() <= last_day:
        raise refuse("problem.schedule_outside_year", "at", value=fmt_date(at), year=school_year,
                     first=fmt_date(first_day), last=fmt_date(last_day))
    value = None if scope == "school" else ("" if scope_value is None else str(scope_value).strip())
    if value == "":
        raise refuse("problem.schedule_scope_value_required", "scope_value")
    if scope == "grade" and not (value.isdigit() and int(value) in rules.GRADES):
        raise refuse("problem.schedule_bad_grade", "scope_value", value=value)
    reason = (reason or "").strip() or None
    if action == "unlock" and reason is None:
        raise refuse("problem.schedule_reason_required", "reason")
    recorded_by = recorded_by or actor
    with _connect(data_dir) as con:
        event_id = con.execute(
            "INSERT INTO lock_event (school_year, period, action, scope, scope_value, at, reason, "
            "recorded_by, recorded_at, school_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (school_year, period, action, scope, value, _stamp(at), reason, recorded_by,
             _stamp(recorded_at or now_local()), school_id)).lastrowid
    records.audit(data_dir, actor, "lock_event", id=event_id, school_id=school_id,
                  school_year=school_year,
                  period=period, event=action, scope=scope, scope_value=value, at=_stamp(at),
                  reason=reason, recorded_by=recorded_by)
    return int(event_id)


_EVENT_COLUMNS = ["id", "school_year", "period", "action", "scope", "scope_value", "at",
                  "reason", "recorded_by", "recorded_at", "school_id"]


def events(data_dir: Path | str, school_year: str, period: str | None = None,
           school_id: str | None = None) -> pd.DataFrame:
    """The school year's lock events (of one period, if given), oldest first; times as datetime.
    With `school_id`, that school's events and those of every school; without, all the events
    of the caller's schools (scope.py)."""
    sql = f"SELECT {', '.join(_EVENT_COLUMNS)} FROM lock_event WHERE school_year = ?"
    params: list[object] = [school_year]
    allowed = schools_scope.current()
    if school_id is not None:
        schools_scope.check(school_id)
        sql += " AND (school_id IS NULL OR school_id = ?)"
        params.append(school_id)
    elif allowed is not None:
        ids = sorted(allowed)
        sql += f" AND (school_id IS NULL OR school_id IN ({', '.join('?' * len(ids)) or 'NULL'}))"
        params += ids
    if period is not None:
        sql += " AND period = ?"
        params.append(period)
    with _connect(data_dir) as con:
        rows = con.execute(sql + " ORDER BY at, id", params).fetchall()
    df = pd.DataFrame(rows, columns=_EVENT_COLUMNS, dtype=object)  # None stays None
    df["id"] = df["id"].astype(int)
    for name in ("at", "recorded_at"):
        df[name] = pd.Series([datetime.fromisoformat(v) for v in df[name]], dtype=object)
    return df


def _covers(event: dict, grade: int | None, class_id: str | None) -> bool:
    if event["scope"] == "school":
        return True
    if event["scope"] == "grade":
        return grade is not None and event["scope_value"] == str(int(grade))
    return class_id is not None and event["scope_value"] == class_id


def decide(period_events: pd.DataFrame | list[dict], window: tuple[date, date, date] | None,
           grade: int | None, class_id: str | None, at: datetime) -> LockState:
    """The lock rule on data already read: the latest event at or before `at` covering the class
    (the later record wins a tie) decides; without one, the schedule's lock day does."""
    if isinstance(period_events, pd.DataFrame):
        period_events = period_events.to_dict("records")
    applying = [e for e in period_events if e["at"] <= at and _covers(e, grade, class_id)]
    if applying:
        latest = max(applying, key=lambda e: (e["at"], e["id"]))
        return LockState(latest["action"] == "lock", latest["at"], latest["recorded_by"],
                         latest["reason"], "event")
    if window is not None and at.date() >= window[2]:
        return LockState(True, datetime.combine(window[2], time()), None, None, "schedule")
    return LockState(False, None, None, None, None)


def lock_state(data_dir: Path | str, school_year: str, period: str, grade: int | None,
               class_id: str | None, at: datetime, school_id: str | None = None) -> LockState:
    """Is this class's grade book locked for the period at `at`; since when, by whom, why.
    With `school_id`, only that school's events (and those of every school) count, and its
    own schedule (else the shared one) gives the lock day."""
    return decide(events(data_dir, school_year, period, school_id),
                  window_for(data_dir, school_year, period, grade, school_id=school_id),
                  grade, class_id, at)


def lock_states(data_dir: Path | str, school_year: str, classes: pd.DataFrame,
                at: datetime, school_id: str | None = None) -> pd.DataFrame:
    """lock_state for every period × class of `classes` (class_id, grade, …) of one school
    (None: the shared schedule and every event), reading app.db once: columns period, the
    columns of `classes`, locked, since, by, reason, source."""
    all_events = events(data_dir, school_year, school_id=school_id)
    schedule = windows(data_dir, school_year, school_id=school_id)
    out = []
    for period in rules.PERIODS:
        # Read once per period, not once per class (a school has ~30 classes).
        period_events = all_events[all_events["period"] == period].to_dict("records")
        rows = schedule[schedule["period"] == period]
        windows_by_grade: dict[int | None, tuple | None] = {}
        for c in classes.to_dict("records"):
            grade = None if pd.isna(c["grade"]) else int(c["grade"])
            if grade not in windows_by_grade:
                # The grade's own row overrides the whole school's (grade 0 sorts first).
                match = rows[rows["grade"].fillna(0).isin([0, grade or 0])]
                windows_by_grade[grade] = (tuple(match.iloc[-1][list(DATE_FIELDS)])
                                           if len(match) else None)
            state = decide(period_events, windows_by_grade[grade], grade, c["class_id"], at)
            out.append({"period": period, **c, **asdict(state)})
    # object columns keep None (not NaN/NaT) for "no lock yet".
    states = pd.DataFrame(out, columns=["period", *classes.columns, "locked", "since", "by",
                                        "reason", "source"], dtype=object)
    return states.astype({"locked": bool})


# --------------------------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------------------------

def demo_events() -> list[dict]:
    """What the demo's administrator did: every lock of 2025-2026 and the GK1 lock of 2026-2027
    on the lock day, then one class opened for a correction three days later and locked again
    the next day (the later CK1 lock is still ahead of the demo's date)."""
    from . import demo

    def at(day: date) -> datetime:
        return datetime.combine(day, DEMO_EVENT_TIME)

    made = []
    for year, periods in demo.DEFAULT_SCHEDULE.items():
        for period, (_, _, lock_day) in periods.items():
            if year == demo.PREVIOUS_SCHOOL_YEAR or period == "GK1":
                made.append(dict(school_year=year, period=period, action="lock", scope="school",
                                 scope_value=None, at=at(lock_day),
                                 reason="Khóa sổ theo lịch của nhà trường"))
    gk1_lock = demo.DEFAULT_SCHEDULE[demo.DEMO_SCHOOL_YEAR]["GK1"][2]
    start_year = rules.parse_school_year(demo.DEMO_SCHOOL_YEAR)[0]
    corrected_class = demo._class_id(demo.school_ids(1)[0], start_year, "4A")
    made += [
        dict(school_year=demo.DEMO_SCHOOL_YEAR, period="GK1", action="unlock", scope="class",
             scope_value=corrected_class, at=at(gk1_lock + timedelta(days=3)),
             reason="GVCN báo nhập nhầm điểm KTĐK môn Toán của một học sinh; "
                    "hiệu trưởng đồng ý cho sửa"),
        dict(school_year=demo.DEMO_SCHOOL_YEAR, period="GK1", action="lock", scope="class",
             scope_value=corrected_class, at=at(gk1_lock + timedelta(days=4)),
             reason="Đã sửa xong, đối chiếu với bảng tổng hợp"),
    ]
    return made


def store_demo_schedule(data_dir: Path | str) -> None:
    """Write the demo's schedule (the shared one, every school of a district follows it until
    its administrator edits it) and lock events once: a row or event already there is kept, so
    running the demo again changes nothing (and an admin's edits survive)."""
    from . import auth, demo

    admin = next(u for u, role, _, _ in auth.DEMO_ACCOUNTS if role == "admin")
    for year in demo.DEFAULT_SCHEDULE:
        present = {(r.period, None if pd.isna(r.grade) else int(r.grade))
                   for r in windows(data_dir, year).itertuples()}
        for row in demo.demo_schedule(year):
            if (row["period"], row["grade"]) not in present:
                set_window(data_dir, year, row["period"], row["grade"], row["opens"],
                           row["deadline"], row["lock"], actor="demo")
    for event in demo_events():
        recorded = events(data_dir, event["school_year"], event["period"])
        same = recorded[(recorded["action"] == event["action"])
                        & (recorded["scope"] == event["scope"])
                        & (recorded["scope_value"].fillna("") == (event["scope_value"] or ""))
                        & (recorded["at"] == event["at"])]
        if same.empty:
            record_event(data_dir, **event, actor="demo", recorded_by=admin,
                         recorded_at=event["at"])
