"""The snapshot store: one immutable DuckDB file per import, `<data>/snapshots/<id>.duckdb`.

A snapshot is written to a temporary file in the same folder and renamed into place only when
complete, so a reader never sees half a snapshot. Once in place it is only opened read-only.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Mapping, Sequence

import duckdb
import pandas as pd

from . import rules, summaries
from .timeutil import TZ, now_local

SCHEMA_SQL = (Path(__file__).with_name("schema.sql")).read_text(encoding="utf-8")
SNAPSHOT_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
CATALOGUE_TABLES = ("subject", "trait", "expectation")
DERIVED_TABLES = ("progress_summary",)
# Functions run on the finished temporary file before the rename (derived summaries, issue 4).
_AFTER_WRITE_HOOKS: list[Callable[[duckdb.DuckDBPyConnection], None]] = []


class SnapshotError(Exception):
    """A snapshot cannot be found, read or written; the message names it."""


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: str
    school_year: str
    taken_at: datetime
    source: str
    created_at: datetime
    created_by: str | None
    note: str | None
    path: Path


@functools.cache
def table_columns() -> dict[str, tuple[str, ...]]:
    """Table name → column names, in contract order, read from schema.sql itself."""
    con = duckdb.connect(":memory:")
    con.execute(SCHEMA_SQL)
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "ORDER BY table_name, ordinal_position").fetchall()
    con.close()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return {t: tuple(c) for t, c in out.items()}


def snapshots_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / "snapshots"


def snapshot_path(data_dir: Path | str, snapshot_id: str) -> Path:
    if not SNAPSHOT_ID_RE.match(snapshot_id or ""):
        raise SnapshotError(f"Mã bản chụp không hợp lệ: {snapshot_id!r}")
    return snapshots_dir(data_dir) / f"{snapshot_id}.duckdb"


def new_snapshot_id(taken_at: datetime) -> str:
    return f"{taken_at:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def taken_at_of(snapshot_id: str) -> datetime | None:
    """The time a snapshot id starts with (what users are shown instead of the id)."""
    try:
        return datetime.strptime(snapshot_id[:15], "%Y%m%d-%H%M%S")
    except (TypeError, ValueError):
        return None


def catalogue_frames() -> dict[str, pd.DataFrame]:
    """The rule catalogues every snapshot carries."""
    subject = pd.DataFrame([(s.code, s.name_vi, s.name_en, s.kind) for s in rules.SUBJECTS],
                           columns=table_columns()["subject"])
    trait = pd.DataFrame([(t.code, t.group, t.name_vi, t.name_en) for t in rules.TRAITS],
                         columns=table_columns()["trait"])
    expectation = pd.DataFrame(
        [(e.grade, e.period, e.item_type, e.item_code, e.needs_level, e.needs_score, e.optional)
         for e in rules.all_expectations()], columns=table_columns()["expectation"])
    return {"subject": subject, "trait": trait, "expectation": expectation}


def register_after_write(hook: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
    """Run `hook` on every snapshot this process writes (a district demo writes its snapshots
    in worker processes, where a hook registered at run time is not known)."""
    if hook not in _AFTER_WRITE_HOOKS:
        _AFTER_WRITE_HOOKS.append(hook)


def write_snapshot(
    data_dir: Path | str,
    tables: Mapping[str, pd.DataFrame | Sequence[Path]],
    *,
    school_year: str,
    taken_at: datetime,
    source: str,
    created_by: str | None = None,
    note: str | None = None,
    files: pd.DataFrame | None = None,
    snapshot_id: str | None = None,
    carry_from: tuple[Path, str] | None = None,
) -> SnapshotInfo:
    """Write a complete snapshot atomically and return its info.

    `carry_from=(base snapshot file, school_id)`: `tables` hold that school only (and the whole
    `school` list); every other school's rows are copied from the base file inside DuckDB.

    `tables` holds DataFrames for the contract's data tables (missing ones are written empty;
    missing columns are NULL), or lists of Parquet files whose rows are loaded in that order
    (the demo stages large districts that way, so no table is ever whole in pandas). The
    catalogues and the `snapshot` row are added here.
    """
    rules.parse_school_year(school_year)
    if source not in ("import", "demo"):
        raise ValueError(f"source must be import or demo, got {source!r}")
    columns = table_columns()
    unknown = set(tables) - set(columns) - {"snapshot", "snapshot_file"}
    if unknown:
        raise ValueError(f"unknown snapshot tables: {sorted(unknown)}")
    snapshot_id = snapshot_id or new_snapshot_id(taken_at)
    # With microseconds: two imports of the same data time, one after the other under the
    # write lock, must sort in the order they were written (the later holds the earlier's).
    created_at = datetime.now(TZ).replace(tzinfo=None)
    final = snapshot_path(data_dir, snapshot_id)
    if final.exists():
        raise SnapshotError(f"Bản chụp {snapshot_id} đã tồn tại")
    final.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(final.parent, 0o700)  # snapshots hold personal data: only the app's user reads them
    tmp = final.parent / f".tmp-{snapshot_id}-{os.getpid()}.duckdb"
    frames = dict(catalogue_frames())
    frames.update({k: v for k, v in tables.items() if k not in CATALOGUE_TABLES})
    summary_tmp: Path | None = None
    frames["snapshot"] = pd.DataFrame(
        [(snapshot_id, school_year, taken_at, source, created_at, created_by, note)],
        columns=columns["snapshot"])
    if files is not None:
        frames["snapshot_file"] = files
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET enable_progress_bar = false")  # a province's summary takes a while
            load_tables(con, frames)
            if carry_from is not None:
                _carry_over(con, *carry_from)
            summaries.write_summary_table(con)
            for hook in _AFTER_WRITE_HOOKS:
                hook(con)
            con.execute("CHECKPOINT")
            summary_tmp = summaries.export_summary(
                con, summaries.summary_path(data_dir, snapshot_id))
            row = con.execute(f"SELECT {', '.join(INFO_FIELDS)} FROM snapshot").fetchone()
        finally:
            con.close()
        os.chmod(tmp, 0o600)
        if summary_tmp is not None:
            os.chmod(summary_tmp, 0o600)
            os.chmod(summary_tmp.parent, 0o700)
        fsync(tmp)
        write_info(final, row)
        write_checksum(tmp, final)
        # The summary goes first: a summary without its snapshot is ignored, never the reverse.
        if summary_tmp is not None:
            os.replace(summary_tmp, summaries.summary_path(data_dir, snapshot_id))
        os.replace(tmp, final)
        fsync(final.parent)
    except BaseException:
        if not final.exists():
            checksum_path(final).unlink(missing_ok=True)
            info_path(final).unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        if summary_tmp is not None:
            summary_tmp.unlink(missing_ok=True)
        raise
    return SnapshotInfo(snapshot_id, school_year, taken_at, source, created_at, created_by,
                        note, final)


# Temporary files of the store, with the writer's pid in the name: a snapshot (and DuckDB's WAL
# beside it), its info and checksum records, and a summary.
_TMP_SNAPSHOT_RE = re.compile(r"^\.tmp-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}(?:-(?P<pid>[0-9]+)"
                              r"\.duckdb(?:\.wal)?|\.(?:json|sha256)-(?P<rec>[0-9]+))$")
_TMP_SUMMARY_RE = re.compile(r"^\.tmp-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}-(?P<pid>[0-9]+)\.parquet$")
_START_SLACK_S = 1.0  # process start times are in clock ticks; file times may be coarse


def remove_leftovers(data_dir: Path | str) -> list[Path]:
    """Remove what writers killed half-way left behind and return the paths removed.

    A temporary file goes when the process named in it is no longer running, or when that pid
    now belongs to a process started after the file was last written (a reused pid: after a
    restart the server may get the pid of an import killed before it). The pid is checked even
    under the write lock, as the demo generator and `summaries.ensure_summary` write without it.
    Then an info or checksum record, or a summary, whose snapshot was never renamed into place
    (and is not being written) goes too. The caller holds `ingest.write_lock`, so no import or
    restore is between writing those records and its rename."""
    removed: list[Path] = []
    folders = ((snapshots_dir(data_dir), _TMP_SNAPSHOT_RE),
               (summaries.summaries_dir(data_dir), _TMP_SUMMARY_RE))
    for folder, pattern in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            match = pattern.match(path.name)
            if match is None:
                continue
            pid = int(match["pid"] or match.groupdict().get("rec") or 0)
            try:
                if _writer_may_run(pid, path.stat().st_mtime):
                    continue
                path.unlink()
            except OSError:  # gone meanwhile, or still open (Windows): the next start retries
                continue
            removed.append(path)
    folder = snapshots_dir(data_dir)
    beside = [*folder.glob("*.json"), *folder.glob("*.sha256"),
              *summaries.summaries_dir(data_dir).glob("*.parquet")]
    for path in sorted(beside):
        snapshot_id = path.stem
        if not SNAPSHOT_ID_RE.match(snapshot_id):
            continue
        # The temporary file first: a writer renames it to the final name, never the reverse.
        if any(folder.glob(f".tmp-{snapshot_id}-*.duckdb")) or \
                snapshot_path(data_dir, snapshot_id).exists():
            continue
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def _writer_may_run(pid: int, written_at: float) -> bool:
    """Whether process `pid` may still be writing a file last written at `written_at`."""
    running, started = _process(pid)
    return running and (started is None or started <= written_at + _START_SLACK_S)


def _process(pid: int) -> tuple[bool, float | None]:
    """(running, start time as a Unix time or None when unknown) of a process."""
    if pid <= 0:
        return False, None
    if os.name == "nt":
        return _windows_process_running(pid), None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False, None
    except PermissionError:  # another user's process: it exists
        pass
    try:  # Linux: a zombie is not running; field 22 is the start in clock ticks after boot
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if stat[0] in ("Z", "X"):
            return False, None
        boot = next(float(line.split()[1]) for line in
                    Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        return True, boot + int(stat[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return True, None


def _windows_process_running(pid: int) -> bool:
    # os.kill(pid, 0) would terminate the process on Windows: ask the kernel instead.
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # type: ignore[attr-defined]  # ACCESS_DENIED: exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def load_tables(con: duckdb.DuckDBPyConnection,
                tables: Mapping[str, pd.DataFrame | Sequence[Path]]) -> None:
    """Create the contract's tables on `con` and fill them from frames or Parquet files."""
    con.execute(SCHEMA_SQL)
    replace_rows(con, tables)


