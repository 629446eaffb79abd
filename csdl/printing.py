"""Printed class summaries and checking them against the database (DOMAIN.md §6).

After a lock, teachers and the principal sign the printed "Bảng tổng hợp kết quả đánh giá giáo
dục của lớp"; leadership then compare the database with the paper. A sheet printed here carries
a print code in its footer, registered in app.db with the snapshot it was printed from, so a
check by code lists exactly what changed since. A sheet printed by the sector system is checked
against the export it was printed from, or against the totals typed from the paper. The status
board says per class whether its sheet was printed, checked and signed off.

The printed sheet is an official Vietnamese form: its text is Vietnamese whatever the UI language.
"""
from __future__ import annotations

import io
import math
import re
import secrets
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd
import xlsxwriter
from fpdf import FPDF

from . import changes, queries, readers, records, rules, scope, snapshots
from .diff import diff
from .parsed import ParsedFile
from .problems import ImportRefused, Problem
from .text import fold
from .timeutil import now_local

# Print codes: no 0/O, 1/I/L, so a code read off paper is typed back without doubt.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
FORMATS = ("xlsx", "pdf")
CHECK_METHODS = ("code", "upload", "totals")
FONT_DIR = Path(__file__).with_name("fonts")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS printed_sheet (
    print_code TEXT PRIMARY KEY,  -- 'XXXX-XXXX'
    school_year TEXT NOT NULL,
    school_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    class_name TEXT,
    period TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,    -- the data the sheet shows
    format TEXT NOT NULL CHECK (format IN ('xlsx', 'pdf')),
    printed_by TEXT,
    printed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS printed_sheet_class
    ON printed_sheet (school_year, school_id, period, class_id);
CREATE TABLE IF NOT EXISTS sheet_check (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    print_code TEXT,              -- NULL for a sheet printed by the sector system
    school_year TEXT NOT NULL,
    school_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    period TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('code', 'upload', 'totals')),
    checked_by TEXT,
    checked_at TEXT NOT NULL,
    differences INTEGER NOT NULL,
    note TEXT
);
CREATE INDEX IF NOT EXISTS sheet_check_class
    ON sheet_check (school_year, school_id, period, class_id);
CREATE TABLE IF NOT EXISTS sign_off (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school_year TEXT NOT NULL,
    school_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    period TEXT NOT NULL,
    signed_by TEXT,
    signed_at TEXT NOT NULL,
    note TEXT
);
CREATE INDEX IF NOT EXISTS sign_off_class ON sign_off (school_year, school_id, period, class_id);
"""


class PrintingError(Exception):
    """A print, check or sign-off that cannot be done; `key` is an i18n message key."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


@contextmanager
def _connect(data_dir: Path | str) -> Iterator[sqlite3.Connection]:
    """One short transaction on app.db, with this module's tables in place."""
    with records.connect(data_dir) as con:
        con.executescript(_SCHEMA)
        yield con


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat(sep=" ")


def _check_period(period: str) -> None:
    if period not in rules.PERIODS:
        raise PrintingError("printing.bad_period", period=period)


# --------------------------------------------------------------------------------------------
# Print codes
# --------------------------------------------------------------------------------------------

def new_code() -> str:
    half = CODE_LENGTH // 2
    text = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{text[:half]}-{text[half:]}"


def normalise_code(text: str) -> str:
    """'abcd efgh', 'ABCD-EFGH' → 'ABCD-EFGH'; a text of another shape raises. Eight letters
    and digits have the shape even with a character no code holds ("ABCD-1234"): such a code
    is then simply not found, as the user would expect."""
    compact = "".join(ch for ch in (text or "").upper() if ch.isascii() and ch.isalnum())
    if len(compact) != CODE_LENGTH:
        raise PrintingError("printing.bad_code", code=(text or "").strip())
    half = CODE_LENGTH // 2
    return f"{compact[:half]}-{compact[half:]}"


# --------------------------------------------------------------------------------------------
# The class summary
# --------------------------------------------------------------------------------------------

SUBJECT_GROUP = "Môn học và hoạt động giáo dục"
TRAIT_GROUPS = {"general": "Năng lực chung", "specific": "Năng lực đặc thù",
                "quality": "Phẩm chất"}
YEAR_FIELDS = ("completed", "promoted", "classification", "award")
IDENTITY_HEADERS = ("STT", "Mã học sinh", "Họ tên", "Ngày sinh")
LEVEL_HEADER, SCORE_HEADER = "Mức", "Điểm"
DOCUMENT_NAME = "Bảng tổng hợp kết quả đánh giá giáo dục của lớp"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
AUTHORITY_BLANK = "……………………………"  # PHÒNG / SỞ …: filled in by hand
SIGN_DATE = "…………, ngày …… tháng …… năm ………"
SIGNERS = (("GIÁO VIÊN CHỦ NHIỆM", "(Ký, ghi rõ họ tên)"), ("HIỆU TRƯỞNG", "(Ký tên, đóng dấu)"))


@dataclass(frozen=True)
class SheetColumn:
    item_type: str  # 'subject' | 'trait' | 'year'
    item_code: str  # subject or trait code; 'YEAR' for the year-end fields
    field: str  # 'level' | 'score' | one of YEAR_FIELDS

    @property
    def key(self) -> str:
        return f"{self.item_code}.{self.field}"


@dataclass(frozen=True)
class ClassSummary:
    school_id: str
    school_name: str
    class_id: str
    class_name: str
    grade: int | None
    period: str
    school_year: str
    snapshot_id: str
    taken_at: datetime
    columns: tuple[SheetColumn, ...]
    # student_id, full_name, birth_date, then one column per SheetColumn.key: levels as text,
    # scores as Int64, completed / promoted as True or None, classification and award as text.
    rows: pd.DataFrame


def _run(data_dir: Path | str, snapshot_id: str, name: str, **params: object) -> pd.DataFrame:
    con = queries.prepare(snapshots.connect(data_dir, snapshot_id))
    try:
        return queries.run(con, name, **params)
    finally:
        con.close()


