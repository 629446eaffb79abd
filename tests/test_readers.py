"""csdl.readers on good files and on every quirk of DOMAIN.md §4.

The layouts here are written out from DOMAIN.md, independently of csdl.samples' own layouts.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from csdl import i18n, readers
from csdl.problems import ImportRefused, column_letter
from csdl.readers import blank_template, load_sheets, read_file
from csdl.samples import write_csv, write_rows_xls, write_rows_xlsx

SUBJECT_CODES = {
    "Toán": "TOAN", "Tiếng Việt": "TV", "Đạo đức": "DAODUC", "Tự nhiên và Xã hội": "TNXH",
    "Ngoại ngữ": "NGOAINGU", "Ngoại ngữ 1": "NGOAINGU", "Tiếng dân tộc": "TIENGDT",
    "Tin học": "TINHOC", "Công nghệ": "CONGNGHE", "Lịch sử và Địa lí": "LSDL",
    "Khoa học": "KHOAHOC", "Âm nhạc": "AMNHAC", "Mĩ thuật": "MITHUAT",
    "Hoạt động trải nghiệm": "HDTN", "Giáo dục thể chất": "GDTC",
}
TRAIT_CODES = {
    "Tự chủ và tự học": "NLC_TUCHU", "Giao tiếp và hợp tác": "NLC_GIAOTIEP",
    "Giải quyết vấn đề và sáng tạo": "NLC_GQVD", "Ngôn ngữ": "NLD_NGONNGU",
    "Tính toán": "NLD_TINHTOAN", "Khoa học": "NLD_KHOAHOC", "Công nghệ": "NLD_CONGNGHE",
    "Tin học": "NLD_TINHOC", "Thẩm mĩ": "NLD_THAMMI", "Thể chất": "NLD_THECHAT",
    "Yêu nước": "PC_YEUNUOC", "Nhân ái": "PC_NHANAI", "Chăm chỉ": "PC_CHAMCHI",
    "Trung thực": "PC_TRUNGTHUC", "Trách nhiệm": "PC_TRACHNHIEM",
}
IDENTITY = ["STT", "Mã lớp", "Mã học sinh", "Họ tên", "Ngày sinh"]
YEAR_END = ["Hoàn thành chương trình lớp học", "Lên lớp", "Xếp loại"]
GENERAL = ["Tự chủ và tự học", "Giao tiếp và hợp tác", "Giải quyết vấn đề và sáng tạo"]
QUALITIES = ["Yêu nước", "Nhân ái", "Chăm chỉ", "Trung thực", "Trách nhiệm"]
G4_SUBJECTS = [("Tiếng Việt", True), ("Toán", True), ("Đạo đức", False), ("Ngoại ngữ 1", True),
               ("Lịch sử và Địa lí", True), ("Khoa học", True), ("Tin học", True),
               ("Công nghệ", True), ("Âm nhạc", False), ("Mĩ thuật", False),
               ("Hoạt động trải nghiệm", False), ("Giáo dục thể chất", False)]
G4_COMPETENCIES = GENERAL + ["Ngôn ngữ", "Tính toán", "Khoa học", "Công nghệ", "Tin học",
                             "Thẩm mĩ", "Thể chất"]
INVALID_KEYS = {"source_file", "sheet", "row", "column", "raw_value", "reason", "student_id",
                "period", "item_code"}


def write(path: Path, rows: list[list], merges=None, sheet: str = "Sheet1",
          encoding: str = "utf-8") -> Path:
    """The same rows as .xlsx, .xls or .csv, by the path's extension."""
    suffix = path.suffix
    if suffix == ".xlsx":
        return write_rows_xlsx(path, {sheet: rows}, {sheet: merges or []})
    if suffix == ".xls":
        return write_rows_xls(path, {sheet: rows}, {sheet: merges or []})
    text_rows = [[v.strftime("%d/%m/%Y") if isinstance(v, date) else v for v in row]
                 for row in rows]
    return write_csv(path, text_rows, encoding)


def codes(parsed, severity=None) -> list[str]:
    return [p.code for p in parsed.problems if severity is None or p.severity == severity]


# --- a KQHT layout: columns as (kind, name, measure) ------------------------------------------
def kqht_columns(subjects, competencies, qualities, year=True, identity=IDENTITY):
    cols = [("id", h, None) for h in identity]
    for name, scored in subjects:
        cols.append(("subject", name, "level"))
        if scored:
            cols.append(("subject", name, "score"))
    cols += [("competency", n, "level") for n in competencies]
    cols += [("quality", n, "level") for n in qualities]
    if year:
        cols += [("id", h, None) for h in YEAR_END]
    return cols


GROUP_TEXT = {"subject": "Môn học và hoạt động giáo dục", "competency": "Năng lực",
              "quality": "Phẩm chất"}


def kqht_header(cols, row0: int):
    """Three header rows as the sector writes them, with merged cells."""
    r1, r2, r3 = ([""] * len(cols) for _ in range(3))
    merges = []
    c = 0
    while c < len(cols):
        kind, name, measure = cols[c]
        if kind == "id":
            r1[c] = name
            merges.append((row0, c, row0 + 2, c))
            c += 1
            continue
        end = c
        while end + 1 < len(cols) and cols[end + 1][0] == kind:
            end += 1
        r1[c] = GROUP_TEXT[kind]
        if end > c:
            merges.append((row0, c, row0, end))
        while c <= end:
            r2[c] = cols[c][1]
            if c < end and cols[c + 1][1] == cols[c][1]:
                r3[c], r3[c + 1] = "Mức đạt được", "Điểm KTĐK"
                merges.append((row0 + 1, c, row0 + 1, c + 1))
                c += 2
            else:
                merges.append((row0 + 1, c, row0 + 2, c))
                c += 1
    return [r1, r2, r3], merges


def kqht_row(cols, values: dict) -> list:
    """values keyed by header name (identity) or (kind, name, measure)."""
    return [values.get(name if kind == "id" else (kind, name, measure), "")
            for kind, name, measure in cols]


