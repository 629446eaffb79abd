"""One writer at a time: imports and restores take the data folder's lock; a second one waits
and merges onto what the first wrote, or is refused with a clear message, never merged onto a
stale base. Temporary files of imports killed half-way are removed at the next start."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, time as dt_time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from csdl import backup, cli, ingest, scope, snapshots, summaries
from csdl.config import REPO_ROOT
from csdl.samples import write_sector_files
from tests.conftest import bind_session
from tests.readers_fixtures import SCHOOL_ID, SCHOOL_NAME, SCHOOL_YEAR, contract_tables

BASE_TIME = "2027-01-05T17:00"
LATER = "2027-01-08T17:00"  # both concurrent imports: the files were downloaded together
STAFF, FACILITIES, STUDENTS = "CSDL_GiaoVien.xls", "CoSoVatChat.xlsx", "C1-HocSinh.xls"
WAITING = "Đang chờ"


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    paths = write_sector_files(contract_tables(), tmp_path / "files", school_id=SCHOOL_ID,
                               school_name=SCHOOL_NAME, school_year=SCHOOL_YEAR,
                               periods=["CK1"])
    return {p.name: p for p in paths}


@pytest.fixture
def base(tmp_path, files) -> Path:
    """A data folder whose one snapshot holds the students only: no staff, no rooms."""
    data = tmp_path / "data"
    assert cli.main(["import", str(files[STUDENTS]), "--data", str(data), "--school-id",
                     SCHOOL_ID, "--school-name", SCHOOL_NAME, "--taken-at", BASE_TIME]) == 0
    assert counts(data) == (0, 0)
    return data


def counts(data: Path, snapshot_id: str | None = None) -> tuple[int, int]:
    """(staff, rooms) of the school in a snapshot (default: the latest)."""
    snapshot_id = snapshot_id or snapshots.latest_snapshot(data).snapshot_id
    con = snapshots.connect(data, snapshot_id)
    try:
        return tuple(con.execute(f'SELECT count(*) FROM "{table}" WHERE school_id = ?',
                                 [SCHOOL_ID]).fetchone()[0] for table in ("staff", "room"))
    finally:
        con.close()


def snapshot_ids(data: Path) -> list[str]:
    good, bad = snapshots.list_snapshots(data)
    assert bad == []
    return [s.snapshot_id for s in good]


def leftovers(data: Path) -> list[str]:
    return sorted(p.name for p in data.rglob(".tmp-*"))


def cli_import(data: Path, path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "csdl", "import", str(path), "--data", str(data),
            "--taken-at", LATER, *extra]


def run_together(*commands: list[str]) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen(c, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for c in commands]
    try:
        outs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            p.kill()
    return [subprocess.CompletedProcess(c, p.returncode, o, e)
            for c, p, (o, e) in zip(commands, procs, outs)]


def assert_no_change_lost(data: Path, base_id: str) -> None:
    """Base, then one snapshot per import, each holding what was before it: the latest both."""
    ids = snapshot_ids(data)
    assert len(ids) == 3 and ids[0] == base_id, ids
    middle, latest = counts(data, ids[1]), counts(data, ids[2])
    assert (middle[0] > 0) != (middle[1] > 0), middle  # the first import's change alone
    assert latest[0] > 0 and latest[1] > 0, (middle, latest)
    con = snapshots.connect(data, ids[2])
    try:
        names = {r[0] for r in con.execute("SELECT name FROM snapshot_file").fetchall()}
    finally:
        con.close()
    assert {STUDENTS, STAFF, FACILITIES} <= names
    assert leftovers(data) == []


# --- two imports at the same moment ------------------------------------------------------------

def test_two_cli_imports_started_together_both_land_in_the_latest_snapshot(base, files):
    base_id = snapshot_ids(base)[0]
    results = run_together(cli_import(base, files[STAFF]), cli_import(base, files[FACILITIES]))
    for r in results:
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
    assert_no_change_lost(base, base_id)


# The real `python -m csdl import`, with two test-only additions made from outside so that the
# race happens every time: each process, once it has merged its file onto the base, waits until
# the other has too (both merged onto the same, soon stale, base); and the writer dwells a
# moment after writing its tables, so the other reaches the lock while it is held.
_RACING_IMPORT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from csdl import cli, ingest, snapshots

    me, other = Path(sys.argv[1]), Path(sys.argv[2])
    real_prepare = ingest.prepare_import
    calls = []

    def prepare_then_meet(*args, **kwargs):
        prepared = real_prepare(*args, **kwargs)
        if not calls:
            me.write_text("prepared")
            deadline = time.monotonic() + 120
            while not other.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        calls.append(prepared.base.snapshot_id if prepared.base else None)
        return prepared

    ingest.prepare_import = prepare_then_meet
    snapshots.register_after_write(lambda con: time.sleep(1.5))
    code = cli.main(sys.argv[3:])
    print("bases:", " ".join(map(str, calls)))
    sys.exit(code)
""")


