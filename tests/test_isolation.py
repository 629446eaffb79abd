"""Row-level isolation between schools of one snapshot: a school account never receives another
school's rows, through any page, download, report or query; the district account sees every
school and its comparison page's numbers match an independent computation from the fixture
tables.

Downloads: every st.download_button of every page a school role may open is opened (deferred
ones generated as the server does on a click, outside the script run and its school scope) and
its text searched like the page's (tests/download_text.py: .xlsx cells with openpyxl and the
raw XML parts, .pptx shapes and chart data with python-pptx, .pdf text decoded from its
content streams through the fonts' ToUnicode maps, plus poppler's pdftotext where installed,
.html raw less the embedded plotly.js). Also reached after an action: a printed class summary
(.xlsx and .pdf), S2's print code typed in, the spot-check preview, every unit's list of
missing entries. Not reached here: the backup archive (the data page offers none while the
snapshot holds several schools), the differences tables after uploading a sheet or typing
totals, and rows picked in a table (AppTest sets no dataframe selection)."""
import io
import re
import shutil
from contextlib import redirect_stdout
from datetime import date, datetime

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from csdl import access, changes, cli, district, figures, printing, quality, queries, scope, \
    snapshots
from csdl.config import REPO_ROOT as ROOT
from tests import download_text, tabs
from tests.conftest import add_account, run_query, small_school_tables
from tests.test_app import signed_in, texts

YEAR = "2026-2027"
BEFORE, AFTER = datetime(2027, 1, 5, 17, 0), datetime(2027, 1, 8, 17, 0)
# Whatever of S2 could show: its id, name, class, students, teacher, room, a request's words.
# S2's account (zz_hieutruong) signs S2's own records in `school_records`.
S2_MARKERS = ["Trường Zeta", "ZZL21", "Lớp 1Z", "ZZHS21", "ZZHS22", "Đỗ Zà", "Mạc Zung",
              "ZZGV21", "Thầy Zét", "Phòng Zed", "Máy Zed", "Lý do Zeta", "zz_hieutruong"]
S2_ID = re.compile(r"(?<![A-Za-z0-9])S2(?![A-Za-z0-9])")


def two_school_tables(after: bool) -> dict[str, pd.DataFrame]:
    """conftest's school S1 beside a fuller S2 (staff, rooms, equipment, an assignment).
    `after`: the values as they stand after the CK1 lock (two changes in each school)."""
    t = small_school_tables()
    t["school"] = pd.DataFrame([{"school_id": "S1", "name": "Trường Tiểu học Thử", "province": "P"},
                                {"school_id": "S2", "name": "Trường Zeta", "province": "P"}])
    t["class"] = pd.concat([t["class"][t["class"]["school_id"] == "S1"], pd.DataFrame([
        {"school_id": "S2", "class_id": "ZZL21", "class_name": "Lớp 1Z", "grade": 1,
         "homeroom_staff_id": "ZZGV21"}])], ignore_index=True)
    t["student"] = pd.concat([t["student"][t["student"]["school_id"] == "S1"], pd.DataFrame(
        [("S2", "ZZHS21", "ZZL21", "Đỗ Zà", True), ("S2", "ZZHS22", "ZZL21", "Mạc Zung", True)],
        columns=["school_id", "student_id", "class_id", "full_name", "active"])],
        ignore_index=True)
    t["staff"] = pd.DataFrame([
        ("S1", "GV1", "Cô Một", "Đang làm việc"), ("S1", "GV3", "Cô Ba", "Đang làm việc"),
        ("S2", "ZZGV21", "Thầy Zét", "Đang làm việc")],
        columns=["school_id", "staff_id", "full_name", "status"])
    t["assignment"] = pd.concat([t["assignment"], pd.DataFrame(
        [("S2", "ZZGV21", "ZZL21", "TOAN")], columns=t["assignment"].columns)], ignore_index=True)
    t["room"] = pd.DataFrame([("S1", "P1", "Phòng học 1", "kiên cố", 48.0),
                              ("S2", "PZ", "Phòng Zed", "kiên cố", 40.0)],
                             columns=["school_id", "room_id", "room_type", "construction", "area_m2"])
    t["equipment"] = pd.DataFrame([("S1", "Máy tính", 5, 4), ("S2", "Máy Zed", 3, 3)],
                                  columns=["school_id", "item", "quantity", "working"])
    sr = t["subject_result"]
    sr = sr[sr["school_id"] == "S1"]
    sr = pd.concat([sr, pd.DataFrame(
        [("S2", "ZZHS21", "CK1", "TOAN", "T", 9.0), ("S2", "ZZHS22", "CK1", "TOAN", "H", 6.0)],
        columns=sr.columns)], ignore_index=True)
    if after:  # S1: a level and a score changed; S2: a score changed, a level added
        sr = sr.copy()
        sr.loc[(sr["student_id"] == "H1") & (sr["subject_code"] == "TOAN"), "level"] = "H"
        sr.loc[(sr["student_id"] == "H5") & (sr["period"] == "CK1"), "score"] = 9.0
        sr.loc[sr["student_id"] == "ZZHS21", "score"] = 7.0
        sr = pd.concat([sr, pd.DataFrame([("S2", "ZZHS21", "CK1", "TV", "H", None)],
                                         columns=sr.columns)], ignore_index=True)
    t["subject_result"] = sr
    return t


