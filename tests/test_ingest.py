"""Import end to end: the demo round trip, refusals that change nothing, merging onto the latest."""
import hashlib
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from csdl import cli, queries, snapshots
from csdl.samples import write_rows_xlsx, write_sector_files
from tests.readers_fixtures import SCHOOL_ID, SCHOOL_NAME, SCHOOL_YEAR, contract_tables

T = datetime(2027, 1, 8, 17, 0)


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under a folder with its SHA-256: 'byte-for-byte as it was'."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def kqht(title: str, rows: list[list]) -> list[list]:
    """A results sheet in the sector's three-header-row shape: Toán and Tiếng Việt (level and
    score each), Đạo đức (level only)."""
    group = "Môn học và hoạt động giáo dục"
    return [[title], [],
            ["STT", "Mã lớp", "Mã học sinh", "Họ tên", group, None, None, None, None],
            [None, None, None, None, "Toán", None, "Tiếng Việt", None, "Đạo đức"],
            [None, None, None, None, "Mức đạt được", "Điểm KTĐK", "Mức đạt được", "Điểm KTĐK",
             "Mức đạt được"]] + rows


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args])


def table(data_dir, name, **params):
    info = snapshots.latest_snapshot(data_dir)
    con = queries.prepare(snapshots.connect(data_dir, info.snapshot_id))
    try:
        return queries.run(con, name, **params)
    finally:
        con.close()


def raw(data_dir, sql):
    info = snapshots.latest_snapshot(data_dir)
    con = snapshots.connect(data_dir, info.snapshot_id)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_dir(demo_copy):
    return demo_copy()  # as demo.make_demo(folder) writes it


def test_demo_samples_import_back_to_the_same_numbers(demo_dir, tmp_path, capsys):
    samples = sorted(p for p in (demo_dir / "samples").iterdir() if p.is_file())
    latest = snapshots.latest_snapshot(demo_dir)
    assert run_cli("import", *samples, "--data", tmp_path, "--school-id", "DEMO01",
                   "--school-name", "Trường mẫu", "--taken-at", latest.taken_at.isoformat()) == 0
    out = capsys.readouterr().out
    assert "Đã nhập: bản chụp" in out
    for period in ("GK1", "CK1"):
        a = table(demo_dir, "completion_by_grade", school_id="DEMO01", period=period)
        b = table(tmp_path, "completion_by_grade", school_id="DEMO01", period=period)
        pd.testing.assert_frame_equal(a, b)
    for name in ("class", "student", "staff", "assignment", "room", "equipment"):
        assert len(raw(demo_dir, f'SELECT * FROM "{name}"')) == len(raw(tmp_path, f'SELECT * FROM "{name}"')), name
    key = "school_id, student_id, period, subject_code"
    a = raw(demo_dir, f"SELECT {key}, level, score FROM subject_result ORDER BY {key}")
    b = raw(tmp_path, f"SELECT {key}, level, score FROM subject_result ORDER BY {key}")
    pd.testing.assert_frame_equal(a, b)
    files = raw(tmp_path, "SELECT name, kind, sha256 FROM snapshot_file ORDER BY name")
    assert list(files["name"]) == sorted(p.name for p in samples)
    assert files.loc[files["name"] == samples[0].name, "sha256"].item() == hashlib.sha256(
        samples[0].read_bytes()).hexdigest()


@pytest.fixture
def school_files(tmp_path):
    folder = tmp_path / "files"
    paths = write_sector_files(contract_tables(), folder, school_id=SCHOOL_ID,
                               school_name=SCHOOL_NAME, school_year=SCHOOL_YEAR,
                               periods=["GK1", "CK1"])
    return {p.name: p for p in paths}


