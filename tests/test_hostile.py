"""Hostile input: mutated spreadsheets and CSVs never raise a traceback, text that looks like a
formula is never a formula in the Excel files the app writes, and names holding HTML or
Markdown are shown as text on the pages.

The property tests are bounded (max_examples) so that the file runs in well under a minute.
"""
from __future__ import annotations

import codecs
import io
import math
import re
import tempfile
import unicodedata
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from streamlit.testing.v1 import AppTest

from csdl import (exports, figures, i18n, ingest, printing, progress, queries, readers,
                  schedule, snapshots, spotcheck)
from csdl.config import REPO_ROOT
from csdl.literal import literal
from csdl.parsed import KINDS, ParsedFile
from csdl.problems import ImportRefused
from csdl.samples import write_csv, write_rows_xls, write_rows_xlsx, write_sector_files
from tests.conftest import small_school_tables, bind_session
from tests.readers_fixtures import SCHOOL_ID, SCHOOL_NAME, SCHOOL_YEAR, contract_tables

TAKEN_AT = datetime(2027, 1, 8, 17, 0)
PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)",
            '=HYPERLINK("http://x","bấm vào")', "=1+1"]
MARKUP_NAMES = ["<img src=x onerror=alert(1)>", "**đậm**", "[link](http://x)",
                "![ảnh](http://x/a.png)", "# Tiêu đề", "_nghiêng_ `mã` $x^2$ :red[đỏ]"]
H5_NAME = "**Vũ** <img src=x onerror=alert(1)> [Giang](http://x)"  # the changed value's student


# --- files to mutate: the sector's formats, written by csdl.samples, and a base to merge onto ---

class Quiet(dict):
    """A fixture's dict that a failing example prints as one short line, not 280 kB of bytes."""

    def __repr__(self) -> str:
        return f"<{len(self)} entries: {', '.join(sorted(self))}>"


@pytest.fixture(scope="module")
def real_files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("real")
    paths = write_sector_files(contract_tables(), folder, school_id=SCHOOL_ID,
                               school_name=SCHOOL_NAME, school_year=SCHOOL_YEAR,
                               periods=["CK1", "CN"])
    students = readers.load_sheets(folder / "C1-HocSinh.xls", "C1-HocSinh.xls")
    paths.append(write_csv(folder / "hoc_sinh.csv", students[0].rows, encoding="utf-8-sig"))
    return Quiet({p.name: p.read_bytes() for p in paths})


@pytest.fixture(scope="module")
def layouts(real_files, tmp_path_factory) -> dict[str, dict[str, list[list]]]:
    """Each real file as its sheets' rows: the layouts random cells are dropped into."""
    folder = tmp_path_factory.mktemp("layouts")
    out = {}
    for name, content in real_files.items():
        (folder / name).write_bytes(content)
        out[name] = {s.name or "Sheet1": [list(r) for r in s.rows]
                     for s in readers.load_sheets(folder / name, name)}
    return Quiet(out)


@pytest.fixture(scope="module")
def base_data(real_files, tmp_path_factory) -> Path:
    """A data folder whose latest snapshot holds the school's student list and staff."""
    folder = tmp_path_factory.mktemp("base")
    parsed = []
    for name in ("C1-HocSinh.xls", "CSDL_GiaoVien.xls"):
        (folder / name).write_bytes(real_files[name])
        parsed.append(readers.read_file(folder / name))
    prepared = ingest.prepare_import(parsed, folder / "data", school_id=SCHOOL_ID,
                                     school_name=SCHOOL_NAME, taken_at=datetime(2027, 1, 5))
    ingest.commit_import(prepared, folder / "data")
    return folder / "data"