def write_two_schools(data_dir):
    """Two snapshots around the CK1 lock (6 Jan), app records of both schools, and accounts."""
    from csdl import schedule

    before, after = (snapshots.get_snapshot(data_dir, snapshots.write_snapshot(
        data_dir, two_school_tables(x), school_year=YEAR, taken_at=at,
        source="import").snapshot_id) for x, at in ((False, BEFORE), (True, AFTER)))
    schedule.set_window(data_dir, YEAR, "CK1", None, date(2026, 12, 20), date(2027, 1, 5),
                        date(2027, 1, 6), "test")
    schedule.set_window(data_dir, YEAR, "CK1", 4, date(2026, 12, 20), date(2027, 1, 10),
                        date(2027, 1, 12), "test")
    # S2's own records: an approved request for its changed score, a printed sheet.
    request = changes.record_request(
        data_dir, school_year=YEAR, school_id="S2", student_id="ZZHS21", period="CK1",
        item_type="subject", item_code="TOAN", field="score", old_value="9", new_value="7",
        reason="Lý do Zeta", requested_by="Thầy Zét", actor="test")
    changes.decide(data_dir, request, "approved", "", "test")
    code, _ = printing.print_sheet(data_dir, after, "S2", "ZZL21", "CK1", "xlsx", "test")
    return before, after, code


S2_USER = "zz_hieutruong"


def add_school_records(data_dir, after, code) -> None:
    """More of S2's own app records, signed by S2's account and carrying its words (a spot
    check with a noted verdict, a checked and signed-off print, a lock event), and an open
    spot check of S1 so that its page offers the sample's downloads."""
    from csdl import schedule, spotcheck

    add_account(data_dir, S2_USER, "principal", "S2")
    s2_check = spotcheck.create_check(data_dir, after, "S2", "CK1", spotcheck.Scope(), "simple",
                                      3, 7, 0.05, S2_USER)
    spotcheck.record_verdict(data_dir, s2_check, 1, "cannot_verify", None, "Lý do Zeta", S2_USER)
    spotcheck.create_check(data_dir, after, "S1", "CK1", spotcheck.Scope(), "simple", 6, 7, 0.05,
                           "test")
    printing.record_check(data_dir, school_year=YEAR, school_id="S2", class_id="ZZL21",
                          period="CK1", method="code", differences=1, actor=S2_USER,
                          print_code=code, note="Lý do Zeta")
    printing.sign_off(data_dir, YEAR, "S2", "ZZL21", "CK1", S2_USER, "Lý do Zeta")
    schedule.record_event(data_dir, YEAR, "GK2", "lock", "school", None, datetime(2027, 1, 7, 9),
                          "Lý do Zeta", S2_USER, school_id="S2")