def test_each_structural_problem_refuses_and_changes_nothing(tmp_path, school_files, capsys):
    data = tmp_path / "data"
    good = [school_files["C1-HocSinh.xls"], school_files["CSDL_GiaoVien.xls"]]
    assert run_cli("import", *good, "--data", data, "--school-id", SCHOOL_ID,
                   "--school-name", SCHOOL_NAME, "--taken-at", "2027-01-05T08:00") == 0
    before = tree_digest(data)
    capsys.readouterr()

    fake = tmp_path / "KQHT_Khoi4.xls"
    fake.write_text("this is not a spreadsheet", encoding="utf-8")
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    no_name = tmp_path / "hoc_sinh_thieu_cot.xlsx"
    write_rows_xlsx(no_name, {"Sheet1": [["Danh sách học sinh"], [],
                                         ["STT", "Mã lớp", "Mã học sinh", "Ngày sinh"],
                                         [1, "1A", "123", "01/02/2019"]]})
    dup = tmp_path / "hoc_sinh_trung.xlsx"
    write_rows_xlsx(dup, {"Sheet1": [["STT", "Mã lớp", "Mã học sinh", "Họ tên"],
                                     [1, "1A", "H9", "Nguyễn An"], [2, "1A", "H9", "Trần Bình"]]})
    strangers = tmp_path / "KQHT-CK1-Khoi4-truongkhac.xlsx"
    write_rows_xlsx(strangers, {"Sheet1": kqht("Cuối học kỳ 1 - Khối 4",
                                               [[1, "4X", "999999", "Người Lạ", "T", 9, "T", 9, "T"]])})
    cases = [
        (fake, "KQHT_Khoi4.xls", None),
        (empty, "empty.xlsx", None),
        (no_name, "Họ tên", None),
        (dup, "H9", None),
        (strangers, "không học sinh nào", None),
        (school_files["KQHT-C1-GK1-Khoi4.xlsx"], "GK1", "--period-CK1"),
    ]
    for path, needle, extra in cases:
        args = ["import", path, "--data", data]
        if extra == "--period-CK1":
            args += ["--period", "CK1"]
        code = run_cli(*args)
        err = capsys.readouterr().err
        assert code != 0, path
        assert "Không nhập" in err and path.name in err and needle in err, (path, err)
        assert tree_digest(data) == before, path
    # The messages name the cell: the missing column names its header, the duplicate its row.
    run_cli("import", no_name, "--data", data)
    err = capsys.readouterr().err
    assert "Họ tên" in err and "dòng 3" in err
    run_cli("import", dup, "--data", data, "--lang", "en")
    err = capsys.readouterr().err
    assert "Import refused" in err and "row 3" in err


def test_results_alone_refused_without_a_student_list(tmp_path, school_files, capsys):
    data = tmp_path / "data"
    code = run_cli("import", school_files["KQHT-C1-CK1-Khoi4.xlsx"], "--data", data,
                   "--school-id", SCHOOL_ID, "--school-name", SCHOOL_NAME)
    assert code == 1 and "danh sách học sinh" in capsys.readouterr().err
    assert tree_digest(data) == {}


def test_partial_imports_build_on_the_latest(tmp_path, school_files, capsys):
    data = tmp_path / "data"
    assert run_cli("import", school_files["C1-HocSinh.xls"], school_files["PhanCongChuyenMon.xlsx"],
                   "--data", data, "--school-id", SCHOOL_ID, "--school-name", SCHOOL_NAME,
                   "--taken-at", "2026-11-01T08:00") == 0
    assert run_cli("import", school_files["KQHT-C1-GK1-Khoi4.xlsx"], "--data", data,
                   "--taken-at", "2026-11-05T08:00") == 0
    assert run_cli("import", school_files["KQHT-C1-GK1-Khoi5.xlsx"], "--data", data,
                   "--taken-at", "2026-11-06T08:00") == 0
    good, _ = snapshots.list_snapshots(data)
    assert len(good) == 3
    # The third snapshot holds the student list, the assignments and both results files.
    got = raw(data, "SELECT c.grade, count(*) AS n FROM subject_result r JOIN student s USING "
                    "(school_id, student_id) JOIN \"class\" c USING (school_id, class_id) "
                    "GROUP BY c.grade ORDER BY c.grade")
    assert list(got["grade"]) == [4, 5]
    assert len(raw(data, "SELECT * FROM assignment")) == len(contract_tables()["assignment"])
    names = raw(data, "SELECT name FROM snapshot_file ORDER BY name")["name"].tolist()
    assert names == sorted(["C1-HocSinh.xls", "PhanCongChuyenMon.xlsx", "KQHT-C1-GK1-Khoi4.xlsx",
                            "KQHT-C1-GK1-Khoi5.xlsx"])
    # Re-importing one grade's file replaces that grade's period values, nothing else.
    before = len(raw(data, "SELECT * FROM subject_result"))
    assert run_cli("import", school_files["KQHT-C1-GK1-Khoi4.xlsx"], "--data", data,
                   "--taken-at", "2026-11-07T08:00") == 0
    assert len(raw(data, "SELECT * FROM subject_result")) == before


