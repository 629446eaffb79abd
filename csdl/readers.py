"""Readers for the files a school has in hand (DOMAIN.md §4) and the project's own templates.

`read_file` never raises for bad input. Everything it finds is in `ParsedFile.problems`:
errors are structural (the import is refused) and name file, sheet, row and column; warnings
are bad cells, stored as not entered and kept in `ParsedFile.invalid` with their cell.

Columns are found by their header text (compared with `fold`), never by position, and only the
columns listed in this module are read: personal ID numbers, parents, phones, addresses,
salary and insurance numbers never leave the file (data minimisation, Nghị định 13/2023).
A header that names personal data anywhere ("Mã học sinh (Số định danh cá nhân)") is never
read, even when it also names a column that is, and is listed in `ParsedFile.skipped`; a code
column holding 12-digit numbers (personal ID numbers) refuses the file.

The bytes are parsed in csdl/sheet_worker.py's worker process, under its limits.
"""
from __future__ import annotations

import difflib
import hashlib
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pandas as pd
import xlsxwriter

from . import rules, sheet_worker
from .parsed import ParsedFile
from .problems import ERROR, WARNING, ImportRefused, Problem, column_letter
from .text import fold, nfc

# --- the project's own templates (README and the "blank template" download use these) ---------
HOMEROOM_SUBJECT = "Chủ nhiệm"  # the "subject" of a homeroom row in the assignments template
ASSIGNMENT_SHEET = "Phân công chuyên môn"
ASSIGNMENT_COLUMNS = ("Mã lớp", "Tên lớp", "Khối", "Môn học", "Mã cán bộ", "Họ tên giáo viên")
ASSIGNMENT_EXAMPLE = ("4A1", "4A1", 4, "Toán", "GV001", "Nguyễn Thị Lan")
ROOM_SHEET = "Phòng"
ROOM_COLUMNS = ("Mã phòng", "Điểm trường", "Loại phòng", "Kiểu công trình", "Diện tích (m2)",
                "Tình trạng")
ROOM_EXAMPLE = ("P101", "Điểm chính", "Phòng học", "Kiên cố", 48, "Tốt")
EQUIPMENT_SHEET = "Thiết bị"
EQUIPMENT_COLUMNS = ("Thiết bị", "Số lượng", "Đang dùng được")
EQUIPMENT_EXAMPLE = ("Máy chiếu", 10, 9)
CONSTRUCTION_TYPES = ("Kiên cố", "Bán kiên cố", "Tạm")
ROOM_CONDITIONS = ("Tốt", "Cần sửa chữa", "Hỏng")
# Suggested room types (TT13/2020 norms); the template accepts any other text too.
ROOM_TYPES = ("Phòng học", "Phòng Âm nhạc", "Phòng Mĩ thuật", "Phòng Tin học",
              "Phòng Ngoại ngữ", "Thư viện", "Phòng họp", "Phòng y tế", "Kho",
              "Nhà vệ sinh học sinh nam", "Nhà vệ sinh học sinh nữ", "Nhà vệ sinh giáo viên")
# kind → its sheets as (sheet name, header row, example row)
TEMPLATES: dict[str, tuple[tuple[str, tuple[str, ...], tuple[object, ...]], ...]] = {
    "assignments": ((ASSIGNMENT_SHEET, ASSIGNMENT_COLUMNS, ASSIGNMENT_EXAMPLE),),
    "facilities": ((ROOM_SHEET, ROOM_COLUMNS, ROOM_EXAMPLE),
                   (EQUIPMENT_SHEET, EQUIPMENT_COLUMNS, EQUIPMENT_EXAMPLE)),
}

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # legacy .xls
ZIP_MAGIC = b"PK\x03\x04"  # .xlsx (and .ods)
TEXT_SUFFIXES = (".csv", ".txt")
HEADER_SCAN_ROWS = 40  # title rows above a header are a handful; catalogue sheets are skipped
HEADER_SCAN_CELLS = 50_000  # text cells looked at for headers, per file (a school's
# busiest, a class summary of 15 classes, needs ~25,000)
TITLE_CELLS_PER_ROW = 16  # filled cells of a title row read for the period, grade, year, school
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIAL_MIN, _SERIAL_MAX = 20000, 60000  # Excel day numbers ≈ 1954–2064 (DOMAIN.md §4)
_COUNT_MAX = 2**53  # the largest whole number a float holds exactly


