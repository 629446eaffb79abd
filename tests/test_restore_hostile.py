"""Hostile archives that are consistent with themselves: a restore checks what each file holds,
under this installation's limits, and only accepts archives signed with the backup key.

Every archive here is made by the test: an honest backup, then edited and (to test the checks
behind the signature) signed again with the machine's key, as someone holding it could."""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml

from csdl import auth, backup, cli, records, snapshots
from tests.test_backup import PASSWORD, db_rows, make_data, state

DISTRICT_HASH = auth.hash_password("mat-khau-cua-ke-gian")  # computed once: bcrypt is slow
KNOWN_COOKIE_KEY = "0" * 64


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, Path]:
    """A data folder and its backup (made once: passwords and snapshots take a while)."""
    folder = make_data(tmp_path_factory.mktemp("hostile") / "data")
    made = backup.create_backup(folder, folder.parent / "honest.zip", actor="test")
    return folder, made.path


@pytest.fixture
def data(template, tmp_path) -> Path:
    return Path(shutil.copytree(template[0], tmp_path / "data"))


@pytest.fixture
def honest(template, tmp_path) -> Path:
    return Path(shutil.copy(template[1], tmp_path / "honest.zip"))


def members(archive: Path) -> tuple[dict[str, bytes], dict]:
    with zipfile.ZipFile(archive) as z:
        files = {n: z.read(n) for n in z.namelist()
                 if n not in (backup.MANIFEST, backup.SIGNATURE)}
        return files, json.loads(z.read(backup.MANIFEST))


