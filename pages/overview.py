"""Tổng quan: the school, how old the data is, the current period's completion and who is late."""
import streamlit as st

from csdl import changes, charts, progress, quality, ui
from csdl.i18n import fmt_date, fmt_number, fmt_percent
from csdl.literal import literal

ui.guard("overview")
st.title(ui.tr("page.overview"))
lang = ui.lang()
snapshot, school = ui.snapshot_and_school()
period = ui.pick_period(ui.current_period(snapshot, school.school_id))

st.subheader(literal(school["name"]))
ui.show_data_age(snapshot)

units = ui.progress_units(snapshot, school.school_id, period)
figures = progress.summary_figures(units)
window = ui.window(snapshot, school.school_id, period, None)
cols = st.columns(4)
cols[0].metric(ui.tr("overview.completion", period=period), fmt_percent(figures["completion"], lang),
               help=ui.tr("overview.entered_of", entered=fmt_number(figures["entered"], lang),
                          expected=fmt_number(figures["expected"], lang)))
cols[1].metric(ui.tr("progress.classes_overdue"), f"{figures['classes_overdue']} / {figures['classes']}")
for col, day, key in ((cols[2], window.deadline if window else None, "progress.days_to_deadline"),
                      (cols[3], window.lock if window else None, "progress.days_to_lock")):
    days = progress.days_until(day, snapshot.taken_at)
    col.metric(ui.tr(key), "–" if days is None else fmt_number(days, lang),
               help=fmt_date(day) if day else ui.tr("status.no_schedule"))

st.markdown("#### " + ui.tr("overview.behind_title", period=period))
behind = progress.furthest_behind(units)
if behind.empty:
    st.success(ui.tr("overview.none_behind"))
else:
    ui.table(behind.assign(
        item=behind["item_name_en" if lang == "en" else "item_name_vi"],
        staff_name=behind["staff_name"].fillna(ui.tr("progress.no_teacher")),
        status_text=ui.tr_each("status.", behind["status"])),
        {"class_name": "col.class", "item": "col.subject", "staff_name": "col.teacher",
         "missing": "col.values_missing", "completion": "col.completion",
         "status_text": "col.status"})

unapproved = len(changes.not_approved(ui.changes_after_lock(snapshot, school.school_id)))
if unapproved:
    st.warning(ui.tr("overview.unapproved", count=fmt_number(unapproved, lang)))
    if "changes" in ui.allowed_pages():
        st.page_link("pages/changes.py", label=ui.tr("page.changes"),
                     icon=":material/published_with_changes:")

high_findings = quality.high_count(ui.data_dir(), snapshot, school.school_id) \
    if "results" in ui.allowed_pages() else None
if high_findings:
    st.warning(ui.tr("overview.quality_high", count=fmt_number(high_findings, lang)))
    st.page_link("pages/results.py", label=ui.tr("page.results"), icon=":material/school:")

st.markdown("#### " + ui.tr("overview.by_grade"))
by_grade = ui.query(snapshot, "completion_by_grade", school_id=school.school_id, period=period)
if by_grade.empty:
    st.info(ui.tr("overview.nothing_expected"))
else:
    st.plotly_chart(ui.chart(charts.completion_by_grade, by_grade, lang), width="stretch")
    ui.table(by_grade, {
        "grade": "col.grade", "classes": "col.classes", "students": "col.students",
        "expected": "col.expected", "entered": "col.entered", "completion": "col.completion"},
        title=ui.tr("overview.by_grade_title", period=period), snapshot=snapshot)
if "progress" in ui.allowed_pages():
    st.page_link("pages/progress.py", label=ui.tr("overview.to_progress"), icon=":material/trending_up:")
