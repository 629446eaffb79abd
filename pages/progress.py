"""Tiến độ nhập liệu: how much of a period is entered, who is behind, will they make it."""
import pandas as pd
import streamlit as st

from csdl import charts, exports, forecast, progress, rules, ui
from csdl.i18n import fmt_date, fmt_number, fmt_percent

ui.guard("progress")
st.title(ui.tr("page.progress"))
lang = ui.lang()
snapshot, school = ui.snapshot_and_school()
period = ui.pick_period(ui.current_period(snapshot, school.school_id))
units = ui.progress_units(snapshot, school.school_id, period)
grade, class_id = ui.pick_grade_and_class(units)
shown = units
if grade is not None:
    shown = shown[shown["grade"] == grade]
if class_id is not None:
    shown = shown[shown["class_id"] == class_id]

ui.show_data_age(snapshot)
window = ui.window(snapshot, school.school_id, period, grade)
figures = progress.summary_figures(shown)
cols = st.columns(5)
cols[0].metric(ui.tr("progress.completion"), fmt_percent(figures["completion"], lang))
cols[1].metric(ui.tr("progress.classes_overdue"),
               f"{figures['classes_overdue']} / {figures['classes']}")
cols[2].metric(ui.tr("progress.classes_at_risk"), f"{figures['classes_at_risk']}")
for col, day, key in ((cols[3], window.deadline if window else None, "progress.days_to_deadline"),
                      (cols[4], window.lock if window else None, "progress.days_to_lock")):
    days = progress.days_until(day, snapshot.taken_at)
    col.metric(ui.tr(key), "–" if days is None else fmt_number(days, lang),
               help=fmt_date(day) if day else ui.tr("status.no_schedule"))



def show_missing(unit_class: str, unit_code: str, label: str, where: str) -> None:
    missing = ui.query(snapshot, "missing_entries", school_id=school.school_id, period=period,
                       class_id=unit_class, unit_code=unit_code)
    ui.table(missing.assign(
        what=ui.tr_each("missing.", missing["missing"]),
        item=ui.item_names(missing["item_code"])),
        {"student_id": "col.student_id", "full_name": "col.student", "item": "col.item",
         "what": "col.missing"},
        title=ui.tr("progress.missing_title", unit=label), snapshot=snapshot,
        key=f"missing-{where}")


def unit_label(row) -> str:
    name = row.item_name_en if lang == "en" else row.item_name_vi
    return f"{row.class_name} · {name} ({fmt_number(row.expected - row.entered, lang)})"


tab_map, tab_teachers, tab_history, tab_missing, tab_forecast = ui.tabs((
    "progress.tab_map", "progress.tab_teachers", "progress.tab_history",
    "progress.tab_missing", "progress.tab_forecast"), key="progress-tab",
    default="progress.tab_missing" if "unit" in st.query_params else None)

with tab_map:
    if tab_map.open:
        if shown.empty:
            st.info(ui.tr("overview.nothing_expected"))
        else:
            st.plotly_chart(ui.chart(charts.progress_heatmap, shown, lang), width="stretch")
            open_units = shown["status"].isin(["at_risk", "on_track"])  # a chance means something
            picked = ui.table(shown.assign(
                item=shown["item_name_en" if lang == "en" else "item_name_vi"],
                status_text=ui.tr_each("status.", shown["status"]),
                chance=shown["p_late"].where(open_units)),
                {"class_name": "col.class", "item": "col.subject", "staff_name": "col.teacher",
                 "expected": "col.expected", "entered": "col.entered", "completion": "col.completion",
                 "status_text": "col.status", "chance": "col.chance"},
                title=ui.tr("progress.table_title", period=period), snapshot=snapshot,
                select_key="unit_table")
            st.caption(ui.tr("progress.forecast_note"))
            if picked is None:
                st.caption(ui.tr("progress.pick_row"))
            else:
                row = shown.iloc[picked]
                if row["entered"] < row["expected"]:
                    show_missing(row["class_id"], row["item_code"], unit_label(row), "map")
                else:
                    st.success(ui.tr("progress.nothing_missing"))