def _column_order(column: SheetColumn) -> tuple:
    """Subjects in the catalogue's order (level before score), then traits, then year end."""
    if column.item_type == "subject":
        return (0, rules.UNIT_ORDER.index(column.item_code), column.field != "level")
    if column.item_type == "trait":
        return (1, [t.code for t in rules.TRAITS].index(column.item_code), 0)
    return (2, YEAR_FIELDS.index(column.field), 0)


def _sheet_order(names: pd.Series) -> list:
    """Vietnamese lists sort by given name (the last word), then the whole name."""
    return [(fold(str(n).split()[-1]) if str(n).split() else "", fold(n)) for n in names]


def class_summary(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
                  class_id: str, period: str) -> ClassSummary:
    _check_period(period)
    heading = _run(data_dir, snapshot.snapshot_id, "class_heading", school_id=school_id,
                   class_id=class_id)
    if heading.empty:
        raise PrintingError("printing.no_class", class_id=class_id)
    klass = heading.iloc[0]
    long = _run(data_dir, snapshot.snapshot_id, "class_summary", school_id=school_id,
                class_id=class_id, period=period)
    students = (long[["student_id", "full_name", "birth_date"]].drop_duplicates("student_id")
                .assign(_order=lambda d: _sheet_order(d["full_name"]))
                .sort_values(["_order", "student_id"]).drop(columns="_order")
                .reset_index(drop=True))
    cells = long.dropna(subset=["item_type"])
    columns = tuple(sorted({SheetColumn(r.item_type, r.item_code, r.field)
                            for r in cells.itertuples()}, key=_column_order))
    wide = (cells.assign(key=cells["item_code"] + "." + cells["field"])
            .pivot(index="student_id", columns="key", values="value")
            .reindex(index=students["student_id"], columns=[c.key for c in columns]))
    rows = students.copy()
    rows["birth_date"] = [None if pd.isna(d) else pd.Timestamp(d).date()
                          for d in rows["birth_date"]]
    for column in columns:
        values = wide[column.key].to_numpy()
        if column.field == "score":
            rows[column.key] = pd.array([None if pd.isna(v) else int(v) for v in values],
                                        dtype="Int64")
        elif column.field in ("completed", "promoted"):
            rows[column.key] = [True if v == "true" else None for v in values]
        else:
            rows[column.key] = [None if pd.isna(v) else str(v) for v in values]
    grade = None if pd.isna(klass["grade"]) else int(klass["grade"])
    named = klass.where(klass.notna(), None)
    return ClassSummary(school_id, named["school_name"] or school_id, class_id,
                        named["class_name"] or class_id, grade, period, snapshot.school_year,
                        snapshot.snapshot_id, snapshot.taken_at, columns, rows)


# --- the header shared by the Excel and PDF renderings ---------------------------------------

@dataclass(frozen=True)
class HeaderCell:
    row: int  # 0: groups, 1: names, 2: Mức / Điểm
    col: int  # table column (the identity columns are 0–3)
    rows: int
    cols: int
    text: str
    rotated: bool  # names of items in narrow columns read bottom to top


def _item_label(column: SheetColumn, grade: int | None) -> str:
    if column.item_type == "subject":
        return rules.SUBJECT_BY_CODE[column.item_code].name_vi
    if column.item_type == "trait":
        return rules.TRAIT_BY_CODE[column.item_code].name_vi
    return {"completed": "Hoàn thành chương trình "
                         + ("tiểu học" if grade == 5 else "lớp học"),
            "promoted": "Lên lớp", "classification": "Xếp loại",
            "award": "Khen thưởng"}[column.field]


def _group_label(column: SheetColumn) -> str | None:
    if column.item_type == "subject":
        return SUBJECT_GROUP
    if column.item_type == "trait":
        return TRAIT_GROUPS[rules.TRAIT_BY_CODE[column.item_code].group]
    return None


def header_cells(summary: ClassSummary) -> list[HeaderCell]:
    """Three header rows like the sector's template: groups, item names, Mức / Điểm."""
    cells = [HeaderCell(0, c, 3, 1, text, False) for c, text in enumerate(IDENTITY_HEADERS)]
    first = len(IDENTITY_HEADERS)
    cols = summary.columns
    i = 0
    while i < len(cols):
        group = _group_label(cols[i])
        if group is None:  # year end: one cell over the three rows
            cells.append(HeaderCell(0, first + i, 3, 1, _item_label(cols[i], summary.grade), True))
            i += 1
            continue
        end = i
        while end + 1 < len(cols) and _group_label(cols[end + 1]) == group:
            end += 1
        cells.append(HeaderCell(0, first + i, 1, end - i + 1, group, False))
        while i <= end:
            name = _item_label(cols[i], summary.grade)
            scored = (i < end and cols[i + 1].item_code == cols[i].item_code
                      and cols[i + 1].field == "score")
            if scored:
                cells += [HeaderCell(1, first + i, 1, 2, name, True),
                          HeaderCell(2, first + i, 1, 1, LEVEL_HEADER, True),
                          HeaderCell(2, first + i + 1, 1, 1, SCORE_HEADER, True)]
                i += 2
            else:
                cells.append(HeaderCell(1, first + i, 2, 1, name, True))
                i += 1
    return cells


