"""Printed class summaries (csdl/printing.py): print codes, checks against the database, totals,
the Excel and PDF sheets, the status board, and the page for an administrator."""
import io
import re
import shutil
import subprocess
from datetime import datetime

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from csdl import changes, printing, records, rules, snapshots
from csdl.config import REPO_ROOT
from csdl.problems import ImportRefused
from csdl.samples import write_sector_files
from tests.readers_fixtures import SCHOOL_ID, SCHOOL_NAME, SCHOOL_YEAR, contract_tables
from tests.conftest import bind_session

T1 = datetime(2027, 1, 8, 17, 0)
T2 = datetime(2027, 1, 12, 17, 0)
CODE_RE = re.compile(rf"^[{printing.CODE_ALPHABET}]{{4}}-[{printing.CODE_ALPHABET}]{{4}}$")


def school_tables() -> dict[str, pd.DataFrame]:
    """Five classes 1A–5A, two students each (one of 4A has left), every entry made."""
    tables = contract_tables()
    tables["school"] = pd.DataFrame([{"school_id": SCHOOL_ID, "name": SCHOOL_NAME,
                                      "province": "Tỉnh mẫu"}])
    return tables


def write(data_dir, tables, taken_at=T1):
    return snapshots.write_snapshot(data_dir, tables, school_year=SCHOOL_YEAR, taken_at=taken_at,
                                    source="import")


def students_of(tables, class_id):
    s = tables["student"]
    return list(s.loc[(s["class_id"] == class_id) & s["active"], "student_id"])


def set_level(tables, student_id, period, subject_code, level):
    """A copy of the tables with one subject level changed; returns (tables, old level)."""
    out = dict(tables)
    sr = tables["subject_result"].copy()
    cell = ((sr["student_id"] == student_id) & (sr["period"] == period)
            & (sr["subject_code"] == subject_code))
    assert cell.sum() == 1
    old = sr.loc[cell, "level"].item()
    sr.loc[cell, "level"] = level
    out["subject_result"] = sr
    return out, old


def other_level(level):
    return next(x for x in rules.SUBJECT_LEVELS if x != level)


def audit_actions(data_dir):
    return [r["action"] for r in records.audit_entries(data_dir)]


@pytest.fixture
def printed_school(tmp_path):
    tables = school_tables()
    info = write(tmp_path, tables)
    code, _ = printing.print_sheet(tmp_path, info, SCHOOL_ID, "5A", "CK1", "pdf", "ht")
    return tmp_path, tables, info, code


# --- print codes and the check by code --------------------------------------------------------

def test_print_code_round_trip(printed_school):
    data_dir, tables, first, code = printed_school
    assert CODE_RE.match(code)
    assert not set(code) & set("01OIL")
    # Typed back in lower case with a space: the same sheet; nothing changed since.
    sheet, found = printing.check_by_code(data_dir, code.lower().replace("-", " "), first)
    assert (sheet.print_code, sheet.class_id, sheet.period, sheet.snapshot_id) == (
        code, "5A", "CK1", first.snapshot_id)
    assert found.empty

    student = students_of(tables, "5A")[0]
    changed, old = set_level(tables, student, "CK1", "TOAN", None)
    changed, _ = set_level(changed, student, "CK1", "TOAN", other_level(old))
    elsewhere = students_of(tables, "4A")[0]
    changed, old_4a = set_level(changed, elsewhere, "CK1", "TOAN", None)  # another class
    changed, _ = set_level(changed, elsewhere, "CK1", "TOAN", other_level(old_4a))
    changed, old_gk1 = set_level(changed, student, "GK1", "TOAN", None)  # another period
    changed, _ = set_level(changed, student, "GK1", "TOAN", other_level(old_gk1))
    later = write(data_dir, changed, T2)

    _, found = printing.check_by_code(data_dir, code, later)
    assert found[["student_id", "class_id", "period", "item_type", "item_code", "field", "before",
                  "after", "change", "decision"]].values.tolist() == [
        [student, "5A", "CK1", "subject", "TOAN", "level", old, other_level(old), "changed",
         "none"]]

    request = changes.record_request(
        data_dir, school_year=SCHOOL_YEAR, school_id=SCHOOL_ID, student_id=student,
        period="CK1", item_type="subject", item_code="TOAN", field="level", old_value=old,
        new_value=other_level(old), reason="Nhập nhầm", requested_by="GV05", actor="qt")
    changes.decide(data_dir, request, "approved", None, "ht")
    _, found = printing.check_by_code(data_dir, code, later)
    assert (found["request_id"].tolist(), found["decision"].tolist()) == ([request], ["approved"])


