"""Staff: headcounts, age bands, ranks, the qualification standard, teachers per class, the
assignment grid and workload — each against a fixture planted to hit and to miss, counted again
in plain Python; the account register (import, refusals, checks); the page."""
import io
import unicodedata
from collections import Counter
from datetime import date, datetime

import pandas as pd
import pytest
import xlsxwriter
from streamlit.testing.v1 import AppTest

from csdl import accounts, i18n, records, rules, snapshots, staffing
from csdl.config import REPO_ROOT
from csdl.problems import ImportRefused
from tests import tabs
from tests.conftest import run_query, bind_session
from tests.test_app import table_text

TAKEN_AT = datetime(2027, 1, 8, 17, 0)
STAFF_COLUMNS = ["staff_id", "full_name", "birth_date", "gender", "position_group", "job_position",
                 "contract_type", "rank_code", "qualification", "major", "status"]
GV, QL, NV = "Giáo viên", "Cán bộ quản lý", "Nhân viên"
WORKING = "Đang làm việc"

# staff_id, name, birth, gender, group, position, contract, rank, qualification, major, status
# The age boundaries are on the snapshot's date, 08/01/2027.
STAFF = [
    ("HT", "Lê Thị Hiệu", date(1972, 1, 8), "Nữ", QL, "Hiệu trưởng", "Biên chế", "V.07.03.27",
     "Thạc sĩ", "Quản lý giáo dục", WORKING),                 # 55 today → 55 and over
    ("PHT", "Trần Văn Phó", date(1972, 1, 9), "Nam", QL, "Phó hiệu trưởng", "Biên chế",
     "V.07.03.28", "Đại học", "Giáo dục Tiểu học", WORKING),  # 54 until tomorrow
    ("GV1", "Nguyễn Thị Một", date(1997, 1, 8), "Nữ", GV, "Giáo viên", "Biên chế", "V.07.03.29",
     "Đại học", "Giáo dục Tiểu học", WORKING),               # 30 today: meets
    ("GV2", "Phạm Văn Hai", date(1997, 1, 9), "Nam", GV, "Giáo viên", "Hợp đồng", "V.07.03.29",
     "Cao đẳng", "Sư phạm Tiểu học", " đang  làm VIỆC "),     # 29: below; odd spelling, working
    ("GV3", "Hoàng Thị Ba", date(1987, 1, 8), "Nữ", GV, "Giáo viên", "Biên chế", "V.07.03.28",
     "Thạc sĩ", "Lý luận và phương pháp dạy học", unicodedata.normalize("NFD", WORKING)),  # 40: above
    ("GV4", "Vũ Văn Bốn", date(1987, 1, 9), "Nam", GV, "Giáo viên", "Biên chế", "V.07.03.28",
     "Đại học", "Ngôn ngữ Anh", WORKING),                     # 39: a bachelor's, not teaching: below
    ("GV5", "Đỗ Thị Năm", date(1977, 1, 8), "Nữ", GV, "Giáo viên", "Biên chế", "V.07.03.29",
     "Đại học", "Sư phạm Âm nhạc", None),                     # 50; blank status counts as working
    ("GV6", "Bùi Thị Sáu", None, "Nữ", GV, "Giáo viên", "Hợp đồng", None,
     "Đại học", None, WORKING),                               # no birth date, no major: unknown
    ("GV7", "Mai Văn Bảy", date(1990, 5, 5), "Nam", GV, "Giáo viên", "Biên chế", "V.07.03.29",
     "Trung cấp", "Sư phạm", "Nghỉ hưu"),                     # left: counted nowhere
    ("GV8", "Lý Thị Tám", date(1992, 5, 5), "Nữ", GV, "Giáo viên", "Biên chế", "V.07.03.29",
     "Tiến sĩ", "Giáo dục học", "Chuyển đi"),                 # left
    ("KT", "Chu Thị Kế", date(1985, 3, 3), "Nữ", NV, "Kế toán", "Biên chế", "06.031",
     "Đại học", "Kế toán", WORKING),
    ("BV", "Ông Văn Vệ", date(1965, 3, 3), "Nam", NV, "Bảo vệ", "Hợp đồng", None,
     "Trung học phổ thông", None, WORKING),
]
EXPECTED_BAND = {"HT": "55_over", "PHT": "50_54", "GV1": "30_39", "GV2": "under_30",
                 "GV3": "40_49", "GV4": "30_39", "GV5": "50_54", "GV6": "unknown",
                 "KT": "40_49", "BV": "55_over"}