def forge(archive: Path, out: Path, key: bytes | None, replace: dict | None = None,
          drop: tuple = (), edit_manifest=None, manifest_bytes: bytes | None = None) -> Path:
    """An archive consistent with itself: the members changed, the manifest listing them with
    their true sizes and hashes, signed with `key` (None: no signature)."""
    files, manifest = members(archive)
    files.update(replace or {})
    for name in drop:
        files.pop(name)
    manifest["files"] = [{"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                         for n, d in files.items()]
    if edit_manifest:
        edit_manifest(manifest)
    raw = manifest_bytes if manifest_bytes is not None else json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
        z.writestr(backup.MANIFEST, raw)
        if key is not None:
            z.writestr(backup.SIGNATURE, backup.sign_manifest(key, raw))
    return out


def first_snapshot(archive: Path) -> str:
    return next(n for n in members(archive)[0] if n.startswith("snapshots/"))


def edit_snapshot(content: bytes, sql: str, tmp_path: Path) -> bytes:
    path = tmp_path / f"edit-{hashlib.sha256(content + sql.encode()).hexdigest()[:8]}.duckdb"
    path.write_bytes(content)
    con = duckdb.connect(str(path))
    try:
        con.execute(sql)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path.read_bytes()


def edit_app_db(content: bytes, sql: str, tmp_path: Path) -> bytes:
    path = tmp_path / f"edit-{hashlib.sha256(content + sql.encode()).hexdigest()[:8]}.db"
    path.write_bytes(content)
    con = sqlite3.connect(path)
    try:
        con.executescript(sql)
        con.commit()
    finally:
        con.close()
    return path.read_bytes()


def refused(data: Path, archive: Path, **kwargs) -> list[str]:
    """The problem keys of a refused restore, after checking that nothing changed."""
    before = state(data)
    with pytest.raises(backup.BackupRefused) as caught:
        backup.restore(data, archive, actor="test", **kwargs)
    assert state(data) == before
    assert backup.asides(data) == []
    assert not any(p.name.startswith(".restore-") for p in data.iterdir())
    assert records.audit_entries(data)[0]["action"] == "restore_refused"
    return [key for key, _ in caught.value.problems]


def cli_restore(archive: Path, data: Path, capsys, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["restore", str(archive), "--data", str(data), *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# --- snapshots: the contract's tables and columns, nothing else --------------------------------

def test_a_view_reading_a_file_in_place_of_the_school_table_is_refused(data, honest, tmp_path,
                                                                       capsys):
    name = first_snapshot(honest)
    content = members(honest)[0][name]
    hostile = edit_snapshot(content, "DROP TABLE school; CREATE VIEW school AS SELECT 'S1' AS "
                            "school_id, content AS name, 'x' AS province "
                            "FROM read_text('/etc/passwd')", tmp_path)
    bad = forge(honest, tmp_path / "bad.zip", backup.machine_key(data), {name: hostile})
    keys = refused(data, bad)
    assert "backup.problem.snapshot_object" in keys
    code, _, err = cli_restore(bad, data, capsys)
    assert code == 1 and '"school"' in err and "ngoài cấu trúc bản chụp" in err
    assert "root:" not in err


def test_a_snapshot_connection_reads_no_file_and_loads_no_extension(data, tmp_path):
    """Even a hostile file placed straight in the data folder: the connection every page uses
    has external access and extension loading off, and locked."""
    good, _ = snapshots.list_snapshots(data)
    path = good[0].path
    planted = edit_snapshot(path.read_bytes(), "DROP TABLE school; CREATE VIEW school AS "
                            "SELECT 'S1' AS school_id, content AS name, 'x' AS province "
                            "FROM read_text('/etc/passwd')", tmp_path)
    path.write_bytes(planted)
    con = snapshots.connect(data, good[0].snapshot_id)
    try:
        settings = con.execute(
            "SELECT current_setting('enable_external_access'), "
            "current_setting('autoinstall_known_extensions'), "
            "current_setting('autoload_known_extensions'), "
            "current_setting('lock_configuration')").fetchone()
        assert settings == (False, False, False, True)
        with pytest.raises(duckdb.PermissionException):
            con.execute("SELECT name FROM school").fetchall()
        for sql in ("SET enable_external_access = true", "SET lock_configuration = false",
                    "SET autoload_known_extensions = true"):
            with pytest.raises(duckdb.InvalidInputException):
                con.execute(sql)
        with pytest.raises(duckdb.Error):
            con.execute("INSTALL sqlite")
        with pytest.raises(duckdb.Error):
            con.execute("LOAD sqlite")
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"ATTACH '{tmp_path}/x.duckdb' AS x")
    finally:
        con.close()
    memory = snapshots.memory_connection(data)
    try:
        with pytest.raises(duckdb.PermissionException):
            memory.execute("SELECT * FROM read_text('/etc/passwd')").fetchall()
    finally:
        memory.close()


@pytest.mark.parametrize("sql", [
    "CREATE MACRO evil(x) AS x",
    "CREATE MACRO evil_rows() AS TABLE SELECT 1 AS a",
    "CREATE SEQUENCE evil_seq",
    "CREATE TABLE evil (a INTEGER)",
    "CREATE SCHEMA evil; CREATE TABLE evil.t (a INTEGER)",
    "CREATE TYPE mood AS ENUM ('a', 'b')",
    "CREATE INDEX evil_idx ON student (student_id)",
    "ALTER TABLE school ADD COLUMN secret VARCHAR",
    "ALTER TABLE equipment ALTER quantity TYPE BIGINT",
    "CREATE TABLE school_copy AS SELECT * FROM school; DROP TABLE school; "
    "CREATE TABLE school (school_id VARCHAR NOT NULL, name VARCHAR, "
    "province VARCHAR GENERATED ALWAYS AS ('x'))",
    "DROP TABLE school; CREATE TABLE school (school_id VARCHAR NOT NULL, name VARCHAR, "
    "province VARCHAR, CHECK (length(name) > 100))",
], ids=["macro", "table_macro", "sequence", "table", "schema", "type", "index", "column",
        "column_type", "generated_column", "check_constraint"])
def test_anything_outside_the_snapshot_contract_is_refused(data, honest, tmp_path, sql):
    name = first_snapshot(honest)
    hostile = edit_snapshot(members(honest)[0][name], sql, tmp_path)
    bad = forge(honest, tmp_path / "bad.zip", backup.machine_key(data), {name: hostile})
    keys = refused(data, bad)
    assert set(keys) <= {"backup.problem.snapshot_object", "backup.problem.snapshot_column"}
    assert keys


def test_an_older_snapshot_without_later_tables_and_columns_is_accepted(data, honest, tmp_path):
    name = first_snapshot(honest)
    older = edit_snapshot(members(honest)[0][name],
                          "DROP TABLE invalid_value; ALTER TABLE staff DROP COLUMN major", tmp_path)
    archive = forge(honest, tmp_path / "older.zip", backup.machine_key(data), {name: older})
    result = backup.restore(data, archive, actor="test")
    assert name.split("/")[1].removesuffix(".duckdb") in result.snapshot_ids
    good, bad = snapshots.list_snapshots(data)
    assert len(good) == 2 and bad == []


def test_a_sqlite_file_posing_as_a_snapshot_is_refused_without_fetching_an_extension(
        data, honest, tmp_path, monkeypatch):
    fake = tmp_path / "fake.db"
    con = sqlite3.connect(fake)
    con.execute("CREATE TABLE snapshot (snapshot_id TEXT)")
    con.commit()
    con.close()
    opened = []
    real = snapshots.duckdb.connect
    monkeypatch.setattr(snapshots.duckdb, "connect",
                        lambda path=":memory:", *a, **k: opened.append(str(path)) or
                        real(path, *a, **k))
    name = first_snapshot(honest)
    bad = forge(honest, tmp_path / "bad.zip", backup.machine_key(data), {name: fake.read_bytes()})
    assert "backup.problem.snapshot_unreadable" in refused(data, bad)
    assert not any(p.endswith(name.split("/")[1]) for p in opened)  # DuckDB never saw it
    monkeypatch.undo()
    # And were DuckDB given it, the snapshot settings forbid installing (fetching) sqlite: it
    # looks on the disk only, and a snapshot connection could not load it from there either.
    with pytest.raises(duckdb.Error, match="Install it first|disabled"):
        duckdb.connect(str(fake), read_only=True, config=snapshots.READ_CONFIG)


# --- accounts: validated; replacing them needs the CLI's flag; the cookie key stays ----------

def plant_district(content: bytes) -> bytes:
    loaded = yaml.safe_load(content)
    loaded["credentials"]["usernames"]["phonggd"] = {
        "name": "Kẻ gian", "password": DISTRICT_HASH, "roles": ["district"], "disabled": False,
        "demo": False}
    loaded["cookie"]["key"] = KNOWN_COOKIE_KEY
    return yaml.safe_dump(loaded, allow_unicode=True).encode()


def test_a_planted_district_account_and_cookie_key_need_the_cli_flag(data, honest, tmp_path,
                                                                      capsys, monkeypatch):
    users = members(honest)[0][backup.USERS]
    bad = forge(honest, tmp_path / "planted.zip", backup.machine_key(data),
                {backup.USERS: plant_district(users)})
    # What the Data page calls: verify(path) against the app's data folder, then restore().
    monkeypatch.setenv("CSDL_DATA_DIR", str(data))
    with pytest.raises(backup.BackupRefused) as caught:
        backup.verify(bad)
    assert [k for k, _ in caught.value.problems] == ["backup.problem.accounts_differ"]
    assert caught.value.problems[0][1]["added"] == "phonggd"
    assert refused(data, bad) == ["backup.problem.accounts_differ"]
    code, _, err = cli_restore(bad, data, capsys)
    assert code == 1 and "--replace-accounts" in err and "phonggd" in err
    cookie_before = yaml.safe_load((data / backup.USERS).read_text())["cookie"]["key"]

    code, out, _ = cli_restore(bad, data, capsys, "--replace-accounts")
    assert code == 0 and "Tài khoản đăng nhập đã được thay" in out
    restored = yaml.safe_load((data / backup.USERS).read_text())
    assert "phonggd" in restored["credentials"]["usernames"]
    assert restored["cookie"]["key"] == cookie_before != KNOWN_COOKIE_KEY
    entry = records.audit_entries(data)[0]
    assert entry["action"] == "restore" and '"accounts_replaced": true' in entry["detail"]


def test_the_data_page_never_passes_the_cli_flags():
    page = (Path(__file__).parent.parent / "pages" / "data.py").read_text(encoding="utf-8")
    assert "replace_accounts" not in page and "accept_unsigned" not in page


def _users_with(content: bytes, username: str, **fields) -> bytes:
    loaded = yaml.safe_load(content)
    loaded["credentials"]["usernames"].setdefault(username, {
        "name": "X", "password": DISTRICT_HASH, "roles": ["admin"]}).update(fields)
    return yaml.safe_dump(loaded, allow_unicode=True).encode()


@pytest.mark.parametrize("change,expected", [
    (lambda c: _users_with(c, "ke-gian", roles=["root"]), "backup.problem.users_invalid"),
    (lambda c: _users_with(c, "ke-gian", roles=["district"], school_id="S1"),
     "backup.problem.users_invalid"),
    (lambda c: _users_with(c, "ke-gian", password="mat-khau-ro"), "backup.problem.users_invalid"),
    (lambda c: _users_with(c, "Kẻ Gian"), "backup.problem.users_invalid"),
    (lambda c: _users_with(c, "ke-gian", school_id="../../S1"), "backup.problem.users_invalid"),
    (lambda c: _users_with(c, "ke-gian", extra={"nested": ["x"]}), "backup.problem.users_invalid"),
    (lambda c: b"a: &a ['x','x']\nb: &b [*a,*a,*a,*a]\nc: [*b,*b,*b,*b]\n",
     "backup.problem.users_unreadable"),
    (lambda c: b"credentials: !!python/object/apply:os.system ['true']\n",
     "backup.problem.users_unreadable"),
    (lambda c: b"[" * 50_000, "backup.problem.users_unreadable"),
], ids=["role", "district_with_school", "plain_password", "username", "school", "nested",
        "aliases", "python_tag", "deep"])
def test_an_invalid_users_file_is_refused_even_with_the_flag(data, honest, tmp_path, change,
                                                             expected):
    users = members(honest)[0][backup.USERS]
    bad = forge(honest, tmp_path / "bad.zip", backup.machine_key(data),
                {backup.USERS: change(users)})
    assert expected in refused(data, bad, replace_accounts=True)


def test_settings_that_do_not_load_are_refused(data, honest, tmp_path):
    bad = forge(honest, tmp_path / "bad.zip", backup.machine_key(data),
                {"settings.yaml": b"class_size_max: -1\n"})
    assert refused(data, bad) == ["backup.problem.settings_invalid"]


# --- app.db: the app's schema and nothing else ---------------------------------------------------

@pytest.mark.parametrize("sql", [
    "CREATE TRIGGER wipe AFTER INSERT ON audit_log BEGIN DELETE FROM audit_log; END",
    "CREATE VIEW everything AS SELECT * FROM audit_log",
    "CREATE TABLE evil (a TEXT)",
    "ALTER TABLE audit_log ADD COLUMN evil TEXT",
    "ALTER TABLE audit_log ADD COLUMN evil TEXT GENERATED ALWAYS AS (actor) VIRTUAL",
    "CREATE INDEX evil_idx ON audit_log (actor)",
    "CREATE VIRTUAL TABLE evil USING fts5(a)",
], ids=["trigger", "view", "table", "column", "generated_column", "index", "virtual_table"])
def test_anything_outside_the_app_db_schema_is_refused(data, honest, tmp_path, sql, capsys):
    hostile = edit_app_db(members(honest)[0][backup.APP_DB], sql, tmp_path)
    bad = forge(honest, tmp_path / "bad.zip", backup.machine_key(data), {backup.APP_DB: hostile})
    audit_before = len(records.audit_entries(data, limit=10_000))
    keys = refused(data, bad)
    assert set(keys) <= {"backup.problem.app_db_object", "backup.problem.app_db_column"}, keys
    assert len(records.audit_entries(data, limit=10_000)) == audit_before + 1  # the refusal
    if "TRIGGER" in sql:
        code, _, err = cli_restore(bad, data, capsys)
        assert code == 1 and 'trigger "wipe"' in err


def test_an_older_app_db_is_accepted_and_rebuilt_with_the_app_schema(data, honest, tmp_path):
    old = edit_app_db(members(honest)[0][backup.APP_DB], """
        DROP INDEX lock_schedule_school_key;
        ALTER TABLE lock_schedule DROP COLUMN school_id;
        CREATE UNIQUE INDEX lock_schedule_key
            ON lock_schedule (school_year, period, COALESCE(grade, 0));
        DROP TABLE IF EXISTS account_register;
    """, tmp_path)
    archive = forge(honest, tmp_path / "old.zip", backup.machine_key(data), {backup.APP_DB: old})
    before = db_rows(data)
    backup.restore(data, archive, actor="test")
    after = db_rows(data)
    assert after["account_register"] == []  # the table an older version did not have
    assert len(after["lock_schedule"]) == len(before["lock_schedule"])
    con = sqlite3.connect(records.db_path(data))
    try:
        indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master "
                                             "WHERE type = 'index'")}
        columns = {r[1] for r in con.execute("PRAGMA table_info(lock_schedule)")}
    finally:
        con.close()
    assert "lock_schedule_school_key" in indexes and "lock_schedule_key" not in indexes
    assert "school_id" in columns


def test_every_table_the_code_keeps_in_app_db_is_in_the_allowed_schema(tmp_path):
    package = Path(backup.__file__).parent
    created = {name for path in package.glob("*.py")
               for name in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)",
                                      path.read_text(encoding="utf-8"))}
    con = sqlite3.connect(backup.create_app_db(tmp_path))
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()
    assert created and created <= tables


