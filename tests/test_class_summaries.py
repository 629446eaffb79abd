"""TT27's class summary ("Bảng tổng hợp kết quả đánh giá giáo dục") read whole or refused.

Files come from `csdl.samples.write_class_summaries` (the real layout of DOMAIN.md §4: one .xls a
grade, one sheet a class, four merged header rows, number-cell codes, Wingdings ticks, a
signature block); every stored value is compared with the tables the writer was given.
"""
from __future__ import annotations

import pandas as pd
import pytest

from csdl import cli, ingest, printing, readers, snapshots
from csdl.samples import write_class_summaries, write_rows_xls, write_sector_files
from tests.readers_fixtures import SCHOOL_ID, SCHOOL_NAME, SCHOOL_YEAR, contract_tables

SUBJECT_COLUMNS = ["student_id", "subject_code", "level", "score"]
TRAIT_COLUMNS = ["student_id", "trait_code", "level"]


def rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as sorted tuples of plain values (None for NULL)."""
    values = frame[columns].astype(object).to_numpy().tolist()
    return sorted((tuple(None if pd.isna(v) else v for v in row) for row in values), key=repr)


def entered(frame: pd.DataFrame, period: str, students: pd.DataFrame | None = None
            ) -> pd.DataFrame:
    """A period's rows that hold a value (a row with neither level nor score is not entered),
    of the enrolled students when `students` is given (a class summary lists only them)."""
    part = frame[frame["period"] == period]
    if students is not None:
        part = part[part["student_id"].isin(students.loc[students["active"], "student_id"])]
    value_columns = [c for c in ("level", "score") if c in part]
    return part[part[value_columns].notna().any(axis=1)]


def owed_rows(tables: dict[str, pd.DataFrame], name: str, period: str) -> pd.DataFrame:
    return entered(tables[name], period, tables["student"])


def enrolled(frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    students = tables["student"]
    return frame[frame["student_id"].isin(students.loc[students["active"], "student_id"])]


def snapshot_table(data_dir, sql: str) -> pd.DataFrame:
    info = snapshots.latest_snapshot(data_dir)
    con = snapshots.connect(data_dir, info.snapshot_id)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def fixture_tables() -> dict[str, pd.DataFrame]:
    """The fixture school with year-end awards and a student held back, and extras beyond the
    grade's compulsory list: Tiếng Anh with a score in grade 1, Tin học in grade 2."""
    t = contract_tables()
    year = t["year_result"]
    year.loc[year["classification"] == "HTXS", "award"] = "Học sinh Xuất sắc"
    year.loc[year["classification"] == "HTT", "award"] = "Học sinh Tiêu biểu"
    year.loc[year["classification"] == "CHT", "promoted"] = False
    year["completed"] = year["classification"] != "CHT"  # TT27: HTXS, HTT, HT complete
    sr = t["subject_result"]
    extra = pd.DataFrame([
        (SCHOOL_ID, "1000000000", "CK1", "NGOAINGU", "T", 9),  # grade 1: replaces its level-only row
        (SCHOOL_ID, "1000000002", "CK1", "TINHOC", "H", None),  # grade 2
        (SCHOOL_ID, "1000000003", "CK1", "TINHOC", "T", None)], columns=sr.columns)
    keep = ~((sr["student_id"] == "1000000000") & (sr["period"] == "CK1")
             & (sr["subject_code"] == "NGOAINGU"))
    t["subject_result"] = pd.concat([sr[keep], extra], ignore_index=True)
    return t


@pytest.fixture(scope="module", params=[0, 1], ids=["vnedu-ticks", "x-ticks"])
def written(request, tmp_path_factory):
    tables = fixture_tables()
    folders = {}
    for period in ("CK1", "CN"):
        folder = tmp_path_factory.mktemp(f"summaries-{period}")
        write_class_summaries(tables, folder, school_id=SCHOOL_ID, school_name=SCHOOL_NAME,
                              school_year=SCHOOL_YEAR, period=period, variant=request.param)
        folders[period] = folder
    return tables, folders


def read_folder(folder, period_hint=None):
    return [readers.read_file(p, period_hint=period_hint) for p in sorted(folder.iterdir())]


