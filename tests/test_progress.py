"""Entry progress: units against an independent count, the schedule rules, the projection."""
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from csdl import cli, progress, rules, schedule, snapshots, summaries
from tests.conftest import run_query, small_school_tables

NOW = datetime(2027, 1, 8, 17, 0)
CK1 = progress.Window(date(2026, 12, 29), date(2027, 1, 14), date(2027, 1, 17))


def independent_units(tables: dict, school_id: str, period: str) -> pd.DataFrame:
    """Expected and entered per class × unit, counted cell by cell in plain Python."""
    classes = tables["class"].set_index(["school_id", "class_id"])
    assigned = {(r.class_id, r.subject_code): r.staff_id
                for r in tables["assignment"].itertuples() if r.school_id == school_id}
    levels = {(r.student_id, r.subject_code): (r.level, r.score)
              for r in tables["subject_result"].itertuples()
              if r.school_id == school_id and r.period == period}
    traits = {(r.student_id, r.trait_code): r.level for r in tables["trait_result"].itertuples()
              if r.school_id == school_id and r.period == period}
    counts: dict[tuple, list[int]] = {}
    for s in tables["student"].itertuples():
        if s.school_id != school_id or not s.active:
            continue
        c = classes.loc[(school_id, s.class_id)]
        for e in rules.expectations(int(c.grade), period):
            if e.optional and (s.class_id, e.item_code) not in assigned:
                continue
            unit = "PCNL" if e.item_type == "trait" else e.item_code
            cell = counts.setdefault((s.class_id, unit), [0, 0])
            if e.item_type == "trait":
                cell[0] += 1
                cell[1] += bool(pd.notna(traits.get((s.student_id, e.item_code))))
            else:
                level, score = levels.get((s.student_id, e.item_code), (None, None))
                cell[0] += 1 + e.needs_score
                cell[1] += bool(pd.notna(level)) + bool(e.needs_score and pd.notna(score))
    return pd.DataFrame([(c, u, e, n) for (c, u), (e, n) in counts.items()],
                        columns=["class_id", "item_code", "expected", "entered"])


@pytest.mark.parametrize("period", rules.PERIODS)
def test_units_match_an_independent_count(small_snapshot, period):
    data_dir, info = small_snapshot
    got = run_query(data_dir, info, "progress_units", school_id="S1", period=period)
    want = independent_units(small_school_tables(), "S1", period)
    key = ["class_id", "item_code"]
    got = got[key + ["expected", "entered"]].sort_values(key, ignore_index=True)
    want = want.sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_rules_left_students_optional_subjects_midterm_scores(small_snapshot):
    data_dir, info = small_snapshot
    ck1 = run_query(data_dir, info, "progress_units", school_id="S1", period="CK1").set_index(
        ["class_id", "item_code"])
    # Ngoại ngữ is optional in grade 1: owed in 1A (assigned) only; never scored in grade 1.
    assert ck1.loc[("L1A", "NGOAINGU"), "expected"] == 2
    assert ("L1B", "NGOAINGU") not in ck1.index
    # H4 left 1B: only H3 owes there (Toán level + score).
    assert ck1.loc[("L1B", "TOAN"), "expected"] == 2 and ck1.loc[("L1B", "TOAN"), "entered"] == 2
    gk1 = run_query(data_dir, info, "progress_units", school_id="S1", period="GK1").set_index(
        ["class_id", "item_code"])
    # Mid-term scores only in grades 4–5: Toán in 1A owes a level only, in 4A a level + score.
    assert gk1.loc[("L1A", "TOAN"), "expected"] == 2
    assert gk1.loc[("L4A", "TOAN"), "expected"] == 4 and gk1.loc[("L4A", "TOAN"), "entered"] == 2
    # Responsible teachers: Toán of 1A is GV1's by assignment; traits are the homeroom's.
    assert ck1.loc[("L1A", "TOAN"), "staff_id"] == "GV1"
    assert ck1.loc[("L4A", "PCNL"), "staff_id"] == "GV3"
    assert pd.isna(ck1.loc[("L4A", "TOAN"), "staff_id"])  # nobody assigned


def hist(*points):
    return pd.DataFrame(points, columns=["taken_at", "entered"])


def test_projection_on_a_constructed_history():
    t0 = datetime(2027, 1, 1, 17)
    h = hist((t0 - timedelta(days=3), 0), (t0, 0), (t0 + timedelta(days=5), 50),
             (t0 + timedelta(days=7), 70))
    now = t0 + timedelta(days=7)
    # Rate over the last 7 days: from 0 (day 0) to 70 (day 7) = 10 a day; 30 left → 3 days.
    assert progress.projected_finish(h, now, 100) == now + timedelta(days=3)
    # The snapshot from 10 days ago is outside the window and is not used.
    h2 = hist((t0 - timedelta(days=3), 0), (now, 70))
    assert progress.projected_finish(h2, now, 100) is None
    # Nothing entered in the window: it never finishes at this rate.
    h3 = hist((t0 + timedelta(days=2), 40), (now, 40))
    assert progress.projected_finish(h3, now, 100) == datetime.max
    assert progress.projected_finish(hist((now, 100)), now, 100) is None  # no history at all