def replace_rows(con: duckdb.DuckDBPyConnection,
                 tables: Mapping[str, pd.DataFrame | Sequence[Path]]) -> None:
    """Replace the rows of the given contract tables (made by `load_tables`) on `con`."""
    for table, cols in table_columns().items():
        source = tables.get(table)
        if source is None:
            continue
        con.execute(f'DELETE FROM "{table}"')
        if isinstance(source, pd.DataFrame):
            _insert_frame(con, table, cols, source)
        else:
            _insert_parquet(con, table, cols, [str(p) for p in source])


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, cols: tuple[str, ...],
                  df: pd.DataFrame) -> None:
    if df.empty:
        return
    extra = set(df.columns) - set(cols)
    if extra:
        raise ValueError(f"table {table} has unknown columns {sorted(extra)}")
    df = df.reindex(columns=list(cols))
    con.register("incoming", df)
    quoted = ", ".join(f'"{c}"' for c in cols)
    con.execute(f'INSERT INTO "{table}" ({quoted}) SELECT {quoted} FROM incoming')
    con.unregister("incoming")


def _insert_parquet(con: duckdb.DuckDBPyConnection, table: str, cols: tuple[str, ...],
                    files: list[str]) -> None:
    """Load Parquet files into a contract table in one statement, file after file."""
    if not files:
        return
    scan = "read_parquet($files, union_by_name = true)"
    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}",
                                         {"files": files}).fetchall()}
    extra = present - set(cols)
    if extra:
        raise ValueError(f"table {table} has unknown columns {sorted(extra)}")
    quoted = ", ".join(f'"{c}"' for c in cols)
    chosen = ", ".join(f'"{c}"' if c in present else f'NULL AS "{c}"' for c in cols)
    con.execute(f'INSERT INTO "{table}" ({quoted}) SELECT {chosen} FROM {scan}',
                {"files": files})