@pytest.mark.parametrize("period", ["CK1", "CN"])
def test_every_value_is_read_back(written, period):
    tables, folders = written
    parsed = read_folder(folders[period])
    assert [p.problems for p in parsed] == [[]] * 5
    assert {(p.kind, p.layout, p.period, p.school_year) for p in parsed} == {
        ("results", "class_summary", period, SCHOOL_YEAR)}
    assert sorted(p.grade for p in parsed) == [1, 2, 3, 4, 5]
    subject = pd.concat([p.tables["subject_result"] for p in parsed])
    trait = pd.concat([p.tables["trait_result"] for p in parsed])
    assert rows(subject, SUBJECT_COLUMNS) == rows(owed_rows(tables, "subject_result", period),
                                                  SUBJECT_COLUMNS)
    assert rows(trait, TRAIT_COLUMNS) == rows(owed_rows(tables, "trait_result", period),
                                              TRAIT_COLUMNS)
    roster = pd.concat([p.tables["roster"] for p in parsed])
    students = tables["student"][tables["student"]["active"]].merge(
        tables["class"][["class_id", "class_name"]])
    # Codes are number cells in the file: read as text, without ".0".
    assert rows(roster, ["student_id", "class_name", "full_name", "birth_date", "gender"]) == \
        rows(students, ["student_id", "class_name", "full_name", "birth_date", "gender"])
    # The signature block's teacher is not a student; nothing but STT and Ghi chú is unread.
    assert "Nguyễn Thị Mẫu" not in set(roster["full_name"])
    assert {s["header"] for p in parsed for s in p.skipped} == {"STT", "Ghi chú"}
    values = sum(p.summary["values"] for p in parsed)
    expected_values = (owed_rows(tables, "subject_result", period)[["level", "score"]].notna()
                       .to_numpy().sum() + len(owed_rows(tables, "trait_result", period)))
    if period == "CN":
        year_expected = enrolled(tables["year_result"], tables)
        expected_values += year_expected[["classification", "award"]].notna().to_numpy().sum()
        year = pd.concat([p.tables["year_result"] for p in parsed])
        columns = ["student_id", "completed", "promoted", "classification", "award"]
        assert rows(year, columns) == rows(year_expected, columns)
    else:
        assert all("year_result" not in p.tables for p in parsed)
    assert values == expected_values


def test_a_school_with_only_summaries_gets_classes_students_and_results(written, tmp_path):
    tables, folders = written
    data_dir = tmp_path / "data"
    assert cli.main(["import", str(folders["CK1"]), str(folders["CN"]), "--data", str(data_dir),
                     "--school-id", SCHOOL_ID, "--taken-at", "2027-06-01T08:00:00"]) == 0
    students = snapshot_table(data_dir, "SELECT s.student_id, c.class_name, c.grade, s.full_name,"
                              " s.birth_date, s.gender, s.active FROM student s JOIN class c "
                              "USING (school_id, class_id)")
    expected = tables["student"][tables["student"]["active"]].merge(
        tables["class"][["class_id", "class_name", "grade"]])
    assert rows(students.assign(birth_date=students["birth_date"].dt.date),
                ["student_id", "class_name", "grade", "full_name", "birth_date", "gender"]) == \
        rows(expected, ["student_id", "class_name", "grade", "full_name", "birth_date", "gender"])
    assert students["active"].all()  # a class summary lists enrolled students
    school = snapshot_table(data_dir, "SELECT name FROM school")
    assert school["name"].tolist() == [SCHOOL_NAME.upper()]  # from the title "TRƯỜNG TIỂU HỌC …"
    for period in ("CK1", "CN"):
        stored = snapshot_table(data_dir, f"SELECT * FROM subject_result WHERE period = '{period}'")
        assert rows(stored, SUBJECT_COLUMNS) == rows(owed_rows(tables, "subject_result", period),
                                                     SUBJECT_COLUMNS)
        stored = snapshot_table(data_dir, f"SELECT * FROM trait_result WHERE period = '{period}'")
        assert rows(stored, TRAIT_COLUMNS) == rows(owed_rows(tables, "trait_result", period),
                                                   TRAIT_COLUMNS)
    year = snapshot_table(data_dir, "SELECT * FROM year_result")
    columns = ["student_id", "completed", "promoted", "classification", "award"]
    assert rows(year, columns) == rows(enrolled(tables["year_result"], tables), columns)
    # Subjects beyond the grade's list are optional subjects the class takes: owed there.
    taken = snapshot_table(data_dir, "SELECT class_id, subject_code, staff_id FROM assignment")
    assert {("1A", "NGOAINGU"), ("2A", "TINHOC")} <= set(zip(taken["class_id"],
                                                              taken["subject_code"]))
    assert taken["staff_id"].isna().all()
    owed = snapshot_table(data_dir, "SELECT e.grade, e.item_code FROM expectation e WHERE "
                          "e.period = 'CK1' AND e.optional AND e.item_code = 'TINHOC'")
    assert sorted(owed["grade"]) == [1, 2]


