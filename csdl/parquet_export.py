"""One snapshot's contract tables as Parquet, partitioned Hive-style, for engines beyond one machine.

    <out>/manifest.json                                  snapshot, tables, columns, rows, layout
    <out>/subject_result/school_id=…/period=…/*.parquet  results: by school and period
    <out>/student/school_id=…/*.parquet                  every other school table: by school
    <out>/subject/subject.parquet                        catalogues and the snapshot row: one file

The partition columns live in the folder names only (DuckDB's PARTITION_BY), so a reader must
use Hive partitioning and read them as text (`hive_types_autocast=false`: a school id such as
"79000101" stays text). `create_views` shows the reading side: one view per contract table,
columns in the snapshot's order, so the same `queries/*.sql` run over the Parquet files.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from . import snapshots

# Tables with a period per row: partitioned by school and period (progress_summary is the
# per-snapshot progress table, not in the contract but kept with it).
BY_SCHOOL_AND_PERIOD = ("subject_result", "trait_result", "progress_summary")
# Catalogues and the snapshot's own rows: no school, one file each.
UNPARTITIONED = ("snapshot", "snapshot_file", "subject", "trait", "expectation")
MANIFEST = "manifest.json"


class ExportRefused(Exception):
    """The output folder cannot be used; `key` and `params` name the i18n message."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class ExportResult:
    path: Path
    snapshot_id: str
    tables: int
    files: int
    rows: int


def partition_columns(table: str, columns: list[str]) -> list[str]:
    if table in UNPARTITIONED or "school_id" not in columns:
        return []
    if table in BY_SCHOOL_AND_PERIOD and "period" in columns:
        return ["school_id", "period"]
    return ["school_id"]


def _sql_path(path: Path) -> str:
    return path.as_posix().replace("'", "''")


def _check_out(out: Path, data_dir: Path, overwrite: bool) -> None:
    out_r, data_r = out.resolve(), Path(data_dir).resolve()
    if out_r == data_r or data_r.is_relative_to(out_r):
        raise ExportRefused("parquet.inside_data", path=out, data=data_dir)
    if out.exists() and not out.is_dir():
        raise ExportRefused("parquet.not_a_folder", path=out)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ExportRefused("parquet.not_empty", path=out)
        # --overwrite replaces an earlier export only, never a folder of something else.
        if not (out / MANIFEST).is_file():
            raise ExportRefused("parquet.not_an_export", path=out)


def export(data_dir: Path | str, out: Path | str, snapshot_id: str | None = None,
           overwrite: bool = False) -> ExportResult:
    """Write one snapshot (default: the latest) as partitioned Parquet into `out`.

    Written into a temporary folder beside `out` and moved into place when complete; with
    `overwrite` the old folder is removed only after the new one is complete."""
    data_dir, out = Path(data_dir), Path(out)
    if snapshot_id is None:
        latest = snapshots.latest_snapshot(data_dir)
        if latest is None:
            raise ExportRefused("cli.no_snapshot", folder=data_dir)
        snapshot_id = latest.snapshot_id
    info = snapshots.get_snapshot(data_dir, snapshot_id)
    _check_out(out, data_dir, overwrite)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    # Snapshot connections may write nowhere; this one may write the export's folder only.
    con = snapshots.memory_connection(data_dir, [tmp])
    con.execute(f"ATTACH '{_sql_path(snapshots.snapshot_path(data_dir, snapshot_id))}' AS snap "
                "(READ_ONLY)")
    con.execute("USE snap")
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "ORDER BY table_name").fetchall()]
        manifest: dict = {"snapshot_id": info.snapshot_id, "school_year": info.school_year,
                          "taken_at": info.taken_at.isoformat(sep=" "),
                          "exported_at": datetime.now().isoformat(sep=" ", timespec="seconds"),
                          "format": "parquet, Hive partitioning (partition columns as text)",
                          "tables": {}}
        total_rows = 0
        for table in tables:
            cols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                [table]).fetchall()
            columns = [c for c, _ in cols]
            parts = partition_columns(table, columns)
            rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            folder = tmp / table
            folder.mkdir()
            quoted = ", ".join(f'"{c}"' for c in parts)
            if parts and rows:
                # Rows with no period (or no school) would land in a "NULL" folder and come
                # back as the text 'NULL'; the contract keeps these columns NOT NULL.
                con.execute(f'COPY (SELECT * FROM "{table}") TO \'{_sql_path(folder)}\' '
                            f"(FORMAT parquet, PARTITION_BY ({quoted}), "
                            f"FILENAME_PATTERN '{table}_{{i}}')")
            else:
                # A catalogue, or an empty table: one file that still carries every column.
                con.execute(f'COPY (SELECT * FROM "{table}") TO '
                            f"'{_sql_path(folder / (table + '.parquet'))}' (FORMAT parquet)")
                parts = [] if not rows else parts
            manifest["tables"][table] = {"columns": [{"name": c, "type": ty} for c, ty in cols],
                                         "partition_by": parts, "rows": rows}
            total_rows += rows
    except BaseException:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    con.close()
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False),
                                encoding="utf-8")
    files = sum(1 for _ in tmp.rglob("*.parquet"))
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return ExportResult(out, info.snapshot_id, len(manifest["tables"]), files, total_rows)


def view_sql(root: Path | str, table: str, spec: dict) -> str:
    """CREATE VIEW <table> over its Parquet files, columns and types as in the snapshot."""
    root = Path(root)
    pattern = _sql_path(root / table / "**" / "*.parquet")
    select = ", ".join(f'CAST("{c["name"]}" AS {c["type"]}) AS "{c["name"]}"'
                       for c in spec["columns"])
    return (f'CREATE OR REPLACE VIEW "{table}" AS SELECT {select} FROM read_parquet('
            f"'{pattern}', hive_partitioning = true, hive_types_autocast = false)")


def create_views(con: duckdb.DuckDBPyConnection, root: Path | str) -> list[str]:
    """Views named like the contract tables over an export, so `queries/*.sql` run unchanged."""
    manifest = json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
    for table, spec in manifest["tables"].items():
        con.execute(view_sql(root, table, spec))
    return list(manifest["tables"])
