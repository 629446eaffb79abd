"""Results: shares, scores, transitions and classifications against independent counts; the
chart builders; the page on a planted school."""
import random
from collections import Counter
from datetime import datetime

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from csdl import charts, results, rules, snapshots
from csdl.config import REPO_ROOT
from tests import tabs
from tests.conftest import run_query, bind_session
from tests.test_app import table_text

SUBJECT_COLUMNS = ["school_id", "student_id", "period", "subject_code", "level", "score"]
TRAIT_COLUMNS = ["school_id", "student_id", "period", "trait_code", "level"]


def results_tables(seed: int = 7):
    """Three classes in two grades, levels and scores drawn at random with blanks; things that
    must not count: a student who left, Ngoại ngữ entered in a grade-1 class that does not take
    it, a score of 0, a value refused at import, another school."""
    rng = random.Random(seed)
    school = pd.DataFrame([{"school_id": "S1", "name": "Trường Thử", "province": "Tỉnh"},
                           {"school_id": "S2", "name": "Trường khác", "province": "Tỉnh"}])
    classes = pd.DataFrame([("S1", "L1A", "1A", 1, "GV1"), ("S1", "L4A", "4A", 4, "GV2"),
                            ("S1", "L4B", "4B", 4, "GV3"), ("S2", "X4", "4A", 4, None)],
                           columns=["school_id", "class_id", "class_name", "grade",
                                    "homeroom_staff_id"])
    students = [("S1", f"{c}-{i}", c, f"HS {c} {i}", i != 0)  # the first of each class left
                for c in ("L1A", "L4A", "L4B") for i in range(9)]
    students += [("S2", f"X-{i}", "X4", f"HS X {i}", True) for i in range(5)]
    student = pd.DataFrame(students, columns=["school_id", "student_id", "class_id", "full_name",
                                              "active"])
    sr, tr, year = [], [], []
    for school_id, student_id, class_id, _, _ in students:
        grade = 1 if class_id == "L1A" else 4
        for period in rules.PERIODS:
            for s in rules.subjects_for_grade(grade):
                if rng.random() < 0.2:
                    continue  # not entered
                level = rng.choice(rules.SUBJECT_LEVELS + (None,))
                needs_score = s.code in rules.scored_subjects(grade, period)
                score = rng.choice([None, 0, *range(1, 11)]) if needs_score else None
                sr.append((school_id, student_id, period, s.code, level, score))
            for t in rules.traits_for_grade(grade):
                if rng.random() < 0.8:
                    tr.append((school_id, student_id, period, t.code,
                               rng.choice(rules.TRAIT_LEVELS + (None,))))
        year.append((school_id, student_id, True, True,
                     rng.choice(rules.CLASSIFICATIONS + (None,)), None))
    invalid = pd.DataFrame([("S1", "kq.xls", "S", 5, "G", "7,5", "score_not_integer", "L4A-3",
                             "CK1", "TOAN")],
                           columns=["school_id", "source_file", "sheet", "row", "column",
                                    "raw_value", "reason", "student_id", "period", "item_code"])
    return {"school": school, "class": classes, "student": student,
            "assignment": pd.DataFrame(columns=["school_id", "staff_id", "class_id",
                                                "subject_code"]),
            "subject_result": pd.DataFrame(sr, columns=SUBJECT_COLUMNS).astype({"score": "Int64"}),
            "trait_result": pd.DataFrame(tr, columns=TRAIT_COLUMNS),
            "year_result": pd.DataFrame(year, columns=["school_id", "student_id", "completed",
                                                       "promoted", "classification", "award"]),
            "invalid_value": invalid}


@pytest.fixture
def results_snapshot(tmp_path):
    info = snapshots.write_snapshot(tmp_path, results_tables(), school_year="2026-2027",
                                    taken_at=datetime(2027, 6, 1, 17), source="import")
    return tmp_path, info


