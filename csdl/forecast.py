"""Will a unit be entered by its deadline? A calibrated estimate from the school's own history.

Entry comes in bursts close to the deadline, so "nothing entered in the last week" says little
about who will be late. What does: how units in the same state, at the same distance from the
deadline, ended in the school's earlier windows — and above all the same teacher's units.

A unit's *state* in a snapshot of its window (teachers enter all their units in sessions, so
whether the teacher has begun at all says more than the unit alone):
    idle          not started, and its teacher has entered nothing yet in any of their units
                  with the same deadline (a unit nobody is assigned to: the unit alone)
    behind        idle, while the teacher's own pace had them started by now (see below)
    waiting       not started, but its teacher has begun other units
    under_half    under half of its values entered
    half_or_more  half or more entered (and not complete)
The teacher's *pace*: in each of their earlier windows that they finished on time (fewer than
half of their units late) and whose outcome is known, the snapshot with the number of days
left nearest to now (within SIMILAR_DAYS; of two as near, the earlier): had they entered
anything there? An idle teacher is behind when they had in more than half of those windows;
with no such window they have no pace yet and stay idle. (Windows they finished late are left
out: a teacher late every other window would otherwise have "nothing yet" as their pace.)

A *case* is one unit not yet complete in one snapshot of a window whose outcome is known, with
its days left to the end of the deadline day, its state then and whether it turned out late. A
unit is late when it is still incomplete in the deadline day's snapshot, or, when there is none
on that day, in the first snapshot after the deadline (a unit complete there counts as on time).

The chance that a unit now incomplete ends late is an empirical rate, shrunk towards the next
wider one when the cases are few (a Beta-binomial estimate):
    school rate  = (late among the school's similar cases + SCHOOL_WEIGHT × starting rate)
                   / (similar cases + SCHOOL_WEIGHT)
    teacher rate = (late among the teacher's similar cases + TEACHER_WEIGHT × school rate)
                   / (teacher's similar cases + TEACHER_WEIGHT)
"similar": days left within SIMILAR_DAYS and the same state — except that among the teacher's
own cases idle and behind count together (their own record of having nothing entered at this
point says what it says, whatever their pace was then). Each unit in each snapshot is a case.
Only outcomes known before the moment predicted count, never the window being predicted; the
same holds for the windows that make a teacher's pace.

The starting rate (`starting_rate`) is all there is before the school has cases: for an idle
unit by days left, STARTING_IDLE (0.1 from 5 days left, 0.25 from 3, 0.5 from 1, else 0.8);
behind, the same with its odds multiplied by BEHIND_ODDS (2: having usually begun by now and
not this time is evidence of lateness; 0.18, 0.4, 0.67, 0.89); the other states the idle rate ×
STARTING_FACTOR (waiting and under half 0.6: the teacher's sessions are under way; half or
more 0.3). A unit is "at risk" from AT_RISK on: a calibrated chance of one in two, not a
threshold tuned to a target.

`backtest` replays every closed window: at 10, 7, 5 and 3 days before its deadline, what would
have been flagged from the history known then, against what happened.
"""
from __future__ import annotations

from dataclasses import dataclass
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
STATES = ("idle", "behind", "waiting", "under_half", "half_or_more")
IDLE, BEHIND, WAITING, UNDER_HALF, HALF_OR_MORE = range(len(STATES))
STARTING_IDLE = ((5, 0.1), (3, 0.25), (1, 0.5), (0, 0.8))  # (from days left, rate)
BEHIND_ODDS = 2.0
STARTING_FACTOR = {WAITING: 0.6, UNDER_HALF: 0.6, HALF_OR_MORE: 0.3}

# (school_year, period, grade) → (opens, deadline, lock), or None without a schedule
WindowOf = Callable[[str, str, int], "tuple[date, date, date] | None"]
UNIT = ["school_year", "period", "class_id", "item_code"]
WINDOW = ["who", "school_year", "period", "due"]  # one teacher's units with one deadline
CASE_COLUMNS = UNIT + ["grade", "staff_id", "taken_at", "days_left", "band", "state", "late",
                       "known_at"]
ACTIVITY_COLUMNS = WINDOW + ["taken_at", "days_left", "started", "on_time", "known_at"]


@dataclass(frozen=True)
class History:
    """What the forecast learns from: the cases, and the activity of each teacher ("who": a
    teacher, or a unit nobody is assigned to) in every snapshot of a window whose outcome is
    known — whether they had entered anything, and whether they finished that window on time."""
    cases: pd.DataFrame
    activity: pd.DataFrame


def band_of(entered, expected) -> np.ndarray:
    """0 not started, 1 under half, 2 half or more (of an incomplete unit)."""
    entered = np.asarray(entered, dtype=float)
    share = entered / np.maximum(np.asarray(expected, dtype=float), 1)
    return np.where(entered <= 0, 0, np.where(share < 0.5, 1, 2))


