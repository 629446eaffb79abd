"""Every uploaded file (.xls, .xlsx, .csv) is parsed in a separate worker process, under limits.

calamine (Rust) trusts sizes written inside a file: a damaged .xls can make it ask for tens of
gigabytes and abort. A Rust abort is not an exception — in the server's own process it would end
the Streamlit server and every user's session with it (found by tests/test_hostile.py). So the
parsing runs in a long-lived child process under an address-space limit: when the child dies or
takes too long, that one file is reported unreadable and a fresh child opens the next one.

The child also keeps every file within the limits below and returns only what the readers use:
each row up to its last filled cell, no blank rows after the last filled one, merges inside the
used range. A file beyond a limit is refused as `SheetRefused` naming the sheet, row and column
(a problem code of csdl.i18n), so a small file cannot make the server hold gigabytes: a cell at
XFD3000 or a 100 MiB text never leaves the child. CSV files are decoded and split here too.

Run as `python -m csdl.sheet_worker <parent pid>` by `read_workbook` / `read_csv`; it imports
python_calamine and csdl.text only. It ends with its parent: Linux's parent-death signal
(prctl PR_SET_PDEATHSIG), a thread watching the parent's pid, and end of input on stdin.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import pickle
import queue
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

MEMORY_LIMIT = 2 << 30  # bytes of address space for the child: far above any school's file
TIMEOUT_S = 60.0  # a school's workbook opens in well under a second
_HEADER = 8  # every message is its length (8 bytes, big-endian), then the bytes

# --- limits: far above a school's files (a 16,000-row, 72-column staff export is 17 MB and
# 1.2 million cells), far below what would hurt the server -------------------------------------
MAX_FILE_BYTES = 32 << 20  # as uploaded
MAX_UNZIPPED_BYTES = 512 << 20  # an .xlsx's parts as its archive lists them (a zip bomb)
MAX_SHEETS = 64  # a grade's class summary has one a class; the student list 17
MAX_ROWS = 100_000  # per sheet, up to the last row holding a value
MAX_COLUMNS = 256  # per sheet, up to its last value: .xls's own limit (.xlsx allows 16,384)
MAX_CELLS = 3_000_000  # per file: every row up to its last filled cell
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_TEXT_CHARS = 64_000_000  # per file, all cells together
MAX_MERGES = 100_000  # per sheet, inside the used range (one a row is still far below)
# calamine holds a sheet as one grid from its first to its last cell (empty ones included,
# ~32 bytes each; it aborts past ~60 million under MEMORY_LIMIT): a grid larger than this is
# refused, naming its last cell, before it is walked.
MAX_GRID_CELLS = 50_000_000
CSV_MAX_CELL_LINES = 20  # a CSV cell over this many lines means a quote that closed too late
SNIFF_LINES = 40  # lines that decide a CSV's delimiter (title lines have one field)

# Problem codes the child refuses a file with (each has a message in csdl.i18n).
REFUSAL_CODES = ("file_too_large", "file_unzipped_too_large", "too_many_sheets",
                 "too_many_rows", "too_many_columns", "sheet_too_large", "too_many_cells",
                 "too_much_text", "cell_too_long", "too_many_merges", "csv_quote_unclosed",
                 "csv_quote_stray", "csv_malformed", "not_spreadsheet")


class WorkbookUnreadable(Exception):
    """calamine could not open the workbook; `reason` says why, in calamine's words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SheetRefused(Exception):
    """The file breaks a limit or cannot be split into cells: `code` is a problem code, with
    where (sheet name or None for a CSV, 0-based row and column, each None when not known)."""

    def __init__(self, code: str, sheet: str | None = None, row0: int | None = None,
                 col: int | None = None, **params: object):
        super().__init__(code, sheet, row0, col, params)
        self.code, self.sheet, self.row0, self.col, self.params = code, sheet, row0, col, params


@dataclass
class RawSheet:
    name: str
    rows: list[list[object]]  # text NFC-normalised; each row up to its last filled cell
    merged: list[tuple[int, int, int, int]]  # r0, c0, r1, c1 (0-based, inclusive)


_PACKAGE_PARENT = Path(__file__).resolve().parent.parent  # where `-m csdl.…` resolves
_lock = threading.Lock()  # one file at a time through the one worker
_worker: subprocess.Popen | None = None
_log = None  # the worker's stderr (a temporary file): what it says as it dies
_OUT_OF_MEMORY = re.compile(rb"memory allocation of (\d+) bytes failed")
_WORKBOOK, _CSV = b"W", b"C"


def read_workbook(data: bytes) -> list[RawSheet]:
    """Every worksheet of a workbook as raw values (calamine's Python types, text NFC)."""
    return _read(_WORKBOOK, data)


def read_csv(data: bytes) -> list[RawSheet]:
    """A CSV file as one sheet named '' (UTF-8 with or without BOM, UTF-16, Windows-1258)."""
    return _read(_CSV, data)