def g4_values(n: int) -> dict:
    """A complete grade-4 CK1 row: subject scores 10, 9, 8 … distinct per subject."""
    values = {"STT": n, "Mã lớp": "4A1", "Mã học sinh": f"79000{n:05d}", "Họ tên": f"Học Sinh {n}",
              "Ngày sinh": date(2016, 1, n)}
    score = 10
    for name, scored in G4_SUBJECTS:
        values[("subject", name, "level")] = "H" if name == "Khoa học" else "T"
        if scored:
            values[("subject", name, "score")] = score
            score -= 1
    for name in G4_COMPETENCIES:
        values[("competency", name, "level")] = "Đ" if name == "Khoa học" else "T"
    for name in QUALITIES:
        values[("quality", name, "level")] = "T"
    return values


def g4_file(tmp_path: Path, suffix: str = ".xlsx", *, titles=None, rows=None, cols=None,
            name: str = "KQHT_Khoi4", merged: bool = True, encoding: str = "utf-8") -> Path:
    cols = cols or kqht_columns(G4_SUBJECTS, G4_COMPETENCIES, QUALITIES, year=False)
    titles = (["Trường Tiểu học Kim Đồng"], ["KẾT QUẢ ĐÁNH GIÁ CUỐI HỌC KỲ 1"],
              ["Năm học 2026-2027"], ["Khối 4"]) if titles is None else titles
    header, merges = kqht_header(cols, len(titles))
    data = rows if rows is not None else [kqht_row(cols, g4_values(n)) for n in (1, 2)]
    return write(tmp_path / f"{name}{suffix}", [list(t) for t in titles] + header + data,
                 merges if merged else None, encoding=encoding)


# --- loading ----------------------------------------------------------------------------------
def test_text_file_renamed_xls_is_not_a_spreadsheet(tmp_path):
    path = tmp_path / "KQHT-C1-CN-Khoi4.xls"
    path.write_text("Mã học sinh;Họ tên\n1;An\n", encoding="utf-8")
    parsed = read_file(path)
    assert codes(parsed) == ["not_spreadsheet"]
    assert parsed.errors[0].file == "KQHT-C1-CN-Khoi4.xls"
    html = tmp_path / "export.xlsx"
    html.write_text("<html><table><tr><td>Mã học sinh</td></tr></table></html>")
    assert codes(read_file(html)) == ["not_spreadsheet"]


