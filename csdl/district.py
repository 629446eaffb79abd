"""The district office's comparison of its schools (one row per school): entry progress of a
period, changes after lock, data-quality findings. Each is one pass over all the schools, by
the same definitions the school pages use: progress one DuckDB question over the snapshot's
progress summary; changes one snapshot difference per locked period and base snapshot
(changes.after_lock_of), matched to each school's requests; findings each quality rule once
for every school (quality.counts). So the district sees the numbers each school sees.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import changes, progress, quality, queries, scope, snapshots, summaries

COLUMNS = ["school_id", "name", "expected", "entered", "completion", "units", "overdue_units",
           "changes", "changes_not_approved",
           *(f"findings_{s}" for s in quality.SEVERITIES)]


def _run(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, name: str,
         **params: object) -> pd.DataFrame:
    summary = str(summaries.ensure_summary(data_dir, snapshot.snapshot_id))
    con = queries.prepare(snapshots.connect(data_dir, snapshot.snapshot_id))
    try:
        return queries.run(con, name, summary=summary, **params)
    finally:
        con.close()


def deadlines(data_dir: Path | str, school_year: str, period: str,
              school_ids: list[str]) -> tuple[list[str], list[int], list]:
    """The entry deadlines of a period in each school's schedule (its own, else the shared
    one) as three parallel lists (school ids, grades, days); grade 0 is the whole school's."""
    from . import schedule

    rows = schedule.windows_of_schools(data_dir, school_year, school_ids)
    rows = rows[rows["period"] == period]
    return (list(rows["school_id"]), [0 if pd.isna(g) else int(g) for g in rows["grade"]],
            list(rows["deadline"]))


def current_period(data_dir: Path | str, snapshot: snapshots.SnapshotInfo,
                   school_ids: list[str]) -> str:
    """The period the district compares by default: the current period (progress.current_period)
    of most of its schools, each by its own schedule (ties: the earlier period)."""
    from . import rules, schedule

    scope.check_all(school_ids)
    with_entries = set(_run(data_dir, snapshot, "district_periods",
                            school_ids=list(school_ids))["period"])
    entered = [p for p in rules.PERIODS if p in with_entries]
    rows = schedule.windows_of_schools(data_dir, snapshot.school_year, school_ids)
    rows = rows[rows["grade"].isna()]
    votes: dict[str, int] = {}
    for school_id in dict.fromkeys(school_ids):
        windows = {r.period: progress.Window(r.opens, r.deadline, r.lock)
                   for r in rows[rows["school_id"] == school_id].itertuples()}
        period = progress.current_period(windows, snapshot.taken_at, entered)
        votes[period] = votes.get(period, 0) + 1
    if not votes:  # no school
        return progress.current_period({}, snapshot.taken_at, entered)
    return max(rules.PERIODS, key=lambda p: (votes.get(p, 0), -rules.PERIODS.index(p)))


def progress_by_school(data_dir: Path | str, snapshot: snapshots.SnapshotInfo,
                       school_ids: list[str], period: str) -> pd.DataFrame:
    """school_id, name, expected, entered, completion, units, overdue_units (incomplete units
    whose grade's entry deadline, else the whole school's, passed before the snapshot's day;
    each school by its own schedule, else the shared one)."""
    scope.check_all(school_ids)
    schools, grades, days = deadlines(data_dir, snapshot.school_year, period, school_ids)
    out = _run(data_dir, snapshot, "district_progress", school_ids=list(school_ids),
               period=period, as_of_day=snapshot.taken_at.date(),
               deadline_schools=schools, deadline_grades=grades, deadline_days=days)
    out.insert(4, "completion", [e / x if x else None
                                 for e, x in zip(out["entered"], out["expected"])])
    return out


def compare(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_ids: list[str],
            period: str) -> pd.DataFrame:
    """One row per school (COLUMNS). The changed cells and the findings' counts are remembered
    per snapshot (the lock records and the change requests are read on every call, so a
    decision shows at once); raises SettingsError when settings.yaml is unusable."""
    scope.check_all(school_ids)
    out = progress_by_school(data_dir, snapshot, school_ids, period)
    ids = list(out["school_id"])
    after = changes.after_lock_of(data_dir, snapshot, ids)
    counted = pd.DataFrame({
        "school_id": ids,
        "changes": after["school_id"].value_counts().reindex(ids, fill_value=0).to_numpy(),
        "changes_not_approved": changes.not_approved(after)["school_id"].value_counts()
        .reindex(ids, fill_value=0).to_numpy()})
    found = quality.cached_counts(data_dir, snapshot, ids).rename(
        columns={s: f"findings_{s}" for s in quality.SEVERITIES})
    out = out.merge(counted, on="school_id", how="left").merge(found, on="school_id", how="left")
    return out[COLUMNS].astype({c: "int64" for c in COLUMNS[7:]})