with tab_teachers:
    if tab_teachers.open:
        teachers = progress.by_teacher(shown)
        ui.table(teachers.assign(
            staff_name=teachers["full_name"].fillna(ui.tr("progress.no_teacher")),
            status_text=ui.tr_each("status.", teachers["status"])),
            {"staff_name": "col.teacher", "units": "col.units", "units_behind": "col.units_behind",
             "expected": "col.expected", "entered": "col.entered", "completion": "col.completion",
             "status_text": "col.status"},
            title=ui.tr("progress.teachers_title", period=period), snapshot=snapshot)
        missing_all = ui.query(snapshot, "missing_entries", school_id=school.school_id, period=period,
                               class_id=class_id, unit_code=None)
        st.download_button(  # the workbook is put together only when the button is clicked
            ui.tr("progress.reminders"),
            lambda: exports.workbook(ui.reminder_sheets(shown, missing_all, snapshot, period, lang)),
            file_name=f"nhac_nho_{period}_{snapshot.snapshot_id}.xlsx", type="primary",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

with tab_history:
    if tab_history.open:
        hist = ui.progress_history(snapshot, school.school_id, period)
        if grade is not None:
            hist = hist[hist["grade"] == grade]
        if class_id is not None:
            hist = hist[hist["class_id"] == class_id]
        totals = progress.totals_over_time(hist)
        if window is not None:  # from a little before the window opens
            totals = totals[totals["taken_at"].dt.date >= window.opens - pd.Timedelta(days=7)]
        line = progress.projection_line(totals, snapshot.taken_at, window.lock if window else None)
        st.plotly_chart(ui.chart(charts.burnup, totals, lang, window.opens if window else None,
                                      window.deadline if window else None,
                                      window.lock if window else None, line), width="stretch")
        st.caption(ui.tr("progress.history_note"))

with tab_missing:
    if tab_missing.open:
        choices = shown[shown["entered"] < shown["expected"]]
        if choices.empty:
            st.success(ui.tr("progress.nothing_missing"))
        else:
            labels = {f"{r.class_id}|{r.item_code}": unit_label(r) for r in choices.itertuples()}
            wanted = st.query_params.get("unit")
            keys = list(labels)
            key = st.selectbox(ui.tr("progress.pick_unit"), keys, format_func=labels.get,
                               index=keys.index(wanted) if wanted in keys else 0)
            st.query_params["unit"] = key
            unit_class, unit_code = key.split("|")
            show_missing(unit_class, unit_code, labels[key], "tab")

with tab_forecast:
    if tab_forecast.open:
        st.markdown(ui.tr("progress.backtest_intro"))
        # Replaying every past window takes a few seconds: only when asked, then cached.
        checked = ui.forecast_backtest(snapshot, school.school_id) \
            if st.toggle(ui.tr("progress.backtest_show"), key="backtest_show") else None
        if checked is None:
            pass
        elif checked.empty:
            st.info(ui.tr("progress.backtest_none"))
        else:
            by_days = forecast.scores(checked, ["days_before"]).sort_values("days_before",
                                                                            ascending=False)
            columns = {"units": "col.units_checked", "flagged": "col.flagged", "hits": "col.hits",
                       "late": "col.late_units", "precision": "col.precision", "recall": "col.recall"}
            ui.table(by_days, {"days_before": "col.days_before", **columns},
                     title=ui.tr("progress.backtest_title"), snapshot=snapshot)
            windows = forecast.scores(checked, ["school_year", "period"])
            windows = windows.sort_values(["school_year", "period"], key=lambda c: c.map(
                {p: i for i, p in enumerate(rules.PERIODS)}) if c.name == "period" else c)
            windows = windows.assign(window=[f"{p} {y}" for p, y in
                                             zip(windows["period"], windows["school_year"])])
            ui.table(windows, {"window": "col.window", **columns},
                     title=ui.tr("progress.backtest_windows_title"), snapshot=snapshot)
            st.caption(ui.tr("progress.backtest_first"))