def test_with_a_student_list_the_missing_students_are_named(written, tmp_path):
    tables, folders = written
    data_dir = tmp_path / "data"
    listed = {k: v for k, v in tables.items()}
    listed["student"] = tables["student"][tables["student"]["student_id"] != "1000000004"]
    sector = tmp_path / "sector"
    write_sector_files(listed, sector, school_id=SCHOOL_ID, school_name=SCHOOL_NAME,
                       school_year=SCHOOL_YEAR, periods=[])
    parsed = ([readers.read_file(sector / "C1-HocSinh.xls")]
              + read_folder(folders["CK1"]))
    prepared = ingest.prepare_import(parsed, data_dir, school_id=SCHOOL_ID)
    missing = [w for w in prepared.warnings if w.code == "students_not_in_list"]
    assert len(missing) == 1 and missing[0].params["count"] == 1
    assert "1000000004" in missing[0].params["names"]
    # Students of the list keep the list's class codes; no class is made twice by name.
    classes = prepared.tables["class"]
    assert sorted(classes["class_id"]) == sorted(tables["class"]["class_id"])


def test_the_period_comes_from_the_title_and_a_contradiction_refuses(written):
    _, folders = written
    path = sorted(folders["CK1"].iterdir())[0]
    assert readers.read_file(path, period_hint="CK1").errors == []
    refused = readers.read_file(path, period_hint="GK2").errors
    assert [p.code for p in refused] == ["period_conflict"]
    assert refused[0].row == 3 and refused[0].params == {"stated": "CK1", "hint": "GK2"}


def summary_sheet(subjects_row2: list[str], under: list[str]) -> dict[str, list[list]]:
    """A one-class summary with the given subject headers, one student."""
    width = 5 + len(subjects_row2)
    header = [["STT", "Mã học sinh", "HỌ VÀ TÊN HỌC SINH", "Ngày, tháng, năm sinh", "Nữ",
               "Môn học và hoạt động giáo dục"] + [""] * (len(subjects_row2) - 1),
              [""] * 5 + subjects_row2, [""] * 5 + under, [""] * width]
    titles = [["TRƯỜNG TIỂU HỌC MẪU"], ["BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ GIÁO DỤC CUỐI HỌC KÌ I"],
              ["Năm học: 2026 - 2027"], ["Lớp: 1A"]]
    data = [[1.0, 1000000000.0, "Nguyễn Văn An", "03/01/2020", ""] + ["T"] * len(subjects_row2)]
    return {"1a": titles + header + data}


def test_a_column_under_a_group_that_maps_to_nothing_refuses_the_file(tmp_path):
    sheets = summary_sheet(["Toán", "TViệt", "Thủ công", "Đạo đức"], ["", "", "", ""])
    path = write_rows_xls(tmp_path / "tong_hop.xls", sheets)
    parsed = readers.read_file(path)
    error = next(p for p in parsed.errors if p.code == "column_unmapped")
    assert (error.sheet, error.row, error.column) == ("1a", 6, "H")
    assert "Thủ công" in error.params["header"]
    assert error.params["nearest"] != "–"
    assert "Thủ công" in error.message("vi")


def test_subgroups_and_spellings_map_by_text(tmp_path):
    sheets = summary_sheet(["TViệt", "Nghệ thuật", "Nghệ thuật", "TN-XH", "Tiếng Anh"],
                           ["", "Âm nhạc", "MT", "", ""])
    parsed = readers.read_file(write_rows_xls(tmp_path / "t.xls", sheets))
    assert parsed.errors == []
    assert sorted(parsed.tables["subject_result"]["subject_code"]) == [
        "AMNHAC", "MITHUAT", "NGOAINGU", "TNXH", "TV"]
    assert parsed.tables["roster"]["student_id"].tolist() == ["1000000000"]
    assert parsed.tables["roster"]["gender"].tolist() == ["Nam"]


def test_template_headers_as_the_sector_writes_them_lose_nothing(tmp_path):
    """The grade 1–2 template with "Nghệ thuật (Âm nhạc)", "TH-CN (Tin học)", "Năng lực chung:
    …" headers, fully entered: every owed value lands, so completion is 100 %, not 21,9 %."""
    tables = contract_tables()
    write_sector_files(tables, tmp_path, school_id=SCHOOL_ID, school_name=SCHOOL_NAME,
                       school_year=SCHOOL_YEAR, periods=["CK1"])
    parsed = readers.read_file(tmp_path / "KQHT-C1-CK1-Khoi12.xls")
    assert parsed.problems == [] and parsed.skipped == [
        {"sheet": "Sheet1", "column": "A", "header": "STT", "reason": "not_values"},
        {"sheet": "Sheet1", "column": "AI", "header": "", "reason": "not_used"}][:len(parsed.skipped)]
    grade12 = tables["student"].merge(tables["class"])
    ids = set(grade12.loc[grade12["grade"] <= 2, "student_id"])
    expected = entered(tables["subject_result"], "CK1")
    assert rows(parsed.tables["subject_result"], SUBJECT_COLUMNS) == rows(
        expected[expected["student_id"].isin(ids)], SUBJECT_COLUMNS)
    expected = entered(tables["trait_result"], "CK1")
    assert rows(parsed.tables["trait_result"], TRAIT_COLUMNS) == rows(
        expected[expected["student_id"].isin(ids)], TRAIT_COLUMNS)


@pytest.fixture(scope="module")
def demo_dir(demo_copy):
    return demo_copy()  # as demo.make_demo(folder) writes it


def test_demo_samples_hold_the_class_summaries_and_import_in_one_step(demo_dir, tmp_path):
    """The demo's whole school of summaries for a period imports in one step, and every stored
    value equals the demo snapshot's."""
    latest = snapshots.latest_snapshot(demo_dir)
    folders = sorted((demo_dir / "samples").glob("bang-tong-hop-*"))
    assert folders, "the demo writes class summaries"
    students = snapshot_table(demo_dir, "SELECT student_id, active FROM student")
    for folder in folders:
        period = folder.name.removeprefix("bang-tong-hop-")
        data_dir = tmp_path / period
        assert cli.main(["import", str(folder), "--data", str(data_dir), "--school-id",
                         "DEMO01", "--taken-at", latest.taken_at.isoformat()]) == 0
        for table, columns in (("subject_result", SUBJECT_COLUMNS),
                               ("trait_result", TRAIT_COLUMNS)):
            stored = snapshot_table(data_dir, f"SELECT * FROM {table} WHERE period = '{period}'")
            source = snapshot_table(demo_dir, f"SELECT * FROM {table} WHERE period = '{period}'")
            assert len(stored) > 1000
            assert rows(stored, columns) == rows(entered(source, period, students),
                                                 columns), (period, table)


def test_printed_sheet_checked_with_the_summary_itself(demo_dir, tmp_path):
    """Đối chiếu bản in: the class summary the sheet was printed from, compared with the
    snapshot, shows exactly the values changed since."""
    latest = snapshots.latest_snapshot(demo_dir)
    folder = sorted((demo_dir / "samples").glob("bang-tong-hop-*"))[-1]
    path = sorted(folder.iterdir())[0]
    checked = printing.check_upload(demo_dir, path, path.name, latest, "DEMO01")
    assert len(checked.class_ids) >= 1
    assert all(c.startswith("DEMO01-") for c in checked.class_ids)  # the snapshot's codes
    assert checked.differences.empty  # written from this very snapshot
    # Change one level on the paper: exactly that cell differs.
    from csdl.readers import load_sheets
    sheets = load_sheets(path, path.name)
    first = sheets[0]
    header = next(r for r, row in enumerate(first.rows) if "Mã học sinh" in row)
    r = next(r for r in range(header + 4, len(first.rows))
             if first.rows[r][6] in ("T", "H", "C"))
    old = first.rows[r][6]
    first.rows[r][6] = "C" if old != "C" else "T"
    changed = tmp_path / path.name
    write_rows_xls(changed, {s.name: s.rows for s in sheets},
                   {s.name: s.merged for s in sheets})
    found = printing.check_upload(demo_dir, changed, changed.name, latest, "DEMO01").differences
    assert len(found) == 1
    cell = found.iloc[0]
    assert (cell["before"], cell["after"], cell["decision"]) == (first.rows[r][6], old, "none")
