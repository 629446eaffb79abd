"""Backups: a round trip restores the same data (on a new machine with the backup key); a
tampered archive changes nothing; a restore keeps the previous data aside; both are audited.
Hostile archives that are consistent with themselves: tests/test_restore_hostile.py."""
import hashlib
import json
import re
import shutil
import sqlite3
import stat
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from csdl import auth, backup, cli, records, schedule, snapshots
from tests.conftest import small_school_tables

PASSWORD = "mat-khau-du-dai"


def make_data(folder: Path) -> Path:
    """Two snapshots, two accounts, a lock schedule and some audit rows."""
    for day in (5, 8):
        snapshots.write_snapshot(folder, small_school_tables(), school_year="2026-2027",
                                 taken_at=datetime(2027, 1, day, 17, 0), source="import")
    auth.add_user(folder, "hieutruong", "principal", "Nguyễn Văn A", PASSWORD, actor="test")
    auth.add_user(folder, "quantri", "admin", "Trần Thị B", PASSWORD, actor="test")
    schedule.store_demo_schedule(folder)
    return folder


def snapshot_files(folder: Path) -> dict[str, str]:
    """Snapshot and summary files with their SHA-256 ('byte for byte the same')."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("snapshots", "summaries") if (folder / sub).is_dir()
            for p in sorted((folder / sub).iterdir()) if p.is_file()}


def db_rows(folder: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(records.db_path(folder))
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
    finally:
        con.close()


def state(folder: Path) -> tuple:
    """Everything a restore must not touch when it refuses: files, records, users."""
    users = (folder / backup.USERS).read_bytes() if (folder / backup.USERS).exists() else None
    rows = db_rows(folder) if records.db_path(folder).exists() else {}
    rows.pop("audit_log", None)  # a refusal is itself audited
    return snapshot_files(folder), rows, users


@pytest.fixture(scope="module")
def data_template(tmp_path_factory) -> Path:
    return make_data(tmp_path_factory.mktemp("template") / "data")


@pytest.fixture
def data(data_template, tmp_path) -> Path:
    """A fresh copy per test (hashing passwords and writing snapshots once is enough)."""
    return Path(shutil.copytree(data_template, tmp_path / "data"))


@pytest.fixture
def archive(data, tmp_path) -> Path:
    result = backup.create_backup(data, tmp_path / "out" / "backup.zip", actor="test")
    return result.path


def users_yaml(folder: Path) -> dict:
    import yaml

    return yaml.safe_load((folder / backup.USERS).read_text(encoding="utf-8"))


def test_round_trip_restores_the_same_snapshots_records_and_users(data, tmp_path, capsys):
    files, rows, users = snapshot_files(data), db_rows(data), users_yaml(data)
    out = tmp_path / "sao-luu.zip"
    assert cli.main(["backup", "--out", str(out), "--data", str(data)]) == 0
    printed = capsys.readouterr().out
    assert "2 bản chụp" in printed
    key = re.search(r"Khóa sao lưu: ([A-Z2-7-]+)", printed).group(1)  # shown at the first backup
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
    assert {"manifest.json", "manifest.sig", "app.db", "auth/users.yaml"} <= names
    assert sum(n.startswith("snapshots/") for n in names) == 2
    assert not any(n.startswith("summaries/") for n in names)  # rebuilt by the restore

    shutil.rmtree(data)  # the machine died: its backup key too
    assert cli.main(["restore", str(out), "--data", str(data)]) == 1
    assert "chưa có khóa sao lưu" in capsys.readouterr().err
    assert not data.exists() or backup.asides(data) == []
    assert cli.main(["restore", str(out), "--data", str(data), "--key", key.lower()]) == 1
    assert "--replace-accounts" in capsys.readouterr().err  # a new machine has no accounts yet
    assert cli.main(["restore", str(out), "--data", str(data), "--key", key,
                     "--replace-accounts"]) == 0
    printed = capsys.readouterr().out
    assert "Đã khôi phục" in printed and "Máy này dùng khóa sao lưu vừa nhập" in printed
    assert snapshot_files(data) == files
    restored_users = users_yaml(data)
    assert restored_users["credentials"] == users["credentials"]
    # The cookie key never comes from an archive: a new machine makes its own.
    assert restored_users["cookie"]["key"] != users["cookie"]["key"]
    assert stat.S_IMODE((data / backup.USERS).stat().st_mode) == 0o600
    assert backup.machine_key(data) == backup.parse_key(key)  # the next backups: the same key
    restored = db_rows(data)
    # The archive was made before its own audit row; the restore adds one.
    assert restored.pop("audit_log")[:len(rows["audit_log"])] == rows.pop("audit_log")
    # app.db is rebuilt by the app's modules: every table of the app, the archive's rows.
    assert {t: r for t, r in restored.items() if t in rows} == rows
    assert all(r == [] for t, r in restored.items() if t not in rows)
    actions = [r["action"] for r in records.audit_entries(data)]
    assert actions[0] == "restore"
    good, bad = snapshots.list_snapshots(data)
    assert len(good) == 2 and bad == []
    user = auth.sign_in(data, "hieutruong", PASSWORD, demo_allowed=False)
    assert user.roles == ("principal",)


def test_backup_is_audited_and_lists_every_file_with_its_hash(data, archive):
    assert records.audit_entries(data)[0]["action"] == "backup"
    manifest = backup.verify(archive, data)
    assert manifest["format"] == backup.ARCHIVE_FORMAT and manifest["app_version"]
    assert manifest["created_by"] == "test" and manifest["created_at"]
    with zipfile.ZipFile(archive) as z:
        for entry in manifest["files"]:
            assert hashlib.sha256(z.read(entry["path"])).hexdigest() == entry["sha256"]


def rebuild(source: Path, target: Path, change) -> Path:
    """A copy of an archive with its members passed through `change(name, data)`, which returns
    a list of (name, data) to write instead (CRCs valid: a deliberate edit, not damage)."""
    with zipfile.ZipFile(source) as z, zipfile.ZipFile(target, "w") as out:
        for name in z.namelist():
            for new_name, new_data in change(name, z.read(name)):
                out.writestr(new_name, new_data)
    return target


def resign(archive: Path, data: Path) -> Path:
    """Sign an edited archive's manifest again with the machine's key: an attacker who holds
    the key, so that what is checked next is the content."""
    key = backup.machine_key(data)
    with zipfile.ZipFile(archive) as z:
        manifest = z.read(backup.MANIFEST)
    return rebuild(archive, archive.with_name("resigned-" + archive.name),
                   lambda n, d: [(n, backup.sign_manifest(key, manifest) if n == backup.SIGNATURE
                                  else d)])


def flip_one_byte(name: str, data: bytes) -> list:
    if name.startswith("snapshots/"):
        middle = len(data) // 2
        data = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]
    return [(name, data)]


def add_evil(name: str, data: bytes) -> list:
    return [(name, data)] + ([("../evil", b"owned")] if name == "app.db" else [])


def not_a_snapshot(name: str, data: bytes) -> list:
    return [(name, data)]


@pytest.mark.parametrize("tamper,expected", [
    ("byte_in_member", "backup.problem.hash_mismatch"),
    ("raw_byte_in_archive", None),
    ("path_traversal", "backup.problem.unsafe_name"),
    ("no_manifest", "backup.problem.no_manifest"),
    ("not_a_zip", "backup.problem.not_archive"),
])
def test_tampered_archive_is_refused_and_nothing_changes(data, archive, tmp_path, tamper,
                                                         expected, capsys):
    bad = tmp_path / "bad.zip"
    if tamper == "byte_in_member":
        rebuild(archive, bad, flip_one_byte)
    elif tamper == "raw_byte_in_archive":  # damage in transit: the zip's own CRC or inflate fails
        raw = bytearray(archive.read_bytes())
        with zipfile.ZipFile(archive) as z:
            info = z.getinfo(next(n for n in z.namelist() if n.startswith("snapshots/")))
        raw[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0xFF
        bad.write_bytes(bytes(raw))
    elif tamper == "path_traversal":
        rebuild(archive, bad, add_evil)
    elif tamper == "no_manifest":
        rebuild(archive, bad, lambda n, d: [] if n == backup.MANIFEST else [(n, d)])
    else:
        bad.write_bytes(b"<html>not a zip</html>")
    before = state(data)
    assert cli.main(["restore", str(bad), "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert "Không khôi phục" in err and "Dữ liệu hiện tại giữ nguyên" in err
    with pytest.raises(backup.BackupRefused) as refused:
        backup.restore(data, bad, actor="test")
    keys = [key for key, _ in refused.value.problems]
    if expected:
        assert expected in keys, keys
    assert state(data) == before
    assert not (tmp_path / "evil").exists() and not (data.parent / "evil").exists()
    assert backup.asides(data) == []
    assert not any(p.name.startswith(".restore-") for p in data.iterdir())
    assert records.audit_entries(data)[0]["action"] == "restore_refused"


@pytest.mark.parametrize("member,junk,expected", [
    ("snapshots/", b"not a database at all" * 100, "backup.problem.snapshot_unreadable"),
    ("app.db", b"SQLite format 3\x00" + b"\x00" * 4000, "backup.problem.app_db_damaged"),
    ("auth/users.yaml", b"credentials: [unclosed", "backup.problem.users_unreadable"),
])
def test_contents_are_checked_even_when_the_manifest_agrees(archive, data, tmp_path, member,
                                                            junk, expected):
    """An archive rebuilt with a consistent (and signed) manifest but a file that does not
    open."""
    replaced: dict[str, bytes] = {}

    def swap(name: str, content: bytes) -> list:
        if name.startswith(member) and not replaced:
            replaced[name] = junk
            return [(name, junk)]
        return [(name, content)]

    stage = rebuild(archive, tmp_path / "stage.zip", swap)
    (name, content), = replaced.items()

    def fix_manifest(n: str, d: bytes) -> list:
        if n != backup.MANIFEST:
            return [(n, d)]
        manifest = json.loads(d)
        for entry in manifest["files"]:
            if entry["path"] == name:
                entry.update(size=len(content), sha256=hashlib.sha256(content).hexdigest())
        return [(n, json.dumps(manifest).encode())]

    unsigned = rebuild(stage, tmp_path / "bad.zip", fix_manifest)
    before = state(data)
    with pytest.raises(backup.BackupRefused) as refused:  # edited: the signature fails first
        backup.restore(data, unsigned)
    assert [key for key, _ in refused.value.problems] == ["backup.problem.bad_signature"]
    with pytest.raises(backup.BackupRefused) as refused:
        backup.restore(data, resign(unsigned, data))
    assert expected in [key for key, _ in refused.value.problems]
    assert state(data) == before


def test_restore_keeps_the_previous_data_aside(data, archive, tmp_path):
    old_files, old_users = snapshot_files(data), (data / backup.USERS).read_bytes()
    # After the backup: a third snapshot and another account, which the restore replaces.
    snapshots.write_snapshot(data, small_school_tables(), school_year="2026-2027",
                             taken_at=datetime(2027, 1, 9, 17, 0), source="import")
    auth.add_user(data, "phohieutruong", "vice_principal", "Lê C", PASSWORD, actor="test")
    with pytest.raises(backup.BackupRefused) as refused:  # it would remove an account
        backup.restore(data, archive, actor="quantri")
    assert [k for k, _ in refused.value.problems] == ["backup.problem.accounts_differ"]
    assert refused.value.problems[0][1]["removed"] == "phohieutruong"
    assert backup.asides(data) == []
    newer_files, newer_rows = snapshot_files(data), db_rows(data)
    newer_users = (data / backup.USERS).read_bytes()

    result = backup.restore(data, archive, actor="quantri", replace_accounts=True)
    assert result.accounts_replaced
    assert snapshot_files(data) == old_files
    assert (data / backup.USERS).read_bytes() == old_users
    assert result.aside is not None and result.aside.parent == data
    assert result.aside.name.startswith(backup.ASIDE_PREFIX)
    assert backup.asides(data) == [result.aside]
    # Everything that was replaced is in the aside folder, untouched.
    assert snapshot_files(result.aside) == newer_files
    assert (result.aside / backup.USERS).read_bytes() == newer_users
    assert db_rows(result.aside) == newer_rows
    # The restored folder lists only the archive's snapshots; the aside ones are not served.
    assert len(snapshots.list_snapshots(data)[0]) == 2
    entry = records.audit_entries(data)[0]
    assert entry["action"] == "restore" and entry["actor"] == "quantri"
    assert result.aside.name in entry["detail"]


def test_backup_skips_a_damaged_snapshot_and_says_so(data, tmp_path, capsys):
    damaged = snapshots.snapshots_dir(data) / "20270201-080000-abcdef.duckdb"
    damaged.write_bytes(b"garbage" * 1000)
    out = tmp_path / "b.zip"
    assert cli.main(["backup", "--out", str(out), "--data", str(data)]) == 0
    assert damaged.name in capsys.readouterr().err
    manifest = backup.verify(out, data)
    assert [s["path"] for s in manifest["skipped"]] == [damaged.name]
    assert len(manifest["snapshots"]) == 2


def test_app_db_copy_is_consistent_while_another_connection_writes(data, tmp_path,
                                                                    monkeypatch):
    """SQLite's backup API, not a file copy: a row committed but still in the WAL file is in
    the archive; a transaction still open in another connection is not."""
    writer = sqlite3.connect(records.db_path(data), isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # keep the committed row in app.db-wal
    writer.execute("INSERT INTO audit_log (at, actor, action) VALUES ('x', 'w', 'in-wal')")
    real_copy = backup._copy_app_db

    def copy_during_a_write(source: Path, target: Path) -> None:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO audit_log (at, actor, action) VALUES ('x', 'w', 'half-done')")
        try:
            real_copy(source, target)
        finally:
            writer.execute("ROLLBACK")

    monkeypatch.setattr(backup, "_copy_app_db", copy_during_a_write)
    try:
        archive = backup.create_backup(data, tmp_path / "b.zip", actor="test").path
    finally:
        writer.close()
    restored = tmp_path / "restored"
    backup.restore(restored, archive, keys=[backup.machine_key(data)], replace_accounts=True)
    actions = [r["action"] for r in records.audit_entries(restored)]
    assert "in-wal" in actions and "half-done" not in actions


def test_a_full_disk_during_backup_leaves_no_archive(data, tmp_path, monkeypatch, capsys):
    import errno
    import os

    real_replace = os.replace

    def disk_full(src, dst, *args, **kwargs):
        if str(dst).endswith(".zip"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(backup.os, "replace", disk_full)
    out = tmp_path / "out" / "b.zip"
    assert cli.main(["backup", "--out", str(out), "--data", str(data)]) == 1
    assert "hết chỗ trống trên đĩa" in capsys.readouterr().err
    assert list(out.parent.iterdir()) == []


def test_a_restore_that_fails_half_way_puts_everything_back(data, archive, monkeypatch, capsys):
    import errno
    import os

    before = state(data)
    real_replace = os.replace

    def fail_on_the_snapshots(src, dst, *args, **kwargs):
        # The current data is already aside when the archive's snapshots go in: then fail.
        if Path(src).parent.name.startswith(".restore-") and Path(dst).name == "snapshots":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(backup.os, "replace", fail_on_the_snapshots)
    assert cli.main(["restore", str(archive), "--data", str(data)]) == 1
    assert "Dữ liệu hiện tại được giữ nguyên" in capsys.readouterr().err
    monkeypatch.undo()
    assert state(data) == before
    assert backup.asides(data) == []
    assert not any(p.name.startswith(".restore-") for p in data.iterdir())