def _read(kind: bytes, data: bytes) -> list[RawSheet]:
    if len(data) > MAX_FILE_BYTES:  # refused before it is copied to the worker
        raise SheetRefused("file_too_large", size_mb=mib(len(data)),
                           limit_mb=mib(MAX_FILE_BYTES))
    with _lock:
        try:
            reply = _exchange(kind, data)
        except (OSError, EOFError):
            # The worker died: this file, or something else killed it. A second fresh worker
            # tells them apart (a damaged file kills it again), unless it said why it died.
            try:
                _raise_last_words()
                reply = _exchange(kind, data)
            except (OSError, EOFError):
                _raise_last_words()
                raise WorkbookUnreadable(
                    "tệp hỏng làm trình đọc dừng / damaged file stopped the reader") from None
        except TimeoutError:
            raise WorkbookUnreadable("đọc quá lâu / took too long to read") from None
    status, *payload = pickle.loads(reply)  # from our own child process
    if status == "refused":
        code, sheet, row0, col, params = payload
        raise SheetRefused(code, sheet, row0, col, **params)
    if status != "ok":
        raise WorkbookUnreadable(payload[0])
    return [RawSheet(*sheet) for sheet in payload[0]]


def mib(size: int) -> str:
    """MiB for a message, rounded up: a file just over the limit does not show the limit."""
    return str(-(-size // (1 << 20)))


def count(n: int) -> str:
    """A count for a message in both languages: 100 000 (a narrow space groups digits)."""
    return f"{n:,}".replace(",", "\u202f")


def _raise_last_words() -> None:
    """calamine asking for more memory than the worker may have (a far cell, a damaged size)
    is the file's doing: say how much, rather than trying it again."""
    try:
        _log.seek(0)
        found = _OUT_OF_MEMORY.search(_log.read(1 << 16))
    except (AttributeError, OSError, ValueError):
        return
    if found:
        gib = f"{int(found.group(1)) / (1 << 30):.1f}"
        raise WorkbookUnreadable(f"tệp đòi {gib.replace('.', ',')} GB bộ nhớ / "
                                 f"the file asks for {gib} GB of memory") from None


def _exchange(kind: bytes, data: bytes) -> bytes:
    """Send one file to the worker (started when needed) and wait for its reply."""
    global _worker, _log
    if _worker is None or _worker.poll() is not None:
        if _log is not None:
            _log.close()
        try:
            _log = tempfile.TemporaryFile()
        except OSError:  # e.g. a full disk: the worker's last words are not kept
            _log = None
        _worker = _start_worker(_log)
    if _log is not None:
        _log.seek(0)  # the worker writes at the same offset: only this file's words are kept
        _log.truncate()
    try:
        _send(_worker.stdin, kind, data)
        return _receive(_worker.stdout, time.monotonic() + TIMEOUT_S)
    except BaseException:
        _worker.kill()
        _worker.wait()
        _worker = None
        raise


def _start_worker(log) -> subprocess.Popen:
    """Start the worker from a thread that lives exactly as long as the worker: Linux sends the
    parent-death signal when the *thread* that started a child ends, and Streamlit runs each
    script run in a thread of its own, which would kill the worker after every run."""
    started: queue.Queue = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", __name__, str(os.getpid())], cwd=_PACKAGE_PARENT,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL if log is None else log,
                env={**os.environ, "RUST_BACKTRACE": "0"})  # a panic's one line, no trace
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            started.put(exc)
            return
        started.put(proc)
        proc.wait()

    threading.Thread(target=run, name="sheet-worker", daemon=True).start()
    result = started.get()
    if isinstance(result, BaseException):
        raise result
    return result


def _send(pipe, *parts: bytes) -> None:
    pipe.write(sum(map(len, parts)).to_bytes(_HEADER, "big"))
    for part in parts:  # written one after the other: a 32 MB file is not copied again
        pipe.write(part)
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


def _die_with_parent(parent: int) -> None:
    """End when the server ends, even in the middle of a file: a killed server cannot close our
    stdin when a process it forked still holds the pipe, and calamine may hold the GIL."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.name != "posix" or not parent:
        return  # Windows: a venv's python.exe is a launcher between us; stdin's end suffices
    first = os.getppid()

    def gone() -> bool:
        if os.getppid() != first:
            return True  # reparented: the parent died
        try:
            os.kill(parent, 0)  # also when a launcher sits between us
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False

    if gone():
        os._exit(0)  # the parent died before the signal was armed

    def watch() -> None:  # elsewhere, and as a second guard
        while True:
            time.sleep(1.0)
            if gone():
                os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


class _Cells:
    """The file-wide budgets and the text cache of one request."""

    def __init__(self, nfc):
        self._nfc = nfc
        self._seen: dict[str, str] = {}  # raw text → its NFC text, one object per distinct text
        self.cells = 0
        self.text = 0

    def row(self, row: list, sheet: str | None, r: int, offset: int = 0,
            csv_cells: bool = False) -> list:
        """The row (its first cell in column `offset`) with its text normalised, cut after its
        last filled cell, within limits."""
        keep = max(MAX_COLUMNS - offset, 0)
        if len(row) > keep:
            tail = row[keep:]
            if tail.count("") != len(tail):  # "" is one object: counting it is quick
                for c, value in enumerate(tail, offset + keep):
                    if not _blank(value):
                        raise SheetRefused("too_many_columns", sheet, r, c,
                                           limit=count(MAX_COLUMNS))
            del row[keep:]
        seen = self._seen
        for c, value in enumerate(row):
            if value.__class__ is str and value:
                text = seen.get(value)
                if text is None:
                    if len(value) > MAX_CELL_CHARS:
                        raise SheetRefused("cell_too_long", sheet, r, offset + c,
                                           length=count(len(value)),
                                           limit=count(MAX_CELL_CHARS))
                    if csv_cells and ("\n" in value or "\r" in value) and (
                            value.count("\n") + value.count("\r") > CSV_MAX_CELL_LINES):
                        raise SheetRefused("csv_quote_unclosed", sheet, r, c, line=r + 1)
                    text = self._nfc(value)
                    seen[value] = text = seen.setdefault(text, text)
                self.text += len(text)
                row[c] = text
        while row and (row[-1] == "" or row[-1] is None):
            row.pop()
        if offset and row:  # padded only now: a far first column costs one short row
            row[:0] = [""] * offset
        self.cells += len(row)
        if self.cells > MAX_CELLS:
            raise SheetRefused("too_many_cells", sheet, r, None, limit=count(MAX_CELLS))
        if self.text > MAX_TEXT_CHARS:
            raise SheetRefused("too_much_text", sheet, r, None,
                               limit=count(MAX_TEXT_CHARS // 1_000_000))
        return row


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _collect(rows, sheet: str | None, cells: _Cells, offset: int = 0,
             csv_cells: bool = False) -> list[list]:
    """Rows up to the last one holding a value (blank rows in between kept, as [])."""
    out: list[list] = []
    for r, row in rows:
        row = cells.row(row, sheet, r, offset, csv_cells)
        if not row:
            continue  # kept only when a filled row follows: trailing blank rows cost nothing
        if r >= MAX_ROWS:
            raise SheetRefused("too_many_rows", sheet, r, None, limit=count(MAX_ROWS))
        out.extend([] for _ in range(r - len(out)))  # the blank rows before this one
        out.append(row)
    return out


def _used_merges(merges, rows: list[list], sheet: str) -> list[tuple[int, int, int, int]]:
    """Merges whose first cell lies in the used range, cut to it; each once."""
    height, width = len(rows), max((len(r) for r in rows), default=0)
    out: dict[tuple[int, int, int, int], None] = {}
    for (r0, c0), (r1, c1) in merges or ():
        if not (0 <= r0 < height and 0 <= c0 < width) or r1 < r0 or c1 < c0:
            continue  # outside the used range, or not a range: it covers no value
        cut = (r0, c0, min(r1, height - 1), min(c1, width - 1))
        if cut[2] > r0 or cut[3] > c0:  # one cell merged with itself changes nothing
            out[cut] = None
    if len(out) > MAX_MERGES:
        raise SheetRefused("too_many_merges", sheet, count=count(len(out)),
                           limit=count(MAX_MERGES))
    return list(out)


def _check_archive(data: bytes) -> None:
    """An .xlsx is a zip: refuse one whose parts, as listed, expand beyond the limit."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # calamine says what is wrong with it
    if size > MAX_UNZIPPED_BYTES:
        raise SheetRefused("file_unzipped_too_large", size_mb=mib(size),
                           limit_mb=mib(MAX_UNZIPPED_BYTES))


def _parse_workbook(data: bytes, calamine, cells: _Cells) -> list[tuple]:
    if data.startswith(b"PK"):
        _check_archive(data)
    book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    metas = [m for m in book.sheets_metadata if m.typ == calamine.SheetTypeEnum.WorkSheet]
    if len(metas) > MAX_SHEETS:
        raise SheetRefused("too_many_sheets", count=count(len(metas)), limit=count(MAX_SHEETS))
    sheets = []
    for meta in metas:
        raw = book.get_sheet_by_name(meta.name)
        start, end = raw.start, raw.end
        if start is None or end is None:
            sheets.append((meta.name, [], []))
            continue
        # iter_rows yields every row from the first (A1's) but only the columns from the
        # first used one: the grid walked is (last row + 1) × width.
        if (end[0] + 1) * raw.width > MAX_GRID_CELLS:
            raise SheetRefused("sheet_too_large", meta.name, end[0], end[1],
                               rows=count(end[0] + 1), columns=count(end[1] + 1),
                               limit=count(MAX_GRID_CELLS))
        rows = _collect(enumerate(raw.iter_rows()), meta.name, cells, start[1])
        sheets.append((meta.name, rows, _used_merges(raw.merged_cell_ranges, rows, meta.name)))
    return sheets


def _decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without BOM) or UTF-16 with BOM, else Windows-1258; None for binary."""
    if data.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    elif b"\x00" in data:
        return None
    else:
        encodings = ("utf-8", "cp1258")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits some line into the most fields (title lines have one)."""
    lines = [line for line in text[:1 << 20].splitlines() if line.strip()][:SNIFF_LINES]

    def widest(delimiter: str) -> int:
        try:
            return max((len(r) for r in csv.reader(lines, delimiter=delimiter)), default=0)
        except csv.Error:
            return 0

    return max((";", ",", "\t"), key=widest)  # ties go to ';', Excel's choice with a decimal comma