def state_of(band, started, behind) -> np.ndarray:
    """The state (an index into STATES) of incomplete units: `band` from band_of, `started`
    whether the teacher has entered anything in the window, `behind` whether their pace had
    them started by now."""
    band = np.asarray(band)
    idle = np.where(np.asarray(behind, dtype=bool), BEHIND, IDLE)
    return np.select([band == 2, band == 1, np.asarray(started, dtype=bool)],
                     [HALF_OR_MORE, UNDER_HALF, WAITING], idle)


def starting_rate(days_left, state) -> np.ndarray:
    """The chance of ending late before the school has any cases (see the module doc): in
    bursts near the deadline, a teacher with nothing entered and days to go is usual, one with
    nothing on the last day is not."""
    days_left = np.asarray(days_left, dtype=float)
    state = np.asarray(state, dtype=int)
    idle = np.select([days_left >= d for d, _ in STARTING_IDLE[:-1]],
                     [r for _, r in STARTING_IDLE[:-1]], STARTING_IDLE[-1][1])
    odds = idle / (1 - idle) * BEHIND_ODDS
    factor = np.select([state == k for k in STARTING_FACTOR], list(STARTING_FACTOR.values()), 1.0)
    return np.where(state == BEHIND, odds / (1 + odds), idle * factor)


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


def _who(staff_id: pd.Series, unit_key: pd.Series) -> np.ndarray:
    """The teacher, or for a unit nobody is assigned to a key of the unit alone."""
    return np.where(staff_id.isna(), "unit:" + unit_key.astype(str),
                    "staff:" + staff_id.astype(str)).astype(object)


def _behind(asked: pd.DataFrame, activity: pd.DataFrame) -> np.ndarray:
    """For each row of `asked` (who, taken_at, days_left): whether the teacher's pace had them
    started by then (see the module doc), from `activity`."""
    then = activity[activity["on_time"] & activity["who"].str.startswith("staff:")]
    if asked.empty or then.empty:
        return np.zeros(len(asked), dtype=bool)
    asked = asked[["who", "taken_at", "days_left"]].reset_index(drop=True)
    keys = asked.drop_duplicates().reset_index(drop=True)
    keys["q"] = np.arange(len(keys))
    m = keys.merge(then[WINDOW + ["days_left", "started", "known_at"]], on="who",
                   suffixes=("", "_then"))
    m["gap"] = (m["days_left_then"] - m["days_left"]).abs().round(6)  # as near: to a second
    m = m[(m["known_at"] < m["taken_at"]) & (m["gap"] <= SIMILAR_DAYS)]
    nearest = m.sort_values(["q", "gap", "days_left_then"], ascending=[True, True, False]) \
        .drop_duplicates(["q"] + WINDOW[1:])
    behind = nearest.groupby("q")["started"].mean() > 0.5
    keys["behind"] = keys["q"].map(behind).fillna(False).astype(bool)
    return asked.merge(keys, on=["who", "taken_at", "days_left"], how="left")["behind"] \
        .to_numpy(dtype=bool)


def _learn(hist: pd.DataFrame, window_of: WindowOf
           ) -> tuple[History, pd.DataFrame, pd.DataFrame]:
    """The History, with the framed history and the outcomes (for the backtest)."""
    framed, outcome = _framed(hist, window_of)
    framed = framed.assign(who=_who(framed["staff_id"],
                                    framed["class_id"] + "|" + framed["item_code"]))
    truth = framed[framed["taken_at"] == framed["known_at"]]
    on_time = (truth["entered"] >= truth["expected"]).groupby(
        [truth[c] for c in WINDOW]).mean().gt(0.5).rename("on_time").reset_index()
    open_rows = framed[(framed["taken_at"] >= framed["opens"]) & (framed["taken_at"] < framed["due"])
                       & (framed["taken_at"] <= framed["known_at"])]
    open_rows = open_rows.assign(
        days_left=(open_rows["due"] - open_rows["taken_at"]).dt.total_seconds() / 86400)
    activity = open_rows.groupby(WINDOW + ["taken_at"], as_index=False).agg(
        days_left=("days_left", "first"), entered=("entered", "sum"),
        known_at=("known_at", "first"))
    activity["started"] = activity["entered"] > 0
    activity = activity.merge(on_time, on=WINDOW, how="left")
    activity["on_time"] = activity["on_time"].fillna(False).astype(bool)
    activity = activity[ACTIVITY_COLUMNS]
    # each snapshot's state with the pace known then (windows known before it)
    activity_then = activity.assign(behind=_behind(activity, activity))
    out = open_rows[open_rows["entered"] < open_rows["expected"]].merge(outcome, on=UNIT)
    out = out.merge(activity_then[WINDOW + ["taken_at", "started", "behind"]],
                    on=WINDOW + ["taken_at"])
    out["band"] = band_of(out["entered"], out["expected"])
    out["state"] = state_of(out["band"], out["started"], out["behind"])
    learned = History(out[CASE_COLUMNS].reset_index(drop=True), activity.reset_index(drop=True))
    return learned, framed, outcome