def test_the_second_of_two_racing_imports_waits_then_merges_onto_the_first(base, files,
                                                                          tmp_path):
    base_id = snapshot_ids(base)[0]
    a, b = tmp_path / "a.prepared", tmp_path / "b.prepared"
    results = run_together(
        [sys.executable, "-c", _RACING_IMPORT, str(a), str(b),
         *cli_import(base, files[STAFF])[3:]],
        [sys.executable, "-c", _RACING_IMPORT, str(b), str(a),
         *cli_import(base, files[FACILITIES])[3:]])
    for r in results:
        assert r.returncode == 0, r.stderr
    # Both merged onto the base first; exactly one found the lock held, said so, waited, and
    # merged again onto the snapshot the other had written meanwhile.
    bases = [r.stdout.split("bases:")[1].split() for r in results]
    waited = [r for r in results if WAITING in r.stderr]
    assert len(waited) == 1, [r.stderr for r in results]
    # Who holds the lock is named when its note is already written (it is written just after
    # the lock is taken, so a waiter that comes in between says "another import or restore").
    said = waited[0].stderr
    assert ("nhập dữ liệu khác" in said and "dòng lệnh" in said) or "dữ liệu khác" in said
    assert sorted(len(b) for b in bases) == [1, 2], bases
    first, second = sorted(bases, key=len)
    assert first == [base_id] and second[0] == base_id and second[1] != base_id
    assert_no_change_lost(base, base_id)
    assert snapshot_ids(base)[1] == second[1]


def test_commit_refuses_a_stale_base_without_redo_and_merges_again_with_it(base, files):
    """The Data page's case: the preview was merged onto a base another import has replaced."""
    base_id = snapshot_ids(base)[0]
    staff = ingest.prepare_import(ingest.read_files([(files[STAFF], STAFF)], None), base,
                                  taken_at=datetime(2027, 1, 8, 17, 0))
    facilities_parsed = ingest.read_files([(files[FACILITIES], FACILITIES)], None)
    facilities = ingest.prepare_import(facilities_parsed, base,
                                       taken_at=datetime(2027, 1, 8, 17, 0))
    assert staff.base.snapshot_id == facilities.base.snapshot_id == base_id
    first = ingest.commit_import(staff, base, created_by="a")

    with pytest.raises(ingest.BaseChanged) as changed:
        ingest.commit_import(facilities, base, created_by="b")
    assert snapshot_ids(base) == [base_id, first.snapshot_id]  # nothing written
    assert leftovers(base) == []
    message = changed.value.message("vi")
    assert "Chưa ghi gì" in message and "đã thay đổi kể từ lúc xem trước" in message
    assert "08/01/2027 17:00" in message  # the data now latest, as the page states it
    assert "changed since the preview" in changed.value.message("en")

    redone = []
    info = ingest.commit_import(facilities, base, created_by="b", redo=lambda: redone.append(1)
                                or ingest.prepare_import(facilities_parsed, base,
                                                         taken_at=datetime(2027, 1, 8, 17, 0)))
    assert redone == [1]
    assert snapshot_ids(base) == [base_id, first.snapshot_id, info.snapshot_id]
    assert_no_change_lost(base, base_id)


# --- a lock held too long -----------------------------------------------------------------------

_HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from csdl import ingest

    with ingest.write_lock(sys.argv[1], action=sys.argv[3], by="quantri"):
        Path(sys.argv[2]).write_text("held")
        time.sleep(120)
""")


@pytest.fixture
def held(base, tmp_path):
    """Another process holding the data folder's lock, as a restore in progress would."""
    marker = tmp_path / "held.marker"
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(base), str(marker),
                             "restore"], cwd=REPO_ROOT)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    yield base
    proc.kill()
    proc.wait(30)


