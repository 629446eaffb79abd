"""csdl.samples: sector-shaped files from contract tables, read back by csdl.readers."""
from __future__ import annotations

import pandas as pd
import pytest

from csdl.readers import OLE2_MAGIC, ZIP_MAGIC, load_sheets, read_file
from csdl.samples import write_sector_files
from tests.readers_fixtures import PERIODS, SCHOOL_ID, SCHOOL_NAME, SCHOOL_YEAR, contract_tables


def plain(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as tuples of plain values (None for NULL), sorted, for comparing frames."""
    rows = frame[columns].astype(object).to_numpy().tolist()
    return sorted((tuple(None if pd.isna(v) else v for v in row) for row in rows), key=repr)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The fixture school written next to a second school that must not leak into its files."""
    tables = contract_tables()
    other = contract_tables("TH02")
    both = {name: pd.concat([frame, other[name]], ignore_index=True)
            for name, frame in tables.items()}
    out = tmp_path_factory.mktemp("sector")
    paths = write_sector_files(both, out, school_id=SCHOOL_ID, school_name=SCHOOL_NAME,
                               school_year=SCHOOL_YEAR, periods=PERIODS)
    return tables, paths, [read_file(p) for p in paths]


def test_files_written(written):
    _, paths, parsed = written
    names = sorted(p.name for p in paths)
    expected = sorted([f"KQHT-C1-{p}-Khoi12.xls" for p in PERIODS]
                      + [f"KQHT-C1-{p}-Khoi{g}.xlsx" for p in PERIODS for g in (3, 4, 5)]
                      + ["C1-HocSinh.xls", "CSDL_GiaoVien.xls", "PhanCongChuyenMon.xlsx",
                         "CoSoVatChat.xlsx"])
    assert names == expected
    for path in paths:  # real legacy .xls for the sector's lists, real .xlsx for the others
        magic = OLE2_MAGIC if path.suffix == ".xls" else ZIP_MAGIC
        assert path.read_bytes().startswith(magic), path.name
    assert all(p.problems == [] for p in parsed), [(p.name, p.problems) for p in parsed]


def test_round_trip_results(written):
    tables, _, parsed = written
    results = [p for p in parsed if p.kind == "results"]
    for name, columns in (
            ("subject_result", ["student_id", "period", "subject_code", "level", "score"]),
            ("trait_result", ["student_id", "period", "trait_code", "level"]),
            ("year_result", ["student_id", "completed", "promoted", "classification"])):
        read = pd.concat([p.tables[name] for p in results if name in p.tables])
        assert plain(read, columns) == plain(tables[name], columns), name
    khoi12 = [p for p in results if p.name.endswith("Khoi12.xls")]
    assert {p.grade for p in khoi12} == {None}
    assert {(p.grade, p.period) for p in results if p.grade} == {
        (g, period) for g in (3, 4, 5) for period in PERIODS}
    assert all((p.school_name, p.school_year) == (SCHOOL_NAME, SCHOOL_YEAR) for p in results)
    roster = pd.concat([p.tables["roster"] for p in results if p.period == "CN"])
    assert plain(roster, ["student_id", "class_id", "full_name", "birth_date"]) == plain(
        tables["student"], ["student_id", "class_id", "full_name", "birth_date"])


def test_round_trip_lists_and_templates(written):
    tables, _, parsed = written
    by_kind = {p.kind: p.tables for p in parsed if p.kind != "results"}
    student_cols = ["student_id", "class_id", "full_name", "birth_date", "gender", "ethnicity",
                    "disability", "status", "active"]
    assert plain(by_kind["students"]["student"], student_cols) == plain(
        tables["student"], student_cols)
    assert plain(by_kind["students"]["class"], ["class_id", "class_name", "grade"]) == plain(
        tables["class"], ["class_id", "class_name", "grade"])
    staff_cols = [c for c in tables["staff"].columns if c != "school_id"]
    assert plain(by_kind["staff"]["staff"], staff_cols) == plain(tables["staff"], staff_cols)
    assert plain(by_kind["assignments"]["assignment"], ["staff_id", "class_id", "subject_code"]) \
        == plain(tables["assignment"], ["staff_id", "class_id", "subject_code"])
    class_cols = ["class_id", "class_name", "grade", "homeroom_staff_id"]
    assert plain(by_kind["assignments"]["class"], class_cols) == plain(tables["class"], class_cols)
    for name in ("room", "equipment"):
        columns = [c for c in tables[name].columns if c != "school_id"]
        assert plain(by_kind["facilities"][name], columns) == plain(tables[name], columns)


def test_khoi12_file_has_the_35_column_template(written):
    _, paths, _ = written
    path = next(p for p in paths if p.name == "KQHT-C1-CN-Khoi12.xls")
    sheet = load_sheets(path, path.name)[0]
    header = next(r for r, row in enumerate(sheet.rows) if "Mã học sinh" in row)
    assert header > 0  # title rows above: school, period, year, grade
    titles = " ".join(str(v) for row in sheet.rows[:header] for v in row if v)
    assert SCHOOL_NAME in titles and "CUỐI NĂM HỌC" in titles and SCHOOL_YEAR in titles
    r1, r2, r3 = (sheet.rows[header + i] + [""] * 35 for i in range(3))
    assert r1[:5] == ["STT", "Mã lớp", "Mã học sinh", "Họ tên", "Ngày sinh"]
    # Row 2 as the sector's template writes it (DOMAIN.md §4), not as our catalogue names it.
    assert (r2[5], r3[5], r3[6], r2[7], r3[7], r3[8]) == (
        "Toán", "Mức đạt được", "Điểm KTĐK", "Tiếng việt", "Mức đạt được", "Điểm KTĐK")
    assert r2[9:18] == ["Đạo đức", "Tự nhiên và xã hội", "Ngoại ngữ", "Tiếng dân tộc",
                        "TH-CN (Tin học)", "Nghệ thuật (Âm nhạc)", "Nghệ thuật (Mĩ thuật)",
                        "Hoạt động trải nghiệm", "Giáo dục thể chất"]
    assert r2[18:21] == ["Năng lực chung: Tự chủ và tự học",
                         "Năng lực chung: Giao tiếp và hợp tác",
                         "Năng lực chung: Giải quyết vấn đề và sáng tạo"]
    assert r2[21:26] == ["Ngôn ngữ", "Tính toán", "Khoa học", "Thẩm mĩ", "Thể chất"]
    assert r2[26:31] == ["Yêu nước", "Nhân ái", "Chăm chỉ", "Trung thực", "Trách nhiệm"]
    assert r1[31:35] == ["Hoàn thành chương trình lớp học", "Lên lớp", "Xếp loại", ""]
    assert sheet.width <= 35
    assert (header + 1, 5, header + 1, 6) in sheet.merged  # Toán spans level and score


def test_student_list_shape_and_personal_columns_ignored(written):
    _, paths, parsed = written
    path = next(p for p in paths if p.name == "C1-HocSinh.xls")
    sheets = load_sheets(path, path.name)
    assert "Sheet1" in [s.name for s in sheets] and len(sheets) >= 3
    data = next(s for s in sheets if s.name == "Sheet1")
    header_row = next(r for r, row in enumerate(data.rows) if "Mã học sinh" in row)
    assert header_row > 0
    header = data.rows[header_row]
    personal = set()
    for title in ("Số định danh cá nhân", "Họ tên cha", "Số điện thoại", "Địa chỉ"):
        col = header.index(title)
        values = {str(row[col]) for row in data.rows[header_row + 1:] if row[col]}
        assert values, title
        personal |= values
    staff_sheet = load_sheets(next(p for p in paths if p.name == "CSDL_GiaoVien.xls"), "gv")[0]
    staff_header_row = next(r for r, row in enumerate(staff_sheet.rows) if "Mã cán bộ" in row)
    for title in ("Số CCCD", "Số điện thoại", "Hệ số lương", "Số sổ BHXH"):
        col = staff_sheet.rows[staff_header_row].index(title)
        personal |= {str(row[col]) for row in staff_sheet.rows[staff_header_row + 1:] if row[col]}
    output = {str(v) for p in parsed for frame in p.tables.values()
              for v in frame.to_numpy().ravel()}
    assert personal and not output & personal


def test_only_requested_periods_are_written(tmp_path):
    paths = write_sector_files(contract_tables(), tmp_path, school_id=SCHOOL_ID,
                               school_name=SCHOOL_NAME, school_year=SCHOOL_YEAR, periods=["CK1"])
    results = [read_file(p) for p in paths if p.name.startswith("KQHT")]
    assert len(results) == 4 and {p.period for p in results} == {"CK1"}
    grade5 = next(p for p in paths if p.name == "KQHT-C1-CK1-Khoi5.xlsx")
    assert not any("Hoàn thành chương trình" in str(v)
                   for row in load_sheets(grade5, grade5.name)[0].rows for v in row)