def test_students_joining_and_leaving_the_class_are_listed(printed_school):
    data_dir, tables, _, code = printed_school
    mover = students_of(tables, "4A")[0]
    leaver = students_of(tables, "5A")[1]
    moved = dict(tables)
    student = tables["student"].copy()
    student.loc[student["student_id"] == mover, "class_id"] = "5A"
    student.loc[student["student_id"] == leaver, ["active", "status"]] = [False, "Chuyển đi"]
    moved["student"] = student
    later = write(data_dir, moved, T2)
    _, found = printing.check_by_code(data_dir, code, later)
    found = found.astype(object).where(found.notna(), None)
    rows = found[["student_id", "item_type", "before", "after", "change"]].values.tolist()
    assert sorted(rows) == sorted([[mover, "student", "4A", "5A", "changed"],
                                   [leaver, "student", "5A", None, "removed"]])


def test_each_print_is_registered_and_audited(printed_school):
    data_dir, _, info, code = printed_school
    again, content = printing.print_sheet(data_dir, info, SCHOOL_ID, "5A", "CK1", "xlsx", "pht")
    assert again != code and content.startswith(b"PK")
    done = printing.prints(data_dir, SCHOOL_YEAR, SCHOOL_ID, "CK1")
    assert done[["print_code", "class_id", "snapshot_id", "format", "printed_by"]].values.tolist() \
        == [[again, "5A", info.snapshot_id, "xlsx", "pht"],
            [code, "5A", info.snapshot_id, "pdf", "ht"]]
    entries = [r for r in records.audit_entries(data_dir) if r["action"] == "sheet_print"]
    assert [(r["actor"], code in r["detail"] or again in r["detail"]) for r in entries] == [
        ("pht", True), ("ht", True)]


@pytest.mark.parametrize("typed,key", [("ABCD-EFGH", "printing.unknown_code"),
                                       ("ABC", "printing.bad_code"),
                                       # the form of a code: not found, not "malformed"
                                       ("ABCD-1234", "printing.unknown_code"),
                                       ("ABCD-EFG0", "printing.unknown_code")])
def test_unknown_or_malformed_code_is_refused_and_writes_nothing(printed_school, typed, key):
    data_dir, _, info, _ = printed_school
    before = (records.db_path(data_dir).read_bytes(), len(records.audit_entries(data_dir)))
    with pytest.raises(printing.PrintingError) as exc:
        printing.check_by_code(data_dir, typed, info)
    assert exc.value.key == key
    assert len(records.audit_entries(data_dir)) == before[1]


def test_bad_format_or_class_registers_nothing(tmp_path):
    info = write(tmp_path, school_tables())
    for kwargs, key in (({"class_id": "5A", "fmt": "docx"}, "printing.bad_format"),
                        ({"class_id": "9Z", "fmt": "pdf"}, "printing.no_class")):
        with pytest.raises(printing.PrintingError) as exc:
            printing.print_sheet(tmp_path, info, SCHOOL_ID, period="CK1", actor="ht", **kwargs)
        assert exc.value.key == key
    assert printing.prints(tmp_path, SCHOOL_YEAR, SCHOOL_ID).empty
    assert "sheet_print" not in audit_actions(tmp_path)