def independent_counts(tables: dict, school_id: str, period: str, what: str) -> Counter:
    """Entered values per (class, item, value), counted cell by cell in plain Python from the
    rules: enrolled students, owed items (optional only where assigned), 1–10 for scores."""
    grade_of = {r.class_id: int(r.grade) for r in tables["class"].itertuples()
                if r.school_id == school_id}
    assigned = {(r.class_id, r.subject_code) for r in tables["assignment"].itertuples()}
    if what == "trait":
        entered = {(r.student_id, r.trait_code): r.level for r in tables["trait_result"].itertuples()
                   if r.school_id == school_id and r.period == period}
    else:
        entered = {(r.student_id, r.subject_code): r.score if what == "score" else r.level
                   for r in tables["subject_result"].itertuples()
                   if r.school_id == school_id and r.period == period}
    counts: Counter = Counter()
    for s in tables["student"].itertuples():
        if s.school_id != school_id or not s.active:
            continue
        for e in rules.expectations(grade_of[s.class_id], period):
            if e.optional and (s.class_id, e.item_code) not in assigned:
                continue
            if (e.item_type == "trait") != (what == "trait") or (what == "score" and not e.needs_score):
                continue
            value = entered.get((s.student_id, e.item_code))
            if pd.isna(value) or (what == "score" and not 1 <= value <= 10):
                continue
            counts[(s.class_id, e.item_code, value)] += 1
    return counts


def as_counter(df: pd.DataFrame, value_col: str) -> Counter:
    return Counter({(r["class_id"], r["item_code"], r[value_col]): r["students"]
                    for _, r in df.iterrows() if r["students"]})


@pytest.mark.parametrize("period", rules.PERIODS)
def test_subject_and_trait_counts_match_an_independent_count(results_snapshot, period):
    data_dir, info = results_snapshot
    tables = results_tables()
    subjects = run_query(data_dir, info, "results_subject_levels", school_id="S1", period=period)
    assert as_counter(subjects, "level") == independent_counts(tables, "S1", period, "subject")
    traits = run_query(data_dir, info, "results_trait_levels", school_id="S1", period=period)
    assert as_counter(traits, "level") == independent_counts(tables, "S1", period, "trait")
    scores = run_query(data_dir, info, "results_scores", school_id="S1", period=period)
    assert as_counter(scores, "score") == independent_counts(tables, "S1", period, "score")


def test_shares_by_class_and_grade_against_an_independent_count(results_snapshot):
    data_dir, info = results_snapshot
    counts = independent_counts(results_tables(), "S1", "CK1", "subject")
    levels = run_query(data_dir, info, "results_subject_levels", school_id="S1", period="CK1")
    by_class = results.subject_shares(levels, ["class_id"])
    grade_of = {"L1A": 1, "L4A": 4, "L4B": 4}
    for r in by_class.itertuples():
        own = {lv: counts[(r.class_id, r.item_code, lv)] for lv in rules.SUBJECT_LEVELS}
        assert r.students == own[r.level] and r.total == sum(own.values())
        assert r.share == pytest.approx(own[r.level] / sum(own.values()))
    by_grade = results.subject_shares(levels, ["grade"])
    for r in by_grade.itertuples():
        own = {lv: sum(n for (c, item, v), n in counts.items()
                       if grade_of[c] == r.grade and item == r.item_code and v == lv)
               for lv in rules.SUBJECT_LEVELS}
        assert r.students == own[r.level] and r.share == pytest.approx(own[r.level] / sum(own.values()))
    # Each row's shares add up to one; every level is listed, in the order T, H, C.
    assert by_grade.groupby(["grade", "item_code"])["share"].sum().round(9).eq(1).all()
    assert list(by_grade["level"][:3]) == ["T", "H", "C"]
    # Subjects in the catalogue's order: Toán before Tiếng Việt before Đạo đức.
    grade4 = list(dict.fromkeys(by_grade[by_grade["grade"] == 4]["item_code"]))
    assert grade4[:3] == ["TOAN", "TV", "DAODUC"]


def test_shares_fill_missing_levels_and_skip_unknown_ones():
    counts = pd.DataFrame([("A", "TOAN", "T", 3), ("A", "TOAN", "H", 1), ("A", "TOAN", "X", 9),
                           ("B", "TOAN", "C", 2)],
                          columns=["class_id", "item_code", "level", "students"])
    got = results.shares(counts, ["class_id", "item_code"], rules.SUBJECT_LEVELS)
    assert list(got["students"]) == [3, 1, 0, 0, 0, 2]
    assert list(got["total"]) == [4, 4, 4, 2, 2, 2]
    assert list(got["share"]) == [0.75, 0.25, 0.0, 0.0, 0.0, 1.0]
    assert results.shares(counts.iloc[0:0], ["class_id"], rules.SUBJECT_LEVELS).empty