# --- archives with nothing in them; limits; zip features a backup never uses ------------------

def test_an_archive_without_data_is_refused_and_nothing_moves(data, tmp_path, capsys):
    raw = json.dumps({"format": backup.ARCHIVE_FORMAT, "files": []}).encode()
    for signed in (True, False):
        empty = tmp_path / f"empty-{signed}.zip"
        with zipfile.ZipFile(empty, "w") as z:
            z.writestr(backup.MANIFEST, raw)
            if signed:
                z.writestr(backup.SIGNATURE, backup.sign_manifest(backup.machine_key(data), raw))
        assert empty.stat().st_size < 600
        expected = "backup.problem.no_snapshots" if signed else "backup.problem.unsigned"
        assert refused(data, empty) == [expected]
        code, _, err = cli_restore(empty, data, capsys)
        assert code == 1
    assert auth.sign_in(data, "hieutruong", PASSWORD, demo_allowed=False).username == "hieutruong"


def test_an_archive_without_app_db_is_refused(data, honest, tmp_path):
    bad = forge(honest, tmp_path / "bad.zip", backup.machine_key(data), drop=(backup.APP_DB,))
    assert refused(data, bad) == ["backup.problem.no_app_db"]


def never_unpacked(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("the archive was unpacked")
    monkeypatch.setattr(backup, "_extract_checked", fail)


def test_a_manifest_claiming_3_gib_is_refused_before_a_byte_is_written(data, honest, tmp_path,
                                                                       monkeypatch):
    name = first_snapshot(honest)

    def claim(manifest):
        next(f for f in manifest["files"] if f["path"] == name)["size"] = 3 << 30

    bad = forge(honest, tmp_path / "bad.zip", backup.machine_key(data), edit_manifest=claim)
    assert bad.stat().st_size < 3 << 20
    never_unpacked(monkeypatch)
    assert refused(data, bad) == ["backup.problem.too_large"]


def test_a_zip_bomb_is_bounded_by_the_archive_size_not_its_manifest(data, honest, tmp_path,
                                                                    monkeypatch):
    """A member that truly inflates 1000:1, listed with its true size and hash (and signed):
    what a .zip of this size may unpack is this installation's bound, whatever it lists."""
    name = first_snapshot(honest)
    bomb = b"\x00" * (64 << 20)
    bad = forge(honest, tmp_path / "bomb.zip", backup.machine_key(data), {name: bomb})
    assert 64 << 20 > backup.MAX_RATIO * bad.stat().st_size
    monkeypatch.setattr(backup, "RATIO_FLOOR", 8 << 20)  # at the default, 256 MB fit any archive
    never_unpacked(monkeypatch)
    assert refused(data, bad) == ["backup.problem.too_large"]


def test_per_file_count_and_disk_limits(data, honest, tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "MAX_MEMBER_BYTES", {**backup.MAX_MEMBER_BYTES, "snapshot": 1000})
    assert "backup.problem.member_too_large" in refused(data, honest)
    monkeypatch.undo()
    monkeypatch.setattr(backup, "MAX_MEMBERS", 2)
    assert refused(data, honest) == ["backup.problem.too_many_members"]
    monkeypatch.undo()
    real_usage = shutil.disk_usage
    monkeypatch.setattr(backup.shutil, "disk_usage",
                        lambda path: real_usage(path)._replace(free=100 << 20))
    assert refused(data, honest) == ["backup.problem.no_space"]


def test_a_member_longer_than_listed_is_cut_at_its_listed_size(data, honest, tmp_path,
                                                               monkeypatch):
    name = first_snapshot(honest)

    def short_claim(manifest):
        next(f for f in manifest["files"] if f["path"] == name)["size"] = 1000

    bad = forge(honest, tmp_path / "bad.zip", backup.machine_key(data), edit_manifest=short_claim)
    staged: dict[str, int] = {}
    real_rmtree = shutil.rmtree

    def recording_rmtree(path, *args, **kwargs):
        if Path(path).name.startswith(".restore-"):
            staged.update({p.relative_to(path).as_posix(): p.stat().st_size
                           for p in Path(path).rglob("*") if p.is_file()})
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(backup.shutil, "rmtree", recording_rmtree)
    monkeypatch.setattr(backup, "_CHUNK", 256)
    assert "backup.problem.hash_mismatch" in refused(data, bad)
    assert len(members(honest)[0][name]) > 1000 and 0 < staged[name] <= 1000


def _patch_headers(raw: bytes, name: str, flag: int = 0, method: int | None = None) -> bytes:
    """Set a general-purpose flag or the compression method of `name` in both zip headers."""
    out = bytearray(raw)
    encoded = name.encode()
    for signature, flag_at, method_at, name_at in ((b"PK\x03\x04", 6, 8, 30),
                                                   (b"PK\x01\x02", 8, 10, 46)):
        start = 0
        while (i := out.find(signature, start)) >= 0:
            start = i + 4
            if out[i + name_at:i + name_at + len(encoded)] == encoded:
                out[i + flag_at] |= flag
                if method is not None:
                    out[i + method_at:i + method_at + 2] = method.to_bytes(2, "little")
    return bytes(out)


@pytest.mark.parametrize("flag,method,expected", [
    (0x1, None, "backup.problem.encrypted"),
    (0, 9, "backup.problem.compression"),  # deflate64
])
@pytest.mark.parametrize("member", [backup.MANIFEST, "app.db"])
def test_encrypted_or_deflate64_members_are_refused_without_a_traceback(
        data, honest, tmp_path, capsys, flag, method, expected, member):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_patch_headers(honest.read_bytes(), member, flag, method))
    assert refused(data, bad) == [expected]
    code, _, err = cli_restore(bad, data, capsys)
    assert code == 1 and "Không khôi phục" in err