def test_status_against_deadline_and_lock():
    w = progress.Window(date(2027, 1, 1), date(2027, 1, 10), date(2027, 1, 13))
    on = datetime(2027, 1, 8, 17)
    assert progress.status_of(10, 10, on, w, False, 0.9) == "complete"
    assert progress.status_of(10, 10, on, w, True, 0.0) == "complete"
    assert progress.status_of(10, 5, on, w, True, 0.0) == "locked_incomplete"
    assert progress.status_of(10, 5, datetime(2027, 1, 11, 8), w, False, 0.0) == "overdue"
    # On the deadline day itself it is not overdue yet: the chance of ending late decides.
    assert progress.status_of(10, 5, datetime(2027, 1, 10, 23), w, False, 0.49) == "on_track"
    assert progress.status_of(10, 5, on, w, False, 0.5) == "at_risk"
    assert progress.status_of(10, 5, on, w, False, 0.2) == "on_track"
    assert progress.status_of(10, 5, on, None, False, 0.9) == "no_schedule"
    assert progress.state_of(10, 0) == "not_started" and progress.state_of(10, 3) == "in_progress"


def _series(tmp_path):
    """Three snapshots of the small school: CK1 Toán of 4A goes 0 → 1 → 2 of 4 values."""
    tables = small_school_tables()
    base = tables["subject_result"]
    base = base[~((base["student_id"].isin(["H5", "H6"])) & (base["period"] == "CK1"))]
    infos = []
    for day, rows in ((2, []), (5, [("S1", "H5", "CK1", "TOAN", "T", None)]),
                      (8, [("S1", "H5", "CK1", "TOAN", "T", 9)])):
        t = dict(tables)
        t["subject_result"] = pd.concat([base, pd.DataFrame(rows, columns=base.columns)],
                                        ignore_index=True)
        infos.append(snapshots.write_snapshot(tmp_path, t, school_year="2026-2027",
                                              taken_at=datetime(2027, 1, day, 17), source="import"))
    return infos


def test_compute_with_schedule_and_lock_events(tmp_path):
    infos = _series(tmp_path)
    schedule.set_window(tmp_path, "2026-2027", "CK1", None, CK1.opens, CK1.deadline, CK1.lock, "t")
    units = progress.compute(tmp_path, infos[-1], "S1", "CK1").set_index(["class_id", "item_code"])
    toan = units.loc[("L4A", "TOAN")]
    assert (toan["expected"], toan["entered"]) == (4, 2)
    # No earlier window: the starting rate. Half entered, 6 days 7 hours to the deadline's end.
    assert toan["p_late"] == pytest.approx(0.1 * 0.3)
    # 1B's traits: GV2 has entered nothing in any unit (idle, 0.1); 1A's, GV1's: 1 of 26
    # (under half, 0.1 × 0.6); 1B's Đạo đức, nobody's: the unit alone, idle.
    assert units.loc[("L1B", "PCNL"), ["staff_id", "entered"]].tolist() == ["GV2", 0]
    assert units.loc[("L1B", "PCNL"), "p_late"] == pytest.approx(0.1)
    assert units.loc[("L1A", "PCNL"), "p_late"] == pytest.approx(0.1 * 0.6)
    assert units.loc[("L1B", "DAODUC"), "p_late"] == pytest.approx(0.1)
    assert toan["status"] == "on_track"
    # A grade-4 window with an earlier deadline overrides the school's: today is the deadline,
    # so a unit of 4A is at risk exactly when its starting rate on the last day reaches 0.5
    # (not started: 0.8, idle — nobody teaches 4A's subjects, and its homeroom teacher has only
    # its traits; under half: 0.48; half or more: 0.24).
    schedule.set_window(tmp_path, "2026-2027", "CK1", 4, CK1.opens, date(2027, 1, 8), CK1.lock, "t")
    units = progress.compute(tmp_path, infos[-1], "S1", "CK1")
    l4a = units[(units["class_id"] == "L4A") & (units["entered"] < units["expected"])]
    assert len(l4a)
    for row in l4a.itertuples():
        share = row.entered / row.expected
        rate = 0.8 * (1.0 if row.entered == 0 else 0.6 if share < 0.5 else 0.3)
        assert row.p_late == pytest.approx(rate)
        assert row.status == ("at_risk" if rate >= 0.5 else "on_track")
    schedule.set_window(tmp_path, "2026-2027", "CK1", 4, CK1.opens, date(2027, 1, 13), CK1.lock, "t")
    # A class locked early by the administrator: incomplete units there are locked_incomplete.
    schedule.record_event(tmp_path, "2026-2027", "CK1", "lock", "class", "L4A",
                          datetime(2027, 1, 7, 10), "Khóa sớm để in", "t")
    units = progress.compute(tmp_path, infos[-1], "S1", "CK1")
    l4a = units[units["class_id"] == "L4A"]
    assert set(l4a["status"]) == {"locked_incomplete"}
    assert "locked_incomplete" not in set(units[units["class_id"] != "L4A"]["status"])
    figures = progress.summary_figures(units)
    assert figures["classes_overdue"] == 1 and figures["classes"] == 3


