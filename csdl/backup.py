"""Backups of the data folder: one dated .zip, and a restore that checks it whole first.

An archive holds the snapshots, their summaries, a consistent copy of app.db (made with SQLite's
backup API, never a file copy while the server may be writing), the users file, the settings,
and `manifest.json` (every member with its size and SHA-256, the app version, when and by whom).

`restore` trusts nothing in the archive: member names are checked before anything is extracted
(no absolute paths, no `..`, no links, only the files a backup writes), every hash must match,
every snapshot must open read-only, app.db must pass `PRAGMA integrity_check`. Only then is the
current data moved aside into `before-restore-<time>/` inside the data folder and the archive's
files moved into place; any failure on the way moves everything back.
"""
from __future__ import annotations

import hashlib
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
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import duckdb
import yaml

from . import records, snapshots, summaries
from .config import REPO_ROOT
from .settings import SETTINGS_FILE
from .timeutil import now_local

ARCHIVE_FORMAT = 1
MANIFEST = "manifest.json"
APP_DB = "app.db"
USERS = "auth/users.yaml"
ASIDE_PREFIX = "before-restore-"
_CHUNK = 1 << 20
_MANIFEST_MAX = 16 << 20  # a manifest lists files, a few hundred bytes each
# The only member names a backup writes; anything else in an archive is refused.
_SNAPSHOT_MEMBER = re.compile(r"^snapshots/([0-9]{8}-[0-9]{6}-[0-9a-f]{6})\.duckdb$")
_SUMMARY_MEMBER = re.compile(r"^summaries/([0-9]{8}-[0-9]{6}-[0-9a-f]{6})\.parquet$")
_SINGLE_MEMBERS = (APP_DB, USERS, SETTINGS_FILE)
# What a restore replaces: the rest of the data folder (backups, demo samples) is left alone.
_MANAGED = ("snapshots", "summaries", APP_DB, APP_DB + "-wal", APP_DB + "-shm", "auth",
            SETTINGS_FILE)


class BackupRefused(Exception):
    """The archive cannot be restored; nothing was changed. `problems` are (i18n key, params)."""

    def __init__(self, problems: list[tuple[str, dict]]):
        super().__init__("; ".join(f"{key} {params}" for key, params in problems))
        self.problems = problems


@dataclass
class BackupResult:
    path: Path
    files: int
    snapshot_ids: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # damaged snapshots left out
    sha256: str = ""


@dataclass
class RestoreResult:
    snapshot_ids: list[str]
    aside: Path | None  # where the previous data was moved; None when there was none
    created_at: str


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


# --- backup ------------------------------------------------------------------------------------

def create_backup(data_dir: Path | str, out: Path | str | None = None,
                  actor: str | None = None) -> BackupResult:
    """Write the archive (atomically: a temporary file renamed into place) and audit it."""
    data_dir = Path(data_dir)
    now = now_local()
    out = Path(out) if out else backups_dir(data_dir) / default_archive_name(now)
    out.parent.mkdir(parents=True, exist_ok=True)
    good, bad = snapshots.list_snapshots(data_dir)
    tmp = out.with_name(f".tmp-{out.name}-{os.getpid()}-{secrets.token_hex(3)}")
    listed: list[dict] = []
    try:
        with tempfile.TemporaryDirectory(prefix=".backup-", dir=out.parent) as staging, \
                zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED,
                                compresslevel=6) as archive:
            for info in good:
                listed.append(_add_file(archive, info.path, f"snapshots/{info.path.name}"))
                summary = summaries.summary_path(data_dir, info.snapshot_id)
                if summary.is_file():
                    listed.append(_add_file(archive, summary, f"summaries/{summary.name}"))
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
            archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        snapshots.fsync(tmp)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    digest = snapshots.file_sha256(out)
    records.audit(data_dir, actor, "backup", archive=out.name, files=len(listed),
                  snapshots=len(good), skipped=[p.name for p, _ in bad], sha256=digest)
    return BackupResult(out, len(listed), [s.snapshot_id for s in good],
                        [(p.name, r) for p, r in bad], digest)


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


