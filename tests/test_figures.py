"""Start / mid / end-of-year figures: every section against a plain count of the fixture, the
comparison of two snapshots, which earlier snapshot is the default, the Excel file, the page."""
import io
from collections import Counter
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from csdl import figures, i18n, snapshots
from csdl.config import REPO_ROOT
from tests.conftest import bind_session
from tests.test_app import table_text

BEFORE_AT, NOW_AT = datetime(2026, 10, 2, 17), datetime(2027, 1, 8, 17)
STUDENT_COLUMNS = ["school_id", "student_id", "class_id", "gender", "ethnicity", "disability",
                   "active"]
STAFF_COLUMNS = ["school_id", "staff_id", "full_name", "gender", "position_group",
                 "qualification", "major", "status"]


def figure_tables(now: bool):
    """S1 at the start of the year, and three months later (`now`): a class opened, a student
    left and two arrived, a teacher joined, a temporary classroom and a computer room were
    added, two computers broke, a urinal was fitted. S2 must never count."""
    school = pd.DataFrame([("S1", "Trường Thử", "Tỉnh"), ("S2", "Trường khác", "Tỉnh")],
                          columns=["school_id", "name", "province"])
    classes = [("S1", "L1A", "1A", 1), ("S1", "L4A", "4A", 4), ("S2", "X1", "1A", 1)]
    students = [
        ("S1", "A1", "L1A", "Nam", "Kinh", None, True),
        ("S1", "A2", "L1A", "Nữ", "Khmer", "", not now),  # leaves
        ("S1", "A3", "L1A", "Nữ", "Kinh", "Khuyết tật vận động", True),
        ("S1", "A4", "L1A", "Nam", "Kinh", None, False),  # left long ago
        ("S1", "B1", "L4A", "Nam", None, None, True),  # ethnicity not stated
        ("S1", "B2", "L4A", "Nữ", " kinh ", "Không", True),  # "không": no disability
        ("S1", "Z9", "L9Z", "Nữ", "Tày", None, True),  # a class not in the list: grade unknown
        ("S2", "X1", "X1", "Nam", "Kinh", None, True),
    ]
    staff = [
        ("S1", "HT", "Hiệu Trưởng", "Nữ", "Cán bộ quản lý", "Thạc sĩ", "Quản lý giáo dục",
         "Đang làm việc"),
        ("S1", "GV1", "Giáo Viên Một", "Nữ", "Giáo viên", "Đại học", "Giáo dục Tiểu học",
         "Đang làm việc"),
        ("S1", "GV2", "Giáo Viên Hai", "Nam", "Giáo viên", "Cao đẳng", "Sư phạm",
         "Đang làm việc"),
        ("S1", "NV1", "Nhân Viên", "Nữ", "Nhân viên", "Trung cấp", "Kế toán", "Đang làm việc"),
        ("S1", "GV9", "Đã Nghỉ", "Nam", "Giáo viên", "Đại học", "Sư phạm", "Nghỉ hưu"),
        ("S2", "Z1", "Khác", "Nam", "Giáo viên", "Thạc sĩ", None, "Đang làm việc"),
    ]
    rooms = [("S1", "R1", "Phòng học", "Kiên cố", "Tốt"), ("S1", "R2", "Phòng học", "Kiên cố", "Tốt"),
             ("S2", "R9", "Phòng học", "Kiên cố", "Tốt")]
    equipment = [("S1", "Máy vi tính phòng Tin học", 10, 8 if now else 10),
                 ("S1", "Bồn tiểu học sinh nam", 2 if now else 1, None),
                 ("S1", "Bệ xí học sinh nữ", 2, 2), ("S2", "Máy vi tính", 50, 50)]
    if now:
        classes.append(("S1", "L4B", "4B", 4))
        students += [("S1", "C1", "L4B", "Nam", "Kinh", None, True),
                     ("S1", "A5", "L1A", "Nam", "Kinh", None, True)]
        staff.append(("S1", "GV3", "Giáo Viên Ba", "Nữ", "Giáo viên", "Thạc sĩ", "Toán học",
                      "Đang làm việc"))
        rooms += [("S1", "R3", "Phòng học", "Tạm", "Hỏng"),
                  ("S1", "R4", "Phòng Tin học", "Kiên cố", "Tốt")]
    return {
        "school": school,
        "class": pd.DataFrame(classes, columns=["school_id", "class_id", "class_name", "grade"]),
        "student": pd.DataFrame(students, columns=STUDENT_COLUMNS),
        "staff": pd.DataFrame(staff, columns=STAFF_COLUMNS),
        "room": pd.DataFrame(rooms, columns=["school_id", "room_id", "room_type", "construction",
                                             "condition"]),
        "equipment": pd.DataFrame(equipment, columns=["school_id", "item", "quantity", "working"])
        .astype({"quantity": "Int64", "working": "Int64"}),
    }


