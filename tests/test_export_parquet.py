"""`python -m csdl export-parquet`: the snapshot contract as Hive-partitioned Parquet, read back
by DuckDB with views named like the contract tables, gives the same answers to the same
queries/*.sql as the snapshot itself."""
import json

import duckdb
import pandas as pd
import pytest

from csdl import cli, parquet_export, queries, snapshots

QUESTIONS = [("progress_units", {}), ("completion_by_grade", {}), ("results_subject_levels", {}),
             ("results_trait_levels", {}), ("quality_score_without_level", {}),
             ("class_summary", {"class_id": "L1A"}), ("classes", {}), ("school_students", {})]


@pytest.fixture
def exported(small_snapshot, tmp_path):
    data_dir, info = small_snapshot
    out = tmp_path / "parquet"
    result = parquet_export.export(data_dir, out)
    return data_dir, info, result


def test_layout_is_hive_partitioned_by_school_and_period(exported):
    _, info, result = exported
    out = result.path
    assert result.snapshot_id == info.snapshot_id
    assert (out / "subject_result" / "school_id=S1" / "period=CK1").is_dir()
    assert (out / "subject_result" / "school_id=S2" / "period=CK1").is_dir()
    assert (out / "trait_result" / "school_id=S1" / "period=CK1").is_dir()
    assert (out / "student" / "school_id=S1").is_dir()
    assert not list((out / "student" / "school_id=S1").glob("period=*"))
    assert (out / "expectation" / "expectation.parquet").is_file()  # a catalogue: one file
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["snapshot_id"] == info.snapshot_id
    assert manifest["tables"]["subject_result"]["partition_by"] == ["school_id", "period"]
    assert manifest["tables"]["student"]["partition_by"] == ["school_id"]
    assert manifest["tables"]["subject"]["partition_by"] == []


def test_row_counts_read_back_with_hive_partitioning(exported):
    data_dir, info, result = exported
    snap = snapshots.connect(data_dir, info.snapshot_id)
    pq = duckdb.connect()
    try:
        for table, spec in json.loads((result.path / "manifest.json").read_text())["tables"].items():
            expected = snap.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            pattern = (result.path / table / "**" / "*.parquet").as_posix()
            got = pq.execute("SELECT count(*) FROM read_parquet(?, hive_partitioning = true)",
                             [pattern]).fetchone()[0]
            assert got == expected == spec["rows"], table
        # The partition values come back from the folder names.
        pattern = (result.path / "subject_result" / "**" / "*.parquet").as_posix()
        by_part = pq.execute("SELECT school_id, period, count(*) FROM read_parquet(?, "
                             "hive_partitioning = true, hive_types_autocast = false) "
                             "GROUP BY ALL ORDER BY ALL", [pattern]).fetchall()
        assert by_part == snap.execute("SELECT school_id, period, count(*) FROM subject_result "
                                       "GROUP BY ALL ORDER BY ALL").fetchall()
    finally:
        snap.close()
        pq.close()


@pytest.mark.parametrize("school_id", ["S1", "S2"])
@pytest.mark.parametrize("period", ["GK1", "CK1"])
def test_same_queries_give_the_same_answers_over_parquet_views(exported, school_id, period):
    data_dir, info, result = exported
    snap = queries.prepare(snapshots.connect(data_dir, info.snapshot_id))
    pq = duckdb.connect()
    try:
        views = parquet_export.create_views(pq, result.path)
        assert {"student", "class", "subject_result", "expectation"} <= set(views)
        queries.prepare(pq)  # the same TEMP macros, now over the views
        for name, extra in QUESTIONS:
            params = {"school_id": school_id, "school_ids": [school_id], "period": period,
                      **extra}
            a = queries.run(snap, name, **params)
            b = queries.run(pq, name, **params)
            pd.testing.assert_frame_equal(a, b, obj=f"{name} {school_id} {period}")
        assert len(queries.run(pq, "progress_units", school_id="S1", period="CK1")) > 0
    finally:
        snap.close()
        pq.close()


def test_refuses_a_folder_that_is_not_empty_unless_overwrite(small_snapshot, tmp_path, capsys):
    data_dir, info = small_snapshot
    out = tmp_path / "exports" / "out"
    assert cli.main(["export-parquet", "--data", str(data_dir), "--out", str(out)]) == 0
    assert "Đã ghi bản chụp" in capsys.readouterr().out
    (out / "marker.txt").write_text("earlier export")
    code = cli.main(["export-parquet", "--data", str(data_dir), "--out", str(out)])
    assert code == 2
    assert "không trống" in capsys.readouterr().err
    assert (out / "marker.txt").exists()
    code = cli.main(["export-parquet", "--data", str(data_dir), "--out", str(out), "--overwrite",
                     "--lang", "en"])
    assert code == 0
    said = capsys.readouterr().out
    assert said.startswith(f"Written snapshot {info.snapshot_id} as Parquet")
    assert not (out / "marker.txt").exists() and (out / "manifest.json").is_file()
    assert [p.name for p in out.parent.iterdir()] == ["out"]  # no temporary folder left


def test_overwrite_replaces_only_an_earlier_export(small_snapshot, tmp_path, capsys):
    data_dir, _ = small_snapshot
    other = tmp_path / "someone_elses"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    code = cli.main(["export-parquet", "--data", str(data_dir), "--out", str(other),
                     "--overwrite"])
    assert code == 2
    assert "manifest.json" in capsys.readouterr().err
    assert (other / "keep.txt").read_text() == "mine"


def test_refuses_the_data_folder_and_an_unknown_snapshot(small_snapshot, capsys):
    data_dir, _ = small_snapshot
    code = cli.main(["export-parquet", "--data", str(data_dir), "--out", str(data_dir),
                     "--overwrite", "--lang", "en"])
    assert code == 2
    assert "data folder" in capsys.readouterr().err
    assert snapshots.latest_snapshot(data_dir) is not None  # untouched
    code = cli.main(["export-parquet", "--data", str(data_dir), "--out",
                     str(data_dir.parent / "elsewhere"), "--snapshot", "20990101-000000-abcdef"])
    assert code == 2
    assert not (data_dir.parent / "elsewhere").exists()


def test_export_is_audited(exported):
    from csdl import records

    data_dir, info, result = exported
    code = cli.main(["export-parquet", "--data", str(data_dir), "--out",
                     str(result.path.parent / "again")])
    assert code == 0
    entries = [e for e in records.audit_entries(data_dir) if e["action"] == "parquet_export"]
    assert entries and info.snapshot_id in entries[0]["detail"]