EXPECTED_STANDARD = {"GV1": "meets", "GV2": "below", "GV3": "above", "GV4": "below",
                     "GV5": "meets", "GV6": "unknown"}


def staff_frame(rows=STAFF) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=STAFF_COLUMNS)
    df.insert(0, "school_id", "S1")
    return df


def staff_tables():
    """S1: classes 1A and 4A (4A without a homeroom teacher), six working teachers, two who
    left, and teaching assignments with gaps planted; S2's staff must never count."""
    school = pd.DataFrame([("S1", "Trường Thử", "Tỉnh"), ("S2", "Trường khác", "Tỉnh")],
                          columns=["school_id", "name", "province"])
    classes = pd.DataFrame([("S1", "L1A", "1A", 1, "GV1"), ("S1", "L4A", "4A", 4, None),
                            ("S2", "X1", "1A", 1, "Z1")],
                           columns=["school_id", "class_id", "class_name", "grade",
                                    "homeroom_staff_id"])
    students = [("S1", f"A{i}", "L1A", True) for i in range(30)] + [("S1", "A99", "L1A", False)]
    students += [("S1", f"B{i}", "L4A", True) for i in range(25)]
    students += [("S2", f"X{i}", "X1", True) for i in range(10)]
    student = pd.DataFrame(students, columns=["school_id", "student_id", "class_id", "active"])
    staff = pd.concat([staff_frame(), pd.DataFrame([{
        "school_id": "S2", "staff_id": "Z1", "full_name": "Người Trường Khác",
        "position_group": GV, "status": WORKING}])], ignore_index=True)
    grade1 = [s.code for s in rules.subjects_for_grade(1) if 1 not in s.optional_grades]
    grade4 = [s.code for s in rules.subjects_for_grade(4) if 4 not in s.optional_grades]
    assignment = [("S1", "GV1", "L1A", c) for c in grade1 if c not in ("AMNHAC", "GDTC")]
    assignment += [("S1", "GV5", "L1A", "AMNHAC"),  # GDTC of 1A: a gap
                   ("S1", "GV4", "L1A", "NGOAINGU"),  # optional in grade 1, assigned: owed
                   ("S1", "GV5", "L4A", "AMNHAC"), ("S1", "GV4", "L4A", "NGOAINGU")]
    assignment += [("S1", "GV3", "L4A", c) for c in grade4
                   if c not in ("AMNHAC", "NGOAINGU", "KHOAHOC")]  # KHOAHOC of 4A: a gap
    assignment += [("S1", None, "L4A", "TIENGDT"),  # optional, a row without a teacher: a gap
                   ("S1", "GV7", "L4A", "GDTC"),    # assigned to someone who left
                   ("S1", "GHOST", "L4A", "GDTC"),  # and to a code not in the staff list
                   ("S2", "Z1", "X1", "TOAN")]
    assignment = pd.DataFrame(assignment, columns=["school_id", "staff_id", "class_id",
                                                   "subject_code"])
    return {"school": school, "class": classes, "student": student, "staff": staff,
            "assignment": assignment}


@pytest.fixture
def staff_snapshot(tmp_path):
    info = snapshots.write_snapshot(tmp_path, staff_tables(), school_year="2026-2027",
                                    taken_at=TAKEN_AT, source="import")
    return tmp_path, info