def read_hostile(content: bytes, suffix: str) -> ParsedFile:
    name = f"tệp thử{suffix}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(content)
        parsed = readers.read_file(path, display_name=name)  # must not raise
    assert isinstance(parsed, ParsedFile)
    assert parsed.kind in (*KINDS, "unknown")
    for problem in parsed.problems:
        assert problem.file == name, problem  # every message names the file
        for lang in i18n.LANGS:  # and reads as a sentence: known code, every {param} filled
            vi, en = i18n.TABLE["problem." + problem.code]
            (en if lang == "en" else vi).format(**problem.params)
            assert problem.message(lang)
    return parsed


def import_never_raises_but_refuses(parsed: ParsedFile, base_data: Path) -> None:
    try:
        ingest.prepare_import([parsed], base_data, taken_at=TAKEN_AT)
    except ImportRefused as refused:
        assert refused.problems
    else:
        assert not parsed.errors, "a file with errors must refuse the import"


# --- the readers on mutated files ---------------------------------------------------------------

@PROPERTY
@given(prefix=st.sampled_from([b"", readers.OLE2_MAGIC, readers.ZIP_MAGIC, codecs.BOM_UTF8,
                               codecs.BOM_UTF16_LE]),
       body=st.binary(max_size=4096), suffix=st.sampled_from([".xlsx", ".xls", ".csv"]))
def test_random_bytes_give_problems_not_tracebacks(base_data, prefix, body, suffix):
    parsed = read_hostile(prefix + body, suffix)
    import_never_raises_but_refuses(parsed, base_data)


@PROPERTY
@given(data=st.data(), cut=st.floats(0, 1, exclude_max=True))
def test_truncated_real_files(real_files, base_data, data, cut):
    name = data.draw(st.sampled_from(sorted(real_files)))
    content = real_files[name]
    # A cut in an .xls file's trailing padding may leave it whole: only no traceback matters.
    parsed = read_hostile(content[:int(len(content) * cut)], Path(name).suffix)
    import_never_raises_but_refuses(parsed, base_data)


@PROPERTY
@given(data=st.data(),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                      min_size=1, max_size=24))
def test_real_files_with_flipped_bytes(real_files, base_data, data, flips):
    name = data.draw(st.sampled_from(sorted(real_files)))
    content = bytearray(real_files[name])
    for where, mask in flips:
        content[int(len(content) * where)] ^= mask
    parsed = read_hostile(bytes(content), Path(name).suffix)
    import_never_raises_but_refuses(parsed, base_data)


HOSTILE_TEXT = FORMULAS + MARKUP_NAMES + [
    "Nguye\u0302\u0303n Va\u0306n A\u0301nh",  # NFD
    "\u202eđảo chiều", "\ufeffBOM", "8,5", "31/02/2019", "Tổng cộng", "Mã học sinh", "Họ tên",
    "CK1", "Khối 4", "Năm học 2026-2027", "T", "Đ", "HTXS", "x", "1e308", "-0", "NaN", "  "]
CELLS = st.one_of(
    st.none(),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=8),  # control characters
    st.text(max_size=20).map(lambda s: unicodedata.normalize("NFD", s)),
    st.builds(lambda ch, n: ch * n, st.sampled_from("aĐ=<*"), st.integers(1_000, 33_000)),
    st.integers(-10**15, 10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1)),
    st.booleans(),
)