@pytest.fixture
def two_snapshots(tmp_path):
    before = snapshots.write_snapshot(tmp_path, figure_tables(False), school_year="2026-2027",
                                      taken_at=BEFORE_AT, source="import")
    now = snapshots.write_snapshot(tmp_path, figure_tables(True), school_year="2026-2027",
                                   taken_at=NOW_AT, source="import")
    return tmp_path, before, now


def plain_student_counts(tables) -> dict[str, Counter]:
    """Students per grade and metric, counted row by row from the fixture."""
    grade_of = {r.class_id: str(r.grade) for r in tables["class"].itertuples() if r.school_id == "S1"}
    counts: dict[str, Counter] = {}
    for s in tables["student"].itertuples():
        if s.school_id != "S1" or not s.active:
            continue
        for row in (grade_of.get(s.class_id, "unknown"), "total"):
            c = counts.setdefault(row, Counter())
            c["students"] += 1
            c["girls"] += s.gender == "Nữ"
            c["boys"] += s.gender == "Nam"
            if isinstance(s.ethnicity, str) and s.ethnicity.strip():
                c["kinh" if s.ethnicity.strip().lower() == "kinh" else "minority"] += 1
            c["disabled"] += isinstance(s.disability, str) and s.disability.strip() not in ("", "Không")
    return counts


@pytest.mark.parametrize("now", [False, True])
def test_students_match_a_plain_count(two_snapshots, now):
    data_dir, before_info, now_info = two_snapshots
    got = figures.compute(data_dir, now_info if now else before_info, "S1")["students"]
    expected = plain_student_counts(figure_tables(now))
    assert list(got.index) == ["1", "2", "3", "4", "5", "unknown", "total"]
    for row in got.index:
        assert {m: int(got.at[row, m]) for m in got.columns} == \
            {m: expected.get(row, Counter())[m] for m in figures.METRICS["students"]}, row


def test_classes_staff_teachers_and_facilities(two_snapshots):
    data_dir, _, now_info = two_snapshots
    got = figures.compute(data_dir, now_info, "S1")
    classes = got["classes"]
    assert (classes.at["1", "classes"], classes.at["1", "students"]) == (1, 3)
    assert (classes.at["4", "classes"], classes.at["4", "students"]) == (2, 3)
    assert classes.at["4", "avg_class_size"] == pytest.approx(1.5)
    assert pd.isna(classes.at["2", "avg_class_size"])
    assert classes.at["total", "students"] == 6  # Z9's class is not listed: not in any class
    staff = got["staff"]
    assert list(staff.index) == ["Cán bộ quản lý", "Giáo viên", "Nhân viên", "total"]
    assert dict(staff.loc["Giáo viên"]) == {"staff": 3, "women": 2, "postgraduate": 1,
                                            "university": 1, "college": 1, "intermediate": 0,
                                            "other": 0}  # GV9 retired: not counted
    assert staff.at["total", "staff"] == 5
    teachers = got["teachers"].loc["teachers"]
    assert (teachers["teachers"], teachers["meets_or_above"], teachers["above"],
            teachers["below"]) == (3, 2, 1, 1)
    assert teachers["share_standard"] == pytest.approx(2 / 3)
    rooms = got["rooms"]
    assert dict(rooms.loc["Phòng học"]) == {"rooms": 3, "solid": 2, "semi_solid": 0,
                                            "temporary": 1, "usable": 2}
    fac = got["facilities"]["value"]
    assert dict(fac) == {"classes": 3, "classrooms": 3, "usable_classrooms": 2,
                         "solid_classrooms": 2, "boys_urinal": 2, "boys_toilet": 0,
                         "girls_toilet": 2, "basin": 0, "computers": 8}


