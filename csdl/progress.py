"""Entry progress against the lock schedule, as of a snapshot's time (no Streamlit here).

The figures come from SQL (`queries/progress_units.sql`, the Parquet summaries written with
each snapshot); this module adds the rules that need the schedule: state, standing against the
deadline and the lock, the chance of ending late (forecast.py, from the school's earlier
windows) and, for the whole selection's burn-up only, the finish projected from the recent rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from . import forecast, queries, rules, snapshots, summaries

LOOKBACK_DAYS = 7  # the burn-up's rate is measured over the last week of snapshots
STATES = ("not_started", "in_progress", "complete")
# Worst first: a teacher's or class's status is the worst of its units.
STATUSES = ("locked_incomplete", "overdue", "at_risk", "no_schedule", "on_track", "complete")


@dataclass(frozen=True)
class Window:
    opens: date
    deadline: date
    lock: date


WindowLookup = Callable[[int | None], Window | None]  # grade → its window for the period
LockLookup = Callable[[int, str], bool]  # (grade, class_id) → locked at the snapshot's time


def state_of(expected: int, entered: int) -> str:
    if expected and entered >= expected:
        return "complete"
    return "not_started" if entered == 0 else "in_progress"


def projected_finish(history: pd.DataFrame, now: datetime, expected: int,
                     lookback_days: int = LOOKBACK_DAYS) -> datetime | None:
    """When the unit will be complete at its entry rate over the last `lookback_days`.

    `history` has columns taken_at, entered (one row per snapshot up to `now`). Returns None
    when there is no earlier snapshot in the window to measure a rate, `datetime.max` when
    nothing was entered over it (it will never finish at this rate).
    """
    past = history[(history["taken_at"] < now)
                   & (history["taken_at"] >= now - timedelta(days=lookback_days))]
    current = history.loc[history["taken_at"] == now, "entered"]
    if past.empty or current.empty:
        return None
    entered_now = int(current.iloc[-1])
    remaining = expected - entered_now
    if remaining <= 0:
        return now
    first = past.sort_values("taken_at").iloc[0]
    days = (now - first["taken_at"]).total_seconds() / 86400
    rate = (entered_now - int(first["entered"])) / days
    if rate <= 0:
        return datetime.max
    return now + timedelta(days=remaining / rate)


def status_of(expected: int, entered: int, now: datetime, window: Window | None, locked: bool,
              p_late: float) -> str:
    """complete / locked_incomplete / overdue / at_risk / on_track, or no_schedule."""
    if expected and entered >= expected:
        return "complete"
    if locked:
        return "locked_incomplete"
    if window is None:
        return "no_schedule"
    if now.date() > window.deadline:
        return "overdue"
    if p_late >= forecast.AT_RISK:
        return "at_risk"
    return "on_track"


def worst(statuses: pd.Series) -> str:
    present = set(statuses)
    return next((s for s in STATUSES if s in present), "complete")


def history(data_dir: Path | str, school_id: str, period: str,
            snapshot: snapshots.SnapshotInfo) -> pd.DataFrame:
    """Units of every snapshot of the same school year up to `snapshot`, from the summaries."""
    snaps, _ = snapshots.list_snapshots(data_dir)
    chosen = [s for s in snaps if s.school_year == snapshot.school_year
              and s.taken_at <= snapshot.taken_at and s.source == snapshot.source]
    files = [str(summaries.ensure_summary(data_dir, s.snapshot_id)) for s in chosen]
    if not files:
        return pd.DataFrame(columns=["snapshot_id", "taken_at", "class_id", "grade", "item_code",
                                     "staff_id", "expected", "entered"])
    con = duckdb.connect(":memory:")
    try:
        return queries.run(con, "progress_history", files=files, school_id=school_id,
                           period=period)
    finally:
        con.close()


def entry_history(data_dir: Path | str, school_id: str,
                  snapshot: snapshots.SnapshotInfo) -> pd.DataFrame:
    """Units of every period in every snapshot of the school up to `snapshot` (any school year,
    the same source): the earlier windows the forecast learns from."""
    snaps, _ = snapshots.list_snapshots(data_dir)
    chosen = [s for s in snaps if s.taken_at <= snapshot.taken_at and s.source == snapshot.source]
    files = [str(summaries.ensure_summary(data_dir, s.snapshot_id)) for s in chosen]
    con = duckdb.connect(":memory:")
    try:
        return queries.run(con, "entry_history", files=files, school_id=school_id)
    finally:
        con.close()


def unit_progress(units: pd.DataFrame, learned: forecast.History, now: datetime,
                  window_for: WindowLookup, locked: LockLookup) -> pd.DataFrame:
    """Add state, chance of ending late, status, deadline and lock to each class × subject unit,
    worst first (status, then the chance of ending late); `learned` from forecast.history.
    `units` are all the units of the period (a teacher's state counts all their units)."""
    out = units.copy()
    windows = [window_for(int(g)) for g in out["grade"]]
    out["deadline"] = [w.deadline if w else None for w in windows]
    out["lock"] = [w.lock if w else None for w in windows]
    chance = forecast.predict(out, forecast.days_left_at(now, out["deadline"]), learned, now)
    out = out.join(chance)
    out["state"] = [state_of(int(e), int(n)) for e, n in zip(out["expected"], out["entered"])]
    out["status"] = [status_of(int(row.expected), int(row.entered), now, window,
                               locked(int(row.grade), row.class_id), float(row.p_late))
                     for row, window in zip(out.itertuples(index=False), windows)]
    rank = out["status"].map({s: i for i, s in enumerate(STATUSES)})
    return out.assign(_rank=rank).sort_values(["_rank", "p_late"], ascending=[True, False],
                                              kind="stable").drop(columns="_rank") \
        .reset_index(drop=True)


def furthest_behind(progress: pd.DataFrame, count: int = 5) -> pd.DataFrame:
    """The units furthest behind, for the overview: late or at risk first (in status order),
    then the most values still missing."""
    behind = progress[progress["status"].isin(["locked_incomplete", "overdue", "at_risk"])]
    rank = behind["status"].map({s: i for i, s in enumerate(STATUSES)})
    return behind.assign(missing=behind["expected"] - behind["entered"], _rank=rank) \
        .sort_values(["_rank", "missing", "p_late"], ascending=[True, False, False],
                     kind="stable").drop(columns="_rank").head(count).reset_index(drop=True)


def by_class_subject(progress: pd.DataFrame) -> pd.DataFrame:
    return progress[["class_id", "item_code", "expected", "entered", "completion", "status"]] \
        .rename(columns={"item_code": "subject_code"})


def by_teacher(progress: pd.DataFrame) -> pd.DataFrame:
    """One row per responsible teacher (units with no teacher assigned grouped as None), worst
    first: by status, then the most units behind, then the least entered."""
    grouped = progress.assign(staff_id=progress["staff_id"].fillna("")).groupby(
        "staff_id", sort=True)
    out = grouped.agg(full_name=("staff_name", "first"), expected=("expected", "sum"),
                      entered=("entered", "sum"), units=("item_code", "size"),
                      units_behind=("status", lambda s: int(s.isin(
                          ["locked_incomplete", "overdue", "at_risk"]).sum())),
                      status=("status", worst)).reset_index()
    out["completion"] = out["entered"] / out["expected"].where(out["expected"] > 0)
    out["staff_id"] = out["staff_id"].replace("", None)
    rank = out["status"].map({s: i for i, s in enumerate(STATUSES)})
    out = out.assign(_rank=rank).sort_values(["_rank", "units_behind", "completion"],
                                             ascending=[True, False, True], kind="stable")
    return out[["staff_id", "full_name", "expected", "entered", "completion", "units",
                "units_behind", "status"]].reset_index(drop=True)


def overdue(progress: pd.DataFrame) -> pd.DataFrame:
    late = progress[progress["status"].isin(["overdue", "locked_incomplete"])]
    return late[["class_id", "class_name", "item_code", "staff_id", "staff_name", "expected",
                 "entered", "completion", "deadline", "status"]].rename(
        columns={"item_code": "subject_code"})


def totals_over_time(hist: pd.DataFrame) -> pd.DataFrame:
    """Completion of the whole selection at each snapshot (the burn-up line)."""
    if hist.empty:
        return pd.DataFrame(columns=["taken_at", "expected", "entered", "completion"])
    out = hist.groupby("taken_at", as_index=False)[["expected", "entered"]].sum()
    out["completion"] = out["entered"] / out["expected"].where(out["expected"] > 0)
    return out.sort_values("taken_at", ignore_index=True)


def current_period(windows: dict[str, Window], now: datetime,
                   periods_with_entries: list[str]) -> str:
    """The period whose entry window (opening to lock) holds `now`; else the latest opened;
    else the latest with entries; else GK1."""
    today = now.date()
    for period in rules.PERIODS:
        w = windows.get(period)
        if w and w.opens <= today <= w.lock:
            return period
    opened = [p for p in rules.PERIODS if p in windows and windows[p].opens <= today]
    if opened:
        return opened[-1]
    return periods_with_entries[-1] if periods_with_entries else rules.PERIODS[0]


def days_until(day: date | None, now: datetime) -> int | None:
    return None if day is None else (day - now.date()).days


def summary_figures(progress: pd.DataFrame) -> dict[str, object]:
    """The overview's figures for a period: completion and the classes behind."""
    expected = int(progress["expected"].sum())
    entered = int(progress["entered"].sum())
    behind = progress[progress["status"].isin(["overdue", "locked_incomplete"])]
    at_risk = progress[progress["status"] == "at_risk"]
    return {
        "expected": expected, "entered": entered,
        "completion": entered / expected if expected else None,
        "classes": int(progress["class_id"].nunique()),
        "classes_overdue": int(behind["class_id"].nunique()),
        "classes_at_risk": int(at_risk["class_id"].nunique()),
        "units_overdue": len(behind),
    }


def compute(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
            period: str) -> pd.DataFrame:
    """Every class × subject unit of a period with its status, as of the snapshot's time,
    against the school's lock schedule and lock events in app.db."""
    from . import schedule

    con = queries.prepare(snapshots.connect(data_dir, snapshot.snapshot_id))
    try:
        units = queries.run(con, "progress_units", school_id=school_id, period=period)
    finally:
        con.close()
    found_windows: dict[int | None, tuple | None] = {}
    windows: dict[int | None, Window | None] = {}
    locks: dict[tuple[int, str], bool] = {}
    period_events: list = []  # read from app.db once, not once per class

    def window_for(grade: int | None) -> Window | None:
        if grade not in windows:
            found = found_windows[grade] = schedule.window_for(
                data_dir, snapshot.school_year, period, grade, school_id=school_id)
            windows[grade] = Window(*found) if found else None
        return windows[grade]

    def locked(grade: int, class_id: str) -> bool:
        # schedule.lock_state's rule (schedule.decide) on the events and window read once
        if (grade, class_id) not in locks:
            if not period_events:
                period_events.append(schedule.events(data_dir, snapshot.school_year, period,
                                                     school_id).to_dict("records"))
            window_for(grade)
            locks[(grade, class_id)] = schedule.decide(
                period_events[0], found_windows[grade], grade, class_id,
                snapshot.taken_at).locked
        return locks[(grade, class_id)]

    order = {code: i for i, code in enumerate(rules.UNIT_ORDER)}
    units = units.sort_values(["grade", "class_name", "item_code"],
                              key=lambda c: c.map(order) if c.name == "item_code" else c,
                              ignore_index=True)
    learned = forecast.history(entry_history(data_dir, school_id, snapshot),
                               year_window_lookup(data_dir, school_id))
    return unit_progress(units, learned, snapshot.taken_at, window_for, locked)


def year_window_lookup(data_dir: Path | str, school_id: str) -> forecast.WindowOf:
    """(school_year, period, grade) → (opens, deadline, lock) in the school's schedule, each
    read from app.db once."""
    from . import schedule

    found: dict[tuple, tuple | None] = {}

    def window_of(school_year: str, period: str, grade: int):
        key = (school_year, period, grade)
        if key not in found:
            found[key] = schedule.window_for(data_dir, school_year, period, grade,
                                             school_id=school_id)
        return found[key]

    return window_of


def backtest(data_dir: Path | str, snapshot: snapshots.SnapshotInfo,
             school_id: str) -> pd.DataFrame:
    """forecast.backtest over the school's history up to `snapshot`."""
    return forecast.backtest(entry_history(data_dir, school_id, snapshot),
                             year_window_lookup(data_dir, school_id))


def school_windows(data_dir: Path | str, school_year: str,
                   school_id: str | None) -> dict[str, Window]:
    """The whole-school window of each period that has one, in the school's schedule (its own,
    else the shared one; None: the shared schedule)."""
    from . import schedule

    rows = schedule.windows(data_dir, school_year, school_id=school_id)
    rows = rows[rows["grade"].isna()]
    return {r.period: Window(r.opens, r.deadline, r.lock) for r in rows.itertuples()}


def projection_line(totals: pd.DataFrame, now: datetime, until: date | None):
    """The burn-up's dashed line: from now to the projected finish (or, when nothing moves,
    flat to `until`). None when there is no history to measure a rate."""
    if totals.empty or now not in set(totals["taken_at"]):
        return None
    current = totals[totals["taken_at"] == now].iloc[-1]
    expected = int(current["expected"])
    if expected == 0 or current["entered"] >= expected:
        return None
    start = (now, float(current["entered"]) / expected)
    finish = projected_finish(totals[["taken_at", "entered"]], now, expected)
    if finish is None:
        return None
    if finish == datetime.max:
        return (start, (datetime.combine(until, datetime.min.time()), start[1])) if until else None
    return start, (finish, 1.0)
