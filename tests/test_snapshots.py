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


def _opened_files(monkeypatch) -> list[str]:
    """Record every DuckDB file the snapshot store opens from now on."""
    opened = []
    real = snapshots.duckdb.connect

    def recording(path=":memory:", *a, **k):
        opened.append(str(path))
        return real(path, *a, **k)
    monkeypatch.setattr(snapshots.duckdb, "connect", recording)
    return opened


def test_listing_reads_the_recorded_row_without_opening_the_files(tmp_path, monkeypatch):
    a = write(tmp_path, when=datetime(2027, 1, 1, 8), created_by="qt", note="ghi chú")
    b = write(tmp_path, when=datetime(2027, 1, 5, 8))
    assert snapshots.info_path(a.path).exists() and snapshots.checksum_path(a.path).exists()
    snapshots._read_info.cache_clear()
    snapshots._checksum_matches.cache_clear()
    opened = _opened_files(monkeypatch)
    good, bad = snapshots.list_snapshots(tmp_path)
    assert opened == [] and bad == []
    assert good == [a, b]  # every field as write_snapshot returned it (read from the file)
    con = duckdb.connect(str(a.path), read_only=True)
    row = con.execute("SELECT * FROM snapshot").fetchone()
    con.close()
    assert row == (a.snapshot_id, a.school_year, a.taken_at, a.source, a.created_at, "qt",
                   "ghi chú")


def test_listing_opens_the_file_when_the_record_is_missing_broken_or_the_file_changed(
        tmp_path, monkeypatch):
    a = write(tmp_path, when=datetime(2027, 1, 1, 8))
    b = write(tmp_path, when=datetime(2027, 1, 5, 8))
    c = write(tmp_path, when=datetime(2027, 1, 6, 8))
    snapshots.info_path(a.path).unlink()                       # written before the record
    snapshots.info_path(b.path).write_text("{not json", encoding="utf-8")  # broken record
    raw = bytearray(c.path.read_bytes())                        # a flipped byte in the file
    raw[len(raw) // 2] ^= 0xFF
    c.path.write_bytes(bytes(raw))
    snapshots._read_info.cache_clear()
    opened = _opened_files(monkeypatch)
    good, bad = snapshots.list_snapshots(tmp_path)
    assert [s.snapshot_id for s in good] == [a.snapshot_id, b.snapshot_id]
    assert good == [a, b]
    assert [p for p, _ in bad] == [c.path]
    assert str(a.path) in opened and str(b.path) in opened