def test_transition_matrix_by_hand(tmp_path):
    """4A, Toán from GK1 to CK1: T→T, T→H, H→H, C→H; one student only at GK1, one who left."""
    tables = {
        "school": pd.DataFrame([{"school_id": "S1", "name": "T", "province": "P"}]),
        "class": pd.DataFrame([{"school_id": "S1", "class_id": "L4A", "class_name": "4A",
                                "grade": 4, "homeroom_staff_id": None}]),
        "student": pd.DataFrame([("S1", s, "L4A", s, s != "LEFT")
                                 for s in ("A", "B", "C", "D", "E", "LEFT")],
                                columns=["school_id", "student_id", "class_id", "full_name",
                                         "active"]),
        "subject_result": pd.DataFrame([
            ("S1", "A", "GK1", "TOAN", "T", 9), ("S1", "A", "CK1", "TOAN", "T", 10),
            ("S1", "B", "GK1", "TOAN", "T", 9), ("S1", "B", "CK1", "TOAN", "H", 7),
            ("S1", "C", "GK1", "TOAN", "H", 6), ("S1", "C", "CK1", "TOAN", "H", None),
            ("S1", "D", "GK1", "TOAN", "C", 3), ("S1", "D", "CK1", "TOAN", "H", 6),
            ("S1", "E", "GK1", "TOAN", "T", 8), ("S1", "E", "CK1", "TOAN", None, 8),
            ("S1", "LEFT", "GK1", "TOAN", "T", 8), ("S1", "LEFT", "CK1", "TOAN", "C", 2),
            ("S1", "A", "GK1", "TV", "H", 7), ("S1", "A", "CK1", "TV", "T", 9),
        ], columns=SUBJECT_COLUMNS).astype({"score": "Int64"}),
        "trait_result": pd.DataFrame([("S1", "A", "GK1", "PC_YEUNUOC", "Đ"),
                                      ("S1", "A", "CK1", "PC_YEUNUOC", "T")],
                                     columns=TRAIT_COLUMNS),
    }
    info = snapshots.write_snapshot(tmp_path, tables, school_year="2026-2027",
                                    taken_at=datetime(2027, 1, 20), source="import")
    moves = results.transitions(run_query(tmp_path, info, "results_transitions", school_id="S1",
                                          period_from="GK1", period_to="CK1"))
    toan = results.transition_matrix(moves, "TOAN")
    assert toan.to_dict("index") == {"T": {"T": 1, "H": 1, "C": 0},
                                     "H": {"T": 0, "H": 1, "C": 0},
                                     "C": {"T": 0, "H": 1, "C": 0}}
    assert results.transition_matrix(moves, "TV").loc["H", "T"] == 1
    trait = results.transition_matrix(moves, "PC_YEUNUOC")
    assert list(trait.index) == ["T", "Đ", "C"] and trait.loc["Đ", "T"] == 1
    assert results.transition_matrix(moves, "KHOAHOC").to_numpy().sum() == 0
    assert list(moves.columns) == ["item_type", "item_code", "level_from", "level_to", "students"]
    assert list(moves["item_code"][:4]) == ["TOAN"] * 4  # catalogue order, then T, H, C
    assert list(moves["level_from"][:4]) == ["T", "T", "H", "C"]
    fig = charts.transition_heatmap(toan, "GK1", "CK1", "vi")
    assert fig.data[0].z[0] == (1, 1, 0) or list(fig.data[0].z[0]) == [1, 1, 0]


def test_year_classification_per_class(results_snapshot):
    data_dir, info = results_snapshot
    tables = results_tables()
    year = run_query(data_dir, info, "results_classification", school_id="S1")
    got = results.classification_shares(year)
    class_of = dict(zip(tables["student"]["student_id"], tables["student"]["class_id"]))
    want = Counter((class_of[r.student_id], r.classification)
                   for r in tables["year_result"].itertuples()
                   if r.school_id == "S1" and isinstance(r.classification, str))
    assert {(r.class_id, r.level): r.students for r in got.itertuples() if r.students} == dict(want)
    assert list(got["level"][:4]) == list(rules.CLASSIFICATIONS)
    assert list(dict.fromkeys(got["class_name"])) == ["1A", "4A", "4B"]


