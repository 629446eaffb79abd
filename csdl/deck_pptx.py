"""The deck as a PowerPoint file: 16:9, large type, native and editable charts.

Each slide: the title, the chart as a real PowerPoint chart (python-pptx's chart API, holding
exactly the numbers of `csdl.deck.Chart` — ratios with a % number format, counts as counts),
the key figures on the right, the takeaway under the chart and a footer naming the school, the
period, the snapshot and the day the deck was made. A chart label that is not the value itself
("<5" for a count rounded up to 5) is written as that point's own label text.
"""
from __future__ import annotations

import io

from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Inches, Pt

from . import deck as deck_model

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)  # 16:9
MARGIN = Inches(0.5)
DARK = RGBColor(0x22, 0x22, 0x22)
MUTED = RGBColor(0x66, 0x66, 0x66)
_TYPES = {
    "bar": XL_CHART_TYPE.BAR_CLUSTERED,
    "column": XL_CHART_TYPE.COLUMN_CLUSTERED,
    "stacked": XL_CHART_TYPE.BAR_STACKED_100,
    "doughnut": XL_CHART_TYPE.DOUGHNUT,
}


def _rgb(color: str) -> RGBColor:
    return RGBColor.from_string(color.lstrip("#").upper())


def _text(slide, left, top, width, height, text: str, size: int, bold: bool = False,
          color: RGBColor = DARK, align=PP_ALIGN.LEFT, anchor=MSO_ANCHOR.TOP,
          italic: bool = False):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = anchor
    paragraph = frame.paragraphs[0]
    paragraph.alignment = align
    run = paragraph.add_run()
    run.text = text
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    run.font.color.rgb = color
    return box


def _chart(slide, chart: deck_model.Chart, left, top, width, height) -> None:
    number_format = "0.0%" if chart.percent else "#,##0"
    data = CategoryChartData(number_format=number_format)
    data.categories = list(chart.categories)
    for s in chart.series:
        data.add_series(s.name, list(s.values))
    shape = slide.shapes.add_chart(_TYPES[chart.kind], left, top, width, height, data)
    c = shape.chart
    c.font.size = Pt(16)
    c.has_title = False
    plot = c.plots[0]
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.font.size = Pt(16)
    labels.number_format = "0%" if chart.kind == "stacked" else number_format
    labels.number_format_is_linked = False
    if chart.kind == "doughnut":
        c.has_legend = True
        c.legend.position = XL_LEGEND_POSITION.BOTTOM
        c.legend.include_in_layout = False
        c.legend.font.size = Pt(16)
        labels.show_value = False
        labels.show_percentage = True
        labels.number_format = "0.0%"
        labels.font.size = Pt(20)
        s = chart.series[0]
        for point, color in zip(plot.series[0].points, s.point_colors or ()):
            point.format.fill.solid()
            point.format.fill.fore_color.rgb = _rgb(color)
        return
    plot.gap_width = 60
    plot.vary_by_categories = False
    if chart.kind == "stacked":
        plot.overlap = 100
        labels.position = XL_LABEL_POSITION.CENTER
        c.has_legend = True
        c.legend.position = XL_LEGEND_POSITION.TOP
        c.legend.include_in_layout = False
        c.legend.font.size = Pt(14)
    else:
        labels.position = XL_LABEL_POSITION.OUTSIDE_END
        c.has_legend = False
    value_axis = c.value_axis
    value_axis.has_major_gridlines = True
    value_axis.tick_labels.font.size = Pt(14)
    if chart.percent:
        value_axis.minimum_scale = 0
        value_axis.maximum_scale = 1
        value_axis.tick_labels.number_format = "0%"
        value_axis.tick_labels.number_format_is_linked = False
    category_axis = c.category_axis
    category_axis.tick_labels.font.size = Pt(18)
    if chart.kind in ("bar", "stacked"):
        category_axis.reverse_order = True  # the first category on top, as on the page
    for series, s in zip(plot.series, chart.series):
        if s.color:
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = _rgb(s.color)
        for i, color in enumerate(s.point_colors or ()):
            point = series.points[i]
            point.format.fill.solid()
            point.format.fill.fore_color.rgb = _rgb(color)
        for i, label in enumerate(s.labels or ()):
            if label.startswith("<"):  # a rounded-up count: say "<5", not the drawn 5
                frame = series.points[i].data_label.text_frame
                frame.text = label
                frame.paragraphs[0].runs[0].font.size = Pt(16)


def _slide(prs, deck: deck_model.Deck, slide: deck_model.Slide, number: int, total: int) -> None:
    page = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    inner = WIDTH - 2 * MARGIN
    _text(page, MARGIN, Inches(0.3), inner, Inches(0.9), slide.title, 34, bold=True,
          color=_rgb(deck_model.BRAND), anchor=MSO_ANCHOR.MIDDLE)
    chart_width = Inches(8.6) if slide.figures else inner
    if slide.chart is not None:
        _chart(page, slide.chart, MARGIN, Inches(1.3), chart_width, Inches(4.45))
    else:
        _text(page, MARGIN, Inches(1.3), chart_width, Inches(4.45), slide.takeaway, 28,
              color=MUTED, align=PP_ALIGN.CENTER, anchor=MSO_ANCHOR.MIDDLE)
    left = MARGIN + chart_width + Inches(0.3)
    width = WIDTH - MARGIN - left
    for i, figure in enumerate(slide.figures[:3]):
        top = Inches(1.4) + i * Inches(1.5)
        _text(page, left, top, width, Inches(0.5), figure.label, 16, color=MUTED)
        _text(page, left, top + Inches(0.45), width, Inches(0.9), figure.value, 40, bold=True)
    if slide.note:
        _text(page, MARGIN, Inches(5.75), inner, Inches(0.35), slide.note, 12, color=MUTED,
              italic=True)
    if slide.chart is not None:
        _text(page, MARGIN, Inches(6.1), inner, Inches(0.8), slide.takeaway, 24, bold=True,
              anchor=MSO_ANCHOR.MIDDLE)
    _text(page, MARGIN, Inches(6.95), inner - Inches(1), Inches(0.4), deck.footer(), 11,
          color=MUTED)
    _text(page, WIDTH - MARGIN - Inches(1), Inches(6.95), Inches(1), Inches(0.4),
          f"{number} / {total}", 11, color=MUTED, align=PP_ALIGN.RIGHT)


def render(deck: deck_model.Deck) -> bytes:
    """The deck as .pptx bytes."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDTH, HEIGHT
    prs.core_properties.title = f"{deck.school_name} · {deck.period_name}"
    prs.core_properties.author = ""
    prs.core_properties.last_modified_by = ""
    for number, slide in enumerate(deck.slides, start=1):
        _slide(prs, deck, slide, number, len(deck.slides))
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()
