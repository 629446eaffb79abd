"""Số liệu đầu năm, giữa năm, cuối năm: what the school reports at those points, beside the
same figures from an earlier snapshot, the differences highlighted; one Excel download. The
sections are short tables read whole: st.table, whose long headers ("Tỉ lệ đạt chuẩn trở lên")
wrap, so a section with nine columns fits a 1366 px screen as it is (no sideways scrolling)."""
import pandas as pd
import streamlit as st

from csdl import figures, tables, ui
from csdl.i18n import fmt_datetime, fmt_number

ui.guard("figures")
st.title(ui.tr("page.figures"))
lang = ui.lang()
snapshot, school = ui.snapshot_and_school()
school_id = school.school_id
ui.show_data_age(snapshot)
st.caption(ui.tr(f"figures.point.{figures.report_point(snapshot.taken_at)}",
                 year=snapshot.school_year))

snaps = ui.snapshots_available()
earlier = [s for s in reversed(snaps) if s.taken_at < snapshot.taken_at]
by_id = {s.snapshot_id: s for s in earlier}
default = figures.default_previous(snaps, snapshot)
options = [None, *by_id]
wanted = st.query_params.get("before", default.snapshot_id if default else None)
before_id = st.selectbox(
    ui.tr("figures.before_pick"), options, index=options.index(wanted) if wanted in options else 0,
    format_func=lambda i: ui.tr("figures.no_before") if i is None else
    f"{fmt_datetime(by_id[i].taken_at)} · {by_id[i].school_year}",
    help=ui.tr("figures.default_rule", days=figures.PREVIOUS_MIN_DAYS), key="figures-before")
if before_id is None:
    if "before" in st.query_params:
        del st.query_params["before"]
elif before_id != st.query_params.get("before"):
    st.query_params["before"] = before_id
if not earlier:
    st.info(ui.tr("figures.no_earlier"))

now = figures.compute(ui.data_dir(), snapshot, school_id)
before = figures.compute(ui.data_dir(), before_id, school_id) if before_id else {}
compared = figures.compare(now, before)
title = ui.tr("figures.title", school=school["name"])
if before_id:
    before_info = by_id[before_id]
    st.caption(ui.tr("figures.comparing", now=fmt_datetime(snapshot.taken_at),
                     before=fmt_datetime(before_info.taken_at)))
    st.metric(ui.tr("figures.changed"), fmt_number(figures.changes(compared), lang))
    subtitle = ui.tr("figures.subtitle", now=snapshot.snapshot_id,
                     now_when=fmt_datetime(snapshot.taken_at), before=before_id,
                     before_when=fmt_datetime(before_info.taken_at))
else:
    subtitle = ui.tr("figures.subtitle_alone", now=snapshot.snapshot_id,
                     now_when=fmt_datetime(snapshot.taken_at))
st.download_button(ui.tr("figures.download"),
                   lambda: figures.workbook(compared, lang, title, subtitle),
                   file_name=f"so_lieu_{snapshot.snapshot_id}.xlsx", key="dl-figures",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

HIGHLIGHT = "background-color: #fff2cc; font-weight: bold"


def highlighted(table: pd.DataFrame, mask: pd.DataFrame):
    """The table as literal text (st.table renders Markdown), the changed cells highlighted."""
    shown = tables.literal_frame(table)
    mask = mask.reset_index(drop=True).set_axis(shown.columns, axis=1)
    return shown.style.apply(lambda _: mask.map(lambda m: HIGHLIGHT if m else ""), axis=None)


for section in figures.SECTIONS:
    st.subheader(figures.section_name(section, lang))
    note = f"figures.section_note.{section}"
    if ui.tr(note) != note:
        st.caption(ui.tr(note))
    if before_id:
        table, mask = figures.wide(section, compared[section], lang)
        st.table(highlighted(table, mask), hide_index=True)
    else:
        st.table(tables.literal_frame(figures.plain(section, now[section], lang)),
                 hide_index=True)
