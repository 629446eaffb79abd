"""Import the sector's files into a new snapshot.

Two steps, so the Data page can preview before anything is written:
`prepare_import` reads every file and merges them onto the latest snapshot of the school year
(schools download pieces over days); `commit_import` writes the merged snapshot atomically.
Structural problems refuse the whole import (`ImportRefused`) and nothing is written.
"""
from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from . import readers, rules, snapshots
from .i18n import fmt_datetime, fmt_number, t
from .parsed import ParsedFile
from .problems import ERROR, WARNING, ImportRefused, Problem
from .text import fold
from .timeutil import now_local

ENROLLED_STATUS = "Đang học"  # students created from class summaries are enrolled
# Which contract tables each kind of file replaces for its school.
_REPLACES = {
    "students": ("student",),
    "staff": ("staff",),
    "assignments": ("assignment",),
    "facilities": ("room", "equipment"),
}


@dataclass
class PreparedImport:
    files: list[ParsedFile]
    school_id: str
    school_name: str
    school_year: str
    taken_at: datetime
    base: snapshots.SnapshotInfo | None
    tables: dict[str, pd.DataFrame]
    file_rows: pd.DataFrame
    warnings: list[Problem] = field(default_factory=list)


def _problem(file: str, code: str, **params: object) -> Problem:
    return Problem(file=file, code=code, severity=ERROR, params=params)


PREVIEW_COLUMNS = ("file", "sheet", "kind", "period", "classes", "students", "values",
                   "errors", "warnings")
NOT_READ_COLUMNS = ("file", "sheet", "column", "header", "reason")