def _for_xlsx(value: object) -> object:
    """What openpyxl can store: no XML-illegal characters, finite numbers, ≤ 32767 chars."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)[:32767]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _for_xls(value: object) -> object:
    if isinstance(value, str):
        return value[:32767]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@PROPERTY
@given(data=st.data(), fmt=st.sampled_from(["xlsx", "xls", "csv"]),
       edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                st.floats(0, 1, exclude_max=True), CELLS), max_size=30))
def test_random_cells_in_real_layouts(layouts, base_data, data, fmt, edits):
    name = data.draw(st.sampled_from(sorted(layouts)))
    sheets = {sheet: [list(r) for r in rows] for sheet, rows in layouts[name].items()}
    first = next(iter(sheets.values()))
    for row_at, col_at, value in edits:  # header rows and title rows are fair game too
        row = first[int(len(first) * row_at)]
        if row:
            row[int(len(row) * col_at)] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f.{fmt}"
        try:
            if fmt == "xlsx":
                write_rows_xlsx(path, {s: [[_for_xlsx(v) for v in r] for r in rows]
                                       for s, rows in sheets.items()})
            elif fmt == "xls":
                write_rows_xls(path, {s: [[_for_xls(v) for v in r] for r in rows]
                                      for s, rows in sheets.items()})
            else:
                try:
                    write_csv(path, first, encoding="cp1258")
                except UnicodeEncodeError:
                    write_csv(path, first, encoding="utf-8")
        except Exception:  # noqa: BLE001 - the test's own writer cannot store that value
            reject()
        content = path.read_bytes()
    parsed = read_hostile(content, f".{fmt}")
    import_never_raises_but_refuses(parsed, base_data)


@PROPERTY
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                st.sampled_from(['"', '""', '"\r', '\r', '\n', '\r\n', ';', ',',
                                                 '\t', '\x00', '\ufeff', ' "x" '])),
                      min_size=1, max_size=12))
def test_quotes_and_line_ends_dropped_into_a_csv(real_files, base_data, edits):
    """A stray quote, a lone CR, a NUL used to raise `_csv.Error`: now a named problem or a
    file read as it is."""
    text = real_files["hoc_sinh.csv"].decode("utf-8-sig")
    for where, piece in edits:
        at = int(len(text) * where)
        text = text[:at] + piece + text[at:]
    parsed = read_hostile(codecs.BOM_UTF8 + text.encode(), ".csv")
    import_never_raises_but_refuses(parsed, base_data)


HOSTILE_FILES = Path(__file__).with_name("hostile_files")


@pytest.mark.parametrize("name", ["calamine-panic.xls", "calamine-abort.xls",
                                  "calamine-huge-allocation.xls"])
def test_workbooks_that_break_calamine_are_reported_and_the_process_lives_on(real_files, name):
    """Found by the property tests above (each is a real sample file with a few bytes changed):
    calamine panics on the first (a Rust panic, raised as PanicException, a BaseException that
    no `except Exception` catches), and on the others asks for 69 GB or 9.8 GB and aborts the
    whole process, which in the server would end every session. The worker process
    (csdl/sheet_worker.py) takes the blow; the file is reported unreadable."""
    parsed = read_hostile((HOSTILE_FILES / name).read_bytes(), ".xls")
    assert [p.code for p in parsed.problems] == ["file_unreadable"]
    if name != "calamine-panic.xls":  # the worker's last words say how much it asked for
        assert "GB" in parsed.problems[0].params["reason"], parsed.problems[0].params
    # The next workbook is read as usual (by a fresh worker when the last one died).
    assert not read_hostile(real_files["C1-HocSinh.xls"], ".xls").errors


def test_a_count_too_large_for_a_whole_number_is_a_bad_cell(tmp_path):
    """Found by the property tests: 1e20 in the facilities template's quantity cell reached
    pandas' Int64 and raised OverflowError. It is a typing error: a bad cell, kept as invalid."""
    path = write_rows_xlsx(tmp_path / "CoSoVatChat.xlsx", {
        readers.ROOM_SHEET: [list(readers.ROOM_COLUMNS), list(readers.ROOM_EXAMPLE)],
        readers.EQUIPMENT_SHEET: [list(readers.EQUIPMENT_COLUMNS), ["Máy chiếu", 1e20, 2**60],
                                  ["Ti vi", 12, 10]]})
    parsed = read_hostile(path.read_bytes(), ".xlsx")
    assert parsed.kind == "facilities"
    assert [(p.code, p.column) for p in parsed.problems] == [("number_invalid", "B"),
                                                             ("number_invalid", "C")]
    assert parsed.tables["equipment"]["quantity"].tolist()[1] == 12


# --- formula injection: every Excel the app writes ------------------------------------------------