def _parse_csv(data: bytes, cells: _Cells) -> list[tuple]:
    text = _decode_text(data)
    if text is None:
        raise SheetRefused("not_spreadsheet")
    delimiter = _sniff_delimiter(text)
    csv.field_size_limit(MAX_FILE_BYTES)  # a cell's length is checked, and named, by _Cells
    # newline="" lets the csv module see \r\n, \n and a lone \r (old Mac Excel) as line ends.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = _records(reader, text, delimiter)
    return [("", _collect(records, None, cells, 0, csv_cells=True), [])]


def _records(reader, text: str, delimiter: str):
    """(index, fields) of every record; a malformed one is refused naming its cell."""
    r = 0
    while True:
        first_line = reader.line_num + 1  # the record's first line in the file
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_refusal(str(exc), r, first_line, text, delimiter) from None
        yield r, fields
        r += 1


def _csv_refusal(reason: str, r: int, first_line: int, text: str,
                 delimiter: str) -> SheetRefused:
    """Which cell of the record starting on `first_line` holds the bad quote."""
    lines = io.StringIO(text, newline="")
    for _ in range(first_line - 1):
        lines.readline()
    rest = text[lines.tell():] if first_line > 1 else text
    found = _bad_quote(rest, delimiter)
    if found is None:
        return SheetRefused("csv_malformed", None, r, None, line=first_line, reason=reason)
    col, code = found
    return SheetRefused(code, None, r, col, line=first_line, delimiter=delimiter)


