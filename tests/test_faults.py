"""Faults: an import killed half-way, a damaged snapshot file, a second writer holding app.db,
a full disk. Each leaves the data whole and says clearly what happened."""
import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from csdl import cli, records, schedule, snapshots
from csdl.config import REPO_ROOT
from csdl.i18n import t
from csdl.samples import write_sector_files
from tests.readers_fixtures import SCHOOL_ID, SCHOOL_NAME, SCHOOL_YEAR, contract_tables
from tests.conftest import bind_session

BASE_TIME = "2027-01-05T17:00"
BASE_SHOWN = "05/01/2027 17:00"  # how the overview states the base snapshot's time


@pytest.fixture
def school_files(tmp_path) -> dict[str, Path]:
    paths = write_sector_files(contract_tables(), tmp_path / "files", school_id=SCHOOL_ID,
                               school_name=SCHOOL_NAME, school_year=SCHOOL_YEAR,
                               periods=["GK1", "CK1"])
    return {p.name: p for p in paths}


@pytest.fixture
def imported(tmp_path, school_files) -> Path:
    """A data folder holding one imported snapshot (students and staff, as of 05/01)."""
    data = tmp_path / "data"
    assert cli.main(["import", str(school_files["C1-HocSinh.xls"]),
                     str(school_files["CSDL_GiaoVien.xls"]), "--data", str(data),
                     "--school-id", SCHOOL_ID, "--school-name", SCHOOL_NAME,
                     "--taken-at", BASE_TIME]) == 0
    return data


def snapshot_state(data: Path) -> tuple[list[str], list[str]]:
    good, bad = snapshots.list_snapshots(data)
    return [s.snapshot_id for s in good], [p.name for p, _ in bad]


def page(script: str, data: Path, monkeypatch, role: str = "principal") -> AppTest:
    """A page of the app, signed in, on this data folder (through app.py's menu)."""
    monkeypatch.setenv("CSDL_DATA_DIR", str(data))
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = f"test_{role}"
    at.session_state["name"] = "Người thử"
    at.session_state["roles"] = [role]
    bind_session(at)  # the account and its school, in users.yaml
    at.run()
    return at.switch_page(script).run()


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


# --- an import killed with SIGKILL half-way -----------------------------------------------------

# `python -m csdl import …` with one test-only addition made from outside: an after-write hook
# that says "the tables are written" (a marker file) and waits to be killed, before the
# checkpoint and the rename. The production code is exactly what runs.
_KILLABLE_IMPORT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from csdl import cli, snapshots

    def wait_to_be_killed(con):
        Path(sys.argv[1]).write_text("writing")
        time.sleep(120)

    snapshots.register_after_write(wait_to_be_killed)
    sys.exit(cli.main(sys.argv[2:]))