# Each folder is written once a module (~1-2 s) and copied for each test, which may write to it.
@pytest.fixture(scope="module")
def _written(tmp_path_factory):
    made = {}
    for name, records in (("two_schools", False), ("school_records", True)):
        folder = tmp_path_factory.mktemp(name)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CSDL_DATA_DIR", str(folder))
            before, after, code = write_two_schools(folder)
            if records:
                add_school_records(folder, after, code)
        made[name] = folder, before.snapshot_id, after.snapshot_id, code
    return made


def _copy_of(written, tmp_path, monkeypatch):
    folder, before, after, code = written
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    monkeypatch.setenv("CSDL_DATA_DIR", str(tmp_path))
    return (tmp_path, snapshots.get_snapshot(tmp_path, before),
            snapshots.get_snapshot(tmp_path, after), code)


@pytest.fixture
def two_schools(_written, tmp_path, monkeypatch):
    """`write_two_schools` in tmp_path, $CSDL_DATA_DIR set: (folder, before, after, print code)."""
    return _copy_of(_written["two_schools"], tmp_path, monkeypatch)


@pytest.fixture
def school_records(_written, tmp_path, monkeypatch):
    """`two_schools` with `add_school_records`."""
    return _copy_of(_written["school_records"], tmp_path, monkeypatch)


@pytest.fixture
def media(monkeypatch):
    """Each AppTest run's media files: the bytes behind its download buttons."""
    return download_text.capture_media(monkeypatch)


def download_leaks(downloads: list[download_text.Download]) -> list[str]:
    """S2 markers in the downloads' text: every marker anywhere in a file (cells, shapes,
    pages, markup), a bare S2 in its content (cell values, shape and page text)."""
    found = []
    for d in downloads:
        hits = [m for m in S2_MARKERS if m in d.text or _squash(m) in _squash(d.text)]
        if S2_ID.search(d.content):
            hits.append("S2")
        if hits:
            found.append(f"{d.label} ({d.file_name}): {', '.join(dict.fromkeys(hits))}")
    return found


def _squash(text: str) -> str:
    """Without whitespace: a name wrapped over two lines of a PDF cell is still found."""
    return re.sub(r"\s+", "", text)


def leaks(at: AppTest) -> list[str]:
    """S2 markers anywhere in what the page sent: texts, tables, metrics, charts, widgets."""
    shown = texts(at)
    raw = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            raw.append(proto.SerializeToString().decode("utf-8", "ignore"))
    for box in at.selectbox:
        raw.append(" ".join(str(o) for o in box.options))
    everything = shown + "\n" + "\n".join(raw)
    found = [m for m in S2_MARKERS if m in everything]
    if S2_ID.search(shown) or any(S2_ID.search(" ".join(str(o) for o in b.options))
                                  for b in at.selectbox):
        found.append("S2")
    return found


def ran_for_own_school(at: AppTest) -> bool:
    """The page ran through with S1's data: no scope refusal or unbound-account message."""
    said = [e.value for e in (*at.error, *at.warning)]
    return not any("không được xem dữ liệu" in m or "chưa gắn với trường" in m
                   or "Vui lòng đăng nhập" in m for m in said)


def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


SCHOOL_ROLES = access.SCHOOL_ROLES
RUNS = [(p.key, r) for r in SCHOOL_ROLES for p in access.PAGES if r in p.roles]


