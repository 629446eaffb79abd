"""Will a unit be entered by its deadline? A calibrated estimate from the school's own history.

Entry comes in bursts close to the deadline, so "nothing entered in the last week" says little
about who will be late. What does: how units in the same state, at the same distance from the
deadline, ended in the school's earlier windows — and above all the same teacher's units.

A *case* is one unit (class × subject, or a class's traits) not yet complete in one snapshot of
a window whose outcome is known, with its days left to the end of the deadline day, its band
(not started / under half / half or more entered) and whether it turned out late. A unit is
late when it is still incomplete in the deadline day's snapshot, or, when there is none on that
day, in the first snapshot after the deadline (a unit complete there counts as on time).

The chance that a unit now incomplete ends late is an empirical rate, shrunk towards the next
wider one when the cases are few (a Beta-binomial estimate):
    school rate  = (late among the school's similar cases + SCHOOL_WEIGHT × starting rate)
                   / (similar cases + SCHOOL_WEIGHT)
    teacher rate = (late among the teacher's similar cases + TEACHER_WEIGHT × school rate)
                   / (teacher's similar cases + TEACHER_WEIGHT)
"similar": the same band, days left within SIMILAR_DAYS. The starting rate (`starting_rate`)
is all there is before the school's first closed window. A unit is "at risk" from AT_RISK on.

`backtest` replays every closed window: at 10, 7, 5 and 3 days before its deadline, what would
have been flagged from the history known then, against what happened.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Callable

import numpy as np
import pandas as pd

AT_RISK = 0.5
SIMILAR_DAYS = 1.5
TEACHER_WEIGHT = 2.0
SCHOOL_WEIGHT = 4.0
BACKTEST_DAYS = (10, 7, 5, 3)
BANDS = ("not_started", "under_half", "half_or_more")

# (school_year, period, grade) → (opens, deadline, lock), or None without a schedule
WindowOf = Callable[[str, str, int], "tuple[date, date, date] | None"]
UNIT = ["school_year", "period", "class_id", "item_code"]


def band_of(entered, expected) -> np.ndarray:
    """0 not started, 1 under half, 2 half or more (of an incomplete unit)."""
    entered = np.asarray(entered, dtype=float)
    share = entered / np.maximum(np.asarray(expected, dtype=float), 1)
    return np.where(entered <= 0, 0, np.where(share < 0.5, 1, 2))


def starting_rate(days_left, band) -> np.ndarray:
    """The chance of ending late before the school has any history: in bursts near the
    deadline, an unstarted unit with days to go is usual, one on the last day is not."""
    days_left = np.asarray(days_left, dtype=float)
    unstarted = np.select([days_left >= 5, days_left >= 3, days_left >= 1], [0.1, 0.25, 0.5], 0.8)
    return unstarted * np.choose(np.asarray(band), [1.0, 0.6, 0.3])


def deadline_end(deadline: date) -> datetime:
    """Entry is due by the end of the deadline day."""
    return datetime.combine(deadline + timedelta(days=1), time())


def _with_windows(hist: pd.DataFrame, window_of: WindowOf) -> pd.DataFrame:
    keys = hist[["school_year", "period", "grade"]].drop_duplicates()
    rows = []
    for year, period, grade in keys.itertuples(index=False):
        found = window_of(year, period, int(grade))
        if found:
            rows.append((year, period, grade, pd.Timestamp(found[0]),
                         pd.Timestamp(deadline_end(found[1]))))
    windows = pd.DataFrame(rows, columns=["school_year", "period", "grade", "opens", "due"])
    windows = windows.astype({"opens": "datetime64[ns]", "due": "datetime64[ns]"})
    return hist.astype({"taken_at": "datetime64[ns]"}).merge(
        windows, on=["school_year", "period", "grade"])


def _truth_times(hist: pd.DataFrame) -> pd.DataFrame:
    """Per window (school year, period, grade): the snapshot that tells late from on time, when
    the data has one (see the module doc)."""
    rows = []
    for (year, period, grade, due), times in hist.groupby(
            ["school_year", "period", "grade", "due"])["taken_at"]:
        times = np.sort(times.unique())
        before = times[times < due]
        after = times[times >= due]
        if len(before) and pd.Timestamp(before[-1]).date() == (due - pd.Timedelta(days=1)).date():
            rows.append((year, period, grade, before[-1]))
        elif len(after):
            rows.append((year, period, grade, after[0]))
    return pd.DataFrame(rows, columns=["school_year", "period", "grade", "known_at"])


def _framed(hist: pd.DataFrame, window_of: WindowOf) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history with each row's window and the time its outcome is known, and the outcome
    (late or not) of every unit of a window whose outcome is known."""
    framed = _with_windows(hist, window_of)
    framed = framed.merge(_truth_times(framed), on=["school_year", "period", "grade"])
    outcome = framed[framed["taken_at"] == framed["known_at"]]
    return framed, outcome.assign(late=outcome["entered"] < outcome["expected"])[UNIT + ["late"]]


def cases(hist: pd.DataFrame, window_of: WindowOf) -> pd.DataFrame:
    """Every case of the history (see the module doc): school_year, period, class_id,
    item_code, staff_id, taken_at, days_left, band, late, known_at (when the outcome is known)."""
    columns = UNIT + ["grade", "staff_id", "taken_at", "days_left", "band", "late", "known_at"]
    if hist.empty:
        return pd.DataFrame(columns=columns)
    framed, outcome = _framed(hist, window_of)
    open_rows = framed[(framed["taken_at"] >= framed["opens"]) & (framed["taken_at"] < framed["due"])
                       & (framed["taken_at"] <= framed["known_at"])
                       & (framed["entered"] < framed["expected"])]
    out = open_rows.merge(outcome, on=UNIT)
    if out.empty:
        return pd.DataFrame(columns=columns)
    out["days_left"] = (out["due"] - out["taken_at"]).dt.total_seconds() / 86400
    out["band"] = band_of(out["entered"], out["expected"])
    return out[columns].reset_index(drop=True)


def predict(units: pd.DataFrame, days_left, history: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The chance each incomplete unit ends late, from the cases known by `now`.

    `units` has staff_id, expected, entered; `days_left` per unit (to the end of its deadline
    day). Returns p_late, teacher_cases, teacher_late (the teacher's similar cases and how
    many of them ended late), school_cases, school_late; p_late is 0 for a complete unit."""
    days_left = np.asarray(days_left, dtype=float)
    band = band_of(units["entered"], units["expected"])
    # outcomes known before now: never the window being predicted, even on its deadline day
    known = history[history["known_at"] < pd.Timestamp(now)] if len(history) else history
    out = pd.DataFrame({"p_late": 0.0, "teacher_cases": 0, "teacher_late": 0,
                        "school_cases": 0, "school_late": 0}, index=units.index)
    incomplete = (units["entered"] < units["expected"]).to_numpy()
    staff = units["staff_id"].fillna("").to_numpy(dtype=object)
    combos = pd.DataFrame({"d": days_left, "band": band})[incomplete].drop_duplicates()
    for d, b in combos.itertuples(index=False):
        similar = known[(known["band"] == b) & ((known["days_left"] - d).abs() <= SIMILAR_DAYS)] \
            if len(known) else known
        n_school, k_school = len(similar), int(similar["late"].sum()) if len(similar) else 0
        p_school = (k_school + SCHOOL_WEIGHT * float(starting_rate(d, b))) \
            / (n_school + SCHOOL_WEIGHT)
        per_teacher = similar[similar["staff_id"].notna()].groupby("staff_id")["late"].agg(
            ["size", "sum"]) if len(similar) else pd.DataFrame(columns=["size", "sum"])
        here = np.flatnonzero(incomplete & (days_left == d) & (band == b))
        for i in here:
            n, k = (per_teacher.loc[staff[i]] if staff[i] in per_teacher.index else (0, 0))
            n, k = int(n), int(k)
            out.iloc[i] = ((k + TEACHER_WEIGHT * p_school) / (n + TEACHER_WEIGHT), n, k,
                           n_school, k_school)
    return out


def days_left_at(now: datetime, deadlines) -> np.ndarray:
    """Days from `now` to the end of each deadline day (NaN without a deadline)."""
    return np.array([(deadline_end(d) - now).total_seconds() / 86400 if d is not None else np.nan
                     for d in deadlines], dtype=float)


def backtest(hist: pd.DataFrame, window_of: WindowOf,
             days_before: tuple[int, ...] = BACKTEST_DAYS) -> pd.DataFrame:
    """For every window of the history whose outcome is known and each of `days_before`: from
    the last snapshot at least that many days before the deadline (and after the window
    opened), the units flagged with only the history known then, against what happened.
    One row per school_year, period, days_before: units, late, flagged, hits."""
    columns = ["school_year", "period", "days_before", "units", "late", "flagged", "hits"]
    history = cases(hist, window_of)
    if history.empty:
        return pd.DataFrame(columns=columns)
    framed, outcome = _framed(hist, window_of)
    rows = []
    for (year, period), window in framed.groupby(["school_year", "period"], sort=False):
        for k in days_before:
            at = window[(window["taken_at"] >= window["opens"])
                        & ((window["due"] - window["taken_at"]).dt.total_seconds() / 86400 >= k)]
            # the last such snapshot of each grade's window
            at = at[at["taken_at"] == at.groupby("grade")["taken_at"].transform("max")]
            if at.empty:
                continue
            at = at.merge(outcome, on=UNIT)
            flagged = np.zeros(len(at), dtype=bool)
            for taken_at, part in at.groupby("taken_at"):
                p = predict(part, (part["due"] - taken_at).dt.total_seconds() / 86400,
                            history, taken_at.to_pydatetime())["p_late"]
                flagged[at.index.get_indexer(part.index)] = p.to_numpy() >= AT_RISK
            late = at["late"].to_numpy(dtype=bool)
            rows.append((year, period, k, len(at), int(late.sum()), int(flagged.sum()),
                         int((late & flagged).sum())))
    return pd.DataFrame(rows, columns=columns)


def scores(results: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Precision (how many flagged units really ended late) and recall (how many late units
    were flagged) of backtest rows, summed over the rows of each group of `by`."""
    if results.empty:
        return pd.DataFrame(columns=(by or []) + ["units", "late", "flagged", "hits",
                                                  "precision", "recall"])
    summed = (results.groupby(by, as_index=False) if by else
              results.assign(_all=0).groupby("_all", as_index=False))[
        ["units", "late", "flagged", "hits"]].sum()
    summed = summed.drop(columns=["_all"], errors="ignore")
    summed["precision"] = summed["hits"] / summed["flagged"].where(summed["flagged"] > 0)
    summed["recall"] = summed["hits"] / summed["late"].where(summed["late"] > 0)
    return summed