_QUOTED = re.compile(r'"[^"]*+(?:""[^"]*+)*+"')  # possessive: no backtracking over a big rest


def _bad_quote(text: str, delimiter: str) -> tuple[int, str] | None:
    """(field index, problem code) of the first field of the record at the start of `text`
    whose quotes are wrong: one never closed, or text after a closing quote."""
    unquoted = re.compile(f"[^{re.escape(delimiter)}\r\n\"]*+")
    pos, col, end = 0, 0, len(text)
    while True:
        if text.startswith('"', pos):
            match = _QUOTED.match(text, pos)
            if match is None:
                return col, "csv_quote_unclosed"
            pos = match.end()
            if pos < end and text[pos] not in (delimiter, "\r", "\n"):
                return col, "csv_quote_stray"
        else:
            pos = unquoted.match(text, pos).end()
            while text.startswith('"', pos):  # a quote inside an unquoted field is taken as is
                pos = unquoted.match(text, pos + 1).end()
        if pos >= end or text[pos] in "\r\n":
            return None
        pos += 1  # the delimiter
        col += 1


def _serve(parent: int) -> None:
    _die_with_parent(parent)
    _limit_memory()
    import python_calamine as calamine

    from .text import nfc

    normalise = getattr(nfc, "__wrapped__", nfc)  # uncached: _Cells keeps one cache per file
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = requests.read(_HEADER)
        if len(header) < _HEADER:
            return  # the server closed the pipe: it is shutting down
        request = requests.read(int.from_bytes(header, "big"))
        kind, data = request[:1], request[1:]
        try:
            cells = _Cells(normalise)
            if len(data) > MAX_FILE_BYTES:
                raise SheetRefused("file_too_large", size_mb=mib(len(data)),
                                   limit_mb=mib(MAX_FILE_BYTES))
            sheets = _parse_csv(data, cells) if kind == _CSV else \
                _parse_workbook(data, calamine, cells)
            reply = ("ok", sheets)
        except SheetRefused as exc:
            reply = ("refused", exc.code, exc.sheet, exc.row0, exc.col, exc.params)
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
        cells = sheets = None  # type: ignore[assignment]  # free the file before the reply
        out = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        reply = None
        replies.write(len(out).to_bytes(_HEADER, "big") + out)
        replies.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
