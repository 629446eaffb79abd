"""The forecast on histories built by hand: states, cases, chances and the backtest, worked out
here by hand from the module's formulas (see csdl/forecast.py)."""
from datetime import date, datetime

import pandas as pd
import pytest

from csdl import forecast

YEAR = "2026-2027"
WINDOWS = {"GK1": (date(2026, 10, 1), date(2026, 10, 10), date(2026, 10, 13)),
           "CK1": (date(2026, 11, 1), date(2026, 11, 10), date(2026, 11, 13)),
           "GK2": (date(2026, 12, 1), date(2026, 12, 10), date(2026, 12, 13))}


def window_of(school_year, period, grade):
    return WINDOWS.get(period) if school_year == YEAR else None


def at(month, day):
    return datetime(2026, month, day, 17, 0)


# (taken_at, period, class, item, teacher, expected, entered)
ROWS = [
    # GK1: the deadline day has a snapshot, so it tells late from on time.
    (at(10, 7), "GK1", "A", "TOAN", "T1", 10, 0), (at(10, 10), "GK1", "A", "TOAN", "T1", 10, 0),
    (at(10, 7), "GK1", "A", "TV", "T2", 10, 0), (at(10, 10), "GK1", "A", "TV", "T2", 10, 10),
    (at(10, 7), "GK1", "B", "TOAN", "T1", 10, 5), (at(10, 10), "GK1", "B", "TOAN", "T1", 10, 10),
    # CK1: no snapshot on the deadline day; the first one after it tells.
    (at(11, 7), "CK1", "A", "TOAN", "T1", 10, 0), (at(11, 12), "CK1", "A", "TOAN", "T1", 10, 10),
    (at(11, 7), "CK1", "A", "TV", "T2", 10, 0), (at(11, 12), "CK1", "A", "TV", "T2", 10, 0),
    (at(11, 7), "CK1", "B", "TOAN", "T1", 10, 10), (at(11, 12), "CK1", "B", "TOAN", "T1", 10, 10),
    # GK2: still open.
    (at(12, 7), "GK2", "A", "TOAN", "T1", 10, 0), (at(12, 7), "GK2", "A", "TV", "T2", 10, 0),
    (at(12, 7), "GK2", "B", "TOAN", "T1", 10, 6), (at(12, 7), "GK2", "C", "TD", None, 10, 0),
]


def history(rows=ROWS) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["taken_at", "period", "class_id", "item_code", "staff_id",
                                     "expected", "entered"])
    return df.assign(snapshot_id=df["taken_at"].astype(str), school_year=YEAR, grade=1)


IDLE, BEHIND, WAITING, UNDER, HALF = range(5)
D3 = 3 + 7 / 24  # 17:00, three days before the end of the deadline day


def test_cases_and_their_outcomes():
    got = forecast.cases(history(), window_of)
    got = sorted((r.period, r.class_id, r.item_code, round(r.days_left, 3), r.band, r.state,
                  bool(r.late), r.known_at) for r in got.itertuples())
    d3, d0 = round(D3, 3), round(7 / 24, 3)  # 17:00, 3 days / the day before the end
    assert got == sorted([
        # T1 has begun (B/TOAN is half entered): A/TOAN is waiting, not idle.
        ("GK1", "A", "TOAN", d3, 0, WAITING, True, pd.Timestamp(at(10, 10))),
        ("GK1", "A", "TOAN", d0, 0, WAITING, True, pd.Timestamp(at(10, 10))),  # still incomplete
        ("GK1", "A", "TV", d3, 0, IDLE, False, pd.Timestamp(at(10, 10))),  # T2 has nothing
        ("GK1", "B", "TOAN", d3, 2, HALF, False, pd.Timestamp(at(10, 10))),
        # B/TOAN is complete, so T1 has begun; done by the next snapshot.
        ("CK1", "A", "TOAN", d3, 0, WAITING, False, pd.Timestamp(at(11, 12))),
        # T2 had nothing at this point of GK1 either (on time): idle, not behind.
        ("CK1", "A", "TV", d3, 0, IDLE, True, pd.Timestamp(at(11, 12))),
    ])  # B/TOAN of CK1 was complete: no case; GK2 has no outcome yet


