"""The forecast on a history built by hand: cases, chances and the backtest, worked out here
by hand from the module's formulas (see csdl/forecast.py)."""
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


def history() -> pd.DataFrame:
    df = pd.DataFrame(ROWS, columns=["taken_at", "period", "class_id", "item_code", "staff_id",
                                     "expected", "entered"])
    return df.assign(snapshot_id=df["taken_at"].astype(str), school_year=YEAR, grade=1)


def test_cases_and_their_outcomes():
    got = forecast.cases(history(), window_of)
    got = sorted((r.period, r.class_id, r.item_code, round(r.days_left, 3), r.band, bool(r.late),
                  r.known_at) for r in got.itertuples())
    d3, d0 = round(3 + 7 / 24, 3), round(7 / 24, 3)  # 17:00, 3 days / the day before the end
    assert got == sorted([
        ("GK1", "A", "TOAN", d3, 0, True, pd.Timestamp(at(10, 10))),
        ("GK1", "A", "TOAN", d0, 0, True, pd.Timestamp(at(10, 10))),  # incomplete at the end
        ("GK1", "A", "TV", d3, 0, False, pd.Timestamp(at(10, 10))),
        ("GK1", "B", "TOAN", d3, 2, False, pd.Timestamp(at(10, 10))),
        ("CK1", "A", "TOAN", d3, 0, False, pd.Timestamp(at(11, 12))),  # done by the next one
        ("CK1", "A", "TV", d3, 0, True, pd.Timestamp(at(11, 12))),
    ])  # B/TOAN of CK1 was complete: no case; GK2 has no outcome yet


def test_chances_shrink_the_teacher_towards_the_school():
    units = history()
    units = units[units["period"] == "GK2"].reset_index(drop=True)
    now = at(12, 7)
    days = forecast.days_left_at(now, [WINDOWS["GK2"][1]] * len(units))
    got = forecast.predict(units, days, forecast.cases(history(), window_of), now)
    # Not started, 3.29 days left: 4 similar cases, 2 late; the starting rate there is 0.25.
    school = (2 + 4 * 0.25) / (4 + 4)
    teacher = (1 + 2 * school) / (2 + 2)  # T1 and T2: one of two late each
    assert got.loc[0, "p_late"] == pytest.approx(teacher)
    assert got.loc[1, "p_late"] == pytest.approx(teacher)
    assert (got.loc[0, "teacher_cases"], got.loc[0, "teacher_late"]) == (2, 1)
    assert (got.loc[0, "school_cases"], got.loc[0, "school_late"]) == (4, 2)
    # Half entered: one similar case (on time); starting rate 0.25 × 0.3.
    school_half = (0 + 4 * 0.075) / (1 + 4)
    assert got.loc[2, "p_late"] == pytest.approx((0 + 2 * school_half) / (1 + 2))
    # Nobody assigned: the school's rate, shrunk as a teacher with no cases.
    assert got.loc[3, "p_late"] == pytest.approx(school)
    assert (got["p_late"] < forecast.AT_RISK).all()


def test_only_outcomes_known_by_then_count():
    units = history()
    units = units[(units["period"] == "CK1") & (units["taken_at"] == at(11, 7))].reset_index(drop=True)
    now = at(11, 7)  # CK1's outcome is not known yet: only GK1 counts
    days = forecast.days_left_at(now, [WINDOWS["CK1"][1]] * len(units))
    got = forecast.predict(units, days, forecast.cases(history(), window_of), now)
    school = (1 + 4 * 0.25) / (2 + 4)
    assert got.loc[0, "p_late"] == pytest.approx((1 + 2 * school) / (1 + 2))  # T1 was late
    assert got.loc[1, "p_late"] == pytest.approx((0 + 2 * school) / (1 + 2))  # T2 was not
    assert got.loc[2, "p_late"] == 0  # complete


def test_no_history_uses_the_starting_rate():
    units = pd.DataFrame({"staff_id": ["T1", "T1", "T1"], "expected": [10, 10, 10],
                          "entered": [0, 0, 6]})
    empty = forecast.cases(history().iloc[0:0], window_of)
    got = forecast.predict(units, [6.0, 0.5, 0.5], empty, at(12, 7))
    assert list(got["p_late"].round(6)) == [0.1, 0.8, round(0.8 * 0.3, 6)]


def test_backtest_counts_by_hand():
    got = forecast.backtest(history(), window_of, days_before=(3, 10))
    rows = {(r.period, r.days_before): (r.units, r.late, r.flagged, r.hits)
            for r in got.itertuples()}
    # GK1 at 3 days: no history yet, nobody reaches 0.5; A/TOAN ended late.
    # CK1 at 3 days: from GK1, T1's A/TOAN is flagged (it then finished in time) and T2's
    # A/TV is not (it ended late). No snapshot 10 days before either deadline.
    assert rows == {("GK1", 3): (3, 1, 0, 0), ("CK1", 3): (3, 1, 1, 0)}
    total = forecast.scores(got)
    assert total.loc[0, "precision"] == 0 and total.loc[0, "recall"] == 0
    by_window = forecast.scores(got, ["period"]).set_index("period")
    assert pd.isna(by_window.loc["GK1", "precision"])  # nothing flagged: no precision


def test_bands():
    assert list(forecast.band_of([0, 1, 4, 5, 9], [10] * 5)) == [0, 1, 1, 2, 2]
