"""App records: the only writable store, `<data>/app.db` (SQLite in WAL mode).

SQLite because the CLI and the server may both write: it is transactional across processes.
Each write is one short transaction; a busy database is waited on (busy_timeout) before failing.
"""
from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .timeutil import now_local

BUSY_TIMEOUT_MS = 10_000


class RecordsBusy(Exception):
    """Another process held app.db for longer than the busy timeout: the write was rolled back
    whole and may simply be tried again. `key` is the i18n message."""

    key = "records.busy"

    def __init__(self, seconds: float):
        super().__init__(f"app.db is busy (locked by another writer for more than {seconds:g} s); "
                         "nothing was written, try again")
        self.seconds = seconds

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    detail TEXT
);
-- Per-account preferences (the language): they follow the account to any browser.
CREATE TABLE IF NOT EXISTS user_setting (
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (username, name)
);
"""


def db_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / "app.db"


@contextmanager
def connect(data_dir: Path | str) -> Iterator[sqlite3.Connection]:
    """A connection in a transaction: committed on success, rolled back on error."""
    path = db_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 (children's data); SQLite gives its -wal and -shm files the same mode.
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))
    timeout_ms = BUSY_TIMEOUT_MS  # read at call time, so a test may shorten it
    con = sqlite3.connect(path, timeout=timeout_ms / 1000)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA busy_timeout={timeout_ms}")
        con.executescript(_SCHEMA)
        with con:
            yield con
    except sqlite3.OperationalError as exc:
        # SQLite has already waited and retried for the busy timeout; `with con` rolled back.
        if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            raise RecordsBusy(timeout_ms / 1000) from exc
        raise
    finally:
        con.close()


def user_setting(data_dir: Path | str, username: str, name: str) -> str | None:
    with connect(data_dir) as con:
        row = con.execute("SELECT value FROM user_setting WHERE username = ? AND name = ?",
                          (username, name)).fetchone()
    return row[0] if row else None


def set_user_setting(data_dir: Path | str, username: str, name: str, value: str) -> None:
    with connect(data_dir) as con:
        con.execute("INSERT INTO user_setting (username, name, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (username, name) DO UPDATE SET value = excluded.value",
                    (username, name, value))


def audit(data_dir: Path | str, actor: str | None, action: str, **detail: object) -> None:
    with connect(data_dir) as con:
        con.execute("INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                    (now_local().isoformat(sep=" "), actor, action,
                     json.dumps(detail, ensure_ascii=False, default=str)))


def audit_entries(data_dir: Path | str, limit: int = 200) -> list[sqlite3.Row]:
    if not db_path(data_dir).exists():
        return []
    with connect(data_dir) as con:
        con.row_factory = sqlite3.Row
        return con.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
