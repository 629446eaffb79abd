"""Plain words for failures of the machine rather than of the data: a full disk, a read-only
folder. The snapshot store already removes its temporary file on any failure; these say why."""
from __future__ import annotations

import errno

import duckdb

from .i18n import t

# What a failed write may raise: the OS itself, or DuckDB wrapping it ("IO Error: … No space").
WRITE_ERRORS: tuple[type[BaseException], ...] = (OSError, duckdb.Error)
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}


def write_failure(exc: BaseException, lang: str = "vi") -> str:
    """Why a snapshot or an archive could not be written, for the person who tried."""
    code = exc.errno if isinstance(exc, OSError) else None
    text = str(exc)
    if code in _DISK_FULL or "No space left on device" in text:
        return t("failure.disk_full", lang)
    if code in _NOT_ALLOWED or "Read-only file system" in text or "Permission denied" in text:
        return t("failure.not_allowed", lang)
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else text
    return t("failure.other", lang, reason=(reason.splitlines() or [type(exc).__name__])[0])