def test_two_classes_side_by_side(results_snapshot):
    data_dir, info = results_snapshot
    levels = run_query(data_dir, info, "results_subject_levels", school_id="S1", period="CN")
    pair = results.side_by_side(levels, ["L4B", "L4A"])
    assert list(dict.fromkeys(pair["class_name"])) == ["4B", "4A"]
    alone = results.subject_shares(levels[levels["class_id"] == "L4A"])
    mine = pair[pair["class_id"] == "L4A"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[["item_code", "level", "students", "share"]],
                                  alone[["item_code", "level", "students", "share"]],
                                  check_dtype=False)
    fig = charts.classes_side_by_side(pair.assign(label=pair["item_code"]), "en")
    assert [a.text for a in fig.layout.annotations] == ["4B", "4A"]
    assert sum(tr.showlegend is not False for tr in fig.data) == 3  # one legend for both


def test_score_distribution_fills_every_score():
    scores = pd.DataFrame([(4, "TOAN", 9, 2), (4, "TOAN", 10, 1), (5, "TOAN", 1, 1)],
                          columns=["grade", "item_code", "score", "students"])
    got = results.score_distribution(scores, ["grade", "item_code"])
    assert len(got) == 20 and list(got["score"][:10]) == list(range(1, 11))
    assert got[(got["grade"] == 4)]["students"].tolist() == [0] * 8 + [2, 1]
    fig = charts.score_histogram(got.assign(label=got["grade"].astype(str)), "vi")
    assert [tr.name for tr in fig.data] == ["4", "5"]


def test_level_bars_use_one_colour_per_level():
    shares = results.shares(
        pd.DataFrame([("TOAN", "T", 3), ("TOAN", "C", 1)],
                     columns=["item_code", "level", "students"]),
        ["item_code"], rules.SUBJECT_LEVELS).assign(label="Toán")
    fig = charts.level_share_bars(shares, "subject", "vi")
    assert [tr.marker.color for tr in fig.data] == ["#238b45", "#f0a202", "#d7301f"]
    assert [tr.name for tr in fig.data] == ["Hoàn thành tốt (T)", "Hoàn thành (H)",
                                            "Chưa hoàn thành (C)"]
    assert list(fig.data[0].x) == [75.0] and fig.layout.barmode == "stack"
    traits = fig = charts.level_share_bars(
        shares.assign(level=shares["level"].replace({"H": "Đ"}), group="g"), "trait", "en",
        group_col="group")
    assert [tr.marker.color for tr in traits.data] == ["#238b45", "#f0a202", "#d7301f"]


def test_previous_period():
    assert results.previous_period("CK1") == "GK1" and results.previous_period("GK1") is None


# --- the page -------------------------------------------------------------------------------

def page(data_dir, monkeypatch, role="principal", **params) -> AppTest:
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(REPO_ROOT / "pages/results.py"), default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "test"
    at.session_state["roles"] = [role]
    bind_session(at)  # the account and its school, in users.yaml
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_page_shows_results_and_the_drill_down(tmp_path, monkeypatch):
    from tests.test_quality import quality_tables

    snapshots.write_snapshot(tmp_path, quality_tables(), school_year="2026-2027",
                             taken_at=datetime(2027, 6, 1, 17), source="import")
    at = page(tmp_path, monkeypatch, school="S1", period="CK1", rule="score_zero")
    assert not at.exception, at.exception
    assert at.title[0].value == "Kết quả giáo dục"
    # A link to a rule (?rule=) opens the data-quality tab, and only that tab is drawn.
    shown = "\n".join([*(df.value.to_string() for df in at.dataframe),
                       *(table_text(tb) for tb in at.table)])
    assert "Điểm 0" in shown and "GK1 · điểm 0, mức T" in shown  # the rules and the drill-down
    assert "Chưa kiểm tra được xếp loại" in shown
    assert not at.get("plotly_chart")
    # The first tab, opened: its note and charts.
    tabs.open_tab(at, "Môn học")
    assert not at.exception, at.exception
    assert at.caption[1].value.startswith("Tỉ lệ chỉ tính trên các giá trị đã nhập")
    assert len(at.get("plotly_chart")) >= 3
    assert "Điểm 0" not in "\n".join(table_text(tb) for tb in at.table)
    # Another rule by the URL; a student not in the list has no name or class.
    at = page(tmp_path, monkeypatch, school="S1", period="CN", rule="unknown_student")
    assert not at.exception, at.exception
    assert "GHOST2" in at.dataframe[-1].value.to_string()