def preview(parsed: list[ParsedFile]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the Data page shows before anything is written: per file, and per sheet of a
    results file, its kind, period, classes, students and values read; and every column that
    will not be read, with why (`reason`: not_values — STT, Ghi chú…; not_used). `kind` and
    `reason` are i18n key suffixes; counts are None where they do not apply."""
    rows, not_read = [], []
    for f in parsed:
        kind = f"results_{f.layout}" if f.kind == "results" and f.layout else f.kind
        base = {"file": f.name, "kind": kind, "period": f.period,
                "errors": len(f.errors), "warnings": len(f.warnings)}
        sheets = f.sheets or [{"sheet": None, "classes": f.summary.get("classes"),
                               "students": f.summary.get("students"),
                               "values": f.summary.get("values")}]
        rows += [base | {key: sheet.get(key) for key in ("sheet", "classes", "students",
                                                          "values")} for sheet in sheets]
        not_read += [{"file": f.name} | {k: s[k] for k in NOT_READ_COLUMNS[1:]}
                     for s in f.skipped]
    frame = pd.DataFrame(rows, columns=list(PREVIEW_COLUMNS))
    for col in ("classes", "students", "values"):
        frame[col] = frame[col].astype("Int64")
    return frame, pd.DataFrame(not_read, columns=list(NOT_READ_COLUMNS))


def first_import_school(data_dir: Path | str, account_school: str | None
                        ) -> tuple[str, str] | None:
    """Before the first real import the school is not known from the data: (code, name) to
    offer on the page — the account's school, else the demo's in a demo installation, else
    blanks. None once a real import exists (the school then comes from it)."""
    if snapshots.latest_snapshot(data_dir, exclude_demo=True) is not None:
        return None
    demo = snapshots.latest_snapshot(data_dir)
    schools = {}
    if demo is not None:
        con = snapshots.connect(data_dir, demo.snapshot_id)
        try:
            schools = dict(con.execute("SELECT school_id, name FROM school").fetchall())
        finally:
            con.close()
    if account_school is not None:
        return account_school, schools.get(account_school, "")
    if len(schools) == 1:
        return next(iter(schools.items()))
    return "", ""


def read_files(paths: list[tuple[Path, str]], period: str | None) -> list[ParsedFile]:
    return [readers.read_file(path, display_name=name, period_hint=period) for path, name in paths]


def prepare_import(
    parsed: list[ParsedFile],
    data_dir: Path | str,
    *,
    school_id: str | None = None,
    school_name: str | None = None,
    school_year: str | None = None,
    taken_at: datetime | None = None,
) -> PreparedImport:
    """Merge parsed files onto the latest snapshot; raise ImportRefused listing every problem."""
    problems = [p for f in parsed for p in f.errors]
    if not parsed:
        problems.append(_problem("—", "no_files"))
    if taken_at is None:
        taken_at = now_local()
    stated_years = {f.school_year for f in parsed if f.school_year}
    if school_year is None:
        school_year = stated_years.pop() if len(stated_years) == 1 else rules.school_year_of(taken_at)
    for f in parsed:
        if f.school_year and f.school_year != school_year:
            problems.append(_problem(f.name, "school_year_conflict", file_year=f.school_year,
                                     year=school_year))
    seen_results: dict[tuple, str] = {}
    for f in parsed:
        if f.kind == "results" and not f.errors:
            key = (f.grade, f.period)
            if key in seen_results:
                problems.append(_problem(f.name, "results_twice", other=seen_results[key],
                                         period=f.period, grade=f.grade or "1–2"))
            seen_results.setdefault(key, f.name)

    # Real imports never build on the demo school's data.
    base = snapshots.latest_snapshot(data_dir, school_year, exclude_demo=True)
    known_schools = _school_ids(data_dir, base)
    if school_id is None:
        if len(known_schools) == 1:
            school_id = known_schools[0]
        else:
            problems.append(_problem("—", "school_id_required"))
    if problems:
        raise ImportRefused(problems)
    assert school_id is not None
    # Only this school's rows are read and merged here; the others are copied from the base
    # snapshot inside DuckDB when the import is written (a province never sits in pandas).
    tables = snapshots.read_tables(data_dir, base.snapshot_id, school_id) if base else {}
    tables = {t: tables.get(t, _empty(t)) for t in _data_tables()}
    existing = tables["school"][tables["school"]["school_id"] == school_id]
    if school_name is None:
        names = [f.school_name for f in parsed if f.school_name]
        school_name = (existing["name"].iloc[0] if len(existing) else names[0] if names
                       else school_id)
    province = existing["province"].iloc[0] if len(existing) else None
    tables["school"] = pd.concat(
        [tables["school"][tables["school"]["school_id"] != school_id],
         pd.DataFrame([{"school_id": school_id, "name": school_name, "province": province}])],
        ignore_index=True)

    # Lists first (students, staff, assignments, facilities), then results checked against them.
    for f in sorted(parsed, key=lambda f: f.kind == "results"):
        if f.kind in _REPLACES:
            for table in _REPLACES[f.kind]:
                tables[table] = _replace_school_rows(tables, table, f.tables.get(table), school_id)
            if "class" in f.tables:
                tables["class"] = _merge_classes(tables["class"], f.tables["class"], school_id)
            tables["invalid_value"] = _replace_invalid_from(tables["invalid_value"], f, school_id)
    summaries = [f for f in parsed if f.kind == "results" and f.layout == "class_summary"]
    if summaries and not (tables["student"]["school_id"] == school_id).any():
        # A school that holds only the class summaries: they are its roster (DOMAIN.md §4).
        _students_from_summaries(tables, summaries, school_id)
    warnings = [p for f in parsed for p in f.warnings]
    for f in parsed:
        if f.kind == "results":
            problems += _merge_results(tables, f, school_id, warnings)
    if problems:
        raise ImportRefused(problems)

    file_rows = _file_rows(tables.pop("snapshot_file", None), parsed)
    return PreparedImport(parsed, school_id, school_name, school_year, taken_at, base, tables,
                          file_rows, warnings)


# --- one writer at a time ------------------------------------------------------------------------
# Imports and restores take an exclusive lock on the data folder: two imports merged onto the
# same base would each drop the other's change. The lock is a file beside the data, held with
# flock (Windows: msvcrt.locking), so the operating system releases it when its holder dies.
try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # everywhere but Windows
    msvcrt = None  # type: ignore[assignment]

LOCK_FILE = ".write.lock"
LOCK_TIMEOUT_S = 60.0  # how long a second writer waits before it is refused
_LOCK_POLL_S = 0.1
# Windows byte locks are mandatory: the locked byte lies past the holder's note, which waiters read.
_WINDOWS_LOCK_OFFSET = 1 << 30

_held = threading.local()  # per thread: data folders whose lock it holds, with the depth
_thread_locks: dict[str, threading.Lock] = {}  # per folder: threads of this process take turns
_thread_locks_guard = threading.Lock()
_cleaned_once: set[str] = set()


def lock_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / LOCK_FILE


def holder_text(holder: dict | None, lang: str = "vi", quote: Callable[[str], str] = str) -> str:
    """Who holds the lock, from the note its holder wrote (for the waiting and busy messages)."""
    if not holder or holder.get("action") not in ("import", "restore", "cleanup"):
        return t("lock.holder_unknown", lang)
    try:
        since = fmt_datetime(datetime.fromisoformat(str(holder.get("since"))), lang)
    except ValueError:
        since = "–"
    action = t("lock.action_" + holder["action"], lang)
    if holder.get("by") == "cli":  # the CLI writes as "cli"
        return t("lock.holder", lang, action=action, by=t("lock.by_cli", lang), since=since)
    if holder.get("by"):
        return t("lock.holder", lang, action=action, by=quote(str(holder["by"])), since=since)
    return t("lock.holder_anonymous", lang, action=action, since=since)


def waiting_message(holder: dict | None, lang: str = "vi", timeout: float | None = None,
                    quote: Callable[[str], str] = str) -> str:
    """What a second writer says while it waits for the lock."""
    seconds = LOCK_TIMEOUT_S if timeout is None else timeout
    return t("lock.waiting", lang, holder=holder_text(holder, lang, quote),
             seconds=fmt_number(seconds, lang, 0 if seconds >= 1 else 1))


class WriteLocked(Exception):
    """Another import or restore held the data folder for longer than the timeout: nothing was
    written, and the same step may simply be tried again later."""

    key = "lock.busy"

    def __init__(self, seconds: float, holder: dict | None):
        super().__init__(f"the data folder is being written by another process "
                         f"({holder or 'unknown'}) for more than {seconds:g} s; nothing written")
        self.seconds = seconds
        self.holder = holder

    def message(self, lang: str = "vi", quote: Callable[[str], str] = str) -> str:
        return t(self.key, lang, holder=holder_text(self.holder, lang, quote),
                 seconds=fmt_number(self.seconds, lang, 0 if self.seconds >= 1 else 1))


class BaseChanged(Exception):
    """The latest snapshot is no longer the one the import was merged onto (another import or a
    restore wrote meanwhile): writing would drop that change, so nothing is written."""

    key = "import.base_changed"

    def __init__(self, base_id: str | None, latest: snapshots.SnapshotInfo | None):
        latest_id = latest.snapshot_id if latest else None
        super().__init__(f"the import was merged onto {base_id or 'no snapshot'}, but the latest "
                         f"snapshot is now {latest_id or 'none'}; nothing written")
        self.base_id, self.latest = base_id, latest

    def message(self, lang: str = "vi") -> str:
        return t(self.key, lang, when=fmt_datetime(self.latest.taken_at if self.latest else None,
                                                   lang))


def _read_holder(path: Path) -> dict | None:
    try:
        note = json.loads(path.read_text(encoding="utf-8"))
        return note if isinstance(note, dict) else None
    except (OSError, ValueError):
        return None  # not written yet, or being rewritten: the message stays generic


def _try_lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # held by another handle
        return False
    return True


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _write_holder(fd: int, action: str, by: str | None) -> None:
    """A note for the waiters' message: what holds the lock, whose, since when."""
    note = json.dumps({"pid": os.getpid(), "action": action, "by": by,
                       "since": now_local().isoformat()}, ensure_ascii=False)
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, note.encode("utf-8"))