def test_chances_shrink_the_teacher_towards_the_school():
    units = history()
    units = units[units["period"] == "GK2"].reset_index(drop=True)
    now = at(12, 7)
    days = forecast.days_left_at(now, [WINDOWS["GK2"][1]] * len(units))
    got = forecast.predict(units, days, forecast.history(history(), window_of), now)
    # A/TOAN: T1 has begun (B/TOAN 6 of 10), so waiting, 3.29 days left: two similar cases,
    # both T1's, one late; the starting rate there is 0.25 × 0.6.
    school = (1 + 4 * 0.25 * 0.6) / (2 + 4)
    assert got.loc[0, "p_late"] == pytest.approx((1 + 2 * school) / (2 + 2))
    assert (got.loc[0, "teacher_cases"], got.loc[0, "teacher_late"]) == (2, 1)
    assert (got.loc[0, "school_cases"], got.loc[0, "school_late"]) == (2, 1)
    # A/TV: T2 has nothing (idle; in GK1, their one on-time window, nothing either, so not
    # behind): two idle cases, both T2's, one late; starting rate 0.25.
    school_idle = (1 + 4 * 0.25) / (2 + 4)
    assert got.loc[1, "p_late"] == pytest.approx((1 + 2 * school_idle) / (2 + 2))
    assert (got.loc[1, "teacher_cases"], got.loc[1, "school_cases"]) == (2, 2)
    # Half entered: one similar case (on time); starting rate 0.25 × 0.3.
    school_half = (0 + 4 * 0.075) / (1 + 4)
    assert got.loc[2, "p_late"] == pytest.approx((0 + 2 * school_half) / (1 + 2))
    # Nobody assigned, nothing entered: idle, the school's rate shrunk as a teacher with no cases.
    assert got.loc[3, "p_late"] == pytest.approx(school_idle)
    assert got.loc[3, "teacher_cases"] == 0
    assert (got["p_late"] < forecast.AT_RISK).all()


def test_only_outcomes_known_by_then_count():
    units = history()
    units = units[(units["period"] == "CK1") & (units["taken_at"] == at(11, 7))].reset_index(drop=True)
    now = at(11, 7)  # CK1's outcome is not known yet: only GK1 counts
    days = forecast.days_left_at(now, [WINDOWS["CK1"][1]] * len(units))
    got = forecast.predict(units, days, forecast.history(history(), window_of), now)
    # A/TOAN waits (T1 completed B/TOAN): GK1's one waiting case 3.29 days out, T1's, late.
    school = (1 + 4 * 0.15) / (1 + 4)
    assert got.loc[0, "p_late"] == pytest.approx((1 + 2 * school) / (1 + 2))
    assert got.loc[0, "p_late"] >= forecast.AT_RISK
    school = (0 + 4 * 0.25) / (1 + 4)  # A/TV: T2 idle, GK1's idle case was on time
    assert got.loc[1, "p_late"] == pytest.approx((0 + 2 * school) / (1 + 2))
    assert got.loc[2, "p_late"] == 0  # complete


# A teacher's pace. T3 (X/TOAN, X/TV) had begun three days out in GK1 and was on time; in CK1
# and GK2 nothing three days out, and late. T4 (Y/TOAN) has nothing three days out in every
# window and is on time. T5 (Z/TOAN) had begun in GK1 and not later, on time in all three.
PACE_ROWS = [
    (at(10, 7), "GK1", "X", "TOAN", "T3", 10, 4), (at(10, 10), "GK1", "X", "TOAN", "T3", 10, 10),
    (at(10, 7), "GK1", "X", "TV", "T3", 10, 0), (at(10, 10), "GK1", "X", "TV", "T3", 10, 10),
    (at(10, 7), "GK1", "Y", "TOAN", "T4", 10, 0), (at(10, 10), "GK1", "Y", "TOAN", "T4", 10, 10),
    (at(10, 7), "GK1", "Z", "TOAN", "T5", 10, 3), (at(10, 10), "GK1", "Z", "TOAN", "T5", 10, 10),
    (at(11, 7), "CK1", "X", "TOAN", "T3", 10, 0), (at(11, 12), "CK1", "X", "TOAN", "T3", 10, 0),
    (at(11, 7), "CK1", "X", "TV", "T3", 10, 0), (at(11, 12), "CK1", "X", "TV", "T3", 10, 0),
    (at(11, 7), "CK1", "Y", "TOAN", "T4", 10, 0), (at(11, 12), "CK1", "Y", "TOAN", "T4", 10, 10),
    (at(11, 7), "CK1", "Z", "TOAN", "T5", 10, 0), (at(11, 12), "CK1", "Z", "TOAN", "T5", 10, 10),
    (at(12, 7), "GK2", "X", "TOAN", "T3", 10, 0), (at(12, 7), "GK2", "X", "TV", "T3", 10, 0),
    (at(12, 7), "GK2", "Y", "TOAN", "T4", 10, 0), (at(12, 7), "GK2", "Z", "TOAN", "T5", 10, 0),
    (at(12, 10), "GK2", "X", "TOAN", "T3", 10, 0), (at(12, 10), "GK2", "X", "TV", "T3", 10, 0),
    (at(12, 10), "GK2", "Y", "TOAN", "T4", 10, 10), (at(12, 10), "GK2", "Z", "TOAN", "T5", 10, 10),
]