def test_compare_marks_what_changed(two_snapshots):
    data_dir, before_info, now_info = two_snapshots
    compared = figures.compare(figures.compute(data_dir, now_info, "S1"),
                               figures.compute(data_dir, before_info, "S1"))
    assert list(compared) == list(figures.SECTIONS)
    cell = {s: df.set_index(["row", "metric"]) for s, df in compared.items()}

    def at(section, row, metric):
        r = cell[section].loc[(row, metric)]
        return r["now"], r["before"], r["diff"], r["changed"]

    assert at("students", "total", "students") == (7, 6, 1, True)  # −A2, +C1, +A5
    assert at("students", "1", "minority") == (0, 1, -1, True)
    assert at("students", "4", "disabled") == (0, 0, 0, False)
    assert at("classes", "4", "classes") == (2, 1, 1, True)
    now_, before_, diff, changed = at("classes", "4", "avg_class_size")
    assert (now_, before_, diff, changed) == (pytest.approx(1.5), pytest.approx(2.0),
                                              pytest.approx(-0.5), True)
    no_class = at("classes", "2", "avg_class_size")  # no class in grade 2: no average
    assert all(pd.isna(v) for v in no_class[:3]) and not no_class[3]
    assert at("staff", "Nhân viên", "staff") == (1, 1, 0, False)
    assert at("teachers", "teachers", "above") == (1, 0, 1, True)
    # A room type that appeared: 0 before.
    assert at("rooms", "Phòng Tin học", "rooms") == (1, 0, 1, True)
    assert at("facilities", "computers", "value") == (8, 10, -2, True)
    assert at("facilities", "boys_urinal", "value") == (2, 1, 1, True)
    total = sum(int(df["changed"].sum()) for df in compared.values())
    assert figures.changes(compared) == total
    # Nothing to compare with: no earlier values, nothing marked.
    alone = figures.compare(figures.compute(data_dir, now_info, "S1"), {})
    assert figures.changes(alone) == 0
    assert alone["students"]["before"].isna().all()


def test_wide_table_and_mask(two_snapshots):
    data_dir, before_info, now_info = two_snapshots
    compared = figures.compare(figures.compute(data_dir, now_info, "S1"),
                               figures.compute(data_dir, before_info, "S1"))
    table, mask = figures.wide("classes", compared["classes"], "vi")
    # One column a metric (fits the screen): the value now, the change beside it.
    assert list(table.columns[:3]) == ["Chỉ tiêu", "Số lớp", "Số học sinh"]
    assert table.shape == mask.shape and list(mask.columns) == list(table.columns)
    row = table.index[table["Chỉ tiêu"] == "Khối 4"][0]
    assert table.at[row, "Sĩ số bình quân"] == "1,5 (-0,5)"
    assert table.at[row, "Số lớp"].endswith("(+1)")
    assert mask.at[row, "Số lớp"]
    total = table.index[table["Chỉ tiêu"] == "Toàn trường"][0]
    khoi2 = table.index[table["Chỉ tiêu"] == "Khối 2"][0]
    assert not mask.at[khoi2, "Số lớp"] and "(" not in table.at[khoi2, "Số lớp"]
    assert table.at[total, "Số học sinh"].split(" ")[0] == "6"
    english, _ = figures.wide("teachers", compared["teachers"], "en")
    assert english.iloc[0, 0] == "Working teachers"
    assert "Share meeting the standard" in english.columns
    assert english.at[0, "Share meeting the standard"].startswith("66.7%")