def _display(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if value is True:
        return "x"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _table_rows(summary: ClassSummary) -> list[list[object]]:
    """The table body as raw values: STT, identity, then the sheet's columns."""
    keys = [c.key for c in summary.columns]
    native = summary.rows[["student_id", "full_name", "birth_date", *keys]].astype(object)
    native = native.where(native.notna(), None)
    return [[n, *row] for n, row in enumerate(native.itertuples(index=False), start=1)]


def _footer_text(summary: ClassSummary, print_code: str, printed_at: datetime) -> str:
    return (f"Mã bản in: {print_code} · Bản chụp: {summary.snapshot_id} · "
            f"In lúc {printed_at:%d/%m/%Y %H:%M}")


def _title(summary: ClassSummary) -> str:
    return f"{DOCUMENT_NAME.upper()} {summary.class_name}"


def _subtitle(summary: ClassSummary) -> str:
    return f"{rules.PERIOD_NAMES_VI[summary.period]} · Năm học {summary.school_year}"


# --- Excel ------------------------------------------------------------------------------------

def summary_excel(summary: ClassSummary, print_code: str, printed_at: datetime) -> bytes:
    """The sheet as .xlsx: A4 landscape fitted to one page wide, header rows repeated on every
    page, the print code and snapshot in the footer. Text is always written as text."""
    buffer = io.BytesIO()
    # merge_range() writes its text through write(), which would turn a school or class name
    # starting with "=" into a formula and one with "http:" into a link: text stays text.
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    ws = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", "-", summary.class_name)[:31] or "Lop")
    font = {"font_name": "Times New Roman", "font_size": 11}
    center = {"align": "center", "valign": "vcenter"}
    fmt = {
        "authority": book.add_format({**font, **center}),
        "school": book.add_format({**font, **center, "bold": True}),
        "nation": book.add_format({**font, **center, "bold": True}),
        "motto": book.add_format({**font, **center, "bold": True, "underline": True}),
        "title": book.add_format({**font, **center, "bold": True, "font_size": 14}),
        "subtitle": book.add_format({**font, **center, "italic": True}),
        "head": book.add_format({**font, **center, "bold": True, "border": 1, "text_wrap": True,
                                 "font_size": 9}),
        "head_rotated": book.add_format({**font, **center, "bold": True, "border": 1,
                                         "text_wrap": True, "rotation": 90, "font_size": 9}),
        "cell": book.add_format({**font, **center, "border": 1, "font_size": 10}),
        "name": book.add_format({**font, "valign": "vcenter", "border": 1, "font_size": 10}),
        "day": book.add_format({**font, **center, "border": 1, "font_size": 10,
                                "num_format": "dd/mm/yyyy"}),
        "sign_date": book.add_format({**font, **center, "italic": True}),
        "signer": book.add_format({**font, **center, "bold": True}),
        "sign_hint": book.add_format({**font, **center, "italic": True}),
    }
    # The heading and signatures: left over the identity columns, right over the last ten.
    last = max(len(IDENTITY_HEADERS) + len(summary.columns), 16) - 1
    left_end = len(IDENTITY_HEADERS) - 1
    right_start = last - 9

    def span(row: int, c0: int, c1: int, text: str, style) -> None:
        if c1 > c0:
            ws.merge_range(row, c0, row, c1, text, style)
        else:
            ws.write_string(row, c0, text, style)

    span(0, 0, left_end, AUTHORITY_BLANK, fmt["authority"])
    span(1, 0, left_end, summary.school_name.upper(), fmt["school"])
    span(0, right_start, last, NATION, fmt["nation"])
    span(1, right_start, last, MOTTO, fmt["motto"])
    span(3, 0, last, _title(summary), fmt["title"])
    span(4, 0, last, _subtitle(summary), fmt["subtitle"])

    top = 6
    for cell in header_cells(summary):
        style = fmt["head_rotated"] if cell.rotated else fmt["head"]
        r0, c0 = top + cell.row, cell.col
        r1, c1 = r0 + cell.rows - 1, c0 + cell.cols - 1
        if (r0, c0) == (r1, c1):
            ws.write_string(r0, c0, cell.text, style)
        else:
            ws.merge_range(r0, c0, r1, c1, cell.text, style)
    ws.set_row(top, 30)
    ws.set_row(top + 1, 115)
    ws.set_row(top + 2, 32)
    ws.set_column(0, 0, 4.5)
    ws.set_column(1, 1, 13)
    ws.set_column(2, 2, 24)
    ws.set_column(3, 3, 11)
    for c, column in enumerate(summary.columns, start=len(IDENTITY_HEADERS)):
        ws.set_column(c, c, 16 if column.field == "award" else 4.6)

    body = top + 3
    for r, values in enumerate(_table_rows(summary), start=body):
        for c, value in enumerate(values):
            if c == 3 and isinstance(value, date):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), fmt["day"])
            elif isinstance(value, int) and not isinstance(value, bool):
                ws.write_number(r, c, value, fmt["cell"])
            else:  # never a formula, whatever the text starts with
                ws.write_string(r, c, _display(value), fmt["name"] if c == 2 else fmt["cell"])
    end = body + len(summary.rows)

    sign = end + 2
    span(sign, right_start, last, SIGN_DATE, fmt["sign_date"])
    for row, (left, right) in enumerate(zip(*SIGNERS), start=sign + 1):
        style = fmt["signer"] if row == sign + 1 else fmt["sign_hint"]
        span(row, 0, left_end, left, style)
        span(row, right_start, last, right, style)

    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(top, top + 2)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.7)
    ws.center_horizontally()
    ws.print_area(0, 0, sign + 6, last)
    footer = _footer_text(summary, print_code, printed_at).replace("&", "&&")
    ws.set_footer(f"&L&8{footer}&R&8Trang &P/&N", {"margin": 0.3})
    ws.freeze_panes(body, len(IDENTITY_HEADERS))
    book.close()
    return buffer.getvalue()


# --- PDF --------------------------------------------------------------------------------------

_PAD = 0.6  # mm inside a cell
_LINE = 1.12  # line height / font size
_MIN_FONT, _MAX_FONT = 5.0, 8.0  # body font sizes tried to fit the page width
_HEADER_SMALLER = 1.0  # pt: header names are set a little smaller than the body
_MAX_NAMES_H = 60  # mm: the item-name header row never grows beyond this