@pytest.fixture
def annotated(staff_snapshot):
    data_dir, info = staff_snapshot
    return staffing.annotate(run_query(data_dir, info, "staff_list", school_id="S1"),
                             info.taken_at)


# --- one person -------------------------------------------------------------------------------
def test_age_bands_at_their_boundaries(annotated):
    got = dict(zip(annotated["staff_id"], annotated["age_band"]))
    assert {k: got[k] for k in EXPECTED_BAND} == EXPECTED_BAND
    ages = dict(zip(annotated["staff_id"], annotated["age"]))
    assert (ages["HT"], ages["PHT"], ages["GV1"], ages["GV2"], ages["GV3"], ages["GV4"]) == \
        (55, 54, 30, 29, 40, 39)
    assert staffing.age_on(date(2016, 2, 29), date(2027, 2, 28)) == 10  # leap-day birthday
    assert staffing.age_on(date(2016, 2, 29), date(2027, 3, 1)) == 11
    assert staffing.age_on(None, TAKEN_AT) is None and staffing.age_band(None) == "unknown"


def test_qualification_standard(annotated):
    got = dict(zip(annotated["staff_id"], annotated["standard"]))
    assert {k: got[k] for k in EXPECTED_STANDARD} == EXPECTED_STANDARD
    q = staffing.qualification_standard
    assert q("Tiến sĩ", None) == "above" and q("Thạc sĩ", "Toán học") == "above"
    assert q("Đại học sư phạm", None) == "meets"  # teacher training named in the degree itself
    assert q("ĐẠI HỌC", "Giáo dục Thể chất") == "meets"
    assert q("Đại học", "Công nghệ thông tin") == "below"
    assert q("Trung cấp", "Sư phạm") == "below" and q("Cao đẳng", "Giáo dục Tiểu học") == "below"
    assert q(None, "Sư phạm") == "unknown" and q("Khác", None) == "unknown"


def test_ranks_and_working():
    assert [staffing.rank(c) for c in ("V.07.03.27", "V.07.03.28", "V 07.03.29", "V.07.03.29",
                                       "06.031", None, "")] == \
        ["I", "II", "III", "III", "other", "unknown", "unknown"]  # spaces inside are dropped
    assert staffing.rank("v.07.03.28") == "II"
    assert staffing.is_working("Đang làm việc") and staffing.is_working(None)
    assert staffing.is_working(unicodedata.normalize("NFD", "ĐANG LÀM VIỆC"))
    assert not staffing.is_working("Nghỉ hưu") and not staffing.is_working("Tạm nghỉ")


# --- headcounts ---------------------------------------------------------------------------
def independent_working():
    """The fixture's working staff, decided by hand: everyone but GV7 and GV8."""
    return [r for r in STAFF if r[0] not in ("GV7", "GV8")]


@pytest.mark.parametrize("dimension,column", [("position_group", 4), ("gender", 3),
                                              ("contract_type", 6)])
def test_headcounts_match_a_plain_count(annotated, dimension, column):
    people = independent_working()
    expected = Counter(r[column] for r in people)
    women = Counter(r[column] for r in people if r[3] == "Nữ")
    table = staffing.headcount(annotated, dimension)
    assert dict(zip(table["value"], table["staff"])) == dict(expected)
    assert dict(zip(table["value"], table["women"])) == {k: women.get(k, 0) for k in expected}
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["staff"].sum() == 10  # the two leavers are counted nowhere


def test_headcount_by_age_band_and_rank_keeps_the_scale(annotated):
    bands = staffing.headcount(annotated, "age_band")
    assert list(bands["value"]) == [*staffing.AGE_BANDS, "unknown"]
    assert dict(zip(bands["value"], bands["staff"])) == dict(Counter(EXPECTED_BAND.values())) | {
        b: 0 for b in staffing.AGE_BANDS if b not in EXPECTED_BAND.values()}
    ranks = staffing.headcount(annotated, "rank")
    assert dict(zip(ranks["value"], ranks["staff"])) == {"I": 1, "II": 3, "III": 3, "other": 1,
                                                         "unknown": 2}
    assert list(ranks["value"]) == ["I", "II", "III", "other", "unknown"]


