"""Changes after a lock: change requests in app.db, the principal's decisions, and the match
between every value that changed after a period locked and the request that allows it.

After a lock a change is allowed only with the principal's consent (DOMAIN.md §6). The snapshots
show every change exactly; a change with no approved request is flagged "not approved". Each
class is judged by its own lock (its grade's window, the events covering it, lock_plan), so
what is entered while its window is open is never a change after a lock. Changes are grouped
by class × unit × teacher; one request (a batch of per-cell rows) can cover a group.
"""
from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from . import records, rules, schedule, scope, snapshots
from .diff import diff_schools
from .timeutil import now_local

DECISIONS = ("pending", "approved", "rejected")
# Schools per snapshot difference of changed_after_lock_of: the full outer join of two
# snapshots' cells holds them in DuckDB's memory (about 2 GB over 500 schools at once).
SCHOOLS_PER_PASS = 50
FIELDS = {"subject": ("level", "score"), "trait": ("level",),
          "year": ("completed", "promoted", "classification", "award")}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS change_request (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school_year TEXT NOT NULL,
    school_id TEXT NOT NULL,
    student_id TEXT NOT NULL,
    period TEXT NOT NULL,
    item_type TEXT NOT NULL,
    item_code TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    recorded_by TEXT,
    recorded_at TEXT NOT NULL,
    decision TEXT NOT NULL DEFAULT 'pending',
    decided_by TEXT,
    decided_at TEXT,
    decision_note TEXT
);
CREATE INDEX IF NOT EXISTS change_request_cell
    ON change_request (school_id, student_id, period, item_code);
"""
# Added in place to an older app.db: a group request is one row per cell sharing `batch` (the
# id of its first row; NULL on a single request, read as its own id), with the group's class
# and teacher as they were when it was recorded (so the principal's picker names them).
_ADDED = {"batch": "INTEGER", "class_id": "TEXT", "class_name": "TEXT", "teacher": "TEXT"}
REQUEST_COLUMNS = ["id", "school_year", "school_id", "student_id", "period", "item_type",
                   "item_code", "field", "old_value", "new_value", "reason", "requested_by",
                   "recorded_by", "recorded_at", "decision", "decided_by", "decided_at",
                   "decision_note", "batch", "class_id", "class_name", "teacher"]
# Units of a group: a subject, all qualities and competencies (the homeroom teacher's, as in
# entry progress), and the year-end results (also the homeroom teacher's).
YEAR_UNIT = "YEAR"
DECISION_ORDER = ("none", "rejected", "pending", "approved", "student_left")


def _ensure(con) -> None:
    con.executescript(_SCHEMA)
    have = {r[1] for r in con.execute("PRAGMA table_info(change_request)")}
    for name, kind in _ADDED.items():
        if name not in have:
            try:
                con.execute(f"ALTER TABLE change_request ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise


class ChangeError(Exception):
    """A request or decision that cannot be recorded; `key` is an i18n message key."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


def record_request(data_dir: Path | str, *, school_year: str, school_id: str, student_id: str,
                   period: str, item_type: str, item_code: str, field: str,
                   old_value: str | None, new_value: str | None, reason: str,
                   requested_by: str, actor: str | None, at: datetime | None = None) -> int:
    """Record a teacher's request to change one value after the lock (the administrator)."""
    rules.parse_school_year(school_year)
    if period not in rules.PERIODS:
        raise ChangeError("changes.bad_period", period=period)
    if item_type not in FIELDS or field not in FIELDS[item_type]:
        raise ChangeError("changes.bad_field", item_type=item_type, field=field)
    if not (student_id or "").strip():
        raise ChangeError("changes.student_required")
    if not (reason or "").strip():
        raise ChangeError("changes.reason_required")
    if not (requested_by or "").strip():
        raise ChangeError("changes.teacher_required")
    at = at or now_local()
    with records.connect(data_dir) as con:
        _ensure(con)
        cur = con.execute(
            "INSERT INTO change_request (school_year, school_id, student_id, period, item_type, "
            "item_code, field, old_value, new_value, reason, requested_by, recorded_by, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (school_year, school_id, student_id.strip(), period, item_type, item_code, field,
             _blank_none(old_value), _blank_none(new_value), reason.strip(),
             requested_by.strip(), actor, at.isoformat(sep=" ")))
        request_id = int(cur.lastrowid)
    records.audit(data_dir, actor, "change_request", request_id=request_id,
                  student_id=student_id, period=period, item_code=item_code, field=field,
                  old_value=old_value, new_value=new_value)
    return request_id