def _thread_lock(key: str) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())


@contextmanager
def write_lock(data_dir: Path | str, *, action: str = "import", by: str | None = None,
               timeout: float | None = None,
               on_wait: Callable[[dict | None], None] | None = None) -> Iterator[list[Path]]:
    """Hold the data folder's exclusive write lock (imports and restores, across processes and
    threads; re-entrant in one thread). A second writer calls `on_wait(holder note)` once, waits
    up to `timeout` seconds (LOCK_TIMEOUT_S), then raises WriteLocked. Once held, what killed
    writers left behind is removed (snapshots.remove_leftovers): yields those paths."""
    data_dir = Path(data_dir)
    key = str(data_dir.absolute())
    depths = _held.__dict__.setdefault("depths", {})
    if depths.get(key):
        depths[key] += 1
        try:
            yield []
        finally:
            depths[key] -= 1
        return
    timeout = LOCK_TIMEOUT_S if timeout is None else timeout
    deadline = time.monotonic() + timeout
    path = lock_path(data_dir)
    told = False

    def wait_or_refuse() -> None:
        nonlocal told
        if time.monotonic() >= deadline:
            raise WriteLocked(timeout, _read_holder(path))
        if not told:
            told = True
            if on_wait is not None:
                on_wait(_read_holder(path))

    in_process = _thread_lock(key)
    while not in_process.acquire(blocking=False):
        wait_or_refuse()
        time.sleep(_LOCK_POLL_S)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            while not _try_lock(fd):
                wait_or_refuse()
                time.sleep(_LOCK_POLL_S)
            try:
                _write_holder(fd, action, by)
                depths[key] = 1
                try:  # under the lock no import or restore is half-way
                    removed = snapshots.remove_leftovers(data_dir)
                except OSError:
                    removed = []  # tidying up never stops the write itself
                yield removed
            finally:
                depths.pop(key, None)
                _unlock(fd)
        finally:
            os.close(fd)
    finally:
        in_process.release()


def clean_up_leftovers(data_dir: Path | str, once: bool = False) -> list[Path]:
    """At a start (the app's first run, `csdl check`): remove what killed imports left behind,
    under the write lock without waiting for it (a writer holding it has just done the same).
    `once`: only the first call per data folder in this process does anything."""
    data_dir = Path(data_dir)
    key = str(data_dir.absolute())
    if once and key in _cleaned_once:
        return []
    _cleaned_once.add(key)
    if not snapshots.snapshots_dir(data_dir).is_dir():
        return []  # nothing written here yet: create nothing either
    try:
        with write_lock(data_dir, action="cleanup", timeout=0) as removed:
            return removed
    except (WriteLocked, OSError):
        return []


def commit_import(prepared: PreparedImport, data_dir: Path | str,
                  created_by: str | None = None, trial: bool = False, *,
                  redo: Callable[[], PreparedImport] | None = None,
                  on_wait: Callable[[dict | None], None] | None = None,
                  timeout: float | None = None) -> snapshots.SnapshotInfo:
    """Write the import as a new snapshot. A real import ends the demo for good (the demo
    accounts' passwords are public); a `trial` — a demo account trying the import in a demo
    installation — is written as demo data and changes nothing else.

    Under the write lock (`write_lock`; `on_wait`, `timeout` as there), from checking the base
    to the rename. The import was merged onto `prepared.base`: when that is no longer the latest
    snapshot of the year (another import or a restore wrote meanwhile), `redo()` merges the
    files again onto the new latest (the CLI), or without `redo` BaseChanged is raised and
    nothing is written (the Data page: its user should see the new preview first)."""
    with write_lock(data_dir, action="import", by=created_by, timeout=timeout,
                    on_wait=on_wait):
        latest = snapshots.latest_snapshot(data_dir, prepared.school_year, exclude_demo=True)
        base_id = prepared.base.snapshot_id if prepared.base else None
        if (latest.snapshot_id if latest else None) != base_id:
            if redo is None:
                raise BaseChanged(base_id, latest)
            prepared = redo()  # ImportRefused if the files no longer fit the new data
        note = ", ".join(f.name for f in prepared.files)
        carry = (prepared.base.path, prepared.school_id) if prepared.base else None
        info = snapshots.write_snapshot(
            data_dir, prepared.tables, school_year=prepared.school_year,
            taken_at=prepared.taken_at, source="demo" if trial else "import",
            created_by=created_by, note=note[:500], files=prepared.file_rows, carry_from=carry)
        if not trial:
            from . import auth

            auth.retire_demo_accounts(data_dir, actor=created_by)
    return info


def _school_ids(data_dir: Path | str, base: snapshots.SnapshotInfo | None) -> list[str]:
    if base is None:
        return []
    con = snapshots.connect(data_dir, base.snapshot_id)
    try:
        return sorted(r[0] for r in con.execute("SELECT school_id FROM school").fetchall())
    finally:
        con.close()