def test_leavers_are_listed_apart(annotated):
    left = staffing.leavers(annotated)
    assert sorted(left["staff_id"]) == ["GV7", "GV8"]
    assert set(left["status"]) == {"Nghỉ hưu", "Chuyển đi"}


def test_qualification_summary(annotated):
    # Working teachers: GV1 meets, GV2 below, GV3 above, GV4 below, GV5 meets, GV6 unknown.
    q = staffing.qualification_summary(annotated)
    assert (q["teachers"], q["below"], q["meets"], q["above"], q["unknown"]) == (6, 2, 2, 1, 1)
    assert q["share_standard"] == pytest.approx(3 / 6)
    assert q["share_above"] == pytest.approx(1 / 6)
    table = staffing.qualification_table(annotated)
    assert list(table["standard"]) == list(staffing.STANDARD_LEVELS)
    assert table["staff"].sum() == 6
    assert sorted(staffing.below_standard(annotated)["staff_id"]) == ["GV2", "GV4", "GV6"]


# --- teachers per class -------------------------------------------------------------------
def teachers(n_working: int, n_left: int = 0, n_staff: int = 0) -> pd.DataFrame:
    rows = [(f"T{i}", f"GV {i}", None, None, GV, "Giáo viên", None, None, None, None, WORKING)
            for i in range(n_working)]
    rows += [(f"L{i}", f"Đã nghỉ {i}", None, None, GV, "Giáo viên", None, None, None, None,
              "Nghỉ việc") for i in range(n_left)]
    rows += [(f"N{i}", f"NV {i}", None, None, NV, "Kế toán", None, None, None, None, WORKING)
             for i in range(n_staff)]
    return staffing.annotate(pd.DataFrame(rows, columns=STAFF_COLUMNS), TAKEN_AT)


def test_teachers_per_class_exactly_at_the_norm_and_short():
    met = staffing.teachers_per_class(teachers(3, n_left=2, n_staff=4), 2, 1.5)
    assert met == {"teachers": 3, "classes": 2, "ratio": 1.5, "norm": 1.5, "needed": 3,
                   "shortfall": 0, "met": True}
    short = staffing.teachers_per_class(teachers(4, n_left=3), 3, 1.5)
    assert (short["ratio"], short["needed"], short["shortfall"], short["met"]) == \
        (pytest.approx(4 / 3), 5, 1, False)
    # Norms whose product is not exact in binary still ask for the right whole number.
    assert staffing.required(1.1, 10) == 11 and staffing.required(1.5, 3) == 5
    assert staffing.teachers_per_class(teachers(2), 0, 1.5)["met"] is None


def test_teachers_per_class_on_the_snapshot(annotated, staff_snapshot):
    data_dir, info = staff_snapshot
    classes = run_query(data_dir, info, "staff_classes", school_id="S1")
    assert list(classes["students"]) == [30, 25]  # enrolled only; S2 left out
    got = staffing.teachers_per_class(annotated, len(classes), 1.5)
    # Six working teachers (GV1–GV6) for two classes: 3 per class, above 1.5.
    assert (got["teachers"], got["classes"], got["ratio"], got["met"]) == (6, 2, 3.0, True)


