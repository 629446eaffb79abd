"""Named queries against a hand-made snapshot, checked against counts worked out by hand."""
from csdl import queries
from tests.conftest import run_query


def test_completion_by_grade_ck1(small_snapshot):
    data_dir, info = small_snapshot
    df = run_query(data_dir, info, "completion_by_grade", school_id="S1", period="CK1").set_index("grade")
    # Grade 1 has 8 required subjects + 2 optional (Tiếng dân tộc never assigned here; Ngoại ngữ
    # only in 1A); CK1 scores in TV and Toán; 13 traits.
    # 1A: 2 students × (9 levels + 2 scores + 13 traits) = 48; 1B: H3 only (H4 left) × 23. = 71.
    # Entered: H1 Toán level+score (2), TV level (1), Ngoại ngữ (1), trait (1) = 5;
    # H2 trait NULL = 0; H3 Toán 2 (Ngoại ngữ not owed in 1B) = 2. Total 7.
    assert df.loc[1, "expected"] == 71 and df.loc[1, "entered"] == 7
    assert df.loc[1, "students"] == 3 and df.loc[1, "classes"] == 2
    # Grade 4, CK1: 12 required subjects (Tiếng dân tộc not assigned), 7 scores, 15 traits = 34 × 2.
    # Entered: H5 Khoa học score only (1) + trait (1) = 2.
    assert df.loc[4, "expected"] == 68 and df.loc[4, "entered"] == 2
    assert abs(df.loc[4, "completion"] - 2 / 68) < 1e-12


def test_midterm_scores_only_in_grades_4_and_5(small_snapshot):
    data_dir, info = small_snapshot
    df = run_query(data_dir, info, "completion_by_grade", school_id="S1", period="GK1").set_index("grade")
    # Grade 1 at GK1: no scores: (9 + 13) × 2 + (8 + 13) × 1 = 65.
    assert df.loc[1, "expected"] == 65 and df.loc[1, "entered"] == 0
    # Grade 4 at GK1: 12 levels + 2 scores + 15 traits = 29 per student; H5 Toán 2, H6 TV level 1.
    assert df.loc[4, "expected"] == 58 and df.loc[4, "entered"] == 3


def test_other_school_rows_never_counted(small_snapshot):
    data_dir, info = small_snapshot
    s2 = run_query(data_dir, info, "completion_by_grade", school_id="S2", period="CK1")
    assert list(s2["grade"]) == [1] and s2["students"].iloc[0] == 1
    assert s2["entered"].iloc[0] == 2  # only K1's Toán level + score
    entries = run_query(data_dir, info, "entries_by_period", school_id="S1").set_index("period")
    # Raw values held (owed or not): CK1 subject levels 6 + scores 4, traits 2 → 12; GK1 3.
    assert entries.loc["CK1", "entered"] == 12 and entries.loc["GK1", "entered"] == 3


def test_missing_parameter_is_an_error(small_snapshot):
    import pytest

    data_dir, info = small_snapshot
    with pytest.raises(queries.QueryError):
        run_query(data_dir, info, "completion_by_grade", school_id="S1")


def test_progress_units_read_from_the_stored_summary_equal_the_computed_ones(small_snapshot):
    """progress_units reads the summary written with the snapshot; it must give exactly what
    computing entry_cells afresh gives, for every school and period — also on a connection
    where the summary table is missing (a snapshot from before summaries)."""
    import duckdb

    from csdl import snapshots

    data_dir, info = small_snapshot
    con = queries.prepare(snapshots.connect(data_dir, info.snapshot_id))
    copy = duckdb.connect(":memory:")
    try:
        for school in ("S1", "S2"):
            for period in ("GK1", "CK1", "GK2", "CN"):
                stored = queries.run(con, "progress_units", school_id=school, period=period)
                fresh = con.execute(
                    "SELECT class_id, item_code, staff_id, expected, entered FROM "
                    "progress_units_all(?) WHERE school_id = ? ORDER BY grade, class_name, "
                    "item_code", [period, school]).df()
                assert stored[list(fresh.columns)].reset_index(drop=True).equals(fresh)
                if school == "S1" and period == "CK1":
                    assert fresh["expected"].sum() > 0 and fresh["entered"].sum() > 0
        # The same questions on a copy without the summary table fall back to computing it.
        copy.execute("ATTACH ? AS src (READ_ONLY)", [str(info.path)])
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_name <> 'progress_summary' AND "
                                    "table_schema = 'main' AND table_type = 'BASE TABLE'"
                                    ).fetchall():
            copy.execute(f'CREATE TABLE "{table}" AS SELECT * FROM src."{table}"')
        copy.execute("DETACH src")
        queries.prepare(copy)
        for period in ("GK1", "CK1"):
            assert queries.run(copy, "progress_units", school_id="S1", period=period).equals(
                queries.run(con, "progress_units", school_id="S1", period=period))
    finally:
        con.close()
        copy.close()
