"""Changes after a lock: change requests in app.db, the principal's decisions, and the match
between every value that changed after a period locked and the request that allows it.

After a lock a change is allowed only with the principal's consent (DOMAIN.md §6). The snapshots
show every change exactly; a change with no approved request is flagged "not approved".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from . import records, rules, schedule, scope, snapshots
from .diff import diff
from .timeutil import now_local

DECISIONS = ("pending", "approved", "rejected")
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
    scope.check(school_id)
    if not records.db_path(data_dir).exists():
        return pd.DataFrame(columns=REQUEST_COLUMNS)
    with records.connect(data_dir) as con:
        con.executescript(_SCHEMA)
        rows = con.execute(
            f"SELECT {', '.join(REQUEST_COLUMNS)} FROM change_request "
            "WHERE school_year = ? AND school_id = ? AND (? IS NULL OR period = ?) ORDER BY id",
            (school_year, school_id, period, period)).fetchall()
    return pd.DataFrame(rows, columns=REQUEST_COLUMNS)


def annotate(changes: pd.DataFrame, reqs: pd.DataFrame) -> pd.DataFrame:
    """Match each changed cell to the latest request for that cell asking for that new value:
    adds request_id and decision ('approved' / 'rejected' / 'pending', or 'none')."""
    key = ["student_id", "period", "item_type", "item_code", "field"]
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
    locks = events[(events["action"] == "lock") & (events["scope"] == "school")]
    if len(locks):
        return pd.Timestamp(locks["at"].min()).to_pydatetime()
    window = schedule.window_for(data_dir, school_year, period, None, school_id=school_id)
    return datetime.combine(window[2], datetime.min.time()) if window else None


def locked_periods(data_dir: Path | str, latest: snapshots.SnapshotInfo,
                   school_id: str | None = None) -> list[LockedPeriod]:
    """The periods of the latest snapshot's year that were locked by its time (for a school:
    by its own lock events or those of every school)."""
    snaps, _ = snapshots.list_snapshots(data_dir)
    same_year = [s for s in snaps if s.school_year == latest.school_year
                 and s.source == latest.source and s.taken_at <= latest.taken_at]
    out = []
    for period in rules.PERIODS:
        moment = lock_moment(data_dir, latest.school_year, period, school_id)
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
    frames = []
    for lp in locked_periods(data_dir, latest, school_id):
        if period and lp.period != period or lp.base is None:
            continue
        if lp.base.snapshot_id == latest.snapshot_id:
            continue
        changed = diff(data_dir, lp.base.snapshot_id, latest.snapshot_id, school_id, lp.period)
        frames.append(changed.assign(locked_at=lp.locked_at, base_snapshot=lp.base.snapshot_id))
    if not frames:
        return pd.DataFrame(columns=AFTER_LOCK_COLUMNS)
    changed = pd.concat(frames, ignore_index=True)
    con = snapshots.connect(data_dir, latest.snapshot_id)
    try:
        enrolled = {r[0] for r in con.execute(
            "SELECT student_id FROM student WHERE school_id = ? AND active", [school_id]).fetchall()}
    finally:
        con.close()
    changed["student_left"] = ~changed["student_id"].isin(enrolled)
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