@pytest.mark.parametrize("page,role", RUNS)
def test_school_user_never_sees_another_school(school_records, media, page, role):
    at = signed_in("app.py", role).run()
    at.switch_page(f"pages/{page}.py").run()
    downloads = []
    for at in tabs.each_tab(at):  # every tab opened: a hidden one draws nothing
        assert not at.exception, at.exception
        assert leaks(at) == []
        assert ran_for_own_school(at)
        # Every file the page offers, opened: deferred ones generated as a click would.
        downloads += download_text.offered(at, media)
    assert download_leaks(downloads) == []
    assert_offers(page, downloads)


# Files a page offers besides its tables' Excel (ui.table), by a piece of the file name: so the
# check above cannot pass by finding no button. (Every page with a titled table offers those.)
PAGE_FILES = {"progress": ["nhac_nho_"], "schedule": ["lich_khoa_so_"],
              "staff": ["phan_cong_chuyen_mon", "phu_luc_1_tai_khoan"], "figures": ["so_lieu_"],
              "spotcheck": ["kiem_tra_xac_suat_", ".pdf"], "presentation": [".pptx", ".html"],
              "data": ["Mau_"]}


def assert_offers(page: str, downloads: list[download_text.Download]) -> None:
    names = [d.file_name for d in downloads]
    assert all(d.data for d in downloads), names
    for piece in PAGE_FILES.get(page, []):
        assert any(piece in n for n in names), (page, piece, names)
    if page not in ("presentation", "overview"):  # overview: the viewer's has no table
        assert any(n.endswith(".xlsx") for n in names), (page, names)


@pytest.mark.parametrize("page", [p.key for p in access.PAGES if "principal" in p.roles])
def test_forged_school_in_url_and_session_is_ignored(school_records, media, page):
    at = signed_in("app.py", "principal")
    at.query_params["school"] = "S2"
    for key in ("school", "school_id", "allowed_schools", "schools"):
        at.session_state[key] = ["S1", "S2"] if key.endswith("s") else "S2"
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    for at in tabs.each_tab(at):
        assert not at.exception, at.exception
        assert leaks(at) == []
        assert ran_for_own_school(at)
        assert download_leaks(download_text.offered(at, media)) == []
    if page == "overview":
        assert any("Trường Tiểu học Thử" in s.value for s in at.subheader)


def test_district_sees_every_school_and_a_school_picked_in_the_url(two_schools):
    at = signed_in("app.py", "district").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "So sánh các trường"
    shown = texts(at)
    assert "Trường Zeta" in shown and "Trường Tiểu học Thử" in shown
    at.query_params["school"] = "S2"
    at.switch_page("pages/overview.py").run()
    assert not at.exception, at.exception
    assert any("Trường Zeta" in s.value for s in at.subheader)
    # The positive control: the leak check finds S2 when it is shown.
    assert "Trường Zeta" in leaks(at)


def test_cache_hit_after_district_does_not_bypass_the_check(school_records, media):
    # The district's run fills st.cache_data with S2's results; the S1 user's forged request
    # for S2 must still be refused before the cache is looked at.
    district_run = signed_in("app.py", "district", username="test_district")
    district_run.query_params["school"] = "S2"
    district_run.run().switch_page("pages/staff.py").run()
    shown, found = [], []
    for district_run in tabs.each_tab(district_run):
        shown.append(texts(district_run))
        found += download_leaks(download_text.offered(district_run, media))
    assert "Thầy Zét" in "\n".join(shown)
    # The control of the download check: the district's files of S2 do hold S2.
    assert any("phan_cong_chuyen_mon" in f and "Thầy Zét" in f for f in found), found
    at = signed_in("app.py", "principal")
    at.query_params["school"] = "S2"
    at.run().switch_page("pages/staff.py").run()
    for at in tabs.each_tab(at):
        assert leaks(at) == []
        assert download_leaks(download_text.offered(at, media)) == []


# --- downloads reached after an action --------------------------------------------------------
# These run the page script itself: AppTest does not deliver a button's click through
# st.navigation (see tests/test_app.py); the page's guard sets the scope as app.py does.

def _clicked(at: AppTest, label: str) -> AppTest:
    [button] = [b for b in at.button if b.label == label]
    return button.click().run()


@pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
def test_printed_summary_download_holds_only_the_own_school(school_records, media, fmt):
    # Print a class summary: the file handed out is S1's class; S2's print code typed in is
    # unknown to S1's account and brings none of S2's sheet.
    code = school_records[3]
    at = signed_in("pages/printed.py", "principal").run()
    assert "ZZL21" not in at.selectbox(key="print_class").options
    at.selectbox(key="print_class").set_value("L1A")
    at.radio(key="print_format").set_value(fmt)
    at.button(key="print_create").click().run()
    assert not at.exception, at.exception
    downloads = download_text.offered(at, media)
    [sheet] = [d for d in downloads if d.file_name.endswith(f"-CK1-{_print_code(at)}.{fmt}")]
    assert sheet.kind == fmt and "Nguyễn An" in sheet.content  # S1's class 1A, read back
    assert download_leaks(downloads) == [] and leaks(at) == []
    at.text_input(key="check_code").input(code).run()
    assert not at.exception, at.exception
    assert any("Không có bản in nào mang mã" in e.value for e in at.error)
    assert leaks(at) == []
    assert download_leaks(download_text.offered(at, media)) == []


def _print_code(at: AppTest) -> str:
    return at.session_state["printed_last"]["code"]


def test_spot_check_preview_and_unit_lists_hold_only_the_own_school(school_records, media):
    at = signed_in("pages/spotcheck.py", "vice_principal").run()
    _clicked(at, "Xem trước mẫu")  # the drawn sample as a table, with its Excel
    assert not at.exception, at.exception
    downloads = download_text.offered(at, media)
    assert any(d.file_name.startswith("mauxemtruoc") for d in downloads), \
        [d.file_name for d in downloads]
    assert download_leaks(downloads) == [] and leaks(at) == []
    # Progress: the missing entries of every unit, one after the other (picked through the
    # URL, ?unit=class_id|item_code, as the page keeps it; the page's selectbox formats its
    # values with `labels.get`, whose keys they are).
    at = signed_in("pages/progress.py", "vice_principal").run()
    tabs.open_tab(at, "Còn thiếu")
    [pick] = [b for b in at.selectbox if b.label == "Lớp và môn"]
    units = list(pick.format_func.__self__)
    assert len(units) == len(pick.options) > 1
    lists = set()
    for unit in units:
        at.query_params["unit"] = unit
        at.run()
        assert not at.exception, at.exception
        downloads = download_text.offered(at, media)
        assert download_leaks(downloads) == [], unit
        assert leaks(at) == [], unit
        lists |= {d.file_name for d in downloads if d.file_name.startswith("cacmucconthieu")}
    assert len(lists) == len(units)  # each unit's own list of missing entries was offered


def test_download_check_finds_the_other_school_in_its_own_files(school_records, media):
    # The control: S2's own account gets S2's files, and the same reading finds S2 in each kind
    # of file (the PDF read back with the decoder alone, without poppler's pdftotext).
    found: dict[str, list[download_text.Download]] = {}
    for page in ("progress", "staff", "figures", "spotcheck", "presentation", "printed"):
        at = signed_in(f"pages/{page}.py", "principal", school="S2", username=S2_USER).run()
        assert not at.exception, at.exception
        if page == "printed":
            at.radio(key="print_format").set_value("pdf")
            at.button(key="print_create").click().run()
        for at in tabs.each_tab(at):
            found.setdefault(page, []).extend(download_text.offered(at, media))
    everything = [d for files in found.values() for d in files]
    assert download_leaks(everything)

    def shows(page: str, piece: str, marker: str) -> bool:
        return any(piece in d.file_name and _squash(marker) in _squash(d.content)
                   for d in found[page])

    assert shows("progress", "nhac_nho_", "Thầy Zét")  # deferred workbook
    assert shows("staff", "phan_cong_chuyen_mon", "ZZGV21") or \
        shows("staff", "phan_cong_chuyen_mon", "Lớp 1Z")
    assert shows("figures", "so_lieu_", "Trường Zeta")
    assert shows("spotcheck", ".xlsx", "Đỗ Zà")
    assert shows("spotcheck", ".pdf", "Đỗ Zà") and shows("spotcheck", ".pdf", "Lớp 1Z")
    [spot_pdf] = [d for d in found["spotcheck"] if d.kind == "pdf"]
    assert "Đỗ Zà" in download_text.pdf_text(spot_pdf.data)
    assert shows("presentation", ".pptx", "Trường Zeta")
    assert shows("presentation", ".html", "Trường Zeta")
    assert shows("printed", ".pdf", "Mạc Zung")


def test_ui_choke_points_refuse_another_school(two_schools):
    data_dir, _, after, _ = two_schools

    def script():
        import streamlit as st

        from csdl import scope, snapshots, ui

        ui.apply_scope()
        snap = snapshots.latest_snapshot(ui.data_dir())
        for name, call in (
                ("query", lambda: ui.query(snap, "staff_list", school_id="S2")),
                ("schools", lambda: ui.query(snap, "schools", school_ids=["S1", "S2"])),
                ("progress", lambda: ui.progress_units(snap, "S2", "CK1")),
                ("history", lambda: ui.progress_history(snap, "S2", "CK1")),
                ("changes", lambda: ui.changes_after_lock(snap, "S2"))):
            try:
                call()
            except scope.ScopeError:
                st.write(f"refused {name}")
            else:
                st.write(f"served {name}")
        st.write("own " + str(len(ui.query(snap, "staff_list", school_id="S1"))))

    for user, role, school in (("s1", "principal", "S1"), ("phong", "district", None)):
        add_account(data_dir, user, role, school)
        at = AppTest.from_function(script, default_timeout=30)
        for key, value in (("authentication_status", True), ("username", user),
                           ("roles", [role])):
            at.session_state[key] = value
        at.run()
        assert not at.exception, at.exception
        said = [m.value for m in at.markdown]
        verdict = "refused" if role == "principal" else "served"
        assert said[:5] == [f"{verdict} {n}" for n in
                            ("query", "schools", "progress", "history", "changes")]
        assert said[5] == "own 2"


def test_library_refuses_another_school_even_when_cached(two_schools):
    data_dir, _, after, code = two_schools
    # Fill the library's own caches for S2 first, unrestricted (as the district would).
    quality.cached_findings(data_dir, after, "S2")
    figures.compute(data_dir, after, "S2")
    with scope.restricted(["S1"]):
        for call in (lambda: run_query(data_dir, after, "staff_list", school_id="S2"),
                     lambda: run_query(data_dir, after, "schools", school_ids=["S1", "S2"]),
                     lambda: run_query(data_dir, after, "school_students", school_id=None),
                     lambda: quality.cached_findings(data_dir, after, "S2"),
                     lambda: figures.compute(data_dir, after, "S2"),
                     lambda: changes.requests(data_dir, YEAR, "S2"),
                     lambda: changes.after_lock(data_dir, after, "S2"),
                     lambda: printing.prints(data_dir, YEAR, "S2"),
                     lambda: district.compare(data_dir, after, ["S1", "S2"], "CK1")):
            with pytest.raises(scope.ScopeError):
                call()
        with pytest.raises(printing.PrintingError):  # another school's code reads as unknown
            printing.find_print(data_dir, code)
        assert list(run_query(data_dir, after, "schools", school_ids=["S1"])["school_id"]) == ["S1"]
        assert len(run_query(data_dir, after, "school_ids")) == 2  # ids only, to resolve scope
    with scope.restricted([]):  # an unbound account in a multi-school snapshot: nothing
        with pytest.raises(scope.ScopeError):
            run_query(data_dir, after, "staff_list", school_id="S1")


REPORTS = [["progress"], ["progress", "--by", "teacher"], ["overdue"], ["changes-after-lock"],
           ["quality"], ["spot-checks"]]


def _report(data_dir, args) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["report", *args, "--data", str(data_dir)])
    return code, out.getvalue()


@pytest.mark.parametrize("args", REPORTS)
def test_reports_for_one_school_hold_no_other_school_rows(two_schools, args):
    data_dir = two_schools[0]
    code, text = _report(data_dir, [*args, "--school-id", "S1"])
    assert code == 0
    assert not [m for m in S2_MARKERS if m in text] and not S2_ID.search(text)
    assert _report(data_dir, args)[0] == 2  # several schools: --school-id is needed
    if args[0] in ("progress", "changes-after-lock"):  # the control: S2's report shows S2
        other = _report(data_dir, [*args, "--school-id", "S2"])[1]
        assert "ZZL21" in other or "ZZGV21" in other


# --- the district comparison against an independent computation ------------------------------

def _expected_by_hand(tables: dict, school_id: str, period: str, deadlines: dict,
                      as_of: date) -> dict:
    """Owed and entered values, units and overdue units, from the tables in plain pandas
    (DESIGN.md "What counts as expected"), without the project's SQL."""
    from csdl import rules

    from dataclasses import asdict

    exp = pd.DataFrame([asdict(e) for e in rules.all_expectations()])
    exp = exp[exp["period"] == period]
    classes = tables["class"][tables["class"]["school_id"] == school_id]
    students = tables["student"][(tables["student"]["school_id"] == school_id)
                                 & tables["student"]["active"]]
    assigned = set(zip(tables["assignment"]["class_id"], tables["assignment"]["subject_code"]))
    sr = tables["subject_result"].set_index(["student_id", "period", "subject_code"])
    tr = tables["trait_result"].set_index(["student_id", "period", "trait_code"])
    units: dict[tuple[str, str], list[int]] = {}
    for c in classes.itertuples():
        for s in students[students["class_id"] == c.class_id].itertuples():
            for e in exp[exp["grade"] == c.grade].itertuples():
                if e.optional and (c.class_id, e.item_code) not in assigned:
                    continue
                key = (c.class_id, "PCNL" if e.item_type == "trait" else e.item_code)
                unit = units.setdefault(key, [0, 0, c.grade])
                table = sr if e.item_type == "subject" else tr
                row = table.loc[(s.student_id, period, e.item_code)] \
                    if (s.student_id, period, e.item_code) in table.index else None
                for field, needed in (("level", e.needs_level), ("score", e.needs_score)):
                    if needed:
                        unit[0] += 1
                        unit[1] += int(row is not None and pd.notna(row.get(field)))
    overdue = sum(1 for (_, _), (x, n, g) in units.items()
                  if n < x and deadlines.get(g, deadlines[0]) < as_of)
    return {"expected": sum(u[0] for u in units.values()),
            "entered": sum(u[1] for u in units.values()),
            "units": len(units), "overdue_units": overdue}


OPEN_GRADES = {4}  # the fixture's grade 4 locks CK1 on 12/01, after the 08/01 snapshot


def _changed_cells_by_hand(school_id: str) -> int:
    """Cells of CK1 that differ between the fixture's two states (level and score apart), in
    classes whose book is locked: a grade whose window is still open has no change after lock."""
    tables = two_school_tables(True)
    a, b = (two_school_tables(x)["subject_result"] for x in (False, True))
    key = ["student_id", "period", "subject_code"]
    both = a[a["school_id"] == school_id].merge(b[b["school_id"] == school_id], on=key,
                                                how="outer", suffixes=("_a", "_b"))
    both = both[both["period"] == "CK1"]
    classes = tables["class"][tables["class"]["grade"].isin(OPEN_GRADES)]
    open_students = tables["student"].merge(classes[["school_id", "class_id"]])["student_id"]
    both = both[~both["student_id"].isin(open_students)]
    count = 0
    for field in ("level", "score"):
        x, y = both[f"{field}_a"], both[f"{field}_b"]
        count += int(((x != y) & ~(x.isna() & y.isna())).sum())
    return count


def test_district_numbers_match_an_independent_computation(two_schools):
    data_dir, _, after, _ = two_schools
    table = district.compare(data_dir, after, ["S1", "S2"], "CK1").set_index("school_id")
    tables = two_school_tables(True)
    deadlines = {0: date(2027, 1, 5), 4: date(2027, 1, 10)}
    for school_id in ("S1", "S2"):
        hand = _expected_by_hand(tables, school_id, "CK1", deadlines, AFTER.date())
        row = table.loc[school_id]
        assert {k: int(row[k]) for k in hand} == hand, school_id
        assert row["completion"] == pytest.approx(hand["entered"] / hand["expected"])
        assert row["changes"] == _changed_cells_by_hand(school_id)
        found = quality.findings(data_dir, after, school_id)
        for severity in quality.SEVERITIES:
            assert row[f"findings_{severity}"] == int((found["severity"] == severity).sum())
    assert table.loc["S1", "expected"] == 139  # as tests/test_queries.py works it out
    # S1's change in grade 4 came while grade 4's window was still open: not after a lock.
    assert (table.loc["S1", "changes"], table.loc["S2", "changes"]) == (1, 2)
    # S2's score change was approved; its added level and S1's change were not.
    assert (table.loc["S1", "changes_not_approved"], table.loc["S2", "changes_not_approved"]) == (1, 1)


def test_district_chart_builder():
    from csdl import charts

    df = pd.DataFrame({"school_id": ["S1", "S2"], "name": ["A", "B"], "completion": [0.5, None],
                       "entered": [1, 0], "expected": [2, 0], "overdue_units": [1, 0]})
    fig = charts.district_completion(df)
    assert list(fig.data[0].y) == ["A", "B"] and list(fig.data[0].x) == [50.0, 0.0]
    assert list(fig.data[0].text) == ["50,0%", "–"]


def test_unbound_account_sees_no_school_data_with_several_schools(two_schools):
    # An account made before schools were bound: with two schools it is told to ask the
    # administrator, and sees neither school.
    at = signed_in("app.py", "principal", school=None).run()
    assert not at.exception, at.exception
    assert any("chưa gắn với trường nào" in w.value for w in at.warning)
    assert leaks(at) == [] and "Trường Tiểu học Thử" not in texts(at)


def test_lock_events_belong_to_their_school(two_schools):
    from csdl import schedule

    data_dir, _, after, _ = two_schools
    at = datetime(2027, 1, 7, 9, 0)
    schedule.record_event(data_dir, YEAR, "GK1", "lock", "school", None, at, None, "s1_admin",
                          school_id="S1")
    schedule.record_event(data_dir, YEAR, "GK2", "lock", "school", None, at, None, "old")  # every school
    assert changes.lock_moment(data_dir, YEAR, "GK1", "S1") == at
    assert changes.lock_moment(data_dir, YEAR, "GK1", "S2") is None
    assert changes.lock_moment(data_dir, YEAR, "GK2", "S2") == at
    assert set(schedule.events(data_dir, YEAR, school_id="S2")["period"]) == {"GK2"}
    with scope.restricted(["S2"]):
        assert "s1_admin" not in set(schedule.events(data_dir, YEAR)["recorded_by"])
        with pytest.raises(scope.ScopeError):
            schedule.record_event(data_dir, YEAR, "GK1", "unlock", "school", None, at, "x", "y",
                                  school_id="S1")
    assert not schedule.lock_state(data_dir, YEAR, "GK1", 1, "ZZL21", after.taken_at, "S2").locked
    assert schedule.lock_state(data_dir, YEAR, "GK1", 1, "L1A", after.taken_at, "S1").locked