def test_bad_cells_warn_and_are_kept_as_invalid(tmp_path, school_files, capsys):
    data = tmp_path / "data"
    run_cli("import", school_files["C1-HocSinh.xls"], "--data", data, "--school-id", SCHOOL_ID,
            "--school-name", SCHOOL_NAME, "--taken-at", "2026-11-01T08:00")
    students = contract_tables()["student"]
    sid = students.loc[students["class_id"] == "4A", "student_id"].iloc[0]
    bad = tmp_path / "KQHT-GK1-Khoi4.xlsx"
    name = students.loc[students["student_id"] == sid, "full_name"].item()
    write_rows_xlsx(bad, {"Sheet1": kqht("Giữa học kỳ 1 - Khối 4",
                                         [[1, "4A", sid, name, "T", 8.5, "X", "0", "H"]])})
    assert run_cli("import", bad, "--data", data, "--taken-at", "2026-11-05T08:00") == 0
    err = capsys.readouterr().err
    assert "cột F" in err and "cột G" in err and "cột H" in err
    inv = raw(data, "SELECT \"column\", raw_value, period, item_code FROM invalid_value ORDER BY 1")
    assert list(inv["column"]) == ["F", "G"] and list(inv["raw_value"]) == ["8.5", "X"]
    res = raw(data, f"SELECT subject_code, level, score FROM subject_result WHERE student_id = '{sid}' ORDER BY 1")
    res = res.astype(object).where(res.notna(), None)
    assert res.values.tolist() == [["DAODUC", "H", None], ["TOAN", "T", None], ["TV", None, 0]]


def test_demo_paperwork_for_changes_after_the_gk1_lock(demo_dir):
    from csdl import changes, schedule

    schedule.store_demo_schedule(demo_dir)
    changes.store_demo_requests(demo_dir)
    changes.store_demo_requests(demo_dir)  # idempotent
    latest = snapshots.latest_snapshot(demo_dir)
    after = changes.after_lock(demo_dir, latest, "DEMO01", "GK1")
    corrected = after[after["change"] == "changed"]
    decisions = corrected["decision"].value_counts().to_dict()
    assert decisions.get("approved") == 4 and decisions.get("rejected") == 2
    assert decisions.get("pending") == 1 and decisions.get("none", 0) >= 1
    assert len(changes.requests(demo_dir, latest.school_year, "DEMO01")) == 7


def test_importing_one_school_keeps_every_other_schools_rows_as_they_were(tmp_path, school_files):
    """In a district, one school's import copies the others from the base snapshot (inside
    DuckDB): their rows come through unchanged, table by table, and the pandas side of the
    merge never holds them."""
    from csdl import ingest

    data = tmp_path / "data"
    for school in (SCHOOL_ID, "OTHER9"):
        assert run_cli("import", school_files["C1-HocSinh.xls"],
                       school_files["PhanCongChuyenMon.xlsx"], school_files["CSDL_GiaoVien.xls"],
                       school_files["KQHT-C1-GK1-Khoi4.xlsx"], "--data", data,
                       "--school-id", school, "--school-name", f"Trường {school}",
                       "--taken-at", "2026-11-05T08:00" if school == SCHOOL_ID
                       else "2026-11-06T08:00") == 0

    def rows_of(school: str) -> dict[str, list]:
        info = snapshots.latest_snapshot(data)
        con = snapshots.connect(data, info.snapshot_id)
        try:
            return {t: sorted(map(repr, con.execute(
                        f'SELECT * FROM "{t}" WHERE school_id = ?', [school]).fetchall()))
                    for t in snapshots.carried_tables()}
        finally:
            con.close()

    other_before = rows_of("OTHER9")
    assert other_before["student"] and other_before["subject_result"]
    parsed = ingest.read_files([(school_files["KQHT-C1-GK1-Khoi5.xlsx"], "KQHT-C1-GK1-Khoi5.xlsx")],
                               None)
    prepared = ingest.prepare_import(parsed, data, school_id=SCHOOL_ID,
                                     taken_at=datetime(2026, 11, 7, 8, 0))
    for name, df in prepared.tables.items():
        if "school_id" in df and name != "school":
            assert set(df["school_id"]) <= {SCHOOL_ID}, name
    assert sorted(prepared.tables["school"]["school_id"]) == sorted([SCHOOL_ID, "OTHER9"])
    ingest.commit_import(prepared, data)

    assert rows_of("OTHER9") == other_before
    grades = raw(data, "SELECT DISTINCT c.grade FROM subject_result r JOIN student s USING "
                       "(school_id, student_id) JOIN \"class\" c USING (school_id, class_id) "
                       f"WHERE r.school_id = '{SCHOOL_ID}' ORDER BY 1")["grade"].tolist()
    assert grades == [4, 5]
    assert raw(data, "SELECT count(*) AS n FROM school")["n"][0] == 2
