"""The meeting deck (issue 8): the PPTX holds native charts with the pages' numbers, the HTML
loads nothing from the network, no student or teacher name reaches either file, counts of
fewer than 5 people show as "<5", the CLI writes both formats, and the page works."""
import io
import re
import zipfile
from datetime import date, datetime

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs
from pptx import Presentation
from pptx.enum.chart import XL_CHART_TYPE
from pptx.enum.shapes import MSO_SHAPE_TYPE

from csdl import (access, cli, deck, deck_html, deck_pptx, demo, progress, records, results,
                  rules, schedule, snapshots, staffing)
from tests.conftest import run_query, small_school_tables

MADE_ON = date(2027, 1, 9)
CURRENT = datetime(2027, 1, 8, 17, 0)  # inside the demo's CK1 entry window


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_school(tmp_path_factory):
    """The demo school at two moments: mid-CK1 of 2026-2027 and the end of 2025-2026 (with
    year-end classifications), its lock schedule, and every name it holds."""
    data_dir = tmp_path_factory.mktemp("deck_demo")
    names: set[str] = set()
    infos = {}
    for period, taken_at, year in (("CK1", CURRENT, demo.DEMO_SCHOOL_YEAR),
                                   ("CN", demo.PREVIOUS_YEAR_TAKEN_AT, demo.PREVIOUS_SCHOOL_YEAR)):
        tables = demo.demo_tables_at(2026, taken_at)
        names |= set(tables["student"]["full_name"]) | set(tables["staff"]["full_name"])
        infos[period] = snapshots.write_snapshot(data_dir, tables, school_year=year,
                                                 taken_at=taken_at, source="demo")
    schedule.store_demo_schedule(data_dir)
    return data_dir, infos, {n for n in names if isinstance(n, str) and n.strip()}


@pytest.fixture(scope="module")
def decks(demo_school):
    """Every slide, for the CK1 snapshot and for the year-end one, with both files."""
    data_dir, infos, _ = demo_school
    out = {}
    for period, info in infos.items():
        made = deck.make(data_dir, info, "DEMO01", period, made_on=MADE_ON)
        out[period] = (made, deck_pptx.render(made), deck_html.render(made))
    return out


SMALL_STAFF = pd.DataFrame([
    # 3 managers, 6 teachers, 2 other staff at work, 1 retired teacher
    ("S1", "CB1", "Trịnh Quản Lý", "Cán bộ quản lý", "Thạc sĩ", "Quản lý giáo dục", "Đang làm việc"),
    ("S1", "CB2", "Lò Phó Một", "Cán bộ quản lý", "Đại học", "Giáo dục Tiểu học", "Đang làm việc"),
    ("S1", "CB3", "Mạc Phó Hai", "Cán bộ quản lý", "Đại học", "Giáo dục Tiểu học", "Đang làm việc"),
    *[("S1", f"GV{i}", f"Giáo Viên Số {i}", "Giáo viên", "Đại học", "Giáo dục Tiểu học",
       "Đang làm việc") for i in range(1, 6)],
    ("S1", "GV6", "Đinh Cao Đẳng", "Giáo viên", "Cao đẳng", "Sư phạm Tiểu học", "Đang làm việc"),
    ("S1", "NV1", "Kha Kế Toán", "Nhân viên", "Đại học", "Kế toán", "Đang làm việc"),
    ("S1", "NV2", "Ông Bảo Vệ", "Nhân viên", "Trung học phổ thông", None, "Đang làm việc"),
    ("S1", "GV7", "Cù Nghỉ Hưu", "Giáo viên", "Đại học", "Giáo dục Tiểu học", "Nghỉ hưu"),
], columns=["school_id", "staff_id", "full_name", "position_group", "qualification", "major",
            "status"])


@pytest.fixture
def small_school(tmp_path):
    """conftest's small school (5 enrolled students) with a small staff list and rooms."""
    tables = small_school_tables()
    tables["staff"] = SMALL_STAFF
    tables["room"] = pd.DataFrame(
        [("S1", f"P{i}", "Điểm chính", "Phòng học", "Kiên cố", 50.0, "Tốt") for i in range(3)]
        + [("S1", "P9", "Điểm chính", "Thư viện", "Kiên cố", 60.0, "Cần sửa chữa")],
        columns=["school_id", "room_id", "site", "room_type", "construction", "area_m2",
                 "condition"])
    info = snapshots.write_snapshot(tmp_path, tables, school_year="2026-2027",
                                    taken_at=CURRENT, source="import")
    return tmp_path, info, tables


