"""Which schools the current caller may read, checked where data is read (not only in the UI).

The app sets the scope at the start of every script run from the signed-in account
(`ui.apply_scope`); `queries.run` and the library entry points that cache or read app records
call `check` before anything is read or looked up in a cache. Unset (None) means every school:
the library as the CLI and tests use it. Scripts run in a fresh thread per run, and a context
variable set in one run is not seen by another session.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterable, Iterator

_ALLOWED: ContextVar[frozenset[str] | None] = ContextVar("csdl_allowed_schools", default=None)

# Questions that hold no school's rows and may run under any scope (ids only, to resolve it).
SCHOOL_FREE = frozenset({"school_ids"})


class ScopeError(Exception):
    """A school outside the caller's scope was asked for; nothing was read."""

    key = "scope.refused"

    def __init__(self, school_id: object):
        super().__init__(f"school {school_id!r} is outside this account's schools")
        self.school_id = school_id
        self.params: dict[str, object] = {}


def current() -> frozenset[str] | None:
    return _ALLOWED.get()


def set_allowed(schools: Iterable[str] | None) -> None:
    """Set the scope of this run (None: every school)."""
    _ALLOWED.set(None if schools is None else frozenset(schools))


@contextmanager
def restricted(schools: Iterable[str] | None) -> Iterator[None]:
    token = _ALLOWED.set(None if schools is None else frozenset(schools))
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def allows(school_id: object) -> bool:
    allowed = _ALLOWED.get()
    return allowed is None or (isinstance(school_id, str) and school_id in allowed)


def check(school_id: object) -> None:
    """Raise ScopeError unless the scope holds this school."""
    if not allows(school_id):
        raise ScopeError(school_id)


def check_all(school_ids: Iterable[object]) -> None:
    for school_id in school_ids:
        check(school_id)


def check_query(name: str, used: set[str], params: dict[str, object]) -> None:
    """A named question may run only for schools in scope: it must bind `$school_id` or the
    list `$school_ids`, unless it is one of SCHOOL_FREE."""
    if _ALLOWED.get() is None or name in SCHOOL_FREE:
        return
    if "school_id" not in used and "school_ids" not in used:
        raise ScopeError(None)
    if "school_id" in used:
        check(params.get("school_id"))
    if "school_ids" in used:
        ids = params.get("school_ids")
        if not isinstance(ids, (list, tuple)):
            raise ScopeError(ids)
        check_all(ids)
