"""Every input bounded, every error named: files built to hurt the importing process.

Small files that declare 16,384 columns, hold a cell at XFD3000, 20,000 merges or a 100 MiB
string; CSV files with a stray quote, a field or line over 131,072 characters, CR-only line
ends, 48 MB; blank class codes; personal data behind an allowed header; a code column holding
personal ID numbers; a worker whose parent is killed. Every fixture is generated here.
"""
from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from csdl import i18n, ingest, readers, sheet_worker
from csdl.config import REPO_ROOT
from csdl.problems import ImportRefused, column_letter
from csdl.samples import write_csv, write_rows_xls, write_rows_xlsx

STUDENT_HEADER = ["Mã lớp", "Mã học sinh", "Họ tên", "Ngày sinh", "Giới tính", "Trạng thái HS"]
G4_SUBJECTS = ["Tiếng Việt", "Toán", "Đạo đức", "Khoa học"]
QUALITIES = ["Yêu nước", "Nhân ái", "Chăm chỉ", "Trung thực", "Trách nhiệm"]


def student_rows(n: int = 3, start: int = 1) -> list[list]:
    return [["4A", f"79{i:08d}", f"Học Sinh {i}", "02/09/2016", "Nam" if i % 2 else "Nữ",
             "Đang học"] for i in range(start, start + n)]


def where(parsed) -> list[tuple]:
    return [(p.code, p.severity, p.sheet, p.row, p.column) for p in parsed.problems]


def messages_read(parsed) -> None:
    """Every problem reads as a sentence in both languages, every {param} filled."""
    for problem in parsed.problems:
        for lang in i18n.LANGS:
            vi, en = i18n.TABLE["problem." + problem.code]
            (en if lang == "en" else vi).format(**problem.params)
            assert problem.file in problem.message(lang)


def col(name: str) -> int:
    """'XFD' → 16383."""
    n = 0
    for ch in name:
        n = n * 26 + ord(ch) - 64
    return n - 1


# --- an .xlsx written part by part, to say exactly what a file declares -------------------------

def raw_xlsx(cells: dict[tuple[int, int], object], *, merges=(), shared: list[str] | None = None,
             dimension: str | None = None) -> bytes:
    """One sheet "Sheet1": cells (r0, c0) → str (inline), number, or ("s", i) for shared
    string i; `merges` as "A1:B2" ranges; `dimension` the size the sheet declares."""
    by_row: dict[int, list] = {}
    for (r, c), v in cells.items():
        by_row.setdefault(r, []).append((c, v))
    xml = []
    for r in sorted(by_row):
        xml.append(f'<row r="{r + 1}">')
        for c, v in sorted(by_row[r]):
            ref = f"{column_letter(c)}{r + 1}"
            if isinstance(v, tuple):
                xml.append(f'<c r="{ref}" t="s"><v>{v[1]}</v></c>')
            elif isinstance(v, str):
                xml.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">'
                           f'{escape(v)}</t></is></c>')
            else:
                xml.append(f'<c r="{ref}"><v>{v}</v></c>')
        xml.append("</row>")
    merge_xml = (f'<mergeCells count="{len(merges)}">'
                 + "".join(f'<mergeCell ref="{m}"/>' for m in merges) + "</mergeCells>"
                 if merges else "")
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}" '
             f'xmlns:r="{rel}">' + (f'<dimension ref="{dimension}"/>' if dimension else "")
             + f'<sheetData>{"".join(xml)}</sheetData>{merge_xml}</worksheet>')
    overrides = (f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
                 f'<Override PartName="/xl/worksheets/sheet1.xml" '
                 f'ContentType="{ct}.worksheet+xml"/>')
    rels = (f'<Relationship Id="rId1" Type="{rel}/worksheet" '
            f'Target="worksheets/sheet1.xml"/>')
    if shared is not None:
        overrides += (f'<Override PartName="/xl/sharedStrings.xml" '
                      f'ContentType="{ct}.sharedStrings+xml"/>')
        rels += (f'<Relationship Id="rId2" Type="{rel}/sharedStrings" '
                 f'Target="sharedStrings.xml"/>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
                   'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   f"{overrides}</Types>")
        z.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships '
                   f'xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook '
                   f'xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="Sheet1" sheetId="1" '
                   'r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0" encoding="UTF-8"?>'
                   f'<Relationships xmlns="{pkg}">{rels}</Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8"?>'
                       f'<sst xmlns="{main}" count="{len(shared)}" '
                       f'uniqueCount="{len(shared)}">'
                       + "".join(f"<si><t>{escape(s)}</t></si>" for s in shared) + "</sst>")
    return buffer.getvalue()