# --- the sheet itself -------------------------------------------------------------------------

def test_summary_holds_every_owed_value_of_the_class(tmp_path):
    tables = school_tables()
    info = write(tmp_path, tables)
    summary = printing.class_summary(tmp_path, info, SCHOOL_ID, "5A", "CN")
    owed = [e for e in rules.expectations(5, "CN") if not e.optional or e.item_code == "NGOAINGU"]
    subjects = [c for c in summary.columns if c.item_type == "subject"]
    assert len([c for c in subjects if c.field == "level"]) == len(
        [e for e in owed if e.item_type == "subject"])
    assert len([c for c in subjects if c.field == "score"]) == 7
    assert len([c for c in summary.columns if c.item_type == "trait"]) == 15
    assert [c.field for c in summary.columns if c.item_type == "year"] == list(printing.YEAR_FIELDS)
    sr = tables["subject_result"]
    for student in students_of(tables, "5A"):
        row = summary.rows.set_index("student_id").loc[student]
        mine = sr[(sr["student_id"] == student) & (sr["period"] == "CN")].set_index("subject_code")
        assert row["TOAN.level"] == mine.loc["TOAN", "level"]
        assert row["TOAN.score"] == mine.loc["TOAN", "score"]
        year = tables["year_result"].set_index("student_id").loc[student]
        assert row["YEAR.classification"] == year["classification"]
        assert row["YEAR.completed"] == (True if year["completed"] else None)


def test_excel_sheet_is_a4_landscape_fit_to_width_with_code_in_footer(tmp_path):
    tables = school_tables()
    student = tables["student"]
    first = student.index[student["class_id"] == "5A"][0]
    student.loc[first, "full_name"] = "=HYPERLINK(\"http://x\")"  # must stay text
    info = write(tmp_path, tables)
    code, content = printing.print_sheet(tmp_path, info, SCHOOL_ID, "5A", "CK1", "xlsx", "ht")
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth in (None, 1) and int(ws.page_setup.fitToHeight) == 0
    assert ws.print_title_rows == "$7:$9"
    footer = ws.oddFooter.left.text
    assert f"Mã bản in: {code}" in footer and info.snapshot_id in footer
    assert "&P" in ws.oddFooter.right.text
    values = {c.value for row in ws.iter_rows() for c in row if c.value is not None}
    assert {printing.NATION, printing.MOTTO, SCHOOL_NAME.upper(), "Mức", "Điểm",
            "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ GIÁO DỤC CỦA LỚP 5A", "GIÁO VIÊN CHỦ NHIỆM",
            "HIỆU TRƯỞNG", "(Ký tên, đóng dấu)"} <= values
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    assert "=HYPERLINK(\"http://x\")" in values


def pdf_text(content: bytes, tmp_path) -> list[str] | None:
    """The text of each page, with pypdf or poppler's pdftotext when installed."""
    try:
        import pypdf
    except ImportError:
        pypdf = None
    if pypdf is not None:
        return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages]
    if shutil.which("pdftotext"):
        path = tmp_path / "sheet.pdf"
        path.write_bytes(content)
        out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                             check=True, text=True).stdout
        return out.split("\f")[:-1]
    return None