def _data_tables() -> list[str]:
    return [t for t in snapshots.table_columns()
            if t not in snapshots.CATALOGUE_TABLES and t != "snapshot"]


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(snapshots.table_columns()[table]))


def _with_school(df: pd.DataFrame, school_id: str, table: str) -> pd.DataFrame:
    out = df.copy()
    out["school_id"] = school_id
    return out.reindex(columns=list(snapshots.table_columns()[table]))


def _concat(frames: list[pd.DataFrame], table: str) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty(table)
    return pd.concat(frames, ignore_index=True).reindex(
        columns=list(snapshots.table_columns()[table]))


def _replace_school_rows(tables: dict[str, pd.DataFrame], table: str,
                         new: pd.DataFrame | None, school_id: str) -> pd.DataFrame:
    current = tables[table]
    kept = current[current["school_id"] != school_id]
    if new is None:
        return kept
    return _concat([kept, _with_school(new, school_id, table)], table)


def _merge_classes(current: pd.DataFrame, new: pd.DataFrame, school_id: str) -> pd.DataFrame:
    """Add or update classes; a value the new file does not carry keeps its old one."""
    new = _with_school(new, school_id, "class")
    key = ["school_id", "class_id"]
    merged = new.set_index(key).combine_first(current.set_index(key)).reset_index()
    return merged.reindex(columns=list(snapshots.table_columns()["class"]))


def _replace_invalid_from(current: pd.DataFrame, f: ParsedFile, school_id: str) -> pd.DataFrame:
    """Cells kept as invalid belong to their file: a new version of the list replaces them."""
    same_kind = current["source_file"].isin([f.name])
    kept = current[~((current["school_id"] == school_id) & same_kind)]
    return _concat([kept, _with_school(pd.DataFrame(f.invalid), school_id, "invalid_value")],
                   "invalid_value")


def _students_from_summaries(tables: dict[str, pd.DataFrame], summaries: list[ParsedFile],
                             school_id: str) -> None:
    """Classes and enrolled students from class summaries, for a school with no student list:
    each sheet's class (its name as the class code) and each student's code, name, birth date
    and gender (the "Nữ" tick). A later student list replaces these students."""
    roster = pd.concat([f.tables["roster"] for f in summaries], ignore_index=True)
    roster = roster[roster["class_id"].notna()].drop_duplicates("student_id")
    students = roster.assign(active=True, status=ENROLLED_STATUS)[
        ["student_id", "class_id", "full_name", "birth_date", "gender", "status", "active"]]
    tables["student"] = _replace_school_rows(tables, "student", students, school_id)
    classes = roster[["class_id", "class_name", "grade"]].drop_duplicates("class_id")
    tables["class"] = _merge_classes(tables["class"], classes, school_id)


def _class_ids_by_name(roster: pd.DataFrame, classes: pd.DataFrame) -> pd.Series:
    """A class summary names its class ("Lớp: 1A"): the school's class of that name, if any."""
    by_name = {fold(n): c for c, n in zip(classes["class_id"], classes["class_name"])
               if isinstance(n, str)}
    return roster["class_id"].map(lambda name: by_name.get(fold(name), name)
                                  if isinstance(name, str) else name)


def _assign_optional_subjects(tables: dict[str, pd.DataFrame], f: ParsedFile,
                              school_id: str) -> None:
    """An optional subject a class summary holds values for (Tiếng Anh in grade 1, Tin học in
    grade 2) is one the class takes: recorded as an assignment without a teacher when the
    school has none for it, so that it is owed like any taken optional subject. A teaching
    assignments file replaces these rows."""
    results = f.tables["subject_result"]
    if results.empty:
        return
    students = tables["student"][tables["student"]["school_id"] == school_id]
    classes = tables["class"][tables["class"]["school_id"] == school_id]
    taken = (results[["student_id", "subject_code"]]
             .merge(students[["student_id", "class_id"]], on="student_id")
             .merge(classes[["class_id", "grade"]], on="class_id")
             [["class_id", "grade", "subject_code"]].drop_duplicates())
    optional = {(g, s.code) for s in rules.SUBJECTS for g in s.optional_grades}
    taken = taken[[(int(g), c) in optional if pd.notna(g) else False
                   for g, c in zip(taken["grade"], taken["subject_code"])]]
    current = tables["assignment"]
    assigned = set(zip(current.loc[current["school_id"] == school_id, "class_id"],
                       current.loc[current["school_id"] == school_id, "subject_code"]))
    new = taken[[(c, s) not in assigned for c, s in zip(taken["class_id"], taken["subject_code"])]]
    if len(new):
        tables["assignment"] = _concat(
            [current, _with_school(new[["class_id", "subject_code"]].assign(staff_id=None),
                                   school_id, "assignment")], "assignment")