""")


def test_import_killed_half_way_leaves_no_snapshot_and_the_app_serves_the_previous(
        imported, school_files, tmp_path, monkeypatch):
    before = snapshot_state(imported)
    marker = tmp_path / "writing.marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE_IMPORT, str(marker), "import",
         str(school_files["KQHT-C1-CK1-Khoi4.xlsx"]), "--data", str(imported),
         "--taken-at", "2027-01-08T17:00"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.05)
        tmp_files = list(snapshots.snapshots_dir(imported).glob(".tmp-*"))
        assert tmp_files, "the snapshot was being written to a temporary file"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    # The half-written file is still on disk, but never counted as a snapshot, good or bad.
    assert list(snapshots.snapshots_dir(imported).glob(".tmp-*"))
    assert snapshot_state(imported) == before
    assert len(list(snapshots.snapshots_dir(imported).glob("2*.duckdb"))) == 1
    at = page("pages/overview.py", imported, monkeypatch)
    assert not at.exception, at.exception
    assert SCHOOL_NAME in "".join(s.value for s in at.subheader)
    assert f"Dữ liệu lúc {BASE_SHOWN}" in captions(at)
    assert "08/01/2027" not in captions(at)


# --- a truncated or corrupt snapshot file ---------------------------------------------------------

def test_truncated_snapshot_is_reported_on_the_data_page_and_skipped(imported, monkeypatch):
    base_id = snapshot_state(imported)[0][0]
    real = snapshots.snapshot_path(imported, base_id)
    # A newer id, so that it would be "the latest" if it were read.
    damaged = snapshots.snapshot_path(imported, "20270110-080000-abcdef")
    content = real.read_bytes()
    damaged.write_bytes(content[:len(content) // 2])

    assert snapshot_state(imported) == ([base_id], [damaged.name])
    assert snapshots.latest_snapshot(imported).snapshot_id == base_id
    at = page("pages/overview.py", imported, monkeypatch)
    assert not at.exception, at.exception
    assert f"Dữ liệu lúc {BASE_SHOWN}" in captions(at)

    at = page("pages/data.py", imported, monkeypatch, role="admin")
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any(damaged.name in e and "bị hỏng" in e for e in errors), errors
    shown = "".join(df.value.to_string() for df in at.dataframe)
    # Snapshots are listed by the time of their data (no internal ids on the page).
    assert BASE_SHOWN in shown and "10/01/2027 08:00" not in shown


def snapshot_row_readable(path: Path) -> bool:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute("SELECT snapshot_id FROM snapshot").fetchone() is not None
        finally:
            con.close()
    except duckdb.Error:
        return False


def test_bit_rot_inside_a_whole_length_snapshot_is_found_when_listing(imported, school_files,
                                                                      monkeypatch):
    base_id = snapshot_state(imported)[0][0]
    assert cli.main(["import", str(school_files["CSDL_GiaoVien.xls"]), "--data", str(imported),
                     "--school-id", SCHOOL_ID, "--taken-at", "2027-01-08T17:00"]) == 0
    newer_id = snapshot_state(imported)[0][1]
    newer = snapshots.snapshot_path(imported, newer_id)
    assert snapshots.checksum_path(newer).is_file()
    original = newer.read_bytes()
    # Damage a block that reading the snapshot row does not touch: DuckDB alone would not
    # notice it until a page read that block.
    for fraction in (0.1, 0.25, 0.4, 0.5, 0.75, 0.9):
        content = bytearray(original)
        content[int(len(content) * fraction)] ^= 0xFF
        newer.write_bytes(bytes(content))
        if snapshot_row_readable(newer):
            break
    else:
        pytest.fail("every damaged position was caught by the snapshot row read itself")

    good, bad = snapshots.list_snapshots(imported)
    assert [s.snapshot_id for s in good] == [base_id]
    assert [(p.name, "SHA-256" in reason) for p, reason in bad] == [(newer.name, True)]
    assert snapshots.latest_snapshot(imported).snapshot_id == base_id
    at = page("pages/overview.py", imported, monkeypatch)
    assert not at.exception, at.exception
    assert f"Dữ liệu lúc {BASE_SHOWN}" in captions(at)
    at = page("pages/data.py", imported, monkeypatch, role="admin")
    assert any(newer.name in e.value for e in at.error), [e.value for e in at.error]

    # Control: the same file put right is listed again.
    newer.write_bytes(original)
    assert snapshot_state(imported) == ([base_id, newer_id], [])


def test_snapshot_that_is_not_a_database_is_skipped(imported):
    base_id = snapshot_state(imported)[0][0]
    garbage = snapshots.snapshot_path(imported, "20270111-080000-abcdef")
    garbage.write_bytes(os.urandom(64 * 1024))
    assert snapshot_state(imported) == ([base_id], [garbage.name])


# --- a second writer holding app.db -----------------------------------------------------------

@pytest.fixture
def schedule_file(tmp_path) -> bytes:
    """The demo's lock schedule as the Excel file an administrator would import (11 rows)."""
    source = tmp_path / "source"
    schedule.store_demo_schedule(source)
    return schedule.export_excel(source, SCHOOL_YEAR)


def schedule_rows(data: Path) -> list[tuple]:
    con = sqlite3.connect(records.db_path(data))
    try:
        return con.execute("SELECT school_year, period, grade, opens, deadline, lock "
                           "FROM lock_schedule ORDER BY 1, 2, 3").fetchall()
    finally:
        con.close()


@pytest.fixture
def second_writer(imported):
    """Another process's connection to app.db, able to hold it with BEGIN EXCLUSIVE."""
    schedule.windows(imported, SCHOOL_YEAR)  # app.db and its tables exist
    con = sqlite3.connect(records.db_path(imported), isolation_level=None,
                          check_same_thread=False)
    yield con
    if con.in_transaction:
        con.execute("ROLLBACK")
    con.close()


def test_write_waits_for_a_second_writer_then_fails_clearly_and_writes_nothing(
        imported, schedule_file, second_writer, monkeypatch):
    monkeypatch.setattr(records, "BUSY_TIMEOUT_MS", 400)  # short, to keep the test quick
    before = schedule_rows(imported)
    audit_before = len(records.audit_entries(imported))
    second_writer.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(records.RecordsBusy) as busy:
        schedule.import_excel(imported, schedule_file, actor="quantri")
    waited = time.monotonic() - started
    assert waited >= 0.35, "the write gave up without waiting for the busy timeout"
    message = t(busy.value.key, "vi", seconds="0,4")
    assert "app.db" in message and "Chưa ghi gì" in message and "thử lại" in message
    assert "Nothing was written" in t(busy.value.key, "en", seconds="0.4")
    second_writer.execute("ROLLBACK")
    # Not half-applied: the import deletes the year's rows and inserts new ones in one
    # transaction, and none of it happened.
    assert schedule_rows(imported) == before
    assert len(records.audit_entries(imported)) == audit_before