def fsync(path: Path) -> None:
    """Flush a file or a folder (a rename) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Every connection that reads a snapshot: no extension is installed or loaded (a SQLite file
# posing as a snapshot would make DuckDB fetch one), no persistent secret is read; `harden` then
# turns external access off (no file, URL or ATTACH beyond the folders named) and locks it, so
# no query and no file can turn it back on.
READ_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False,
               "allow_community_extensions": False, "allow_persistent_secrets": False}
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def harden(con: duckdb.DuckDBPyConnection,
           allowed_dirs: Sequence[Path | str] = ()) -> duckdb.DuckDBPyConnection:
    """External access off on `con`'s database except for `allowed_dirs` (read and write), then
    locked. DuckDB shares one database between the connections a process opens to the same file,
    settings included: a database already locked by an earlier connection is only checked."""
    if _locked_without_access(con):
        return con
    try:
        if allowed_dirs:
            paths = {str(p) + os.sep for d in allowed_dirs
                     for p in (Path(d).absolute(), Path(d).resolve())}
            quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in sorted(paths))
            con.execute(f"SET allowed_directories = [{quoted}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.InvalidInputException:
        if not _locked_without_access(con):  # another thread locked it first: fine if so
            raise
    return con


def _locked_without_access(con: duckdb.DuckDBPyConnection) -> bool:
    locked, external = con.execute("SELECT current_setting('lock_configuration'), "
                                   "current_setting('enable_external_access')").fetchone()
    if locked and external:
        raise SnapshotError("cấu hình DuckDB đã bị khóa khi vẫn cho truy cập bên ngoài")
    return bool(locked)


def open_file(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A snapshot file opened read-only with external access and extensions off; a file that
    is not a DuckDB database is refused before DuckDB sees it. Beside the file itself, the
    connection may read and write only the summaries folder of the same data folder (for
    summaries.ensure_summary and the district's scans): the same for every connection to a
    file, since they share its settings."""
    path = Path(path)
    with open(path, "rb") as fh:
        if fh.read(12)[8:12] != _DUCKDB_MAGIC:
            raise SnapshotError(f"{path.name}: không phải tệp DuckDB")
    con = duckdb.connect(str(path), read_only=True, config=READ_CONFIG)
    try:
        return harden(con, [summaries.summaries_dir(path.parent.parent)])
    except BaseException:
        con.close()
        raise