@pytest.fixture(scope="module")
def formula_data(tmp_path_factory) -> tuple[Path, snapshots.SnapshotInfo]:
    """A snapshot whose school, class, student and teacher names all look like formulas."""
    folder = tmp_path_factory.mktemp("formulas")
    tables = small_school_tables()
    tables["school"].loc[tables["school"]["school_id"] == "S1", "name"] = FORMULAS[0]
    tables["class"]["class_name"] = [FORMULAS[1], FORMULAS[2], FORMULAS[3], "1A"]
    tables["student"]["full_name"] = [FORMULAS[i % len(FORMULAS)]
                                      for i in range(len(tables["student"]))]
    tables["staff"] = pd.DataFrame([{"school_id": "S1", "staff_id": s, "full_name": FORMULAS[i]}
                                    for i, s in enumerate(["GV1", "GV2", "GV3", "GV9"])])
    info = snapshots.write_snapshot(folder, tables, school_year="2026-2027", taken_at=TAKEN_AT,
                                    source="import")
    schedule.store_demo_schedule(folder)
    return folder, info


def _summary_excel(data_dir, info):
    summary = printing.class_summary(data_dir, info, "S1", "L1A", "CK1")
    return printing.summary_excel(summary, "ABCD-EFGH", TAKEN_AT)


def _sample_excel(data_dir, info):
    check_id = spotcheck.create_check(data_dir, info, "S1", "CK1", spotcheck.Scope(), "simple",
                                      6, 1, None, "test")
    return spotcheck.sample_excel(spotcheck.get_check(data_dir, check_id),
                                  spotcheck.items(data_dir, check_id))


def _table_export(data_dir, info):
    return exports.workbook([exports.Sheet(FORMULAS[0], pd.DataFrame({"Họ tên": FORMULAS}),
                                           FORMULAS[1], FORMULAS[2])])


def _reminders(data_dir, info):
    from csdl import ui  # the reminder workbook is put together in ui (translated headers)

    units = progress.compute(data_dir, info, "S1", "CK1")
    con = queries.prepare(snapshots.connect(data_dir, info.snapshot_id))
    try:
        missing = queries.run(con, "missing_entries", school_id="S1", period="CK1",
                              class_id=None, unit_code=None)
    finally:
        con.close()
    return exports.workbook(ui.reminder_sheets(units, missing, info, "CK1"))


def _schedule_export(data_dir, info):
    return schedule.export_excel(data_dir, "2026-2027")


def _figures(data_dir, info):
    compared = figures.compare(figures.compute(data_dir, info, "S1"), {})
    return figures.workbook(compared, "vi", FORMULAS[0], FORMULAS[3])


@pytest.mark.parametrize("writer", [_summary_excel, _sample_excel, _table_export, _reminders,
                                    _schedule_export, _figures],
                         ids=lambda w: w.__name__.strip("_"))
def test_text_that_looks_like_a_formula_is_written_as_text(formula_data, writer):
    content = writer(*formula_data)
    book = openpyxl.load_workbook(io.BytesIO(content))
    cells = [c for ws in book for row in ws.iter_rows() for c in row if c.value is not None]
    formulas = [(c.parent.title, c.coordinate, c.value) for c in cells if c.data_type == "f"]
    assert formulas == [], formulas
    risky = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert all(c.data_type == "s" for c in risky)
    links = [(c.coordinate, c.hyperlink.target) for c in cells if c.hyperlink is not None]
    assert links == []
    if writer is not _schedule_export:  # the schedule holds no text from the data
        # The names are there, as text (the printed sheet writes the school in capitals).
        assert {c.value.upper() for c in risky} & {f.upper() for f in FORMULAS}


# --- names with HTML or Markdown are shown as text ------------------------------------------------

