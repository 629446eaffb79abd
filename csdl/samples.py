"""Files in the sector's formats (DOMAIN.md §4), written from snapshot-contract tables.

The demo generator writes a school's sample downloads with `write_sector_files` and the printed
class summaries with `write_class_summaries`; the tests build fixtures with them and, for quirky
files, with the low-level `write_rows_*` / `write_csv` helpers.
The student and staff lists carry fake personal columns (ID number, parent, phone) on purpose:
the readers must ignore them.
"""
from __future__ import annotations

import csv
import io
import struct
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import xlwt
import xlwt.Cell

from . import rules
from .readers import (ASSIGNMENT_COLUMNS, ASSIGNMENT_SHEET, EQUIPMENT_COLUMNS, EQUIPMENT_SHEET,
                      HOMEROOM_SUBJECT, ROOM_COLUMNS, ROOM_SHEET)

Merge = tuple[int, int, int, int]  # first row, first column, last row, last column (0-based)

PERIOD_TITLES = {"GK1": "Giữa học kỳ 1", "CK1": "Cuối học kỳ 1", "GK2": "Giữa học kỳ 2",
                 "CN": "Cuối năm học"}
SUBJECT_GROUP = "Môn học và hoạt động giáo dục"
COMPETENCY_GROUP = "Năng lực"
QUALITY_GROUP = "Phẩm chất"
LEVEL_LABEL, SCORE_LABEL = "Mức đạt được", "Điểm KTĐK"
KQHT_IDENTITY = ("STT", "Mã lớp", "Mã học sinh", "Họ tên", "Ngày sinh")
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # cp1258 keeps these combining


