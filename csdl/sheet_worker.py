"""Workbooks (.xls, .xlsx) are opened by calamine in a separate worker process.

calamine (Rust) trusts sizes written inside a file: a damaged .xls can make it ask for tens of
gigabytes and abort. A Rust abort is not an exception — in the server's own process it would end
the Streamlit server and every user's session with it (found by tests/test_hostile.py). So the
parsing runs in a long-lived child process under an address-space limit: when the child dies or
takes too long, that one file is reported unreadable and a fresh child opens the next one.

Run as `python -m csdl.sheet_worker` by `read_workbook`; it imports python_calamine only.
"""
from __future__ import annotations

import io
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MEMORY_LIMIT = 2 << 30  # bytes of address space for the child: far above any school's file
TIMEOUT_S = 60.0  # a school's workbook opens in well under a second
_HEADER = 8  # every message is its length (8 bytes, big-endian), then the bytes


class WorkbookUnreadable(Exception):
    """calamine could not open the workbook; `reason` says why, in calamine's words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class RawSheet:
    name: str
    rows: list[list[object]]
    merged: list[tuple[int, int, int, int]]  # r0, c0, r1, c1 (0-based, inclusive)


_PACKAGE_PARENT = Path(__file__).resolve().parent.parent  # where `-m csdl.…` resolves
_lock = threading.Lock()  # one file at a time through the one worker
_worker: subprocess.Popen | None = None


def read_workbook(data: bytes) -> list[RawSheet]:
    """Every worksheet of a workbook as raw values (calamine's Python types)."""
    with _lock:
        try:
            reply = _exchange(data)
        except (OSError, EOFError):
            # The worker died: this file, or something else killed it. A second fresh worker
            # tells them apart (a damaged file kills it again).
            try:
                reply = _exchange(data)
            except (OSError, EOFError):
                raise WorkbookUnreadable(
                    "tệp hỏng làm trình đọc dừng / damaged file stopped the reader") from None
        except TimeoutError:
            raise WorkbookUnreadable("đọc quá lâu / took too long to read") from None
    status, payload = pickle.loads(reply)  # from our own child process
    if status != "ok":
        raise WorkbookUnreadable(payload)
    return [RawSheet(*sheet) for sheet in payload]


def _exchange(data: bytes) -> bytes:
    """Send one workbook to the worker (started when needed) and wait for its reply."""
    global _worker
    if _worker is None or _worker.poll() is not None:
        _worker = subprocess.Popen(
            [sys.executable, "-m", __name__], cwd=_PACKAGE_PARENT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        _send(_worker.stdin, data)
        return _receive(_worker.stdout, time.monotonic() + TIMEOUT_S)
    except BaseException:
        _worker.kill()
        _worker.wait()
        _worker = None
        raise


def _send(pipe, data: bytes) -> None:
    pipe.write(len(data).to_bytes(_HEADER, "big") + data)
    pipe.flush()


def _receive(pipe, deadline: float) -> bytes:
    size = int.from_bytes(_read_exact(pipe, _HEADER, deadline), "big")
    return _read_exact(pipe, size, deadline)


def _read_exact(pipe, size: int, deadline: float) -> bytes:
    fd, chunks, left = pipe.fileno(), [], size
    while left:
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# --- the child -----------------------------------------------------------------------------------

def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # not on Windows: the separate process still keeps the server alive
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _parse(data: bytes, calamine) -> list[tuple]:
    book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets = []
    for meta in book.sheets_metadata:
        if meta.typ != calamine.SheetTypeEnum.WorkSheet:
            continue
        raw = book.get_sheet_by_name(meta.name)
        merged = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in raw.merged_cell_ranges or ()]
        sheets.append((meta.name, raw.to_python(skip_empty_area=False), merged))
    return sheets


def _serve() -> None:
    _limit_memory()
    import python_calamine as calamine

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = requests.read(_HEADER)
        if len(header) < _HEADER:
            return  # the server closed the pipe: it is shutting down
        data = requests.read(int.from_bytes(header, "big"))
        try:
            reply = ("ok", _parse(data, calamine))
        except calamine.CalamineError as exc:
            reply = ("error", str(exc))
        except Exception as exc:  # noqa: BLE001 - whatever a damaged file makes it raise
            reply = ("error", f"{type(exc).__name__}: {exc}")
        except BaseException as exc:
            # A Rust panic (e.g. "range end index 64 out of range") arrives as pyo3's
            # PanicException, a BaseException: here it only means a damaged file.
            if type(exc).__name__ != "PanicException":
                raise
            reply = ("error", str(exc).splitlines()[0] if str(exc) else "panic")
        out = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        replies.write(len(out).to_bytes(_HEADER, "big") + out)
        replies.flush()


if __name__ == "__main__":
    _serve()
