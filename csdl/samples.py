"""Files in the sector's formats (DOMAIN.md §4), written from snapshot-contract tables.

The demo generator writes a school's sample downloads with `write_sector_files`; the tests build
fixtures with it and, for quirky files, with the low-level `write_rows_*` / `write_csv` helpers.
The student and staff lists carry fake personal columns (ID number, parent, phone) on purpose:
the readers must ignore them.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import xlwt

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


def write_rows_xls(path: Path, sheets: dict[str, list[list]],
                   merges: dict[str, list[Merge]] | None = None) -> Path:
    """A legacy .xls (BIFF8) with these rows, as the sector database exports."""
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, (date, datetime)):
                    sheet.write(r, c, value, date_style)
                else:
                    sheet.write(r, c, value)
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


# --- KQHT (results) -------------------------------------------------------------------------
@dataclass(frozen=True)
class _KqhtColumn:
    top: str  # row 1: an identity / year-end label or a group
    name: str  # row 2: subject / trait name ('' for identity and year-end columns)
    measure: str  # "level", "score", or the identity / year-end field
    code: str = ""  # subject or trait code


def _kqht_layout(grade_key: str, period: str) -> list[_KqhtColumn]:
    """Columns of a KQHT file. 'Khoi12' is the 35-column grade 1–2 template of DOMAIN.md §4;
    grades 3–5 follow the same pattern with their own subjects (exact order unknown)."""
    columns = [_KqhtColumn(label, "", field) for label, field in zip(
        KQHT_IDENTITY, ("seq", "class_id", "student_id", "full_name", "birth_date"))]
    if grade_key == "Khoi12":
        subjects = [("Toán", "TOAN", True), ("Tiếng Việt", "TV", True),
                    ("Đạo đức", "DAODUC", False), ("Tự nhiên và Xã hội", "TNXH", False),
                    ("Ngoại ngữ", "NGOAINGU", False), ("Tiếng dân tộc", "TIENGDT", False),
                    ("Tin học", "TINHOC", False), ("Âm nhạc", "AMNHAC", False),
                    ("Mĩ thuật", "MITHUAT", False), ("Hoạt động trải nghiệm", "HDTN", False),
                    ("Giáo dục thể chất", "GDTC", False)]
        traits = rules.traits_for_grade(1)
        completion = "Hoàn thành chương trình lớp học"
    else:
        grade = int(grade_key.removeprefix("Khoi"))
        scored = rules.scored_subjects(grade, period)
        subjects = [(s.name_vi, s.code, s.code in scored) for s in rules.subjects_for_grade(grade)]
        traits = rules.traits_for_grade(grade)
        completion = ("Hoàn thành chương trình tiểu học" if grade == 5
                      else "Hoàn thành chương trình lớp học")
    for name, code, has_score in subjects:
        columns.append(_KqhtColumn(SUBJECT_GROUP, name, "level", code))
        if has_score:
            columns.append(_KqhtColumn(SUBJECT_GROUP, name, "score", code))
    for trait in traits:
        group = QUALITY_GROUP if trait.group == "quality" else COMPETENCY_GROUP
        columns.append(_KqhtColumn(group, trait.name_vi, "level", trait.code))
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
    t: dict[str, list[dict]] = {}
    for name in ("class", "student", "subject_result", "trait_result", "year_result", "staff",
                 "assignment", "room", "equipment"):
        frame = tables.get(name)
        if frame is not None and "school_id" in frame.columns:
            frame = frame[frame["school_id"] == school_id]
        t[name] = _records(frame)
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