def _check_decision(decision: str, note: str | None) -> None:
    """Approve or reject only; a rejection says why."""
    if decision not in ("approved", "rejected"):
        raise ChangeError("changes.bad_decision", decision=decision)
    if decision == "rejected" and not (note or "").strip():
        raise ChangeError("changes.note_required")


def decide(data_dir: Path | str, request_id: int, decision: str, note: str | None,
           actor: str | None, at: datetime | None = None) -> None:
    """The principal approves or rejects a request (a rejection needs a note)."""
    _check_decision(decision, note)
    at = at or now_local()
    with records.connect(data_dir) as con:
        _ensure(con)
        cur = con.execute(
            "UPDATE change_request SET decision = ?, decided_by = ?, decided_at = ?, "
            "decision_note = ? WHERE id = ?",
            (decision, actor, at.isoformat(sep=" "), (note or "").strip() or None, request_id))
        if cur.rowcount == 0:
            raise ChangeError("changes.no_such_request", request_id=request_id)
    records.audit(data_dir, actor, "change_decision", request_id=request_id, decision=decision,
                  note=note)


def record_group_request(data_dir: Path | str, *, school_year: str, school_id: str,
                         group: pd.DataFrame, reason: str, requested_by: str,
                         actor: str | None, at: datetime | None = None) -> int:
    """One teacher's request for a whole group of changes (annotated rows of one class, unit
    and teacher), in one step: one request row per cell that has no request yet, each asking
    for exactly the value now held, all sharing one batch id (returned). Cells already
    pending, approved or rejected keep their request (a rejection stands until asked again
    value by value); values gone with a student who left need none."""
    scope.check(school_id)
    rules.parse_school_year(school_year)
    if not (reason or "").strip():
        raise ChangeError("changes.reason_required")
    if not (requested_by or "").strip():
        raise ChangeError("changes.teacher_required")
    rows = group[(group["decision"] == "none") & group["item_type"].isin(list(FIELDS))]
    if rows.empty:
        raise ChangeError("changes.group_nothing_to_request")
    at = at or now_local()
    stamp = at.isoformat(sep=" ")
    values = [(school_year, school_id, r.student_id, r.period, r.item_type, r.item_code, r.field,
               _blank_none(None if pd.isna(r.before) else r.before),
               _blank_none(None if pd.isna(r.after) else r.after), reason.strip(),
               requested_by.strip(), actor, stamp, _text(getattr(r, "class_id", None)),
               _text(getattr(r, "class_name", None)), _text(getattr(r, "teacher", None)))
              for r in rows.itertuples()]
    sql = ("INSERT INTO change_request (school_year, school_id, student_id, period, item_type, "
           "item_code, field, old_value, new_value, reason, requested_by, recorded_by, "
           "recorded_at, class_id, class_name, teacher, batch) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    with records.connect(data_dir) as con:  # one transaction: the whole group or nothing
        _ensure(con)
        batch = int(con.execute(sql, (*values[0], None)).lastrowid)
        con.execute("UPDATE change_request SET batch = ? WHERE id = ?", (batch, batch))
        con.executemany(sql, [(*v, batch) for v in values[1:]])
    records.audit(data_dir, actor, "change_request_group", school_id=school_id, batch=batch,
                  cells=len(values), period=sorted(set(rows["period"].dropna())),
                  class_id=values[0][13], teacher=values[0][15], requested_by=requested_by)
    return batch


def decide_batch(data_dir: Path | str, school_id: str, batch: int, decision: str,
                 note: str | None, actor: str | None, at: datetime | None = None) -> int:
    """The principal approves or rejects a whole request (every pending cell of its batch; a
    single request is its own batch). Returns the number of cells decided."""
    scope.check(school_id)
    _check_decision(decision, note)
    at = at or now_local()
    with records.connect(data_dir) as con:
        _ensure(con)
        cur = con.execute(
            "UPDATE change_request SET decision = ?, decided_by = ?, decided_at = ?, "
            "decision_note = ? WHERE school_id = ? AND coalesce(batch, id) = ? "
            "AND decision = 'pending'",
            (decision, actor, at.isoformat(sep=" "), (note or "").strip() or None, school_id,
             int(batch)))
        if cur.rowcount == 0:
            raise ChangeError("changes.no_such_request", request_id=batch)
        decided = cur.rowcount
    records.audit(data_dir, actor, "change_decision", school_id=school_id, batch=int(batch),
                  cells=decided, decision=decision, note=note)
    return decided


def _text(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def unit_of(item_type: str, item_code: str) -> str:
    """The unit a changed cell belongs to: its subject, PCNL for a trait, YEAR for year-end."""
    return {"trait": rules.TRAITS_UNIT, "year": YEAR_UNIT}.get(item_type, item_code)


def teachers(data_dir: Path | str, snapshot: snapshots.SnapshotInfo,
             school_id: str) -> pd.DataFrame:
    """Who answers for each class × unit in the snapshot: the assigned subject teacher(s), the
    homeroom teacher for PCNL and YEAR (columns class_id, unit, teacher)."""
    scope.check(school_id)
    con = snapshots.connect(data_dir, snapshot.snapshot_id)
    try:
        return con.execute(
            "SELECT a.class_id, a.subject_code AS unit, "
            "string_agg(DISTINCT s.full_name, ', ' ORDER BY s.full_name) AS teacher "
            "FROM assignment a JOIN staff s ON s.school_id = a.school_id "
            "AND s.staff_id = a.staff_id WHERE a.school_id = ? GROUP BY 1, 2 "
            "UNION ALL SELECT c.class_id, u.unit, s.full_name FROM \"class\" c "
            "JOIN staff s ON s.school_id = c.school_id AND s.staff_id = c.homeroom_staff_id, "
            "(VALUES (?), (?)) AS u(unit) WHERE c.school_id = ?",
            [school_id, rules.TRAITS_UNIT, YEAR_UNIT, school_id]).df()
    finally:
        con.close()


GROUP_KEY = ["class_id", "class_name", "unit", "teacher"]


def with_groups(annotated: pd.DataFrame, teacher_table: pd.DataFrame) -> pd.DataFrame:
    """The changes with their unit and teacher ('' when nobody is assigned)."""
    out = annotated.assign(unit=pd.Series(
        [unit_of(t, c) for t, c in zip(annotated["item_type"], annotated["item_code"])],
        index=annotated.index, dtype=object))
    found = teacher_table[["class_id", "unit", "teacher"]].drop_duplicates(["class_id", "unit"])
    out = out.merge(found.astype({"class_id": object, "unit": object}),
                    on=["class_id", "unit"], how="left")
    out["teacher"] = out["teacher"].fillna("")
    out["class_name"] = out["class_name"].fillna(out["class_id"])
    return out


def group_table(grouped: pd.DataFrame) -> pd.DataFrame:
    """One row per class × unit × teacher: changes, count per decision and not_approved, the
    periods; the most not approved first (then the most without any request, the most
    changes), then by class and unit."""
    columns = [*GROUP_KEY, "periods", "changes", *DECISION_ORDER, "not_approved"]
    if grouped.empty:
        return pd.DataFrame(columns=columns)
    counts = pd.crosstab([grouped[k] for k in GROUP_KEY], grouped["decision"])
    counts = counts.reindex(columns=list(DECISION_ORDER), fill_value=0)
    counts["changes"] = counts.sum(axis=1)
    counts["not_approved"] = counts["changes"] - counts["approved"] - counts["student_left"]
    periods = grouped.groupby(GROUP_KEY)["period"].agg(
        lambda p: ", ".join(x for x in rules.PERIODS if x in set(p)))
    out = counts.join(periods.rename("periods")).reset_index()
    order = {u: i for i, u in enumerate([s.code for s in rules.SUBJECTS]
                                        + [rules.TRAITS_UNIT, YEAR_UNIT])}
    out["_unit"] = out["unit"].map(order).fillna(len(order))
    out = out.sort_values(["not_approved", "none", "changes", "class_name", "_unit", "teacher"],
                          ascending=[False, False, False, True, True, True], kind="stable")
    return out[columns].reset_index(drop=True)


def members(grouped: pd.DataFrame, group: pd.Series | dict) -> pd.DataFrame:
    """The changes of one group (a row of group_table)."""
    mask = pd.Series(True, index=grouped.index)
    for k in GROUP_KEY:
        mask &= grouped[k] == group[k]
    return grouped[mask]


BATCH_COLUMNS = ["batch", "class_id", "class_name", "unit", "teacher", "periods", "cells",
                 "pending", "requested_by", "recorded_at", "reason", "decision"]


def batches(reqs: pd.DataFrame) -> pd.DataFrame:
    """One row per request (batch): what the principal decides. `decision` is 'pending' while
    any cell is, else the decision of its cells (the newest); class and unit come from the
    rows (a single request recorded before groups has no class: NULL)."""
    if reqs.empty:
        return pd.DataFrame(columns=BATCH_COLUMNS)
    r = reqs.assign(unit=[unit_of(t, c) for t, c in zip(reqs["item_type"], reqs["item_code"])],
                    _pending=reqs["decision"] == "pending")
    rows = []
    for batch, part in r.groupby("batch", sort=True):
        first = part.iloc[0]
        units = list(dict.fromkeys(part["unit"]))
        rows.append({"batch": int(batch), "class_id": first["class_id"],
                     "class_name": first["class_name"], "unit": units[0] if len(units) == 1 else None,
                     "teacher": first["teacher"],
                     "periods": ", ".join(p for p in rules.PERIODS if p in set(part["period"])),
                     "cells": len(part), "pending": int(part["_pending"].sum()),
                     "requested_by": first["requested_by"], "recorded_at": first["recorded_at"],
                     "reason": first["reason"],
                     "decision": "pending" if part["_pending"].any() else part["decision"].iloc[-1]})
    return pd.DataFrame(rows, columns=BATCH_COLUMNS)


def requests(data_dir: Path | str, school_year: str, school_id: str,
             period: str | None = None) -> pd.DataFrame:
    return requests_of(data_dir, school_year, [school_id], period)


def requests_of(data_dir: Path | str, school_year: str, school_ids: list[str],
                period: str | None = None) -> pd.DataFrame:
    """The requests of several schools (the district's comparison), read at once."""
    scope.check_all(school_ids)
    ids = list(dict.fromkeys(school_ids))
    if not records.db_path(data_dir).exists() or not ids:
        return pd.DataFrame(columns=REQUEST_COLUMNS)
    columns = ", ".join("coalesce(batch, id) AS batch" if c == "batch" else c
                        for c in REQUEST_COLUMNS)
    with records.connect(data_dir) as con:
        _ensure(con)
        rows = con.execute(
            f"SELECT {columns} FROM change_request "
            f"WHERE school_year = ? AND school_id IN ({', '.join('?' * len(ids))}) "
            "AND (? IS NULL OR period = ?) ORDER BY id",
            (school_year, *ids, period, period)).fetchall()
    return pd.DataFrame(rows, columns=REQUEST_COLUMNS)


def annotate(changes: pd.DataFrame, reqs: pd.DataFrame) -> pd.DataFrame:
    """Match each changed cell to the latest request for that cell asking for that new value:
    adds request_id and decision ('approved' / 'rejected' / 'pending', or 'none'). Changes of
    several schools (a school_id column) are matched each to its own school's requests."""
    key = ["student_id", "period", "item_type", "item_code", "field"]
    if "school_id" in changes:
        key = ["school_id", *key]
    out = changes.copy()
    if reqs.empty or out.empty:
        out["request_id"] = pd.array([None] * len(out), dtype="Int64")
        out["decision"] = "none"
        if "student_left" in out and len(out):
            out.loc[out["student_left"].astype(bool), "decision"] = "student_left"
        return out
    latest = (reqs.assign(after=reqs["new_value"])
              .sort_values("id").drop_duplicates(key + ["after"], keep="last")
              [key + ["after", "id", "decision"]].rename(columns={"id": "request_id"}))
    # A request matches when it asks for exactly the value now held (both empty = removal).
    merged = out.assign(_after=out["after"].fillna("\x00")).merge(
        latest.assign(_after=latest["after"].fillna("\x00")).drop(columns="after"),
        on=key + ["_after"], how="left").drop(columns="_after")
    merged["request_id"] = merged["request_id"].astype("Int64")
    merged["decision"] = merged["decision"].fillna("none")
    if "student_left" in merged:  # values gone with a student who left need no request
        merged.loc[merged["student_left"] & (merged["decision"] == "none"), "decision"] = "student_left"
    return merged


@dataclass(frozen=True)
class LockedPeriod:
    period: str
    locked_at: datetime
    base: snapshots.SnapshotInfo | None  # the last snapshot taken at or before the lock


def lock_moment(data_dir: Path | str, school_year: str, period: str,
                school_id: str | None = None) -> datetime | None:
    """When the period locked for the whole school (shown on the page; the changes themselves
    follow each class's own lock, lock_plan): the first school-wide lock event (of this
    school, or of every school), else the lock date of the school's schedule (its own, else
    the shared one; at 00:00, as schedule.lock_state reads it)."""
    events = schedule.events(data_dir, school_year, period, school_id)
    locks = _school_locks(events)
    if len(locks):
        return pd.Timestamp(locks["at"].min()).to_pydatetime()
    window = schedule.window_for(data_dir, school_year, period, None, school_id=school_id)
    return _day_start(window[2]) if window else None


def lock_moments(data_dir: Path | str, school_year: str,
                 school_ids: list[str]) -> dict[str, dict[str, datetime | None]]:
    """lock_moment of every period for several schools, from one read of the year's events and
    one of the schools' schedules: {school_id: {period: moment or None}}."""
    locks = _school_locks(schedule.events(data_dir, school_year))
    first: dict[tuple[str | None, str], datetime] = {}  # (school or None = every school, period)
    for school_id, period, at in zip(locks["school_id"], locks["period"], locks["at"]):
        key = (school_id if isinstance(school_id, str) else None, period)
        at = pd.Timestamp(at).to_pydatetime()
        first[key] = min(first.get(key, at), at)
    windows = schedule.windows_of_schools(data_dir, school_year, school_ids)
    whole = windows[windows["grade"].isna()]
    lock_day = dict(zip(zip(whole["school_id"], whole["period"]), whole["lock"]))
    out: dict[str, dict[str, datetime | None]] = {}
    for school_id in dict.fromkeys(school_ids):
        out[school_id] = {}
        for period in rules.PERIODS:
            found = [first[k] for k in ((None, period), (school_id, period)) if k in first]
            day = lock_day.get((school_id, period))
            out[school_id][period] = (min(found) if found
                                      else _day_start(day) if day is not None else None)
    return out


def _school_locks(events: pd.DataFrame) -> pd.DataFrame:
    """The events that lock the whole school."""
    return events[(events["action"] == "lock") & (events["scope"] == "school")]


def _day_start(day) -> datetime:
    """A lock day as the moment the schedule locks it (00:00, as schedule.lock_state reads it)."""
    return datetime.combine(day, datetime.min.time())


def locked_periods(data_dir: Path | str, latest: snapshots.SnapshotInfo,
                   school_id: str | None = None) -> list[LockedPeriod]:
    """The periods of the latest snapshot's year that were locked by its time (for a school:
    by its own lock events or those of every school)."""
    return _locked(_same_year(data_dir, latest), latest,
                   {p: lock_moment(data_dir, latest.school_year, p, school_id)
                    for p in rules.PERIODS})


def locked_periods_of(data_dir: Path | str, latest: snapshots.SnapshotInfo,
                      school_ids: list[str]) -> dict[str, list[LockedPeriod]]:
    """locked_periods of several schools (lock_moments: the records read once)."""
    moments = lock_moments(data_dir, latest.school_year, school_ids)
    same_year = _same_year(data_dir, latest)
    return {s: _locked(same_year, latest, moments[s]) for s in moments}


def _same_year(data_dir: Path | str,
               latest: snapshots.SnapshotInfo) -> list[snapshots.SnapshotInfo]:
    snaps, _ = snapshots.list_snapshots(data_dir)
    return [s for s in snaps if s.school_year == latest.school_year
            and s.source == latest.source and s.taken_at <= latest.taken_at]


def _locked(same_year: list[snapshots.SnapshotInfo], latest: snapshots.SnapshotInfo,
            moments: dict[str, datetime | None]) -> list[LockedPeriod]:
    out = []
    for period in rules.PERIODS:
        moment = moments[period]
        if moment is None or moment > latest.taken_at:
            continue
        before = [s for s in same_year if s.taken_at <= moment]
        out.append(LockedPeriod(period, moment, before[-1] if before else None))
    return out


AFTER_LOCK_COLUMNS = ["student_id", "class_id", "class_name", "full_name", "period", "item_type", "item_code",
                      "field", "before", "after", "change", "locked_at", "base_snapshot",
                      "student_left"]


def after_lock(data_dir: Path | str, latest: snapshots.SnapshotInfo, school_id: str,
               period: str | None = None) -> pd.DataFrame:
    """Every value of a locked period that differs between the last snapshot before its lock
    and `latest`, with the matching request and its decision."""
    return annotate(changed_after_lock(data_dir, latest, school_id, period),
                    requests(data_dir, latest.school_year, school_id))


def changed_after_lock(data_dir: Path | str, latest: snapshots.SnapshotInfo, school_id: str,
                       period: str | None = None) -> pd.DataFrame:
    """The changed cells alone (no request matched): depends only on the snapshots and the
    schedule, so it can be cached."""
    scope.check(school_id)
    plan = lock_plan(data_dir, latest, [school_id], period)
    return _changed(data_dir, latest, plan).drop(columns="school_id")


def after_lock_of(data_dir: Path | str, latest: snapshots.SnapshotInfo, school_ids: list[str],
                  period: str | None = None) -> pd.DataFrame:
    """after_lock of several schools at once (the district's comparison), with a school_id
    column: one difference per locked stretch's pair of snapshots for all of them, each
    school's changes matched to its own requests."""
    return annotate(changed_after_lock_of(data_dir, latest, school_ids, period),
                    requests_of(data_dir, latest.school_year, school_ids))


def changed_after_lock_of(data_dir: Path | str, latest: snapshots.SnapshotInfo,
                          school_ids: list[str], period: str | None = None) -> pd.DataFrame:
    """changed_after_lock of several schools, with a school_id column first. Remembered per
    snapshot and plan (the snapshots never change; the lock records are read each time), so
    the district page's next view reads only the records."""
    scope.check_all(school_ids)
    plan = lock_plan(data_dir, latest, school_ids, period)
    return _changed_cached(str(data_dir), latest.snapshot_id, plan).copy()


def locked_stretches(period_events: list[dict], window: tuple | None, grade: int | None,
                     class_id: str | None, until: datetime
                     ) -> list[tuple[datetime, datetime | None]]:
    """When a class's book was locked up to `until`, by the rule of schedule.lock_state (the
    latest event covering it, else the schedule's lock day): [(locked from, unlocked at or
    None while still locked)]. The state can only change at an event or at the lock day."""
    moments = {e["at"] for e in period_events if e["at"] <= until}
    if window is not None and _day_start(window[2]) <= until:
        moments.add(_day_start(window[2]))
    out: list[tuple[datetime, datetime | None]] = []
    start = None
    for moment in sorted(moments):
        locked = schedule.decide(period_events, window, grade, class_id, moment).locked
        if locked and start is None:
            start = moment
        elif not locked and start is not None:
            out.append((start, moment))
            start = None
    if start is not None:
        out.append((start, None))
    return out


def lock_plan(data_dir: Path | str, latest: snapshots.SnapshotInfo, school_ids: list[str],
              period: str | None = None) -> tuple:
    """Which snapshots to compare for whom: for every class (by its grade's window, else the
    school's, and the events covering it), each stretch its book was locked gives a pair
    (the last snapshot at or before the lock, the last at or before the unlock, or `latest`
    while still locked). A class unlocked now, or whose grade locks later, has no stretch up
    to `latest`: what its teachers enter is in an open window, never a change after a lock.
    A change the snapshots cannot place inside a locked stretch is given the benefit of the
    doubt: one between the last snapshot before an unlock and the next is not counted, and a
    relock with no snapshot since its unlock compares from the first snapshot after it. (The
    first lock keeps the last snapshot before it as its base: the export of the lock day.)
    Returns (entries, listed): sorted tuples (period, base id, end id, school_id, class_id or
    None, locked_at), class None standing for any class the latest snapshot does not list
    (the school's rule); and the (school_id, class_id) it lists. Hashable: a cache key."""
    ids = list(dict.fromkeys(school_ids))
    same_year = _same_year(data_dir, latest)
    all_events = schedule.events(data_dir, latest.school_year)
    windows = schedule.windows_of_schools(data_dir, latest.school_year, ids)
    con = snapshots.connect(data_dir, latest.snapshot_id)
    try:
        classes = con.execute(
            "SELECT school_id, class_id, grade FROM \"class\" WHERE list_contains(?, school_id) "
            "ORDER BY 1, 2", [ids]).fetchall()
    finally:
        con.close()
    by_school: dict[str, list[tuple[str | None, int | None]]] = {s: [(None, None)] for s in ids}
    for school_id, class_id, grade in classes:
        by_school[school_id].append((class_id, None if pd.isna(grade) else int(grade)))

    def last_at(moment: datetime) -> snapshots.SnapshotInfo | None:
        before = [s for s in same_year if s.taken_at <= moment]
        return before[-1] if before else None

    # Plain dicts read once: a district has ~15 000 classes × 4 periods to decide.
    event_rows = all_events.to_dict("records")
    window_of: dict[tuple, dict[int | None, tuple]] = {}
    for w in windows.itertuples():
        grade = None if pd.isna(w.grade) else int(w.grade)
        window_of.setdefault((w.school_id, w.period), {})[grade] = (w.opens, w.deadline, w.lock)

    def stretch_pairs(stretches) -> list[tuple[snapshots.SnapshotInfo, snapshots.SnapshotInfo,
                                               datetime]]:
        pairs, reopened = [], None  # the unlock before this stretch
        for start, stop in stretches:
            base = last_at(start)
            if reopened is not None and (base is None or base.taken_at < reopened):
                # No snapshot between the unlock and the relock: the first one after the
                # relock, so nothing entered in the open window is counted.
                base = next((s for s in same_year if s.taken_at > start), None)
            reopened = stop
            end = latest if stop is None else last_at(stop)
            if (base is not None and end is not None and base.snapshot_id != end.snapshot_id
                    and base.taken_at <= end.taken_at):
                pairs.append((base, end, start))
        return pairs

    plan = []
    for school_id in ids:
        mine = [e for e in event_rows if not isinstance(e["school_id"], str)
                or e["school_id"] == school_id]
        for p in rules.PERIODS:
            if period and p != period:
                continue
            events_p = [e for e in mine if e["period"] == p]
            by_class = {e["scope_value"] for e in events_p if e["scope"] == "class"}
            grades = window_of.get((school_id, p), {})
            memo: dict[tuple, list] = {}  # classes alike (same grade, no own event) alike
            for class_id, grade in by_school[school_id]:
                key = (grade, class_id if class_id in by_class else None)
                if key not in memo:
                    window = grades.get(grade, grades.get(None)) if grade is not None \
                        else grades.get(None)
                    memo[key] = stretch_pairs(locked_stretches(
                        events_p, window, grade, key[1], latest.taken_at))
                for base, end, start in memo[key]:
                    plan.append((p, base.snapshot_id, end.snapshot_id, school_id, class_id,
                                 start))
    entries = tuple(sorted(plan, key=lambda x: (rules.PERIODS.index(x[0]), x[1], x[2], x[3],
                                                x[4] or "", x[5])))
    return entries, tuple((s, c) for s, c, _ in classes)


@functools.lru_cache(maxsize=4)  # a district's cells are large (250k rows at 500 schools)
def _changed_cached(data_dir: str, latest_id: str, plan: tuple) -> pd.DataFrame:
    return _changed(data_dir, snapshots.get_snapshot(data_dir, latest_id), plan)


def _changed(data_dir: Path | str, latest: snapshots.SnapshotInfo, plan: tuple) -> pd.DataFrame:
    """The cells changed while each class was locked: one difference per period and pair of
    snapshots for all the schools that share it, kept for the classes whose stretch it is."""
    entries, listed_classes = plan
    listed = set(listed_classes)
    pairs: dict[tuple[str, str, str], dict[tuple[str, str | None], datetime]] = {}
    for p, base_id, end_id, school_id, class_id, start in entries:
        pairs.setdefault((p, base_id, end_id), {})[(school_id, class_id)] = start
    frames = []
    for (p, base_id, end_id), classes in pairs.items():
        ids = list(dict.fromkeys(s for s, _ in classes))
        for first in range(0, len(ids), SCHOOLS_PER_PASS):
            changed = diff_schools(data_dir, base_id, end_id,
                                   ids[first:first + SCHOOLS_PER_PASS], p)
            if changed.empty:
                continue
            # A class the latest snapshot lists follows its own stretches; any other class
            # (gone since) follows the school's rule.
            own = [(s, c) if (s, c) in listed else (s, None)
                   for s, c in zip(changed["school_id"], changed["class_id"])]
            keep = [k in classes for k in own]
            frames.append(changed[keep].assign(
                locked_at=[classes[k] for k, ok in zip(own, keep) if ok],
                base_snapshot=base_id))
    if not frames:
        return pd.DataFrame(columns=["school_id", *AFTER_LOCK_COLUMNS])
    changed = pd.concat(frames, ignore_index=True)
    con = snapshots.connect(data_dir, latest.snapshot_id)
    try:
        enrolled = con.execute(
            "SELECT school_id, student_id FROM student WHERE list_contains(?, school_id) "
            "AND active", [sorted(set(changed["school_id"]))]).df().drop_duplicates()
    finally:
        con.close()
    present = changed[["school_id", "student_id"]].merge(
        enrolled.assign(_enrolled=True), on=["school_id", "student_id"], how="left")
    changed["student_left"] = present["_enrolled"].isna().to_numpy()
    return changed


def not_approved(changes: pd.DataFrame) -> pd.DataFrame:
    """Changes that needed the principal's consent and do not have it."""
    return changes[~changes["decision"].isin(["approved", "student_left"])]


def _blank_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def store_demo_requests(data_dir: Path | str) -> None:
    """The demo school's paperwork for its changes after the GK1 lock: of the values corrected
    after the lock, some have an approved request, some a rejected one, one is pending and the
    rest none. Idempotent; deterministic (the corrections are taken in a fixed order)."""
    latest = snapshots.latest_snapshot(data_dir)
    if latest is None or latest.source != "demo":
        return
    con = snapshots.connect(data_dir, latest.snapshot_id)
    try:
        school_ids = [r[0] for r in con.execute("SELECT school_id FROM school ORDER BY 1").fetchall()]
        homeroom = dict(con.execute(
            "SELECT c.class_id, s.full_name FROM \"class\" c JOIN staff s "
            "ON s.school_id = c.school_id AND s.staff_id = c.homeroom_staff_id").fetchall())
    finally:
        con.close()
    plan = ["approved"] * 4 + ["rejected"] * 2 + ["pending"]
    for school_id in school_ids:
        if not requests(data_dir, latest.school_year, school_id).empty:
            continue
        corrected = changed_after_lock(data_dir, latest, school_id, "GK1")
        corrected = corrected[corrected["change"] == "changed"].sort_values(
            ["class_id", "student_id", "item_code", "field"])
        for decision, row in zip(plan, corrected.itertuples()):
            locked = pd.Timestamp(row.locked_at).to_pydatetime()
            request_id = record_request(
                data_dir, school_year=latest.school_year, school_id=school_id,
                student_id=row.student_id, period=row.period, item_type=row.item_type,
                item_code=row.item_code, field=row.field, old_value=row.before,
                new_value=row.after, reason="Nhập nhầm khi nhập liệu, đối chiếu với bài kiểm tra",
                requested_by=homeroom.get(row.class_id, "Giáo viên chủ nhiệm"), actor="quantri",
                at=locked + pd.Timedelta(days=2).to_pytimedelta())
            if decision != "pending":
                decide(data_dir, request_id, decision,
                       None if decision == "approved" else "Không có minh chứng trên bài kiểm tra",
                       "hieutruong", at=locked + pd.Timedelta(days=3).to_pytimedelta())
