"""csdl.samples.write_class_summaries: the shape of TT27's class summary, read with calamine only
(not csdl.readers), so the writer is checked against DOMAIN.md §4 on its own."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from python_calamine import load_workbook

from csdl import demo, rules
from csdl.samples import write_class_summaries
from tests.readers_fixtures import SCHOOL_ID, SCHOOL_NAME, SCHOOL_YEAR, contract_tables

H = 6  # first header row
TICK = "\uf0fc"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
IDENTITY = ["STT", "Mã học sinh", "HỌ VÀ TÊN HỌC SINH", "", "Ngày,\ntháng,\nnăm sinh", "Nữ"]
QUALITIES = ["Yêu nước", "Nhân ái", "Chăm chỉ", "Trung thực", "Trách nhiệm"]
YEAR_END = ["Hoàn thành xuất sắc", "Hoàn thành tốt", "Hoàn thành", "Chưa hoàn thành",
            "Cuối năm", "Đột xuất"]


def school_tables() -> dict[str, pd.DataFrame]:
    """The fixture school plus: a second school with the same codes (must not leak), a class 2B
    whose one student has a text code, an extra subject (Tin học) and a scored Tiếng Anh, a
    year-end award, an extraordinary one and a student not promoted."""
    tables = contract_tables()
    tables["class"] = pd.concat([tables["class"], pd.DataFrame(
        [(SCHOOL_ID, "2B", "2B", 2, None)], columns=tables["class"].columns)], ignore_index=True)
    extra = tables["student"].iloc[[2]].assign(student_id="HS-2B-01", class_id="2B",
                                               full_name="Lê Thị Mẫu", gender="Nữ")
    tables["student"] = pd.concat([tables["student"], extra], ignore_index=True)
    rows = [(SCHOOL_ID, "HS-2B-01", period, code, "T", score)
            for period in ("CK1", "CN")
            for code, score in (("TV", 9), ("TOAN", 10), ("TINHOC", None), ("NGOAINGU", 8),
                                ("DAODUC", None))]
    tables["subject_result"] = pd.concat([tables["subject_result"], pd.DataFrame(
        rows, columns=tables["subject_result"].columns)], ignore_index=True)
    year = tables["year_result"]
    year.loc[year["student_id"] == "1000000000", "award"] = "Học sinh Xuất sắc"
    year.loc[year["student_id"] == "1000000001", "promoted"] = False
    year.loc[year["student_id"] == "1000000006", "award"] = rules.AWARD_SPECIAL
    other = contract_tables("TH02")
    return {name: pd.concat([frame, other[name]], ignore_index=True)
            for name, frame in tables.items()}


@pytest.fixture(scope="module")
def tables():
    return school_tables()


@pytest.fixture(scope="module")
def written(tmp_path_factory, tables):
    """CK1 in vnEdu's shape (variant 0), CN in the other (variant 1)."""
    out = {}
    for period, variant in (("CK1", 0), ("CN", 1)):
        folder = tmp_path_factory.mktemp(period)
        paths = write_class_summaries(tables, folder, school_id=SCHOOL_ID,
                                      school_name=SCHOOL_NAME, school_year=SCHOOL_YEAR,
                                      period=period, variant=variant)
        out[period] = {p.name: p for p in paths}
    return out


def sheet(written, period: str, grade: int, name: str) -> list[list]:
    path = written[period][f"so_diem_tong_ket_khoi_khoi_{grade}.xls"]
    rows = load_workbook(path).get_sheet_by_name(name).to_python()
    width = max(len(r) for r in rows)
    return [list(r) + [""] * (width - len(r)) for r in rows]


def merges(written, period: str, grade: int, name: str) -> set[tuple[int, int, int, int]]:
    path = written[period][f"so_diem_tong_ket_khoi_khoi_{grade}.xls"]
    ranges = load_workbook(path).get_sheet_by_name(name).merged_cell_ranges
    return {(r0, c0, r1, c1) for (r0, c0), (r1, c1) in ranges}


def students(rows: list[list]) -> list[list]:
    """Data rows: from below the header down to the first blank row."""
    out = []
    for row in rows[H + 4:]:
        if all(v == "" for v in row):
            break
        out.append(row)
    return out


def test_one_file_per_grade_and_one_sheet_per_class(written):
    for period in ("CK1", "CN"):
        assert sorted(written[period]) == [
            f"so_diem_tong_ket_khoi_khoi_{g}.xls" for g in range(1, 6)]
        for grade in range(1, 6):
            path = written[period][f"so_diem_tong_ket_khoi_khoi_{grade}.xls"]
            assert path.read_bytes().startswith(OLE2)  # a legacy .xls, as exported
            expected = [f"{grade}a", f"{grade}b"] if grade == 2 else [f"{grade}a"]
            assert load_workbook(path).sheet_names == expected


