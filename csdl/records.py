"""App records: the only writable store, `<data>/app.db` (SQLite in WAL mode).

SQLite because the CLI and the server may both write: it is transactional across processes.
Each write is one short transaction; a busy database is waited on (busy_timeout) before failing.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .timeutil import now_local

BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    detail TEXT
);
"""


def db_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / "app.db"


@contextmanager
def connect(data_dir: Path | str) -> Iterator[sqlite3.Connection]:
    """A connection in a transaction: committed on success, rolled back on error."""
    path = db_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        con.executescript(_SCHEMA)
        with con:
            yield con
    finally:
        con.close()


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