# --- assignments and workload --------------------------------------------------------------
def test_assignment_grid_shows_the_gaps(annotated, staff_snapshot):
    data_dir, info = staff_snapshot
    classes = run_query(data_dir, info, "staff_classes", school_id="S1")
    owed = run_query(data_dir, info, "staff_assignment_grid", school_id="S1")
    cells = staffing.assignment_cells(owed, classes, annotated)
    gaps = staffing.gaps(cells)
    assert sorted(zip(gaps["class_id"], gaps["item_code"])) == [
        ("L1A", "GDTC"), ("L4A", "KHOAHOC"), ("L4A", "PCNL"), ("L4A", "TIENGDT")]
    # Owed cells counted again from the rules: grade subjects, optional ones only where assigned.
    tables = staff_tables()
    assigned = {(r.class_id, r.subject_code) for r in tables["assignment"].itertuples()
                if r.school_id == "S1"}
    expected = {(c, s.code) for c, g in (("L1A", 1), ("L4A", 4)) for s in rules.subjects_for_grade(g)
                if g not in s.optional_grades or (c, s.code) in assigned}
    assert {(c, i) for c, i in zip(cells["class_id"], cells["item_code"]) if i != "PCNL"} == expected
    grid = staffing.assignment_grid(cells, "GAP")
    assert list(grid["class_name"]) == ["1A", "4A"]
    assert list(grid.columns[:3]) == ["class_name", "PCNL", "TOAN"]
    row_4a = grid.set_index("class_name").loc["4A"]
    assert row_4a["KHOAHOC"] == "GAP" and row_4a["PCNL"] == "GAP" and row_4a["TNXH"] == ""
    # Three teachers on 4A's GDTC: a code not in the staff list, GV3, and one who left.
    assert row_4a["GDTC"] == "GHOST; Hoàng Thị Ba; Mai Văn Bảy"
    row_1a = grid.set_index("class_name").loc["1A"]
    assert row_1a["PCNL"] == "Nguyễn Thị Một" and row_1a["NGOAINGU"] == "Vũ Văn Bốn"


def test_workload_matches_a_plain_count(annotated, staff_snapshot):
    data_dir, info = staff_snapshot
    classes = run_query(data_dir, info, "staff_classes", school_id="S1")
    load = staffing.workload(run_query(data_dir, info, "staff_assignments", school_id="S1"),
                             annotated, classes).set_index("staff_id")
    tables = staff_tables()
    enrolled = Counter(r.class_id for r in tables["student"].itertuples()
                       if r.school_id == "S1" and r.active)
    rows = {(r.staff_id, r.class_id, r.subject_code) for r in tables["assignment"].itertuples()
            if r.school_id == "S1" and isinstance(r.staff_id, str)}
    for staff_id in {s for s, _, _ in rows}:
        own = [(c, s) for t, c, s in rows if t == staff_id]
        got = load.loc[staff_id]
        assert got["classes"] == len({c for c, _ in own})
        assert got["subjects"] == len({s for _, s in own})
        assert got["assignments"] == len(own)
        assert got["students"] == sum(enrolled[c] for c in {c for c, _ in own})
        assert got["students_taught"] == sum(enrolled[c] for c, _ in own)
    assert load.loc["GV1", "homeroom_of"] == "1A"
    assert not load.loc["GHOST", "in_staff_list"] and not load.loc["GV7", "working"]
    # GV2 and GV6 teach nothing but are working teachers: listed with zeros.
    assert load.loc["GV2", "assignments"] == 0 and load.loc["GV6", "students"] == 0
    assert "Z1" not in load.index and "HT" not in load.index


def test_other_school_never_counts(staff_snapshot):
    data_dir, info = staff_snapshot
    staff = staffing.annotate(run_query(data_dir, info, "staff_list", school_id="S2"), TAKEN_AT)
    assert list(staff["staff_id"]) == ["Z1"]


