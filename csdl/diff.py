"""Differences between two snapshots, cell by cell, computed in DuckDB over both files attached
read-only (no table is loaded into Python first)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import queries, snapshots

DIFF_COLUMNS = ["student_id", "class_id", "period", "item_type", "item_code", "field", "before",
                "after"]


def diff(data_dir: Path | str, before_id: str, after_id: str, school_id: str,
         period: str | None = None) -> pd.DataFrame:
    """Every cell that differs: student_id, class_id, full_name, period, item_type, item_code,
    field, before, after, change (added / removed / changed)."""
    return diff_schools(data_dir, before_id, after_id, [school_id], period).drop(
        columns="school_id")


def diff_schools(data_dir: Path | str, before_id: str, after_id: str, school_ids: list[str],
                 period: str | None = None) -> pd.DataFrame:
    """diff() of several schools in one pass, with a school_id column first."""
    paths = [snapshots.snapshot_path(data_dir, i) for i in (before_id, after_id)]
    for snapshot_id, path in zip((before_id, after_id), paths):
        if not path.exists():
            raise snapshots.SnapshotError(f"Không tìm thấy bản chụp {snapshot_id}")
    con = snapshots.memory_connection(data_dir)  # may attach snapshots, nothing else
    try:
        # ATTACH takes no bound parameter; the paths are built from validated snapshot ids.
        for alias, path in zip(("a", "b"), paths):
            con.execute(f"ATTACH '{path.as_posix()}' AS {alias} (READ_ONLY)")
        return queries.run(con, "diff_cells", school_ids=list(school_ids), period=period)
    finally:
        con.close()


def schools_of(data_dir: Path | str, snapshot_id: str) -> list[str]:
    con = snapshots.connect(data_dir, snapshot_id)
    try:
        return [r[0] for r in con.execute("SELECT school_id FROM school ORDER BY 1").fetchall()]
    finally:
        con.close()
