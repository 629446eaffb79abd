"""Trình chiếu: the staff-meeting deck — aggregate, anonymised slides for a projector, with the
same deck as PowerPoint (native charts) and as one HTML file that works offline."""
import streamlit as st

from csdl import deck, deck_html, deck_pptx, records, ui
from csdl.literal import literal

ui.guard("presentation")
lang = ui.lang()
snapshot, school = ui.snapshot_and_school()
school_id = school.school_id
period = ui.pick_period(ui.current_period(snapshot, school_id))

# The slides come from the URL (?slides=overview,progress) so a chosen deck can be shared.
try:
    wanted = deck.parse_slides(st.query_params.get("slides"), period)
except ValueError:
    wanted = deck.default_slides(period)

CSS = """
[class*="st-key-deck-slide-"] h2 { font-size: 2.6rem; line-height: 1.2; }
[class*="st-key-deck-slide-"] [data-testid="stMetricLabel"] p { font-size: 1.3rem; }
[class*="st-key-deck-slide-"] [data-testid="stMetricValue"] { font-size: 3rem; }
[class*="st-key-deck-takeaway-"] p { font-size: 1.9rem; font-weight: 600; line-height: 1.3; }
[class*="st-key-deck-empty-"] p { font-size: 2rem; color: #666; }
@page { size: A4 landscape; margin: 10mm; }
@media print {
  section[data-testid="stSidebar"], header[data-testid="stHeader"],
  [data-testid="stToolbar"], [data-testid="stDecoration"],
  .st-key-deck-controls, .st-key-deck-nav, .st-key-deck-heading { display: none !important; }
  [data-testid="stMainBlockContainer"], .block-container { padding: 0 !important;
                                                           max-width: 100% !important; }
  [class*="st-key-deck-slide-"] { break-after: page; page-break-after: always;
                                  break-inside: avoid; }
  [class*="st-key-deck-slide-"] h2 { font-size: 2rem; }
  [class*="st-key-deck-slide-"] [data-testid="stMetricValue"] { font-size: 2.2rem; }
  [class*="st-key-deck-takeaway-"] p { font-size: 1.4rem; }
  /* keep the chart and its key figures side by side on paper */
  [class*="st-key-deck-slide-"] [data-testid="stHorizontalBlock"] {
    display: flex !important; flex-direction: row !important; flex-wrap: nowrap !important; }
  [class*="st-key-deck-slide-"] [data-testid="stColumn"] { min-width: 0 !important; }
  [class*="st-key-deck-slide-"] [data-testid="stColumn"]:first-child { flex: 3 1 0 !important; }
  [class*="st-key-deck-slide-"] [data-testid="stColumn"]:last-child { flex: 1 1 0 !important; }
}
"""
PROJECTOR_CSS = """
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], header[data-testid="stHeader"] { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container {
  max-width: 100% !important; padding: 1rem 3rem 1rem 3rem !important; }
[class*="st-key-deck-slide-"] h2 { font-size: 3rem; }
[class*="st-key-deck-slide-"] [data-testid="stMetricValue"] { font-size: 3.6rem; }
[class*="st-key-deck-takeaway-"] p { font-size: 2.2rem; }
.st-key-deck-nav button p { font-size: 1.4rem; }
"""


def show(shown: deck.Deck, slide: deck.Slide, number: int, total: int,
         height: int = 460) -> None:
    with st.container(key=f"deck-slide-{number}"):
        st.markdown("## " + literal(slide.title))
        left, right = st.columns([3, 1], vertical_alignment="center")
        if slide.chart is not None:
            left.plotly_chart(deck.figure(slide.chart, lang, height), width="stretch",
                              key=f"deck-chart-{number}", config={"displayModeBar": False})
        else:
            left.container(key=f"deck-empty-{number}").markdown(literal(slide.takeaway))
        for figure in slide.figures:
            right.metric(literal(figure.label), figure.value)
        if slide.chart is not None:
            st.container(key=f"deck-takeaway-{number}").markdown(literal(slide.takeaway))
        if slide.note:
            st.caption(literal(slide.note))
        st.caption(literal(f"{shown.footer()} · {number} / {total}"))