# --- the account register ------------------------------------------------------------------
HEADER = ["Tên đăng nhập", "Mã cán bộ", "Họ tên", "Quyền", "Trạng thái"]
GOOD_ROWS = [
    ("ht.hieu", "HT", "Lê Thị Hiệu", "Quản trị trường, Xem báo cáo", "Hoạt động"),  # leader: fine
    ("gv.mot", "GV1", "Nguyễn Thị Một", "Nhập điểm", "Hoạt động"),  # working teacher: fine
    ("gv.hai", "GV2", "Phạm Văn Hai", "Nhập điểm, Quản trị hệ thống", "Hoạt động"),  # admin: flagged
    ("gv.bay", "GV7", "Mai Văn Bảy", "Nhập điểm", "Hoạt động"),  # retired: flagged
    ("gv.tam", "GV8", "Lý Thị Tám", "Nhập điểm", "Đã khóa"),  # moved away, locked: fine
    ("gv.ba", "", "Hoàng Thị Ba", "Nhập điểm", ""),  # by name; blank state is in use: fine
    ("gv.bon", "GV4", "Vũ Văn Bốn", "Nhập điểm", "Khóa"),  # locked: teacher without account
    ("kt.ke", "KT", "Chu Thị Kế", "Admin", "Hoạt động"),  # accountant with admin: flagged
    ("bv.ve", "BV", "Ông Văn Vệ", "quản trị CSDL", "Hoạt động"),  # app admin by name: fine
    ("la.mat", "X99", "Người Lạ", "Xem báo cáo", "Hoạt động"),  # not in the staff list: flagged
]


def xlsx(rows, header=HEADER, title: str | None = "Phụ lục 1") -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Tài khoản")
    start = 0
    if title:
        sheet.write_string(0, 0, title)
        start = 2
    sheet.write_row(start, 0, header)
    for r, row in enumerate(rows, start=start + 1):
        sheet.write_row(r, 0, row)
    book.close()
    return buffer.getvalue()


def test_register_reads_xlsx_and_csv():
    accounts_ = accounts.read_register(xlsx(GOOD_ROWS), "pl1.xlsx")
    assert list(accounts_["username"]) == [r[0] for r in GOOD_ROWS]
    assert accounts_.loc[0, "row"] == 4  # title, blank, header: Excel row 4
    assert accounts_.loc[5, "staff_id"] is None and accounts_.loc[5, "status"] is None
    text = ",".join(HEADER) + "\n" + "\n".join(
        ",".join(f'"{v}"' for v in row) for row in GOOD_ROWS)
    from_csv = accounts.read_register(text.encode("utf-8-sig"), "pl1.csv")
    assert list(from_csv["permissions"]) == [r[3] or None for r in GOOD_ROWS]


@pytest.mark.parametrize("rows,code,row,column", [
    # Title row, blank row, header (row 3), one good account (row 4), then the bad rows.
    ([("", "GV1", "Một", "Nhập điểm", "")], "account_username_missing", 5, "A (Tên đăng nhập)"),
    ([("gv.x", "", "", "Nhập điểm", "")], "account_staff_missing", 5, "B (Mã cán bộ)"),
    ([("gv.x", "GV1", "", "", ""), ("GV.X", "GV2", "", "", "")], "account_duplicate", 6,
     "A (Tên đăng nhập)"),
])
def test_bad_register_rows_are_refused_naming_row_and_column(rows, code, row, column):
    with pytest.raises(ImportRefused) as refused:
        accounts.read_register(xlsx(GOOD_ROWS[:1] + rows), "pl1.xlsx")
    problem = refused.value.problems[-1]
    assert (problem.code, problem.row, problem.column, problem.sheet) == \
        (code, row, column, "Tài khoản")
    assert problem.message("vi").startswith("pl1.xlsx, trang tính Tài khoản, dòng")
    assert f"problem.{code}" in i18n.TABLE


def test_bad_register_files_are_refused():
    for content, name, code in (
            (xlsx(GOOD_ROWS, header=["STT", "Người dùng", "Ghi chú"]), "x.xlsx",
             "account_columns_missing"),
            (b"<html>not a workbook</html>", "x.xlsx", "not_spreadsheet"),
            (b"", "x.csv", "file_empty"),
            (xlsx([]), "x.xlsx", "account_no_rows")):
        with pytest.raises(ImportRefused) as refused:
            accounts.read_register(content, name)
        assert refused.value.problems[0].code == code, name