class _SheetPDF(FPDF):
    """A4 landscape with the print code, snapshot and page number in every page's footer."""

    def __init__(self, footer_text: str):
        super().__init__(orientation="L", unit="mm", format="A4")
        self.footer_text = footer_text
        self.add_font("DejaVu", "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font("DejaVu", "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.set_margins(8, 8, 8)
        self.set_auto_page_break(False)

    def footer(self) -> None:
        self.set_font("DejaVu", "", 7)
        self.set_xy(self.l_margin, self.h - 7)
        self.cell(self.epw * 0.8, 4, self.footer_text)
        self.cell(self.epw * 0.2, 4, f"Trang {self.page_no()}/{{nb}}", align="R")


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Greedy word wrap to `width` mm at the current font."""
    lines: list[str] = []
    for word in text.split():
        if lines and pdf.get_string_width(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _text_block(pdf: FPDF, x: float, y: float, w: float, h: float, lines: list[str],
                rotated: bool) -> None:
    """Lines centred in a box; rotated text reads bottom to top."""
    line_h = pdf.font_size * _LINE
    ascent = pdf.font_size * 0.8
    if rotated:
        left = x + (w - len(lines) * line_h) / 2
        for i, line in enumerate(lines):
            bx = left + i * line_h + ascent
            by = y + (h + pdf.get_string_width(line)) / 2
            with pdf.rotation(90, bx, by):
                pdf.text(bx, by, line)
    else:
        top = y + (h - len(lines) * line_h) / 2
        for i, line in enumerate(lines):
            pdf.text(x + (w - pdf.get_string_width(line)) / 2, top + i * line_h + ascent, line)


@dataclass
class _PdfLayout:
    font: float  # body font size, pt
    header_font: float
    widths: list[float]  # per table column, mm
    heights: list[float]  # the three header rows, mm
    wraps: dict[HeaderCell, list[str]]
    row_h: float


def _pdf_layout(pdf: FPDF, summary: ClassSummary, texts: list[list[str]],
                header: list[HeaderCell]) -> _PdfLayout:
    """Column widths from the content at the largest font that fits the page width, then
    stretched to fill it; header rows tall enough for every wrapped, rotated name."""
    font = _MAX_FONT
    while True:
        pdf.set_font("DejaVu", "", font)
        narrow = pdf.font_size * _LINE * 1.6 + 2 * _PAD  # room for a rotated line, and more
        widths = []
        for c in range(len(IDENTITY_HEADERS) + len(summary.columns)):
            content = max((pdf.get_string_width(row[c]) for row in texts), default=0)
            if c < len(IDENTITY_HEADERS):
                pdf.set_font("DejaVu", "B", font)
                word = max(pdf.get_string_width(w) for w in IDENTITY_HEADERS[c].split())
                pdf.set_font("DejaVu", "", font)
                content = max(content, word)
            widths.append(max(content + 2 * _PAD, narrow))
        if sum(widths) <= pdf.epw or font <= _MIN_FONT:
            break
        font = max(_MIN_FONT, round(font * pdf.epw / sum(widths) - 0.1, 1))
    widths = [w * pdf.epw / sum(widths) for w in widths]

    header_font = max(_MIN_FONT, font - _HEADER_SMALLER)
    pdf.set_font("DejaVu", "B", header_font)
    line_h = pdf.font_size * _LINE

    def across(cell: HeaderCell) -> float:
        return sum(widths[cell.col:cell.col + cell.cols]) - 2 * _PAD

    flat = [c for c in header if not c.rotated]
    wraps = {cell: _wrap(pdf, cell.text, across(cell)) for cell in flat}
    heights = [max((len(wraps[c]) * line_h + 2 * _PAD for c in flat if c.rows == 1),
                   default=line_h + 2 * _PAD), 0.0,
               max((pdf.get_string_width(c.text) + 2 * _PAD for c in header
                    if c.rotated and c.row == 2), default=line_h + 2 * _PAD)]
    names = [c for c in header if c.rotated and c.row < 2]

    def room(cell: HeaderCell, names_h: float) -> float:
        """The length a rotated name may run: the rows it spans."""
        return sum(([0.0, names_h, heights[2]] if cell.row == 1 else
                    [heights[0], names_h, heights[2]])[cell.row:cell.row + cell.rows]) - 2 * _PAD

    def fits(names_h: float) -> bool:
        return all(len(_wrap(pdf, c.text, room(c, names_h))) * line_h <= across(c)
                   for c in names)

    # The lowest name row in which every rotated name, wrapped, fits across its column(s).
    names_h = max((pdf.get_string_width(w) for c in names for w in c.text.split()),
                  default=0) + 2 * _PAD
    while not fits(names_h) and names_h < _MAX_NAMES_H:
        names_h += 1
    heights[1] = names_h
    wraps |= {c: _wrap(pdf, c.text, room(c, names_h)) for c in names}
    wraps |= {c: [c.text] for c in header if c.rotated and c.row == 2}
    pdf.set_font("DejaVu", "", font)
    return _PdfLayout(font, header_font, widths, heights, wraps,
                      pdf.font_size * _LINE + 2 * _PAD)


_HEADING_H = 37  # mm from the top of the first page to the table
_SIGNATURE_H = 32  # mm below the table for the signature block
_ROWS_WITH_SIGNATURE = 3  # a signature never stands on a page of its own


def _page_rows(count: int, first_cap: int, cap: int, signature_rows: int) -> list[int]:
    """Rows on each page: as many as fit, the last page keeping room for the signatures and,
    when it must move to a page of its own, taking the last few rows with it."""
    pages, room = [], first_cap
    while count > room:
        pages.append(room)
        count, room = count - room, cap
    if count + signature_rows > room:  # the signatures go over: some rows go with them
        tail = min(count, _ROWS_WITH_SIGNATURE)
        if count > tail:
            pages.append(count - tail)
        count = tail
    return pages + [count]


def summary_pdf(summary: ClassSummary, print_code: str, printed_at: datetime) -> bytes:
    """The sheet as a PDF (A4 landscape, DejaVu Sans shipped in csdl/fonts for Vietnamese):
    rows split over pages with the header repeated, the print code on every page."""
    pdf = _SheetPDF(_footer_text(summary, print_code, printed_at))
    pdf.set_title(f"{DOCUMENT_NAME} {summary.class_name}")
    pdf.set_author(summary.school_name)
    pdf.set_subject(_subtitle(summary))
    pdf.set_keywords(f"{print_code} {summary.snapshot_id}")  # ASCII: findable in the file
    pdf.set_creator("csdl")
    body = [[_display(v) for v in row] for row in _table_rows(summary)]
    header = header_cells(summary)
    layout = _pdf_layout(pdf, summary, body, header)
    lefts = [pdf.l_margin + sum(layout.widths[:c]) for c in range(len(layout.widths))]
    bottom = pdf.h - 10  # above the footer

    def heading() -> float:
        half = pdf.epw * 0.45
        pdf.set_font("DejaVu", "", 10)
        pdf.set_xy(pdf.l_margin, 8)
        pdf.cell(half, 5, AUTHORITY_BLANK, align="C")
        pdf.set_font("DejaVu", "B", 10)
        pdf.set_xy(pdf.l_margin, 13)
        pdf.cell(half, 5, summary.school_name.upper(), align="C")
        right = pdf.l_margin + pdf.epw - half
        pdf.set_xy(right, 8)
        pdf.cell(half, 5, NATION, align="C")
        pdf.set_xy(right, 13)
        pdf.cell(half, 5, MOTTO, align="C")
        motto_w = pdf.get_string_width(MOTTO)
        pdf.line(right + (half - motto_w) / 2, 18.2, right + (half + motto_w) / 2, 18.2)
        pdf.set_font("DejaVu", "B", 13)
        pdf.set_xy(pdf.l_margin, 22)
        pdf.cell(pdf.epw, 7, _title(summary), align="C")
        pdf.set_font("DejaVu", "", 10)
        pdf.set_xy(pdf.l_margin, 29)
        pdf.cell(pdf.epw, 5, _subtitle(summary), align="C")
        return _HEADING_H

    def table_header(y: float) -> float:
        tops = [y, y + layout.heights[0], y + layout.heights[0] + layout.heights[1]]
        pdf.set_font("DejaVu", "B", layout.header_font)
        for cell in header:
            x, w = lefts[cell.col], sum(layout.widths[cell.col:cell.col + cell.cols])
            h = sum(layout.heights[cell.row:cell.row + cell.rows])
            pdf.rect(x, tops[cell.row], w, h)
            _text_block(pdf, x, tops[cell.row], w, h, layout.wraps[cell], cell.rotated)
        pdf.set_font("DejaVu", "", layout.font)
        return y + sum(layout.heights)

    table_h = sum(layout.heights)
    first_cap = int((bottom - _HEADING_H - table_h) // layout.row_h)
    cap = int((bottom - pdf.t_margin - table_h) // layout.row_h)
    start = 0
    for page, count in enumerate(_page_rows(len(body), first_cap, cap,
                                            math.ceil(_SIGNATURE_H / layout.row_h))):
        pdf.add_page()
        y = table_header(heading() if page == 0 else pdf.t_margin)
        for values in body[start:start + count]:
            for c, text in enumerate(values):
                pdf.set_xy(lefts[c], y)
                pdf.cell(layout.widths[c], layout.row_h, text, border=1,
                         align="L" if c == 2 else "C")
            y += layout.row_h
        start += count

    third = pdf.epw / 3
    right = pdf.l_margin + pdf.epw - third
    pdf.set_font("DejaVu", "", 10)
    pdf.set_xy(right, y + 5)
    pdf.cell(third, 5, SIGN_DATE, align="C")
    for x, (title, hint) in zip((pdf.l_margin, right), SIGNERS):
        pdf.set_font("DejaVu", "B", 10)
        pdf.set_xy(x, y + 10)
        pdf.cell(third, 5, title, align="C")
        pdf.set_font("DejaVu", "", 9)
        pdf.set_xy(x, y + 15)
        pdf.cell(third, 5, hint, align="C")
    return bytes(pdf.output())


# --------------------------------------------------------------------------------------------
# Printing and the register of prints
# --------------------------------------------------------------------------------------------

PRINT_COLUMNS = ["print_code", "school_year", "school_id", "class_id", "class_name", "period",
                 "snapshot_id", "format", "printed_by", "printed_at"]


@dataclass(frozen=True)
class PrintedSheet:
    print_code: str
    school_year: str
    school_id: str
    class_id: str
    class_name: str | None
    period: str
    snapshot_id: str
    format: str
    printed_by: str | None
    printed_at: datetime


def print_sheet(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
                class_id: str, period: str, fmt: str, actor: str | None,
                at: datetime | None = None) -> tuple[str, bytes]:
    """Build the class summary from `snapshot`, register the print under a new code and return
    (code, file bytes). Printing twice gives two codes: each paper is its own record."""
    if fmt not in FORMATS:
        raise PrintingError("printing.bad_format", format=fmt)
    summary = class_summary(data_dir, snapshot, school_id, class_id, period)
    render = summary_excel if fmt == "xlsx" else summary_pdf
    printed_at = at or now_local()
    while True:
        code = new_code()
        content = render(summary, code, printed_at)
        try:
            with _connect(data_dir) as con:
                con.execute(
                    f"INSERT INTO printed_sheet ({', '.join(PRINT_COLUMNS)}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (code, snapshot.school_year, school_id, class_id, summary.class_name, period,
                     snapshot.snapshot_id, fmt, actor, _stamp(printed_at)))
        except sqlite3.IntegrityError:  # the code is taken (about one chance in 10^11): redraw
            continue
        break
    records.audit(data_dir, actor, "sheet_print", print_code=code, school_id=school_id,
                  class_id=class_id, period=period, snapshot_id=snapshot.snapshot_id,
                  format=fmt, students=len(summary.rows))
    return code, content


def find_print(data_dir: Path | str, code: str) -> PrintedSheet:
    """The registered print with this code; an unknown or malformed code raises."""
    code = normalise_code(code)
    if not records.db_path(data_dir).exists():
        raise PrintingError("printing.unknown_code", code=code)
    with _connect(data_dir) as con:
        row = con.execute(f"SELECT {', '.join(PRINT_COLUMNS)} FROM printed_sheet "
                          "WHERE print_code = ?", (code,)).fetchone()
    # Another school's code reads as unknown: it says nothing about that school.
    if row is None or not scope.allows(row[PRINT_COLUMNS.index("school_id")]):
        raise PrintingError("printing.unknown_code", code=code)
    values = dict(zip(PRINT_COLUMNS, row))
    values["printed_at"] = datetime.fromisoformat(values["printed_at"])
    return PrintedSheet(**values)


def prints(data_dir: Path | str, school_year: str, school_id: str,
           period: str | None = None) -> pd.DataFrame:
    """Every registered print of a school's year (of one period, if given), newest first."""
    scope.check(school_id)
    if not records.db_path(data_dir).exists():
        return pd.DataFrame(columns=PRINT_COLUMNS)
    with _connect(data_dir) as con:
        rows = con.execute(
            f"SELECT {', '.join(PRINT_COLUMNS)} FROM printed_sheet WHERE school_year = ? "
            "AND school_id = ? AND (? IS NULL OR period = ?) ORDER BY printed_at DESC, rowid DESC",
            (school_year, school_id, period, period)).fetchall()
    return pd.DataFrame(rows, columns=PRINT_COLUMNS)


# --------------------------------------------------------------------------------------------
# Checking a sheet against the database
# --------------------------------------------------------------------------------------------

def _paper_differences(found: pd.DataFrame) -> pd.DataFrame:
    """Drop what paper cannot show: a year-end flag that is unset reads the same as one not
    entered (a blank cell either way)."""
    flags = found["field"].isin(["completed", "promoted"])
    unset = {side: found[side].isna() | (found[side] == "false") for side in ("before", "after")}
    return found[~(flags & unset["before"] & unset["after"])]


def _on_sheet(found: pd.DataFrame, class_ids: set[str], sheet_students: set[str],
              period: str) -> pd.DataFrame:
    """The differences a sheet of these classes and this period shows: the period's values of
    the students on the sheet or in the classes now, and students joining or leaving them."""
    joined_or_left = (found["item_type"] == "student") & (
        found["before"].isin(class_ids) | found["after"].isin(class_ids))
    values = (found["item_type"] != "student") & (found["period"] == period) & (
        found["class_id"].isin(class_ids) | found["student_id"].isin(sheet_students))
    return found[joined_or_left | values].reset_index(drop=True)


def check_by_code(data_dir: Path | str, code: str,
                  latest: snapshots.SnapshotInfo) -> tuple[PrintedSheet, pd.DataFrame]:
    """Every difference, on the printed sheet's class and period, between the snapshot it was
    printed from and `latest`, with the change request that covers it (request_id, decision
    approved / rejected / pending / none)."""
    sheet = find_print(data_dir, code)
    if latest.school_year != sheet.school_year:
        raise PrintingError("printing.other_year", code=sheet.print_code,
                            year=sheet.school_year, latest_year=latest.school_year)
    try:
        found = diff(data_dir, sheet.snapshot_id, latest.snapshot_id, sheet.school_id)
    except snapshots.SnapshotError as exc:
        raise PrintingError("printing.snapshot_missing", snapshot=sheet.snapshot_id) from exc
    printed = _run(data_dir, sheet.snapshot_id, "school_students", school_id=sheet.school_id)
    on_sheet = printed[(printed["class_id"] == sheet.class_id) & printed["active"]]
    found = _on_sheet(_paper_differences(found), {sheet.class_id},
                      set(on_sheet["student_id"]), sheet.period)
    return sheet, changes.annotate(found, changes.requests(data_dir, sheet.school_year,
                                                           sheet.school_id))


def record_check(data_dir: Path | str, *, school_year: str, school_id: str, class_id: str,
                 period: str, method: str, differences: int, actor: str | None,
                 print_code: str | None = None, note: str | None = None) -> int:
    """Record that a printed sheet was checked, how, and how many differences were found."""
    _check_period(period)
    if method not in CHECK_METHODS:
        raise PrintingError("printing.bad_method", method=method)
    with _connect(data_dir) as con:
        check_id = con.execute(
            "INSERT INTO sheet_check (print_code, school_year, school_id, class_id, period, "
            "method, checked_by, checked_at, differences, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (print_code, school_year, school_id, class_id, period, method, actor,
             _stamp(now_local()), int(differences), (note or "").strip() or None)).lastrowid
    records.audit(data_dir, actor, "sheet_check", id=check_id, print_code=print_code,
                  school_id=school_id, class_id=class_id, period=period, method=method,
                  differences=int(differences))
    return int(check_id)