def slide_charts(pptx: bytes) -> list:
    """The chart of each slide (None where a slide has none), in the slides' order."""
    prs = Presentation(io.BytesIO(pptx))
    return [next((s.chart for s in slide.shapes if s.has_chart), None) for slide in prs.slides]


def series_values(chart) -> dict[str, list[float]]:
    return {s.name: list(s.values) for s in chart.plots[0].series}


def categories(chart) -> list[str]:
    return [str(c) for c in chart.plots[0].categories]


def xml_text(pptx: bytes) -> str:
    """Every XML part of the file (slides, charts, properties) as one text."""
    with zipfile.ZipFile(io.BytesIO(pptx)) as z:
        return "\n".join(z.read(n).decode("utf-8") for n in z.namelist()
                         if n.endswith(".xml") or n.endswith(".rels"))


# --- the pure parts -------------------------------------------------------------------------

def test_count_text_and_protected_counts():
    assert [deck.count_text(n) for n in (0, 1, 4, 5, 1234)] == ["0", "<5", "<5", "5", "1.234"]
    assert deck.count_text(1234, "en") == "1,234"
    drawn = deck.protect_counts([("A", 3), ("B", 0), ("C", 12), ("D", 5)])
    assert drawn == [("A", 5, "<5"), ("C", 12, "12"), ("D", 5, "5")]


def test_parse_slides_keeps_the_deck_order():
    assert deck.parse_slides(None) == list(deck.SLIDES)
    assert deck.parse_slides("staff, overview") == ["overview", "staff"]
    with pytest.raises(ValueError, match="nope"):
        deck.parse_slides("overview,nope")


def test_viewer_sees_only_the_overview_and_the_presentation():
    assert [p.key for p in access.pages_for({"viewer"})] == ["overview", "presentation"]
    assert access.allowed("presentation", {"principal"})
    assert access.allowed("presentation", {"vice_principal"})
    assert not access.allowed("presentation", {"admin"})


# --- the PPTX -------------------------------------------------------------------------------

def test_pptx_is_16_9_with_native_charts_and_the_texts(decks):
    made, pptx, _ = decks["CK1"]
    prs = Presentation(io.BytesIO(pptx))
    assert round(prs.slide_width / prs.slide_height, 2) == round(16 / 9, 2)
    assert len(prs.slides) == len(made.slides) == len(deck.default_slides(made.period))
    for slide, model in zip(prs.slides, made.slides):
        shapes = list(slide.shapes)
        assert not any(s.shape_type == MSO_SHAPE_TYPE.PICTURE for s in shapes)  # no images
        assert any(s.has_chart for s in shapes) == (model.chart is not None)
        text = "\n".join(s.text_frame.text for s in shapes if s.has_text_frame)
        assert model.title in text and model.takeaway in text and made.footer() in text
        for figure in model.figures:
            assert figure.label in text and figure.value in text
    assert "Trường Tiểu học" in made.footer() and "CK1" in made.footer()
    assert "Dữ liệu lúc 08/01/2027 17:00" in made.footer() and "09/01/2027" in made.footer()