def test_import_replaces_the_register_all_or_nothing_and_audits(tmp_path):
    assert accounts.register(tmp_path, "S1").empty
    assert accounts.import_register(tmp_path, "S1", xlsx(GOOD_ROWS), "admin", "pl1.xlsx") == 10
    assert accounts.import_register(tmp_path, "S2", xlsx(GOOD_ROWS[:2]), "admin", "s2.xlsx") == 2
    with pytest.raises(ImportRefused):
        accounts.import_register(tmp_path, "S1", xlsx(GOOD_ROWS[:3] + [("", "GV9", "", "", "")]),
                                 "admin", "bad.xlsx")
    kept = accounts.register(tmp_path, "S1")
    assert len(kept) == 10 and set(kept["file_name"]) == {"pl1.xlsx"}  # nothing written
    assert accounts.import_register(tmp_path, "S1", xlsx(GOOD_ROWS[:3]), "hieutruong",
                                    "moi.xlsx") == 3
    assert list(accounts.register(tmp_path, "S1")["username"]) == ["ht.hieu", "gv.mot", "gv.hai"]
    assert len(accounts.register(tmp_path, "S2")) == 2  # another school's register untouched
    entries = [e for e in records.audit_entries(tmp_path) if e["action"] == "account_register_import"]
    assert len(entries) == 3 and entries[0]["actor"] == "hieutruong"
    assert '"accounts": 3' in entries[0]["detail"] and "moi.xlsx" in entries[0]["detail"]


def test_register_checks_hit_and_miss(annotated):
    register = accounts.read_register(xlsx(GOOD_ROWS), "pl1.xlsx")
    admins = accounts.data_admin_ids(annotated, ["ÔNG VĂN VỆ"])
    assert admins == {"BV"}
    found = accounts.checks(register, annotated, "vi", admins)
    hits = {c: sorted(found.loc[found["check"] == c, "username"].fillna(
        found.loc[found["check"] == c, "staff_id"])) for c in accounts.CHECKS}
    # The retired teacher's account in use, and an account for someone not in the staff list;
    # the moved-away teacher's locked account and the working teachers' accounts are not.
    assert hits["leaver_account"] == ["gv.bay", "la.mat"]
    # A teacher with a locked account and teachers with none; GV1, GV3 (by name) are fine.
    assert hits["teacher_without_account"] == ["GV5", "GV6", "gv.bon"]
    # A teacher and the accountant with administrator rights; the principal and the app's
    # administrator (matched by name, any case) are expected to have them.
    assert hits["unexpected_admin"] == ["gv.hai", "kt.ke"]
    detail = dict(zip(found["username"].fillna(""), found["detail"]))
    assert detail["gv.bay"] == "trạng thái cán bộ: Nghỉ hưu"
    assert detail["la.mat"] == "không có trong danh sách cán bộ"
    assert detail["gv.hai"] == "quyền Quản trị hệ thống; vị trí: Giáo viên"
    assert detail["gv.bon"] == "tài khoản gv.bon đang ở trạng thái Khóa"
    # Without the app's administrator, the guard's admin rights are unexpected too.
    again = accounts.checks(register, annotated, "en")
    assert "bv.ve" in set(again.loc[again["check"] == "unexpected_admin", "username"])
    summary = accounts.summary(found, "en")
    assert list(summary["count"]) == [2, 3, 2]
    assert summary.loc[0, "name"] == "Account of someone who left"


def test_app_administrators_are_the_data_administrators(annotated, tmp_path):
    from csdl import auth

    assert accounts.app_admin_ids(tmp_path, annotated) == set()
    auth.add_user(tmp_path, "quantri", "admin", "ông văn vệ", "mat-khau-du-dai", None)
    auth.add_user(tmp_path, "hieutruong", "principal", "Chu Thị Kế", "mat-khau-du-dai", None)
    assert accounts.app_admin_ids(tmp_path, annotated) == {"BV"}
    auth.disable_user(tmp_path, "quantri", None)
    assert accounts.app_admin_ids(tmp_path, annotated) == set()