@dataclass(frozen=True)
class UploadCheck:
    period: str
    class_ids: tuple[str, ...]  # the classes the file lists, each one printed sheet
    differences: pd.DataFrame  # diff columns + request_id, decision; before = the file's value


def _file_as_snapshot(con: duckdb.DuckDBPyConnection, parsed: ParsedFile,
                      school_id: str) -> None:
    """The file's values as the contract tables of an in-memory database `a`, so the one cell
    diff (queries/diff_cells.sql) compares it with a snapshot like any two snapshots."""
    con.execute("ATTACH ':memory:' AS a")
    con.execute("USE a")
    con.execute(snapshots.SCHEMA_SQL)
    roster = parsed.tables["roster"]
    frames = {
        "student": pd.DataFrame({"school_id": school_id, "student_id": roster["student_id"],
                                 "class_id": roster["class_id"],
                                 "full_name": roster["full_name"], "active": True}),
        **{name: parsed.tables[name].assign(school_id=school_id)
           for name in ("subject_result", "trait_result", "year_result")
           if name in parsed.tables},
    }
    for name, frame in frames.items():
        if frame.empty:
            continue
        cols = [c for c in snapshots.table_columns()[name] if c in frame.columns]
        con.register("incoming", frame[cols])
        con.execute(f'INSERT INTO a."{name}" ({", ".join(cols)}) SELECT {", ".join(cols)} '
                    "FROM incoming")
        con.unregister("incoming")
    con.execute("USE memory")