def test_titles(written):
    rows = sheet(written, "CK1", 1, "1a")
    assert [r[0] for r in rows[:6]] == [
        "PHÒNG GD&ĐT QUẬN MẪU", "TRƯỜNG TIỂU HỌC KIM ĐỒNG",
        "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ GIÁO DỤC CUỐI HỌC KÌ I", "Năm học: 2026 - 2027",
        "Lớp: 1A", ""]
    assert sheet(written, "CN", 4, "4a")[2][0] == (
        "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ GIÁO DỤC CUỐI NĂM HỌC")


def test_grade1_ck1_header_vnedu_shape(written):
    rows = sheet(written, "CK1", 1, "1a")
    r1, r2, r3, r4 = rows[H:H + 4]
    assert r1[:6] == IDENTITY
    assert (r1[6], r1[17], r1[25], r1[30]) == ("Môn học và hoạt động giáo dục", "Năng lực cốt lõi",
                                               "Phẩm chất chủ yếu", "Ghi chú")
    assert len(r1) == 31  # no year-end columns at CK1
    # Tiếng Anh is optional in grade 1: here because a student of 1A has it (level only).
    assert r2[6:17] == ["TViệt", "", "Toán", "", "ĐĐức", "TN-XH", "Nghệ thuật", "", "HĐTN",
                        "GDTC", "Tiếng Anh"]
    assert r2[17:25] == ["Năng lực chung", "", "", "Năng lực đặc thù", "", "", "", ""]
    assert r3[12:14] == ["Âm nhạc", "MT"]
    assert r4[6:10] == ["Mức đạt được", "Điểm KTĐK"] * 2
    assert r4[10:17] == [""] * 7  # level-only subjects merged down to the fourth row
    assert r4[17:30] == ["Tự chủ và tự học", "Giao tiếp và hợp tác", "GQVĐ và sáng tạo",
                         "Ngôn ngữ", "Tính toán", "Khoa học", "Thẩm mĩ", "Thể chất"] + QUALITIES
    m = merges(written, "CK1", 1, "1a")
    assert {(H, 0, H + 3, 0), (H, 2, H + 3, 3), (H, 6, H, 16), (H + 1, 6, H + 2, 7),
            (H + 1, 10, H + 3, 10), (H + 1, 12, H + 1, 13), (H + 2, 12, H + 3, 12),
            (H + 1, 17, H + 2, 19), (H + 1, 20, H + 2, 24), (H, 25, H + 2, 29),
            (H, 30, H + 3, 30)} <= m


def test_grade4_cn_header_other_shape(written):
    rows = sheet(written, "CN", 4, "4a")
    r1, r2, r3, r4 = rows[H:H + 4]
    assert r1[:6] == IDENTITY
    assert (r1[6], r1[25], r1[35], r1[40], r1[44], r1[46], r1[47]) == (
        "Môn học và hoạt động giáo dục", "Năng lực cốt lõi", "Phẩm chất chủ yếu", "Đánh giá KQGD",
        "Khen thưởng", "Chưa lên lớp", "Ghi chú")
    names = [v for v in r2[6:25] if v]
    assert names == ["Toán", "Tiếng Việt", "Tiếng Anh", "Đạo đức", "Khoa học", "Lịch sử và Địa lí",
                     "Tin học", "Công nghệ", "Nghệ thuật", "Giáo dục thể chất",
                     "Hoạt động trải nghiệm"]
    assert r3[21:23] == ["Âm nhạc", "Mĩ thuật"]
    # Level-only subjects (Đạo đức, GDTC, HĐTN) carry "Mức đạt được" in the fourth row here.
    assert r4[12] == "Mức đạt được" and r4[23:25] == ["Mức đạt được"] * 2
    assert r4[25:35] == ["Tự chủ và tự học", "Giao tiếp và hợp tác",
                         "Giải quyết vấn đề và sáng tạo", "Ngôn ngữ", "Tính toán", "Khoa học",
                         "Công nghệ", "Tin học", "Thẩm mĩ", "Thể chất"]
    assert r4[35:46] == QUALITIES + YEAR_END
    m = merges(written, "CN", 4, "4a")
    assert {(H + 1, 12, H + 2, 12), (H, 40, H + 2, 43), (H, 44, H + 2, 45),
            (H, 46, H + 3, 46)} <= m


def test_year_end_columns_only_at_cn(written):
    for grade in range(1, 6):
        header = {v for row in sheet(written, "CK1", grade, f"{grade}a")[H:H + 4] for v in row}
        assert not header & {"Đánh giá KQGD", "Khen thưởng", "Chưa lên lớp", *YEAR_END}


def test_extra_subjects_and_scores_of_one_class(written):
    a, b = sheet(written, "CK1", 2, "2a"), sheet(written, "CK1", 2, "2b")
    assert "Tin học" not in a[H + 1] and "Tin học" in b[H + 1]
    c = b[H + 1].index("Tiếng Anh")  # scored here because a student of 2B has a score
    assert b[H + 3][c:c + 2] == ["Mức đạt được", "Điểm KTĐK"]
    c = a[H + 1].index("Tiếng Anh")
    assert a[H + 3][c] == "" and a[H + 1][c + 1] != ""
    (row,) = students(b)
    assert row[1] == "HS-2B-01"  # a code with letters stays text
    assert row[b[H + 1].index("Tiếng Anh") + 1] == 8.0


def test_student_rows(written, tables):
    school = tables["student"][tables["student"]["school_id"] == SCHOOL_ID]
    rows = students(sheet(written, "CK1", 4, "4a"))
    mine = school[(school["class_id"] == "4A") & school["active"]].sort_values("student_id")
    # The student who left is not on the class's sheet any more; no other school is.
    assert len(rows) == len(mine) == 1
    for k, (row, s) in enumerate(zip(rows, mine.itertuples()), start=1):
        assert row[0] == float(k) and isinstance(row[0], float)
        assert row[1] == float(s.student_id) and isinstance(row[1], float)
        assert (row[2], row[3]) == (s.full_name, "")
        assert row[4] == s.birth_date.strftime("%d/%m/%Y")
        assert row[5] == (TICK if s.gender == "Nữ" else "")
    header = sheet(written, "CK1", 4, "4a")[H + 1]
    results = tables["subject_result"]
    for row, sid in zip(rows, mine["student_id"]):
        toan = results[(results["school_id"] == SCHOOL_ID) & (results["student_id"] == sid)
                       & (results["period"] == "CK1") & (results["subject_code"] == "TOAN")]
        c = header.index("Toán")
        assert row[c:c + 2] == [toan["level"].item(), float(toan["score"].item())]
        assert {v for v in row[25:40]} <= {"T", "Đ", "C"}


def test_year_end_ticks(written, tables):
    year = tables["year_result"][tables["year_result"]["school_id"] == SCHOOL_ID]
    for grade in (1, 4):
        rows = sheet(written, "CN", grade, f"{grade}a")
        classification_col = {label: rows[H + 3].index(label) for label in YEAR_END}
        not_promoted = rows[H].index("Chưa lên lớp")
        for row in students(rows):
            y = year[year["student_id"] == str(int(row[1]))].iloc[0]
            label = dict(zip(("HTXS", "HTT", "HT", "CHT"), YEAR_END))[y["classification"]]
            assert [row[classification_col[x]] for x in YEAR_END[:4]] == [
                "x" if x == label else "" for x in YEAR_END[:4]]
            award = y["award"] if isinstance(y["award"], str) else None
            special = award == rules.AWARD_SPECIAL
            assert row[classification_col["Cuối năm"]] == ("x" if award and not special else "")
            assert row[classification_col["Đột xuất"]] == ("x" if special else "")
            assert row[not_promoted] == ("" if y["promoted"] else "x")
            assert row[5] in ("x", "")  # the other variant's tick
    first = students(sheet(written, "CN", 1, "1a"))
    assert first[0][34] == "x" and first[1][36] == "x"  # the award and the one not promoted
    assert students(sheet(written, "CN", 4, "4a"))[0][45] == "x"  # the extraordinary award


def test_signature_block_below_the_students(written):
    rows = sheet(written, "CK1", 1, "1a")
    end = H + 4 + len(students(rows))
    assert all(v == "" for v in rows[end])
    tail = rows[end + 1:]
    texts = [v for row in tail for v in row if v]
    assert "Giáo viên chủ nhiệm" in texts and "Hiệu trưởng" in texts
    assert texts.count("(ký , ghi rõ họ tên)") == 2
    assert any(str(v).endswith("ngày 15 tháng 01 năm 2027") for v in texts)
    assert tail[-1][2] == "Nguyễn Thị Mẫu" and "Trần Văn Mẫu" in tail[-1]


def test_demo_writes_the_latest_two_periods(tmp_path, tables):
    school = SimpleNamespace(school_id=SCHOOL_ID, name=SCHOOL_NAME, school_year=SCHOOL_YEAR)
    demo._write_samples(tmp_path, school, tables)
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == ["bang-tong-hop-CN", "bang-tong-hop-GK2"]
    assert len(list((tmp_path / "bang-tong-hop-CN").glob("so_diem_tong_ket_khoi_khoi_*.xls"))) == 5
    gk2 = tmp_path / "bang-tong-hop-GK2" / "so_diem_tong_ket_khoi_khoi_4.xls"
    title = load_workbook(gk2).get_sheet_by_name("4a").to_python()[2][0]
    assert title.endswith("GIỮA HỌC KÌ II")
