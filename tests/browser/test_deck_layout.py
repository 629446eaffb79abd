"""The HTML deck lays out without overlap on the screens a meeting room has."""
from __future__ import annotations

import pytest

from csdl import deck, deck_html, snapshots

SIZES = [(1024, 768), (1280, 720), (1366, 768), (1920, 1080)]
# The parts of a slide, top to bottom; each must sit inside the slide and apart from the others.
PARTS = ["h1", ".body", ".takeaway", ".note", "footer"]

MEASURE = """
(slide) => {
  const box = (e) => { const r = e.getBoundingClientRect();
                       return {x: r.left, y: r.top, w: r.width, h: r.height}; };
  const out = {slide: box(slide), parts: {}, inner: {}, overflow: []};
  for (const sel of %s) {
    const e = slide.querySelector(sel);
    if (e) out.parts[sel] = box(e);
  }
  for (const sel of [".chart", ".empty", ".figures"]) {
    const e = slide.querySelector(sel);
    if (e) out.inner[sel] = box(e);
  }
  for (const e of slide.querySelectorAll("h1, .takeaway, .note, footer span, .figure div")) {
    if (e.scrollWidth > e.clientWidth + 1) out.overflow.push(e.textContent.slice(0, 60));
  }
  return out;
}
""" % PARTS

# Resolves once the slide has stopped moving (scroll snapping) for two frames in a row.
STILL = """
async (slide) => {
  const frame = () => new Promise((done) => requestAnimationFrame(done));
  const at = () => JSON.stringify(slide.getBoundingClientRect());
  let last = at(), same = 0;
  while (same < 2) {
    await frame();
    const now = at();
    same = now === last ? same + 1 : 0;
    last = now;
  }
}
"""


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] - 1 and b["x"] < a["x"] + a["w"] - 1
            and a["y"] < b["y"] + b["h"] - 1 and b["y"] < a["y"] + a["h"] - 1)


def inside(a: dict, outer: dict) -> bool:
    return (a["x"] >= outer["x"] - 1 and a["y"] >= outer["y"] - 1
            and a["x"] + a["w"] <= outer["x"] + outer["w"] + 1
            and a["y"] + a["h"] <= outer["y"] + outer["h"] + 1)


@pytest.fixture(scope="module")
def deck_file(demo_copy):
    data = demo_copy(samples=False, name="deck-demo")  # as make_demo(data, write_samples=False)
    latest = snapshots.latest_snapshot(data)
    made = deck.make(data, latest, "DEMO01", "CK1")
    path = data / "deck.html"
    path.write_text(deck_html.render(made), encoding="utf-8")
    return path, made


def test_the_default_deck_has_no_empty_slide(deck_file):
    _, made = deck_file
    assert [s.key for s in made.slides if s.chart is None] == []


@pytest.mark.parametrize("width,height", SIZES)
def test_slides_lay_out_without_overlap(browser, deck_file, width, height):
    path, made = deck_file
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.chart .main-svg').length > 0")
        slides = page.locator("section.slide")
        assert slides.count() == len(made.slides)
        for i in range(slides.count()):
            slide = slides.nth(i)
            slide.scroll_into_view_if_needed()
            slide.evaluate(STILL)
            m = slide.evaluate(MEASURE)
            where = f"{width}×{height} slide {i + 1}"
            assert m["overflow"] == [], f"{where}: text cut: {m['overflow']}"
            parts = list(m["parts"].items())
            for name, b in parts:
                assert inside(b, m["slide"]), f"{where}: {name} leaves the slide"
            for k, (a_name, a) in enumerate(parts):
                for b_name, b in parts[k + 1:]:
                    assert not overlap(a, b), f"{where}: {a_name} overlaps {b_name}"
            inner = list(m["inner"].items())
            for k, (a_name, a) in enumerate(inner):
                assert inside(a, m["parts"][".body"]), f"{where}: {a_name} leaves the body"
                for b_name, b in inner[k + 1:]:
                    assert not overlap(a, b), f"{where}: {a_name} overlaps {b_name}"
    finally:
        context.close()