# --- loading --------------------------------------------------------------------------------
@dataclass
class Sheet:
    """One worksheet as raw cell values: text NFC-normalised, '' for an empty cell; each row
    up to its last filled cell (rows differ in length), none after the last filled row."""

    name: str  # '' for a CSV file
    rows: list[list[object]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1 (0-based, inclusive)

    def cell(self, row: int, col: int) -> object:
        if 0 <= row < len(self.rows) and 0 <= col < len(self.rows[row]):
            return self.rows[row][col]
        return ""

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


def load_sheets(path: Path, display_name: str) -> list[Sheet]:
    """Every worksheet of a .xls/.xlsx/.csv file, its format recognised by content.

    Raises ImportRefused with one problem when the file is empty, not a spreadsheet, or beyond
    the worker's limits (csdl/sheet_worker.py).
    """
    path = Path(path)
    try:
        _check_size(path, display_name)
        data = path.read_bytes()
    except OSError as exc:
        raise ImportRefused([Problem(display_name, "file_unreadable",
                                     params={"reason": exc.strerror or str(exc)})]) from exc
    return _sheets_from_bytes(data, path.suffix.lower(), display_name)


def _check_size(path: Path, name: str) -> None:
    """A file beyond the size limit is refused before it is read into memory."""
    size = path.stat().st_size
    if size > sheet_worker.MAX_FILE_BYTES:
        raise ImportRefused([Problem(name, "file_too_large", params={
            "size_mb": sheet_worker.mib(size), "limit_mb": sheet_worker.mib(
                sheet_worker.MAX_FILE_BYTES)})])


def _sheets_from_bytes(data: bytes, suffix: str, name: str) -> list[Sheet]:
    if not data.strip():
        raise ImportRefused([Problem(name, "file_empty")])
    # Spreadsheets and CSV files are parsed in a worker process under limits: a damaged file
    # can make calamine abort, a small one can ask for gigabytes (csdl/sheet_worker.py).
    try:
        if data.startswith(OLE2_MAGIC) or data.startswith(ZIP_MAGIC):
            raw_sheets = sheet_worker.read_workbook(data)
        elif suffix in TEXT_SUFFIXES:
            raw_sheets = sheet_worker.read_csv(data)
        else:  # e.g. a text or HTML file renamed .xls
            raise ImportRefused([Problem(name, "not_spreadsheet")])
    except sheet_worker.WorkbookUnreadable as exc:
        raise ImportRefused([Problem(name, "file_unreadable",
                                     params={"reason": exc.reason})]) from exc
    except sheet_worker.SheetRefused as exc:
        raise ImportRefused([Problem(
            name, exc.code, sheet=exc.sheet or None,
            row=None if exc.row0 is None else exc.row0 + 1,
            column=None if exc.col is None else column_letter(exc.col),
            params=exc.params)]) from exc
    sheets = [Sheet(raw.name, raw.rows, raw.merged) for raw in raw_sheets]
    if not any(_nonblank(row) for sheet in sheets for row in sheet.rows):
        raise ImportRefused([Problem(name, "file_empty")])
    return sheets


# --- cell values ------------------------------------------------------------------------------
def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _nonblank(row: list[object]) -> bool:
    return any(not _blank(v) for v in row)


def _text(value: object) -> str:
    """Display text of a cell: integral numbers without '.0', dates dd/mm/yyyy."""
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.strftime("%d/%m/%Y")
    return nfc(value)


def _number(value: object) -> float | None:
    """A number from a cell; text may use the Vietnamese decimal comma (45,5)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = nfc(value).replace(" ", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")


def _date(value: object) -> date | None:
    """dd/mm/yyyy text, ISO text, an Excel day number 20000–60000 or a date cell; else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    number = _number(value)
    if number is not None:
        if number.is_integer() and _SERIAL_MIN <= number <= _SERIAL_MAX:
            return _EXCEL_EPOCH + timedelta(days=int(number))
        return None
    text = nfc(value)
    for pattern, order in ((_DMY, (3, 2, 1)), (_YMD, (1, 2, 3))):
        match = pattern.match(text)
        if match:
            try:
                return date(*(int(match.group(i)) for i in order))
            except ValueError:
                return None
    return None


def _plain(value: object) -> str:
    """Lower-case text without diacritics but with its spaces, for title patterns."""
    text = unicodedata.normalize("NFD", nfc(value).replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()


def _is_total_row(row: list[object]) -> bool:
    """'Tổng cộng', 'Cộng' … in the first filled cell (with diacritics: the surname Tống differs)."""
    first = next((v for v in row if not _blank(v)), "")
    return isinstance(first, str) and re.match(r"(tổng|cộng)\b", first.lower()) is not None


# --- personal data (Nghị định 13/2023, children's data): never read, whatever a header says
# Phrases matched as whole words of the header's text without diacritics, so "cha" is not
# "Chăm chỉ" and "Mã định danh Bộ GD&ĐT" (the ministry's student code) is no personal ID.
_PERSONAL_PHRASES = (
    # identity papers
    "so dinh danh", "dinh danh ca nhan", "dinh danh cong dan", "cccd", "cmnd", "cmt",
    "can cuoc", "chung minh nhan dan", "chung minh thu", "ho chieu", "giay khai sinh",
    "so khai sinh",
    # family
    "cha", "me", "bo me", "cha me", "ten bo", "ho ten bo", "nghe nghiep bo", "phu huynh",
    "giam ho", "nguoi do dau", "vo chong", "ten vo", "ho ten vo", "ten chong", "ho ten chong",
    # contact and address
    "dien thoai", "sdt", "so dt", "dtdd", "dt di dong", "di dong", "dt lien he", "zalo", "fax",
    "email", "e mail", "gmail", "thu dien tu", "dia chi", "noi o", "cho o", "thuong tru",
    "tam tru", "ho khau", "que quan", "noi sinh", "so nha", "thon xom", "to dan pho",
    "xa phuong", "phuong xa", "quan huyen", "tinh thanh pho",
    # money and insurance
    "bhxh", "bhyt", "bao hiem", "luong co ban", "muc luong", "he so luong", "bac luong",
    "tien luong", "ngach luong", "phu cap", "thu nhap", "tai khoan ngan hang", "so tai khoan",
    "ngan hang", "stk", "ma so thue", "mst",
    # sensitive data
    "ton giao", "suc khoe", "dang vien", "vao dang",
    # English headers
    "phone", "mobile", "address", "parent", "parents", "father", "mother", "guardian",
    "salary", "insurance", "passport", "bank", "religion", "id card", "national id",
)
_PERSONAL_KEYS = tuple(f" {phrase} " for phrase in _PERSONAL_PHRASES)
# Words that differ from an allowed one only by their diacritics, matched as written:
# "bố" (father; "Bộ GD&ĐT" is the ministry), "lương" (salary; "Số lượng" is a count).
_PERSONAL_WORDS = frozenset({"bố", "lương"})
_WORDS = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1 << 14, typed=True)
def _personal(value: object) -> bool:
    """Whether a header cell names personal data anywhere, a note in parentheses included."""
    if not isinstance(value, str) or not value:
        return False
    words = f" {' '.join(_WORDS.findall(_plain(value)))} "
    if any(key in words for key in _PERSONAL_KEYS):
        return True
    return not _PERSONAL_WORDS.isdisjoint(re.findall(r"\w+", nfc(value).lower()))


def _personal_columns(sheet: Sheet, row0: int) -> list[dict]:
    """The header row's columns that name personal data, as ParsedFile.skipped entries."""
    return [{"sheet": sheet.name or None, "column": column_letter(col), "header": _text(value),
             "reason": "personal_data"}
            for col, value in enumerate(sheet.rows[row0]) if _personal(value)]


# --- header matching -----------------------------------------------------------------------
@lru_cache(maxsize=1 << 14, typed=True)
def _header_keys(value: object) -> tuple[str, ...]:
    """Keys a header cell may match: the whole text, and the text before a '(' note."""
    if not isinstance(value, str):
        return ()  # numbers and dates are values, never headers
    text = _text(value)
    keys = [fold(text), fold(text.split("(")[0])]
    return tuple(k for i, k in enumerate(keys) if k and k not in keys[:i])


class _Fields:
    """Contract field → the header texts that name it (first text = the label in messages)."""

    def __init__(self, **aliases: tuple[str, ...]):
        self.labels = {name: texts[0] for name, texts in aliases.items()}
        self._by_key: dict[str, str] = {}
        for name, texts in aliases.items():
            for text in texts:
                self._by_key.setdefault(fold(text), name)

    def field_of(self, value: object) -> str | None:
        """The field a header names; None for a header naming personal data, whatever else
        it says ("Mã học sinh (Số định danh cá nhân)", "Họ tên (cha)")."""
        found = next((self._by_key[k] for k in _header_keys(value) if k in self._by_key), None)
        return None if found is None or _personal(value) else found

    def locate(self, row: list[object]) -> dict[str, int]:
        """Field → the first column whose header names it (text cells only: a number or a
        date is a value, never a header)."""
        found: dict[str, int] = {}
        field_of = self.field_of
        for col, value in enumerate(row):
            if isinstance(value, str) and value:
                name = field_of(value)
                if name is not None and name not in found:
                    found[name] = col
        return found


_RESULT_FIELDS = _Fields(
    class_id=("Mã lớp",),
    # "Mã định danh Bộ GD&ĐT" is the ministry's student code, not the personal ID number.
    student_id=("Mã học sinh", "Mã HS", "Mã định danh Bộ GD&ĐT", "Mã định danh Bộ GDĐT"),
    full_name=("Họ tên", "Họ và tên", "Họ tên học sinh", "Họ và tên học sinh"),
    birth_date=("Ngày sinh", "Ngày, tháng, năm sinh", "Ngày tháng năm sinh"),
    female=("Nữ",),  # a tick column in the class summary
    completed=("Hoàn thành chương trình lớp học", "Hoàn thành chương trình tiểu học",
               "Hoàn thành chương trình"),
    promoted=("Lên lớp",),
    classification=("Xếp loại", "Xếp loại cuối năm"),
    award=("Khen thưởng",),
)
_STUDENT_FIELDS = _Fields(
    class_id=("Mã lớp",),
    class_name=("Tên lớp", "Lớp"),
    grade=("Khối", "Khối lớp"),
    student_id=("Mã học sinh", "Mã HS"),
    full_name=("Họ tên", "Họ và tên", "Họ tên học sinh"),
    birth_date=("Ngày sinh",),
    gender=("Giới tính",),
    status=("Trạng thái HS", "Trạng thái học sinh", "Trạng thái"),
    ethnicity=("Dân tộc",),
    disability=("Loại khuyết tật", "Khuyết tật"),
)
_STAFF_FIELDS = _Fields(
    staff_id=("Mã cán bộ", "Mã CB", "Mã giáo viên"),
    full_name=("Họ tên", "Họ và tên", "Họ tên cán bộ"),
    birth_date=("Ngày sinh",),
    gender=("Giới tính",),
    ethnicity=("Dân tộc",),  # recognises the file; not stored (the contract has no column)
    status=("Trạng thái CB", "Trạng thái cán bộ", "Trạng thái"),
    job_position=("Vị trí việc làm",),
    position_group=("Nhóm chức vụ",),
    staff_type=("Loại cán bộ",),
    main_subject=("Môn dạy", "Môn dạy chính"),
    contract_type=("Hình thức hợp đồng",),
    rank_code=("Hạng chức danh", "Hạng chức danh nghề nghiệp", "Mã hạng chức danh"),
    qualification=("Trình độ chuyên môn chính", "Trình độ chuyên môn"),
    major=("Chuyên ngành", "Chuyên ngành đào tạo"),
    standard_rating=("Đánh giá chuẩn nghề nghiệp", "Đánh giá chuẩn NN"),
    sessions_count=("Số buổi dạy/ngày", "Số buổi dạy trên ngày", "Số buổi dạy"),
    one_session=("Dạy 1 buổi/ngày", "Dạy 1 buổi"),
    two_sessions=("Dạy 2 buổi/ngày", "Dạy 2 buổi"),
)
_ASSIGNMENT_FIELDS = _Fields(
    class_id=(ASSIGNMENT_COLUMNS[0],),
    class_name=(ASSIGNMENT_COLUMNS[1], "Lớp"),
    grade=(ASSIGNMENT_COLUMNS[2],),
    subject=(ASSIGNMENT_COLUMNS[3], "Môn"),
    staff_id=(ASSIGNMENT_COLUMNS[4], "Mã giáo viên"),
    staff_name=(ASSIGNMENT_COLUMNS[5], "Giáo viên"),
)
_ROOM_FIELDS = _Fields(
    room_id=(ROOM_COLUMNS[0],), site=(ROOM_COLUMNS[1],), room_type=(ROOM_COLUMNS[2],),
    construction=(ROOM_COLUMNS[3],), area_m2=(ROOM_COLUMNS[4], "Diện tích"),
    condition=(ROOM_COLUMNS[5],),
)
_EQUIPMENT_FIELDS = _Fields(
    item=(EQUIPMENT_COLUMNS[0], "Tên thiết bị"), quantity=(EQUIPMENT_COLUMNS[1],),
    working=(EQUIPMENT_COLUMNS[2],),
)
# Header layouts a file may hold, with the matches needed to recognise one, in tie-break order.
_LAYOUTS: dict[str, tuple[_Fields, int]] = {
    "students": (_STUDENT_FIELDS, 3),
    "staff": (_STAFF_FIELDS, 3),
    "assignments": (_ASSIGNMENT_FIELDS, 3),
    "rooms": (_ROOM_FIELDS, 3),
    "equipment": (_EQUIPMENT_FIELDS, 2),
}
# Every layout's fields by header key, for one pass over a row (`_row_fields`).
_SCAN_FIELDS = {"results": _RESULT_FIELDS, **{name: f for name, (f, _) in _LAYOUTS.items()}}
_KEY_FIELDS: dict[str, dict[str, str]] = {}
for _layout, _fields in _SCAN_FIELDS.items():
    for _key, _name in _fields._by_key.items():
        _KEY_FIELDS.setdefault(_key, {}).setdefault(_layout, _name)
_REQUIRED = {
    "results": ("student_id", "full_name"),
    "students": ("student_id", "full_name"),
    "staff": ("staff_id", "full_name"),
    "assignments": ("class_id", "subject", "staff_id"),
    "rooms": ("room_type",),
    "equipment": ("item", "quantity"),
}

# Subject and trait names as files write them (DOMAIN.md §4): the one alias table of item
# headers. A header matches by its whole text, the text in its parentheses ("Nghệ thuật (Âm
# nhạc)", "TH-CN (Tin học)"), the text after a colon ("Năng lực chung: Tự chủ và tự học") or
# the text before a parenthesis; each compared with `fold` (no diacritics, case or spaces).
ITEM_ALIASES: dict[str, tuple[str, ...]] = {
    "TOAN": ("Toán",),
    "TV": ("Tiếng Việt", "TViệt", "T.Việt", "TV"),
    "DAODUC": ("Đạo đức", "ĐĐức", "Đ.Đức"),
    "TNXH": ("Tự nhiên và Xã hội", "Tự nhiên - Xã hội", "Tự nhiên và xã hội", "TN-XH", "TNXH",
             "TN&XH"),
    "NGOAINGU": ("Ngoại ngữ 1", "Ngoại ngữ", "Tiếng Anh", "NN1"),
    "TIENGDT": ("Tiếng dân tộc thiểu số", "Tiếng dân tộc"),
    "TINHOC": ("Tin học",),
    "CONGNGHE": ("Công nghệ",),
    "LSDL": ("Lịch sử và Địa lí", "Lịch sử và Địa lý", "Lịch sử & Địa lí", "Lịch sử & Địa lý",
             "Lịch sử - Địa lí", "Lịch sử - Địa lý", "LS&ĐL", "LS-ĐL"),
    "KHOAHOC": ("Khoa học",),
    "AMNHAC": ("Âm nhạc",),
    "MITHUAT": ("Mĩ thuật", "Mỹ thuật", "MT"),
    "HDTN": ("Hoạt động trải nghiệm", "HĐTN", "HĐ trải nghiệm"),
    "GDTC": ("Giáo dục thể chất", "GDTC", "Thể dục"),
    "NLC_TUCHU": ("Tự chủ và tự học", "Tự chủ, tự học"),
    "NLC_GIAOTIEP": ("Giao tiếp và hợp tác", "Giao tiếp, hợp tác"),
    "NLC_GQVD": ("Giải quyết vấn đề và sáng tạo", "GQVĐ và sáng tạo", "GQVĐ và ST",
                 "Giải quyết vấn đề, sáng tạo"),
    "NLD_NGONNGU": ("Ngôn ngữ",),
    "NLD_TINHTOAN": ("Tính toán",),
    "NLD_KHOAHOC": ("Khoa học",),
    "NLD_CONGNGHE": ("Công nghệ",),
    "NLD_TINHOC": ("Tin học",),
    "NLD_THAMMI": ("Thẩm mĩ", "Thẩm mỹ"),
    "NLD_THECHAT": ("Thể chất",),
    "PC_YEUNUOC": ("Yêu nước",),
    "PC_NHANAI": ("Nhân ái",),
    "PC_CHAMCHI": ("Chăm chỉ",),
    "PC_TRUNGTHUC": ("Trung thực",),
    "PC_TRACHNHIEM": ("Trách nhiệm",),
}
# Header texts above item names that name a sub-group, not an item (class summary row 2).
_SUBGROUP_KEYS = {fold(t) for t in ("Nghệ thuật", "Tin học và Công nghệ", "TH-CN",
                                    "Năng lực chung", "Năng lực đặc thù")}


def _alias_map(codes: dict[str, object]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, catalogue in codes.items():
        for text in (catalogue.name_vi, *ITEM_ALIASES.get(code, ())):
            out.setdefault(fold(text), code)
    return out


_SUBJECT_BY_NAME = _alias_map(rules.SUBJECT_BY_CODE)
_TRAIT_BY_NAME = _alias_map(rules.TRAIT_BY_CODE)
# fold key → catalogue name, for "did you mean" in a refusal
_DISPLAY_BY_KEY = {key: rules.SUBJECT_BY_CODE[code].name_vi
                   for key, code in _SUBJECT_BY_NAME.items()} | {
    key: rules.TRAIT_BY_CODE[code].name_vi for key, code in _TRAIT_BY_NAME.items()
    if key not in _SUBJECT_BY_NAME}


@lru_cache(maxsize=1 << 14, typed=True)
def _item_keys(value: object) -> tuple[str, ...]:
    """Keys an item header may match: whole, in parentheses, after a colon, before a '('."""
    if not isinstance(value, str):
        return ()
    text = _text(value)
    parts = [text]
    inner = re.search(r"\(([^()]*)\)", text)
    if inner:
        parts.append(inner.group(1))
    if ":" in text:
        parts.append(text.split(":", 1)[1])
    parts.append(text.split("(")[0])
    keys = [fold(p) for p in parts]
    return tuple(k for i, k in enumerate(keys) if k and k not in keys[:i])

_SUBJECT_LEVELS = {"t": "T", "h": "H", "c": "C",
                   "hoanthanhtot": "T", "hoanthanh": "H", "chuahoanthanh": "C"}
_TRAIT_LEVELS = {"t": "T", "d": "Đ", "c": "C", "ccg": "C",
                 "tot": "T", "dat": "Đ", "cancogang": "C"}
_CLASSIFICATIONS = {"htxs": "HTXS", "htt": "HTT", "ht": "HT", "cht": "CHT",
                    "hoanthanhxuatsac": "HTXS", "hoanthanhtot": "HTT", "hoanthanh": "HT",
                    "chuahoanthanh": "CHT"}
_FLAG_TRUE = {"x", "co", "1", "true"}
_FLAG_FALSE = {"0", "khong", "false"}
_LEFT_STATUSES = {"chuyendi", "thoihoc", "dachuyendi", "bohoc"}
_GENDERS = {"nam": "Nam", "nu": "Nữ"}
_HOMEROOM_KEYS = {fold(HOMEROOM_SUBJECT), "gvcn", "giaovienchunhiem"}
_RANK_CODE = re.compile(r"V\.?\s*\d{2}\.\d{2}\.\d{2}")
_PERSONAL_ID = re.compile(r"\d{12}")  # a citizen's ID (CCCD); sector codes are shorter
MAX_CODE_CHARS = 20  # the sector's student and staff codes are 10 characters or so


# --- problems -------------------------------------------------------------------------------
_SHOWN_CHARS = 200  # of a bad value, in its message and in invalid_value
# Problems listed per file: a school's worst real file has a few hundred; past this, one error
# says so and reading stops (thousands of bad cells mean a file that is not what it claims).
MAX_PROBLEMS = 10_000


class _Report:
    """The problems and invalid cells of one file."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.invalid: list[dict] = []
        self.flooded = False  # MAX_PROBLEMS reached: the file is refused, reading stops

    def add(self, severity: str, code: str, sheet: Sheet | None = None, row0: int | None = None,
            column: int | str | None = None, **params: object) -> bool:
        """Record a problem; False once the file has too many to list (one error says so)."""
        if self.flooded:
            return False
        if len(self.problems) >= MAX_PROBLEMS:
            self.flooded = True
            code, severity, column, params = "too_many_problems", ERROR, None, {
                "limit": sheet_worker.count(MAX_PROBLEMS)}
        self.problems.append(Problem(
            self.file, code, severity,
            sheet=(sheet.name or None) if sheet is not None else None,
            row=None if row0 is None else row0 + 1,
            column=column_letter(column) if isinstance(column, int) else column,
            params=params))
        return not self.flooded

    def error(self, code: str, sheet: Sheet | None = None, row0: int | None = None,
              column: int | str | None = None, **params: object) -> None:
        self.add(ERROR, code, sheet, row0, column, **params)

    def warn(self, code: str, sheet: Sheet | None = None, row0: int | None = None,
             column: int | str | None = None, **params: object) -> None:
        self.add(WARNING, code, sheet, row0, column, **params)

    def bad_cell(self, code: str, sheet: Sheet, row0: int, col: int, raw: object, *,
                 item_code: str, student_id: str | None = None, period: str | None = None,
                 **params: object) -> None:
        """A cell that cannot be stored: warned, kept in invalid_value, stored as NULL."""
        value = _text(raw)
        if len(value) > _SHOWN_CHARS:  # a 32,767-character cell is named, not repeated
            value = value[:_SHOWN_CHARS] + "…"
        if self.add(WARNING, code, sheet, row0, col, value=value, **params):
            self.invalid.append({
                "source_file": self.file, "sheet": sheet.name or None, "row": row0 + 1,
                "column": column_letter(col), "raw_value": value, "reason": code,
                "student_id": student_id, "period": period, "item_code": item_code})

    def missing_columns(self, kind: str, fields: _Fields, found: dict[str, int],
                        sheet: Sheet, row0: int) -> bool:
        """Error for each required column not found; True when all are there."""
        missing = [f for f in _REQUIRED[kind] if f not in found]
        for name in missing:
            self.error("column_missing", sheet, row0, fields.labels[name],
                       header=fields.labels[name])
        return not missing


# --- recognising the kind of file -----------------------------------------------------------
@dataclass(frozen=True)
class _Header:
    layout: str  # "results" or a key of _LAYOUTS
    sheet: Sheet
    row: int  # 0-based
    matches: int


def _find_headers(sheets: list[Sheet]) -> list[_Header]:
    """The best header row of every sheet that has one. The text cells looked at are counted:
    a file of thousands of wide sheets full of text is not scanned beyond HEADER_SCAN_CELLS
    (a school's files need a few thousand)."""
    found = []
    budget = [HEADER_SCAN_CELLS]
    for sheet in sheets:
        best: _Header | None = None
        for row0 in range(min(len(sheet.rows), HEADER_SCAN_ROWS)):
            if budget[0] <= 0:
                break
            for candidate in _row_layouts(sheet, row0, budget):
                if best is None or candidate.matches > best.matches:
                    best = candidate
        if best is not None:
            found.append(best)
    return found


def _row_layouts(sheet: Sheet, row0: int, budget: list[int]) -> list[_Header]:
    row = sheet.rows[row0]
    out = []
    texts = [(col, v) for col, v in enumerate(row) if isinstance(v, str) and v]
    if len(texts) < 2:
        return out  # a title or a data row of numbers: no header has fewer than two texts
    budget[0] -= len(texts)
    found = _row_fields(texts)
    identity = found["results"]
    if "student_id" in identity or "full_name" in identity:
        below = sheet.rows[row0 + 1] if row0 + 1 < len(sheet.rows) else []
        budget[0] -= len(below)
        names_below = sum(1 for v in below if _item_names(v))
        if names_below >= 3:  # a results header: subject / trait names on the next row
            out.append(_Header("results", sheet, row0, 100 + names_below))
    for layout, (_, needed) in _LAYOUTS.items():
        matches = len(found[layout])
        if matches >= needed:
            out.append(_Header(layout, sheet, row0, matches))
    return out


def _row_fields(texts: list[tuple[int, str]]) -> dict[str, dict[str, int]]:
    """Layout → field → first column, as each layout's `locate` finds them, in one pass over
    a row's (column, text) cells: each cell's keys are found once for every layout."""
    found: dict[str, dict[str, int]] = {layout: {} for layout in _SCAN_FIELDS}
    for col, value in texts:
        cell: dict[str, str] = {}
        for key in _header_keys(value):
            for layout, name in _KEY_FIELDS.get(key, {}).items():
                cell.setdefault(layout, name)
        if cell and not _personal(value):
            for layout, name in cell.items():
                found[layout].setdefault(name, col)
    return found


def _item_names(value: object) -> bool:
    return any(k in _SUBJECT_BY_NAME or k in _TRAIT_BY_NAME for k in _item_keys(value))


# --- titles: period, grade, school year, school name ----------------------------------------
_PERIOD_PHRASES = (
    (re.compile(r"\bgiua\s*(?:(?:hoc\s*)?k[iy]|hk)\s*(?:ii|2)\b"), "GK2"),
    (re.compile(r"\bgiua\s*(?:(?:hoc\s*)?k[iy]|hk)\s*(?:i|1)\b"), "GK1"),
    (re.compile(r"\bcuoi\s*(?:(?:hoc\s*)?k[iy]|hk)\s*(?:ii|2)\b"), "CN"),
    (re.compile(r"\bcuoi\s*(?:(?:hoc\s*)?k[iy]|hk)\s*(?:i|1)\b"), "CK1"),
    (re.compile(r"\bcuoi\s*nam\b"), "CN"),
)
_PERIOD_TOKENS = {
    **dict.fromkeys(("gk1", "ghk1", "gki", "ghki"), "GK1"),
    **dict.fromkeys(("ck1", "chk1", "cki", "chki"), "CK1"),
    **dict.fromkeys(("gk2", "ghk2", "gkii", "ghkii"), "GK2"),
    **dict.fromkeys(("cn", "cuoinam", "ck2", "chk2", "ckii", "chkii"), "CN"),
}
_GRADE = re.compile(r"khoi[\s:_]*(?:lop\s*)?([1-5])(?:\s*(?:,|-|–|va|&|\+)?\s*([1-5]))?(?![0-9])")
_SCHOOL_YEAR = re.compile(r"(20\d\d)\s*[-–/]\s*(20\d\d)")


@dataclass(frozen=True)
class _Stated:
    value: object
    row0: int | None = None  # where the file says it (None: in the file or sheet name)
    col: int | None = None


def _title_cells(sheet: Sheet, header_row: int) -> list[tuple[int, int, str]]:
    """The first filled cells of each row above the header (titles are a few cells a row)."""
    out = []
    for r in range(header_row):
        filled = [(c, v) for c, v in enumerate(sheet.rows[r]) if not _blank(v)]
        out += [(r, c, _text(v)) for c, v in filled[:TITLE_CELLS_PER_ROW]]
    return out


def _period_in(text: str) -> str | None:
    plain = _plain(text)
    for pattern, period in _PERIOD_PHRASES:
        if pattern.search(plain):
            return period
    for token in re.split(r"[^a-z0-9]+", plain):
        if token in _PERIOD_TOKENS:
            return _PERIOD_TOKENS[token]
    return None


def _stated(titles: list[tuple[int, int, str]], names: tuple[str, ...],
            find: Callable[[str], object]) -> _Stated | None:
    """The first value `find` sees in the title cells, then in the sheet and file names."""
    for row0, col, text in titles:
        value = find(text)
        if value is not None:
            return _Stated(value, row0, col)
    for text in names:
        value = find(text)
        if value is not None:
            return _Stated(value)
    return None


def _grades_in(text: str) -> tuple[int, ...] | None:
    match = _GRADE.search(_plain(text))
    if not match:
        return None
    return tuple(int(g) for g in match.groups() if g)


def _school_year_in(titles: list[tuple[int, int, str]]) -> str | None:
    for _, _, text in titles:
        match = _SCHOOL_YEAR.search(text)
        if match and int(match.group(2)) == int(match.group(1)) + 1:
            return f"{match.group(1)}-{match.group(2)}"
    return None


def _school_name_in(titles: list[tuple[int, int, str]]) -> str | None:
    for _, _, text in titles:
        plain = _plain(text)
        if re.match(r"(ten\s*)?truong\s*:", plain):  # "Tên trường: TH Kim Đồng"
            return text.split(":", 1)[1].strip() or None
        if plain.startswith("truong"):
            return text
    return None


# --- results (KQHT template and TT27 class summary) ------------------------------------------
MAX_HEADER_ROWS = 4  # the template has three header rows, the class summary four
# Header texts of columns that are known not to hold values: skipped by rule, listed in the preview.
_NOT_VALUES = ("stt", "tt", "sott", "ghichu", "nhanxet", "noidungnhanxet", "kyten")
# Row-1 texts of the year-end groups whose sub-columns are ticks (the class summary).
_CLASSIFICATION_GROUPS = {"danhgiakqgd", "danhgiaketquagiaoduc", "ketquagiaoduc",
                          "danhgiakqgdcuoinam", "xeploai"}
_NOT_PROMOTED = {"chualenlop", "olaylop", "luuban"}
# Wingdings' check mark (U+F0FC; 'ü' when the symbol font is lost), other check marks and 'x'.
_TICKS = {"\uf0fc", "\u00fc", "\u2713", "\u2714", "\u221a", "x", "X"}
# Where the students end: the signature block or the date line above it.
_SIGNATURE = re.compile(r"giao vien chu nhiem|hieu truong|ky\s*,?\s*ghi ro|nguoi lap|"
                        r"ngay\s*[.…\d]*\s*thang")
_CLASS_TITLE = re.compile(r"^\s*lop\s*:?\s*(.+)$")


@dataclass(frozen=True)
class _ItemColumn:
    col: int
    item_type: str  # "subject" | "trait"
    code: str
    measure: str  # "level" | "score"


@dataclass
class _ResultColumns:
    """What each column of a results sheet holds, found from its header texts."""

    identity: dict[str, int] = field(default_factory=dict)  # field → column
    items: list[_ItemColumn] = field(default_factory=list)
    # Tick columns of the class summary: ("classification", "HTXS"), ("award", "Cuối năm"),
    # ("not_promoted", "").
    ticks: dict[int, tuple[str, str]] = field(default_factory=dict)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # column, header, reason


def _tick(value: object) -> bool | None:
    """True for a tick mark, False for a blank cell, None for anything else."""
    if _blank(value):
        return False
    text = str(value).strip()
    return True if text in _TICKS or fold(text) in ("x", "nu") else None


def _header_depth(sheet: Sheet, row0: int, identity: dict[str, int]) -> int:
    """How many header rows: as far as the identity cells are merged down, else until the
    first row where the code or name column holds a value of its own."""
    cols = [identity[f] for f in ("student_id", "full_name") if f in identity]
    for r0, c0, r1, c1 in sheet.merged:
        if r0 == row0 and r1 > row0 and any(c0 <= c <= c1 for c in cols):
            return min(r1 - row0 + 1, MAX_HEADER_ROWS)
    for depth in range(1, MAX_HEADER_ROWS + 1):
        r = row0 + depth
        if r >= len(sheet.rows) or any(not _blank(sheet.cell(r, c)) for c in cols):
            return max(depth, 2)
    return 3


def _header_grid(sheet: Sheet, row0: int, depth: int) -> list[list[object]]:
    """The header rows with merged cells filled from their first cell."""
    last = row0 + depth - 1
    merges = [m for m in sheet.merged if m[0] <= last and m[2] >= row0]
    width = max([sheet.width] + [c1 + 1 for _, _, _, c1 in merges])
    grid = [[sheet.cell(row0 + i, c) for c in range(width)] for i in range(depth)]
    # A later merge wins where merges overlap (only a damaged file's do): filled from the last
    # one, each cell once, so overlapping merges cost no more than the grid itself.
    free = [list(range(width + 1)) for _ in range(depth)]  # per row: the next unfilled column
    for r0, c0, r1, c1 in reversed(merges):
        value = sheet.cell(r0, c0)
        for r in range(max(r0, row0), min(r1, last) + 1):
            line, unfilled = grid[r - row0], free[r - row0]
            c = _next_unfilled(unfilled, c0)
            while c <= c1:
                line[c] = value
                unfilled[c] = c + 1
                c = _next_unfilled(unfilled, c + 1)
    # Files without merge information (CSV, unmerged copies): a score column takes the name
    # of the column on its left, a column under a group takes the group.
    group: object = ""
    for c in range(width):
        for i in range(1, depth - 1):
            if c and _blank(grid[i][c]) and any("diem" in fold(grid[j][c])
                                                for j in range(i + 1, depth)):
                grid[i][c] = grid[i][c - 1]
        if not _blank(grid[0][c]):
            group = grid[0][c] if _group_of(grid[0][c]) else ""
        elif any(not _blank(grid[i][c]) for i in range(1, depth)):
            grid[0][c] = group
    return grid


def _next_unfilled(unfilled: list[int], col: int) -> int:
    """The first unfilled column from `col` (a disjoint-set walk, with path compression)."""
    root = col
    while unfilled[root] != root:
        root = unfilled[root]
    while unfilled[col] != root:
        unfilled[col], col = root, unfilled[col]
    return root


def _group_of(value: object) -> str | None:
    """The row-1 group a header cell names: 'subject', 'trait' or None."""
    key = fold(value)
    if "nangluc" in key or "phamchat" in key:
        return "trait"
    if "monhoc" in key or "hoatdong" in key:
        return "subject"
    return None


def _is_label(value: object) -> bool:
    """Header texts above or below an item name that name no item: measures, sub-groups."""
    key = fold(value)
    return (key.startswith("muc") or "diem" in key or _group_of(value) is not None
            or key in _SUBGROUP_KEYS)


def _not_values(value: object) -> bool:
    key = fold(value)
    return key in _NOT_VALUES or key.startswith("nhanxet")


def _map_item(value: object, group: str | None, measure: str,
              subject_levels: set[str]) -> tuple[str, str] | None:
    """(item_type, code) named by a header text in its group.

    Khoa học, Công nghệ and Tin học are both subjects and specific competencies: the group
    decides; without a group a score or the first level column is the subject's.
    """
    for key in _item_keys(value):
        subject, trait = _SUBJECT_BY_NAME.get(key), _TRAIT_BY_NAME.get(key)
        if group == "subject" and subject:
            return "subject", subject
        if group == "trait" and trait:
            return "trait", trait
        if group is None and (subject or trait):
            if subject and (not trait or measure == "score" or subject not in subject_levels):
                return "subject", subject
            return "trait", trait
    return None


def _nearest_names(text: str) -> str:
    """The catalogue names closest to an unknown header, for the refusal message."""
    found = difflib.get_close_matches(fold(text), list(_DISPLAY_BY_KEY), n=3, cutoff=0.5)
    return ", ".join(dict.fromkeys(_DISPLAY_BY_KEY[k] for k in found)) or "–"


def _filled_columns(sheet: Sheet, start: int) -> set[int]:
    """Columns holding a value from row `start` on (one pass, however many columns ask)."""
    return {c for row in sheet.rows[start:] for c, value in enumerate(row) if not _blank(value)}


def _result_columns(sheet: Sheet, row0: int, depth: int, report: _Report) -> _ResultColumns:
    grid = _header_grid(sheet, row0, depth)
    out = _ResultColumns()
    seen: set[tuple[str, str, str]] = set()
    subject_levels: set[str] = set()
    filled: set[int] | None = None
    for col in range(len(grid[0])):
        # The column's header texts from the top, each once, with the row it stands on.
        path: list[tuple[int, object]] = []
        for i in range(depth):
            value = grid[i][col]
            if not _blank(value) and (not path or _text(path[-1][1]) != _text(value)):
                path.append((i, value))
        if not path:
            continue
        top = path[0][1]
        below = path[1:]
        group = _group_of(top)
        top_key = fold(top)
        header = " / ".join(_text(v) for _, v in path)
        if any(_personal(v) for _, v in path):  # e.g. "Họ tên (cha)" beside "Họ tên"
            out.skipped.append((col, header, "personal_data"))
            continue
        if top_key in _CLASSIFICATION_GROUPS and below:
            code = _CLASSIFICATIONS.get(fold(below[-1][1]))
            if code is None:
                report.error("column_unmapped", sheet, row0 + below[-1][0], col,
                             header=header, nearest=", ".join(rules.CLASSIFICATIONS))
            else:
                out.ticks[col] = ("classification", code)
            continue
        field_name = _RESULT_FIELDS.field_of(top) or next(
            (f for f in (_RESULT_FIELDS.field_of(v) for _, v in below) if f),
            None) if group is None else _RESULT_FIELDS.field_of(top)
        if field_name == "award" and below:
            out.ticks[col] = ("award", _text(below[-1][1]))
            continue
        if top_key in _NOT_PROMOTED:
            out.ticks[col] = ("not_promoted", "")
            continue
        if field_name is not None:
            out.identity.setdefault(field_name, col)
            continue
        if any(_not_values(v) for _, v in path):
            out.skipped.append((col, header, "not_values"))
            continue
        if group is None:
            out.skipped.append((col, header, "not_used"))
            continue
        measure = "score" if any("diem" in fold(v) for _, v in below) else "level"
        item, unknown = None, None
        for offset, value in reversed(path):
            item = _map_item(value, group, measure, subject_levels)
            if item is not None:
                break
            if unknown is None and not _is_label(value):
                unknown = (offset, value)
        if item is None:
            if unknown is None and filled is None:
                filled = _filled_columns(sheet, row0 + depth)
            if unknown is not None or col in filled:
                offset, value = unknown or path[-1]
                report.error("column_unmapped", sheet, row0 + offset, col, header=header,
                             nearest=_nearest_names(_text(value)))
            continue
        if item[0] == "subject" and measure == "level":
            subject_levels.add(item[1])
        if (*item, measure) in seen:
            report.error("column_duplicate", sheet, row0 + path[-1][0], col, header=header)
            continue
        seen.add((*item, measure))
        out.items.append(_ItemColumn(col, item[0], item[1], measure))
    return out


def _grade_from_subjects(items: list[_ItemColumn]) -> tuple[int, ...]:
    """Grades whose template has these subjects: decisive subjects only (DOMAIN.md §2)."""
    subjects = {i.code for i in items if i.item_type == "subject"}
    if subjects & {"LSDL", "KHOAHOC"}:
        return (4, 5)
    if "CONGNGHE" in subjects:
        return (3,)
    if "TNXH" in subjects:
        return (1, 2)
    return rules.GRADES


def _class_of_sheet(sheet: Sheet, titles: list[tuple[int, int, str]]) -> str | None:
    """The class a class-summary sheet is for: "Lớp: 1A" in its titles, else its name."""
    for _, _, text in titles:
        match = _CLASS_TITLE.match(_plain(text))
        if match:
            name = text.split(":", 1)[1] if ":" in text else text.strip()[3:]
            if name.strip():
                return name.strip()
    return sheet.name.strip().upper() if _grade_of_class(sheet.name) else None


def _signature_row(row: list[object]) -> bool:
    """A row of the signature block: its first few texts, each short, say so."""
    texts = [v for v in row if isinstance(v, str) and v][:TITLE_CELLS_PER_ROW]
    return any(len(v) <= 200 and _SIGNATURE.search(_plain(v)) for v in texts)


@dataclass
class _SheetResults:
    """One sheet's part of a results file."""

    period: _Stated | None
    grade: int | None
    grades: tuple[int, ...]
    class_name: str | None
    roster: list[dict] = field(default_factory=list)
    subject_rows: dict[tuple[str, str], dict] = field(default_factory=dict)
    trait_rows: list[dict] = field(default_factory=list)
    year_rows: list[dict] = field(default_factory=list)
    values: int = 0


def _read_results_sheet(header: _Header, display_name: str, period_hint: str | None,
                        report: _Report, parsed: ParsedFile,
                        first_seen: dict[str, tuple[int, str]]) -> _SheetResults | None:
    sheet, row0 = header.sheet, header.row
    identity_row = _RESULT_FIELDS.locate(sheet.rows[row0])
    depth = _header_depth(sheet, row0, identity_row)
    columns = _result_columns(sheet, row0, depth, report)
    identity, items = columns.identity, columns.items
    for col, text, reason in columns.skipped:
        parsed.skipped.append({"sheet": sheet.name or None, "column": column_letter(col),
                               "header": text, "reason": reason})
    if not report.missing_columns("results", _RESULT_FIELDS, identity, sheet, row0):
        return None
    titles = _title_cells(sheet, row0)
    names = (sheet.name, Path(display_name).stem)
    stated_period = _stated(titles, names, _period_in)
    period = stated_period.value if stated_period else period_hint
    class_name = None if "class_id" in identity else _class_of_sheet(sheet, titles)
    stated_grades = _stated(titles, names, _grades_in)
    class_grade = _grade_of_class(class_name) if class_name else None
    grades = (stated_grades.value if stated_grades else (class_grade,) if class_grade
              else _grade_from_subjects(items))
    grade = grades[0] if len(grades) == 1 else None
    out = _SheetResults(stated_period, grade, grades, class_name)

    code_col, name_col = identity["student_id"], identity["full_name"]
    if _personal_ids(report, sheet, row0, row0 + depth, code_col):
        return None
    class_col = identity.get("class_id")
    classless: list[tuple[int, str, str]] = []
    year_cols = {f: identity[f] for f in ("completed", "promoted", "classification", "award")
                 if f in identity}
    for r in range(row0 + depth, len(sheet.rows)):
        if report.flooded:
            break
        row = sheet.rows[r]
        if not _nonblank(row) or _is_total_row(row):
            continue
        student_id, name = _text(sheet.cell(r, code_col)), _text(sheet.cell(r, name_col))
        if not student_id and _signature_row(row):
            break  # the signature block: teachers' names are not students
        if not student_id:
            if name:
                report.warn("student_code_missing", sheet, r, code_col, name=name)
            continue
        if _code_too_long(report, sheet, r, code_col, "student_id", period):
            continue
        if not _first_occurrence(report, "duplicate_student", sheet, r, code_col, student_id,
                                 name, first_seen):
            continue
        if class_col is not None and _blank(sheet.cell(r, class_col)):
            classless.append((r, student_id, name))
        female = _tick(sheet.cell(r, identity["female"])) if "female" in identity else None
        out.roster.append({
            "class_id": _optional_text(sheet, r, identity.get("class_id")) or class_name,
            "class_name": class_name,
            "student_id": student_id, "full_name": name or None,
            "birth_date": _date_cell(report, sheet, r, identity.get("birth_date"), student_id),
            "gender": None if female is None else "Nữ" if female else "Nam",
            "grade": grade})
        for item in items:
            raw = sheet.cell(r, item.col)
            if _blank(raw):
                continue
            if item.measure == "score":
                value = _score_cell(report, sheet, r, item.col, raw, student_id, period, item.code)
            else:
                value = _level_cell(report, sheet, r, item.col, raw, student_id, period, item)
            if value is None:
                continue
            out.values += 1
            if item.item_type == "trait":
                out.trait_rows.append({"student_id": student_id, "period": period,
                                       "trait_code": item.code, "level": value})
            else:
                entry = out.subject_rows.setdefault((student_id, item.code), {
                    "student_id": student_id, "period": period, "subject_code": item.code,
                    "level": None, "score": None})
                entry[item.measure] = value
        if period == "CN":
            year = (_year_ticks(report, sheet, r, columns.ticks, student_id) if columns.ticks
                    else _year_result(report, sheet, r, year_cols, student_id)
                    if any(not _blank(sheet.cell(r, c)) for c in year_cols.values()) else None)
            if year is not None:
                out.year_rows.append(year)
                out.values += sum(year[f] is not None for f in ("classification", "award"))
    _classless(report, sheet, class_col, classless, len(out.roster))
    return out


def _read_results(headers: list[_Header], display_name: str, period_hint: str | None,
                  report: _Report, parsed: ParsedFile) -> None:
    """Every sheet with a results header: the template's one sheet, or one per class."""
    first_seen: dict[str, tuple[int, str]] = {}
    sheets = []
    for header in headers:
        part = _read_results_sheet(header, display_name, period_hint, report, parsed,
                                   first_seen)
        if part is not None:
            sheets.append((header.sheet, part))
    if not sheets:
        return
    stated = [(s, p.period) for s, p in sheets if p.period is not None]
    periods = {p.value for _, p in stated}
    if len(periods) > 1:
        (first_sheet, first), (other_sheet, other) = next(
            ((a, b) for a, b in zip(stated, stated[1:]) if a[1].value != b[1].value))
        report.error("period_conflict_sheets", other_sheet if other.row0 is not None else None,
                     other.row0, other.col, stated=other.value, first=first.value,
                     first_sheet=first_sheet.name)
    for sheet, stated_period in stated[:1]:
        if period_hint and stated_period.value != period_hint:
            report.error("period_conflict", sheet if stated_period.row0 is not None else None,
                         stated_period.row0, stated_period.col,
                         stated=stated_period.value, hint=period_hint)
    period = stated[0][1].value if stated else period_hint
    if period is None:
        report.error("period_unknown", sheets[0][0])
    for _, part in sheets:  # a sheet silent about its period takes the file's
        for row in part.trait_rows + list(part.subject_rows.values()):
            row["period"] = period
    grades = {p.grades for _, p in sheets}
    all_grades = tuple(sorted({g for gs in grades for g in gs}))
    grade = all_grades[0] if len(all_grades) == 1 else None
    if grade is None and all_grades != (1, 2) and not any(p.class_name for _, p in sheets):
        report.warn("grade_not_stated", sheets[0][0])
    parsed.layout = "template" if any(p.class_name is None for _, p in sheets) \
        else "class_summary"

    roster = [row for _, p in sheets for row in p.roster]
    subject_rows = [row for _, p in sheets for row in p.subject_rows.values()]
    trait_rows = [row for _, p in sheets for row in p.trait_rows]
    parsed.grade, parsed.period, parsed.rows = grade, period, len(roster)
    parsed.tables = {
        "roster": _frame(roster, ("class_id", "class_name", "student_id", "full_name",
                                  "birth_date", "gender", "grade"), {"grade": "Int64"}),
        "subject_result": _frame(subject_rows,
                                 ("student_id", "period", "subject_code", "level", "score"),
                                 {"score": "Int64"}),
        "trait_result": _frame(trait_rows, ("student_id", "period", "trait_code", "level")),
    }
    if period == "CN":
        parsed.tables["year_result"] = _frame(
            [row for _, p in sheets for row in p.year_rows],
            ("student_id", "completed", "promoted", "classification", "award"),
            {"completed": "boolean", "promoted": "boolean"})
    parsed.sheets = [{
        "sheet": sheet.name or None, "class": part.class_name,
        "classes": len({r["class_id"] for r in part.roster if r["class_id"]}),
        "grade": part.grade, "students": len(part.roster), "values": part.values}
        for sheet, part in sheets]
    parsed.summary = {
        "students": len(roster),
        "classes": len({r["class_id"] for r in roster if r["class_id"]}),
        "entries": len(subject_rows) + len(trait_rows),
        "values": sum(p.values for _, p in sheets),
        "grade": grade if grade is not None else
        "–".join(map(str, all_grades)) if len(all_grades) == 2 else None,
        "period": period,
        "invalid": len(report.invalid),
    }


def _first_occurrence(report: _Report, code: str, sheet: Sheet, r: int, col: int, key: str,
                      name: str, first_seen: dict[str, tuple[int, str]]) -> bool:
    """True for the first row of a code; a repeat with another name is a structural error."""
    if key not in first_seen:
        first_seen[key] = (r, name)
        return True
    first_row, first_name = first_seen[key]
    if fold(first_name) != fold(name):
        report.error(code, sheet, r, col, id=key, first_row=first_row + 1,
                     first_name=first_name, name=name)
    else:
        report.warn("duplicate_row", sheet, r, col, id=key, first_row=first_row + 1)
    return False


def _personal_ids(report: _Report, sheet: Sheet, row0: int, start: int, col: int) -> bool:
    """A code column holding 12-digit numbers holds personal ID numbers (CCCD), not the
    sector's codes: a structural error naming the column; True when found."""
    rows = [r for r in range(start, len(sheet.rows))
            if _PERSONAL_ID.fullmatch(_text(sheet.cell(r, col)))]
    if rows:
        report.error("code_personal_id", sheet, rows[0], col,
                     header=_text(sheet.cell(row0, col)), count=len(rows))
    return bool(rows)


def _code_too_long(report: _Report, sheet: Sheet, r: int, col: int, item_code: str,
                   period: str | None = None) -> bool:
    """A code of more than MAX_CODE_CHARS characters is a bad value: its row is skipped."""
    raw = sheet.cell(r, col)
    if len(_text(raw)) <= MAX_CODE_CHARS:
        return False
    report.bad_cell("code_too_long", sheet, r, col, raw, item_code=item_code, period=period,
                    limit=MAX_CODE_CHARS)
    return True


def _classless(report: _Report, sheet: Sheet, col: int | None,
               rows: list[tuple[int, str, str]], read: int) -> None:
    """Rows without a class code in a file whose other rows have one: each an error naming
    its cell (the class would otherwise be missing only when the snapshot is written)."""
    if col is None or not rows or len(rows) >= read:
        return  # no class codes in the file at all: like a file without the column
    for r, student_id, name in rows:
        report.error("class_code_missing", sheet, r, col, id=student_id, name=name)


def _level_cell(report: _Report, sheet: Sheet, r: int, col: int, raw: object,
                student_id: str, period: str | None, item: _ItemColumn) -> str | None:
    table = _TRAIT_LEVELS if item.item_type == "trait" else _SUBJECT_LEVELS
    level = table.get(fold(raw))
    if level is None:
        report.bad_cell("level_unknown", sheet, r, col, raw, item_code=item.code,
                        student_id=student_id, period=period)
    return level


def _score_cell(report: _Report, sheet: Sheet, r: int, col: int, raw: object,
                student_id: str, period: str | None, code: str) -> int | None:
    number = _number(raw)
    reason = ("score_not_number" if number is None
              else "score_not_integer" if not number.is_integer()
              else "score_out_of_range" if not 0 <= number <= rules.SCORE_MAX
              else None)
    if reason:
        report.bad_cell(reason, sheet, r, col, raw, item_code=code,
                        student_id=student_id, period=period)
        return None
    if number == 0:  # the sector upload refuses 0 but TT27 does not clearly: keep and flag
        report.warn("score_zero", sheet, r, col, value="0")
    return int(number)


def _year_result(report: _Report, sheet: Sheet, r: int, cols: dict[str, int],
                 student_id: str) -> dict:
    out: dict[str, object] = {"student_id": student_id}
    for flag in ("completed", "promoted"):
        raw = sheet.cell(r, cols[flag]) if flag in cols else ""
        key = fold(raw)
        out[flag] = True if key in _FLAG_TRUE else False if _blank(raw) or key in _FLAG_FALSE \
            else None
        if out[flag] is None:
            report.bad_cell("flag_unknown", sheet, r, cols[flag], raw, item_code=flag,
                            student_id=student_id, period="CN")
    raw = sheet.cell(r, cols["classification"]) if "classification" in cols else ""
    out["classification"] = _CLASSIFICATIONS.get(fold(raw))
    if out["classification"] is None and not _blank(raw):
        report.bad_cell("classification_unknown", sheet, r, cols["classification"], raw,
                        item_code="classification", student_id=student_id, period="CN")
    out["award"] = _optional_text(sheet, r, cols.get("award"))
    return out


def _award_text(classification: str | None, ticked: list[str]) -> str | None:
    """The award a class summary's "Khen thưởng" ticks stand for (TT27 Điều 15): the year-end
    title follows the classification; an extraordinary award is named as such."""
    names = []
    for label in ticked:
        if fold(label) == "dotxuat":
            names.append(rules.AWARD_SPECIAL)
        else:
            names.append(rules.AWARD_EXCELLENT if classification == "HTXS"
                         else rules.AWARD_EXEMPLARY)
    return "; ".join(dict.fromkeys(names)) or None


def _year_ticks(report: _Report, sheet: Sheet, r: int, ticks: dict[int, tuple[str, str]],
                student_id: str) -> dict | None:
    """Year-end results from the class summary's tick columns; None when nothing is ticked.
    HTXS, HTT and HT complete the grade; "Chưa lên lớp" ticked means not promoted."""
    classifications, awards, held_back, marked = [], [], False, False
    for col, (kind, label) in ticks.items():
        raw = sheet.cell(r, col)
        mark = _tick(raw)
        if mark is None:
            report.bad_cell("flag_unknown", sheet, r, col, raw, item_code=kind,
                            student_id=student_id, period="CN")
        if not mark:
            continue
        marked = True
        if kind == "classification":
            classifications.append((col, label))
        elif kind == "award":
            awards.append(label)
        else:
            held_back = True
    if not marked:
        return None
    classification = classifications[0][1] if len(classifications) == 1 else None
    if len(classifications) > 1:  # two ticks: which one holds cannot be known
        col = classifications[1][0]
        report.bad_cell("classification_twice", sheet, r, col, sheet.cell(r, col),
                        item_code="classification", student_id=student_id, period="CN",
                        first=classifications[0][1], second=classifications[1][1])
    return {"student_id": student_id,
            "completed": None if classification is None else classification != "CHT",
            "promoted": not held_back,
            "classification": classification,
            "award": _award_text(classification, awards)}


def _optional_text(sheet: Sheet, r: int, col: int | None) -> str | None:
    return (_text(sheet.cell(r, col)) or None) if col is not None else None


def _date_cell(report: _Report, sheet: Sheet, r: int, col: int | None,
               owner_id: str | None) -> date | None:
    if col is None or _blank(sheet.cell(r, col)):
        return None
    raw = sheet.cell(r, col)
    value = _date(raw)
    if value is None:
        report.bad_cell("date_invalid", sheet, r, col, raw, item_code="birth_date",
                        student_id=owner_id)
    return value


# --- student list (C1-HocSinh) ----------------------------------------------------------------
def _grade_of_class(name: str) -> int | None:
    """Primary class names start with their grade: 4A, 4A1, 4/1, Lớp 4A."""
    match = re.match(r"(?:lop\s*)?([1-5])(?:[a-z/.\s-]|$)", _plain(name))
    return int(match.group(1)) if match else None


def _grade_cell(report: _Report, sheet: Sheet, r: int, col: int | None) -> int | None:
    if col is None or _blank(sheet.cell(r, col)):
        return None
    raw = sheet.cell(r, col)
    number = _number(raw)
    if number is None or number not in rules.GRADES:
        number = _grade_of_class(_text(raw))  # "Khối 4", "4A"
    if number is None:
        report.warn("grade_unknown", sheet, r, col, value=_text(raw))
    return None if number is None else int(number)


def _read_students(header: _Header, report: _Report, parsed: ParsedFile) -> None:
    sheet, row0 = header.sheet, header.row
    cols = _STUDENT_FIELDS.locate(sheet.rows[row0])
    parsed.skipped += _personal_columns(sheet, row0)
    if not report.missing_columns("students", _STUDENT_FIELDS, cols, sheet, row0):
        return
    if _personal_ids(report, sheet, row0, row0 + 1, cols["student_id"]):
        return
    students, classes = [], {}
    classless: list[tuple[int, str, str]] = []
    first_seen: dict[str, tuple[int, str]] = {}

    def text(r: int, name: str) -> str:
        return _text(sheet.cell(r, cols[name])) if name in cols else ""

    for r in range(row0 + 1, len(sheet.rows)):
        if report.flooded:
            break
        if not _nonblank(sheet.rows[r]) or _is_total_row(sheet.rows[r]):
            continue
        student_id, name = text(r, "student_id"), text(r, "full_name")
        if not student_id and not name:
            continue
        if _code_too_long(report, sheet, r, cols["student_id"], "student_id"):
            continue
        class_name = text(r, "class_name")
        class_id = text(r, "class_id") or class_name or None
        birth = _date_cell(report, sheet, r, cols.get("birth_date"), student_id or None)
        if not student_id:  # a new grade-1 student: stable until the sector assigns a code
            digest = hashlib.sha256(
                f"{class_id}|{fold(name)}|{birth}".encode()).hexdigest()[:10].upper()
            student_id = f"TMP-{digest}"
            report.warn("student_code_generated", sheet, r, cols["student_id"],
                        name=name, id=student_id)
        if not _first_occurrence(report, "duplicate_student", sheet, r, cols["student_id"],
                                 student_id, name, first_seen):
            continue
        if class_id is None:
            classless.append((r, student_id, name))
        gender_raw = sheet.cell(r, cols["gender"]) if "gender" in cols else ""
        gender = _GENDERS.get(fold(gender_raw))
        if gender is None and not _blank(gender_raw):
            report.bad_cell("gender_unknown", sheet, r, cols["gender"], gender_raw,
                            item_code="gender", student_id=student_id)
        status = text(r, "status")
        students.append({
            "student_id": student_id, "class_id": class_id, "full_name": name or None,
            "birth_date": birth, "gender": gender, "ethnicity": text(r, "ethnicity") or None,
            "disability": text(r, "disability") or None, "status": status or None,
            "active": fold(status) not in _LEFT_STATUSES})
        if class_id:
            known = classes.setdefault(class_id, {"class_id": class_id, "class_name": None,
                                                  "grade": None})
            known["class_name"] = known["class_name"] or class_name or None
            known["grade"] = (known["grade"] or _grade_cell(report, sheet, r, cols.get("grade"))
                              or _grade_of_class(class_name or class_id))
    _classless(report, sheet, cols.get("class_id", cols.get("class_name")), classless,
               len(students))
    parsed.rows = len(students)
    parsed.tables = {
        "student": _frame(students, ("student_id", "class_id", "full_name", "birth_date",
                                     "gender", "ethnicity", "disability", "status", "active"),
                          {"active": "boolean"}),
        "class": _frame(list(classes.values()), ("class_id", "class_name", "grade"),
                        {"grade": "Int64"}),
    }
    parsed.summary = {"students": len(students),
                      "active": sum(1 for s in students if s["active"]),
                      "classes": len(classes)}


# --- staff list (CSDL_GiaoVien) ---------------------------------------------------------------
_STAFF_TEXT = ("status", "job_position", "position_group", "staff_type", "main_subject",
               "contract_type", "qualification", "major", "standard_rating")
_STAFF_COLUMNS = ("staff_id", "full_name", "birth_date", "gender", "position_group",
                "job_position", "staff_type", "main_subject", "contract_type", "rank_code",
                "qualification", "major", "standard_rating", "sessions_per_day", "status")


def _sessions(report: _Report, sheet: Sheet, r: int, cols: dict[str, int]) -> int | None:
    """Sessions a day from 'Số buổi dạy/ngày' (1 or 2) or a 'Dạy 1|2 buổi/ngày' flag column."""
    for name, when_true, when_false in (("sessions_count", None, None),
                                        ("one_session", 1, 2), ("two_sessions", 2, 1)):
        if name not in cols or _blank(sheet.cell(r, cols[name])):
            continue
        raw = sheet.cell(r, cols[name])
        if when_true is None:
            match = re.search(r"[12]", _text(raw))
            value = int(match.group()) if match else None
        else:
            key = fold(raw)
            value = when_true if key in _FLAG_TRUE else when_false if key in _FLAG_FALSE else None
        if value is None:
            report.bad_cell("number_invalid", sheet, r, cols[name], raw,
                            item_code="sessions_per_day")
        return value
    return None


def _read_staff(header: _Header, report: _Report, parsed: ParsedFile) -> None:
    sheet, row0 = header.sheet, header.row
    cols = _STAFF_FIELDS.locate(sheet.rows[row0])
    parsed.skipped += _personal_columns(sheet, row0)
    if not report.missing_columns("staff", _STAFF_FIELDS, cols, sheet, row0):
        return
    if _personal_ids(report, sheet, row0, row0 + 1, cols["staff_id"]):
        return
    staff = []
    first_seen: dict[str, tuple[int, str]] = {}
    for r in range(row0 + 1, len(sheet.rows)):
        if report.flooded:
            break
        if not _nonblank(sheet.rows[r]) or _is_total_row(sheet.rows[r]):
            continue
        staff_id = _text(sheet.cell(r, cols["staff_id"]))
        name = _text(sheet.cell(r, cols["full_name"]))
        if not staff_id:
            if name:
                report.warn("staff_code_missing", sheet, r, cols["staff_id"], name=name)
            continue
        if _code_too_long(report, sheet, r, cols["staff_id"], "staff_id"):
            continue
        if not _first_occurrence(report, "duplicate_staff", sheet, r, cols["staff_id"],
                                 staff_id, name, first_seen):
            continue
        row = {name_: _optional_text(sheet, r, cols.get(name_)) for name_ in _STAFF_TEXT}
        gender_raw = sheet.cell(r, cols["gender"]) if "gender" in cols else ""
        rank = _text(sheet.cell(r, cols["rank_code"])) if "rank_code" in cols else ""
        rank_code = _RANK_CODE.search(rank)
        row.update({
            "staff_id": staff_id, "full_name": name or None,
            "birth_date": _date_cell(report, sheet, r, cols.get("birth_date"), None),
            "gender": _GENDERS.get(fold(gender_raw)),
            "rank_code": re.sub(r"\s", "", rank_code.group()) if rank_code else rank or None,
            "sessions_per_day": _sessions(report, sheet, r, cols)})
        if row["gender"] is None and not _blank(gender_raw):
            report.bad_cell("gender_unknown", sheet, r, cols["gender"], gender_raw,
                            item_code="gender")
        staff.append(row)
    parsed.rows = len(staff)
    parsed.tables = {"staff": _frame(staff, _STAFF_COLUMNS, {"sessions_per_day": "Int64"})}
    parsed.summary = {"staff": len(staff)}


# --- assignments (project template) ---------------------------------------------------------
def _subject_code(value: object) -> str | None:
    text = _text(value)
    if text.upper() in rules.SUBJECT_BY_CODE:
        return text.upper()
    return next((_SUBJECT_BY_NAME[k] for k in _item_keys(text) if k in _SUBJECT_BY_NAME), None)


def _read_assignments(header: _Header, report: _Report, parsed: ParsedFile) -> None:
    sheet, row0 = header.sheet, header.row
    cols = _ASSIGNMENT_FIELDS.locate(sheet.rows[row0])
    parsed.skipped += _personal_columns(sheet, row0)
    if not report.missing_columns("assignments", _ASSIGNMENT_FIELDS, cols, sheet, row0):
        return
    assignments: dict[tuple, dict] = {}
    classes: dict[str, dict] = {}

    def text(r: int, name: str) -> str:
        return _text(sheet.cell(r, cols[name])) if name in cols else ""

    for r in range(row0 + 1, len(sheet.rows)):
        if report.flooded:
            break
        if not _nonblank(sheet.rows[r]) or _is_total_row(sheet.rows[r]):
            continue
        class_id, subject_raw = text(r, "class_id"), sheet.cell(r, cols["subject"])
        staff_id = text(r, "staff_id") or None
        if not class_id:
            report.warn("class_missing", sheet, r, cols["class_id"])
            continue
        known = classes.setdefault(class_id, {"class_id": class_id, "class_name": None,
                                              "grade": None, "homeroom_staff_id": None})
        known["class_name"] = known["class_name"] or text(r, "class_name") or None
        known["grade"] = (known["grade"] or _grade_cell(report, sheet, r, cols.get("grade"))
                          or _grade_of_class(known["class_name"] or class_id))
        if fold(subject_raw) in _HOMEROOM_KEYS:
            if known["homeroom_staff_id"] and staff_id and known["homeroom_staff_id"] != staff_id:
                report.warn("homeroom_conflict", sheet, r, cols["staff_id"], class_id=class_id,
                            first=known["homeroom_staff_id"], second=staff_id)
            else:
                known["homeroom_staff_id"] = known["homeroom_staff_id"] or staff_id
            continue
        code = _subject_code(subject_raw)
        if code is None:
            report.warn("subject_unknown", sheet, r, cols["subject"], value=_text(subject_raw))
            continue
        assignments.setdefault((staff_id, class_id, code), {
            "staff_id": staff_id, "class_id": class_id, "subject_code": code})
    parsed.rows = len(assignments)
    parsed.tables = {
        "assignment": _frame(list(assignments.values()), ("staff_id", "class_id", "subject_code")),
        "class": _frame(list(classes.values()),
                        ("class_id", "class_name", "grade", "homeroom_staff_id"),
                        {"grade": "Int64"}),
    }
    parsed.summary = {"assignments": len(assignments), "classes": len(classes),
                      "homerooms": sum(1 for c in classes.values() if c["homeroom_staff_id"])}


# --- facilities (project template) ----------------------------------------------------------
def _choice(report: _Report, sheet: Sheet, r: int, col: int | None, choices: tuple[str, ...],
            item_code: str) -> str | None:
    if col is None or _blank(sheet.cell(r, col)):
        return None
    raw = sheet.cell(r, col)
    match = next((c for c in choices if fold(c) == fold(raw)), None)
    if match is None:
        report.bad_cell("choice_unknown", sheet, r, col, raw, item_code=item_code,
                        choices=", ".join(choices))
    return match


def _amount(report: _Report, sheet: Sheet, r: int, col: int | None, item_code: str,
            whole: bool) -> float | int | None:
    if col is None or _blank(sheet.cell(r, col)):
        return None
    raw = sheet.cell(r, col)
    number = _number(raw)
    # A count beyond 2**53 (1e20 in a quantity cell) is a typing error, and would not fit Int64.
    if number is None or number < 0 or (whole and not (number.is_integer()
                                                       and number <= _COUNT_MAX)):
        report.bad_cell("number_invalid", sheet, r, col, raw, item_code=item_code)
        return None
    return int(number) if whole else number


def _read_rooms(header: _Header, report: _Report, parsed: ParsedFile) -> list[dict]:
    sheet, row0 = header.sheet, header.row
    cols = _ROOM_FIELDS.locate(sheet.rows[row0])
    parsed.skipped += _personal_columns(sheet, row0)
    if not report.missing_columns("rooms", _ROOM_FIELDS, cols, sheet, row0):
        return []
    rooms = []
    for r in range(row0 + 1, len(sheet.rows)):
        if report.flooded:
            break
        if not _nonblank(sheet.rows[r]) or _is_total_row(sheet.rows[r]):
            continue
        room_type = _text(sheet.cell(r, cols["room_type"]))
        if not room_type:
            report.warn("room_type_missing", sheet, r, cols["room_type"])
            continue
        rooms.append({
            "room_id": _optional_text(sheet, r, cols.get("room_id")),
            "site": _optional_text(sheet, r, cols.get("site")),
            "room_type": room_type,
            "construction": _choice(report, sheet, r, cols.get("construction"),
                                    CONSTRUCTION_TYPES, "construction"),
            "area_m2": _amount(report, sheet, r, cols.get("area_m2"), "area_m2", whole=False),
            "condition": _choice(report, sheet, r, cols.get("condition"), ROOM_CONDITIONS,
                                 "condition")})
    return rooms


def _read_equipment(header: _Header, report: _Report, parsed: ParsedFile) -> list[dict]:
    sheet, row0 = header.sheet, header.row
    cols = _EQUIPMENT_FIELDS.locate(sheet.rows[row0])
    parsed.skipped += _personal_columns(sheet, row0)
    if not report.missing_columns("equipment", _EQUIPMENT_FIELDS, cols, sheet, row0):
        return []
    items = []
    for r in range(row0 + 1, len(sheet.rows)):
        if report.flooded:
            break
        if not _nonblank(sheet.rows[r]) or _is_total_row(sheet.rows[r]):
            continue
        item = _text(sheet.cell(r, cols["item"]))
        if not item:
            continue
        quantity = _amount(report, sheet, r, cols["quantity"], "quantity", whole=True)
        working = _amount(report, sheet, r, cols.get("working"), "working", whole=True)
        if quantity is not None and working is not None and working > quantity:
            report.warn("working_exceeds_quantity", sheet, r, cols["working"],
                        working=working, quantity=quantity)
        items.append({"item": item, "quantity": quantity, "working": working})
    return items


def _read_facilities(headers: list[_Header], report: _Report, parsed: ParsedFile) -> None:
    rooms = [room for h in headers if h.layout == "rooms"
             for room in _read_rooms(h, report, parsed)]
    equipment = [e for h in headers if h.layout == "equipment"
                 for e in _read_equipment(h, report, parsed)]
    parsed.rows = len(rooms) + len(equipment)
    parsed.tables = {
        "room": _frame(rooms, ("room_id", "site", "room_type", "construction", "area_m2",
                               "condition"), {"area_m2": "Float64"}),
        "equipment": _frame(equipment, ("item", "quantity", "working"),
                            {"quantity": "Int64", "working": "Int64"}),
    }
    parsed.summary = {"rooms": len(rooms), "equipment": len(equipment)}


# --- entry point ----------------------------------------------------------------------------
def _frame(rows: list[dict], columns: tuple[str, ...],
           dtypes: dict[str, str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.astype(dtypes) if dtypes else frame


def read_file(path: Path, display_name: str | None = None,
              period_hint: str | None = None) -> ParsedFile:
    """Read one file; its kind is recognised from its headers, never from its name.

    `period_hint` (GK1|CK1|GK2|CN) is the period chosen at import, used for a results file
    that does not state its own; a file stating another period is refused.
    """
    if period_hint is not None and period_hint not in rules.PERIODS:
        raise ValueError(f"period_hint must be one of {rules.PERIODS}, got {period_hint!r}")
    path = Path(path)
    display_name = display_name or path.name
    report = _Report(display_name)
    try:
        _check_size(path, display_name)
        data = path.read_bytes()
    except ImportRefused as refused:
        return ParsedFile(display_name, "unknown", "", problems=refused.problems)
    except OSError as exc:
        report.error("file_unreadable", reason=exc.strerror or str(exc))
        return ParsedFile(display_name, "unknown", "", problems=report.problems)
    parsed = ParsedFile(display_name, "unknown", hashlib.sha256(data).hexdigest())
    try:
        sheets = _sheets_from_bytes(data, path.suffix.lower(), display_name)
    except ImportRefused as refused:
        parsed.problems = refused.problems
        return parsed

    headers = _find_headers(sheets)
    best = max(headers, key=lambda h: h.matches, default=None)
    if best is None:
        report.error("kind_unknown", sheets[0])
    elif best.layout == "results":
        parsed.kind = "results"
        _read_results([h for h in headers if h.layout == "results"], display_name,
                      period_hint, report, parsed)
    elif best.layout == "students":
        parsed.kind = "students"
        _read_students(best, report, parsed)
    elif best.layout == "staff":
        parsed.kind = "staff"
        _read_staff(best, report, parsed)
    elif best.layout == "assignments":
        parsed.kind = "assignments"
        _read_assignments(best, report, parsed)
    else:
        parsed.kind = "facilities"
        _read_facilities([h for h in headers if h.layout in ("rooms", "equipment")],
                         report, parsed)
    if best is not None:
        titles = _title_cells(best.sheet, best.row)
        parsed.school_year = _school_year_in(titles)
        parsed.school_name = _school_name_in(titles)
    parsed.problems, parsed.invalid = report.problems, report.invalid
    return parsed


def blank_template(kind: str) -> bytes:
    """An .xlsx of the project's own template ("assignments" or "facilities"): headers and
    one example row, with drop-down lists where the values are fixed."""
    if kind not in TEMPLATES:
        raise ValueError(f"no template for {kind!r}; choose from {sorted(TEMPLATES)}")
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "text_wrap": True, "bg_color": "#DDEBF7",
                            "border": 1})
    lists = {"Môn học": [s.name_vi for s in rules.SUBJECTS] + [HOMEROOM_SUBJECT],
             "Loại phòng": list(ROOM_TYPES), "Kiểu công trình": list(CONSTRUCTION_TYPES),
             "Tình trạng": list(ROOM_CONDITIONS)}
    for sheet_name, columns, example in TEMPLATES[kind]:
        sheet = book.add_worksheet(sheet_name)
        sheet.write_row(0, 0, columns, bold)
        sheet.write_row(1, 0, example)
        sheet.set_column(0, len(columns) - 1, 20)
        sheet.freeze_panes(1, 0)
        for col, title in enumerate(columns):
            if title in lists:  # a warning, not a stop: other room types are allowed
                sheet.data_validation(1, col, 1000, col, {
                    "validate": "list", "source": lists[title], "error_type": "information"})
    book.close()
    return buffer.getvalue()