def test_pptx_charts_hold_the_pages_numbers(demo_school, decks):
    data_dir, infos, _ = demo_school
    made, pptx, _ = decks["CK1"]
    charts = dict(zip([s.key for s in made.slides], slide_charts(pptx)))
    info = infos["CK1"]
    units = progress.compute(data_dir, info, "DEMO01", "CK1")

    # Overview: entered and still missing, as the overview page's completion figure.
    figures = progress.summary_figures(units)
    assert charts["overview"].chart_type == XL_CHART_TYPE.DOUGHNUT
    [values] = series_values(charts["overview"]).values()
    assert values == [figures["entered"], figures["expected"] - figures["entered"]]

    # Progress by grade: the overview page's completion_by_grade table, and progress.compute.
    by_grade = run_query(data_dir, info, "completion_by_grade", school_id="DEMO01", period="CK1")
    from_units = units.groupby("grade")[["entered", "expected"]].sum()
    assert charts["progress"].chart_type == XL_CHART_TYPE.BAR_CLUSTERED
    assert categories(charts["progress"]) == [f"Khối {g}" for g in by_grade["grade"]]
    [values] = series_values(charts["progress"]).values()
    assert values == pytest.approx(list(by_grade["completion"]))
    assert values == pytest.approx(list(from_units["entered"] / from_units["expected"]))

    # Classes behind: each class's completion from the progress page's units.
    per_class = units.groupby("class_name")[["entered", "expected"]].sum()
    [values] = series_values(charts["classes_behind"]).values()
    names = categories(charts["classes_behind"])
    assert len(names) == deck.MAX_CLASSES
    assert values == pytest.approx([per_class.at[n, "entered"] / per_class.at[n, "expected"]
                                    for n in names])
    assert values == sorted(values)
    assert min(values) == pytest.approx((per_class["entered"] / per_class["expected"]).min())

    # Results by grade: T / H / C shares as the results page computes them.
    levels = run_query(data_dir, info, "results_subject_levels", school_id="DEMO01", period="CK1")
    shares = results.shares(levels, ["grade"], rules.SUBJECT_LEVELS)
    assert charts["results"].chart_type == XL_CHART_TYPE.BAR_STACKED_100
    got = series_values(charts["results"])
    for level in rules.SUBJECT_LEVELS:
        name = next(n for n in got if n.endswith(f"({level})"))
        assert got[name] == pytest.approx(list(shares[shares["level"] == level]["share"]))

    # Staff: working staff per qualification level, counted here from the staff table.
    staff = snapshots.read_tables(data_dir, info.snapshot_id)["staff"]
    at_work = staff[[staffing.is_working(s) for s in staff["status"]]]
    levels_ = at_work["qualification"].map(staffing.qualification_level).value_counts()
    expected = {deck.t(f"deck.qualification.{k}"): max(int(levels_.get(k, 0)), deck.SMALL)
                for k in deck.QUALIFICATIONS if levels_.get(k, 0)}
    [values] = series_values(charts["staff"]).values()
    assert dict(zip(categories(charts["staff"]), values)) == expected


def test_year_end_slide_only_at_cn(demo_school, decks):
    data_dir, infos, _ = demo_school
    ck1, _, _ = decks["CK1"]
    # Before the year's end the default deck has no year-end slide (it would be empty) ...
    assert "year_end" not in [s.key for s in ck1.slides]
    assert deck.default_slides("CK1") == [s for s in deck.SLIDES if s != "year_end"]
    # ... and asked for anyway, it says why it is empty.
    [year_slide] = deck.make(data_dir, infos["CK1"], "DEMO01", "CK1", ["year_end"]).slides
    assert year_slide.chart is None and "Chưa có dữ liệu cuối năm" in year_slide.takeaway

    made, pptx, _ = decks["CN"]
    charts = dict(zip([s.key for s in made.slides], slide_charts(pptx)))
    year = run_query(data_dir, infos["CN"], "results_classification", school_id="DEMO01")
    shares = results.shares(year, ["grade"], rules.CLASSIFICATIONS, "classification")
    got = series_values(charts["year_end"])
    for level in rules.CLASSIFICATIONS:
        name = next(n for n in got if n.endswith(f"({level})"))
        assert got[name] == pytest.approx(list(shares[shares["level"] == level]["share"]))


# --- the HTML -------------------------------------------------------------------------------

# A loadable reference: an attribute that fetches (src, href, poster, data, action, srcset,
# xlink:href), a CSS url(…) or @import, or a script call that fetches (fetch, XMLHttpRequest,
# importScripts, import(), new Worker / EventSource / WebSocket, sendBeacon) — followed by an
# absolute or protocol-relative address.
LOADABLE = re.compile(
    r"""(?:\b(?:src|href|poster|data|action|srcset|xlink:href)\s*=\s*["']?\s*"""
    r"""|url\(\s*["']?\s*|@import\s+(?:url\()?\s*["']?\s*"""
    r"""|\b(?:fetch|importScripts|import|sendBeacon|open|Worker|EventSource|WebSocket)"""
    r"""\s*\(\s*(?:["'][A-Z]+["']\s*,\s*)?["']?\s*)(?:https?:)?//""", re.IGNORECASE)