@pytest.mark.parametrize("signed", [True, False])
def test_a_deeply_nested_manifest_is_refused_without_a_traceback(data, honest, tmp_path, capsys,
                                                                 signed):
    deep = b"[" * 100_000 + b"]" * 100_000
    bad = forge(honest, tmp_path / "deep.zip", backup.machine_key(data) if signed else None,
                manifest_bytes=deep)
    expected = "backup.problem.bad_manifest" if signed else "backup.problem.unsigned"
    assert refused(data, bad) == [expected]
    code, _, err = cli_restore(bad, data, capsys)
    assert code == 1


# --- the signature and the backup key -----------------------------------------------------------

def test_an_edited_archive_is_refused_by_its_signature(data, honest, tmp_path, capsys):
    files, manifest = members(honest)
    edited = edit_app_db(files[backup.APP_DB], "DELETE FROM audit_log", tmp_path)
    # The edit with a manifest that agrees, but the old signature, or one by another key.
    with zipfile.ZipFile(honest) as z:
        old_signature = z.read(backup.SIGNATURE)
    stale = forge(honest, tmp_path / "stale.zip", None, {backup.APP_DB: edited})
    with zipfile.ZipFile(stale, "a") as z:
        z.writestr(backup.SIGNATURE, old_signature)
    assert refused(data, stale) == ["backup.problem.bad_signature"]
    other_key = os.urandom(20)
    other = forge(honest, tmp_path / "other.zip", other_key, {backup.APP_DB: edited})
    assert refused(data, other) == ["backup.problem.bad_signature"]
    code, _, err = cli_restore(other, data, capsys)
    assert code == 1 and backup.key_id(other_key) in err and "--key" in err
    # Unsigned: refused unless the CLI says it was made before signing; contents still checked.
    unsigned = forge(honest, tmp_path / "unsigned.zip", None, {backup.APP_DB: edited},
                     edit_manifest=lambda m: m.update(format=1))
    assert refused(data, unsigned) == ["backup.problem.unsigned"]
    code, out, _ = cli_restore(unsigned, data, capsys, "--unsigned")
    assert code == 0 and "Đã khôi phục" in out