def check_upload(data_dir: Path | str, path: Path | str, display_name: str,
                 latest: snapshots.SnapshotInfo, school_id: str,
                 period_hint: str | None = None) -> UploadCheck:
    """Compare a results export (KQHT) that a sheet was printed from with `latest`: every
    level, score, trait and year-end value of its students that differs (before = the file's,
    after = the snapshot's). A file that cannot be read raises ImportRefused naming file, row
    and column; nothing is written."""
    parsed = readers.read_file(Path(path), display_name)
    if period_hint and [p.code for p in parsed.errors] == ["period_unknown"]:
        parsed = readers.read_file(Path(path), display_name, period_hint)  # the file is silent
    if parsed.errors:
        raise ImportRefused(parsed.errors)
    if parsed.kind != "results":
        raise ImportRefused([Problem(display_name, "printing_not_results")])
    roster = parsed.tables["roster"]
    known = _run(data_dir, latest.snapshot_id, "school_students", school_id=school_id)
    if len(roster) and not roster["student_id"].isin(known["student_id"]).any():
        raise ImportRefused([Problem(display_name, "no_known_students",
                                     params={"count": len(roster)})])
    if parsed.layout == "class_summary":
        # The summary names its class ("Lớp: 1A"), not the class code: a student listed in the
        # snapshot is on the sheet of the class the snapshot gives, so only values differ.
        class_of = dict(zip(known["student_id"], known["class_id"]))
        roster = roster.assign(class_id=[class_of.get(s, c) for s, c in
                                         zip(roster["student_id"], roster["class_id"])])
        parsed.tables["roster"] = roster
    con = snapshots.memory_connection(data_dir)  # may attach the snapshot, nothing else
    try:
        _file_as_snapshot(con, parsed, school_id)
        # ATTACH takes no bound parameter; the path is built from a validated snapshot id.
        con.execute(f"ATTACH '{snapshots.snapshot_path(data_dir, latest.snapshot_id).as_posix()}'"
                    " AS b (READ_ONLY)")
        found = queries.run(con, "diff_cells", school_ids=[school_id], period=None).drop(
            columns="school_id")
    finally:
        con.close()
    class_ids = set(roster["class_id"].dropna())
    found = _on_sheet(_paper_differences(found), class_ids, set(roster["student_id"]),
                      parsed.period)
    return UploadCheck(parsed.period, tuple(sorted(class_ids)), changes.annotate(
        found, changes.requests(data_dir, latest.school_year, school_id)))