def test_html_loads_nothing_from_the_network(decks):
    for made, _, page in decks.values():
        plotly_js = get_plotlyjs()
        # plotly.js is embedded whole. The bundle itself holds address strings (licence
        # comments, the topojson CDN and map-tile styles used only by map traces, which the
        # deck never draws), so it cannot be scanned for "http"; it is checked to be exactly
        # plotly's own script, then taken out, and everything else must hold no address at
        # all — in particular nothing the browser would load.
        assert page.count(plotly_js) == 1
        rest = page.replace(plotly_js, "")
        assert not LOADABLE.search(rest), LOADABLE.search(rest)
        assert "http://" not in rest and "https://" not in rest
        assert "<link" not in rest and "<img" not in rest and "<iframe" not in rest
        assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
        # One section per slide, each its own printed page.
        assert page.count('<section class="slide"') == len(made.slides)
        assert "page-break-after: always" in page and "@media print" in page
        assert page.count("Plotly.newPlot") == 1  # one call, in a loop over the charts
        assert page.count('class="chart"') == sum(s.chart is not None for s in made.slides)


def test_loadable_pattern_finds_what_a_page_would_load():
    for bad in ('<script src="https://cdn.plot.ly/x.js">', "<img src=//host/a.png>",
                "background: url('http://x/y.png')", '@import "https://f/x.css";',
                "fetch('https://api/x')", 'xhr.open("GET", "http://x/y")',
                '<link rel="stylesheet" href="https://fonts.googleapis.com/css">'):
        assert LOADABLE.search(bad), bad
    assert not LOADABLE.search("see https://plot.ly in a comment")


# --- anonymity ------------------------------------------------------------------------------

def test_no_student_or_teacher_name_in_either_file(demo_school, decks):
    _, _, names = demo_school
    assert len(names) > 900
    for made, pptx, page in decks.values():
        text = xml_text(pptx)
        assert not [n for n in names if n in text]
        assert not [n for n in names if n in page]


def test_counts_under_five_show_as_less_than_five(small_school):
    data_dir, info, tables = small_school
    made = deck.make(data_dir, info, "S1", "CK1", made_on=MADE_ON)
    slides = {s.key: s for s in made.slides}

    staff = slides["staff"]
    figures = {f.label: f.value for f in staff.figures}
    assert figures == {"Cán bộ đang làm việc": "11", "Giáo viên": "6", "Cán bộ quản lý": "<5"}
    # Post-graduate 1, university 8, college 1, other 1 → drawn as 5, 8, 5, 5 labelled "<5".
    [series] = staff.chart.series
    assert dict(zip(staff.chart.categories, series.values)) == {
        "Sau đại học": 5, "Đại học": 8, "Cao đẳng": 5, "Khác": 5}
    assert series.labels == ("<5", "8", "<5", "<5")
    assert staff.takeaway == ("11 cán bộ đang làm việc; 83,3% giáo viên đạt chuẩn trình độ "
                              "đào tạo (Luật Giáo dục 2019).")
    # No count of people in a chart holds a value from 1 to 4; rooms, entries and data-quality
    # findings are not people and are drawn as they are.
    for slide in made.slides:
        if slide.chart is not None and not slide.chart.percent \
                and slide.key not in ("facilities", "overview", "quality"):
            for s in slide.chart.series:
                assert not [v for v in s.values if 0 < v < deck.SMALL], slide.key

    quality = slides["quality"]
    assert "<5" not in quality.takeaway and all("<5" not in f.value for f in quality.figures)
    assert [v for s in quality.chart.series for v in s.values if 0 < v < deck.SMALL]

    # Fewer than 5 enrolled students: no share of levels is drawn at all.
    assert slides["results"].chart is None
    assert "Dưới 5 học sinh" in slides["results"].takeaway

    pptx = deck_pptx.render(made)
    text = xml_text(pptx)
    assert "&lt;5" in text  # the figure, and the custom labels of the rounded-up counts
    charts = dict(zip([s.key for s in made.slides], slide_charts(pptx)))
    [values] = series_values(charts["staff"]).values()
    assert values == [5, 8, 5, 5]  # the chart data never holds the true 1
    points = charts["staff"].plots[0].series[0].points
    assert [points[i].data_label.text_frame.text for i in (0, 2, 3)] == ["<5"] * 3
    assert not points[1].data_label.has_text_frame  # 8: the value itself, linked
    page = deck_html.render(made)
    assert "&lt;5" in page and '"<5"' in page
    names = set(tables["student"]["full_name"]) | set(SMALL_STAFF["full_name"])
    assert not [n for n in names if n in text or n in page]