def test_history_reads_summaries_and_rebuilds_a_missing_one(tmp_path):
    infos = _series(tmp_path)
    for info in infos:
        assert summaries.summary_path(tmp_path, info.snapshot_id).exists()
    summaries.summary_path(tmp_path, infos[0].snapshot_id).unlink()
    h = progress.history(tmp_path, "S1", "CK1", infos[-1])
    toan = h[(h["class_id"] == "L4A") & (h["item_code"] == "TOAN")]
    assert list(toan["entered"]) == [0, 1, 2]
    assert summaries.summary_path(tmp_path, infos[0].snapshot_id).exists()
    # Only snapshots up to the chosen one.
    h = progress.history(tmp_path, "S1", "CK1", infos[1])
    assert h["taken_at"].max() == infos[1].taken_at
    totals = progress.totals_over_time(h[h["class_id"] == "L4A"])
    # 4A at CK1: H5's one trait level throughout, plus the Toán level from the second snapshot.
    assert list(totals["entered"]) == [1, 2]


def test_current_period():
    windows = {"GK1": progress.Window(date(2026, 10, 26), date(2026, 11, 7), date(2026, 11, 10)),
               "CK1": CK1}
    assert progress.current_period(windows, datetime(2027, 1, 8), ["GK1", "CK1"]) == "CK1"
    assert progress.current_period(windows, datetime(2026, 12, 1), ["GK1"]) == "GK1"
    assert progress.current_period({}, datetime(2026, 12, 1), ["GK1", "CK1"]) == "CK1"
    assert progress.current_period({}, datetime(2026, 9, 1), []) == "GK1"


def test_cli_reports(tmp_path, capsys):
    _series(tmp_path)
    schedule.set_window(tmp_path, "2026-2027", "CK1", None, CK1.opens, date(2027, 1, 7), CK1.lock, "t")
    assert cli.main(["report", "progress", "--period", "CK1", "--data", str(tmp_path),
                     "--school-id", "S1", "--by", "class,subject"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "class_id,subject_code,expected,entered,completion,status"
    row = next(line for line in out if line.startswith("L4A,TOAN,"))
    assert row == "L4A,TOAN,4,2,0.5000,overdue"
    assert cli.main(["report", "progress", "--period", "CK1", "--data", str(tmp_path),
                     "--school-id", "S1", "--by", "teacher"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "staff_id,full_name,expected,entered,completion,status"
    assert cli.main(["report", "overdue", "--data", str(tmp_path), "--school-id", "S1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "L4A,4A,TOAN" in "\n".join(out)
    assert cli.main(["report", "--list"]) == 0
    assert "progress" in capsys.readouterr().out
    # A snapshot holding two schools needs --school-id.
    assert cli.main(["report", "progress", "--data", str(tmp_path)]) == 2


def test_teacher_table_sums_their_units(tmp_path):
    infos = _series(tmp_path)
    schedule.set_window(tmp_path, "2026-2027", "CK1", None, CK1.opens, CK1.deadline, CK1.lock, "t")
    units = progress.compute(tmp_path, infos[-1], "S1", "CK1")
    teachers = progress.by_teacher(units).set_index("staff_id", drop=False)
    # GV1 is the homeroom teacher of 1A (its traits) and teaches Toán in 1A by assignment.
    mine = [(c, u) for c, u, s in zip(units["class_id"], units["item_code"], units["staff_id"])
            if s == "GV1"]
    assert sorted(mine) == [("L1A", "PCNL"), ("L1A", "TOAN")]
    expected = sum(int(e) for e, s in zip(units["expected"], units["staff_id"]) if s == "GV1")
    entered = sum(int(n) for n, s in zip(units["entered"], units["staff_id"]) if s == "GV1")
    row = teachers.loc["GV1"]
    assert (row["expected"], row["entered"], row["units"]) == (expected, entered, 2)
    # Units nobody is assigned to are grouped, not lost.
    assert teachers["expected"].sum() == units["expected"].sum()
    assert teachers["staff_id"].isna().sum() == 1