# --- checking an archive -------------------------------------------------------------------------

def _member_name_problem(info: zipfile.ZipInfo) -> tuple[str, dict] | None:
    """Why a member name may not be extracted, or None when it is one a backup writes."""
    name = info.filename
    pure = PurePosixPath(name)
    if (not name or "\\" in name or "\x00" in name or pure.is_absolute() or ".." in pure.parts
            or re.match(r"^[A-Za-z]:", name)):
        return ("backup.problem.unsafe_name", {"name": name})
    if stat.S_ISLNK(info.external_attr >> 16) or info.is_dir():
        return ("backup.problem.unsafe_name", {"name": name})
    if name != MANIFEST and name not in _SINGLE_MEMBERS and not (
            _SNAPSHOT_MEMBER.match(name) or _SUMMARY_MEMBER.match(name)):
        return ("backup.problem.unexpected_member", {"name": name})
    return None


def _read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        with archive.open(MANIFEST) as fh:
            manifest = json.loads(fh.read(_MANIFEST_MAX).decode("utf-8"))
    except KeyError:
        raise BackupRefused([("backup.problem.no_manifest", {})]) from None
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error, OSError,
            EOFError) as exc:
        raise BackupRefused([("backup.problem.bad_manifest", {"reason": str(exc)})]) from exc
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if (not isinstance(files, list) or manifest.get("format") != ARCHIVE_FORMAT
            or not all(isinstance(f, dict) and isinstance(f.get("path"), str)
                       and isinstance(f.get("sha256"), str) and isinstance(f.get("size"), int)
                       for f in files)):
        raise BackupRefused([("backup.problem.bad_manifest", {"reason": "format"})])
    return manifest


def _extract_checked(archive: zipfile.ZipFile, manifest: dict, staging: Path) -> None:
    """Extract every listed member into `staging`, each hash and size checked as it streams
    (a member longer than its manifest size is cut off and refused: no zip bombs)."""
    problems: list[tuple[str, dict]] = []
    for entry in manifest["files"]:
        name, expected_size = entry["path"], entry["size"]
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        try:
            with archive.open(name) as member, target.open("wb") as out:
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    if size > expected_size:
                        break
                    digest.update(chunk)
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            # A damaged member fails zipfile's CRC or inflate: the same verdict as a bad hash.
            problems.append(("backup.problem.hash_mismatch", {"name": name, "reason": str(exc)}))
            continue
        if size != expected_size or digest.hexdigest() != entry["sha256"]:
            problems.append(("backup.problem.hash_mismatch", {"name": name, "reason": ""}))
    if problems:
        raise BackupRefused(problems)


def _check_contents(staging: Path, manifest: dict) -> list[str]:
    """Snapshots open read-only and name themselves; app.db is whole; the users file parses."""
    problems: list[tuple[str, dict]] = []
    snapshot_ids = []
    for entry in manifest["files"]:
        match = _SNAPSHOT_MEMBER.match(entry["path"])
        if not match:
            continue
        try:
            con = duckdb.connect(str(staging / entry["path"]), read_only=True)
            try:
                row = con.execute(f"SELECT {', '.join(snapshots.INFO_FIELDS)} "
                                  "FROM snapshot").fetchone()
            finally:
                con.close()
            if row is None or row[0] != match.group(1):
                raise ValueError("snapshot_id")
            snapshot_ids.append(match.group(1))
            # The hash was checked on extraction: it becomes the snapshot's recorded checksum,
            # and the row its recorded info (listing then need not open the file).
            snapshots.write_info(staging / entry["path"], row)
            snapshots.checksum_path(staging / entry["path"]).write_text(
                entry["sha256"] + "\n", encoding="ascii")
        except (duckdb.Error, ValueError) as exc:
            problems.append(("backup.problem.snapshot_unreadable",
                             {"name": entry["path"], "reason": str(exc).splitlines()[0]}))
    db = staging / APP_DB
    if db.exists():
        try:
            # Read-write on the staged copy: a read-only open of a WAL database leaves
            # -wal/-shm files behind, a normal close removes them. The check writes nothing.
            con = sqlite3.connect(db)
            try:
                verdict = con.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                con.close()
            if verdict != "ok":
                raise sqlite3.DatabaseError(verdict)
        except sqlite3.Error as exc:
            problems.append(("backup.problem.app_db_damaged", {"reason": str(exc)}))
    users = staging / USERS
    if users.exists():
        try:
            loaded = yaml.safe_load(users.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict) or not isinstance(loaded.get("credentials"), dict):
                raise ValueError("credentials")
        except (yaml.YAMLError, ValueError, UnicodeDecodeError) as exc:
            problems.append(("backup.problem.users_unreadable", {"reason": str(exc)}))
    if problems:
        raise BackupRefused(problems)
    return snapshot_ids