def test_states_follow_the_teachers_own_pace():
    got = {(r.period, r.class_id, r.item_code, int(r.days_left)): r.state
           for r in forecast.cases(history(PACE_ROWS), window_of).itertuples()}
    assert got == {
        # GK1: no earlier window, so no pace; X/TV waits for T3, who has begun X/TOAN.
        ("GK1", "X", "TOAN", 3): UNDER, ("GK1", "X", "TV", 3): WAITING,
        ("GK1", "Y", "TOAN", 3): IDLE, ("GK1", "Z", "TOAN", 3): UNDER,
        # CK1: T3 and T5 had begun by this point of GK1 (on time, known on 10 Oct): behind.
        ("CK1", "X", "TOAN", 3): BEHIND, ("CK1", "X", "TV", 3): BEHIND,
        ("CK1", "Y", "TOAN", 3): IDLE, ("CK1", "Z", "TOAN", 3): BEHIND,
        # GK2: T3's pace is GK1 alone (CK1 was late), three days out and on the last day too;
        # T5 had begun in one of their two on-time windows, not more than half: idle.
        ("GK2", "X", "TOAN", 3): BEHIND, ("GK2", "X", "TV", 3): BEHIND,
        ("GK2", "X", "TOAN", 0): BEHIND, ("GK2", "X", "TV", 0): BEHIND,
        ("GK2", "Y", "TOAN", 3): IDLE, ("GK2", "Z", "TOAN", 3): IDLE,
    }


def test_pace_from_the_nearest_earlier_snapshot_of_on_time_windows():
    rows = [  # GK1 snapshots 4.29 and 2.29 days out; CK1 asks at 3.29, as near to both
        (at(10, 6), "GK1", "P", "TOAN", "T6", 10, 0), (at(10, 8), "GK1", "P", "TOAN", "T6", 10, 5),
        (at(10, 10), "GK1", "P", "TOAN", "T6", 10, 10),
        (at(10, 6), "GK1", "Q", "TOAN", "T7", 10, 2), (at(10, 10), "GK1", "Q", "TOAN", "T7", 10, 10),
        (at(10, 6), "GK1", "Q", "TV", "T7", 10, 0), (at(10, 10), "GK1", "Q", "TV", "T7", 10, 0),
        (at(11, 7), "CK1", "P", "TOAN", "T6", 10, 0), (at(11, 7), "CK1", "Q", "TOAN", "T7", 10, 0),
        (at(11, 7), "CK1", "Q", "TV", "T7", 10, 0),
        (at(11, 12), "CK1", "P", "TOAN", "T6", 10, 10), (at(11, 12), "CK1", "Q", "TOAN", "T7", 10, 10),
        (at(11, 12), "CK1", "Q", "TV", "T7", 10, 10),
    ]
    got = {(r.class_id, r.item_code): r.state for r in
           forecast.cases(history(rows), window_of).query("period == 'CK1'").itertuples()}
    # T6: of GK1's two as near, the earlier (nothing yet) is their pace: idle. T7 had begun
    # 4.29 days out, but half of their GK1 units ended late, which is not on time: no pace.
    assert got == {("P", "TOAN"): IDLE, ("Q", "TOAN"): IDLE, ("Q", "TV"): IDLE}