@pytest.mark.parametrize("content", [b"", b"  \r\n"])
def test_empty_file_is_refused(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    parsed = read_file(path)
    assert codes(parsed) == ["file_empty"] and parsed.errors


def test_workbook_without_cells_is_refused(tmp_path):
    path = write_rows_xlsx(tmp_path / "blank.xlsx", {"Sheet1": []})
    assert codes(read_file(path)) == ["file_empty"]
    with pytest.raises(ImportRefused) as refused:
        load_sheets(path, "blank.xlsx")
    assert refused.value.problems[0].code == "file_empty"


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "report.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert codes(read_file(path)) == ["file_unreadable"]


def test_format_comes_from_content_not_extension(tmp_path):
    real = write_rows_xlsx(tmp_path / "hs.xlsx", {"DS": [["Mã học sinh", "Họ tên", "Giới tính"],
                                                         ["1", "An", "Nam"]]})
    renamed = tmp_path / "hs.csv"
    renamed.write_bytes(real.read_bytes())
    parsed = read_file(renamed)
    assert parsed.kind == "students" and parsed.tables["student"]["full_name"].tolist() == ["An"]


def test_load_sheets_normalises_text_and_keeps_positions(tmp_path):
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    path = write_rows_xlsx(tmp_path / "a.xlsx", {"S": [[], ["", nfd, 8, date(2015, 3, 2)]]})
    sheet = load_sheets(path, "a.xlsx")[0]
    assert sheet.name == "S"
    assert sheet.cell(1, 1) == "Nguyễn Thị Ánh"  # NFC, in B2 as Excel shows it
    assert sheet.cell(1, 2) == 8 and sheet.cell(1, 3) == date(2015, 3, 2)


def test_load_sheets_keeps_positions_of_a_sheet_that_starts_far_from_a1(tmp_path):
    """The worker reads only the used range: a first cell at C5 stays at C5, merges too."""
    rows = [[]] * 4 + [["", "", "Mã học sinh", "Họ tên"], ["", "", "", "An"]]
    path = write_rows_xlsx(tmp_path / "a.xlsx", {"S": rows}, {"S": [(4, 2, 4, 3)]})
    sheet = load_sheets(path, "a.xlsx")[0]
    assert sheet.cell(4, 2) == "Mã học sinh" and sheet.cell(5, 3) == "An"
    assert sheet.rows[:4] == [[], [], [], []] and sheet.merged == [(4, 2, 4, 3)]


def test_sha256_and_display_name(tmp_path):
    path = g4_file(tmp_path)
    parsed = read_file(path, "tải lên.xlsx")
    assert parsed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert parsed.name == "tải lên.xlsx"


def test_unknown_kind_is_refused(tmp_path):
    path = write_rows_xlsx(tmp_path / "x.xlsx", {"Sheet1": [["Ngày", "Thu", "Chi"], [1, 2, 3]]})
    parsed = read_file(path)
    assert parsed.kind == "unknown" and codes(parsed) == ["kind_unknown"]


# --- results (KQHT) ---------------------------------------------------------------------------
def khoi12_rows():
    """The grade 1–2 template of DOMAIN.md §4, column by column (A–AI, 35 columns)."""
    subject_names = ["Toán", "", "Tiếng Việt", "", "Đạo đức", "Tự nhiên và Xã hội", "Ngoại ngữ",
                     "Tiếng dân tộc", "Tin học", "Âm nhạc", "Mĩ thuật", "Hoạt động trải nghiệm",
                     "Giáo dục thể chất"]
    r1 = (IDENTITY + ["Môn học và hoạt động giáo dục"] + [""] * 12 + ["Năng lực"] + [""] * 7
          + ["Phẩm chất"] + [""] * 4 + YEAR_END + [""])
    r2 = ([""] * 5 + subject_names + GENERAL
          + ["Ngôn ngữ", "Tính toán", "Khoa học", "Thẩm mĩ", "Thể chất"] + QUALITIES + [""] * 4)
    r3 = [""] * 5 + ["Mức đạt được", "Điểm KTĐK"] * 2 + [""] * 26
    data = (["1", "1A1", "0101000001", "Lê Văn Tám", "02/09/2019"]
            + ["T", 9, "H", 7, "C", "T", "H", "T", "", "H", "T", "C", "T"]
            + ["T", "Đ", "C", "T", "Đ", "C", "T", "Đ"] + ["T", "Đ", "C", "T", "Đ"]
            + ["x", "x", "HTT", ""])
    merges = ([(0, c, 2, c) for c in range(5)] + [(0, 5, 0, 17), (0, 18, 0, 25), (0, 26, 0, 30)]
              + [(1, 5, 1, 6), (1, 7, 1, 8)] + [(1, c, 2, c) for c in range(9, 31)]
              + [(0, c, 2, c) for c in range(31, 34)])
    assert all(len(r) == 35 for r in (r1, r2, r3, data))
    return [r1, r2, r3, data], merges


def test_khoi12_template_with_exact_35_columns(tmp_path):
    rows, merges = khoi12_rows()
    path = write(tmp_path / "FlieMau-KQHT-C1-CN-Khoi12-TT27_2020.xls", rows, merges)
    parsed = read_file(path)
    assert parsed.errors == [] and parsed.warnings == []
    assert (parsed.kind, parsed.period, parsed.grade) == ("results", "CN", None)
    assert parsed.summary["grade"] == "1–2"
    roster = parsed.tables["roster"].iloc[0]
    assert (roster.class_id, roster.student_id, roster.full_name, roster.birth_date) == (
        "1A1", "0101000001", "Lê Văn Tám", date(2019, 9, 2))
    assert pd.isna(roster.grade)  # Khoi12: the grade of each student comes from the class
    subjects = {r.subject_code: (r.level, None if pd.isna(r.score) else r.score)
                for r in parsed.tables["subject_result"].itertuples()}
    assert subjects == {"TOAN": ("T", 9), "TV": ("H", 7), "DAODUC": ("C", None),
                        "TNXH": ("T", None), "NGOAINGU": ("H", None), "TIENGDT": ("T", None),
                        "AMNHAC": ("H", None), "MITHUAT": ("T", None), "HDTN": ("C", None),
                        "GDTC": ("T", None)}
    traits = dict(zip(parsed.tables["trait_result"].trait_code,
                      parsed.tables["trait_result"].level))
    assert traits == {"NLC_TUCHU": "T", "NLC_GIAOTIEP": "Đ", "NLC_GQVD": "C",
                      "NLD_NGONNGU": "T", "NLD_TINHTOAN": "Đ", "NLD_KHOAHOC": "C",
                      "NLD_THAMMI": "T", "NLD_THECHAT": "Đ", "PC_YEUNUOC": "T",
                      "PC_NHANAI": "Đ", "PC_CHAMCHI": "C", "PC_TRUNGTHUC": "T",
                      "PC_TRACHNHIEM": "Đ"}
    year = parsed.tables["year_result"].iloc[0]
    assert (year.completed, year.promoted, year.classification) == (True, True, "HTT")
    assert set(parsed.tables["subject_result"].period) == {"CN"}


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_grade4_ck1_every_scored_subject(tmp_path, suffix):
    parsed = read_file(g4_file(tmp_path, suffix))
    assert parsed.errors == [] and parsed.warnings == []
    assert (parsed.grade, parsed.period) == (4, "CK1")
    assert (parsed.school_year, parsed.school_name) == ("2026-2027", "Trường Tiểu học Kim Đồng")
    # values: each level and each score is one value (12 subjects, 7 scores, 15 traits)
    assert parsed.summary == {"students": 2, "classes": 1, "entries": 2 * (12 + 15),
                              "values": 2 * (12 + 7 + 15), "grade": 4, "period": "CK1",
                              "invalid": 0}
    results = parsed.tables["subject_result"]
    first = results[results.student_id == "7900000001"]
    scores = dict(zip(first.subject_code, first.score))
    assert {k: v for k, v in scores.items() if not pd.isna(v)} == {
        "TV": 10, "TOAN": 9, "NGOAINGU": 8, "LSDL": 7, "KHOAHOC": 6, "TINHOC": 5, "CONGNGHE": 4}
    levels = dict(zip(first.subject_code, first.level))
    traits = parsed.tables["trait_result"]
    trait_levels = dict(zip(traits[traits.student_id == "7900000001"].trait_code,
                            traits[traits.student_id == "7900000001"].level))
    # Khoa học, Công nghệ, Tin học: the subject and the competency are told apart by the group.
    assert levels["KHOAHOC"] == "H" and trait_levels["NLD_KHOAHOC"] == "Đ"
    assert {"NLD_TINHOC", "NLD_CONGNGHE"} <= set(trait_levels) and len(trait_levels) == 15
    assert "year_result" not in parsed.tables  # only the CN file carries year-end results
    assert parsed.tables["roster"].grade.tolist() == [4, 4]


def test_csv_results_without_merges_carry_names_right(tmp_path):
    from_xlsx = read_file(g4_file(tmp_path, ".xlsx"))
    from_csv = read_file(g4_file(tmp_path, ".csv", merged=False, encoding="utf-8-sig"))
    assert from_csv.errors == [] and from_csv.warnings == []
    for table in ("subject_result", "trait_result", "roster"):
        assert from_csv.tables[table].astype(str).equals(from_xlsx.tables[table].astype(str))


def test_results_columns_found_by_header_not_position(tmp_path):
    reference = read_file(g4_file(tmp_path, name="a"))
    shuffled = kqht_columns(list(reversed(G4_SUBJECTS)), list(reversed(G4_COMPETENCIES)),
                            QUALITIES, year=False,
                            identity=["Họ tên", "Ngày sinh", "STT", "Mã học sinh", "Mã lớp"])
    # Qualities before competencies.
    shuffled = ([c for c in shuffled if c[0] in ("id", "subject")]
                + [c for c in shuffled if c[0] == "quality"]
                + [c for c in shuffled if c[0] == "competency"])
    rows = [kqht_row(shuffled, g4_values(n)) for n in (1, 2)]
    parsed = read_file(g4_file(tmp_path, cols=shuffled, rows=rows, name="b"))
    assert parsed.errors == [] and parsed.warnings == []

    def key(frame, cols):
        return frame.sort_values(cols).reset_index(drop=True).astype(str)

    for table, cols in (("subject_result", ["student_id", "subject_code"]),
                        ("trait_result", ["student_id", "trait_code"])):
        assert key(parsed.tables[table], cols).equals(key(reference.tables[table], cols))


def test_header_quirks_line_breaks_and_nfd(tmp_path):
    cols = kqht_columns(G4_SUBJECTS, G4_COMPETENCIES, QUALITIES, year=False)
    titles = [["Khối 4 - Cuối học kỳ I"]]
    header, merges = kqht_header(cols, 1)
    header[0][2] = "Mã\nhọc sinh"
    header[0][3] = unicodedata.normalize("NFD", "HỌ TÊN")
    header[1] = [unicodedata.normalize("NFD", v).replace(" và ", "\nvà ") for v in header[1]]
    rows = titles + header + [kqht_row(cols, g4_values(1))]
    parsed = read_file(write(tmp_path / "k.xlsx", rows, merges))
    assert parsed.errors == [] and parsed.warnings == []
    assert parsed.summary["entries"] == 27 and parsed.period == "CK1"


def test_bad_cells_are_warned_kept_as_invalid_and_stored_as_null(tmp_path):
    cols = kqht_columns(G4_SUBJECTS, G4_COMPETENCIES, QUALITIES, year=False)
    values = g4_values(1)
    values.update({
        ("subject", "Tiếng Việt", "score"): 8.5, ("subject", "Toán", "score"): 11,
        ("subject", "Ngoại ngữ 1", "score"): "abc", ("subject", "Lịch sử và Địa lí", "score"): 0,
        ("subject", "Khoa học", "score"): "8", ("subject", "Tin học", "score"): 8.0,
        ("subject", "Công nghệ", "score"): -1, ("subject", "Đạo đức", "level"): "X",
        ("subject", "Âm nhạc", "level"): "t", ("quality", "Yêu nước", "level"): "CCG",
        ("quality", "Nhân ái", "level"): "d",
        ("quality", "Chăm chỉ", "level"): unicodedata.normalize("NFD", "Đ"),
        ("competency", "Ngôn ngữ", "level"): "ccg",
    })
    path = g4_file(tmp_path, rows=[kqht_row(cols, values)])
    parsed = read_file(path)
    assert parsed.errors == []
    col = {c: column_letter(i) for i, c in enumerate(cols)}
    warned = {(p.code, p.column) for p in parsed.warnings}
    assert warned == {
        ("score_not_integer", col[("subject", "Tiếng Việt", "score")]),
        ("score_out_of_range", col[("subject", "Toán", "score")]),
        ("score_not_number", col[("subject", "Ngoại ngữ 1", "score")]),
        ("score_zero", col[("subject", "Lịch sử và Địa lí", "score")]),
        ("score_out_of_range", col[("subject", "Công nghệ", "score")]),
        ("level_unknown", col[("subject", "Đạo đức", "level")]),
    }
    assert all(p.row == 8 and p.sheet == "Sheet1" and p.file == path.name
               for p in parsed.warnings)
    invalid = {(i["item_code"], i["raw_value"], i["reason"]) for i in parsed.invalid}
    assert invalid == {("TV", "8.5", "score_not_integer"), ("TOAN", "11", "score_out_of_range"),
                       ("NGOAINGU", "abc", "score_not_number"),
                       ("CONGNGHE", "-1", "score_out_of_range"),
                       ("DAODUC", "X", "level_unknown")}
    assert all(set(i) == INVALID_KEYS for i in parsed.invalid)
    first = parsed.invalid[0]
    assert (first["source_file"], first["sheet"], first["row"], first["student_id"],
            first["period"]) == (path.name, "Sheet1", 8, "7900000001", "CK1")
    results = parsed.tables["subject_result"].set_index("subject_code")
    assert pd.isna(results.loc["TV", "score"]) and results.loc["TV", "level"] == "T"
    assert results.loc["LSDL", "score"] == 0  # kept, only warned
    assert results.loc["KHOAHOC", "score"] == 8 and results.loc["TINHOC", "score"] == 8
    assert results.loc["AMNHAC", "level"] == "T"
    assert "DAODUC" not in results.index  # the only value was bad: nothing entered
    traits = dict(zip(parsed.tables["trait_result"].trait_code,
                      parsed.tables["trait_result"].level))
    assert (traits["PC_YEUNUOC"], traits["PC_NHANAI"], traits["PC_CHAMCHI"],
            traits["NLD_NGONNGU"]) == ("C", "Đ", "Đ", "C")
    assert traits["PC_CHAMCHI"] == unicodedata.normalize("NFC", "Đ")


def test_level_without_score_and_score_without_level(tmp_path):
    cols = kqht_columns(G4_SUBJECTS, G4_COMPETENCIES, QUALITIES, year=False)
    values = g4_values(1)
    values[("subject", "Toán", "score")] = ""
    values[("subject", "Tiếng Việt", "level")] = ""
    parsed = read_file(g4_file(tmp_path, rows=[kqht_row(cols, values)]))
    results = parsed.tables["subject_result"].set_index("subject_code")
    assert results.loc["TOAN", "level"] == "T" and pd.isna(results.loc["TOAN", "score"])
    assert results.loc["TV", "level"] is None and results.loc["TV", "score"] == 10


def test_blank_total_and_codeless_rows(tmp_path):
    cols = kqht_columns(G4_SUBJECTS, G4_COMPETENCIES, QUALITIES, year=False)
    codeless = g4_values(3)
    codeless["Mã học sinh"] = ""
    rows = ([kqht_row(cols, g4_values(n)) for n in (1, 2)] + [kqht_row(cols, codeless)]
            + [[""] * len(cols), ["Tổng cộng", "", "", "", "", 2]] + [[""] * len(cols)])
    parsed = read_file(g4_file(tmp_path, rows=rows))
    assert parsed.errors == []
    assert codes(parsed) == ["student_code_missing"]
    assert parsed.warnings[0].row == 10 and parsed.warnings[0].column == "C"
    assert parsed.tables["roster"].student_id.tolist() == ["7900000001", "7900000002"]


def test_duplicate_student_code_with_another_name_is_refused(tmp_path):
    cols = kqht_columns(G4_SUBJECTS, G4_COMPETENCIES, QUALITIES, year=False)
    twin = g4_values(2)
    twin["Mã học sinh"] = g4_values(1)["Mã học sinh"]
    same = g4_values(1)
    parsed = read_file(g4_file(tmp_path, rows=[kqht_row(cols, g4_values(1)),
                                               kqht_row(cols, twin), kqht_row(cols, same)]))
    error = parsed.errors[0]
    assert error.code == "duplicate_student" and (error.row, error.column) == (9, "C")
    assert error.sheet == "Sheet1" and error.params["first_row"] == 8
    assert codes(parsed, "warning") == ["duplicate_row"]


@pytest.mark.parametrize("title, name, hint, expected, errors", [
    ("KẾT QUẢ CUỐI HỌC KỲ I", "x", None, "CK1", []),
    ("Giữa học kì 2", "x", None, "GK2", []),
    ("GIỮA HỌC KỲ I", "x", "GK1", "GK1", []),
    ("Cuối năm học 2026-2027", "x", None, "CN", []),
    ("", "KQHT-C1-GHK1-Khoi4", None, "GK1", []),
    ("", "KQHT_Khoi4", "GK2", "GK2", []),
    ("Cuối học kỳ 1", "x", "CN", "CK1", ["period_conflict"]),
    ("", "KQHT-CN-Khoi4", "CK1", "CN", ["period_conflict"]),
    ("", "KQHT_Khoi4", None, None, ["period_unknown"]),
])
def test_period_from_title_name_or_hint(tmp_path, title, name, hint, expected, errors):
    path = g4_file(tmp_path, ".csv", titles=[[title], ["Khối 4"]], name=name, merged=False)
    parsed = read_file(path, period_hint=hint)
    assert parsed.period == expected
    assert codes(parsed, "error") == errors


def test_period_conflict_names_the_title_cell(tmp_path):
    path = g4_file(tmp_path, titles=[["Trường TH A"], ["", "Cuối học kỳ 1"]])
    error = read_file(path, period_hint="GK2").errors[0]
    assert (error.code, error.file, error.sheet, error.row, error.column) == (
        "period_conflict", path.name, "Sheet1", 2, "B")
    assert error.params == {"stated": "CK1", "hint": "GK2"}
    assert "CK1" in error.message("vi") and "GK2" in error.message("en")


def test_grade_from_title_name_or_subjects(tmp_path):
    stated = read_file(g4_file(tmp_path, titles=[["Tên trường: TH Kim Đồng"], ["Khối: 5"]],
                               name="a-CK1"))
    assert (stated.grade, stated.school_name) == (5, "TH Kim Đồng")
    no_title = read_file(g4_file(tmp_path, titles=[], name="KQHT-CK1-Khoi4"))
    assert no_title.grade == 4
    unstated = read_file(g4_file(tmp_path, titles=[], name="ketqua-CK1"))
    assert unstated.grade is None and codes(unstated) == ["grade_not_stated"]
    g3_subjects = [("Tiếng Việt", True), ("Toán", True), ("Tự nhiên và Xã hội", False),
                   ("Tin học", True), ("Công nghệ", True)]
    cols = kqht_columns(g3_subjects, GENERAL, QUALITIES, year=False)
    g3 = read_file(g4_file(tmp_path, titles=[["Cuối học kỳ 1"]], cols=cols, name="b",
                           rows=[kqht_row(cols, {"Mã học sinh": "1", "Họ tên": "An",
                                                 ("subject", "Toán", "score"): 7})]))
    assert g3.grade == 3 and g3.errors == [] and g3.warnings == []


def test_year_end_columns_and_award(tmp_path):
    cols = kqht_columns(G4_SUBJECTS, G4_COMPETENCIES, QUALITIES) + [("id", "Khen thưởng", None)]
    values = [g4_values(1) | {"Hoàn thành chương trình lớp học": "x", "Lên lớp": "X",
                              "Xếp loại": "htxs", "Khen thưởng": "Học sinh Xuất sắc"},
              g4_values(2) | {"Lên lớp": "x", "Xếp loại": "CHT"},
              g4_values(3) | {"Xếp loại": "Giỏi"},
              g4_values(4)]
    parsed = read_file(g4_file(tmp_path, titles=[["Cuối năm học"], ["Khối 4"]], cols=cols,
                               rows=[kqht_row(cols, v) for v in values]))
    year = parsed.tables["year_result"].set_index("student_id")
    assert year.loc["7900000001"].tolist() == [True, True, "HTXS", "Học sinh Xuất sắc"]
    assert year.loc["7900000002"].tolist()[:3] == [False, True, "CHT"]
    assert year.loc["7900000003", "classification"] is None
    assert "7900000004" not in year.index  # nothing entered at year end
    assert codes(parsed) == ["classification_unknown"]
    assert parsed.invalid[0]["item_code"] == "classification"


def test_results_missing_required_column_is_refused(tmp_path):
    cols = [c for c in kqht_columns(G4_SUBJECTS, G4_COMPETENCIES, QUALITIES, year=False)
            if c[1] != "Mã học sinh"]
    path = g4_file(tmp_path, cols=cols, rows=[], titles=[["Cuối học kỳ 1"]])
    error = read_file(path).errors[0]
    assert (error.code, error.file, error.sheet, error.row, error.column) == (
        "column_missing", path.name, "Sheet1", 2, "Mã học sinh")


# --- student list (C1-HocSinh) ----------------------------------------------------------------
STUDENT_HEADER = ["STT", "Mã lớp", "Tên lớp", "Mã học sinh", "Số định danh cá nhân", "Họ tên",
                  "Ngày sinh", "Giới tính", "Dân tộc", "Trạng thái HS", "Ngày nhập trạng thái",
                  "Loại khuyết tật", "Họ tên cha", "Họ tên mẹ", "Số điện thoại", "Địa chỉ"]
PERSONAL = ["001215000123", "Trần Văn Cha", "Phạm Thị Mẹ", "0912345678", "12 Lê Lợi"]


def student_rows(statuses=("Đang học", "Chuyển đến", "Chuyển đi", "Thôi học")):
    rows = []
    for i, status in enumerate(statuses, start=1):
        birth = ["12/03/2018", 43000, date(2018, 5, 6), "2018-07-08"][(i - 1) % 4]
        rows.append([i, "4A", "Lớp 4A", f"00{i}", PERSONAL[0], f"Học Sinh {i}", birth,
                     "Nam" if i % 2 else "nữ", "Kinh", status, "05/09/2026", "",
                     *PERSONAL[1:]])
    return rows


def all_values(parsed) -> set[str]:
    return {str(v) for frame in parsed.tables.values() for v in frame.to_numpy().ravel()}


@pytest.mark.parametrize("suffix", [".xls", ".xlsx"])
def test_student_list_header_below_titles_and_catalogue_sheets(tmp_path, suffix):
    sheets = {"DM_GioiTinh": [["Mã", "Tên"], [1, "Nam"], [2, "Nữ"]],
              "Sheet1": [["TRƯỜNG TIỂU HỌC KIM ĐỒNG"], ["Danh sách học sinh năm học 2026-2027"],
                         [], STUDENT_HEADER] + student_rows(),
              "DM_DanToc": [["Mã", "Tên dân tộc"], [1, "Kinh"]]}
    path = tmp_path / f"C1-HocSinh{suffix}"
    (write_rows_xls if suffix == ".xls" else write_rows_xlsx)(path, sheets)
    parsed = read_file(path)
    assert parsed.kind == "students" and parsed.errors == [] and parsed.warnings == []
    assert (parsed.school_name, parsed.school_year) == ("TRƯỜNG TIỂU HỌC KIM ĐỒNG", "2026-2027")
    student = parsed.tables["student"]
    assert student.columns.tolist() == ["student_id", "class_id", "full_name", "birth_date",
                                        "gender", "ethnicity", "disability", "status", "active"]
    assert student.student_id.tolist() == ["001", "002", "003", "004"]
    assert student.birth_date.tolist() == [date(2018, 3, 12), date(2017, 9, 22),
                                           date(2018, 5, 6), date(2018, 7, 8)]
    assert student.gender.tolist() == ["Nam", "Nữ", "Nam", "Nữ"]
    assert student.active.tolist() == [True, True, False, False]
    assert student.disability.tolist() == [None] * 4
    assert parsed.tables["class"].to_dict("records") == [
        {"class_id": "4A", "class_name": "Lớp 4A", "grade": 4}]
    assert parsed.summary == {"students": 4, "active": 2, "classes": 1}
    assert not all_values(parsed) & set(PERSONAL + ["05/09/2026"])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258"])
def test_student_list_csv_encodings_and_quirks(tmp_path, encoding):
    header = ["Họ và\ntên", unicodedata.normalize("NFD", "Ngày sinh"), "Mã\r\nhọc sinh",
              "Khối", "Mã lớp", "Trạng thái HS", "Số điện thoại"]
    nfd_name = unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết")
    rows = [["Danh sách học sinh"], header,
            ["Đặng Quốc Huy", "01/02/2019", "111", "1", "1A", "Đang học", "0900000000"],
            [nfd_name, "42400", "112", "1", "1A", unicodedata.normalize("NFD", "Đã chuyển đi"),
             "0900000001"],
            ["", "", "", "", "", "", ""],
            ["Tổng số", "", "", "", "", "", ""]]
    path = write_csv(tmp_path / "hs.csv", rows, encoding)
    parsed = read_file(path)
    assert parsed.errors == [] and parsed.warnings == []
    student = parsed.tables["student"]
    assert student.full_name.tolist() == ["Đặng Quốc Huy", "Nguyễn Thị Ánh Tuyết"]
    assert student.birth_date.tolist() == [date(2019, 2, 1), date(2016, 1, 31)]
    assert student.active.tolist() == [True, False]
    assert student.status.tolist()[1] == "Đã chuyển đi"
    assert parsed.tables["class"].grade.tolist() == [1]
    assert "0900000000" not in all_values(parsed)


def test_cp1258_file_really_is_windows_1258(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["Họ tên", "Mã học sinh", "Ngày sinh"],
                                          ["Lê Thị Thủy", "1", "01/01/2018"]], "cp1258")
    data = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert unicodedata.normalize("NFC", data.decode("cp1258")) != data.decode("cp1258")


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_csv_delimiter_is_sniffed(tmp_path, delimiter):
    path = write_csv(tmp_path / "a.csv", [["Danh sách"], ["Mã học sinh", "Họ tên", "Giới tính"],
                                          ["1", "Lê, Văn A", "Nam"]], delimiter=delimiter)
    parsed = read_file(path)
    assert parsed.tables["student"].full_name.tolist() == ["Lê, Văn A"]