def _merge_results(tables: dict[str, pd.DataFrame], f: ParsedFile, school_id: str,
                   warnings: list[Problem]) -> list[Problem]:
    """Replace this file's period values for the students it lists; refuse unknown rosters."""
    roster = f.tables.get("roster", pd.DataFrame(columns=["class_id", "student_id"]))
    students = tables["student"][tables["student"]["school_id"] == school_id]
    if students.empty:
        return [_problem(f.name, "students_first")]
    known = roster["student_id"].isin(students["student_id"])
    if len(roster) and not known.any():
        return [_problem(f.name, "no_known_students", count=len(roster))]
    if not known.all():
        unknown = roster.loc[~known]
        names = [f"{n} ({c})" for n, c in zip(unknown["full_name"], unknown["student_id"])]
        warnings.append(Problem(f.name, "students_not_in_list", WARNING, params={
            "count": len(unknown), "names": ", ".join(names[:10])
            + (" …" if len(names) > 10 else "")}))
    classes = tables["class"]
    school_classes = classes[classes["school_id"] == school_id]
    if f.layout == "class_summary":
        roster = roster.assign(class_id=_class_ids_by_name(roster, school_classes))
    # Classes the school lacks, for the students it lacks (known students keep their class).
    grades = roster["grade"] if "grade" in roster else pd.Series(f.grade, index=roster.index)
    new_classes = roster.loc[~known & roster["class_id"].notna() & grades.notna()
                             & ~roster["class_id"].isin(school_classes["class_id"])]
    if len(new_classes):
        new_classes = pd.DataFrame({
            "class_id": new_classes["class_id"],
            "class_name": new_classes.get("class_name", new_classes["class_id"]).fillna(
                new_classes["class_id"]),
            "grade": grades[new_classes.index]}).drop_duplicates("class_id")
        tables["class"] = _merge_classes(classes, new_classes, school_id)

    if f.layout == "class_summary":
        _assign_optional_subjects(tables, f, school_id)
    period = f.period
    ids = set(roster["student_id"])
    for table in ("subject_result", "trait_result"):
        cur = tables[table]
        drop = (cur["school_id"] == school_id) & (cur["period"] == period) & cur["student_id"].isin(ids)
        new = f.tables.get(table)
        tables[table] = _concat(
            [cur[~drop]] + ([_with_school(new, school_id, table)] if new is not None else []), table)
    if period == "CN" and "year_result" in f.tables:
        cur = tables["year_result"]
        drop = (cur["school_id"] == school_id) & cur["student_id"].isin(ids)
        tables["year_result"] = _concat(
            [cur[~drop], _with_school(f.tables["year_result"], school_id, "year_result")],
            "year_result")
    inv = tables["invalid_value"]
    drop = ((inv["school_id"] == school_id) & (inv["period"] == period)
            & inv["student_id"].isin(ids)) | (inv["source_file"] == f.name)
    tables["invalid_value"] = _concat(
        [inv[~drop], _with_school(pd.DataFrame(f.invalid), school_id, "invalid_value")],
        "invalid_value")
    return []


def _file_rows(previous: pd.DataFrame | None, parsed: list[ParsedFile]) -> pd.DataFrame:
    new = pd.DataFrame([{"name": f.name, "kind": f.kind, "sha256": f.sha256, "rows": f.rows}
                        for f in parsed], columns=["name", "kind", "sha256", "rows"])
    if previous is None or previous.empty:
        return new
    return pd.concat([previous[~previous["name"].isin(new["name"])], new], ignore_index=True)