# --- low-level writers ----------------------------------------------------------------------
def write_rows_xlsx(path: Path, sheets: dict[str, list[list]],
                    merges: dict[str, list[Merge]] | None = None) -> Path:
    """An .xlsx with these rows (None or '' = empty cell; dates become date cells)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None and value != "":
                    cell = sheet.cell(r, c, value)
                    if isinstance(value, (date, datetime)):
                        cell.number_format = "dd/mm/yyyy"
        for r0, c0, r1, c1 in (merges or {}).get(name, ()):
            sheet.merge_cells(start_row=r0 + 1, start_column=c0 + 1,
                              end_row=r1 + 1, end_column=c1 + 1)
    book.save(path)
    return Path(path)


class _NumberRecordCell(xlwt.Cell.NumberCell):
    """A number stored as an 8-byte NUMBER record, never as RK: readers then see 1.0, not 1."""

    __slots__ = ()

    def get_encoded_data(self):
        return 0, struct.pack("<5Hd", 0x0203, 14, self.rowx, self.colx, self.xf_idx, self.number)


def write_rows_xls(path: Path, sheets: dict[str, list[list]],
                   merges: dict[str, list[Merge]] | None = None, *,
                   number_records: bool = False) -> Path:
    """A legacy .xls (BIFF8) with these rows, as the sector database exports.

    xlwt packs whole numbers as RK integers, which calamine reads as int; `number_records`
    writes every number as a NUMBER record instead, as vnEdu's exports do (STT 1.0)."""
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    plain_xf = book.add_style(xlwt.Style.default_style) if number_records else 0
    for name, rows in sheets.items():
        sheet = book.add_sheet(name, cell_overwrite_ok=number_records)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, (date, datetime)):
                    sheet.write(r, c, value, date_style)
                    continue
                sheet.write(r, c, value)
                if number_records and isinstance(value, (int, float)) \
                        and not isinstance(value, bool):
                    # written first so that xlwt tracks the sheet's bounds, then replaced
                    sheet.row(r).insert_cell(c, _NumberRecordCell(r, c, plain_xf, value))
        for r0, c0, r1, c1 in (merges or {}).get(name, ()):
            sheet.merge(r0, r1, c0, c1)
    book.save(str(path))
    return Path(path)


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8",
              delimiter: str = ";") -> Path:
    """A CSV as Excel saves it: encoding 'utf-8', 'utf-8-sig' (BOM) or 'cp1258'."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(
        [["" if v is None else v for v in row] for row in rows])
    text = buffer.getvalue()
    data = _to_cp1258(text) if encoding == "cp1258" else text.encode(encoding)
    Path(path).write_bytes(data)
    return Path(path)


def _to_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letters precomposed, tones combining."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _TONE_MARKS))
        out += (base + "".join(p for p in parts if p in _TONE_MARKS)).encode("cp1258")
    return bytes(out)


# --- values from contract frames ------------------------------------------------------------
def _value(value: object) -> object:
    """A plain Python value for a cell: None for NULL, date for dates, int for whole numbers."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, datetime):  # pandas Timestamps included
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None:
        return []
    return [{k: _value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _dmy(value: object) -> str:
    return value.strftime("%d/%m/%Y") if isinstance(value, (date, datetime)) else ""


def _school_records(tables: dict[str, pd.DataFrame], school_id: str,
                    names: tuple[str, ...]) -> dict[str, list[dict]]:
    """The rows of one school (tables may hold several) as plain records."""
    t: dict[str, list[dict]] = {}
    for name in names:
        frame = tables.get(name)
        if frame is not None and "school_id" in frame.columns:
            frame = frame[frame["school_id"] == school_id]
        t[name] = _records(frame)
    return t


# --- KQHT (results) -------------------------------------------------------------------------
@dataclass(frozen=True)
class _KqhtColumn:
    top: str  # row 1: an identity / year-end label or a group
    name: str  # row 2: subject / trait name ('' for identity and year-end columns)
    measure: str  # "level", "score", or the identity / year-end field
    code: str = ""  # subject or trait code


# Row-2 names as the sector's import template writes them (DOMAIN.md §4), not the catalogue's.
_KQHT_SUBJECT_NAMES = {
    "TOAN": "Toán", "TV": "Tiếng việt", "DAODUC": "Đạo đức", "TNXH": "Tự nhiên và xã hội",
    "NGOAINGU": "Ngoại ngữ", "TIENGDT": "Tiếng dân tộc", "TINHOC": "TH-CN (Tin học)",
    "CONGNGHE": "TH-CN (Công nghệ)", "LSDL": "Lịch sử & Địa lí", "KHOAHOC": "Khoa học",
    "AMNHAC": "Nghệ thuật (Âm nhạc)", "MITHUAT": "Nghệ thuật (Mĩ thuật)",
    "HDTN": "Hoạt động trải nghiệm", "GDTC": "Giáo dục thể chất"}
# The 35-column grade 1–2 template: F–G Toán, H–I Tiếng Việt, J … R the level-only subjects.
_KQHT_KHOI12_SUBJECTS = ("TOAN", "TV", "DAODUC", "TNXH", "NGOAINGU", "TIENGDT", "TINHOC",
                         "AMNHAC", "MITHUAT", "HDTN", "GDTC")
KQHT_CODE_LABEL_345 = "Mã định danh\nBộ GD&ĐT"  # grades 3–5: the ministry's student code


def _kqht_trait_name(trait: rules.Trait) -> str:
    return f"Năng lực chung: {trait.name_vi}" if trait.group == "general" else trait.name_vi


def _kqht_layout(grade_key: str, period: str) -> list[_KqhtColumn]:
    """Columns of a KQHT file. 'Khoi12' is the 35-column grade 1–2 template of DOMAIN.md §4;
    grades 3–5 follow the same pattern with their own subjects (exact order unknown)."""
    identity = list(KQHT_IDENTITY)
    if grade_key != "Khoi12":
        identity[2] = KQHT_CODE_LABEL_345
    columns = [_KqhtColumn(label, "", field) for label, field in zip(
        identity, ("seq", "class_id", "student_id", "full_name", "birth_date"))]
    if grade_key == "Khoi12":
        subjects = [(code, code in ("TOAN", "TV")) for code in _KQHT_KHOI12_SUBJECTS]
        traits = rules.traits_for_grade(1)
        completion = "Hoàn thành\nchương trình lớp học"
    else:
        grade = int(grade_key.removeprefix("Khoi"))
        scored = rules.scored_subjects(grade, period)
        subjects = [(s.code, s.code in scored) for s in rules.subjects_for_grade(grade)]
        traits = rules.traits_for_grade(grade)
        completion = ("Hoàn thành\nchương trình tiểu học" if grade == 5
                      else "Hoàn thành\nchương trình lớp học")
    for code, has_score in subjects:
        name = _KQHT_SUBJECT_NAMES[code]
        columns.append(_KqhtColumn(SUBJECT_GROUP, name, "level", code))
        if has_score:
            columns.append(_KqhtColumn(SUBJECT_GROUP, name, "score", code))
    for trait in traits:
        group = QUALITY_GROUP if trait.group == "quality" else COMPETENCY_GROUP
        columns.append(_KqhtColumn(group, _kqht_trait_name(trait), "level", trait.code))
    if grade_key == "Khoi12" or period == "CN":
        columns += [_KqhtColumn(completion, "", "completed"), _KqhtColumn("Lên lớp", "", "promoted"),
                    _KqhtColumn("Xếp loại", "", "classification")]
    if grade_key == "Khoi12":
        columns.append(_KqhtColumn("", "", "blank"))  # AI: blank in the template
    return columns


def _kqht_header(columns: list[_KqhtColumn], row0: int) -> tuple[list[list], list[Merge]]:
    """The three header rows and their merged cells."""
    rows = [["" for _ in columns] for _ in range(3)]
    merges: list[Merge] = []
    c = 0
    while c < len(columns):
        column = columns[c]
        if not column.name:  # identity / year-end: one cell spanning the three rows
            rows[0][c] = column.top
            if column.top:
                merges.append((row0, c, row0 + 2, c))
            c += 1
            continue
        group_end = c
        while group_end + 1 < len(columns) and columns[group_end + 1].top == column.top:
            group_end += 1
        rows[0][c] = column.top
        merges.append((row0, c, row0, group_end))
        while c <= group_end:
            rows[1][c] = columns[c].name
            if c < group_end and columns[c + 1].name == columns[c].name:  # level + score
                rows[2][c], rows[2][c + 1] = LEVEL_LABEL, SCORE_LABEL
                merges.append((row0 + 1, c, row0 + 1, c + 1))
                c += 2
            else:
                merges.append((row0 + 1, c, row0 + 2, c))
                c += 1
    return rows, merges


def _kqht_rows(columns: list[_KqhtColumn], students: list[dict], period: str,
               subject_results: dict, trait_results: dict, year_results: dict,
               dates_as_text: bool) -> list[list]:
    rows = []
    for seq, student in enumerate(students, start=1):
        sid = student["student_id"]
        year = year_results.get(sid, {}) if period == "CN" else {}
        row = []
        for column in columns:
            if column.measure == "seq":
                value = seq
            elif column.measure == "birth_date":
                birth = student["birth_date"]
                value = _dmy(birth) if dates_as_text else birth
            elif column.measure in ("class_id", "student_id", "full_name"):
                value = student[column.measure]
            elif column.measure in ("completed", "promoted"):
                value = "x" if year.get(column.measure) else ""
            elif column.measure == "classification":
                value = year.get("classification")
            elif column.measure == "blank":
                value = ""
            elif column.top in (COMPETENCY_GROUP, QUALITY_GROUP):
                value = trait_results.get((sid, column.code))
            else:
                value = subject_results.get((sid, column.code), {}).get(column.measure)
            row.append(value)
        rows.append(row)
    return rows


def _write_results(t: dict[str, list[dict]], out_dir: Path, school_name: str, school_year: str,
                   periods: list[str]) -> list[Path]:
    grade_of_class = {c["class_id"]: c["grade"] for c in t["class"]}
    students = sorted(t["student"], key=lambda s: (s["class_id"] or "", s["student_id"]))
    grade_key = {s["student_id"]: ("Khoi12" if grade_of_class.get(s["class_id"]) in (1, 2)
                                   else f"Khoi{grade_of_class.get(s['class_id'])}")
                 for s in students if grade_of_class.get(s["class_id"]) in rules.GRADES}
    paths = []
    for period in periods:
        subject_results = {(r["student_id"], r["subject_code"]): r
                           for r in t["subject_result"] if r["period"] == period}
        if not subject_results:
            continue
        trait_results = {(r["student_id"], r["trait_code"]): r["level"]
                         for r in t["trait_result"] if r["period"] == period}
        year_results = {r["student_id"]: r for r in t["year_result"]}
        entered = {sid for sid, _ in subject_results}
        for key in sorted({grade_key[s] for s in entered if s in grade_key}):
            group = [s for s in students if grade_key.get(s["student_id"]) == key]
            columns = _kqht_layout(key, period)
            titles = [[school_name], [f"BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ GIÁO DỤC - "
                                      f"{PERIOD_TITLES[period].upper()}"],
                      [f"Năm học {school_year}"],
                      ["Khối 1, 2" if key == "Khoi12" else f"Khối {key.removeprefix('Khoi')}"],
                      []]
            header, merges = _kqht_header(columns, len(titles))
            legacy = key == "Khoi12"  # the grade 1–2 template is a legacy .xls
            rows = titles + header + _kqht_rows(columns, group, period, subject_results,
                                                trait_results, year_results, legacy)
            path = out_dir / f"KQHT-C1-{period}-{key}.{'xls' if legacy else 'xlsx'}"
            writer = write_rows_xls if legacy else write_rows_xlsx
            paths.append(writer(path, {"Sheet1": rows}, {"Sheet1": merges}))
    return paths


# --- student list (C1-HocSinh) ----------------------------------------------------------------
# A catalogue sheet like the real file's (which lists 12 statuses; these are the known ones).
_STATUS_CATALOGUE = ("Đang học", "Chuyển đến", "Chuyển đi", "Thôi học", "Nghỉ học xin học lại")


def _write_student_list(t: dict[str, list[dict]], out_dir: Path, school_name: str,
                        school_year: str) -> Path:
    classes = {c["class_id"]: c for c in t["class"]}
    header = ["STT", "Mã lớp", "Tên lớp", "Khối", "Mã học sinh", "Số định danh cá nhân",
              "Họ tên", "Ngày sinh", "Giới tính", "Dân tộc", "Trạng thái HS",
              "Ngày nhập trạng thái", "Loại khuyết tật", "Họ tên cha", "Số điện thoại",
              "Địa chỉ"]
    rows = [[school_name], ["DANH SÁCH HỌC SINH"], [f"Năm học {school_year}"], [], header]
    students = sorted(t["student"], key=lambda s: (s["class_id"] or "", s["student_id"]))
    for i, s in enumerate(students, start=1):
        klass = classes.get(s["class_id"], {})
        birth = s["birth_date"]
        # The three ways real files hold a date: text, a date cell, a bare Excel day number.
        if birth is not None and i % 3 == 0:
            birth = _dmy(birth)
        elif birth is not None and i % 3 == 2:
            birth = (birth - date(1899, 12, 30)).days
        status = s["status"] or ("Đang học" if s["active"] is not False else "Chuyển đi")
        rows.append([i, s["class_id"], klass.get("class_name"), klass.get("grade"),
                     s["student_id"], f"0012{i:08d}", s["full_name"], birth, s["gender"],
                     s["ethnicity"], status, "05/09/" + school_year[:4], s["disability"],
                     f"Phụ huynh số {i:04d}", f"09{i:08d}", f"Số {i} đường Mẫu"])
    catalogues = {
        "DM_TrangThai": [["Mã", "Tên trạng thái"]] + [[k, v] for k, v in
                                                      enumerate(_STATUS_CATALOGUE, 1)],
        "Sheet1": rows,
        "DM_GioiTinh": [["Mã", "Tên"], [1, "Nam"], [2, "Nữ"]],
        "DM_DanToc": [["Mã", "Tên dân tộc"], [1, "Kinh"], [2, "Tày"], [3, "Thái"], [4, "Mường"]],
    }
    return write_rows_xls(out_dir / "C1-HocSinh.xls", catalogues)


# --- staff list (CSDL_GiaoVien) ---------------------------------------------------------------
def _write_staff_list(t: dict[str, list[dict]], out_dir: Path, school_name: str) -> Path:
    header = ["STT", "Mã cán bộ", "Họ tên", "Ngày sinh", "Giới tính", "Dân tộc", "Số CCCD",
              "Số điện thoại", "Trạng thái CB", "Vị trí việc làm", "Nhóm chức vụ",
              "Loại cán bộ", "Môn dạy", "Hình thức hợp đồng", "Hạng chức danh",
              "Trình độ chuyên môn chính", "Chuyên ngành", "Đánh giá chuẩn nghề nghiệp",
              "Dạy 2 buổi/ngày", "Hệ số lương", "Số sổ BHXH"]
    rows = [[f"DANH SÁCH CÁN BỘ, GIÁO VIÊN - {school_name}"], header]
    for i, s in enumerate(sorted(t["staff"], key=lambda s: s["staff_id"]), start=1):
        rank = s["rank_code"]
        if rank and rank.startswith("V."):  # the file spells the title out around the code
            rank = f"Giáo viên tiểu học ({rank})"
        sessions = {2: "x", 1: "Không"}.get(s["sessions_per_day"], "")
        rows.append([i, s["staff_id"], s["full_name"], s["birth_date"], s["gender"], "Kinh",
                     f"0791{i:08d}", f"09{i + 50000000:08d}", s["status"], s["job_position"],
                     s["position_group"], s["staff_type"], s["main_subject"], s["contract_type"],
                     rank, s["qualification"], s["major"], s["standard_rating"], sessions,
                     "2,34", f"79{i:08d}"])
    return write_rows_xls(out_dir / "CSDL_GiaoVien.xls", {"Sheet1": rows})


# --- the project's own templates ------------------------------------------------------------
def _write_assignments(t: dict[str, list[dict]], out_dir: Path) -> Path:
    staff_names = {s["staff_id"]: s["full_name"] for s in t["staff"]}
    classes = {c["class_id"]: c for c in t["class"]}
    rows = [list(ASSIGNMENT_COLUMNS)]
    for c in sorted(classes.values(), key=lambda c: c["class_id"]):
        if c.get("homeroom_staff_id"):
            rows.append([c["class_id"], c["class_name"], c["grade"], HOMEROOM_SUBJECT,
                         c["homeroom_staff_id"], staff_names.get(c["homeroom_staff_id"])])
    for a in sorted(t["assignment"], key=lambda a: (a["class_id"], a["subject_code"],
                                                    a["staff_id"] or "")):
        c = classes.get(a["class_id"], {})
        rows.append([a["class_id"], c.get("class_name"), c.get("grade"),
                     rules.SUBJECT_BY_CODE[a["subject_code"]].name_vi, a["staff_id"],
                     staff_names.get(a["staff_id"])])
    return write_rows_xlsx(out_dir / "PhanCongChuyenMon.xlsx", {ASSIGNMENT_SHEET: rows})


def _write_facilities(t: dict[str, list[dict]], out_dir: Path) -> Path:
    rooms = [list(ROOM_COLUMNS)] + [
        [r["room_id"], r["site"], r["room_type"], r["construction"], r["area_m2"], r["condition"]]
        for r in t["room"]]
    equipment = [list(EQUIPMENT_COLUMNS)] + [[e["item"], e["quantity"], e["working"]]
                                             for e in t["equipment"]]
    return write_rows_xlsx(out_dir / "CoSoVatChat.xlsx",
                           {ROOM_SHEET: rooms, EQUIPMENT_SHEET: equipment})


def write_sector_files(tables: dict[str, pd.DataFrame], out_dir: Path, *, school_id: str,
                       school_name: str, school_year: str, periods: list[str]) -> list[Path]:
    """Write one school's files from contract tables into `out_dir` (one folder per school:
    the file names do not carry the school) and return their paths.

    KQHT: one file per period in `periods` that has results and per grade (grades 1–2 share
    the 'Khoi12' .xls template); C1-HocSinh.xls, CSDL_GiaoVien.xls; the assignments and
    facilities templates (.xlsx). A file is written only when its tables have rows.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t = _school_records(tables, school_id, ("class", "student", "subject_result", "trait_result",
                                            "year_result", "staff", "assignment", "room",
                                            "equipment"))
    paths = _write_results(t, out_dir, school_name, school_year, periods)
    if t["student"]:
        paths.append(_write_student_list(t, out_dir, school_name, school_year))
    if t["staff"]:
        paths.append(_write_staff_list(t, out_dir, school_name))
    if t["assignment"] or any(c.get("homeroom_staff_id") for c in t["class"]):
        paths.append(_write_assignments(t, out_dir))
    if t["room"] or t["equipment"]:
        paths.append(_write_facilities(t, out_dir))
    return paths


# --- class summary (Bảng tổng hợp kết quả đánh giá giáo dục) ----------------------------------
# TT27's printed form as vnEdu / the sector database export it (DOMAIN.md §4): one .xls per grade,
# one sheet per class, four merged header rows. Two variants, as one school's files differ from
# year to year: spellings, subject order, the level-only subject shape and the tick character.
SUMMARY_PERIOD_TITLES = {"GK1": "GIỮA HỌC KÌ I", "CK1": "CUỐI HỌC KÌ I", "GK2": "GIỮA HỌC KÌ II",
                         "CN": "CUỐI NĂM HỌC"}
SUMMARY_HEADER_ROW = 6  # 0-based: six title rows above the four header rows
SUMMARY_TICKS = ("\uf0fc", "x")  # Wingdings check mark (vnEdu), or "x" (other exporters)
SUMMARY_TEACHER, SUMMARY_PRINCIPAL = "Nguyễn Thị Mẫu", "Trần Văn Mẫu"  # fictional signatories
_ART = ("AMNHAC", "MITHUAT")  # under "Nghệ thuật"
_SUMMARY_NAMES = (
    {"TV": "TViệt", "TOAN": "Toán", "DAODUC": "ĐĐức", "TNXH": "TN-XH", "NGOAINGU": "Tiếng Anh",
     "TINHOC": "Tin học", "CONGNGHE": "Tin học và Công nghệ (Công nghệ)",
     "LSDL": "Lịch sử và Địa lí", "KHOAHOC": "Khoa học", "HDTN": "HĐTN", "GDTC": "GDTC",
     "TIENGDT": "Tiếng dân tộc", "AMNHAC": "Âm nhạc", "MITHUAT": "MT"},
    {"TV": "Tiếng Việt", "TOAN": "Toán", "DAODUC": "Đạo đức", "TNXH": "TN-XH",
     "NGOAINGU": "Tiếng Anh", "TINHOC": "Tin học", "CONGNGHE": "Công nghệ",
     "LSDL": "Lịch sử và Địa lí", "KHOAHOC": "Khoa học", "HDTN": "Hoạt động trải nghiệm",
     "GDTC": "Giáo dục thể chất", "TIENGDT": "Tiếng dân tộc", "AMNHAC": "Âm nhạc",
     "MITHUAT": "Mĩ thuật"},
)
_SUMMARY_ORDER = (  # "ART" is the Nghệ thuật pair
    ("TV", "TOAN", "DAODUC", "TNXH", "LSDL", "KHOAHOC", "ART", "HDTN", "GDTC", "NGOAINGU",
     "TINHOC", "CONGNGHE", "TIENGDT"),
    ("TOAN", "TV", "NGOAINGU", "DAODUC", "TNXH", "KHOAHOC", "LSDL", "TINHOC", "CONGNGHE", "ART",
     "GDTC", "HDTN", "TIENGDT"),
)
_GQVD_NAMES = ("GQVĐ và sáng tạo", "Giải quyết vấn đề và sáng tạo")
_YEAR_END_LABELS = (("HTXS", "Hoàn thành xuất sắc"), ("HTT", "Hoàn thành tốt"),
                    ("HT", "Hoàn thành"), ("CHT", "Chưa hoàn thành"))
# When each period's sheet is signed (month, day, which calendar year of the school year).
_SIGNED_ON = {"GK1": (11, 5, 0), "CK1": (1, 15, 1), "GK2": (3, 25, 1), "CN": (5, 25, 1)}


@dataclass(frozen=True)
class _SummaryCell:
    field: str  # seq, code, name, blank, birth, female, level, score, trait, class, award, ...
    code: str = ""  # subject / trait code, or the classification of a "class" column


class _SummaryHeader:
    """The four header rows, built column by column: texts and merged ranges."""

    def __init__(self, row0: int):
        self.row0 = row0
        self.cells: list[_SummaryCell] = []
        self.texts: dict[tuple[int, int], str] = {}
        self.merges: list[Merge] = []

    def add(self, field: str, code: str = "") -> int:
        self.cells.append(_SummaryCell(field, code))
        return len(self.cells) - 1

    def label(self, r0: int, c0: int, text: str, r1: int | None = None,
              c1: int | None = None) -> None:
        """`text` at header row r0 (0–3), column c0, merged down to r1 and across to c1."""
        r1, c1 = r0 if r1 is None else r1, c0 if c1 is None else c1
        self.texts[(r0, c0)] = text
        if (r1, c1) != (r0, c0):
            self.merges.append((self.row0 + r0, c0, self.row0 + r1, c1))

    def rows(self) -> list[list]:
        return [[self.texts.get((r, c), "") for c in range(len(self.cells))] for r in range(4)]


def _summary_layout(grade: int, period: str, subjects: list[tuple[str, bool]],
                    variant: int) -> _SummaryHeader:
    """Columns and header of one class sheet; `subjects` are (code, has score) in order."""
    head = _SummaryHeader(SUMMARY_HEADER_ROW)
    names = _SUMMARY_NAMES[variant]
    for field, text in (("seq", "STT"), ("code", "Mã học sinh")):
        head.label(0, head.add(field), text, 3)
    c = head.add("name")
    head.add("blank")  # the name header spans two columns; the second stays empty
    head.label(0, c, "HỌ VÀ TÊN HỌC SINH", 3, c + 1)
    head.label(0, head.add("birth"), "Ngày,\ntháng,\nnăm sinh", 3)
    head.label(0, head.add("female"), "Nữ", 3)

    first = len(head.cells)
    codes = [code for code, _ in subjects]
    for code, has_score in subjects:
        if code in _ART and all(a in codes for a in _ART):
            if code != _ART[0]:
                continue  # written with its pair
            c = head.add("level", _ART[0])
            head.add("level", _ART[1])
            head.label(1, c, "Nghệ thuật", 1, c + 1)
            head.label(2, c, names[_ART[0]], 3)
            head.label(2, c + 1, names[_ART[1]], 3)
            continue
        name = names.get(code) or rules.SUBJECT_BY_CODE[code].name_vi
        c = head.add("level", code)
        if has_score:
            head.add("score", code)
            head.label(1, c, name, 2, c + 1)
            head.label(3, c, LEVEL_LABEL)
            head.label(3, c + 1, SCORE_LABEL)
        elif variant == 1:
            head.label(1, c, name, 2)
            head.label(3, c, LEVEL_LABEL)
        else:
            head.label(1, c, name, 3)
    head.label(0, first, SUBJECT_GROUP, 0, len(head.cells) - 1)

    traits = rules.traits_for_grade(grade)
    first = len(head.cells)
    for group, title in (("general", "Năng lực chung"), ("specific", "Năng lực đặc thù")):
        start = len(head.cells)
        for trait in (t for t in traits if t.group == group):
            c = head.add("trait", trait.code)
            head.label(3, c, _GQVD_NAMES[variant] if trait.code == "NLC_GQVD" else trait.name_vi)
        head.label(1, start, title, 2, len(head.cells) - 1)
    head.label(0, first, "Năng lực cốt lõi", 0, len(head.cells) - 1)
    first = len(head.cells)
    for trait in (t for t in traits if t.group == "quality"):
        head.label(3, head.add("trait", trait.code), trait.name_vi)
    head.label(0, first, "Phẩm chất chủ yếu", 2, len(head.cells) - 1)

    if period == "CN":
        first = len(head.cells)
        for classification, text in _YEAR_END_LABELS:
            head.label(3, head.add("class", classification), text)
        head.label(0, first, "Đánh giá KQGD", 2, len(head.cells) - 1)
        c = head.add("award")
        head.label(3, c, "Cuối năm")
        head.label(3, head.add("award_other"), "Đột xuất")
        head.label(0, c, "Khen thưởng", 2, c + 1)
        head.label(0, head.add("not_promoted"), "Chưa lên lớp", 3)
    head.label(0, head.add("note"), "Ghi chú", 3)
    return head


def _summary_subjects(grade: int, period: str, student_ids: set[str],
                      subject_results: dict, variant: int) -> list[tuple[str, bool]]:
    """The class's subjects: the grade's compulsory ones plus what its students have rows for
    (an optional subject, or one beyond the grade's list), in the variant's order."""
    taken = {code for sid, code in subject_results if sid in student_ids}
    scored = {code for (sid, code), r in subject_results.items()
              if sid in student_ids and r.get("score") is not None}
    codes = {s.code for s in rules.subjects_for_grade(grade) if grade not in s.optional_grades
             and s.code != "TIENGDT"}
    codes |= {code for code in taken if code in rules.SUBJECT_BY_CODE}
    must_score = set(rules.scored_subjects(grade, period))
    order = [code for unit in _SUMMARY_ORDER[variant]
             for code in (_ART if unit == "ART" else (unit,))]
    # Âm nhạc and Mĩ thuật are never tested: the form has no score column for them.
    return [(code, code not in _ART and (code in must_score or code in scored))
            for code in order if code in codes]


def _summary_student_code(code: object) -> object:
    """All digits: a number cell, as the export writes it (2404669517.0); else the text."""
    text = "" if code is None else str(code)
    if text.isascii() and text.isdigit() and not text.startswith("0"):
        return float(text)  # a leading zero would be lost in a number: keep such codes as text
    return text


def _summary_rows(head: _SummaryHeader, students: list[dict], period: str, subject_results: dict,
                  trait_results: dict, year_results: dict, tick: str) -> list[list]:
    rows = []
    for seq, student in enumerate(students, start=1):
        sid = student["student_id"]
        year = year_results.get(sid, {}) if period == "CN" else {}
        row: list = []
        for cell in head.cells:
            value: object = None
            if cell.field == "seq":
                value = float(seq)
            elif cell.field == "code":
                value = _summary_student_code(sid)
            elif cell.field == "name":
                value = student["full_name"]
            elif cell.field == "birth":
                birth = student["birth_date"]
                value = birth if isinstance(birth, str) else _dmy(birth)
            elif cell.field == "female":
                gender = student.get("gender")
                value = tick if isinstance(gender, str) and unicodedata.normalize(
                    "NFC", gender.strip()) == "Nữ" else None
            elif cell.field in ("level", "score"):
                value = subject_results.get((sid, cell.code), {}).get(cell.field)
                if cell.field == "score" and value is not None:
                    value = float(value)
            elif cell.field == "trait":
                value = trait_results.get((sid, cell.code))
            elif cell.field == "class":
                value = tick if year.get("classification") == cell.code else None
            elif cell.field in ("award", "award_other"):
                award = year.get("award")
                award = str(award).strip() if award is not None else ""
                special = award == rules.AWARD_SPECIAL  # "Đột xuất", not the year-end award
                value = tick if award and special == (cell.field == "award_other") else None
            elif cell.field == "not_promoted":
                promoted = year.get("promoted")
                value = tick if promoted is not None and not promoted else None
            row.append(value)
        rows.append(row)
    return rows


def _school_title(school_name: str) -> str:
    name = school_name.strip().upper()
    return name if name.startswith("TRƯỜNG") else f"TRƯỜNG TIỂU HỌC {name}"


def _summary_sheet(klass: dict, students: list[dict], period: str, school_name: str,
                   school_year: str, district_name: str, variant: int, subject_results: dict,
                   trait_results: dict, year_results: dict) -> tuple[list[list], list[Merge]]:
    grade = klass["grade"]
    subjects = _summary_subjects(grade, period, {s["student_id"] for s in students},
                                 subject_results, variant)
    head = _summary_layout(grade, period, subjects, variant)
    width = len(head.cells)
    start, end = (part.strip() for part in school_year.split("-", 1))
    titles = [[district_name], [_school_title(school_name)],
              [f"BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ GIÁO DỤC {SUMMARY_PERIOD_TITLES[period]}"],
              [f"Năm học: {start} - {end}"], [f"Lớp: {klass['class_name']}"], []]
    merges = [(0, 0, 0, 5), (1, 0, 1, 5)] + [(r, 0, r, width - 1) for r in (2, 3, 4)]
    data = _summary_rows(head, students, period, subject_results, trait_results, year_results,
                         SUMMARY_TICKS[variant])
    # The signature block: the teacher's name lands in the name column, below the students.
    name_col, principal_col = 2, max(6, width - 8)

    def line(**at: str) -> list:
        row = [""] * width
        for col, text in at.items():
            row[name_col if col == "teacher" else principal_col] = text
        return row

    month, day, offset = _SIGNED_ON[period]
    signed = f"Quận Mẫu, ngày {day:02d} tháng {month:02d} năm {(start, end)[offset]}"
    footer = [[], line(principal=signed),
              line(teacher="Giáo viên chủ nhiệm", principal="Hiệu trưởng"),
              line(teacher="(ký , ghi rõ họ tên)", principal="(ký , ghi rõ họ tên)"), [], [],
              line(teacher=SUMMARY_TEACHER, principal=SUMMARY_PRINCIPAL)]
    return titles + head.rows() + data + footer, merges + head.merges


def write_class_summaries(tables: dict[str, pd.DataFrame], out_dir: Path, *, school_id: str,
                          school_name: str, school_year: str, period: str,
                          district_name: str = "PHÒNG GD&ĐT QUẬN MẪU",
                          variant: int = 0) -> list[Path]:
    """Write TT27's class summary of `period` for one school: `so_diem_tong_ket_khoi_khoi_<N>.xls`
    per grade with results in that period, one sheet per class named in lower case ("1a").

    `variant` 0 is vnEdu's shape (short spellings, Wingdings ticks), 1 another year's (full
    spellings, "x" ticks, another subject order). Every enrolled student of a class is listed,
    sorted by student code.
    """
    if period not in SUMMARY_PERIOD_TITLES:
        raise ValueError(f"period must be one of {tuple(SUMMARY_PERIOD_TITLES)}, got {period!r}")
    if variant not in (0, 1):
        raise ValueError(f"variant must be 0 or 1, got {variant!r}")
    out_dir = Path(out_dir)
    t = _school_records(tables, school_id, ("class", "student", "subject_result", "trait_result",
                                            "year_result"))
    subject_results = {(r["student_id"], r["subject_code"]): r
                       for r in t["subject_result"] if r["period"] == period}
    trait_results = {(r["student_id"], r["trait_code"]): r["level"]
                     for r in t["trait_result"] if r["period"] == period}
    year_results = {r["student_id"]: r for r in t["year_result"]}
    classes = {c["class_id"]: c for c in t["class"] if c["grade"] in rules.GRADES}
    # A class summary lists the class as it is: a student who left is no longer on it.
    students = sorted((s for s in t["student"] if s["class_id"] in classes
                       and s.get("active") is not False),
                      key=lambda s: (s["class_id"], s["student_id"]))
    entered = {sid for sid, _ in subject_results}
    grades = sorted({classes[s["class_id"]]["grade"] for s in students
                     if s["student_id"] in entered})
    paths = []
    for grade in grades:
        sheets: dict[str, list[list]] = {}
        merges: dict[str, list[Merge]] = {}
        for klass in sorted((c for c in classes.values() if c["grade"] == grade),
                            key=lambda c: (str(c["class_name"]), c["class_id"])):
            members = [s for s in students if s["class_id"] == klass["class_id"]]
            if not members:
                continue  # a class without students has no sheet
            name = str(klass["class_name"]).lower()
            if name in sheets:
                raise ValueError(f"two classes of grade {grade} are named {name!r}")
            sheets[name], merges[name] = _summary_sheet(
                klass, members, period, school_name, school_year, district_name, variant,
                subject_results, trait_results, year_results)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths.append(write_rows_xls(out_dir / f"so_diem_tong_ket_khoi_khoi_{grade}.xls",
                                    sheets, merges, number_records=True))
    return paths