def memory_connection(data_dir: Path | str,
                      allowed_dirs: Sequence[Path | str] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the settings of every snapshot connection, which may
    `ATTACH '<snapshot>' (READ_ONLY)` the snapshots of `data_dir`, and read or write
    `allowed_dirs` (an export's folder). Each one is its own database: its own settings."""
    con = duckdb.connect(":memory:", config=READ_CONFIG)
    try:
        return harden(con, [snapshots_dir(data_dir), summaries.summaries_dir(data_dir),
                            *allowed_dirs])
    except BaseException:
        con.close()
        raise


def connect(data_dir: Path | str, snapshot_id: str) -> duckdb.DuckDBPyConnection:
    """Open a snapshot read-only (open_file)."""
    path = snapshot_path(data_dir, snapshot_id)
    if not path.exists():
        raise SnapshotError(f"Không tìm thấy bản chụp {snapshot_id} trong {path.parent}")
    try:
        return open_file(path)
    except (duckdb.Error, OSError) as exc:
        raise SnapshotError(f"Không đọc được bản chụp {snapshot_id}: {exc}") from exc


def checksum_path(snapshot_file: Path) -> Path:
    """`<id>.sha256` beside `<id>.duckdb`: the file's SHA-256 as written."""
    return snapshot_file.with_suffix(".sha256")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksum(source: Path, snapshot_file: Path | None = None) -> None:
    """Record `source`'s SHA-256 for `snapshot_file` (default: itself), atomically.

    Listing compares a file with it once per (mtime, size), so a damaged block anywhere in a
    whole-length file is found before a page reads it."""
    target = checksum_path(snapshot_file or source)
    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    try:
        tmp.write_text(file_sha256(source) + "\n", encoding="ascii")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@functools.lru_cache(maxsize=4096)
def _checksum_matches(path: str, mtime_ns: int, size: int, recorded: str) -> bool:
    return file_sha256(Path(path)) == recorded


def _checksum_ok(path: Path, mtime_ns: int, size: int) -> bool | None:
    """True / False: the file matches / differs from its recorded SHA-256; None: none recorded
    (a snapshot written before checksums)."""
    try:
        recorded = checksum_path(path).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return _checksum_matches(str(path), mtime_ns, size, recorded)


def _check_checksum(path: Path, st: os.stat_result) -> None:
    """Raise when the recorded SHA-256 differs; a snapshot written before checksums has none."""
    if _checksum_ok(path, st.st_mtime_ns, st.st_size) is False:
        raise SnapshotError("nội dung tệp không khớp mã kiểm tra SHA-256 ghi lúc tạo "
                            "(tệp bị hỏng hoặc bị sửa)")


INFO_FIELDS = ("snapshot_id", "school_year", "taken_at", "source", "created_at", "created_by",
               "note")
_INFO_TIMES = ("taken_at", "created_at")


def info_path(snapshot_file: Path) -> Path:
    """`<id>.json` beside `<id>.duckdb`: its snapshot row, so listing need not open the file."""
    return snapshot_file.with_suffix(".json")


def write_info(snapshot_file: Path, row: Sequence[object]) -> None:
    values = dict(zip(INFO_FIELDS, row))
    for field in _INFO_TIMES:
        values[field] = values[field].isoformat()
    target = info_path(snapshot_file)
    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _recorded_info(path: Path) -> SnapshotInfo | None:
    """The snapshot row recorded beside the file, or None (none, or unreadable)."""
    try:
        values = json.loads(info_path(path).read_text(encoding="utf-8"))
        for field in _INFO_TIMES:
            values[field] = datetime.fromisoformat(values[field])
        return SnapshotInfo(**{f: values[f] for f in INFO_FIELDS}, path=path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


@functools.lru_cache(maxsize=4096)
def _read_info(path: str, mtime_ns: int, size: int) -> SnapshotInfo:
    """The snapshot row: from `<id>.json` when the file's checksum is recorded and matches (the
    file is then exactly the one written with that row), else from the file itself."""
    if _checksum_ok(Path(path), mtime_ns, size):
        recorded = _recorded_info(Path(path))
        if recorded is not None:
            return recorded
    con = open_file(path)
    try:
        row = con.execute(f"SELECT {', '.join(INFO_FIELDS)} FROM snapshot").fetchone()
    finally:
        con.close()
    if row is None:
        raise SnapshotError(f"{path}: thiếu dòng snapshot")
    return SnapshotInfo(*row, path=Path(path))


def list_snapshots(data_dir: Path | str) -> tuple[list[SnapshotInfo], list[tuple[Path, str]]]:
    """All readable snapshots, oldest first, and the unreadable files with the reason."""
    good: list[SnapshotInfo] = []
    bad: list[tuple[Path, str]] = []
    folder = snapshots_dir(data_dir)
    if not folder.is_dir():
        return good, bad
    for path in sorted(folder.glob("*.duckdb")):
        if path.name.startswith(".tmp-") or not SNAPSHOT_ID_RE.match(path.stem):
            continue
        try:
            st = path.stat()
            info = _read_info(str(path), st.st_mtime_ns, st.st_size)
            if info.snapshot_id != path.stem:
                raise SnapshotError("tên tệp khác mã trong tệp")
            _check_checksum(path, st)
            good.append(info)
        except (duckdb.Error, SnapshotError, OSError) as exc:
            bad.append((path, str(exc).splitlines()[0]))
    good.sort(key=lambda s: (s.taken_at, s.created_at))
    return good, bad


def latest_snapshot(data_dir: Path | str, school_year: str | None = None,
                    exclude_demo: bool = False) -> SnapshotInfo | None:
    snaps, _ = list_snapshots(data_dir)
    if school_year:
        snaps = [s for s in snaps if s.school_year == school_year]
    if exclude_demo:
        snaps = [s for s in snaps if s.source != "demo"]
    return snaps[-1] if snaps else None


def get_snapshot(data_dir: Path | str, snapshot_id: str) -> SnapshotInfo:
    path = snapshot_path(data_dir, snapshot_id)
    if not path.exists():
        raise SnapshotError(f"Không tìm thấy bản chụp {snapshot_id}")
    try:
        st = path.stat()
        return _read_info(str(path), st.st_mtime_ns, st.st_size)
    except duckdb.Error as exc:
        raise SnapshotError(f"Không đọc được bản chụp {snapshot_id}: {exc}") from exc


def read_tables(data_dir: Path | str, snapshot_id: str,
                school_id: str | None = None) -> dict[str, pd.DataFrame]:
    """Every data table of a snapshot as DataFrames (used to build the next one from it).

    With `school_id`, only that school's rows of its tables (the `school` list and the file
    list stay whole): an import of one school in a district never holds the others in pandas."""
    con = connect(data_dir, snapshot_id)
    try:
        out = {}
        for table, cols in table_columns().items():
            if table in CATALOGUE_TABLES or table == "snapshot" or table in DERIVED_TABLES:
                continue
            if school_id is not None and "school_id" in cols and table != "school":
                out[table] = con.execute(f'SELECT * FROM "{table}" WHERE school_id = ?',
                                         [school_id]).df()
            else:
                out[table] = con.execute(f'SELECT * FROM "{table}"').df()
        return out
    finally:
        con.close()


def carried_tables() -> list[str]:
    """The tables whose other schools' rows `write_snapshot(carry_from=…)` copies over."""
    return [t for t, cols in table_columns().items()
            if "school_id" in cols and t != "school" and t not in DERIVED_TABLES]


def _carry_over(con: duckdb.DuckDBPyConnection, base: Path, school_id: str) -> None:
    """Copy every other school's rows from the base snapshot, inside DuckDB."""
    con.execute("ATTACH ? AS base (READ_ONLY)", [str(base)])
    try:
        for table in carried_tables():
            present = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_catalog = 'base' AND table_name = ?", [table]).fetchall()}
            cols = [c for c in table_columns()[table] if c in present]
            if not cols:
                continue  # a table the base snapshot's contract did not have yet
            quoted = ", ".join(f'"{c}"' for c in cols)
            con.execute(f'INSERT INTO main."{table}" ({quoted}) SELECT {quoted} '
                        f'FROM base."{table}" WHERE school_id IS DISTINCT FROM ?', [school_id])
    finally:
        con.execute("DETACH base")
