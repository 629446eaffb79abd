"""Backups of the data folder: one dated, signed .zip, and a restore that checks it whole first.

An archive holds the snapshots, a consistent copy of app.db (made with SQLite's backup API,
never a file copy while the server may be writing), the users file, the settings,
`manifest.json` (every member with its size and SHA-256, the app version, when and by whom) and
`manifest.sig`, an HMAC-SHA256 of the manifest under the installation's backup key. The key is
made at the first backup, kept in `auth/backup.key` (0600, never in an archive) and shown once to
the administrator, who keeps it apart from the machine: a restore on a new machine takes it with
`--key`.

`restore` trusts nothing in the archive, not even when it agrees with itself:
- the signature is checked on the manifest's bytes before they are parsed or a member is
  unpacked, so an edited archive writes nothing;
- every member is read under this installation's limits (count, size per file, total, the disk's
  free space), the manifest's sizes being only claims checked against them;
- a snapshot must be a DuckDB file holding the contract's tables and columns (a subset: older
  snapshots lack later ones) and nothing else (no view, macro, sequence, index, type, schema),
  opened read-only with external access and extensions off; summaries are rebuilt from them;
- app.db must hold the app's tables, columns and indexes only (no trigger, view or other table);
  its rows are copied into a fresh app.db made by the app's own modules;
- users.yaml is parsed without aliases or tags and validated (user names, bcrypt hashes, roles,
  schools); an archive whose accounts differ from this machine's is refused unless the CLI is
  given `--replace-accounts` (the Data page never passes it); the cookie key is never taken from
  an archive: this machine's is kept, or a new one made;
- settings.yaml must load; an archive without snapshots or without app.db is refused.
Only then is the current data moved aside into `before-restore-<time>/` inside the data folder
and the checked files moved into place; any failure on the way moves everything back.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Sequence

import duckdb
import yaml

from . import config, records, rules, settings, snapshots, summaries
from .access import DISTRICT, ROLES
from .config import REPO_ROOT
from .settings import SETTINGS_FILE
from .timeutil import now_local

ARCHIVE_FORMAT = 2  # 2: signed, no summaries (rebuilt on restore); 1: unsigned
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
APP_DB = "app.db"
USERS = "auth/users.yaml"
KEY_FILE = "auth/backup.key"
_KEY_UNSHOWN = "auth/backup.key.unshown"  # present until the key has been shown once
KEY_ENV = "CSDL_BACKUP_KEY"
ASIDE_PREFIX = "before-restore-"
_CHUNK = 1 << 20
# The only member names a backup writes; anything else in an archive is refused.
_SNAPSHOT_MEMBER = re.compile(r"^snapshots/([0-9]{8}-[0-9]{6}-[0-9a-f]{6})\.duckdb$")
_SUMMARY_MEMBER = re.compile(r"^summaries/([0-9]{8}-[0-9]{6}-[0-9a-f]{6})\.parquet$")
_SINGLE_MEMBERS = (APP_DB, USERS, SETTINGS_FILE)
# What a restore replaces: the rest of the data folder (backups, demo samples) is left alone.
_MANAGED = ("snapshots", "summaries", APP_DB, APP_DB + "-wal", APP_DB + "-shm", "auth",
            SETTINGS_FILE)

# --- limits of this installation on what a restore unpacks ---------------------------------------
# The archive's own sizes are claims, checked against these; never the bound.
MAX_MEMBERS = 5_000
MAX_MEMBER_BYTES = {"snapshot": 32 << 30, "summary": 1 << 30, APP_DB: 4 << 30,
                    USERS: 1 << 20, SETTINGS_FILE: 64 << 10}
MAX_MANIFEST_BYTES = 4 << 20
MAX_SIGNATURE_BYTES = 4 << 10
MAX_TOTAL_BYTES = 64 << 30
# Unpacked bytes per byte of archive: honest snapshots pack about 70:1 at most (mostly empty
# DuckDB blocks), a zip bomb 1000:1. Any archive may unpack RATIO_FLOOR (a small school's data).
MAX_RATIO = 200
RATIO_FLOOR = 256 << 20
DISK_RESERVE = 512 << 20  # left free on the disk after unpacking
_MAX_PROBLEMS_PER_FILE = 20
_MAX_ACCOUNTS = 10_000

_KEY_BYTES = 20  # 160 bits: 32 base32 characters, written down in 8 groups of 4


class BackupRefused(Exception):
    """The archive cannot be restored; nothing was changed. `problems` are (i18n key, params)."""

    def __init__(self, problems: list[tuple[str, dict]]):
        super().__init__("; ".join(f"{key} {params}" for key, params in problems))
        self.problems = problems


class BackupKeyError(OSError):
    """This machine's backup key file exists but cannot be read (never silently replaced:
    archives signed with it would no longer verify)."""


@dataclass
class BackupResult:
    path: Path
    files: int
    snapshot_ids: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # damaged snapshots left out
    sha256: str = ""
    key_id: str = ""
    # The backup key, while it has not been shown yet: show it, then call key_shown().
    key_to_show: str | None = None


@dataclass
class RestoreResult:
    snapshot_ids: list[str]
    aside: Path | None  # where the previous data was moved; None when there was none
    created_at: str
    accounts_replaced: bool = False
    key_adopted: str | None = None  # key id, when the key given became this machine's key


def default_archive_name(now: datetime | None = None) -> str:
    return f"csdl-backup-{(now or now_local()):%Y%m%d-%H%M%S}.zip"


def backups_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / "backups"


def app_version() -> str:
    """The code's git commit when known (the archive says which app made it)."""
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _write_private(path: Path, data: bytes) -> None:
    """Write a file atomically, created 0600 (never readable by others, even for a moment)."""
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}-{secrets.token_hex(3)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


# --- the backup key ------------------------------------------------------------------------------

def format_key(raw: bytes) -> str:
    text = base64.b32encode(raw).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def parse_key(text: str | None) -> bytes | None:
    """The key as written down (any case, dashes and spaces ignored, 0/1/8 read as O/I/B, the
    usual slips on paper); None when it is not a key."""
    if not text:
        return None
    cleaned = re.sub(r"[\s-]", "", text).upper().translate(str.maketrans("018", "OIB"))
    if not re.fullmatch(r"[A-Z2-7]{32}", cleaned):
        return None
    return base64.b32decode(cleaned)


def key_id(raw: bytes) -> str:
    """A short name of a key (not the key): says which key signed an archive."""
    return hmac.new(raw, b"csdl-backup-key-id", hashlib.sha256).hexdigest()[:8]


def _mac(raw: bytes, manifest: bytes) -> str:
    return hmac.new(raw, b"csdl-backup\x00" + manifest, hashlib.sha256).hexdigest()


def sign_manifest(raw: bytes, manifest: bytes) -> bytes:
    """The `manifest.sig` member for a manifest's exact bytes."""
    return json.dumps({"alg": "HMAC-SHA256", "key_id": key_id(raw),
                       "mac": _mac(raw, manifest)}).encode("ascii")


def machine_key(data_dir: Path | str) -> bytes | None:
    """This installation's backup key, or None when no backup was made here yet."""
    path = Path(data_dir) / KEY_FILE
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupKeyError(None, f"{path}: {exc}") from exc
    raw = parse_key(text.strip())
    if raw is None:
        raise BackupKeyError(None, f"{path}: not a backup key")
    return raw


def ensure_key(data_dir: Path | str) -> bytes:
    """The backup key, made on first use (marked as not shown yet)."""
    data_dir = Path(data_dir)
    raw = machine_key(data_dir)
    if raw is not None:
        return raw
    path = data_dir / KEY_FILE
    _private_dir(path.parent)
    raw = secrets.token_bytes(_KEY_BYTES)
    _write_private(data_dir / _KEY_UNSHOWN, b"")
    tmp = path.with_name(f".tmp-backup-key-{os.getpid()}-{secrets.token_hex(3)}")
    _write_private(tmp, (format_key(raw) + "\n").encode("ascii"))
    try:
        os.link(tmp, path)  # never replaces a key another process made meanwhile
    except FileExistsError:
        return machine_key(data_dir) or raw
    finally:
        tmp.unlink(missing_ok=True)
    return raw


def key_to_show(data_dir: Path | str) -> str | None:
    """The key, written out, while it has never been shown; else None."""
    data_dir = Path(data_dir)
    if not (data_dir / _KEY_UNSHOWN).exists():
        return None
    raw = machine_key(data_dir)
    return format_key(raw) if raw is not None else None


def key_shown(data_dir: Path | str) -> None:
    """The administrator has seen the key: it is not shown again."""
    (Path(data_dir) / _KEY_UNSHOWN).unlink(missing_ok=True)


# --- backup ------------------------------------------------------------------------------------

def create_backup(data_dir: Path | str, out: Path | str | None = None,
                  actor: str | None = None) -> BackupResult:
    """Write the signed archive (0600, atomically: a temporary file renamed into place) and
    audit it. Summaries are left out: a restore rebuilds them from the snapshots."""
    data_dir = Path(data_dir)
    now = now_local()
    raw_key = ensure_key(data_dir)
    out = Path(out) if out else backups_dir(data_dir) / default_archive_name(now)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.parent == backups_dir(data_dir):  # every archive holds personal data and hashes
        os.chmod(out.parent, 0o700)
    good, bad = snapshots.list_snapshots(data_dir)
    tmp = out.with_name(f".tmp-{out.name}-{os.getpid()}-{secrets.token_hex(3)}")
    listed: list[dict] = []
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw_out, \
                tempfile.TemporaryDirectory(prefix=".backup-", dir=out.parent) as staging, \
                zipfile.ZipFile(raw_out, "w", compression=zipfile.ZIP_DEFLATED,
                                compresslevel=6) as archive:
            for info in good:
                listed.append(_add_file(archive, info.path, f"snapshots/{info.path.name}"))
            if records.db_path(data_dir).is_file():
                copy = Path(staging) / APP_DB
                _copy_app_db(records.db_path(data_dir), copy)
                listed.append(_add_file(archive, copy, APP_DB))
            for name in (USERS, SETTINGS_FILE):
                if (data_dir / name).is_file():
                    listed.append(_add_file(archive, data_dir / name, name))
            manifest = {
                "format": ARCHIVE_FORMAT, "app": "csdl", "app_version": app_version(),
                "schema_sha256": hashlib.sha256(snapshots.SCHEMA_SQL.encode()).hexdigest(),
                "created_at": now.isoformat(), "created_by": actor,
                "snapshots": [s.snapshot_id for s in good],
                "skipped": [{"path": p.name, "reason": r} for p, r in bad],
                "files": listed,
            }
            manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            archive.writestr(MANIFEST, manifest_bytes)
            archive.writestr(SIGNATURE, sign_manifest(raw_key, manifest_bytes))
        snapshots.fsync(tmp)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    digest = snapshots.file_sha256(out)
    records.audit(data_dir, actor, "backup", archive=out.name, files=len(listed),
                  snapshots=len(good), skipped=[p.name for p, _ in bad], sha256=digest,
                  key_id=key_id(raw_key))
    return BackupResult(out, len(listed), [s.snapshot_id for s in good],
                        [(p.name, r) for p, r in bad], digest, key_id(raw_key),
                        key_to_show(data_dir))


def _copy_app_db(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup API (waits for a writer like any read)."""
    src = sqlite3.connect(source, timeout=records.BUSY_TIMEOUT_MS / 1000)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _add_file(archive: zipfile.ZipFile, path: Path, name: str) -> dict:
    """Stream one file into the archive, hashing it on the way (one read)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source, archive.open(name, "w", force_zip64=True) as member:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            member.write(chunk)
            size += len(chunk)
    return {"path": name, "size": size, "sha256": digest.hexdigest()}


# --- opening an archive: names, limits, signature, manifest ------------------------------------

def _kind(name: str) -> str | None:
    if _SNAPSHOT_MEMBER.match(name):
        return "snapshot"
    if _SUMMARY_MEMBER.match(name):
        return "summary"
    return name if name in _SINGLE_MEMBERS else None


def _member_problem(info: zipfile.ZipInfo) -> tuple[str, dict] | None:
    """Why a member may not be read, or None when it is one a backup writes, readable."""
    name = info.filename
    pure = PurePosixPath(name)
    if (not name or "\\" in name or "\x00" in name or pure.is_absolute() or ".." in pure.parts
            or re.match(r"^[A-Za-z]:", name)):
        return ("backup.problem.unsafe_name", {"name": name})
    if stat.S_ISLNK(info.external_attr >> 16) or info.is_dir():
        return ("backup.problem.unsafe_name", {"name": name})
    if name not in (MANIFEST, SIGNATURE) and _kind(name) is None:
        return ("backup.problem.unexpected_member", {"name": name})
    if info.flag_bits & 0x1:
        return ("backup.problem.encrypted", {"name": name})
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return ("backup.problem.compression", {"name": name, "method": info.compress_type})
    return None


def _read_small(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A small member read whole, never more than `limit` bytes."""
    try:
        with archive.open(name) as fh:
            data = fh.read(limit + 1)
    except Exception as exc:  # a damaged member: zlib, CRC, EOF, … all mean the same here
        raise BackupRefused([("backup.problem.bad_manifest",
                              {"reason": f"{name}: {_first_line(exc)}"})]) from exc
    if len(data) > limit:
        raise BackupRefused([("backup.problem.member_too_large",
                              {"name": name, "limit": _mb(limit)})])
    return data


def _check_signature(archive: zipfile.ZipFile, names: set[str], manifest: bytes,
                     keys: Sequence[bytes], accept_unsigned: bool) -> bytes | None:
    """The key that signed the manifest (None: unsigned and accepted); raises otherwise."""
    if SIGNATURE not in names:
        if accept_unsigned:
            return None
        raise BackupRefused([("backup.problem.unsigned", {})])
    try:
        sig = json.loads(_read_small(archive, SIGNATURE, MAX_SIGNATURE_BYTES))
        mac, signer = sig["mac"], str(sig.get("key_id", "?"))[:16]
        if not isinstance(mac, str) or not mac.isascii():  # compare_digest takes ASCII only
            raise TypeError("mac")
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise BackupRefused([("backup.problem.bad_signature",
                              {"key_id": "?", "known": ", ".join(map(key_id, keys)) or "–"})]
                            ) from exc
    for raw in keys:
        if hmac.compare_digest(_mac(raw, manifest), mac):
            return raw
    if not keys:
        raise BackupRefused([("backup.problem.no_key", {"key_id": signer})])
    raise BackupRefused([("backup.problem.bad_signature",
                          {"key_id": signer, "known": ", ".join(map(key_id, keys))})])


def _parse_manifest(data: bytes) -> dict:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BackupRefused([("backup.problem.bad_manifest",
                              {"reason": _first_line(exc)[:200]})]) from exc
    if not isinstance(manifest, dict):
        raise BackupRefused([("backup.problem.bad_manifest", {"reason": "format"})])
    files = manifest.get("files")
    ok = (isinstance(files, list) and manifest.get("format") in (1, ARCHIVE_FORMAT)
          and len(files) <= MAX_MEMBERS
          and all(isinstance(f, dict) and isinstance(f.get("path"), str)
                  and isinstance(f.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", f["sha256"])
                  and type(f.get("size")) is int and f["size"] >= 0 for f in files))
    created_at, created_by = manifest.get("created_at"), manifest.get("created_by")
    if ok and created_at is not None:
        try:
            datetime.fromisoformat(created_at)
        except (TypeError, ValueError):
            ok = False
    if not ok or not (created_by is None or isinstance(created_by, str)):
        raise BackupRefused([("backup.problem.bad_manifest", {"reason": "format"})])
    return manifest


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB" if n >= 1 << 20 else f"{n} B"


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _check_sizes(archive_path: Path, manifest: dict, space_dir: Path) -> None:
    """The manifest's sizes against this installation's limits and the free disk space, before
    a byte is unpacked (unpacking then never writes more than a member's listed size)."""
    problems = []
    total = written = 0
    for entry in manifest["files"]:
        limit = MAX_MEMBER_BYTES[_kind(entry["path"])]
        if entry["size"] > limit:
            problems.append(("backup.problem.member_too_large",
                             {"name": entry["path"], "limit": _mb(limit)}))
        total += entry["size"]  # every member is inflated (summaries to be hashed only)
        if _kind(entry["path"]) != "summary":
            written += entry["size"]
    budget = min(MAX_TOTAL_BYTES, max(RATIO_FLOOR, MAX_RATIO * archive_path.stat().st_size))
    if total > budget:
        problems.append(("backup.problem.too_large", {"size": _mb(total), "limit": _mb(budget)}))
    if problems:
        raise BackupRefused(problems)
    free = shutil.disk_usage(space_dir).free
    if written > free - DISK_RESERVE:
        raise BackupRefused([("backup.problem.no_space",
                              {"size": _mb(written), "free": _mb(max(free, 0))})])


@dataclass
class _Opened:
    archive: zipfile.ZipFile
    manifest: dict
    signer: bytes | None


def _open_checked(archive_path: Path, keys: Sequence[bytes], accept_unsigned: bool,
                  space_dir: Path) -> _Opened:
    """The archive opened, its members, signature, manifest and sizes checked (nothing
    unpacked yet). The signature is checked on the manifest's bytes before they are parsed."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except Exception as exc:  # hostile bytes: any failure to read the directory means the same
        raise BackupRefused([("backup.problem.not_archive",
                              {"reason": _first_line(exc)[:200]})]) from exc
    try:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS + 2:
            raise BackupRefused([("backup.problem.too_many_members",
                                  {"count": len(infos), "limit": MAX_MEMBERS})])
        problems = [p for p in map(_member_problem, infos) if p]
        names = [i.filename for i in infos]
        seen: set[str] = set()
        repeated = sorted({n for n in names if n in seen or seen.add(n)})
        problems += [("backup.problem.unsafe_name", {"name": n}) for n in repeated]
        if problems:
            raise BackupRefused(problems[:_MAX_PROBLEMS_PER_FILE])
        if MANIFEST not in seen:
            raise BackupRefused([("backup.problem.no_manifest", {})])
        manifest_bytes = _read_small(archive, MANIFEST, MAX_MANIFEST_BYTES)
        signer = _check_signature(archive, seen, manifest_bytes, keys, accept_unsigned)
        manifest = _parse_manifest(manifest_bytes)
        if signer is not None and manifest["format"] != ARCHIVE_FORMAT:
            raise BackupRefused([("backup.problem.bad_manifest", {"reason": "format"})])
        listed = [f["path"] for f in manifest["files"]]
        members = seen - {MANIFEST, SIGNATURE}
        problems = [("backup.problem.missing_member", {"name": n}) for n in listed
                    if n not in members]
        problems += [("backup.problem.not_listed", {"name": n}) for n in sorted(members)
                     if n not in listed]
        counts = Counter(listed)
        problems += [("backup.problem.unexpected_member", {"name": n})
                     for n in sorted(counts) if counts[n] > 1 or _kind(n) is None]
        if problems:
            raise BackupRefused(problems[:_MAX_PROBLEMS_PER_FILE])
        if not any(_kind(n) == "snapshot" for n in listed):
            raise BackupRefused([("backup.problem.no_snapshots", {})])
        if APP_DB not in listed:
            raise BackupRefused([("backup.problem.no_app_db", {})])
        _check_sizes(archive_path, manifest, space_dir)
        return _Opened(archive, manifest, signer)
    except BaseException:
        archive.close()
        raise


def _extract_checked(archive: zipfile.ZipFile, manifest: dict, staging: Path) -> None:
    """Unpack every listed member into `staging` (files 0600), each hash checked as it streams
    and never more bytes than its listed size (checked against the limits already). Summaries
    are hashed only: a restore rebuilds them from the snapshots."""
    problems: list[tuple[str, dict]] = []
    for entry in manifest["files"]:
        name, expected_size = entry["path"], entry["size"]
        keep = _kind(name) != "summary"
        target = staging / name
        digest, size = hashlib.sha256(), 0
        try:
            out = None
            if keep:
                _private_dir(target.parent)
                out = os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                                "wb")
            with archive.open(name) as member:
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    if size > expected_size:
                        break
                    digest.update(chunk)
                    if out is not None:
                        out.write(chunk)
        except Exception as exc:
            # A damaged member fails zipfile's CRC or inflate: the same verdict as a bad hash.
            problems.append(("backup.problem.hash_mismatch",
                             {"name": name, "reason": _first_line(exc)[:200]}))
            continue
        finally:
            if keep and out is not None:
                out.close()
        if size != expected_size or digest.hexdigest() != entry["sha256"]:
            problems.append(("backup.problem.hash_mismatch", {"name": name, "reason": ""}))
    if problems:
        raise BackupRefused(problems[:_MAX_PROBLEMS_PER_FILE])


# --- checking a snapshot: the contract's tables and columns, nothing else ----------------------

_OBJECT_QUERIES = {  # everything in a DuckDB file besides tables; a snapshot holds none of it
    "schema": "SELECT schema_name FROM duckdb_schemas() "
              "WHERE database_name = current_database() AND NOT internal",
    "view": "SELECT view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal",
    "macro": "SELECT function_name FROM duckdb_functions() "
             "WHERE database_name = current_database() AND NOT internal",
    "sequence": "SELECT sequence_name FROM duckdb_sequences() "
                "WHERE database_name = current_database()",
    "index": "SELECT index_name FROM duckdb_indexes() WHERE database_name = current_database()",
    "type": "SELECT type_name FROM duckdb_types() "
            "WHERE database_name = current_database() AND NOT internal",
    "secret": "SELECT name FROM duckdb_secrets()",
}


@dataclass(frozen=True)
class _DuckShape:
    tables: frozenset[tuple[str, str]]  # (schema, table)
    columns: dict[str, dict[str, tuple]]  # table of main → column → (type, default)
    constraints: frozenset[tuple]
    objects: list[tuple[str, str]]  # (kind, name) of everything that is not a table


def _duck_shape(con: duckdb.DuckDBPyConnection) -> _DuckShape:
    tables = frozenset(con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()").fetchall())
    columns: dict[str, dict[str, tuple]] = {}
    for table, column, data_type, default in con.execute(
            "SELECT table_name, column_name, data_type, column_default FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main' "
            "AND table_name IN (SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = 'main') "
            "ORDER BY table_name, column_index").fetchall():
        columns.setdefault(table, {})[column] = (data_type, default)
    constraints = frozenset(
        (table, kind, text, tuple(cols or ())) for table, kind, text, cols in con.execute(
            "SELECT table_name, constraint_type, constraint_text, constraint_column_names "
            "FROM duckdb_constraints() WHERE database_name = current_database()").fetchall())
    objects = [(kind, str(row[0])) for kind, sql in _OBJECT_QUERIES.items()
               for row in con.execute(sql).fetchall()]
    return _DuckShape(tables, columns, constraints, objects)


@functools.lru_cache(maxsize=4)
def _snapshot_reference(hooks: tuple = ()) -> _DuckShape:
    """What the app writes into a snapshot: the contract, the derived tables, the hooks'."""
    con = duckdb.connect(":memory:", config=snapshots.READ_CONFIG)
    try:
        snapshots.load_tables(con, {})
        summaries.write_summary_table(con)
        for hook in hooks:
            hook(con)
        return _duck_shape(con)
    finally:
        con.close()


def _snapshot_problems(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, dict]]:
    """Everything in the file outside the contract (tables, columns and constraints missing
    from it are fine: snapshots written before they existed)."""
    ref = _snapshot_reference(tuple(snapshots._AFTER_WRITE_HOOKS))
    shape = _duck_shape(con)
    problems = [("backup.problem.snapshot_object", {"name": name, "kind": kind, "object": obj})
                for kind, obj in shape.objects]
    for schema, table in sorted(shape.tables - ref.tables):
        problems.append(("backup.problem.snapshot_object",
                         {"name": name, "kind": "table",
                          "object": table if schema == "main" else f"{schema}.{table}"}))
    for table, cols in shape.columns.items():
        for column, (data_type, default) in cols.items():
            expected = ref.columns.get(table, {}).get(column)
            if ("main", table) in ref.tables and expected != (data_type, default):
                problems.append(("backup.problem.snapshot_column",
                                 {"name": name, "table": table, "column": column,
                                  "type": data_type if default is None
                                  else f"{data_type} = {default}"}))
    for table, kind, text, _cols in sorted(shape.constraints - ref.constraints):
        problems.append(("backup.problem.snapshot_object",
                         {"name": name, "kind": kind, "object": f"{table}: {text}"}))
    return problems


def check_snapshot(path: Path, snapshot_id: str) -> tuple[tuple | None, list[tuple[str, dict]]]:
    """Open an unpacked snapshot as every snapshot is opened (read-only, no external access,
    no extensions) and check it: (its snapshot row, problems)."""
    name = f"snapshots/{path.name}"
    try:
        con = snapshots.open_file(path)
    except (snapshots.SnapshotError, duckdb.Error, OSError) as exc:
        return None, [("backup.problem.snapshot_unreadable",
                       {"name": name, "reason": _first_line(exc)[:200]})]
    try:
        problems = _snapshot_problems(con, name)
        if problems:
            return None, problems[:_MAX_PROBLEMS_PER_FILE]
        rows = con.execute(f"SELECT {', '.join(snapshots.INFO_FIELDS)} FROM snapshot "
                           "LIMIT 2").fetchall()
        if len(rows) != 1 or rows[0][0] != snapshot_id:
            raise ValueError("snapshot_id")
        row = rows[0]
        if row[3] not in ("import", "demo") or row[2] is None or row[4] is None:
            raise ValueError("snapshot row")
        rules.parse_school_year(row[1])
        return row, []
    except Exception as exc:  # a hostile file: any failure to read it is a refusal
        return None, [("backup.problem.snapshot_unreadable",
                       {"name": name, "reason": _first_line(exc)[:200]})]
    finally:
        con.close()


# --- checking app.db: the app's schema and nothing else; rows copied into a fresh one -----------

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_INTERNAL = {"sqlite_sequence", "sqlite_stat1", "sqlite_stat4"}
# Indexes older versions made (the migration in schedule._connect drops them).
_LEGACY_INDEXES = {
    "lock_schedule_key": ("lock_schedule", "CREATE UNIQUE INDEX lock_schedule_key "
                          "ON lock_schedule (school_year, period, COALESCE(grade, 0))"),
}


def _norm_sql(sql: str | None) -> str:
    text = re.sub(r"\s+", " ", sql or "").strip().rstrip(";")
    return re.sub(r"(?i)^CREATE (UNIQUE )?INDEX IF NOT EXISTS ", r"CREATE \1INDEX ", text)


_SQLITE_DDL = re.compile(r"CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+IF\s+NOT\s+EXISTS")


def _app_db_modules() -> list:
    """The modules that keep tables in app.db: those whose source creates one (found, not
    listed, so a module or a table added later is part of the schema without a change here)."""
    import importlib

    package = Path(__file__).parent
    names = sorted(p.stem for p in package.glob("*.py")
                   if p.stem != "backup" and "CREATE TABLE IF NOT EXISTS" in p.read_text("utf-8"))
    names.sort(key=lambda n: n != "records")  # audit_log first, as every module needs it
    return [importlib.import_module(f"{__package__}.{name}") for name in names]


def create_app_db(folder: Path) -> Path:
    """An empty app.db in `folder`, made by the app's own modules (their `_connect`, with its
    migrations, or else their schema scripts): what a restored app.db may hold."""
    with records.connect(folder):
        pass
    for module in _app_db_modules():
        if module is records:
            continue
        if callable(getattr(module, "_connect", None)):
            with module._connect(folder):
                pass
        scripts = [v for k, v in sorted(vars(module).items())
                   if k.isupper() or k.startswith("_") and k[1:].isupper()
                   if isinstance(v, str) and _SQLITE_DDL.search(v)]
        with records.connect(folder) as con:
            for script in scripts:
                con.executescript(script)
    return records.db_path(folder)


@dataclass(frozen=True)
class _DbShape:
    tables: dict[str, dict[str, str]]  # table → column → declared type
    indexes: dict[str, tuple[str, str]]  # index → (table, normalised SQL)
    autoincrement: frozenset[str]


@functools.cache
def _app_db_reference() -> _DbShape:
    with tempfile.TemporaryDirectory(prefix=".appdb-") as folder:
        con = sqlite3.connect(create_app_db(Path(folder)))
        try:
            return _db_shape(con, "main")[0]
        finally:
            con.close()


def _db_shape(con: sqlite3.Connection, schema: str) -> tuple[_DbShape, list[tuple[str, str, str]]]:
    """The tables, columns and indexes of `schema`, and every other object (kind, name, table)."""
    tables: dict[str, dict[str, str]] = {}
    indexes: dict[str, tuple[str, str]] = {}
    others: list[tuple[str, str, str]] = []
    autoincrement = set()
    for kind, name, table, sql in con.execute(
            f"SELECT type, name, tbl_name, sql FROM {schema}.sqlite_master").fetchall():
        if kind == "table" and name in _SQLITE_INTERNAL:
            continue
        if kind == "index" and name.startswith("sqlite_autoindex_") and sql is None:
            continue  # made by SQLite for a PRIMARY KEY or UNIQUE of the table
        if kind == "table" and re.match(r"(?i)^\s*CREATE\s+TABLE\b", sql or "") \
                and not name.startswith("sqlite_"):
            cols = con.execute(f"SELECT name, type, hidden FROM pragma_table_xinfo(?, ?)",
                               (name, schema)).fetchall()
            tables[name] = {}
            for col, col_type, hidden in cols:
                if hidden:  # a generated column: computed, not stored data
                    others.append(("column", f"{name}.{col}", name))
                else:
                    tables[name][col] = (col_type or "").upper()
            if re.search(r"(?i)\bAUTOINCREMENT\b", sql or ""):
                autoincrement.add(name)
        elif kind == "index":
            indexes[name] = (table, _norm_sql(sql))
        else:
            others.append((kind, name, table))
    return _DbShape(tables, indexes, frozenset(autoincrement)), others


def _app_db_problems(con: sqlite3.Connection) -> list[tuple[str, dict]]:
    ref = _app_db_reference()
    shape, others = _db_shape(con, "old")
    problems = [("backup.problem.app_db_object", {"kind": kind, "object": name})
                for kind, name, _table in others]
    for table, cols in shape.tables.items():
        if table not in ref.tables:
            problems.append(("backup.problem.app_db_object", {"kind": "table", "object": table}))
            continue
        for column, col_type in cols.items():
            if ref.tables[table].get(column) != col_type:
                problems.append(("backup.problem.app_db_column",
                                 {"table": table, "column": column, "type": col_type}))
    for index, (table, sql) in shape.indexes.items():
        if ref.indexes.get(index) != (table, sql) and (
                index not in _LEGACY_INDEXES
                or (_LEGACY_INDEXES[index][0], _norm_sql(_LEGACY_INDEXES[index][1]))
                != (table, sql)):
            problems.append(("backup.problem.app_db_object", {"kind": "index", "object": index}))
    return problems


def _rebuild_app_db(staged: Path) -> list[tuple[str, dict]]:
    """Check the unpacked app.db and replace it with a fresh one holding its rows; problems."""
    try:
        with staged.open("rb") as fh:
            if fh.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                return [("backup.problem.app_db_damaged", {"reason": "not a SQLite database"})]
    except OSError as exc:
        return [("backup.problem.app_db_damaged", {"reason": _first_line(exc)})]
    fresh_dir = staged.parent / f".appdb-{secrets.token_hex(3)}"
    try:
        fresh = create_app_db(_private_dir(fresh_dir))
        con = sqlite3.connect(fresh, isolation_level=None)
        try:
            # Nothing in the archive's schema may run a function with side effects.
            con.execute("PRAGMA trusted_schema = OFF")
            con.execute("PRAGMA cell_size_check = ON")
            con.execute("ATTACH DATABASE ? AS old", (str(staged),))
            verdict = con.execute("PRAGMA old.integrity_check").fetchone()[0]
            if verdict != "ok":
                return [("backup.problem.app_db_damaged", {"reason": verdict})]
            problems = _app_db_problems(con)
            if problems:
                return problems[:_MAX_PROBLEMS_PER_FILE]
            ref = _app_db_reference()
            old_shape, _ = _db_shape(con, "old")
            con.execute("BEGIN")
            for table, cols in old_shape.tables.items():
                quoted = ", ".join(f'"{c}"' for c in cols)
                try:
                    con.execute(f'INSERT INTO main."{table}" ({quoted}) '
                                f'SELECT {quoted} FROM old."{table}"')
                except sqlite3.Error as exc:
                    con.execute("ROLLBACK")
                    return [("backup.problem.app_db_rows",
                             {"table": table, "reason": _first_line(exc)})]
            # Ids of AUTOINCREMENT tables never come back after deleted rows, as before.
            if con.execute("SELECT 1 FROM old.sqlite_master WHERE name = 'sqlite_sequence'"
                           ).fetchone():
                for name, seq in con.execute("SELECT name, seq FROM old.sqlite_sequence"
                                             ).fetchall():
                    if name in ref.autoincrement and isinstance(seq, int):
                        con.execute("UPDATE main.sqlite_sequence SET seq = max(seq, ?) "
                                    "WHERE name = ?", (seq, name))
                        con.execute("INSERT INTO main.sqlite_sequence (name, seq) SELECT ?, ? "
                                    "WHERE NOT EXISTS (SELECT 1 FROM main.sqlite_sequence "
                                    "WHERE name = ?)", (name, seq, name))
            con.execute("COMMIT")
            con.execute("DETACH DATABASE old")
        finally:
            con.close()
        os.chmod(fresh, 0o600)
        os.replace(fresh, staged)
        return []
    except sqlite3.Error as exc:
        return [("backup.problem.app_db_damaged", {"reason": _first_line(exc)})]
    finally:
        shutil.rmtree(fresh_dir, ignore_errors=True)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(str(staged) + suffix).unlink(missing_ok=True)


# --- checking users.yaml and settings.yaml -------------------------------------------------------

class _StrictLoader(yaml.SafeLoader):
    """Safe YAML without anchors or aliases (a few aliases can stand for billions of nodes)."""

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.YAMLError("anchors and aliases are not allowed")
        return super().compose_node(parent, index)


def _load_yaml(data: bytes) -> object:
    return yaml.load(data.decode("utf-8"), Loader=_StrictLoader)  # noqa: S506 - strict safe


# bcrypt, optionally behind a scheme prefix (auth.py's "sha256+": the password pre-hashed).
_USER_FIELDS = ("name", "password", "roles", "disabled", "demo", "school_id")  # auth.py's
_BCRYPT_RE = re.compile(r"^(?:[a-z0-9]{1,16}\+)?\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$")


def _accounts(loaded: object) -> dict[str, dict]:
    """The validated accounts of a users file; raises ValueError(username, field, value)."""
    from .auth import SCHOOL_ID_RE, USERNAME_RE

    if loaded is None:
        return {}
    if not isinstance(loaded, dict) or set(loaded) - {"cookie", "credentials"}:
        raise ValueError("-", "file", sorted(map(str, loaded)) if isinstance(loaded, dict)
                         else type(loaded).__name__)
    credentials = loaded.get("credentials") or {}
    if not isinstance(credentials, dict) or set(credentials) - {"usernames"}:
        raise ValueError("-", "credentials", "?")
    users = credentials.get("usernames") or {}
    if not isinstance(users, dict) or len(users) > _MAX_ACCOUNTS:
        raise ValueError("-", "usernames", "?")
    for username, entry in users.items():
        if not isinstance(username, str) or not USERNAME_RE.match(username):
            raise ValueError(str(username)[:40], "username", str(username)[:40])
        if not isinstance(entry, dict):
            raise ValueError(username, "account", type(entry).__name__)
        # Fields auth.py does not read (streamlit-authenticator's, or a later version's) may
        # hold plain values only: nothing nested that a later reader could trip on.
        for key, value in entry.items():
            if key in _USER_FIELDS:
                continue
            if not isinstance(key, str) or not re.fullmatch(r"[a-z_]{1,40}", key) or not (
                    value is None or isinstance(value, (bool, int, float))
                    or isinstance(value, str) and len(value) <= 1000):
                raise ValueError(username, "field", str(key)[:40])
        name, password, roles = entry.get("name"), entry.get("password"), entry.get("roles")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ValueError(username, "name", str(name)[:40])
        if not isinstance(password, str) or not _BCRYPT_RE.match(password):
            raise ValueError(username, "password", "not a bcrypt hash")
        if (not isinstance(roles, list) or not roles or len(set(roles)) != len(roles)
                or not all(isinstance(r, str) and r in ROLES for r in roles)):
            raise ValueError(username, "roles", str(roles)[:60])
        for flag in ("disabled", "demo"):
            if not isinstance(entry.get(flag, False), bool):
                raise ValueError(username, flag, str(entry.get(flag))[:20])
        school = entry.get("school_id")
        if school is not None and (not isinstance(school, str) or not SCHOOL_ID_RE.match(school)):
            raise ValueError(username, "school_id", str(school)[:40])
        if DISTRICT in roles and school is not None:
            raise ValueError(username, "school_id", f"{school} ({DISTRICT})")
    return users


def _current_users(data_dir: Path) -> tuple[dict[str, dict] | None, dict | None]:
    """This machine's accounts (None: no users file or one that cannot be read) and cookie."""
    path = data_dir / USERS
    try:
        loaded = _load_yaml(path.read_bytes())
    except FileNotFoundError:
        return None, None
    except Exception:  # noqa: BLE001 - a broken file: its accounts are unknown
        return None, None
    cookie = loaded.get("cookie") if isinstance(loaded, dict) else None
    cookie = cookie if isinstance(cookie, dict) and isinstance(cookie.get("key"), str) \
        and len(cookie["key"]) >= 32 else None
    try:
        return _accounts(loaded), cookie
    except ValueError:
        return None, cookie


def _accounts_change(archive: dict[str, dict], current: dict[str, dict] | None) -> dict | None:
    current = current or {}
    if archive == current:
        return None
    added = sorted(set(archive) - set(current))
    removed = sorted(set(current) - set(archive))
    changed = sorted(u for u in set(archive) & set(current) if archive[u] != current[u])
    return {"added": ", ".join(added) or "–", "removed": ", ".join(removed) or "–",
            "changed": ", ".join(changed) or "–"}


# --- the whole check -----------------------------------------------------------------------------

@dataclass
class _Checked:
    snapshot_ids: list[str]
    rows: dict[str, tuple]
    accounts: dict[str, dict] | None  # None: the archive has no users file
    accounts_change: dict | None


def _check_contents(staging: Path, data_dir: Path, replace_accounts: bool) -> _Checked:
    """Check every unpacked file for what it holds, not only that it matches the manifest."""
    problems: list[tuple[str, dict]] = []
    snapshot_ids, rows = [], {}
    folder = staging / "snapshots"
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        match = _SNAPSHOT_MEMBER.match(f"snapshots/{path.name}")
        if not match:
            continue
        row, found = check_snapshot(path, match.group(1))
        problems += found
        if row is not None:
            snapshot_ids.append(match.group(1))
            rows[match.group(1)] = row
    problems += _rebuild_app_db(staging / APP_DB)
    accounts = None
    users = staging / USERS
    if users.exists():
        try:
            accounts = _accounts(_load_yaml(users.read_bytes()))
        except ValueError as exc:
            username, what, value = (exc.args + ("?", "?", "?"))[:3]
            problems.append(("backup.problem.users_invalid",
                             {"username": username, "field": what, "value": value}))
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
            problems.append(("backup.problem.users_unreadable",
                             {"reason": _first_line(exc)[:200]}))
    settings_file = staging / SETTINGS_FILE
    if settings_file.exists():
        try:
            _load_yaml(settings_file.read_bytes())
            settings.load(staging)
        except (settings.SettingsError, yaml.YAMLError, UnicodeDecodeError, RecursionError,
                ValueError, TypeError) as exc:
            problems.append(("backup.problem.settings_invalid",
                             {"reason": _first_line(exc)[:200].replace(str(staging), "")}))
    if problems:
        raise BackupRefused(problems)
    current, _cookie = _current_users(data_dir)
    change = None
    if accounts is not None or current is not None:
        change = _accounts_change(accounts or {}, current)
        if change is not None and not replace_accounts:
            raise BackupRefused([("backup.problem.accounts_differ", change)])
    return _Checked(snapshot_ids, rows, accounts, change)


def _keys(data_dir: Path, keys: Sequence[bytes]) -> list[bytes]:
    """This machine's key first, then the ones given (a new machine has none of its own)."""
    found = []
    try:
        own = machine_key(data_dir)
    except BackupKeyError:
        own = None
    for raw in (own, *keys):
        if raw is not None and raw not in found:
            found.append(raw)
    return found


def verify(archive_path: Path | str, data_dir: Path | str | None = None, *,
           keys: Sequence[bytes] = (), replace_accounts: bool = False,
           accept_unsigned: bool = False) -> dict:
    """Check an archive completely (in a throw-away folder) against the data folder it would
    replace (default: the app's); return its manifest, its `snapshots` those that were checked."""
    data_dir = config.data_dir(data_dir)
    with tempfile.TemporaryDirectory(prefix=".verify-") as staging:
        opened = _open_checked(Path(archive_path), _keys(data_dir, keys), accept_unsigned,
                               Path(staging))
        with opened.archive:
            _extract_checked(opened.archive, opened.manifest, Path(staging))
        checked = _check_contents(Path(staging), data_dir, replace_accounts)
    return {**opened.manifest, "snapshots": checked.snapshot_ids}


# --- restore -----------------------------------------------------------------------------------

def restore(data_dir: Path | str, archive_path: Path | str, actor: str | None = None, *,
            keys: Sequence[bytes] = (), replace_accounts: bool = False,
            accept_unsigned: bool = False, on_wait=None, timeout: float | None = None
            ) -> RestoreResult:
    """Check the archive, move the current data aside, put the checked files in place.

    `keys`: backup keys besides this machine's (a new machine's restore). `replace_accounts`:
    accept accounts that differ from this machine's (the CLI's explicit flag only).
    Raises BackupRefused (audited, nothing changed) when the archive fails any check.
    Holds the data folder's write lock throughout, as an import does (`ingest.write_lock`:
    `on_wait`, `timeout`; ingest.WriteLocked when another writer holds it too long), so an
    import never merges onto data a restore is replacing.
    """
    from .ingest import write_lock  # ingest imports the readers: only when restoring

    with write_lock(data_dir, action="restore", by=actor, timeout=timeout, on_wait=on_wait):
        return _restore(data_dir, archive_path, actor, keys=keys,
                        replace_accounts=replace_accounts, accept_unsigned=accept_unsigned)


def _restore(data_dir: Path | str, archive_path: Path | str, actor: str | None, *,
             keys: Sequence[bytes], replace_accounts: bool,
             accept_unsigned: bool) -> RestoreResult:
    data_dir = Path(data_dir)
    archive_path = Path(archive_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / f".restore-{os.getpid()}-{secrets.token_hex(3)}"
    adopted = None
    try:
        try:
            opened = _open_checked(archive_path, _keys(data_dir, keys), accept_unsigned,
                                   data_dir)
            with opened.archive:
                staging.mkdir(mode=0o700)
                _extract_checked(opened.archive, opened.manifest, staging)
            checked = _check_contents(staging, data_dir, replace_accounts)
            _rebuild_summaries(staging, checked.snapshot_ids)
        except BackupRefused as refused:
            _audit_quietly(data_dir, actor, "restore_refused", archive=archive_path.name,
                           problems=[key for key, _ in refused.problems])
            raise
        for snapshot_id, row in checked.rows.items():
            # The hash was checked on extraction: it becomes the snapshot's recorded checksum,
            # and the row its recorded info (listing then need not open the file).
            path = snapshots.snapshot_path(staging, snapshot_id)
            snapshots.write_info(path, row)
            entry = next(f for f in opened.manifest["files"]
                         if f["path"] == f"snapshots/{path.name}")
            snapshots.checksum_path(path).write_text(entry["sha256"] + "\n", encoding="ascii")
        adopted = _stage_auth(data_dir, staging, checked, opened.signer)
        aside = _swap_in(data_dir, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = opened.manifest
    records.audit(data_dir, actor, "restore", archive=archive_path.name,
                  created_at=manifest.get("created_at"), snapshots=len(checked.snapshot_ids),
                  aside=aside.name if aside else None,
                  signed_by=key_id(opened.signer) if opened.signer else None,
                  accounts_replaced=checked.accounts_change is not None,
                  key_adopted=adopted)
    return RestoreResult(checked.snapshot_ids, aside, str(manifest.get("created_at") or ""),
                         checked.accounts_change is not None, adopted)


def _rebuild_summaries(staging: Path, snapshot_ids: list[str]) -> None:
    """Each snapshot's summary made from the snapshot itself (an archive's copy is not used)."""
    for snapshot_id in snapshot_ids:
        try:
            path = summaries.ensure_summary(staging, snapshot_id)
        except Exception as exc:  # a snapshot that passed the checks but cannot be summed up
            raise BackupRefused([("backup.problem.snapshot_unreadable",
                                  {"name": f"snapshots/{snapshot_id}.duckdb",
                                   "reason": _first_line(exc)[:200]})]) from exc
        os.chmod(path, 0o600)
    if (staging / "summaries").is_dir():
        os.chmod(staging / "summaries", 0o700)


def _stage_auth(data_dir: Path, staging: Path, checked: _Checked,
                signer: bytes | None) -> str | None:
    """The users file to restore (the archive's accounts with this machine's cookie key, or a
    new key on a new machine) and this machine's backup key, which no archive replaces. A new
    machine keeps the key that verified the archive. Returns that key's id when adopted."""
    current, cookie = _current_users(data_dir)
    auth_dir = staging / "auth"
    for name in ("backup.key", "backup.key.unshown"):
        (auth_dir / name).unlink(missing_ok=True)
    if checked.accounts is not None or current is not None or (data_dir / USERS).exists():
        from .auth import COOKIE_NAME, DEFAULT_COOKIE_EXPIRY_DAYS

        cookie = cookie or {"name": COOKIE_NAME, "key": secrets.token_hex(32),
                            "expiry_days": DEFAULT_COOKIE_EXPIRY_DAYS}
        accounts = checked.accounts if checked.accounts is not None else {}
        text = yaml.safe_dump({"cookie": cookie, "credentials": {"usernames": accounts}},
                              allow_unicode=True, sort_keys=True)
        _private_dir(auth_dir)
        _write_private(staging / USERS, text.encode("utf-8"))
    adopted = None
    own = data_dir / KEY_FILE
    if own.exists():
        _private_dir(auth_dir)
        shutil.copyfile(own, staging / KEY_FILE)
        os.chmod(staging / KEY_FILE, 0o600)
        if (data_dir / _KEY_UNSHOWN).exists():
            _write_private(staging / _KEY_UNSHOWN, b"")
    elif signer is not None:
        _private_dir(auth_dir)
        _write_private(staging / KEY_FILE, (format_key(signer) + "\n").encode("ascii"))
        adopted = key_id(signer)
    return adopted


def _swap_in(data_dir: Path, staging: Path) -> Path | None:
    """Move the managed items aside, then the staged ones into place; undo on any failure."""
    present = [name for name in _MANAGED if (data_dir / name).exists()]
    aside = None
    if present:
        _checkpoint(data_dir)
        aside = data_dir / f"{ASIDE_PREFIX}{now_local():%Y%m%d-%H%M%S}"
        while aside.exists():
            aside = aside.with_name(aside.name + "-" + secrets.token_hex(2))
        aside.mkdir(mode=0o700)
    moved_aside: list[str] = []
    moved_in: list[str] = []
    try:
        for name in present:
            (aside / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(data_dir / name, aside / name)
            moved_aside.append(name)
        for child in sorted(staging.iterdir()):
            os.replace(child, data_dir / child.name)
            moved_in.append(child.name)
        snapshots.fsync(data_dir)
    except BaseException:
        for name in moved_in:
            target = data_dir / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        for name in moved_aside:
            os.replace(aside / name, data_dir / name)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        raise
    return aside


def _checkpoint(data_dir: Path) -> None:
    """Fold app.db's WAL into the file, so the copy moved aside is whole on its own."""
    if not records.db_path(data_dir).exists():
        return
    try:
        con = sqlite3.connect(records.db_path(data_dir), timeout=records.BUSY_TIMEOUT_MS / 1000)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    except sqlite3.Error:
        pass  # the -wal file moves aside with it anyway


def _audit_quietly(data_dir: Path, actor: str | None, action: str, **detail: object) -> None:
    """Audit a refusal without letting a broken app.db hide the refusal itself."""
    try:
        records.audit(data_dir, actor, action, **detail)
    except (sqlite3.Error, records.RecordsBusy):
        pass


def asides(data_dir: Path | str) -> list[Path]:
    """Folders holding the data as it was before each restore, newest first."""
    folder = Path(data_dir)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and p.name.startswith(ASIDE_PREFIX)),
                  reverse=True)