def test_student_list_missing_name_column_names_file_sheet_row_column(tmp_path):
    rows = [["Danh sách"], ["STT", "Mã lớp", "Mã học sinh", "Ngày sinh", "Giới tính"],
            [1, "1A", "1", "01/01/2019", "Nam"]]
    path = write_rows_xlsx(tmp_path / "C1-HocSinh.xlsx", {"Sheet1": rows})
    parsed = read_file(path)
    assert parsed.kind == "students"
    error = parsed.errors[0]
    assert (error.code, error.file, error.sheet, error.row, error.column) == (
        "column_missing", "C1-HocSinh.xlsx", "Sheet1", 2, "Họ tên")
    assert "Họ tên" in error.message() and "row 2" in error.message("en")


def test_student_duplicate_code_refused_and_missing_code_gets_stable_placeholder(tmp_path):
    header = ["Mã lớp", "Mã học sinh", "Họ tên", "Ngày sinh", "Giới tính"]
    rows = [header, ["1A", "", "Bé Mới", "03/04/2020", "Nữ"], ["1A", "7", "An", "", "Nam"],
            ["1A", "7", "Bình", "", "Nam"]]
    parsed = read_file(write_rows_xlsx(tmp_path / "a.xlsx", {"Sheet1": rows}))
    assert codes(parsed, "error") == ["duplicate_student"]
    assert (parsed.errors[0].row, parsed.errors[0].column) == (4, "B")
    placeholder = parsed.tables["student"].student_id[0]
    assert re.fullmatch(r"TMP-[0-9A-F]{10}", placeholder)
    assert codes(parsed, "warning") == ["student_code_generated"]
    again = read_file(write_rows_xlsx(tmp_path / "b.xlsx", {"Sheet1": rows[:2]}))
    assert again.tables["student"].student_id[0] == placeholder