# --------------------------------------------------------------------------------------------
# Totals typed from a sheet printed elsewhere
# --------------------------------------------------------------------------------------------

TOTAL_KEY = ["item_type", "item_code", "level"]
MIDDLE_LEVEL = "H/Đ"  # the typing grid's middle column: H for a subject, Đ for a trait
ITEM_GRID_LEVELS = ("T", MIDDLE_LEVEL, "C")


def _total_order(row: dict) -> tuple:
    if row["item_type"] == "year":
        return (2, 0, rules.CLASSIFICATIONS.index(row["level"]))
    scale = rules.SUBJECT_LEVELS if row["item_type"] == "subject" else rules.TRAIT_LEVELS
    return (*_column_order(SheetColumn(row["item_type"], row["item_code"], "level"))[:2],
            scale.index(row["level"]))


def class_totals(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
                 class_id: str, period: str) -> pd.DataFrame:
    """How many students of the class hold each level: per owed subject T/H/C, per trait
    T/Đ/C, at CN per classification HTXS/HTT/HT/CHT (item 'classification'). Zeros included."""
    _check_period(period)
    found = _run(data_dir, snapshot.snapshot_id, "class_totals", school_id=school_id,
                 class_id=class_id, period=period)
    found["count"] = found["count"].astype(int)
    order = [_total_order(row) for row in found.to_dict("records")]
    return found.iloc[sorted(range(len(found)), key=order.__getitem__)].reset_index(drop=True)