def test_pdf_embeds_dejavu_and_carries_the_code_on_every_page(tmp_path):
    """A full grade-5 class at CN: 38 students, every subject, score, trait and year field."""
    tables = school_tables()
    base = tables["student"][tables["student"]["class_id"] == "5A"].iloc[0]
    extra = pd.DataFrame([{**base, "student_id": f"50000000{n:02d}",
                           "full_name": f"Nguyễn Thị Ngọc Ánh {n:02d}"} for n in range(36)])
    tables["student"] = pd.concat([tables["student"], extra], ignore_index=True)
    for name in ("subject_result", "trait_result"):
        model = tables[name][tables[name]["student_id"] == base["student_id"]]
        tables[name] = pd.concat([tables[name]] + [model.assign(student_id=s)
                                                   for s in extra["student_id"]], ignore_index=True)
    model = tables["year_result"][tables["year_result"]["student_id"] == base["student_id"]]
    tables["year_result"] = pd.concat([tables["year_result"]] + [
        model.assign(student_id=s, award="Học sinh Xuất sắc") for s in extra["student_id"]],
        ignore_index=True)
    info = write(tmp_path, tables)
    code, content = printing.print_sheet(tmp_path, info, SCHOOL_ID, "5A", "CN", "pdf", "ht")
    summary = printing.class_summary(tmp_path, info, SCHOOL_ID, "5A", "CN")
    assert len(summary.rows) == 38 and len(summary.columns) >= 35
    assert content.startswith(b"%PDF")
    assert b"/FontFile2" in content and b"DejaVuSans" in content  # embedded, not referenced
    assert code.encode() in content  # the document's keywords
    pages = pdf_text(content, tmp_path)
    if pages is None:
        pytest.skip("neither pypdf nor pdftotext to read the text back")
    assert len(pages) >= 2
    assert printing.NATION in pages[0] and "Độc lập - Tự do - Hạnh phúc" in pages[0]
    assert "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ GIÁO DỤC CỦA LỚP 5A" in pages[0]
    for page in pages:
        assert f"Mã bản in: {code}" in page and info.snapshot_id in page
        assert "Họ tên" in page  # the header is repeated
    assert "HIỆU TRƯỞNG" in pages[-1] and "Nguyễn Thị Ngọc Ánh 35" in pages[-1]


def test_pages_keep_the_signatures_with_rows():
    assert printing._page_rows(30, 31, 40, 8) == [27, 3]
    assert printing._page_rows(20, 31, 40, 8) == [20]
    assert printing._page_rows(38, 31, 40, 8) == [31, 7]
    assert printing._page_rows(0, 31, 40, 8) == [0]


# --- sheets printed elsewhere -----------------------------------------------------------------

def test_class_totals_match_an_independent_count(tmp_path):
    tables = school_tables()
    info = write(tmp_path, tables)
    totals = printing.class_totals(tmp_path, info, SCHOOL_ID, "5A", "CN").set_index(
        ["item_type", "item_code", "level"])["count"]
    members = set(students_of(tables, "5A"))
    sr = tables["subject_result"]
    sr = sr[sr["student_id"].isin(members) & (sr["period"] == "CN")]
    tr = tables["trait_result"]
    tr = tr[tr["student_id"].isin(members) & (tr["period"] == "CN")]
    yr = tables["year_result"][tables["year_result"]["student_id"].isin(members)]
    expected = {
        **{("subject", *k): n for k, n in sr.groupby(["subject_code", "level"]).size().items()},
        **{("trait", *k): n for k, n in tr.groupby(["trait_code", "level"]).size().items()},
        **{("year", "classification", k): n
           for k, n in yr.groupby("classification").size().items()},
    }
    assert {k: v for k, v in totals.items() if v} == expected
    # Every owed item lists all its levels, zeros included.
    subjects = totals.loc["subject"].groupby(level=0).size()
    assert set(subjects) == {3} and len(subjects) == 12  # no Tiếng dân tộc: not assigned to 5A
    assert len(totals.loc["trait"]) == 15 * 3 and len(totals.loc["year"]) == 4
    assert totals.sum() == len(members) * (12 + 15 + 1)