def grid(rows: list[list], row0: int = 0) -> dict[tuple[int, int], object]:
    return {(row0 + r, c): v for r, row in enumerate(rows) for c, v in enumerate(row)
            if v not in (None, "")}


def student_list(n: int = 100) -> dict[tuple[int, int], object]:
    return grid([STUDENT_HEADER] + student_rows(n))


def read_bytes(tmp_path: Path, content: bytes, name: str):
    path = tmp_path / name
    path.write_bytes(content)
    parsed = readers.read_file(path)
    messages_read(parsed)
    return parsed


# --- CSV: parsed in the worker, under the same limits -------------------------------------------

def csv_text(rows: list[list[str]]) -> str:
    return "".join(";".join(row) + "\r\n" for row in rows)


def test_csv_quote_never_closed_names_its_cell(tmp_path):
    """A stray opening quote used to swallow the rest of the file into one cell, or raise
    `_csv.Error` at its end."""
    text = csv_text([STUDENT_HEADER] + student_rows(3)).replace("Học Sinh 3", '"Học Sinh 3')
    parsed = read_bytes(tmp_path, text.encode(), "hs.csv")
    assert where(parsed) == [("csv_quote_unclosed", "error", None, 4, "C")]
    assert parsed.problems[0].params["line"] == 4
    assert parsed.tables == {}


def test_csv_text_after_a_closing_quote_names_its_cell(tmp_path):
    text = csv_text([STUDENT_HEADER] + student_rows(3)).replace("Học Sinh 2", '"Học" Sinh 2')
    parsed = read_bytes(tmp_path, text.encode(), "hs.csv")
    assert where(parsed) == [("csv_quote_stray", "error", None, 3, "C")]


def test_csv_quote_closed_many_lines_later_is_refused(tmp_path):
    """A quote closed 30 lines below makes one cell of 30 rows: students would be lost."""
    rows = [STUDENT_HEADER] + student_rows(40)
    text = csv_text(rows).replace("Học Sinh 5", '"Học Sinh 5').replace("Học Sinh 35",
                                                                         'Học Sinh 35"')
    parsed = read_bytes(tmp_path, text.encode(), "hs.csv")
    assert where(parsed)[0][:5] == ("csv_quote_unclosed", "error", None, 6, "C")


def test_csv_quote_inside_a_field_is_text(tmp_path):
    text = csv_text([STUDENT_HEADER] + student_rows(2)).replace("Học Sinh 2", 'Lê "Bé" Hai')
    parsed = read_bytes(tmp_path, text.encode(), "hs.csv")
    assert parsed.problems == []
    assert parsed.tables["student"].full_name.tolist() == ["Học Sinh 1", 'Lê "Bé" Hai']


def test_csv_with_cr_only_line_ends_is_read(tmp_path):
    """Old Mac Excel ends lines with a lone CR: it used to raise `_csv.Error`."""
    text = csv_text([STUDENT_HEADER] + student_rows(3)).replace("\r\n", "\r")
    parsed = read_bytes(tmp_path, text.encode("utf-8-sig"), "hs.csv")
    assert parsed.problems == [] and parsed.kind == "students"
    assert parsed.tables["student"].student_id.tolist() == ["7900000001", "7900000002",
                                                            "7900000003"]


def test_csv_field_over_131072_characters_is_named(tmp_path):
    rows = [STUDENT_HEADER] + student_rows(2)
    rows[2][2] = "a" * 131_073
    parsed = read_bytes(tmp_path, csv_text(rows).encode(), "hs.csv")
    assert where(parsed) == [("cell_too_long", "error", None, 3, "C")]
    assert parsed.problems[0].params["length"] == sheet_worker.count(131_073)


def test_csv_line_over_131072_characters(tmp_path):
    """A long line of a few long cells is read; 70,000 cells on one line are too many columns,
    the first one beyond the limit named."""
    rows = [STUDENT_HEADER + ["Ghi chú"]] + [row + ["x" * 30_000] for row in student_rows(2)]
    rows[1] += ["y" * 30_000] * 4  # 150,000 characters on that line
    parsed = read_bytes(tmp_path, csv_text(rows).encode(), "long.csv")
    assert parsed.problems == [] and parsed.rows == 2
    rows = [STUDENT_HEADER, student_rows(1)[0] + ["1"] * 70_000]
    parsed = read_bytes(tmp_path, csv_text(rows).encode(), "wide.csv")
    assert where(parsed) == [("too_many_columns", "error", None, 2,
                              column_letter(sheet_worker.MAX_COLUMNS))]