def history(hist: pd.DataFrame, window_of: WindowOf) -> History:
    """What the forecast learns from the history of entry (`hist`: the rows of every snapshot,
    school_year, period, grade, class_id, item_code, staff_id, taken_at, expected, entered)."""
    if hist.empty:
        return History(pd.DataFrame(columns=CASE_COLUMNS), pd.DataFrame(columns=ACTIVITY_COLUMNS))
    return _learn(hist, window_of)[0]


def cases(hist: pd.DataFrame, window_of: WindowOf) -> pd.DataFrame:
    """Every case of the history (see the module doc): school_year, period, class_id,
    item_code, grade, staff_id, taken_at, days_left, band, state, late, known_at (when the
    outcome is known)."""
    return history(hist, window_of).cases


def predict(units: pd.DataFrame, days_left, history: History, now: datetime) -> pd.DataFrame:
    """The chance each incomplete unit ends late, from the history known by `now`.

    `units` has staff_id, expected, entered — every unit of the period, complete ones too (a
    teacher's state counts all their units with the same deadline); `days_left` per unit (to
    the end of its deadline day). Returns p_late, teacher_cases, teacher_late (the teacher's
    similar cases and how many of them ended late), school_cases, school_late; p_late is 0 for
    a complete unit."""
    days_left = np.asarray(days_left, dtype=float)
    now = pd.Timestamp(now)
    out = pd.DataFrame({"p_late": 0.0, "teacher_cases": 0, "teacher_late": 0,
                        "school_cases": 0, "school_late": 0}, index=units.index)
    if units.empty:
        return out
    entered = units["entered"].to_numpy(dtype=float)
    incomplete = entered < units["expected"].to_numpy(dtype=float)
    who = _who(units["staff_id"].reset_index(drop=True),
               pd.Series(np.arange(len(units)), dtype=str))
    # the teacher's state now: anything entered in any of their units with the same deadline
    now_rows = pd.DataFrame({"who": who, "taken_at": now, "days_left": days_left,
                             "entered": entered})
    started = now_rows.groupby(["who", "days_left"], dropna=False)["entered"] \
        .transform("sum").to_numpy() > 0
    band = band_of(entered, units["expected"])
    idle = incomplete & ~started
    behind = np.zeros(len(units), dtype=bool)
    if idle.any():  # _behind reads only windows known before now
        behind[idle] = _behind(now_rows[idle], history.activity)
    state = state_of(band, started, behind)
    known = history.cases[history.cases["known_at"] < now]
    k_days, k_state = known["days_left"].to_numpy(dtype=float), known["state"].to_numpy()
    k_late = known["late"].to_numpy(dtype=bool)
    k_staff = known["staff_id"].to_numpy(dtype=object)
    staff = units["staff_id"].to_numpy(dtype=object)
    result = np.zeros((len(units), 5))
    combos = pd.DataFrame({"d": days_left, "s": state})[incomplete].drop_duplicates()
    for d, s in combos.itertuples(index=False):
        near = np.abs(k_days - d) <= SIMILAR_DAYS
        school = near & (k_state == s)
        n_school, k_school = int(school.sum()), int(k_late[school].sum())
        p_school = (k_school + SCHOOL_WEIGHT * float(starting_rate(d, s))) \
            / (n_school + SCHOOL_WEIGHT)
        own = near & (np.isin(k_state, [IDLE, BEHIND]) if s in (IDLE, BEHIND) else k_state == s)
        # cases of units nobody is assigned to are nobody's own
        per_teacher = pd.DataFrame({"staff": k_staff[own], "late": k_late[own]}).groupby(
            "staff")["late"].agg(["size", "sum"])
        here = incomplete & (days_left == d) & (state == s)
        n = pd.Series(staff[here], dtype=object).map(per_teacher["size"]).fillna(0).to_numpy()
        k = pd.Series(staff[here], dtype=object).map(per_teacher["sum"]).fillna(0).to_numpy()
        result[here] = np.column_stack([(k + TEACHER_WEIGHT * p_school) / (n + TEACHER_WEIGHT),
                                        n, k, np.full(len(n), n_school),
                                        np.full(len(n), k_school)])
    out["p_late"] = result[:, 0]
    for i, column in enumerate(["teacher_cases", "teacher_late", "school_cases", "school_late"], 1):
        out[column] = result[:, i].astype(int)
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
    if hist.empty:
        return pd.DataFrame(columns=columns)
    learned, framed, outcome = _learn(hist, window_of)
    if learned.cases.empty:
        return pd.DataFrame(columns=columns)
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
                            learned, taken_at.to_pydatetime())["p_late"]
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
