"""Tổng quan: the school, how old the data is, and the current period's completion by grade."""
import streamlit as st

from csdl import charts, ui
from csdl.i18n import fmt_number, fmt_percent

ui.guard("overview")
st.title(ui.tr("page.overview"))
snapshot = ui.pick_snapshot()
if snapshot is None:
    st.stop()
school = ui.pick_school(snapshot)
if school is None:
    st.stop()
entries = ui.query(snapshot, "entries_by_period", school_id=school.school_id)
period = ui.pick_period(entries["period"].iloc[-1] if len(entries) else "GK1")

st.subheader(school["name"])
ui.show_data_age(snapshot)

by_grade = ui.query(snapshot, "completion_by_grade", school_id=school.school_id, period=period)
expected, entered = int(by_grade["expected"].sum()), int(by_grade["entered"].sum())
cols = st.columns(3)
cols[0].metric(ui.tr("overview.completion", period=period),
               fmt_percent(entered / expected if expected else None, ui.lang()))
cols[1].metric(ui.tr("overview.entered"), f"{fmt_number(entered, ui.lang())} / {fmt_number(expected, ui.lang())}")
cols[2].metric(ui.tr("overview.students"), fmt_number(int(by_grade["students"].sum()), ui.lang()))

st.markdown("#### " + ui.tr("overview.by_grade"))
if by_grade.empty:
    st.info(ui.tr("overview.nothing_expected"))
else:
    st.plotly_chart(charts.completion_by_grade(by_grade, ui.lang()), width="stretch")
    ui.table(by_grade, {
        "grade": "col.grade", "classes": "col.classes", "students": "col.students",
        "expected": "col.expected", "entered": "col.entered", "completion": "col.completion"})
