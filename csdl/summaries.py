"""Small derived summaries written with each snapshot, so history never reopens snapshots.

`progress_summary` (one row per school × period × class × unit, with expected and entered) is
computed inside the snapshot while it is written, and copied to
`<data>/summaries/<snapshot_id>.parquet`. History questions read all those Parquet files in
one DuckDB scan. A missing file (an older snapshot) is rebuilt from its snapshot once.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

from . import queries, rules

SUMMARY_TABLE = "progress_summary"
SUMMARY_ORDER = "school_id, period, class_id, item_code"  # one row each: a stable file
SUMMARY_BATCH = 8  # schools per statement (see write_summary_table)


def summaries_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / "summaries"


def summary_path(data_dir: Path | str, snapshot_id: str) -> Path:
    return summaries_dir(data_dir) / f"{snapshot_id}.parquet"


def write_summary_table(con: duckdb.DuckDBPyConnection) -> None:
    """Build progress_summary inside a snapshot being written.

    A few schools per statement: the joins behind `progress_units_all` then stay small (a
    province's snapshot would otherwise need gigabytes), and every unit belongs to one school,
    so the batches add up to the whole. Rows are in SUMMARY_ORDER, so the file is stable."""
    queries.prepare(con)
    parts = " UNION ALL ".join(f"SELECT * FROM progress_units_all('{p}')" for p in rules.PERIODS)
    select = (f"SELECT s.snapshot_id, s.taken_at, s.school_year, u.* "
              f"FROM ({parts}) u CROSS JOIN snapshot s")
    school_ids = [r[0] for r in con.execute(
        "SELECT DISTINCT school_id FROM student ORDER BY 1").fetchall()]
    con.execute(f"CREATE OR REPLACE TABLE {SUMMARY_TABLE} AS {select} LIMIT 0")
    for k in range(0, len(school_ids), SUMMARY_BATCH):
        batch = school_ids[k:k + SUMMARY_BATCH]
        con.execute(f"INSERT INTO {SUMMARY_TABLE} {select} "
                    f"WHERE u.school_id BETWEEN $first AND $last ORDER BY {SUMMARY_ORDER}",
                    {"first": batch[0], "last": batch[-1]})


def export_summary(con: duckdb.DuckDBPyConnection, target: Path) -> Path | None:
    """Copy the snapshot's summary to a temporary Parquet file beside `target`."""
    has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                      [SUMMARY_TABLE]).fetchone()[0]
    if not has:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{target.stem}-{os.getpid()}.parquet")
    con.execute(f"COPY {SUMMARY_TABLE} TO '{_sql_path(tmp)}' (FORMAT parquet)")
    return tmp


def ensure_summary(data_dir: Path | str, snapshot_id: str) -> Path:
    """The summary file of a snapshot, rebuilt from the snapshot when missing."""
    from . import snapshots

    target = summary_path(data_dir, snapshot_id)
    if target.exists():
        return target
    con = snapshots.connect(data_dir, snapshot_id)
    try:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        if SUMMARY_TABLE in tables:
            tmp = export_summary(con, target)
        else:  # a snapshot from before summaries: compute into memory
            queries.prepare(con)
            parts = " UNION ALL ".join(
                f"SELECT * FROM progress_units_all('{p}')" for p in rules.PERIODS)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".tmp-{target.stem}-{os.getpid()}.parquet")
            con.execute(f"COPY (SELECT s.snapshot_id, s.taken_at, s.school_year, u.* "
                        f"FROM ({parts}) u CROSS JOIN snapshot s) TO '{_sql_path(tmp)}' "
                        f"(FORMAT parquet)")
    finally:
        con.close()
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target


def _sql_path(path: Path) -> str:
    # COPY takes no bound parameter for its file name; our own paths are quoted here.
    return str(path).replace("'", "''")