def test_a_new_machine_restores_with_the_key_from_paper_or_the_environment(data, tmp_path,
                                                                          capsys, monkeypatch):
    capsys.readouterr()
    archive = backup.create_backup(data, tmp_path / "b.zip", actor="test")
    written_down = backup.format_key(backup.machine_key(data))
    new_machine = tmp_path / "new"
    code, _, err = cli_restore(archive.path, new_machine, capsys, "--replace-accounts")
    assert code == 1 and "chưa có khóa sao lưu" in err
    code, _, err = cli_restore(archive.path, new_machine, capsys, "--key", "not-a-key")
    assert code == 2 and "Khóa sao lưu không hợp lệ" in err
    wrong = backup.format_key(os.urandom(20))
    code, _, err = cli_restore(archive.path, new_machine, capsys, "--key", wrong,
                               "--replace-accounts")
    assert code == 1 and "không khớp" in err
    monkeypatch.setenv(backup.KEY_ENV, written_down.replace("-", " ").lower())
    code, out, _ = cli_restore(archive.path, new_machine, capsys, "--replace-accounts")
    assert code == 0 and archive.key_id in out
    monkeypatch.delenv(backup.KEY_ENV)
    assert backup.machine_key(new_machine) == backup.machine_key(data)
    # The new machine signs with the same key, and does not show it again (it is on paper).
    capsys.readouterr()
    assert cli.main(["backup", "--data", str(new_machine), "--out", str(tmp_path / "c.zip")]) == 0
    assert "Khóa sao lưu:" not in capsys.readouterr().out
    assert backup.verify(tmp_path / "c.zip", data)["format"] == backup.ARCHIVE_FORMAT


