"""The snapshot store: atomic write, read-only open, listing, latest, damaged files skipped."""
from datetime import datetime

import duckdb
import pandas as pd
import pytest

from csdl import rules, snapshots


def tiny_tables():
    return {
        "school": pd.DataFrame([{"school_id": "S1", "name": "Trường A", "province": "P"}]),
        "class": pd.DataFrame([{"school_id": "S1", "class_id": "C1", "class_name": "1A", "grade": 1}]),
        "student": pd.DataFrame([{"school_id": "S1", "student_id": "H1", "class_id": "C1",
                                  "full_name": "Nguyễn Văn An", "active": True}]),
        "subject_result": pd.DataFrame([{"school_id": "S1", "student_id": "H1", "period": "CK1",
                                         "subject_code": "TOAN", "level": "T", "score": 9}]),
    }


def write(data_dir, when=datetime(2027, 1, 8, 17, 0), **kw):
    return snapshots.write_snapshot(data_dir, tiny_tables(), school_year="2026-2027",
                                    taken_at=when, source="import", **kw)


def test_write_then_read_back(tmp_path):
    info = write(tmp_path)
    assert info.path.exists() and info.path.parent == tmp_path / "snapshots"
    con = snapshots.connect(tmp_path, info.snapshot_id)
    assert con.execute("SELECT level, score FROM subject_result").fetchall() == [("T", 9)]
    # Catalogues come from the rules.
    assert con.execute("SELECT count(*) FROM expectation").fetchone()[0] == len(rules.all_expectations())
    assert con.execute("SELECT count(*) FROM subject").fetchone()[0] == len(rules.SUBJECTS)
    assert con.execute("SELECT taken_at, source FROM snapshot").fetchone() == (
        datetime(2027, 1, 8, 17, 0), "import")
    with pytest.raises(duckdb.Error):
        con.execute("DELETE FROM student")  # opened read-only
    con.close()


def test_every_contract_table_exists(tmp_path):
    info = write(tmp_path)
    con = snapshots.connect(tmp_path, info.snapshot_id)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    con.close()
    assert {"snapshot", "snapshot_file", "school", "class", "student", "subject", "trait",
            "expectation", "subject_result", "trait_result", "year_result", "staff",
            "assignment", "room", "equipment", "invalid_value"} <= tables


def test_interrupted_write_leaves_nothing(tmp_path):
    def boom(con):
        raise KeyboardInterrupt  # as if stopped half-way, after the tables were filled

    snapshots.register_after_write(boom)
    try:
        with pytest.raises(KeyboardInterrupt):
            write(tmp_path)
    finally:
        snapshots._AFTER_WRITE_HOOKS.remove(boom)
    assert list((tmp_path / "snapshots").iterdir()) == []
    assert snapshots.latest_snapshot(tmp_path) is None


def test_unknown_column_refused_and_nothing_written(tmp_path):
    tables = tiny_tables()
    tables["student"]["national_id"] = "0123"  # personal ID numbers are never stored
    with pytest.raises(ValueError):
        snapshots.write_snapshot(tmp_path, tables, school_year="2026-2027",
                                 taken_at=datetime(2027, 1, 1), source="import")
    assert not any((tmp_path / "snapshots").glob("*.duckdb"))


def test_list_latest_and_damaged_file_skipped(tmp_path):
    a = write(tmp_path, when=datetime(2027, 1, 1, 8))
    b = write(tmp_path, when=datetime(2027, 1, 5, 8))
    damaged = tmp_path / "snapshots" / "20270106-080000-abcdef.duckdb"
    damaged.write_bytes(b"not a database")
    good, bad = snapshots.list_snapshots(tmp_path)
    assert [s.snapshot_id for s in good] == [a.snapshot_id, b.snapshot_id]
    assert [p for p, _ in bad] == [damaged]
    assert snapshots.latest_snapshot(tmp_path).snapshot_id == b.snapshot_id
    assert snapshots.latest_snapshot(tmp_path, "2025-2026") is None


def test_bad_or_missing_id(tmp_path):
    with pytest.raises(snapshots.SnapshotError):
        snapshots.connect(tmp_path, "../../etc/passwd")
    with pytest.raises(snapshots.SnapshotError):
        snapshots.connect(tmp_path, "20270101-000000-abcdef")