def test_typed_totals_with_one_wrong_figure_give_that_figure(tmp_path):
    info = write(tmp_path, school_tables())
    actual = printing.class_totals(tmp_path, info, SCHOOL_ID, "5A", "CN")
    grids = printing.typing_grids(actual)
    by_key = actual.set_index(["item_type", "item_code", "level"])["count"]
    items = grids["items"]
    for slot, subject_level, trait_level in zip(printing.ITEM_GRID_LEVELS, rules.SUBJECT_LEVELS,
                                                rules.TRAIT_LEVELS):
        items[slot] = [by_key[(t, c, subject_level if t == "subject" else trait_level)]
                       for t, c in zip(items["item_type"], items["item_code"])]
    for level in rules.CLASSIFICATIONS:
        grids["classification"][level] = by_key[("year", "classification", level)]
    assert printing.compare_totals(printing.typed_totals(grids), actual).empty

    row = items.index[items["item_code"] == "NLC_GQVD"][0]
    items.loc[row, printing.MIDDLE_LEVEL] += 1
    items.loc[items["item_code"] == "TOAN", "C"] = pd.NA  # blank: not compared
    wrong = printing.compare_totals(printing.typed_totals(grids), actual)
    real = by_key[("trait", "NLC_GQVD", "Đ")]
    assert wrong.values.tolist() == [["trait", "NLC_GQVD", "Đ", real + 1, real]]


@pytest.fixture
def kqht_files(tmp_path):
    folder = tmp_path / "files"
    paths = write_sector_files(contract_tables(), folder, school_id=SCHOOL_ID,
                               school_name=SCHOOL_NAME, school_year=SCHOOL_YEAR,
                               periods=["CK1", "CN"])
    return {p.name: p for p in paths}


def test_upload_check_finds_a_planted_difference(tmp_path, kqht_files):
    data_dir = tmp_path / "data"
    tables = school_tables()
    same = write(data_dir, tables)
    for name in ("KQHT-C1-CK1-Khoi5.xlsx", "KQHT-C1-CN-Khoi5.xlsx", "KQHT-C1-CK1-Khoi12.xls"):
        checked = printing.check_upload(data_dir, kqht_files[name], name, same, SCHOOL_ID)
        assert checked.differences.empty, (name, checked.differences)
    assert checked.class_ids == ("1A", "2A")

    student = students_of(tables, "5A")[1]
    changed, old = set_level(tables, student, "CK1", "KHOAHOC", None)
    changed, _ = set_level(changed, student, "CK1", "KHOAHOC", other_level(old))
    later = write(data_dir, changed, T2)
    checked = printing.check_upload(data_dir, kqht_files["KQHT-C1-CK1-Khoi5.xlsx"],
                                    "KQHT-C1-CK1-Khoi5.xlsx", later, SCHOOL_ID)
    assert (checked.period, checked.class_ids) == ("CK1", ("5A",))
    found = checked.differences
    assert found[["student_id", "class_id", "period", "item_code", "field", "before", "after",
                  "change", "decision"]].values.tolist() == [
        [student, "5A", "CK1", "KHOAHOC", "level", old, other_level(old), "changed", "none"]]
    assert printing.differences_by_class(found, checked.class_ids) == {"5A": 1}
    assert not records.db_path(data_dir).exists()  # a check writes nothing until recorded


def test_upload_of_a_wrong_file_is_refused_naming_it(tmp_path, kqht_files):
    info = write(tmp_path / "data", school_tables())
    fake = tmp_path / "KQHT-Khoi5.xlsx"
    fake.write_text("không phải bảng tính", encoding="utf-8")
    with pytest.raises(ImportRefused) as exc:
        printing.check_upload(tmp_path / "data", fake, fake.name, info, SCHOOL_ID)
    assert [(p.file, p.code) for p in exc.value.problems] == [(fake.name, "not_spreadsheet")]
    with pytest.raises(ImportRefused) as exc:
        printing.check_upload(tmp_path / "data", kqht_files["C1-HocSinh.xls"], "C1-HocSinh.xls",
                              info, SCHOOL_ID)
    assert [p.code for p in exc.value.problems] == ["printing_not_results"]
    assert not records.db_path(tmp_path / "data").exists()


# --- the status board -------------------------------------------------------------------------