def test_quality_counts_are_entries_shown_exactly(small_school):
    """Data-quality findings count entries, not people: no "<5", the true counts drawn."""
    data_dir, info, _ = small_school
    made = deck.make(data_dir, info, "S1", "CK1", ["quality"], made_on=MADE_ON)
    [slide] = made.slides
    assert slide.chart is not None
    [series] = slide.chart.series
    assert series.labels == tuple(deck.fmt_number(v) for v in series.values)
    assert "<5" not in series.labels and min(series.values) < deck.SMALL


# --- the command line -----------------------------------------------------------------------

def test_cli_writes_both_formats(demo_school, tmp_path, capsys):
    data_dir, infos, names = demo_school
    out_pptx, out_html = tmp_path / "hop" / "deck.pptx", tmp_path / "deck.html"
    assert cli.main(["deck", "--data", str(data_dir), "--period", "CK1",
                     "--snapshot", infos["CK1"].snapshot_id, "--out", str(out_pptx)]) == 0
    assert cli.main(["deck", "--data", str(data_dir), "--period", "CK1", "--slides",
                     "progress,overview", "--out", str(out_html)]) == 0
    said = capsys.readouterr().out
    # At CK1 the default deck has no year-end slide: 7 of the 8.
    assert f"Đã ghi {out_pptx}: 7 trang chiếu." in said and "2 trang chiếu" in said
    assert len(Presentation(str(out_pptx)).slides) == 7
    page = out_html.read_text(encoding="utf-8")
    assert page.count('<section class="slide"') == 2
    assert not [n for n in names if n in page]
    actions = [r["action"] for r in records.audit_entries(data_dir)]
    assert actions[:2] == ["deck_export", "deck_export"]

    assert cli.main(["deck", "--data", str(data_dir), "--out", str(tmp_path / "x.pdf")]) == 2
    assert cli.main(["deck", "--data", str(data_dir), "--slides", "nope",
                     "--out", str(tmp_path / "x.pptx")]) == 2
    assert "Không có trang chiếu nope" in capsys.readouterr().err


# --- the page -------------------------------------------------------------------------------

def test_page_slides_from_the_url_previous_next_and_print_view(small_school, monkeypatch):
    from tests.test_app import signed_in

    data_dir, _, _ = small_school
    monkeypatch.setenv("CSDL_DATA_DIR", str(data_dir))
    at = signed_in("pages/presentation.py", "viewer")
    at.query_params["school"] = "S1"
    at.query_params["period"] = "CK1"
    at.query_params["slides"] = "staff,overview"
    at.run()
    assert not at.exception, at.exception
    assert at.multiselect[0].value == ["overview", "staff"]

    def shown() -> str:
        return "\n".join(m.value for m in at.markdown).replace("\\", "")  # markdown escapes

    assert "Nhập liệu Cuối học kỳ I (CK1): toàn trường" in shown()
    assert any(m.value == "Trang 1 / 2" for m in at.markdown) or "Trang 1 / 2" in shown()
    [b for b in at.button if b.label == "Trang sau ▶"][0].click().run()
    assert "Đội ngũ cán bộ theo trình độ" in shown()
    assert {m.label: m.value for m in at.metric}["Cán bộ quản lý"] == "<5"
    at.toggle(key="deck_print").set_value(True).run()  # every slide, one after another
    assert "toàn trường" in shown() and "Đội ngũ cán bộ" in shown()
    at.toggle(key="deck_projector").set_value(True).run()
    assert not at.exception
    assert not any(n in shown() for n in SMALL_STAFF["full_name"])
