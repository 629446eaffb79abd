"""Named questions: one `queries/<name>.sql` each, parameters bound (`$school_id`), never formatted.

`queries/_shared.sql` defines table macros (TEMP, so they work on read-only snapshots) that
several questions share, such as `entry_cells(school_id, period)`.
"""
from __future__ import annotations

import functools
import re

import duckdb
import pandas as pd

from . import scope
from .config import REPO_ROOT

QUERY_DIR = REPO_ROOT / "queries"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PARAM_RE = re.compile(r"\$([a-z_][a-z0-9_]*)")


class QueryError(Exception):
    pass


@functools.cache
def sql_text(name: str) -> str:
    if not _NAME_RE.match(name):
        raise QueryError(f"bad query name {name!r}")
    path = QUERY_DIR / f"{name}.sql"
    if not path.exists():
        raise QueryError(f"no query named {name!r} in {QUERY_DIR}")
    return path.read_text(encoding="utf-8")


def used_params(name: str) -> set[str]:
    return set(_PARAM_RE.findall(sql_text(name)))


def check_scope(name: str, **params: object) -> None:
    """The scope check of `run`, for callers that look in a cache first."""
    scope.check_query(name, used_params(name), params)


def names() -> list[str]:
    return sorted(p.stem for p in QUERY_DIR.glob("*.sql") if not p.stem.startswith("_"))


def prepare(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Define the shared macros on a connection (idempotent), and `progress_units_stored`:
    the progress summary written with the snapshot, or the same figures computed when the
    snapshot predates it."""
    con.execute((QUERY_DIR / "_shared.sql").read_text(encoding="utf-8"))
    stored = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                         "'main' AND table_name = 'progress_summary'").fetchone()[0]
    if stored:
        con.execute("CREATE OR REPLACE TEMP VIEW progress_units_stored AS "
                    "SELECT * EXCLUDE (snapshot_id, taken_at, school_year) "
                    "FROM main.progress_summary")
    else:
        periods = " UNION ALL ".join(f"SELECT * FROM progress_units_all('{p}')"
                                     for p in ("GK1", "CK1", "GK2", "CN"))
        con.execute(f"CREATE OR REPLACE TEMP VIEW progress_units_stored AS {periods}")
    return con


def run(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> pd.DataFrame:
    """Run a named question with bound parameters; only the parameters it uses are passed.
    The school it asks for must be in the caller's scope (scope.py), checked before it runs."""
    sql = sql_text(name)
    used = set(_PARAM_RE.findall(sql))
    scope.check_query(name, used, params)
    missing = used - set(params)
    if missing:
        raise QueryError(f"query {name} needs parameters {sorted(missing)}")
    return con.execute(sql, {k: v for k, v in params.items() if k in used}).df()