def test_write_succeeds_when_the_second_writer_lets_go_within_the_timeout(
        imported, schedule_file, second_writer, monkeypatch):
    monkeypatch.setattr(records, "BUSY_TIMEOUT_MS", 5_000)
    second_writer.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.3, lambda: second_writer.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    count = schedule.import_excel(imported, schedule_file, actor="quantri")
    release.join()
    assert time.monotonic() - started >= 0.25  # it did wait for the other writer
    assert count > 0 and len(schedule_rows(imported)) == count
    assert records.audit_entries(imported)[0]["action"] == "schedule_import"


def test_busy_app_db_gives_the_cli_a_clear_message(imported, second_writer, monkeypatch,
                                                   capsys, tmp_path):
    monkeypatch.setattr(records, "BUSY_TIMEOUT_MS", 300)
    second_writer.execute("BEGIN EXCLUSIVE")
    # A backup reads app.db through SQLite (a reader is never blocked in WAL mode); its audit
    # row is a write, which waits and then fails with the message, not a traceback.
    code = cli.main(["backup", "--out", str(tmp_path / "b.zip"), "--data", str(imported)])
    assert code == 3
    err = capsys.readouterr().err
    assert "app.db" in err and "đang bận" in err and "Traceback" not in err


# --- a full disk during an import ---------------------------------------------------------------

class _DiskFullOnInsert:
    """A DuckDB connection whose third INSERT fails as a full disk does, half-way through."""

    def __init__(self, con):
        self._con, self._inserts = con, 0

    def execute(self, sql, *args, **kwargs):
        if sql.lstrip().upper().startswith("INSERT"):
            self._inserts += 1
            if self._inserts == 3:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def _fail_replace_with_enospc(real_replace):
    def replace(src, dst, *args, **kwargs):
        if Path(dst).parent.name in ("snapshots", "summaries"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real_replace(src, dst, *args, **kwargs)
    return replace


@pytest.mark.parametrize("where", ["duckdb_insert", "rename"])
def test_full_disk_during_an_import_fails_cleanly(imported, school_files, monkeypatch, capsys,
                                                  where):
    before = snapshot_state(imported)
    summaries_before = sorted(p.name for p in (imported / "summaries").iterdir())
    if where == "duckdb_insert":
        real_connect = snapshots.duckdb.connect
        monkeypatch.setattr(snapshots.duckdb, "connect",
                            lambda *a, **k: _DiskFullOnInsert(real_connect(*a, **k)))
    else:
        monkeypatch.setattr(snapshots.os, "replace", _fail_replace_with_enospc(os.replace))
    capsys.readouterr()
    code = cli.main(["import", str(school_files["KQHT-C1-CK1-Khoi4.xlsx"]), "--data",
                     str(imported), "--taken-at", "2027-01-08T17:00"])
    monkeypatch.undo()
    assert code == 1
    err = capsys.readouterr().err
    assert "Không ghi được bản chụp" in err and "hết chỗ trống trên đĩa" in err, err
    assert "Traceback" not in err
    assert snapshot_state(imported) == before
    leftovers = [p.name for p in imported.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []
    assert sorted(p.name for p in (imported / "summaries").iterdir()) == summaries_before


def test_full_disk_message_in_english(imported, school_files, monkeypatch, capsys):
    monkeypatch.setattr(snapshots.os, "replace", _fail_replace_with_enospc(os.replace))
    code = cli.main(["import", str(school_files["KQHT-C1-CK1-Khoi4.xlsx"]), "--data",
                     str(imported), "--taken-at", "2027-01-08T17:00", "--lang", "en"])
    monkeypatch.undo()
    assert code == 1
    assert "the disk is full" in capsys.readouterr().err


def test_snapshot_written_after_the_disk_is_freed(imported, school_files, monkeypatch):
    """Nothing a failed import left behind blocks the next one."""
    monkeypatch.setattr(snapshots.os, "replace", _fail_replace_with_enospc(os.replace))
    assert cli.main(["import", str(school_files["KQHT-C1-CK1-Khoi4.xlsx"]), "--data",
                     str(imported), "--taken-at", "2027-01-08T17:00"]) == 1
    monkeypatch.undo()
    assert cli.main(["import", str(school_files["KQHT-C1-CK1-Khoi4.xlsx"]), "--data",
                     str(imported), "--taken-at", "2027-01-08T17:00"]) == 0
    assert len(snapshot_state(imported)[0]) == 2
    assert snapshots.latest_snapshot(imported).taken_at == datetime(2027, 1, 8, 17, 0)