def test_excel_holds_both_columns_and_the_differences(two_snapshots):
    data_dir, before_info, now_info = two_snapshots
    compared = figures.compare(figures.compute(data_dir, now_info, "S1"),
                               figures.compute(data_dir, before_info, "S1"))
    content = figures.workbook(compared, "vi", "Số liệu — Trường Thử", "so với 02/10/2026")
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == [figures.section_name(s) for s in figures.SECTIONS]
    ws = book["Học sinh"]
    assert ws["A1"].value == "Số liệu — Trường Thử — Học sinh"
    assert ws["A2"].value == "so với 02/10/2026"
    assert (ws["B4"].value, ws["B5"].value, ws["C5"].value, ws["D5"].value) == \
        ("Số học sinh", "Nay", "Trước", "Chênh lệch")
    rows = {ws.cell(r, 1).value: r for r in range(6, ws.max_row + 1)}
    total = rows["Toàn trường"]
    assert (ws.cell(total, 2).value, ws.cell(total, 3).value, ws.cell(total, 4).value) == (7, 6, 1)
    ranges = [str(cf.sqref) for cf in ws.conditional_formatting]
    assert "D6:D12" in ranges and "B6:B12" in ranges  # differences coloured, changes marked
    rules = [rule for cf in ws.conditional_formatting for rule in cf.rules]
    assert {r.type for r in rules} == {"cellIs", "expression"}
    classes = book["Lớp"]
    rows = {classes.cell(r, 1).value: r for r in range(6, classes.max_row + 1)}
    # avg class size: the seventh to ninth columns, one decimal
    assert classes.cell(4, 8).value == "Sĩ số bình quân"
    assert classes.cell(rows["Khối 4"], 10).value == pytest.approx(-0.5)
    assert classes.cell(rows["Khối 2"], 8).value is None  # no class: no average
    rooms = book["Phòng"]
    found = {rooms.cell(r, 1).value: (rooms.cell(r, 2).value, rooms.cell(r, 3).value)
             for r in range(6, rooms.max_row + 1)}
    assert found["Phòng Tin học"] == (1, 0)
    alone = openpyxl.load_workbook(io.BytesIO(figures.workbook(
        figures.compare(figures.compute(data_dir, now_info, "S1"), {}), "en", "T", "S")))
    assert not list(alone["Students"].conditional_formatting)  # nothing to mark
    assert alone["Students"]["C5"].value == "Before" and alone["Students"]["C6"].value is None
    teachers = book["Chuẩn trình độ giáo viên"]
    share_col = [c for c in range(2, teachers.max_column + 1)
                 if teachers.cell(4, c).value == "Tỉ lệ đạt chuẩn trở lên"][0]
    assert teachers.cell(6, share_col).number_format == "0.0%"


def snap(day: datetime, year: str, n: int = 0) -> snapshots.SnapshotInfo:
    return snapshots.SnapshotInfo(f"{day:%Y%m%d-%H%M%S}-{n:06x}", year, day, "import", day,
                                  None, None, Path("x"))


