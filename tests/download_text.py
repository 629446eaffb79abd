"""What a page offers to download, as text to search: the bytes behind every st.download_button
of an AppTest run, and the text inside them (.xlsx, .pptx, .pdf, .html, .csv/.txt).

AppTest gives each run a fresh MediaFileManager on a mock Runtime and drops it when the run
ends; `capture_media` keeps the last one, so the bytes a button points at (`proto.url`) can be
read back, and a deferred button's callable (`proto.deferred_file_id`, data passed as a
callable) executed as the server does on a click: outside the script run, in a worker thread
with a fresh context (no school scope set, no ScriptRunContext)."""
from __future__ import annotations

import html
import io
import re
import shutil
import subprocess
import tempfile
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import app_test


@dataclass
class Download:
    label: str
    file_name: str
    mimetype: str
    data: bytes
    deferred: bool
    kind: str = ""
    # Everything readable in the file (cell values, attributes, raw markup); and the part that
    # is content only (cell values, shape text, page text), where a bare "S2" is searched.
    text: str = ""
    content: str = ""


def capture_media(monkeypatch) -> list[MediaFileManager]:
    """Keep every run's MediaFileManager (the newest last)."""
    managers: list[MediaFileManager] = []

    class Kept(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", Kept)
    return managers


def _in_server_thread(call):
    """Run `call` as Streamlit's DeferredFileHandler does: in another thread, whose context
    holds none of the script run's context variables (the school scope among them)."""
    out: dict = {}

    def work():
        try:
            out["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(120)
    if "error" in out:
        raise out["error"]
    return out["value"]


def offered(at, managers: list[MediaFileManager]) -> list[Download]:
    """Every download button of the last run with its bytes, deferred ones executed."""
    buttons = at.get("download_button")
    if not buttons:
        return []
    manager = managers[-1]
    storage = manager._storage
    found = []
    for button in buttons:
        proto = button.proto
        if proto.disabled and not proto.url and not proto.deferred_file_id:
            continue  # a disabled button hands nothing out
        if proto.HasField("deferred_file_id") and proto.deferred_file_id:
            entry = manager._deferred_callables[proto.deferred_file_id]
            url = _in_server_thread(lambda: manager.execute_deferred(proto.deferred_file_id))
            deferred = True
            name = entry["filename"] or ""
        else:
            assert proto.url, f"download button {proto.label!r} carries no data"
            url, deferred, name = proto.url, False, None
        stored = storage.get_file(url.rsplit("/", 1)[-1])
        found.append(read(Download(proto.label, name if name is not None else stored.filename or "",
                                   stored.mimetype, stored.content, deferred)))
    return found


# --- the text inside ----------------------------------------------------------------------------

def kind_of(name: str, mimetype: str, data: bytes) -> str:
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in ("xlsx", "pptx", "pdf", "html", "csv", "txt", "zip"):
        return suffix
    if data.startswith(b"%PDF"):
        return "pdf"
    if "spreadsheetml" in mimetype:
        return "xlsx"
    if "presentationml" in mimetype:
        return "pptx"
    if "html" in mimetype:
        return "html"
    if data.startswith(b"PK"):
        return "zip"
    return "txt"


def read(download: Download) -> Download:
    data = download.data
    download.kind = kind_of(download.file_name, download.mimetype, data)
    if download.kind == "xlsx":
        content = xlsx_text(data)
        raw = zip_text(data)
    elif download.kind == "pptx":
        content = pptx_text(data)
        raw = zip_text(data)
    elif download.kind == "pdf":
        content = pdf_text(data)
        raw = content + "\n" + pdftotext(data)
    elif download.kind == "zip":
        content = raw = zip_text(data)
    elif download.kind == "html":
        page = data.decode("utf-8", "replace")
        raw = unescape(page)
        content = unescape(without_plotly_js(page))
    else:
        content = raw = data.decode("utf-8-sig", "replace")
    download.content = content
    download.text = content + "\n" + raw
    return download


def unescape(text: str) -> str:
    """HTML entities and JSON/JS \\uXXXX escapes (surrogate pairs too) as the characters."""
    text = html.unescape(text)
    return re.sub(r"(?:\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                  r"|\\u[0-9a-fA-F]{4}", lambda m: _json_escape(m.group(0)), text)


def _json_escape(escaped: str) -> str:
    import json

    try:
        return json.loads(f'"{escaped}"')
    except ValueError:
        return escaped


def without_plotly_js(text: str) -> str:
    """An offline HTML deck less the plotly.js library it embeds: no school's data there, and
    its minified names (a function called S2) are no school's id."""
    from plotly.offline import get_plotlyjs

    library = get_plotlyjs()
    return text.replace(library, "") if library in text else text


def xlsx_text(data: bytes) -> str:
    """Sheet names, every cell value of every sheet, comments, headers and footers, defined
    names and the document's properties, read with openpyxl."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data))
    parts = [book.properties.title or "", book.properties.subject or "",
             book.properties.creator or "", book.properties.description or "",
             book.properties.keywords or ""]
    parts += list(book.defined_names)
    for sheet in book.worksheets:
        parts.append(sheet.title)
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    parts.append(str(cell.value))
                if cell.comment is not None:
                    parts.append(cell.comment.text)
        for hf in (sheet.oddHeader, sheet.oddFooter, sheet.evenHeader, sheet.evenFooter):
            for part in (hf.left, hf.center, hf.right):
                if part.text:
                    parts.append(part.text)
    return "\n".join(parts)


def pptx_text(data: bytes) -> str:
    """Every shape's text (groups and tables included), chart titles, categories, series names
    and values, and the notes, read with python-pptx."""
    from pptx import Presentation

    deck = Presentation(io.BytesIO(data))
    parts = [deck.core_properties.title or "", deck.core_properties.subject or ""]

    def shape_text(shape) -> None:
        if shape.shape_type is not None and getattr(shape, "shapes", None) is not None:
            for inner in shape.shapes:  # a group
                shape_text(inner)
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                parts.extend(cell.text for cell in row.cells)
        if getattr(shape, "has_chart", False) and shape.has_chart:
            chart = shape.chart
            if chart.has_title and chart.chart_title.has_text_frame:
                parts.append(chart.chart_title.text_frame.text)
            for plot in chart.plots:
                parts.extend(str(c) for c in plot.categories)
                for series in plot.series:
                    parts.append(str(series.name))
                    parts.extend(str(v) for v in series.values)

    for slide in deck.slides:
        for shape in slide.shapes:
            shape_text(shape)
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def zip_text(data: bytes) -> str:
    """Every XML part of an Office file (or zip) as text, entities resolved, tags kept (their
    attributes hold sheet names and the like); embedded workbooks (a chart's data) opened too."""
    parts = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            body = archive.read(info)
            suffix = Path(info.filename).suffix.lower()
            if suffix in (".xml", ".rels", ".vml", ".txt", ".csv", ".html", ".json"):
                parts.append(unescape(body.decode("utf-8", "replace")))
            elif suffix in (".xlsx", ".xlsm"):
                parts.append(xlsx_text(body))
                parts.append(zip_text(body))
            elif body.startswith(b"PK"):
                parts.append(zip_text(body))
    return "\n".join(parts)


# --- PDF ---------------------------------------------------------------------------------------
# No PDF library is installed (pypdf, pdfminer); fpdf2 writes text with embedded TrueType fonts
# as glyph ids (Identity-H), so the words are not in the file as such. This reads them back:
# inflate the streams, read each font's ToUnicode CMap, and decode the strings of the text
# operators (Tj, TJ, ', ") through the font selected by Tf. Metadata strings (the title) too.

_OBJ = re.compile(rb"(\d+)\s+(\d+)\s+obj\b(.*?)\bendobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*)\r?\nendstream", re.S)


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    out = {}
    for match in _OBJ.finditer(data):
        body = match.group(3)
        stream = _STREAM.search(body)
        head = body[:stream.start()] if stream else body
        raw = None
        if stream:
            raw = stream.group(1)
            length = re.search(rb"/Length\s+(\d+)(?!\s+\d+\s+R)", head)
            if length and int(length.group(1)) <= len(raw):
                raw = raw[:int(length.group(1))]
            if b"/FlateDecode" in head:
                try:
                    raw = zlib.decompressobj().decompress(raw)
                except zlib.error:
                    raw = b""
        out[int(match.group(1))] = (head, raw)
    return out


def _cmap(stream: bytes) -> dict[bytes, str]:
    out: dict[bytes, str] = {}

    def uni(hexa: bytes) -> str:
        return bytes.fromhex(hexa.decode()).decode("utf-16-be", "replace")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            out[bytes.fromhex(src.decode())] = uni(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
        for lo, hi, dst in re.findall(
                rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", block):
            width = len(lo) // 2
            low, high = int(lo, 16), int(hi, 16)
            if dst.startswith(b"["):
                targets = re.findall(rb"<([0-9A-Fa-f]*)>", dst)
                for offset, target in enumerate(targets):
                    out[(low + offset).to_bytes(width, "big")] = uni(target)
            else:
                start = int(dst[1:-1], 16)
                for offset in range(high - low + 1):
                    out[(low + offset).to_bytes(width, "big")] = chr(start + offset)
    return out


def _literal(data: bytes, i: int) -> tuple[bytes, int]:
    """A PDF literal string starting after '(' at i: its bytes and the index after ')'."""
    out, depth = bytearray(), 1
    escapes = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b",
               ord("f"): b"\f", ord("("): b"(", ord(")"): b")", ord("\\"): b"\\"}
    while i < len(data):
        c = data[i]
        if c == 0x5C:  # backslash
            nxt = data[i + 1] if i + 1 < len(data) else None
            if nxt in escapes:
                out += escapes[nxt]
                i += 2
            elif nxt is not None and 0x30 <= nxt <= 0x37:
                j = i + 1
                while j < len(data) and j < i + 4 and 0x30 <= data[j] <= 0x37:
                    j += 1
                out.append(int(data[i + 1:j], 8) & 0xFF)
                i = j
            elif nxt in (0x0A, 0x0D):  # line continuation
                i += 2
            else:
                i += 1
            continue
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(c)
        i += 1
    return bytes(out), i


def _decode(string: bytes, cmap: dict[bytes, str] | None) -> str:
    if not cmap:
        return string.decode("latin-1")
    width = max(len(k) for k in cmap)
    return "".join(cmap.get(string[i:i + width], "")
                   for i in range(0, len(string), width))


def _text_of_stream(stream: bytes, fonts: dict[bytes, dict[bytes, str]]) -> list[str]:
    """The strings shown by the text operators of a content stream, one entry per BT…ET."""
    lines, current, font = [], [], None
    operands: list = []
    i = 0
    token = re.compile(rb"/[^\s/\[\]()<>{}%]+|[A-Za-z'\"*]+|[-+]?[0-9.]+")
    while i < len(stream):
        c = stream[i:i + 1]
        if c == b"(":
            string, i = _literal(stream, i + 1)
            operands.append(string)
            continue
        if c == b"<" and stream[i:i + 2] != b"<<":
            end = stream.index(b">", i)
            hexa = re.sub(rb"\s", b"", stream[i + 1:end])
            operands.append(bytes.fromhex((hexa + b"0" * (len(hexa) % 2)).decode()))
            i = end + 1
            continue
        if c in (b"[", b"]"):
            operands.append(c)
            i += 1
            continue
        if c == b"%":
            end = stream.find(b"\n", i)
            i = len(stream) if end < 0 else end
            continue
        match = token.match(stream, i)
        if not match:
            i += 1
            continue
        word = match.group(0)
        i = match.end()
        if word.startswith(b"/") or word[:1].isdigit() or word[:1] in b"+-.":
            operands.append(word)
            continue
        cmap = fonts.get(font) if font else None
        if word == b"Tf":
            names = [o for o in operands if isinstance(o, bytes) and o.startswith(b"/")]
            font = names[-1][1:] if names else font
        elif word in (b"Tj", b"'", b'"'):
            strings = [o for o in operands if isinstance(o, bytes) and o not in (b"[", b"]")
                       and not o.startswith(b"/") and not re.fullmatch(rb"[-+0-9.]+", o)]
            if strings:
                current.append(_decode(strings[-1], cmap))
        elif word == b"TJ":
            # In an array, numbers move the pen; a large negative one is a space.
            inside = operands[operands.index(b"[") + 1:] if b"[" in operands else operands
            for o in inside:
                if o == b"]":
                    break
                if re.fullmatch(rb"[-+]?[0-9.]+", o):
                    if float(o) < -200:
                        current.append(" ")
                else:
                    current.append(_decode(o, cmap))
        elif word == b"ET":
            lines.append("".join(current))
            current = []
        operands = []
    if current:
        lines.append("".join(current))
    return lines


def _pdf_string(raw: bytes) -> str:
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", "replace")
    return raw.decode("latin-1")


def pdf_text(data: bytes) -> str:
    """The text on the pages and in the document's information (title, subject…)."""
    objects = _objects(data)
    cmaps = {}
    for number, (head, _) in objects.items():
        ref = re.search(rb"/ToUnicode\s+(\d+)\s+\d+\s+R", head)
        if ref and objects.get(int(ref.group(1)), (b"", None))[1]:
            cmaps[number] = _cmap(objects[int(ref.group(1))][1])
    fonts: dict[bytes, dict[bytes, str]] = {}
    for head, _ in objects.values():
        for font_dict in re.findall(rb"/Font\s*<<(.*?)>>", head, re.S):
            for name, number in re.findall(rb"/([^\s/<>]+)\s+(\d+)\s+\d+\s+R", font_dict):
                if int(number) in cmaps:
                    fonts[name] = cmaps[int(number)]
    contents = set()
    for head, _ in objects.values():
        for refs in re.findall(rb"/Contents\s+(\[[^\]]*\]|\d+\s+\d+\s+R)", head):
            contents.update(int(n) for n in re.findall(rb"(\d+)\s+\d+\s+R", refs))
    lines: list[str] = []
    for number in sorted(contents):
        stream = objects.get(number, (b"", None))[1]
        if stream:
            lines += _text_of_stream(stream, fonts)
    # The document information and any other string outside the streams.
    for head, _ in objects.values():
        i = 0
        while (start := head.find(b"(", i)) >= 0:
            string, i = _literal(head, start + 1)
            lines.append(_pdf_string(string))
        for hexa in re.findall(rb"<([Ff][Ee][Ff][Ff][0-9A-Fa-f]*)>", head):
            lines.append(_pdf_string(bytes.fromhex(hexa.decode())))
    return "\n".join(lines)


def pdftotext(data: bytes) -> str:
    """poppler's reading of the same PDF where it is installed (a second opinion), else ''."""
    if not shutil.which("pdftotext"):
        return ""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "download.pdf"
        path.write_bytes(data)
        done = subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", str(path), "-"],
                              capture_output=True, timeout=60)
    return done.stdout.decode("utf-8", "replace")