def test_student_bad_cells_are_warned(tmp_path):
    rows = [["Mã học sinh", "Họ tên", "Ngày sinh", "Giới tính"], ["1", "An", "31/02/2019", "X"],
            ["2", "Bình", 5, "Nam"]]
    parsed = read_file(write_rows_xlsx(tmp_path / "a.xlsx", {"Sheet1": rows}))
    assert [(p.code, p.row, p.column) for p in parsed.warnings] == [
        ("date_invalid", 2, "C"), ("gender_unknown", 2, "D"), ("date_invalid", 3, "C")]
    assert parsed.tables["student"].birth_date.tolist() == [None, None]
    assert [i["item_code"] for i in parsed.invalid] == ["birth_date", "gender", "birth_date"]


# --- staff list (CSDL_GiaoVien) ---------------------------------------------------------------
STAFF_HEADER = ["STT", "Mã cán bộ", "Họ tên", "Ngày sinh", "Giới tính", "Dân tộc", "Số CCCD",
                "Số điện thoại", "Trạng thái CB", "Vị trí việc làm", "Nhóm chức vụ",
                "Loại cán bộ", "Môn dạy", "Hình thức hợp đồng", "Hạng chức danh",
                "Trình độ chuyên môn chính", "Chuyên ngành", "Đánh giá chuẩn nghề nghiệp",
                "Dạy 1 buổi/ngày", "Lương cơ bản", "Số sổ BHXH"]