def test_chances_of_teachers_behind_their_pace():
    units = history(PACE_ROWS)
    units = units[units["taken_at"] == at(12, 7)].reset_index(drop=True)
    now = at(12, 7)  # GK2's own cases and activity are not known yet
    days = forecast.days_left_at(now, [WINDOWS["GK2"][1]] * len(units))
    got = forecast.predict(units, days, forecast.history(history(PACE_ROWS), window_of), now)
    # T3's pace: GK1 (begun by then); CK1 was late, so it does not count: behind. The school's
    # behind cases 3.29 days out: CK1's X/TOAN, X/TV (late) and Z/TOAN (on time); the starting
    # rate of behind there: odds 0.25 / 0.75 × 2 → 0.4. T3's own idle or behind cases: CK1's two.
    behind = (2 + 4 * 0.4) / (3 + 4)
    for i in (0, 1):
        assert got.loc[i, "p_late"] == pytest.approx((2 + 2 * behind) / (2 + 2))
        assert (got.loc[i, "school_cases"], got.loc[i, "school_late"]) == (3, 2)
        assert (got.loc[i, "teacher_cases"], got.loc[i, "teacher_late"]) == (2, 2)
        assert got.loc[i, "p_late"] >= forecast.AT_RISK
    # T4 never had begun by this point: idle. Idle cases: Y/TOAN of GK1 and CK1, on time.
    idle = (0 + 4 * 0.25) / (2 + 4)
    assert got.loc[2, "p_late"] == pytest.approx((0 + 2 * idle) / (2 + 2))
    assert (got.loc[2, "school_cases"], got.loc[2, "teacher_cases"]) == (2, 2)
    # T5 had begun in one of two on-time windows, not more than half: idle. Their own CK1 case
    # (behind then, on time) counts among their idle cases.
    assert got.loc[3, "p_late"] == pytest.approx((0 + 2 * idle) / (1 + 2))
    assert (got.loc[3, "teacher_cases"], got.loc[3, "teacher_late"]) == (1, 0)


def test_no_history_uses_the_starting_rate():
    units = pd.DataFrame({"staff_id": ["T1", "T1", "T1", "T2", None], "expected": [10] * 5,
                          "entered": [0, 6, 0, 0, 0]})
    empty = forecast.history(history().iloc[0:0], window_of)
    got = forecast.predict(units, [0.5, 0.5, 6.0, 0.5, 0.5], empty, at(12, 7))
    # On the last day: T1 has begun (waiting 0.8 × 0.6; half entered 0.8 × 0.3); T1's unit with
    # a later deadline has nothing in its window (idle, 0.1); T2 and the unassigned unit idle.
    assert list(got["p_late"].round(6)) == [0.48, 0.24, 0.1, 0.8, 0.8]


def test_starting_rates_by_state():
    days = [6.0, 3.5, 1.5, 0.5]
    assert list(forecast.starting_rate(days, [IDLE] * 4).round(6)) == [0.1, 0.25, 0.5, 0.8]
    # behind: the idle odds doubled, e.g. 0.1 → (1/9 × 2) / (1 + 2/9) = 2/11
    assert list(forecast.starting_rate(days, [BEHIND] * 4).round(6)) == \
        [round(2 / 11, 6), 0.4, round(2 / 3, 6), round(8 / 9, 6)]
    assert list(forecast.starting_rate(days, [WAITING, UNDER, HALF, WAITING]).round(6)) == \
        [0.06, 0.15, 0.15, 0.48]
    assert list(forecast.state_of([0, 0, 0, 1, 2], [False, False, True, True, True],
                                  [False, True, False, False, False])) == \
        [IDLE, BEHIND, WAITING, UNDER, HALF]


def test_backtest_counts_by_hand():
    got = forecast.backtest(history(), window_of, days_before=(3, 10))
    rows = {(r.period, r.days_before): (r.units, r.late, r.flagged, r.hits)
            for r in got.itertuples()}
    # GK1 at 3 days: no history yet, nobody reaches 0.5; A/TOAN ended late.
    # CK1 at 3 days: from GK1, T1's A/TOAN (waiting, like GK1's late one) is flagged and then
    # finished in time; T2's A/TV (idle, like GK1's on-time one) is not and ended late.
    # No snapshot 10 days before either deadline.
    assert rows == {("GK1", 3): (3, 1, 0, 0), ("CK1", 3): (3, 1, 1, 0)}
    total = forecast.scores(got)
    assert total.loc[0, "precision"] == 0 and total.loc[0, "recall"] == 0
    by_window = forecast.scores(got, ["period"]).set_index("period")
    assert pd.isna(by_window.loc["GK1", "precision"])  # nothing flagged: no precision


def test_backtest_flags_the_teacher_behind_their_pace():
    got = forecast.backtest(history(PACE_ROWS), window_of, days_before=(3,))
    rows = {r.period: (r.units, r.late, r.flagged, r.hits) for r in got.itertuples()}
    # CK1 at 3 days, from GK1 only: T3 and T5 behind with no behind case yet, so the starting
    # rate 0.4 (no one flagged); T3's two units end late. GK2: T3 flagged (see above), late.
    assert rows == {"GK1": (4, 0, 0, 0), "CK1": (4, 2, 0, 0), "GK2": (4, 2, 2, 2)}


def test_bands():
    assert list(forecast.band_of([0, 1, 4, 5, 9], [10] * 5)) == [0, 1, 1, 2, 2]