def test_csv_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """A 48 MB CSV took 1.5 GB in the importing process: now it is refused by its size."""
    path = tmp_path / "hs.csv"
    line = b"7900000001;Hoc Sinh;Nam\r\n"
    with path.open("wb") as out:
        out.write("Mã học sinh;Họ tên;Giới tính\r\n".encode())
        for _ in range((48 << 20) // (len(line) * 4096)):
            out.write(line * 4096)
    assert path.stat().st_size > 47 << 20
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the file was read"))
    parsed = readers.read_file(path)
    assert where(parsed) == [("file_too_large", "error", None, None, None)]
    assert parsed.problems[0].params == {"size_mb": "48", "limit_mb": "32"}
    messages_read(parsed)
    with pytest.raises(ImportRefused) as refused:
        readers.load_sheets(path, "hs.csv")
    assert refused.value.problems[0].code == "file_too_large"


def test_csv_with_too_many_cells_is_refused(tmp_path):
    width = 250
    rows = ["Mã học sinh;Họ tên;" + ";".join(f"c{i}" for i in range(width - 2))]
    rows += [";".join(["1"] * width)] * (sheet_worker.MAX_CELLS // width + 1)
    parsed = read_bytes(tmp_path, "\n".join(rows).encode(), "many.csv")
    assert [(p.code, p.row) for p in parsed.problems] == [
        ("too_many_cells", sheet_worker.MAX_CELLS // width + 1)]  # header and rows: 250 each


def test_csv_blank_lines_after_the_data_cost_nothing(tmp_path):
    text = csv_text([STUDENT_HEADER] + student_rows(3)) + "\n" * 500_000 + ";;;\n" * 1000
    start = time.perf_counter()
    parsed = read_bytes(tmp_path, text.encode(), "hs.csv")
    assert parsed.problems == [] and parsed.rows == 3
    sheet = readers.load_sheets(tmp_path / "hs.csv", "hs.csv")[0]
    assert len(sheet.rows) == 4  # the blank rows after the last student are not kept
    assert time.perf_counter() - start < 10


def test_csv_is_parsed_by_the_worker(tmp_path, monkeypatch):
    calls = []
    real = sheet_worker.read_csv
    monkeypatch.setattr(sheet_worker, "read_csv", lambda data: calls.append(len(data))
                        or real(data))
    path = write_csv(tmp_path / "hs.csv", [STUDENT_HEADER] + student_rows(2))
    assert readers.read_file(path).kind == "students"
    assert calls == [path.stat().st_size]


# --- workbooks: only the used range leaves the worker -------------------------------------------

def test_a_sheet_declaring_16384_columns_is_read_within_its_used_range(tmp_path):
    """Empty text cells out to XFD on every row: the rows are not materialised that wide."""
    cells = student_list(100) | {(r, col("XFD")): "" for r in range(101)}
    cells |= {(r, col("XFA")): "  " for r in range(0, 101, 7)}  # blanks that hold spaces
    path = tmp_path / "C1-HocSinh.xlsx"
    path.write_bytes(raw_xlsx(cells, dimension="A1:XFD1048576"))
    parsed = readers.read_file(path)
    assert parsed.problems == [] and parsed.rows == 100
    sheet = readers.load_sheets(path, path.name)[0]
    assert max(len(r) for r in sheet.rows) == len(STUDENT_HEADER) and len(sheet.rows) == 101


def test_a_cell_beyond_the_column_limit_is_refused_naming_it(tmp_path):
    parsed = read_bytes(tmp_path, raw_xlsx(student_list(5) | {(200, col("XFD")): "x"}),
                        "C1-HocSinh.xlsx")
    assert where(parsed) == [("too_many_columns", "error", "Sheet1", 201, "XFD")]


def test_a_value_beyond_the_row_limit_is_refused_naming_its_row(tmp_path):
    cells = student_list(5) | {(sheet_worker.MAX_ROWS, 1): "x"}
    parsed = read_bytes(tmp_path, raw_xlsx(cells), "C1-HocSinh.xlsx")
    assert where(parsed) == [("too_many_rows", "error", "Sheet1", sheet_worker.MAX_ROWS + 1,
                              None)]


def test_the_declared_dimension_never_cuts_real_rows(tmp_path):
    """DOMAIN.md §4: a staff export declaring A1:BS4 while holding 16,000+ rows."""
    header = ["Mã cán bộ", "Họ tên", "Giới tính", "Trạng thái CB", "Vị trí việc làm"]
    rows = [header] + [[f"CB{i:05d}", f"Cán Bộ {i}", "Nữ", "Đang làm việc", "Giáo viên"]
                       for i in range(16_500)]
    xlsx = tmp_path / "CSDL_GiaoVien.xlsx"
    xlsx.write_bytes(raw_xlsx(grid(rows), dimension="A1:BS4"))
    xls = write_rows_xls(tmp_path / "CSDL_GiaoVien.xls", {"Sheet1": rows})
    content = bytearray(xls.read_bytes())
    at = content.find(struct.pack("<HHIIHHH", 0x0200, 14, 0, len(rows), 0, len(header), 0))
    assert at > 0  # the DIMENSIONS record xlwt wrote: now it says A1:BS4
    content[at + 4:at + 18] = struct.pack("<IIHHH", 0, 4, 0, 71, 0)
    xls.write_bytes(bytes(content))
    for path in (xlsx, xls):
        parsed = readers.read_file(path)
        assert parsed.problems == [] and parsed.rows == 16_500, path.name
        assert parsed.tables["staff"].staff_id.iloc[-1] == "CB16499"


def test_merges_beyond_the_used_range_are_dropped(tmp_path):
    merges = [f"A{r}:XFD{r}" for r in range(500, 20_500)] + ["A1:XFD1048576"] * 5
    path = tmp_path / "C1-HocSinh.xlsx"
    path.write_bytes(raw_xlsx(student_list(100), merges=merges))
    start = time.perf_counter()
    parsed = readers.read_file(path)
    assert parsed.problems == [] and parsed.rows == 100
    assert readers.load_sheets(path, path.name)[0].merged == [(0, 0, 100, 5)]
    assert time.perf_counter() - start < 5


def kqht(n: int = 3) -> tuple[list[list], list[str]]:
    """A KQHT-like results sheet: three header rows, merged identity cells."""
    r1 = ["STT", "Mã lớp", "Mã học sinh", "Họ tên", "Môn học và hoạt động giáo dục", "", "", "",
          "Phẩm chất", "", "", "", ""]
    r2 = ["", "", "", ""] + G4_SUBJECTS + QUALITIES
    r3 = [""] * len(r1)
    rows = [["Khối 4 - Cuối học kỳ I"], r1, r2, r3]
    rows += [[i, "4A", f"79{i:08d}", f"Học Sinh {i}", "T", "H", "T", "C", "T", "Đ", "T", "Đ", "T"]
             for i in range(1, n + 1)]
    merges = [f"{c}2:{c}4" for c in "ABCD"] + ["E2:H2", "I2:M2"] + [
        f"{column_letter(c)}3:{column_letter(c)}4" for c in range(4, 13)]
    return rows, merges


def test_overlapping_merges_over_a_results_header_are_cheap(tmp_path):
    """20,000 merges over the header block, each across the whole sheet: filled once a cell."""
    rows, merges = kqht()
    hostile = [f"A{r}:{column_letter(c)}{r + 2}" for r in (2, 3) for c in range(4, 13)] * 1000
    hostile += [f"E3:{column_letter(c)}1048576" for c in range(4, 13)] * 200
    path = tmp_path / "KQHT_Khoi4.xlsx"
    path.write_bytes(raw_xlsx(grid(rows), merges=merges + hostile[:20_000]))
    start = time.perf_counter()
    parsed = readers.read_file(path, period_hint="CK1")
    assert time.perf_counter() - start < 5
    assert parsed.kind == "results"  # the header block is garbled, but only named problems
    messages_read(parsed)
    clean = tmp_path / "clean.xlsx"
    clean.write_bytes(raw_xlsx(grid(rows), merges=merges))
    parsed = readers.read_file(clean)
    assert parsed.errors == [] and parsed.summary["values"] == 3 * 9


# The worker's own functions, run here with smaller limits (the worker's are its module's).
def parse_here(data: bytes, monkeypatch, **limits) -> list[tuple]:
    import python_calamine

    from csdl.text import nfc

    with monkeypatch.context() as patch:  # each call with its own limits
        for name, value in limits.items():
            patch.setattr(sheet_worker, name, value)
        cells = sheet_worker._Cells(nfc.__wrapped__)
        if data.startswith((readers.OLE2_MAGIC, readers.ZIP_MAGIC)):
            return sheet_worker._parse_workbook(data, python_calamine, cells)
        return sheet_worker._parse_csv(data, cells)


def refusal(data: bytes, monkeypatch, **limits) -> tuple:
    with pytest.raises(sheet_worker.SheetRefused) as refused:
        parse_here(data, monkeypatch, **limits)
    exc = refused.value
    return (exc.code, exc.sheet, exc.row0, exc.col)


def test_limits_of_the_worker_name_where_they_are_reached(monkeypatch):
    students = raw_xlsx(student_list(20), merges=[f"B{r}:C{r}" for r in range(2, 22)])
    assert refusal(students, monkeypatch, MAX_MERGES=19) == ("too_many_merges", "Sheet1",
                                                             None, None)
    assert refusal(students, monkeypatch, MAX_CELLS=100) == ("too_many_cells", "Sheet1", 16,
                                                             None)
    assert refusal(students, monkeypatch, MAX_TEXT_CHARS=500) == ("too_much_text", "Sheet1",
                                                                  11, None)
    far = raw_xlsx(student_list(3) | {(0, col("XFD")): "x"})
    # the grid's last cell: its last row and its last column
    assert refusal(far, monkeypatch, MAX_GRID_CELLS=1000) == ("sheet_too_large", "Sheet1", 3,
                                                              col("XFD"))
    text = csv_text([STUDENT_HEADER] + student_rows(3)).encode()
    assert refusal(text, monkeypatch, MAX_COLUMNS=4) == ("too_many_columns", None, 0, 4)
    assert refusal(text, monkeypatch, MAX_ROWS=2) == ("too_many_rows", None, 2, None)
    sheets, merged = parse_here(students, monkeypatch, MAX_MERGES=20)[0][1:]
    assert len(sheets) == 21 and len(merged) == 20


def test_a_100_mib_shared_string_is_refused_not_stored(tmp_path):
    """It used to be stored as a student code after 24+ s in the importing process."""
    cells = grid([STUDENT_HEADER]) | {(1, 0): "4A", (1, 1): ("s", 0), (1, 2): "An"}
    parsed = read_bytes(tmp_path, raw_xlsx(cells, shared=["9" * (100 << 20)]),
                        "C1-HocSinh.xlsx")
    assert where(parsed) == [("cell_too_long", "error", "Sheet1", 2, "B")]
    assert parsed.tables == {} and parsed.rows == 0


def test_an_archive_that_unpacks_beyond_the_limit_is_refused(tmp_path):
    content = bytearray(raw_xlsx(student_list(3)))
    entry = content.find(b"PK\x01\x02")  # the first central directory entry: claim 600 MB
    while entry >= 0:
        content[entry + 24:entry + 28] = struct.pack("<I", 600 << 20)
        entry = content.find(b"PK\x01\x02", entry + 4)
    parsed = read_bytes(tmp_path, bytes(content), "C1-HocSinh.xlsx")
    assert [p.code for p in parsed.problems] == ["file_unzipped_too_large"]


def test_too_many_sheets_are_refused(tmp_path, monkeypatch):
    sheets = {f"S{i}": [["x"]] for i in range(5)}
    path = write_rows_xlsx(tmp_path / "many.xlsx", sheets)
    assert refusal(path.read_bytes(), monkeypatch, MAX_SHEETS=4)[0] == "too_many_sheets"


# --- the importing process itself stays small ----------------------------------------------

PROBE = textwrap.dedent("""
    import json, resource, sys, time
    from csdl import readers
    def cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)  # this process, not the worker
        return usage.ru_utime + usage.ru_stime
    readers.read_file(sys.argv[1])  # the worker started, the modules warm
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {}
    for path in sys.argv[2:]:
        start, wall = cpu(), time.perf_counter()
        parsed = readers.read_file(path)
        out[path] = {"cpu": cpu() - start, "wall": time.perf_counter() - wall,
                     "errors": [[p.code, p.sheet, p.row, p.column] for p in parsed.errors],
                     "tables": sorted(parsed.tables)}
    out["grew_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    print(json.dumps(out))
""")


def test_hostile_workbooks_cost_the_importing_process_little(tmp_path):
    """The issue's cases cost 24–212 s of CPU and up to 1.2 GB in the importing process (the
    Streamlit server): now the worker does the work and sends back a refusal or a small file."""
    files = {
        "cols.xlsx": raw_xlsx(student_list(2000) | {(r, col("XFD")): "" for r in range(2001)}),
        "xfd.xlsx": raw_xlsx(student_list(5) | {(2999, col("XFD")): "x"}),
        "merges.xlsx": raw_xlsx(grid(kqht()[0]), merges=["A1:XFD1048576"] * 10_000
                                + [f"A{r}:XFD{r + 3}" for r in range(1, 10_001)]),
        "string.xlsx": raw_xlsx(grid([STUDENT_HEADER]) | {(1, 0): "4A", (1, 1): ("s", 0)},
                                shared=["9" * (100 << 20)]),
        "wide.csv": csv_text([STUDENT_HEADER] + [r + ["1"] * 20_000
                                                 for r in student_rows(100)]).encode(),
        "texts.xlsx": distinct_texts(sheets=32, rows=40, columns=250),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    warm = write_csv(tmp_path / "warm.csv", [STUDENT_HEADER] + student_rows(2))
    done = subprocess.run([sys.executable, "-c", PROBE, str(warm)]
                          + [str(tmp_path / n) for n in files],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for name in files:
        case = result[str(tmp_path / name)]
        assert case["cpu"] < 2.0, (name, case)
        assert case["wall"] < 30, (name, case)
    def errors(name):
        return [tuple(e) for e in result[str(tmp_path / name)]["errors"]]

    assert errors("cols.xlsx") == []  # 2,000 students, read within their six columns
    assert errors("xfd.xlsx") == [("too_many_columns", "Sheet1", 3000, "XFD")]
    assert errors("string.xlsx") == [("cell_too_long", "Sheet1", 2, "B")]
    assert result[str(tmp_path / "string.xlsx")]["tables"] == []  # never stored as a code
    assert errors("wide.csv") == [("too_many_columns", None, 2,
                                 column_letter(sheet_worker.MAX_COLUMNS))]
    assert errors("texts.xlsx") == [("kind_unknown", "S0", None, None)]  # 320,000 texts
    assert result["grew_mb"] < 100, result


def distinct_texts(sheets: int, rows: int, columns: int) -> bytes:
    """Sheets full of distinct short texts: every one a header candidate to fold."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    n = 0
    for s in range(sheets):
        sheet = book.add_worksheet(f"S{s}")
        for r in range(rows):
            for c in range(columns):
                sheet.write_string(r, c, f"Mã {n} học")
                n += 1
    book.close()
    return buffer.getvalue()


def test_a_flood_of_bad_cells_stops_reading_with_one_error(tmp_path):
    """Thousands of bad cells mean a file that is not what it claims: problems are listed up
    to MAX_PROBLEMS, then one error says so and reading stops."""
    rows, merges = kqht(0)
    n = readers.MAX_PROBLEMS // 9 + 10
    rows += [[i, "4A", f"79{i:08d}", f"Học Sinh {i}"] + [f"?{i}-{c}" for c in range(9)]
             for i in range(1, n + 1)]
    path = tmp_path / "KQHT_Khoi4.xlsx"
    path.write_bytes(raw_xlsx(grid(rows), merges=merges))
    parsed = readers.read_file(path)
    messages_read(parsed)
    assert [p.code for p in parsed.errors] == ["too_many_problems"]
    assert len(parsed.problems) == readers.MAX_PROBLEMS + 1
    assert len(parsed.invalid) == readers.MAX_PROBLEMS
    assert parsed.errors[0].row == 4 + readers.MAX_PROBLEMS // 9 + 1


# --- a blank class code is named when the file is read -------------------------------------------

def test_blank_class_code_in_a_student_list_names_the_cell(tmp_path):
    """It passed reading and failed when the snapshot was written ("NOT NULL constraint
    failed: class.class_id"), naming no cell."""
    rows = [STUDENT_HEADER] + student_rows(3)
    rows[2][0] = ""
    path = write_rows_xlsx(tmp_path / "C1-HocSinh.xlsx", {"Sheet1": rows})
    parsed = readers.read_file(path)
    messages_read(parsed)
    assert where(parsed) == [("class_code_missing", "error", "Sheet1", 3, "A")]
    assert parsed.problems[0].params == {"id": "7900000002", "name": "Học Sinh 2"}
    with pytest.raises(ImportRefused) as refused:
        ingest.prepare_import([parsed], tmp_path / "data", school_id="S1",
                              taken_at=datetime(2027, 1, 5))
    assert [p.code for p in refused.value.problems] == ["class_code_missing"]


def test_blank_class_code_in_a_results_template_names_the_cell(tmp_path):
    rows, merges = kqht()
    rows[5][1] = ""
    path = tmp_path / "KQHT_Khoi4.xlsx"
    path.write_bytes(raw_xlsx(grid(rows), merges=merges))
    parsed = readers.read_file(path)
    messages_read(parsed)
    assert where(parsed) == [("class_code_missing", "error", "Sheet1", 6, "B")]


def test_a_class_column_left_blank_everywhere_is_like_no_column(tmp_path):
    rows, merges = kqht()
    for row in rows[4:]:
        row[1] = ""
    path = tmp_path / "KQHT_Khoi4.xlsx"
    path.write_bytes(raw_xlsx(grid(rows), merges=merges))
    assert readers.read_file(path).problems == []


def test_blank_class_code_in_assignments_names_the_cell(tmp_path):
    rows = [list(readers.ASSIGNMENT_COLUMNS), ["3A", "3A", 3, "Toán", "GV1", "Cô Một"],
            ["", "", 3, "Tiếng Việt", "GV2", "Cô Hai"]]
    parsed = readers.read_file(write_rows_xlsx(tmp_path / "pc.xlsx", {"PC": rows}))
    assert where(parsed) == [("class_missing", "warning", "PC", 3, "A")]
    assert parsed.tables["class"].class_id.tolist() == ["3A"]


# --- personal data, by any header ----------------------------------------------------------------

PERSONAL_HEADERS = ["Số định danh cá nhân", "CCCD", "Số CMND", "Mã định danh cá nhân",
                    "Họ tên cha", "Họ tên mẹ", "Họ tên bố", "Phụ huynh", "Người giám hộ",
                    "Điện thoại", "SĐT", "Số ĐT phụ huynh", "Địa chỉ", "Nơi ở hiện nay",
                    "Email", "E-mail", "Số sổ BHXH", "Bảo hiểm y tế", "Lương", "Lương cơ bản",
                    "Tài khoản ngân hàng", "Họ tên (cha)", "Ho ten me", "Dien thoai",
                    "Nơi thường trú", "Quê quán", "Tôn giáo", "Mã số thuế"]


@pytest.mark.parametrize("header", PERSONAL_HEADERS)
def test_personal_data_headers_are_never_read_and_listed(tmp_path, header):
    secret = "079188000111-bí-mật"
    rows = [[header] + STUDENT_HEADER] + [[secret] + r for r in student_rows(2)]
    parsed = readers.read_file(write_rows_xlsx(tmp_path / "hs.xlsx", {"Sheet1": rows}))
    assert parsed.kind == "students" and parsed.errors == []
    assert parsed.skipped == [{"sheet": "Sheet1", "column": "A", "header": header,
                               "reason": "personal_data"}]
    values = {str(v) for frame in parsed.tables.values() for v in frame.to_numpy().ravel()}
    assert secret not in values
    _, not_read = ingest.preview([parsed])
    assert not_read.reason.tolist() == ["personal_data"]
    assert i18n.t("data.not_read_personal_data", "vi") != "data.not_read_personal_data"


def test_an_allowed_header_with_a_personal_note_is_dropped_first(tmp_path):
    """'Mã học sinh (Số định danh cá nhân)' placed first stored the personal ID numbers as the
    student codes; 'Họ tên (cha)' stored the parents' names."""
    header = ["Mã học sinh (Số định danh cá nhân)", "Họ tên (cha)"] + STUDENT_HEADER
    rows = [header] + [["001215000123", "Trần Văn Cha"] + r for r in student_rows(2)]
    parsed = readers.read_file(write_rows_xlsx(tmp_path / "hs.xlsx", {"Sheet1": rows}))
    assert parsed.errors == [] and parsed.warnings == []
    student = parsed.tables["student"]
    assert student.student_id.tolist() == ["7900000001", "7900000002"]
    assert student.full_name.tolist() == ["Học Sinh 1", "Học Sinh 2"]
    assert [(s["column"], s["reason"]) for s in parsed.skipped] == [
        ("A", "personal_data"), ("B", "personal_data")]


def test_a_personal_id_column_alone_is_no_student_code(tmp_path):
    rows = [["Mã học sinh (Số định danh cá nhân)", "Họ tên", "Giới tính", "Mã lớp"],
            ["001215000123", "An", "Nam", "4A"]]
    parsed = readers.read_file(write_rows_xlsx(tmp_path / "hs.xlsx", {"Sheet1": rows}))
    assert [(p.code, p.column) for p in parsed.errors] == [("column_missing", "Mã học sinh")]
    assert parsed.skipped[0]["reason"] == "personal_data"


def test_personal_columns_in_a_results_file_are_skipped(tmp_path):
    rows, merges = kqht()
    for i, row in enumerate(rows):
        row.insert(4, "Họ tên cha" if i == 1 else "" if i < 4 else "Trần Văn Cha")
    merges = [f"{c}2:{c}4" for c in "ABCDE"] + ["F2:I2", "J2:N2"] + [
        f"{column_letter(c)}3:{column_letter(c)}4" for c in range(5, 14)]
    path = tmp_path / "KQHT_Khoi4.xlsx"
    path.write_bytes(raw_xlsx(grid(rows), merges=merges))
    parsed = readers.read_file(path)
    assert parsed.errors == [] and parsed.summary["values"] == 3 * 9
    assert [(s["column"], s["header"], s["reason"]) for s in parsed.skipped
            if s["reason"] == "personal_data"] == [("E", "Họ tên cha", "personal_data")]


def test_allowed_headers_are_not_taken_for_personal_data(tmp_path):
    """'Chăm chỉ' holds 'chi' not 'cha'; 'Mã định danh Bộ GD&ĐT' is the ministry's student
    code; 'Số lượng' is a count, not 'lương'; no alias of the readers names personal data."""
    rows, merges = kqht()
    rows[1][2] = "Mã định danh\nBộ GD&ĐT"
    path = tmp_path / "KQHT_Khoi4.xlsx"
    path.write_bytes(raw_xlsx(grid(rows), merges=merges))
    parsed = readers.read_file(path)
    assert parsed.errors == [] and "PC_CHAMCHI" in set(parsed.tables["trait_result"].trait_code)
    assert parsed.tables["roster"].student_id.tolist()[0] == "7900000001"
    aliases = [t for texts in readers.ITEM_ALIASES.values() for t in texts]
    fields = [readers._RESULT_FIELDS, readers._STUDENT_FIELDS, readers._STAFF_FIELDS,
              readers._ASSIGNMENT_FIELDS, readers._ROOM_FIELDS, readers._EQUIPMENT_FIELDS]
    aliases += [t for f in fields for t in f.labels.values()]
    aliases += [t for _, columns, _ in (s for k in readers.TEMPLATES.values() for s in k)
                for t in columns]
    from csdl import rules

    aliases += [s.name_vi for s in rules.SUBJECTS] + [t.name_vi for t in rules.TRAITS]
    assert [a for a in aliases if readers._personal(a)] == []


@pytest.mark.parametrize("kind", ["students", "results", "staff"])
def test_a_code_column_of_personal_id_numbers_is_refused(tmp_path, kind):
    if kind == "students":
        rows = [STUDENT_HEADER] + student_rows(3)
        rows[2][1], code_col = "001215000123", "B"
        path = write_rows_xlsx(tmp_path / "hs.xlsx", {"Sheet1": rows})
    elif kind == "staff":
        rows = [["Mã cán bộ", "Họ tên", "Giới tính", "Trạng thái CB"],
                [79188000111.0 + 1e11, "Cô Một", "Nữ", "Đang làm việc"]]  # a number cell
        path, code_col = write_rows_xls(tmp_path / "gv.xls", {"Sheet1": rows}), "A"
    else:
        rows, merges = kqht()
        rows[6][2], code_col = "079188000111", "C"
        path = tmp_path / "KQHT_Khoi4.xlsx"
        path.write_bytes(raw_xlsx(grid(rows), merges=merges))
    parsed = readers.read_file(path)
    messages_read(parsed)
    assert [(p.code, p.column) for p in parsed.errors] == [("code_personal_id", code_col)]
    values = {str(v) for frame in parsed.tables.values() for v in frame.to_numpy().ravel()}
    assert not any(len(v) == 12 and v.isdigit() for v in values)


def test_a_student_code_over_20_characters_is_a_bad_value(tmp_path):
    rows = [STUDENT_HEADER] + student_rows(3)
    rows[2][1] = "7" * 30_000
    parsed = readers.read_file(write_rows_xlsx(tmp_path / "hs.xlsx", {"Sheet1": rows}))
    assert where(parsed) == [("code_too_long", "warning", "Sheet1", 3, "B")]
    assert parsed.tables["student"].student_id.tolist() == ["7900000001", "7900000003"]
    shown = parsed.invalid[0]["raw_value"]
    assert len(shown) <= 201 and shown.startswith("777")


# --- the worker dies with its parent, and only then ----------------------------------------

PARENT = textwrap.dedent("""
    import os, sys, threading, time
    from csdl import sheet_worker
    sheet_worker.read_csv(b"a;b\\n1;2\\n")  # starts the worker
    helper = os.fork()
    if helper == 0:  # a forked process keeps the worker's stdin open after the parent dies
        time.sleep(120)
        os._exit(0)
    print(sheet_worker._worker.pid, helper, flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and fork")
def test_the_worker_dies_with_its_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, text=True)
    helper = None
    try:
        worker, helper = map(int, parent.stdout.readline().split())
        assert _alive(worker)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        if helper is not None and _alive(helper):
            os.kill(helper, signal.SIGKILL)


def test_the_worker_outlives_the_thread_that_started_it():
    """Linux sends the parent-death signal when the starting *thread* ends; Streamlit runs each
    script run in its own thread, so the worker is started from a thread of its own."""
    script = textwrap.dedent("""
        import threading, time
        from csdl import sheet_worker
        thread = threading.Thread(target=sheet_worker.read_csv, args=(b"a;b\\n",))
        thread.start(); thread.join()
        first = sheet_worker._worker.pid
        time.sleep(1.5)
        assert sheet_worker._worker.poll() is None, "the worker died with its thread"
        sheet_worker.read_csv(b"a;b\\n")
        assert sheet_worker._worker.pid == first
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_every_refusal_has_both_messages():
    for code in sheet_worker.REFUSAL_CODES + ("code_personal_id", "class_code_missing",
                                              "code_too_long"):
        vi, en = i18n.TABLE["problem." + code]
        assert vi != en, code