STAFF_SECRETS = ["079188000111", "0987654321", "5.850.000", "7912345678"]


def test_staff_list(tmp_path):
    rows = [STAFF_HEADER,
            [1, "CB01", "Lò Thị Mai", date(1985, 4, 5), "Nữ", "Thái", STAFF_SECRETS[0],
             STAFF_SECRETS[1], "Đang làm việc", "Giáo viên tiểu học", "Giáo viên", "Giáo viên",
             "Toán", "Biên chế", "Giáo viên tiểu học hạng III (V.07.03.29)", "Đại học",
             "Giáo dục tiểu học", "Tốt", "", STAFF_SECRETS[2], STAFF_SECRETS[3]],
            [2, "CB02", "Hà Văn Nam", "01/01/1990", "Nam", "Kinh", "", "", "Nghỉ hưu",
             "Nhân viên", "Nhân viên", "Nhân viên", "", "Hợp đồng", "", "Trung cấp", "Kế toán",
             "", "x", "", ""]]
    path = write_rows_xls(tmp_path / "CSDL_GiaoVien.xls", {"Sheet1": rows})
    parsed = read_file(path)
    assert parsed.kind == "staff" and parsed.problems == []
    staff = parsed.tables["staff"]
    assert staff.columns.tolist() == [
        "staff_id", "full_name", "birth_date", "gender", "position_group", "job_position",
        "staff_type", "main_subject", "contract_type", "rank_code", "qualification", "major",
        "standard_rating", "sessions_per_day", "status"]
    first = staff.iloc[0].to_dict()
    assert pd.isna(first.pop("sessions_per_day"))
    assert first == {
        "staff_id": "CB01", "full_name": "Lò Thị Mai", "birth_date": date(1985, 4, 5),
        "gender": "Nữ", "position_group": "Giáo viên", "job_position": "Giáo viên tiểu học",
        "staff_type": "Giáo viên", "main_subject": "Toán", "contract_type": "Biên chế",
        "rank_code": "V.07.03.29", "qualification": "Đại học", "major": "Giáo dục tiểu học",
        "standard_rating": "Tốt", "status": "Đang làm việc"}
    assert staff.sessions_per_day.tolist()[1] == 1
    assert not all_values(parsed) & set(STAFF_SECRETS + ["Thái", "Kinh"])