def test_an_import_waits_for_the_lock_then_is_refused_clearly(held, files, monkeypatch,
                                                               capsys):
    monkeypatch.setattr(ingest, "LOCK_TIMEOUT_S", 0.6)
    before = snapshot_ids(held)
    capsys.readouterr()
    started = time.monotonic()
    code = cli.main(["import", str(files[STAFF]), "--data", str(held), "--taken-at", LATER])
    assert code == 3
    assert time.monotonic() - started >= 0.5  # it waited for the timeout
    err = capsys.readouterr().err
    assert WAITING in err and "Chưa ghi gì" in err and "Traceback" not in err
    assert "khôi phục từ bản sao lưu khác (của quantri" in err  # who holds it
    assert "0,6 giây" in err
    assert snapshot_ids(held) == before and leftovers(held) == []

    code = cli.main(["import", str(files[STAFF]), "--data", str(held), "--taken-at", LATER,
                     "--lang", "en"])
    assert code == 3
    assert "Nothing was written" in capsys.readouterr().err


def test_a_restore_waits_for_the_lock_too(held, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ingest, "LOCK_TIMEOUT_S", 0.3)
    archive = tmp_path / "any.zip"
    archive.write_bytes(b"never opened: the lock comes first")
    before = snapshot_ids(held)
    with pytest.raises(ingest.WriteLocked):
        backup.restore(held, archive, actor="test")
    capsys.readouterr()
    assert cli.main(["restore", str(archive), "--data", str(held)]) == 3
    err = capsys.readouterr().err
    assert "Chưa ghi gì" in err and "Traceback" not in err
    assert snapshot_ids(held) == before and backup.asides(held) == []