with st.container(key="deck-controls"):
    with st.expander(ui.tr("deck.options"), expanded=not st.session_state.get("deck_projector")):
        chosen = st.multiselect(ui.tr("deck.pick_slides"), deck.SLIDES, default=wanted,
                                format_func=lambda k: deck.slide_name(k, lang), key="deck_slides",
                                placeholder=ui.tr("ui.choose"))
        c1, c2 = st.columns(2)
        projector = c1.toggle(ui.tr("deck.projector"), key="deck_projector",
                              help=ui.tr("deck.projector_help"))
        print_all = c2.toggle(ui.tr("deck.print_all"), key="deck_print",
                              help=ui.tr("deck.print_help"))
        downloads = st.container()

st.html(f"<style>{CSS}{PROJECTOR_CSS if projector else ''}</style>")
chosen = deck.parse_slides(chosen, period) if chosen else []
if chosen == deck.default_slides(period):
    if "slides" in st.query_params:
        del st.query_params["slides"]
elif chosen and st.query_params.get("slides") != ",".join(chosen):
    st.query_params["slides"] = ",".join(chosen)
if not chosen:
    st.info(ui.tr("deck.no_slides"))
    st.stop()

if not projector:
    with st.container(key="deck-heading"):
        st.title(ui.tr("page.presentation"))
        ui.show_data_age(snapshot)

units = ui.progress_units(snapshot, school_id, period)
sources = deck.gather(ui.data_dir(), snapshot, school_id, period, chosen, lang, units=units,
                      query=lambda name, **params: ui.query(snapshot, name, **params))
shown_deck = deck.build(sources, chosen, lang)
slides = shown_deck.slides
total = len(slides)

audit = {"snapshot_id": snapshot.snapshot_id, "school_id": school_id, "period": period,
         "slides": chosen}
downloads.download_button(
    ui.tr("deck.download_pptx"), lambda: deck_pptx.render(shown_deck),
    file_name=f"{shown_deck.file_stem()}.pptx", key="deck-pptx",
    mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
    on_click=records.audit, args=(ui.data_dir(), ui.user_name(), "deck_export"),
    kwargs={**audit, "format": "pptx"})
downloads.download_button(
    ui.tr("deck.download_html"), lambda: deck_html.render(shown_deck).encode("utf-8"),
    file_name=f"{shown_deck.file_stem()}.html", key="deck-html", mime="text/html",
    on_click=records.audit, args=(ui.data_dir(), ui.user_name(), "deck_export"),
    kwargs={**audit, "format": "html"})

if print_all:  # every slide, one after another, each its own printed page
    st.container(key="deck-nav").caption(ui.tr("deck.print_help"))
    st.html(f"<style>@media print {{ .st-key-deck-slide-{total} {{ break-after: auto; "
            f"page-break-after: auto; }} }}</style>")  # no blank page after the last slide
    for number, slide in enumerate(slides, start=1):
        show(shown_deck, slide, number, total, height=380)
    st.stop()


def move(step: int) -> None:
    st.session_state["deck_index"] = min(max(st.session_state.get("deck_index", 0) + step, 0),
                                         total - 1)


index = min(max(st.session_state.get("deck_index", 0), 0), total - 1)
st.session_state["deck_index"] = index
show(shown_deck, slides[index], index + 1, total)
with st.container(key="deck-nav"):
    back, counter, forward = st.columns([1, 2, 1], vertical_alignment="center")
    back.button(ui.tr("deck.previous"), on_click=move, args=(-1,), disabled=index == 0,
                width="stretch", key="deck-previous")
    counter.markdown(f"<div style='text-align:center;font-size:1.3rem'>"
                     f"{ui.tr('deck.counter', n=index + 1, total=total)}</div>",
                     unsafe_allow_html=True)
    forward.button(ui.tr("deck.next"), on_click=move, args=(1,), disabled=index == total - 1,
                   width="stretch", key="deck-next")