def test_the_key_is_shown_once_and_never_stored_in_an_archive(tmp_path, capsys, template):
    data = Path(shutil.copytree(template[0], tmp_path / "data"))
    for name in (backup.KEY_FILE, "auth/backup.key.unshown"):
        (data / name).unlink(missing_ok=True)  # as before the first backup
    # A first backup made on the Data page (library call): the key is kept for the CLI to show.
    page_made = backup.create_backup(data, tmp_path / "page.zip", actor="quantri")
    assert page_made.key_to_show == backup.format_key(backup.machine_key(data))
    capsys.readouterr()
    assert cli.main(["backup", "--data", str(data), "--out", str(tmp_path / "1.zip")]) == 0
    first = capsys.readouterr().out
    assert f"Khóa sao lưu: {page_made.key_to_show}" in first
    assert cli.main(["backup", "--data", str(data), "--out", str(tmp_path / "2.zip")]) == 0
    assert "Khóa sao lưu:" not in capsys.readouterr().out
    assert stat.S_IMODE((data / backup.KEY_FILE).stat().st_mode) == 0o600
    raw_key = backup.machine_key(data)
    for made in ("page.zip", "1.zip", "2.zip"):
        files, _ = members(tmp_path / made)
        assert not any(n.endswith("backup.key") for n in files)
        assert not any(page_made.key_to_show.encode() in d or raw_key in d
                       for d in files.values())


# --- file modes ----------------------------------------------------------------------------------

def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_with_personal_data_are_private(data, tmp_path):
    made = backup.create_backup(data, actor="test")  # the default place: <data>/backups
    assert mode(made.path) == 0o600 and mode(made.path.parent) == 0o700
    for info in snapshots.list_snapshots(data)[0]:
        assert mode(info.path) == 0o600
        assert mode(info.path.parent) == 0o700
    summary = next((data / "summaries").iterdir())
    assert mode(summary) == 0o600

    new_machine = tmp_path / "new"
    backup.restore(new_machine, made.path, keys=[backup.machine_key(data)],
                   replace_accounts=True)
    for path in [records.db_path(new_machine), new_machine / backup.USERS,
                 new_machine / backup.KEY_FILE,
                 *(new_machine / "snapshots").glob("*.duckdb"),
                 *(new_machine / "summaries").glob("*.parquet")]:
        assert mode(path) == 0o600, path
    for folder in ("snapshots", "summaries", "auth"):
        assert mode(new_machine / folder) == 0o700, folder