def test_page_with_a_bad_settings_file(tmp_path, monkeypatch):
    from tests.test_quality import quality_tables

    snapshots.write_snapshot(tmp_path, quality_tables(), school_year="2026-2027",
                             taken_at=datetime(2027, 6, 1, 17), source="import")
    (tmp_path / "settings.yaml").write_text("class_size_max: many\n")
    at = tabs.open_tab(page(tmp_path, monkeypatch, school="S1"), "Chất lượng dữ liệu")
    assert not at.exception, at.exception
    assert any("Không dùng được tệp cài đặt" in e.value for e in at.error)


# --- the one-pass sums equal pandas' groupby → unstack → stack (the way they were computed) ---
def _reference_complete(counts, keys, column, values):
    wide = (counts.groupby(keys + [column])["students"].sum()
            .unstack(column, fill_value=0).reindex(columns=list(values), fill_value=0))
    wide = wide.iloc[results._order(wide.index.to_frame(index=False), keys)]
    long = wide.stack().rename("students").reset_index()
    long["students"] = long["students"].astype(int)
    return long


def _reference_shares(counts, keys, levels, level_col="level"):
    keys = list(keys)
    counts = counts[counts[level_col].isin(levels)]
    long = _reference_complete(counts, keys, level_col, levels).rename(columns={level_col: "level"})
    long["total"] = long.groupby(keys, sort=False)["students"].transform("sum")
    long["share"] = long["students"] / long["total"].where(long["total"] > 0)
    return long[keys + ["level", "students", "total", "share"]]


@pytest.mark.parametrize("seed", range(8))
def test_shares_and_distributions_equal_the_pandas_reference(seed):
    rng = random.Random(seed)
    codes = [s.code for s in rules.SUBJECTS] + ["ZZ", None]  # an unknown code, a missing one
    rows = [{"grade": rng.choice([1, 2, 5]), "class_id": rng.choice(["L1", "L2", "L10", None]),
             "class_name": "x", "item_code": rng.choice(codes),
             "level": rng.choice(["T", "H", "C", "Đ", None]), "score": rng.choice([*range(0, 12)]),
             "students": rng.randint(0, 9)} for _ in range(rng.randint(1, 300))]
    frame = pd.DataFrame(rows).astype({"grade": "int32", "class_id": "str", "class_name": "str",
                                       "item_code": "str", "level": "str"})
    for keys in (["item_code"], ["grade", "item_code"], ["grade", "class_name", "class_id",
                                                         "item_code"]):
        got = results.shares(frame, keys, rules.SUBJECT_LEVELS)
        if got.empty:
            continue
        pd.testing.assert_frame_equal(got, _reference_shares(frame, keys, rules.SUBJECT_LEVELS))
        pd.testing.assert_frame_equal(results.score_distribution(frame, keys),
                                      _reference_complete(frame, keys, "score", results.SCORES))


def test_a_tab_stays_open_after_the_quality_tab_wrote_its_rule_in_the_url(tmp_path, monkeypatch):
    # The quality tab keeps its rule in the URL (?rule=), and a link with a rule opens that tab:
    # that choice is made once, so another tab opened afterwards stays open.
    from tests.test_quality import quality_tables

    snapshots.write_snapshot(tmp_path, quality_tables(), school_year="2026-2027",
                             taken_at=datetime(2027, 6, 1, 17), source="import")
    at = tabs.open_tab(page(tmp_path, monkeypatch, school="S1"), "Chất lượng dữ liệu")
    assert "rule" in at.query_params
    tabs.open_tab(at, "Môn học")
    assert not at.exception, at.exception
    assert at.session_state["results-tab"] == "Môn học"
    assert len(at.get("plotly_chart")) >= 3
    at.run()  # and again, as any widget's change would
    assert len(at.get("plotly_chart")) >= 3