def test_data_administrator_by_position():
    staff = teachers(0, n_staff=1)
    staff.loc[0, "job_position"] = "Cán bộ quản trị CSDL"
    register = pd.DataFrame([{"row": 2, "username": "csdl", "staff_id": "N0", "full_name": None,
                              "permissions": "Quản trị", "status": None}])
    assert accounts.checks(register, staff).empty


def test_accounts_i18n_both_languages():
    for check in accounts.CHECKS:
        for part in ("name", "description", "detail"):
            vi, en = i18n.TABLE[f"accounts.{check}.{part}"]
            assert vi and en


# --- the page -------------------------------------------------------------------------------
def page(data_dir, monkeypatch, role="principal", lang="vi", tab=None, **params) -> AppTest:
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(REPO_ROOT / "pages/staff.py"), default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "test"
    at.session_state["name"] = "Người thử"
    at.session_state["roles"] = [role]
    bind_session(at)  # the account and its school, in users.yaml
    at.session_state["lang"] = lang
    if tab:  # opened before the first run: AppTest formats an English page's options in
        at.session_state["staff-tab"] = tab  # Vietnamese when it runs it again
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_page_shows_headcounts_gaps_leavers_and_account_checks(staff_snapshot, monkeypatch):
    data_dir, info = staff_snapshot
    accounts.import_register(data_dir, "S1", xlsx(GOOD_ROWS), "admin", "pl1.xlsx")
    at = page(data_dir, monkeypatch, school="S1")
    assert not at.exception, at.exception
    assert at.title[0].value == "Đội ngũ"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cán bộ đang làm việc"] == "10" and metrics["Giáo viên"] == "6"
    assert metrics["Giáo viên / lớp"] == "3,00" and metrics["GV đạt chuẩn trở lên"] == "50,0%"
    assert metrics["Đã nghỉ"] == "2"
    assert any("Định mức 1,5 giáo viên/lớp" in s.value for s in at.success)
    shown = "\n".join(text for at in tabs.each_tab(at) for text in (
        *(df.value.to_string() for df in at.dataframe), *(table_text(tb) for tb in at.table)))
    assert "⚠ Chưa phân công" in shown  # the grid
    assert "Nghỉ hưu" in shown and "Chuyển đi" in shown  # leavers
    assert "Quyền quản trị không đúng người" in shown and "kt.ke" in shown  # account checks
    assert "Từ 55 trở lên" in shown and "Hạng II (V.07.03.28)" in shown


def test_page_in_english_and_for_the_vice_principal(staff_snapshot, monkeypatch):
    data_dir, _ = staff_snapshot
    at = page(data_dir, monkeypatch, role="vice_principal", lang="en", school="S1",
              tab="Sector database accounts")
    assert not at.exception, at.exception
    assert at.title[0].value == "Staff"
    assert any("Only the principal and the administrator" in c.value for c in at.caption)
    assert not at.get("file_uploader")
    assert any("No account register has been imported" in i.value for i in at.info)


def test_page_with_a_bad_settings_file(staff_snapshot, monkeypatch):
    data_dir, _ = staff_snapshot
    (data_dir / "settings.yaml").write_text("teachers_per_class: lots\n")
    at = page(data_dir, monkeypatch, school="S1")
    assert not at.exception, at.exception
    assert any("Không dùng được tệp cài đặt" in e.value for e in at.error)


def test_page_on_a_school_without_staff(small_snapshot, monkeypatch):
    data_dir, _ = small_snapshot
    at = page(data_dir, monkeypatch, school="S1")
    assert not at.exception, at.exception
    assert any("chưa có danh sách cán bộ" in i.value for i in at.info)