def test_status_board_follows_print_check_and_sign_off(printed_school):
    data_dir, _, info, code = printed_school
    classes = pd.DataFrame({"class_id": ["1A", "5A"], "class_name": ["1A", "5A"], "grade": [1, 5]})
    board = printing.status_board(data_dir, SCHOOL_YEAR, SCHOOL_ID, "CK1",
                                  classes).set_index("class_id")
    assert board.loc["5A", ["prints", "print_code", "printed_by", "printed_snapshot"]].tolist() \
        == [1, code, "ht", info.snapshot_id]
    assert board.loc["5A", "checks"] == 0 and board.loc["5A", "checked_at"] is None
    assert board.loc["1A", "prints"] == 0 and board.loc["1A", "print_code"] is None

    printing.record_check(data_dir, school_year=SCHOOL_YEAR, school_id=SCHOOL_ID, class_id="5A",
                          period="CK1", method="code", differences=2, actor="pht", print_code=code)
    printing.record_check(data_dir, school_year=SCHOOL_YEAR, school_id=SCHOOL_ID, class_id="5A",
                          period="CK1", method="totals", differences=0, actor="pht")
    printing.sign_off(data_dir, SCHOOL_YEAR, SCHOOL_ID, "5A", "CK1", "ht", "Đã đối chiếu")
    board = printing.status_board(data_dir, SCHOOL_YEAR, SCHOOL_ID, "CK1",
                                  classes).set_index("class_id")
    five = board.loc["5A"]
    assert (five["checks"], five["check_method"], five["differences"], five["checked_by"]) == (
        2, "totals", 0, "pht")
    assert (five["sign_offs"], five["signed_by"], five["sign_note"]) == (1, "ht", "Đã đối chiếu")
    assert isinstance(five["signed_at"], datetime)
    assert board.loc["1A", ["checks", "sign_offs"]].tolist() == [0, 0]
    # Another period's board is still empty.
    other = printing.status_board(data_dir, SCHOOL_YEAR, SCHOOL_ID, "CN", classes)
    assert other["prints"].sum() == other["checks"].sum() == other["sign_offs"].sum() == 0
    assert audit_actions(data_dir)[:3] == ["sheet_sign_off", "sheet_check", "sheet_check"]


# --- the page ---------------------------------------------------------------------------------

def test_page_creates_a_print_and_checks_it_by_code(small_snapshot, monkeypatch):
    data_dir, _ = small_snapshot
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(REPO_ROOT / "pages/printed.py"), default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "qt"
    at.session_state["name"] = "Quản trị"
    at.session_state["roles"] = ["admin"]
    bind_session(at)  # the account and its school, in users.yaml
    at.query_params["period"] = "CK1"
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="print_class").set_value("L4A")
    at.radio(key="print_format").set_value("pdf")
    at.button(key="print_create").click().run()
    assert not at.exception, at.exception
    done = printing.prints(data_dir, "2026-2027", "S1", "CK1")
    assert done[["class_id", "format", "printed_by"]].values.tolist() == [["L4A", "pdf", "qt"]]
    code = done["print_code"].item()
    assert any(code in s.value and "4A" in s.value for s in at.success)
    assert at.get("download_button")  # the bytes are offered once the print is registered

    at.text_input(key="check_code").input(code).run()
    assert not at.exception, at.exception
    assert any("Không có khác biệt" in s.value for s in at.success)
    at.button(key="record_code_check").click().run()
    assert not at.exception, at.exception
    board = printing.status_board(data_dir, "2026-2027", "S1", "CK1",
                                  pd.DataFrame({"class_id": ["L4A"], "class_name": ["4A"],
                                                "grade": [4]}))
    assert board[["prints", "checks", "differences", "checked_by"]].values.tolist() == [
        [1, 1, 0, "qt"]]
    # An administrator sees the board but signs nothing off.
    assert not [b for b in at.button if b.label == "Ký duyệt"]