def _open_checked(archive_path: Path) -> tuple[zipfile.ZipFile, dict]:
    """The archive opened, its member names and manifest checked (nothing extracted yet)."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise BackupRefused([("backup.problem.not_archive", {"reason": str(exc)})]) from exc
    try:
        infos = archive.infolist()
        problems = [p for p in map(_member_name_problem, infos) if p]
        names = [i.filename for i in infos]
        problems += [("backup.problem.unsafe_name", {"name": n})
                     for n in sorted({n for n in names if names.count(n) > 1})]
        if problems:
            raise BackupRefused(problems)
        manifest = _read_manifest(archive)
        listed = [f["path"] for f in manifest["files"]]
        members = set(names) - {MANIFEST}
        problems = [("backup.problem.missing_member", {"name": n}) for n in listed
                    if n not in members]
        problems += [("backup.problem.not_listed", {"name": n}) for n in sorted(members)
                     if n not in listed]
        problems += [("backup.problem.unexpected_member", {"name": n})
                     for n in listed if listed.count(n) > 1 or n == MANIFEST]
        if problems:
            raise BackupRefused(problems)
        return archive, manifest
    except BaseException:
        archive.close()
        raise


def verify(archive_path: Path | str) -> dict:
    """Check an archive completely (in a throw-away folder) and return its manifest."""
    archive, manifest = _open_checked(Path(archive_path))
    with archive, tempfile.TemporaryDirectory(prefix=".verify-") as staging:
        _extract_checked(archive, manifest, Path(staging))
        _check_contents(Path(staging), manifest)
    return manifest


# --- restore -----------------------------------------------------------------------------------

def restore(data_dir: Path | str, archive_path: Path | str,
            actor: str | None = None) -> RestoreResult:
    """Check the archive, move the current data aside, put the archive's files in place.

    Raises BackupRefused (audited, nothing changed) when the archive fails any check.
    """
    data_dir = Path(data_dir)
    archive_path = Path(archive_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / f".restore-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        try:
            archive, manifest = _open_checked(archive_path)
            with archive:
                staging.mkdir()
                _extract_checked(archive, manifest, staging)
            snapshot_ids = _check_contents(staging, manifest)
        except BackupRefused as refused:
            _audit_quietly(data_dir, actor, "restore_refused", archive=archive_path.name,
                           problems=[key for key, _ in refused.problems])
            raise
        aside = _swap_in(data_dir, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    users = data_dir / USERS
    if users.exists():  # the users file and its folder stay private, as auth.py writes them
        os.chmod(users.parent, 0o700)
        os.chmod(users, 0o600)
    records.audit(data_dir, actor, "restore", archive=archive_path.name,
                  created_at=manifest.get("created_at"), snapshots=len(snapshot_ids),
                  aside=aside.name if aside else None)
    return RestoreResult(snapshot_ids, aside, str(manifest.get("created_at") or ""))


def _swap_in(data_dir: Path, staging: Path) -> Path | None:
    """Move the managed items aside, then the staged ones into place; undo on any failure."""
    present = [name for name in _MANAGED if (data_dir / name).exists()]
    aside = None
    if present:
        _checkpoint(data_dir)
        aside = data_dir / f"{ASIDE_PREFIX}{now_local():%Y%m%d-%H%M%S}"
        while aside.exists():
            aside = aside.with_name(aside.name + "-" + secrets.token_hex(2))
        aside.mkdir()
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