def test_threads_of_one_process_take_turns(base):
    """The server's sessions are threads: they exclude each other as processes do."""
    import threading

    inside, overlaps = [], []

    def writer(name):
        with ingest.write_lock(base, by=name):
            if inside:
                overlaps.append(name)
            inside.append(name)
            time.sleep(0.2)
            inside.remove(name)

    threads = [threading.Thread(target=writer, args=(f"t{i}",)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert overlaps == []
    with ingest.write_lock(base):  # re-entrant in one thread (restore inside a held lock)
        with ingest.write_lock(base, timeout=0):
            pass


# --- the Windows fallback, with the platform faked ----------------------------------------------

class FakeMsvcrt:
    """msvcrt.locking's contract: a byte range from the current position, locked per handle
    (another handle, even in this process, is refused), LK_NBLCK raising OSError when held."""
    LK_UNLCK, LK_NBLCK = 0, 2

    def __init__(self):
        self.held: dict[tuple, int] = {}
        self.calls: list[tuple[int, int, int]] = []

    def locking(self, fd, mode, nbytes):
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino, pos, nbytes)
        self.calls.append((mode, pos, nbytes))
        if mode == self.LK_NBLCK:
            if key in self.held:
                raise PermissionError(13, "Permission denied")
            self.held[key] = fd
        elif mode == self.LK_UNLCK:
            if self.held.get(key) != fd:
                raise PermissionError(13, "Permission denied")
            del self.held[key]


def test_windows_fallback_locks_one_byte_past_the_note(base, monkeypatch):
    fake = FakeMsvcrt()
    monkeypatch.setattr(ingest, "fcntl", None)
    monkeypatch.setattr(ingest, "msvcrt", fake)
    with ingest.write_lock(base, by="quantri"):
        assert fake.calls == [(fake.LK_NBLCK, ingest._WINDOWS_LOCK_OFFSET, 1)]
        # The holder's note lies before the locked byte, so a waiter can read it on Windows.
        assert ingest._read_holder(ingest.lock_path(base))["by"] == "quantri"
    assert fake.held == {} and fake.calls[-1] == (fake.LK_UNLCK, ingest._WINDOWS_LOCK_OFFSET, 1)

    # Another process's handle holding the byte: waited for, then refused.
    other = os.open(ingest.lock_path(base), os.O_RDWR)
    try:
        os.lseek(other, ingest._WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        fake.locking(other, fake.LK_NBLCK, 1)
        told = []
        with pytest.raises(ingest.WriteLocked) as busy:
            with ingest.write_lock(base, timeout=0.3, on_wait=told.append):
                pytest.fail("the lock was taken twice")
        assert busy.value.holder["by"] == "quantri" and len(told) == 1
        os.lseek(other, ingest._WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        fake.locking(other, fake.LK_UNLCK, 1)
    finally:
        os.close(other)
    with ingest.write_lock(base, timeout=0):
        pass
    assert fake.held == {}


# --- leftovers of killed imports ----------------------------------------------------------------

# `python -m csdl import …` that says "the tables are written" and waits to be killed before the
# checkpoint and the rename (as in test_faults).
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


def test_a_killed_import_releases_the_lock_and_the_next_import_removes_its_files(
        base, files, tmp_path, capsys):
    marker = tmp_path / "writing.marker"
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE_IMPORT, str(marker),
                             *cli_import(base, files[STAFF])[3:]], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.05)
        live = leftovers(base)
        assert any(n.endswith(f"-{proc.pid}.duckdb") for n in live), live
        # While its writer runs, nothing removes its file: the start-up clean-up finds the lock
        # held and leaves everything; the store's own check finds the writer alive.
        assert ingest.clean_up_leftovers(base) == []
        assert snapshots.remove_leftovers(base) == []
        assert leftovers(base) == live
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    assert leftovers(base) == live  # the kill leaves it

    capsys.readouterr()
    started = time.monotonic()
    assert cli.main(["import", str(files[FACILITIES]), "--data", str(base),
                     "--taken-at", LATER]) == 0
    assert WAITING not in capsys.readouterr().err  # the kernel released the dead one's lock
    assert time.monotonic() - started < ingest.LOCK_TIMEOUT_S
    assert leftovers(base) == []
    assert len(snapshot_ids(base)) == 2 and counts(base)[1] > 0


def make_leftovers(data: Path) -> tuple[list[Path], list[Path]]:
    """What killed writers leave (to go) and what running writers are making (to stay)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = gone.pid
    snaps, sums = snapshots.snapshots_dir(data), summaries.summaries_dir(data)
    sums.mkdir(exist_ok=True)
    killed_id, orphan_id, live_id = ("20270107-080000-aaaaaa", "20270107-090000-bbbbbb",
                                     "20270107-100000-cccccc")
    stale = [snaps / f".tmp-{killed_id}-{dead}.duckdb",
             snaps / f".tmp-{killed_id}-{dead}.duckdb.wal",
             snaps / f".tmp-{killed_id}.json-{dead}", snaps / f".tmp-{killed_id}.sha256-{dead}",
             sums / f".tmp-{killed_id}-{dead}.parquet",
             # renamed records of a snapshot killed just before its own rename
             snaps / f"{orphan_id}.json", snaps / f"{orphan_id}.sha256",
             sums / f"{orphan_id}.parquet",
             # this process's pid, but written before this process started: a reused pid
             snaps / f".tmp-{orphan_id}-{os.getpid()}.duckdb"]
    kept = [snaps / f".tmp-{live_id}-{os.getpid()}.duckdb",  # being written right now
            snaps / f"{live_id}.json", sums / f"{live_id}.parquet"]  # its records, renamed
    for path in stale + kept:
        path.write_bytes(b"x")
    long_ago = time.time() - 10 * 365 * 86400
    os.utime(stale[-1], (long_ago, long_ago))
    return stale, kept


def test_remove_leftovers_by_pid_and_by_missing_snapshot(base):
    before = snapshot_ids(base)
    stale, kept = make_leftovers(base)
    removed = ingest.clean_up_leftovers(base)
    assert sorted(removed) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)
    assert snapshot_ids(base) == before  # real snapshots and their records untouched
    assert all(snapshots.checksum_path(snapshots.snapshot_path(base, i)).exists() for i in before)
    assert ingest.clean_up_leftovers(base, once=True) == []  # nothing more to do
    assert ingest.clean_up_leftovers(base, once=True) == []


def test_leftovers_are_removed_when_the_app_starts(base, monkeypatch):
    stale, kept = make_leftovers(base)
    monkeypatch.setenv("CSDL_DATA_DIR", str(base))
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "test_admin"
    at.session_state["name"] = "Người thử"
    at.session_state["roles"] = ["admin"]
    bind_session(at)
    at.run()
    assert not at.exception, at.exception
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)


def test_clean_up_creates_nothing_in_a_folder_never_written(tmp_path):
    empty = tmp_path / "nothing-yet"
    assert ingest.clean_up_leftovers(empty) == []
    assert not empty.exists()


# --- the Data page ----------------------------------------------------------------------------

class Upload:
    def __init__(self, path: Path, name: str | None = None):
        self.name, self._data = name or path.name, path.read_bytes()
        self.size, self.type = len(self._data), "application/octet-stream"

    def getvalue(self) -> bytes:
        return self._data


def data_page(data: Path, monkeypatch, uploads: list[Upload], restore: Upload | None = None
              ) -> AppTest:
    """The Data page of an administrator with these files in its uploaders."""
    import streamlit

    def file_uploader(label, *args, accept_multiple_files=False, **kwargs):
        return list(uploads) if accept_multiple_files else restore

    monkeypatch.setattr(streamlit, "file_uploader", file_uploader)
    monkeypatch.setenv("CSDL_DATA_DIR", str(data))
    # The page script itself: AppTest does not deliver clicks through st.navigation.
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "data.py"), default_timeout=120)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "test_admin"
    at.session_state["name"] = "Người thử"
    at.session_state["roles"] = ["admin"]
    bind_session(at)
    at.run()
    assert not at.exception, at.exception
    if uploads:  # downloaded with the CLI's imports (the default, now, may precede the base)
        at.date_input[0].set_value(date(2027, 1, 8))
        at.time_input[0].set_value(dt_time(17, 0))
        at.run()
    return at


def import_button(at: AppTest):
    return next(b for b in at.button if b.label == "Nhập")


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def test_data_page_refuses_when_another_import_wrote_after_the_preview(base, files,
                                                                       monkeypatch):
    at = data_page(base, monkeypatch, [Upload(files[STAFF])])
    base_id = snapshot_ids(base)[0]
    # Another administrator's import lands between this page's merge and its write.
    real_prepare, armed = ingest.prepare_import, [True]

    def prepare_then_other_import(*args, **kwargs):
        prepared = real_prepare(*args, **kwargs)
        if armed and armed.pop():
            with scope.restricted(None):  # the CLI's scope, not this session's
                assert cli.main(["import", str(files[FACILITIES]), "--data", str(base),
                                 "--taken-at", LATER]) == 0
        return prepared

    monkeypatch.setattr(ingest, "prepare_import", prepare_then_other_import)
    at = import_button(at).click().run()
    assert not at.exception, at.exception
    assert "dữ liệu đã thay đổi kể từ lúc xem trước" in errors(at)
    other = snapshot_ids(base)
    assert len(other) == 2 and counts(base) == (0, counts(base)[1]) and counts(base)[1] > 0
    assert not at.success or all("Đã nhập" not in s.value for s in at.success)

    # Clicked again, the files are merged onto the new latest: both changes are kept.
    at = import_button(at).click().run()
    assert not at.exception, at.exception
    assert errors(at) == ""
    assert len(snapshot_ids(base)) == 3
    assert_no_change_lost(base, base_id)


def test_data_page_import_refused_while_a_restore_holds_the_data(held, files, monkeypatch):
    monkeypatch.setattr(ingest, "LOCK_TIMEOUT_S", 0.5)
    before = snapshot_ids(held)
    at = data_page(held, monkeypatch, [Upload(files[STAFF])])
    at = import_button(at).click().run()
    assert not at.exception, at.exception
    assert "Chưa ghi gì" in errors(at) and "khôi phục từ bản sao lưu khác" in errors(at)
    assert any(WAITING in i.value for i in at.info)
    assert snapshot_ids(held) == before and leftovers(held) == []


def test_data_page_restore_refused_while_another_writer_holds_the_data(held, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setattr(ingest, "LOCK_TIMEOUT_S", 0.5)
    # The archive's own checks are test_backup's: here it passes them, and the lock refuses.
    monkeypatch.setattr(backup, "verify", lambda path, *a, **k: {
        "created_at": "2027-01-04T08:00:00", "created_by": "quantri", "snapshots": ["x"],
        "files": [{"path": "app.db"}]})
    archive = tmp_path / "csdl-backup.zip"
    archive.write_bytes(b"checked by the fake verify only")
    before = snapshot_ids(held)
    at = data_page(held, monkeypatch, [], restore=Upload(archive))
    at = at.checkbox(key="restore_confirm").check().run()
    at = at.button(key="restore_button").click().run()
    assert not at.exception, at.exception
    assert "Chưa ghi gì" in errors(at)
    assert snapshot_ids(held) == before and backup.asides(held) == []
