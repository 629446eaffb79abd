"""Excel files and CSV reports the app hands out. Excel: a title row saying what, which snapshot
and when; Vietnamese headers; text always written as a text cell, so a cell starting with
= + - @ never becomes a formula. CSV has no cell types: a spreadsheet opening it reads such text
as a formula, so `formula_safe` puts an apostrophe in front (`write_csv` for every CSV report)."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

import pandas as pd
import xlsxwriter

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# What Excel, LibreOffice and Google Sheets take as the start of a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula, with a leading apostrophe (shown as the
    text itself); numbers, dates and other text unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


_LONE_CR = re.compile(r"\r(?!\n)")


def _csv_text(value: object) -> object:
    value = formula_safe(value)
    # Python's csv quotes a cell holding "\n" but not one holding a lone "\r", which Excel
    # reads as a line break: "x\r=cmd" would put "=cmd" at the start of a cell. As "\n" the
    # cell is quoted and stays one cell.
    return _LONE_CR.sub("\n", value) if isinstance(value, str) else value


def csv_safe(table: pd.DataFrame) -> pd.DataFrame:
    """A copy with `formula_safe` over every text cell and header. Numeric and date columns,
    and text columns with nothing to neutralise, are left as they are (a negative number
    stays a number)."""
    out = table.copy()
    for i in range(out.shape[1]):
        series = out.iloc[:, i]
        if (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)
                or not any(isinstance(v, str) and _csv_text(v) != v for v in series)):
            continue
        out.isetitem(i, pd.Series([_csv_text(v) for v in series], index=series.index,
                                  dtype=object))
    out.columns = [_csv_text(c) for c in out.columns]
    return out


def write_csv(table: pd.DataFrame, stream: IO[str], **to_csv: object) -> None:
    """A CSV report: no index, "\n" line ends, text neutralised as `csv_safe` says."""
    to_csv.setdefault("lineterminator", "\n")
    csv_safe(table).to_csv(stream, index=False, **to_csv)


@dataclass
class Sheet:
    name: str
    table: pd.DataFrame  # already in display order, headers as the user reads them
    title: str
    subtitle: str = ""


def workbook(sheets: list[Sheet]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    bold = book.add_format({"bold": True, "font_size": 13})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                            "valign": "top"})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    moment = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    percent = book.add_format({"num_format": "0.0%"})
    used: set[str] = set()
    for sheet in sheets:
        ws = book.add_worksheet(_sheet_name(sheet.name, used))
        ws.write_string(0, 0, sheet.title, bold)
        if sheet.subtitle:
            ws.write_string(1, 0, sheet.subtitle)
        first = 3
        for col, header in enumerate(sheet.table.columns):
            ws.write_string(first, col, str(header), head)
            width = max([len(str(header))] + [len(str(v)) for v in sheet.table.iloc[:, col].head(200)])
            ws.set_column(col, col, min(max(width + 2, 8), 50))
        for r, row in enumerate(sheet.table.itertuples(index=False), start=first + 1):
            for c, value in enumerate(row):
                _write(ws, r, c, value, day, moment,
                       percent if _is_ratio(sheet.table.columns[c]) else None)
        ws.freeze_panes(first + 1, 0)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
    book.close()
    return buffer.getvalue()


def _is_ratio(header: object) -> bool:
    return str(header).strip().lower() in {"hoàn thành", "complete", "tỉ lệ", "rate"}


def _write(ws, r: int, c: int, value: object, day, moment, percent) -> None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return
    if isinstance(value, datetime):
        ws.write_datetime(r, c, value, moment)
    elif isinstance(value, date):
        ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
    elif isinstance(value, (bool,)):
        ws.write_boolean(r, c, value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(r, c, value, percent) if percent else ws.write_number(r, c, value)
    elif hasattr(value, "item"):  # numpy scalars
        _write(ws, r, c, value.item(), day, moment, percent)
    else:
        ws.write_string(r, c, str(value))  # never a formula, whatever the text starts with


def _sheet_name(name: str, used: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub(" ", name).strip()[:31] or "Sheet"
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate
