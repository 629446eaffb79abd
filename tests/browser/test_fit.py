"""Screens that fit: at 1366×768 and 1920×1080, in Vietnamese, no table cuts a column or a
cell's text — the figures, the changes after a lock and the requests, the staff headcounts (the
rank table), the data-quality rules with their descriptions and the district's comparison.

Checked in the DOM. A grid (st.dataframe) is drawn on a canvas: it must not scroll sideways,
and every header and visible cell's text, measured in the grid's own font, must fit the width
of its column (the columns' edges are the vertical lines drawn across the header). An HTML
table (st.table) must not scroll sideways and no cell may overflow."""
from __future__ import annotations

import time
from datetime import date, datetime

import pytest
from playwright.sync_api import Page, expect

from csdl import changes, schedule, snapshots
from csdl.i18n import t

from .conftest import PASSWORDS, Server, make_data, settled, signed_in

SIZES = [(1366, 768), (1920, 1080)]
YEAR = "2026-2027"
LONG_NOTE = ("Không có minh chứng trên bài kiểm tra; đề nghị giáo viên đối chiếu lại sổ theo "
             "dõi và nộp bản chụp bài làm của học sinh trước khi hiệu trưởng duyệt lại.")

# Problems of every visible table of the page, as sentences (empty: everything fits).
FIT = """
() => {
  const problems = [];
  const visible = e => e.offsetWidth > 0 && e.offsetHeight > 0;
  const probe = document.createElement('canvas').getContext('2d');
  const counts = {grids: 0, tables: 0};
  document.querySelectorAll('[data-testid=stDataFrame]').forEach((df, n) => {
    if (!visible(df)) return;
    counts.grids += 1;
    const scroller = df.querySelector('.dvn-scroller');
    const canvas = df.querySelector('canvas[data-testid=data-grid-canvas]');
    const grid = df.querySelector('table[role=grid]');
    const editor = df.querySelector('.stDataFrameGlideDataEditor');
    if (!scroller || !canvas || !grid || !editor) { problems.push(`grid ${n}: not drawn yet`); return; }
    if (scroller.scrollWidth > scroller.clientWidth + 1) {
      problems.push(`grid ${n}: scrolls sideways (${scroller.scrollWidth} > ${scroller.clientWidth} px)`);
      return;
    }
    const style = getComputedStyle(editor);
    const css = name => style.getPropertyValue(name).trim();
    const hex = css('--gdg-border-color').replace('#', '');
    const border = [0, 2, 4].map(i => parseInt(hex.slice(i, i + 2), 16));
    // The columns' edges: the vertical lines drawn across the header, 3 px below its top.
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    const row = canvas.getContext('2d').getImageData(0, Math.round(3 * ratio), canvas.width, 1).data;
    const edges = [0];
    for (let x = 0; x < canvas.width; x++) {
      const off = [0, 1, 2].reduce((s, k) => s + Math.abs(row[4 * x + k] - border[k]), 0);
      if (off < 10 && x - edges[edges.length - 1] > 4 * ratio) edges.push(x);
    }
    if (canvas.width - edges[edges.length - 1] > 4 * ratio) edges.push(canvas.width);
    const widths = edges.slice(1).map((e, i) => (e - edges[i]) / ratio);
    const columns = parseInt(grid.getAttribute('aria-colcount'));
    const offset = widths.length - columns;  // a row-selection column comes first
    if (offset < 0) { problems.push(`grid ${n}: not drawn yet`); return; }
    const padding = parseFloat(css('--gdg-cell-horizontal-padding')) || 8;
    grid.querySelectorAll('th, td').forEach(cell => {
      const col = parseInt(cell.getAttribute('aria-colindex')) - 1 + offset;
      const text = cell.textContent;
      if (!text || !(col >= 0 && col < widths.length)) return;
      probe.font = css(cell.tagName === 'TH' ? '--gdg-header-font-style' : '--gdg-base-font-style')
        + ' ' + css('--gdg-font-family');
      const need = probe.measureText(text).width + 2 * padding;
      if (need > widths[col] + 1)
        problems.push(`grid ${n}: «${text.slice(0, 60)}» needs ${Math.ceil(need)} px, its column has ${Math.floor(widths[col])}`);
    });
  });
  document.querySelectorAll('[data-testid=stTable]').forEach((tb, n) => {
    if (!visible(tb)) return;
    counts.tables += 1;
    const box = tb.firstElementChild;
    if (box.scrollWidth > box.clientWidth + 1)
      problems.push(`table ${n}: scrolls sideways (${box.scrollWidth} > ${box.clientWidth} px)`);
    tb.querySelectorAll('th, td').forEach(cell => {
      if (cell.scrollWidth > cell.clientWidth + 1)
        problems.push(`table ${n}: «${cell.textContent.slice(0, 60)}» overflows its cell`);
    });
  });
  return {problems, counts};
}
"""


def fit_data(target):
    """The fixture school, then: an earlier snapshot for the figures to compare with, a CK1
    lock with values changed after it, a staff list with ranks, and a request rejected with a
    long note."""
    from tests.conftest import small_school_tables
    from tests.test_change_groups import planted
    from tests.test_staffing import staff_frame

    make_data(target)  # its snapshot, of 08/01/2027, is the last one before the lock
    base = small_school_tables()
    snapshots.write_snapshot(target, base, school_year=YEAR, taken_at=datetime(2026, 10, 2, 17),
                             source="import")
    later = planted(base)
    later["staff"] = staff_frame()
    latest = snapshots.write_snapshot(target, later, school_year=YEAR,
                                      taken_at=datetime(2027, 1, 20, 17), source="import")
    schedule.set_window(target, YEAR, "CK1", None, date(2026, 12, 29), date(2027, 1, 9),
                        date(2027, 1, 10), "test")
    request = changes.record_request(
        target, school_year=YEAR, school_id="S1", student_id="H1", period="CK1",
        item_type="subject", item_code="TOAN", field="score", old_value="9", new_value="5",
        reason="Nhập nhầm khi nhập liệu, đối chiếu với bài kiểm tra giữa kỳ của học sinh",
        requested_by="Nguyễn Thị Một", actor="u_admin")
    changes.decide_batch(target, "S1", request, "rejected", LONG_NOTE, "u_principal")
    assert len(changes.after_lock(target, latest, "S1")) > 0
    return target


@pytest.fixture(scope="module")
def fit_server(tmp_path_factory):
    srv = Server(fit_data(tmp_path_factory.mktemp("fit-data")))
    yield srv
    srv.stop()


def assert_fits(page: Page, where: str, grids: int = 0, tables: int = 0) -> None:
    """Waits (a grid redraws after a resize) until every visible table fits, at least the
    tables expected are shown, or fails with what is cut."""
    deadline = time.monotonic() + 20
    while True:
        found = page.evaluate(FIT)
        shown = found["counts"]
        if (not found["problems"] and shown["grids"] >= grids and shown["tables"] >= tables) \
                or time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    assert shown["grids"] >= grids and shown["tables"] >= tables, f"{where}: only {shown} shown"
    assert not found["problems"], f"{where}: " + "; ".join(found["problems"])


def open_page(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/{key}")
    settled(page)
    expect(page.get_by_role("heading", level=1).first).to_be_visible()


def click_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    settled(page)


def test_school_pages_fit_both_screens(page, fit_server):
    signed_in(page, fit_server.url, "u_principal", PASSWORDS["principal"], path="figures")
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        at = f"{width}×{height}"
        open_page(page, fit_server.url, "figures")
        expect(page.get_by_text(t("figures.changed"))).to_be_visible()  # compared: highlights
        assert_fits(page, f"figures {at}", tables=6)

        open_page(page, fit_server.url, "changes")
        assert_fits(page, f"changes after the lock {at}", grids=1, tables=1)
        click_tab(page, t("changes.tab_requests"))
        page.get_by_text(t("changes.request_details"), exact=True).click()
        expect(page.get_by_text(LONG_NOTE[:40])).to_be_visible()
        assert_fits(page, f"change requests {at}", tables=2)
        click_tab(page, t("changes.tab_compare"))
        assert_fits(page, f"snapshot comparison {at}", grids=1)

        open_page(page, fit_server.url, "staff")  # the headcounts: the rank table among them
        expect(page.get_by_test_id("stTable").get_by_text(
            "Mã hạng khác (không phải giáo viên tiểu học)")).to_be_visible()
        assert_fits(page, f"staff headcounts {at}", tables=5)

        open_page(page, fit_server.url, "results")
        click_tab(page, t("results.tab_quality"))
        assert_fits(page, f"data-quality rules {at}", tables=1)


def test_district_comparison_fits_both_screens(page, fit_server):
    signed_in(page, fit_server.url, "u_district", PASSWORDS["district"])  # its first page
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        expect(page.get_by_role("heading", name=t("page.district")).first).to_be_visible()
        assert_fits(page, f"district {width}×{height}", tables=1)
