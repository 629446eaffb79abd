"""The deck as one self-contained HTML file that works on a PC without internet.

plotly.js (from plotly's Python package, `plotly.offline.get_plotlyjs()`) is embedded inline;
the page loads nothing else: no <script src>, no stylesheet or font link, no image. Each chart
is drawn by a `Plotly.newPlot` call written here (not plotly's `to_html`, whose config names
plotly's server). On screen the slides follow one another, one screen each (← → or PageUp /
PageDown); printed, each slide is one landscape page.
"""
from __future__ import annotations

import html
import json

import plotly.io
from plotly.offline import get_plotlyjs

from . import deck as deck_model
from .i18n import t

CHART_HEIGHT = 520
# Printed charts get a fixed size that fits an A4 landscape page beside the key figures.
PRINT_SIZE = (700, 440)

_CSS = """
* { box-sizing: border-box; }
html { scroll-snap-type: y mandatory; }
body { margin: 0; font-family: "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #222; background: #fff; }
.slide { height: 100vh; min-height: 560px; padding: 3vh 4vw 2vh; display: flex;
         flex-direction: column; scroll-snap-align: start; border-bottom: 1px solid #eee;
         break-after: page; page-break-after: always; break-inside: avoid; }
.slide h1 { margin: 0 0 1.5vh; font-size: 2.6rem; color: BRAND; line-height: 1.15; }
.body { flex: 1; display: flex; gap: 3vw; min-height: 0; }
.chart { flex: 3; min-width: 0; min-height: 0; }
.empty { flex: 3; display: flex; align-items: center; justify-content: center; color: #666;
         font-size: 2rem; text-align: center; }
.figures { flex: 1; display: flex; flex-direction: column; justify-content: center; gap: 3vh; }
.figure .label { font-size: 1.3rem; color: #666; }
.figure .value { font-size: 3rem; font-weight: 700; }
.takeaway { font-size: 1.9rem; font-weight: 600; margin: 1.5vh 0 0.5vh; }
.note { font-size: 1rem; color: #666; font-style: italic; margin: 0.5vh 0; }
footer { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0.2rem 1rem;
         font-size: 0.95rem; color: #666; margin-top: auto; padding-top: 1vh; }
footer .hint { font-size: 0.8rem; color: #999; text-align: center; flex: 1 1 auto; }
@page { size: A4 landscape; margin: 10mm; }
@media print {
  html { scroll-snap-type: none; }
  .slide { height: auto; min-height: 0; border: none; padding: 0; }
  .slide:last-of-type { break-after: auto; page-break-after: auto; }
  .chart { flex: none; }
  .hint { display: none; }
}
"""

_SCRIPT = """
(function () {
  var charts = %(charts)s;
  charts.forEach(function (c) {
    Plotly.newPlot(c.id, c.figure.data, c.figure.layout,
                   {displayModeBar: false, responsive: true});
  });
  var slides = Array.prototype.slice.call(document.querySelectorAll('.slide'));
  function current() {
    var best = 0;
    slides.forEach(function (s, i) {
      if (s.getBoundingClientRect().top <= window.innerHeight / 2) { best = i; }
    });
    return best;
  }
  document.addEventListener('keydown', function (e) {
    var step = {ArrowRight: 1, ArrowDown: 1, PageDown: 1, ' ': 1,
                ArrowLeft: -1, ArrowUp: -1, PageUp: -1}[e.key];
    if (!step) { return; }
    e.preventDefault();
    var next = Math.max(0, Math.min(slides.length - 1, current() + step));
    slides[next].scrollIntoView({behavior: 'auto', block: 'start'});
  });
  window.addEventListener('beforeprint', function () {
    charts.forEach(function (c) {
      Plotly.relayout(c.id, {width: %(print_width)d, height: %(print_height)d});
    });
  });
  window.addEventListener('afterprint', function () {
    charts.forEach(function (c) {
      Plotly.relayout(c.id, {width: null, height: %(height)d, autosize: true});
    });
  });
})();
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _figure_json(chart: deck_model.Chart, lang: str) -> dict:
    fig = deck_model.figure(chart, lang, height=CHART_HEIGHT)
    fig.update_layout(autosize=True)
    # plotly's own encoder turns numpy values and the like into plain JSON.
    return json.loads(plotly.io.to_json(fig, validate=False, pretty=False))


def _slide_html(deck: deck_model.Deck, slide: deck_model.Slide, number: int, total: int,
                charts: list[dict]) -> str:
    parts = [f'<section class="slide" id="slide-{number}">', f"<h1>{_e(slide.title)}</h1>",
             '<div class="body">']
    if slide.chart is not None:
        chart_id = f"chart-{number}"
        charts.append({"id": chart_id, "figure": _figure_json(slide.chart, deck.lang)})
        parts.append(f'<div class="chart" id="{chart_id}"></div>')
    else:
        parts.append(f'<div class="empty">{_e(slide.takeaway)}</div>')
    if slide.figures:
        parts.append('<aside class="figures">')
        for figure in slide.figures:
            parts.append(f'<div class="figure"><div class="label">{_e(figure.label)}</div>'
                         f'<div class="value">{_e(figure.value)}</div></div>')
        parts.append("</aside>")
    parts.append("</div>")
    if slide.chart is not None:
        parts.append(f'<p class="takeaway">{_e(slide.takeaway)}</p>')
    if slide.note:
        parts.append(f'<p class="note">{_e(slide.note)}</p>')
    # How to move between slides, on the first slide's footer line (a fixed hint would sit over
    # the footer on small screens).
    hint = f'<span class="hint">{_e(t("deck.html_hint", deck.lang))}</span>' if number == 1 else ""
    parts.append(f"<footer><span>{_e(deck.footer())}</span>{hint}<span>{number} / {total}</span>"
                 "</footer></section>")
    return "".join(parts)


def render(deck: deck_model.Deck) -> str:
    """The whole deck as one HTML document (text; write it as UTF-8)."""
    charts: list[dict] = []
    total = len(deck.slides)
    slides = "\n".join(_slide_html(deck, s, i, total, charts)
                       for i, s in enumerate(deck.slides, start=1))
    script = _SCRIPT % {"charts": _script_json(charts), "height": CHART_HEIGHT,
                        "print_width": PRINT_SIZE[0], "print_height": PRINT_SIZE[1]}
    title = f"{t('page.presentation', deck.lang)} — {deck.school_name} · {deck.period_name}"
    return "\n".join([
        "<!DOCTYPE html>",
        f'<html lang="{_e(deck.lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS.replace('BRAND', deck_model.BRAND)}</style>",
        # plotly.js itself, inline: the file must work with no network at all.
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        slides,
        f"<script>{script}</script>",
        "</body></html>",
    ])