def unescape(markdown: str) -> str:
    """What CommonMark displays for backslash-escaped ASCII punctuation."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def shown_literally(bodies: list[str], text: str) -> bool:
    """Some Markdown body displays `text` as typed: it is there once unescaped and never raw
    (raw, `**đậm**` would render bold and `[link](…)` a link)."""
    return any(text in unescape(body) and text not in body for body in bodies)


@pytest.mark.parametrize("name", MARKUP_NAMES + FORMULAS[:2] + ["a\nb # c", "1. Hạng nhất"])
def test_literal_displays_the_text_itself(name):
    shown = literal(name)
    assert unescape(shown) == name.replace("\n", " ")
    assert "\n" not in shown
    for mark in "*_[]()<>`#!$":
        assert not re.search(r"(?<!\\)" + re.escape(mark), shown), (mark, shown)


@pytest.fixture(scope="module")
def markup_data(tmp_path_factory) -> Path:
    """Names with Markdown and HTML; a value of H5 changed after the GK1 lock; a spot check."""
    folder = tmp_path_factory.mktemp("markup")
    tables = small_school_tables()
    tables["school"].loc[tables["school"]["school_id"] == "S1", "name"] = MARKUP_NAMES[0]
    tables["class"]["class_name"] = [MARKUP_NAMES[2], MARKUP_NAMES[3], MARKUP_NAMES[1], "1A"]
    tables["student"]["full_name"] = [MARKUP_NAMES[i % len(MARKUP_NAMES)]
                                      for i in range(len(tables["student"]))]
    tables["student"].loc[tables["student"]["student_id"] == "H5", "full_name"] = H5_NAME
    snapshots.write_snapshot(folder, tables, school_year="2026-2027",
                             taken_at=datetime(2026, 11, 1, 17), source="import")
    results = tables["subject_result"]
    changed = (results["student_id"] == "H5") & (results["period"] == "GK1")
    tables["subject_result"] = results.assign(level=results["level"].mask(changed, "H"))
    latest = snapshots.write_snapshot(folder, tables, school_year="2026-2027",
                                      taken_at=TAKEN_AT, source="import")
    schedule.set_window(folder, "2026-2027", "GK1", None, date(2026, 10, 20),
                        date(2026, 11, 5), date(2026, 11, 10), actor="test")
    spotcheck.create_check(folder, latest, "S1", "CK1", spotcheck.Scope(), "simple", 4, 7,
                           None, "test")
    return folder


def signed_in_page(script: str, data_dir: Path, monkeypatch, role: str,
                   state: dict | None = None) -> AppTest:
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    for key, value in {"authentication_status": True, "username": f"test_{role}",
                       "name": "Người thử", "roles": [role], **(state or {})}.items():
        at.session_state[key] = value
    bind_session(at)  # the account and its school, in users.yaml
    at.run()
    at.switch_page(script).run()
    assert not at.exception, at.exception
    return at


def bodies(at: AppTest) -> list[str]:
    return [e.value for kind in ("markdown", "subheader", "caption", "info", "success",
                                 "warning", "error") for e in getattr(at, kind)]


def test_school_name_is_shown_as_text_on_the_overview(markup_data, monkeypatch):
    at = signed_in_page("pages/overview.py", markup_data, monkeypatch, "principal")
    assert shown_literally([s.value for s in at.subheader], MARKUP_NAMES[0])


def test_student_name_in_the_change_request_form_is_shown_as_text(markup_data, monkeypatch):
    # The administrator picked the first changed value (H5's level) to record a request.
    at = signed_in_page("pages/changes.py", markup_data, monkeypatch, "admin",
                        {"after_lock": {"selection": {"rows": [0], "columns": []}}})
    assert shown_literally(bodies(at), H5_NAME), bodies(at)


def test_class_and_student_names_in_a_spot_check_are_shown_as_text(markup_data, monkeypatch):
    at = signed_in_page("pages/spotcheck.py", markup_data, monkeypatch, "principal")
    shown = bodies(at)
    item = next(b for b in shown if " · " in b and b.startswith("**"))
    assert any(shown_literally([item], n) for n in MARKUP_NAMES), item
    assert not re.search(r"(?<!\\)[\[<]", item), item  # no link or tag left unescaped