def test_default_previous_snapshot():
    chosen = snap(datetime(2027, 1, 8, 17), "2026-2027")
    sixty = snap(datetime(2026, 11, 9, 17), "2026-2027", 1)  # exactly 60 days older
    fifty_nine = snap(datetime(2026, 11, 10, 17), "2026-2027", 2)
    older = snap(datetime(2026, 9, 4, 17), "2026-2027", 3)
    later = snap(datetime(2027, 3, 1, 17), "2026-2027", 4)
    assert figures.default_previous([older, sixty, fifty_nine, chosen, later], chosen) == sixty
    assert figures.default_previous([older, fifty_nine, chosen], chosen) == older
    # Nothing 60 days older: the previous school year's last snapshot.
    early = snap(datetime(2026, 9, 5, 17), "2026-2027")
    last_year = [snap(datetime(2026, 6, 5, 17), "2025-2026", 5),
                 snap(datetime(2026, 7, 25, 17), "2025-2026", 6)]
    august = snap(datetime(2026, 8, 20, 17), "2026-2027", 7)
    assert figures.default_previous([*last_year, august, early], early) == last_year[0]
    assert figures.default_previous([last_year[1], august, early], early) == last_year[1]
    assert figures.default_previous([august, early], early) is None
    assert figures.default_previous([chosen], chosen) is None


def test_report_point():
    assert [figures.report_point(datetime(2026, m, 1)) for m in (8, 9, 11, 12, 1, 3, 4, 5, 7)] == \
        ["start", "start", "start", "mid", "mid", "mid", "end", "end", "end"]


def test_labels_in_both_languages():
    for section, metrics in figures.METRICS.items():
        assert f"figures.section.{section}" in i18n.TABLE
        for metric in metrics:
            vi, en = i18n.TABLE[f"figures.metric.{metric}"]
            assert vi and en
    for row in figures.FACILITY_ROWS:
        assert f"figures.row.{row}" in i18n.TABLE
    assert figures.row_label("students", "3", "en") == "Grade 3"
    assert figures.row_label("rooms", "Phòng học", "en") == "Phòng học"  # data as written


# --- the page -------------------------------------------------------------------------------
def page(data_dir, monkeypatch, role="principal", lang="vi", **params) -> AppTest:
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(REPO_ROOT / "pages/figures.py"), default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "test"
    at.session_state["roles"] = [role]
    bind_session(at)  # the account and its school, in users.yaml
    at.session_state["lang"] = lang
    at.query_params["school"] = "S1"
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_page_compares_with_the_default_snapshot(two_snapshots, monkeypatch):
    data_dir, before_info, now_info = two_snapshots
    at = page(data_dir, monkeypatch)
    assert not at.exception, at.exception
    assert at.title[0].value == "Số liệu đầu, giữa, cuối năm"
    assert at.selectbox(key="figures-before").value == before_info.snapshot_id  # 98 days older
    expected = figures.changes(figures.compare(figures.compute(data_dir, now_info, "S1"),
                                               figures.compute(data_dir, before_info, "S1")))
    assert at.metric[0].value == str(expected)
    assert any("Thời điểm giữa năm học 2026-2027" in c.value for c in at.caption)
    assert any("so với bản chụp 02/10/2026 17:00" in c.value for c in at.caption)
    shown = "\n".join(table_text(tb) for tb in at.table)
    assert "1 (-1)" in shown and "Phòng Tin học" in shown  # a change beside its value
    assert len(at.table) == len(figures.SECTIONS) and not at.dataframe  # tables that wrap
    # No comparison: the figures alone.
    at.selectbox(key="figures-before").select_index(0).run()
    assert not at.exception, at.exception
    assert not at.metric
    assert "(-" not in "\n".join(table_text(tb) for tb in at.table)


def test_page_in_english_for_the_admin_on_the_earlier_snapshot(two_snapshots, monkeypatch):
    data_dir, before_info, _ = two_snapshots
    at = page(data_dir, monkeypatch, role="admin", lang="en", snapshot=before_info.snapshot_id)
    assert not at.exception, at.exception
    assert any("There is no earlier snapshot" in i.value for i in at.info)
    assert any("Start of the 2026-2027 school year" in c.value for c in at.caption)
    assert at.table[0].value.columns[0] == "Item"