def test_staff_sessions_count_and_duplicates(tmp_path):
    rows = [["Mã CB", "Họ và tên", "Số buổi dạy/ngày", "Trạng thái"],
            ["1", "A", "2 buổi", "Đang làm việc"], ["2", "B", 1, ""], ["3", "C", "ba", ""],
            ["1", "Z", 2, ""], ["", "Không mã", 2, ""]]
    parsed = read_file(write_csv(tmp_path / "gv.csv", rows))
    assert parsed.kind == "staff"
    assert parsed.tables["staff"].sessions_per_day.tolist()[:2] == [2, 1]
    assert [(p.code, p.row) for p in parsed.problems] == [
        ("number_invalid", 4), ("duplicate_staff", 5), ("staff_code_missing", 6)]


# --- the project's templates --------------------------------------------------------------------
def test_blank_templates_read_back(tmp_path):
    for kind in ("assignments", "facilities"):
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(blank_template(kind))
        book = openpyxl.load_workbook(path)
        for (sheet, columns, _), ws in zip(readers.TEMPLATES[kind], book.worksheets):
            assert ws.title == sheet
            assert [c.value for c in ws[1]] == list(columns)
        parsed = read_file(path)
        assert parsed.kind == kind and parsed.problems == []
    assignments = read_file(tmp_path / "assignments.xlsx").tables
    assert assignments["assignment"].to_dict("records") == [
        {"staff_id": "GV001", "class_id": "4A1", "subject_code": "TOAN"}]
    assert assignments["class"].grade.tolist() == [4]
    facilities = read_file(tmp_path / "facilities.xlsx").tables
    assert facilities["room"].iloc[0].to_dict() == {
        "room_id": "P101", "site": "Điểm chính", "room_type": "Phòng học",
        "construction": "Kiên cố", "area_m2": 48.0, "condition": "Tốt"}
    assert facilities["equipment"].to_dict("records") == [
        {"item": "Máy chiếu", "quantity": 10, "working": 9}]
    with pytest.raises(ValueError):
        blank_template("students")


