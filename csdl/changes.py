"""Changes after a lock: change requests in app.db, the principal's decisions, and the match
between every value that changed after a period locked and the request that allows it.

After a lock a change is allowed only with the principal's consent (DOMAIN.md §6). The snapshots
show every change exactly; a change with no approved request is flagged "not approved".
"""
from __future__ import annotations

import functools
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
REQUEST_COLUMNS = ["id", "school_year", "school_id", "student_id", "period", "item_type",
                   "item_code", "field", "old_value", "new_value", "reason", "requested_by",
                   "recorded_by", "recorded_at", "decision", "decided_by", "decided_at",
                   "decision_note"]


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
        con.executescript(_SCHEMA)
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


def decide(data_dir: Path | str, request_id: int, decision: str, note: str | None,
           actor: str | None, at: datetime | None = None) -> None:
    """The principal approves or rejects a request (a rejection needs a note)."""
    if decision not in ("approved", "rejected"):
        raise ChangeError("changes.bad_decision", decision=decision)
    if decision == "rejected" and not (note or "").strip():
        raise ChangeError("changes.note_required")
    at = at or now_local()
    with records.connect(data_dir) as con:
        con.executescript(_SCHEMA)
        cur = con.execute(
            "UPDATE change_request SET decision = ?, decided_by = ?, decided_at = ?, "
            "decision_note = ? WHERE id = ?",
            (decision, actor, at.isoformat(sep=" "), (note or "").strip() or None, request_id))
        if cur.rowcount == 0:
            raise ChangeError("changes.no_such_request", request_id=request_id)
    records.audit(data_dir, actor, "change_decision", request_id=request_id, decision=decision,
                  note=note)


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
    with records.connect(data_dir) as con:
        con.executescript(_SCHEMA)
        rows = con.execute(
            f"SELECT {', '.join(REQUEST_COLUMNS)} FROM change_request "
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
    """When the period locked for the whole school: the first school-wide lock event (of this
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
    locked = {school_id: locked_periods(data_dir, latest, school_id)}
    return _changed(data_dir, latest, locked, period).drop(columns="school_id")


def after_lock_of(data_dir: Path | str, latest: snapshots.SnapshotInfo, school_ids: list[str],
                  period: str | None = None) -> pd.DataFrame:
    """after_lock of several schools at once (the district's comparison), with a school_id
    column: one difference per locked period and base snapshot for all of them, each school's
    changes matched to its own requests."""
    return annotate(changed_after_lock_of(data_dir, latest, school_ids, period),
                    requests_of(data_dir, latest.school_year, school_ids))


def changed_after_lock_of(data_dir: Path | str, latest: snapshots.SnapshotInfo,
                          school_ids: list[str], period: str | None = None) -> pd.DataFrame:
    """changed_after_lock of several schools, with a school_id column first. Remembered per
    snapshot, schools, lock moments and bases (the snapshots never change; the lock records
    are read each time), so the district page's next view reads only the records."""
    scope.check_all(school_ids)
    locked = locked_periods_of(data_dir, latest, school_ids)
    key = tuple((s, lp.period, lp.locked_at, lp.base and lp.base.snapshot_id)
                for s, lps in locked.items() for lp in lps)
    return _changed_cached(str(data_dir), latest.snapshot_id, tuple(locked), key, period).copy()


@functools.lru_cache(maxsize=4)  # a district's cells are large (250k rows at 500 schools)
def _changed_cached(data_dir: str, latest_id: str, school_ids: tuple[str, ...],
                    key: tuple, period: str | None) -> pd.DataFrame:
    locked = {s: [] for s in school_ids}
    for school_id, p, locked_at, base_id in key:
        base = snapshots.get_snapshot(data_dir, base_id) if base_id else None
        locked[school_id].append(LockedPeriod(p, locked_at, base))
    return _changed(data_dir, snapshots.get_snapshot(data_dir, latest_id), locked, period)


def _changed(data_dir: Path | str, latest: snapshots.SnapshotInfo,
             locked: dict[str, list[LockedPeriod]], period: str | None) -> pd.DataFrame:
    """The cells changed after each school's locks: one difference per locked period and base
    snapshot, for all the schools that share them, in period order."""
    groups: dict[tuple[str, str], dict[str, datetime]] = {}
    for p in rules.PERIODS:
        for school_id, lps in locked.items():
            for lp in lps:
                if lp.period != p or (period and p != period) or lp.base is None:
                    continue
                if lp.base.snapshot_id == latest.snapshot_id:
                    continue
                groups.setdefault((p, lp.base.snapshot_id), {})[school_id] = lp.locked_at
    frames = []
    for (p, base_id), schools in groups.items():
        ids = list(schools)
        for start in range(0, len(ids), SCHOOLS_PER_PASS):
            changed = diff_schools(data_dir, base_id, latest.snapshot_id,
                                   ids[start:start + SCHOOLS_PER_PASS], p)
            frames.append(changed.assign(locked_at=changed["school_id"].map(schools),
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