def typing_grids(actual: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Blank grids to type a printed sheet's totals into: 'items', one row per subject and
    trait with columns T, H/Đ, C; at CN also 'classification', one row of HTXS, HTT, HT, CHT."""
    items = actual[actual["item_type"] != "year"][["item_type", "item_code"]].drop_duplicates()
    grids = {"items": items.assign(**{level: pd.array([pd.NA] * len(items), dtype="Int64")
                                      for level in ITEM_GRID_LEVELS}).reset_index(drop=True)}
    if (actual["item_type"] == "year").any():
        grids["classification"] = pd.DataFrame(
            {level: pd.array([pd.NA], dtype="Int64") for level in rules.CLASSIFICATIONS})
    return grids


def typed_totals(grids: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The grids as long rows (item_type, item_code, level, typed); a blank stays NA."""
    rows = []
    for r in grids["items"].to_dict("records"):
        scale = rules.SUBJECT_LEVELS if r["item_type"] == "subject" else rules.TRAIT_LEVELS
        rows += [(r["item_type"], r["item_code"], level, r[slot])
                 for level, slot in zip(scale, ITEM_GRID_LEVELS)]
    if "classification" in grids:
        first = grids["classification"].iloc[0]
        rows += [("year", "classification", level, first[level])
                 for level in rules.CLASSIFICATIONS]
    typed = pd.DataFrame(rows, columns=[*TOTAL_KEY, "typed"])
    typed["typed"] = pd.array([None if pd.isna(v) else int(v) for v in typed["typed"]],
                              dtype="Int64")
    return typed


def compare_totals(typed: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Exactly the figures typed that differ from the database: item_type, item_code, level,
    typed, actual. A figure left blank is not compared."""
    merged = typed[[*TOTAL_KEY, "typed"]].dropna(subset=["typed"]).merge(
        actual.rename(columns={"count": "actual"})[[*TOTAL_KEY, "actual"]],
        on=TOTAL_KEY, how="left")
    merged["actual"] = merged["actual"].fillna(0).astype(int)
    merged["typed"] = merged["typed"].astype(int)
    return merged[merged["typed"] != merged["actual"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Sign-off and the status board
# --------------------------------------------------------------------------------------------

def sign_off(data_dir: Path | str, school_year: str, school_id: str, class_id: str,
             period: str, actor: str | None, note: str | None = None) -> int:
    """Record that leadership signed the class's printed summary off for the period."""
    rules.parse_school_year(school_year)
    _check_period(period)
    with _connect(data_dir) as con:
        sign_id = con.execute(
            "INSERT INTO sign_off (school_year, school_id, class_id, period, signed_by, "
            "signed_at, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (school_year, school_id, class_id, period, actor, _stamp(now_local()),
             (note or "").strip() or None)).lastrowid
    records.audit(data_dir, actor, "sheet_sign_off", id=sign_id, school_year=school_year,
                  school_id=school_id, class_id=class_id, period=period, note=note)
    return int(sign_id)


_LATEST_PER_CLASS = """
SELECT * FROM (
    SELECT {columns}, count(*) OVER (PARTITION BY class_id) AS {count},
           row_number() OVER (PARTITION BY class_id ORDER BY {moment} DESC, rowid DESC) AS n
    FROM {table} WHERE school_year = ? AND school_id = ? AND period = ?
) WHERE n = 1
"""
_BOARD_PARTS = {  # table → (its columns, as named on the board), the count's name, the time
    "printed_sheet": ({"class_id": "class_id", "print_code": "print_code",
                       "printed_at": "printed_at", "printed_by": "printed_by",
                       "snapshot_id": "printed_snapshot", "format": "format"},
                      "prints", "printed_at"),
    "sheet_check": ({"class_id": "class_id", "checked_at": "checked_at",
                     "checked_by": "checked_by", "method": "check_method",
                     "differences": "differences", "print_code": "checked_code"},
                    "checks", "checked_at"),
    "sign_off": ({"class_id": "class_id", "signed_at": "signed_at", "signed_by": "signed_by",
                  "note": "sign_note"}, "sign_offs", "signed_at"),
}
BOARD_COLUMNS = ["prints", "print_code", "printed_at", "printed_by", "printed_snapshot", "format",
                 "checks", "checked_at", "checked_by", "check_method", "differences",
                 "checked_code", "sign_offs", "signed_at", "signed_by", "sign_note"]


def status_board(data_dir: Path | str, school_year: str, school_id: str, period: str,
                 classes: pd.DataFrame) -> pd.DataFrame:
    """Per class of `classes`: its latest print (code, when, by whom, from which snapshot), its
    latest check (when, by whom, how, how many differences) and its latest sign-off; the counts
    of each; times as datetime, None where nothing was done."""
    scope.check(school_id)
    board = classes.copy()
    parts = []
    if records.db_path(data_dir).exists():
        with _connect(data_dir) as con:
            for table, (columns, count, moment) in _BOARD_PARTS.items():
                sql = _LATEST_PER_CLASS.format(
                    columns=", ".join(f"{c} AS {name}" for c, name in columns.items()),
                    count=count, moment=moment, table=table)
                rows = con.execute(sql, (school_year, school_id, period)).fetchall()
                parts.append(pd.DataFrame(rows, columns=[*columns.values(), count, "n"])
                             .drop(columns="n"))
    for part in parts:
        board = board.merge(part, on="class_id", how="left")
    board = board.reindex(columns=[*classes.columns, *BOARD_COLUMNS])
    for count in ("prints", "checks", "sign_offs"):
        board[count] = board[count].fillna(0).astype(int)
    board["differences"] = board["differences"].astype("Int64")
    for moment in ("printed_at", "checked_at", "signed_at"):
        board[moment] = pd.Series([None if pd.isna(v) else datetime.fromisoformat(v)
                                   for v in board[moment]], index=board.index, dtype=object)
    text = [c for c in BOARD_COLUMNS if c not in ("prints", "checks", "sign_offs", "differences",
                                                  "printed_at", "checked_at", "signed_at")]
    board[text] = board[text].astype(object).where(board[text].notna(), None)
    return board


def differences_by_class(found: pd.DataFrame,
                         class_ids: tuple[str, ...] | list[str]) -> dict[str, int]:
    """How many differences each class's sheet shows (a student moving between two of the
    classes counts on both sheets)."""
    moved = found["item_type"] == "student"
    return {c: int((((found["class_id"] == c) & ~moved)
                    | (moved & ((found["before"] == c) | (found["after"] == c)))).sum())
            for c in class_ids}


def store_demo_prints(data_dir: Path | str, only: list[str] | None = None) -> None:
    """The demo school's printed GK1 sheets: two printed from the latest snapshot (they match),
    and one printed the day after the lock for a class corrected since — it no longer matches.
    Idempotent: nothing is added when the demo already has prints."""
    from . import changes

    latest = snapshots.latest_snapshot(data_dir)
    if latest is None or latest.source != "demo":
        return
    for school_id in _school_ids(data_dir, latest):
        if only is not None and school_id not in only:
            continue  # a district's demo: paperwork for its first schools only
        if not prints(data_dir, latest.school_year, school_id).empty:
            continue
        [locked] = [lp for lp in changes.locked_periods(data_dir, latest, school_id)
                    if lp.period == "GK1"]
        snaps, _ = snapshots.list_snapshots(data_dir)
        after_lock = next(s for s in snaps if s.school_year == latest.school_year
                          and s.taken_at > locked.locked_at)
        # A class whose GK1 values were corrected after that print: its paper no longer matches.
        since = diff(data_dir, after_lock.snapshot_id, latest.snapshot_id, school_id, "GK1")
        stale_class = sorted(since.loc[since["change"] == "changed", "class_id"])[0]
        classes = sorted(set(_run(data_dir, latest.snapshot_id, "classes",
                                  school_id=school_id)["class_id"]) - {stale_class})
        day = after_lock.taken_at + timedelta(hours=1)
        print_sheet(data_dir, after_lock, school_id, stale_class, "GK1", "pdf", "quantri", at=day)
        for class_id in classes[:2]:
            code, _ = print_sheet(data_dir, latest, school_id, class_id, "GK1", "xlsx",
                                  "quantri", at=latest.taken_at + timedelta(hours=1))
            sign_off(data_dir, latest.school_year, school_id, class_id, "GK1", "hieutruong",
                     "Đã đối chiếu, khớp với bản in")


def _school_ids(data_dir: Path | str, snapshot: snapshots.SnapshotInfo) -> list[str]:
    return list(_run(data_dir, snapshot.snapshot_id, "school_ids")["school_id"])