def test_assignments_homeroom_codes_and_unknown_subjects(tmp_path):
    rows = [list(readers.ASSIGNMENT_COLUMNS),
            ["3A", "3A", 3, "Chủ nhiệm", "GV1", "Cô Một"], ["3A", "3A", 3, "GVCN", "GV2", "Cô Hai"],
            ["3A", "", "", "Ngoại ngữ 1", "GV3", ""], ["3A", "", "", "TINHOC", "GV4", ""],
            ["3A", "", "", "Tiếng dân tộc", "", ""], ["3A", "", "", "Bơi lội", "GV5", ""],
            ["", "", "", "Toán", "GV6", ""], ["4B", "Lớp 4B", "", "Mỹ thuật", "GV7", ""]]
    parsed = read_file(write_rows_xlsx(tmp_path / "pc.xlsx", {"PC": rows}))
    assert parsed.errors == []
    assert [(p.code, p.row) for p in parsed.warnings] == [
        ("homeroom_conflict", 3), ("subject_unknown", 7), ("class_missing", 8)]
    assert parsed.tables["assignment"].to_dict("records") == [
        {"staff_id": "GV3", "class_id": "3A", "subject_code": "NGOAINGU"},
        {"staff_id": "GV4", "class_id": "3A", "subject_code": "TINHOC"},
        {"staff_id": None, "class_id": "3A", "subject_code": "TIENGDT"},
        {"staff_id": "GV7", "class_id": "4B", "subject_code": "MITHUAT"}]
    classes = parsed.tables["class"].to_dict("records")
    assert classes == [
        {"class_id": "3A", "class_name": "3A", "grade": 3, "homeroom_staff_id": "GV1"},
        {"class_id": "4B", "class_name": "Lớp 4B", "grade": 4, "homeroom_staff_id": None}]


def test_assignments_missing_staff_code_column_is_refused(tmp_path):
    rows = [["Mã lớp", "Tên lớp", "Môn học", "Họ tên giáo viên"], ["3A", "3A", "Toán", "Cô A"]]
    parsed = read_file(write_rows_xlsx(tmp_path / "pc.xlsx", {"PC": rows}))
    assert parsed.kind == "assignments"
    assert [(p.code, p.row, p.column) for p in parsed.errors] == [
        ("column_missing", 1, "Mã cán bộ")]


def test_facilities_values(tmp_path):
    rooms = [list(readers.ROOM_COLUMNS),
             ["P1", "Chính", "Phòng học", unicodedata.normalize("NFD", "bán kiên cố"), "45,5",
              "cần sửa chữa"],
             ["P2", "Chính", "Kho", "Gạch", "nhiều", "Rất tốt"], ["P3", "", "", "", "", ""]]
    equipment = [list(readers.EQUIPMENT_COLUMNS), ["Loa", 2, 3], ["Bàn", "1.5", ""]]
    path = write_rows_xlsx(tmp_path / "csvc.xlsx", {"Phòng": rooms, "Thiết bị": equipment})
    parsed = read_file(path)
    room = parsed.tables["room"]
    assert room.construction.tolist() == ["Bán kiên cố", None]
    assert room.area_m2.tolist()[0] == 45.5 and room.condition.tolist() == ["Cần sửa chữa", None]
    assert [(p.code, p.sheet, p.row, p.column) for p in parsed.warnings] == [
        ("choice_unknown", "Phòng", 3, "D"), ("number_invalid", "Phòng", 3, "E"),
        ("choice_unknown", "Phòng", 3, "F"), ("room_type_missing", "Phòng", 4, "C"),
        ("working_exceeds_quantity", "Thiết bị", 2, "C"), ("number_invalid", "Thiết bị", 3, "B")]
    assert parsed.tables["equipment"].quantity.tolist()[1] is pd.NA


# --- messages -----------------------------------------------------------------------------------
def test_every_problem_code_has_both_messages():
    source = Path(readers.__file__).read_text(encoding="utf-8")
    used = set(re.findall(
        r'(?:error|warn|bad_cell|_first_occurrence\(report,|Problem\([\w ]+,)\(?\s*"([a-z_]+)"',
        source))
    used |= set(re.findall(r'"(score_[a-z_]+)"', source))
    assert {"file_empty", "not_spreadsheet", "column_missing", "duplicate_student",
            "score_zero", "level_unknown"} <= used
    for code in used:
        vi, en = i18n.t(f"problem.{code}", "vi"), i18n.t(f"problem.{code}", "en")
        assert vi != f"problem.{code}" and en != f"problem.{code}" and vi != en, code
