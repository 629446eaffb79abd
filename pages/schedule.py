"""Lịch khóa sổ: the lock schedule of a school year, the lock / unlock events, and whether each
class's grade book is locked — since when, by whom, why. Only the administrator edits, and only
the shown school's own schedule (the first edit copies the shared one; other schools keep it)."""
from datetime import datetime

import pandas as pd
import streamlit as st

from csdl import rules, schedule, ui
from csdl.i18n import fmt_date, fmt_datetime, fmt_number
from csdl.literal import literal
from csdl.problems import ImportRefused
from csdl.timeutil import now_local

ui.guard("schedule")
st.title(ui.tr("page.schedule"))
data_dir = ui.data_dir()
lang = ui.lang()
actor = ui.user_name()
can_edit = "admin" in ui.current_roles()  # the principal and vice-principal only read
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIOD_NAMES = rules.PERIOD_NAMES_EN if lang == "en" else rules.PERIOD_NAMES_VI


def done(message: str) -> None:
    """Show `message` after the rerun that redraws the tables with the change."""
    st.session_state["schedule_done"] = message
    st.rerun()


def period_label(period: str) -> str:
    return f"{PERIOD_NAMES[period]} ({period})"


def grade_label(grade: object) -> str:
    if grade is None or pd.isna(grade):
        return ui.tr("schedule.whole_school")
    return ui.tr("schedule.grade_n", grade=int(grade))


if message := st.session_state.pop("schedule_done", None):
    st.success(message)

# Classes and grades come from the chosen snapshot (the latest by default).
snapshot = ui.pick_snapshot()
school = ui.pick_school(snapshot) if snapshot is not None else None
if school is not None:
    classes = ui.query(snapshot, "classes", school_id=school.school_id)
    st.subheader(literal(school["name"]))
    ui.show_data_age(snapshot)
else:
    classes = pd.DataFrame(columns=["class_id", "class_name", "grade"])
class_names = dict(zip(classes["class_id"], classes["class_name"]))
# Lock events belong to the school shown; events of every school (recorded before schools
# were bound) still apply. Without a school of its own (several schools) nothing is recorded.
school_id = school.school_id if school is not None else None
if school_id is None and ui.several_schools():
    can_edit = False
# The schedule edited here is always the school's own; without a school, none is edited.
can_edit_schedule = can_edit and school_id is not None

now = now_local()
this_year = rules.school_year_of(now)
default_year = snapshot.school_year if snapshot is not None else this_year
_, second = rules.parse_school_year(this_year)
years = sorted({default_year, this_year, f"{second}-{second + 1}",  # next year, to plan ahead
                *schedule.school_years(data_dir, school_id=school_id)}, reverse=True)
year = st.selectbox(ui.tr("schedule.field_school_year"), years, index=years.index(default_year))


def scope_label(scope: str, value: object) -> str:
    if scope == "grade":
        return grade_label(value)
    if scope == "class":
        return ui.tr("schedule.class_n", name=class_names.get(value, value))
    return ui.tr("schedule.whole_school")


tab_schedule, tab_events, tab_state = st.tabs(
    [ui.tr("schedule.tab_schedule"), ui.tr("schedule.tab_events"), ui.tr("schedule.tab_state")])

with tab_schedule:
    rows = schedule.windows(data_dir, year, school_id=school_id)
    own_schedule = schedule.keeps_own(data_dir, year, school_id)
    st.caption(ui.tr("schedule.source_own" if own_schedule else "schedule.source_shared",
                     year=year))
    if rows.empty:
        st.info(ui.tr("schedule.empty", year=year))
    else:
        ui.table(pd.DataFrame([{
            "period": period_label(r.period), "grade": grade_label(r.grade),
            "opens": fmt_date(r.opens), "deadline": fmt_date(r.deadline),
            "lock": fmt_date(r.lock),
            "updated": f"{fmt_datetime(r.updated_at)} · {r.updated_by or '–'}",
        } for r in rows.itertuples()]),
            {"period": "schedule.field_period", "grade": "schedule.field_grade",
             "opens": "schedule.field_opens", "deadline": "schedule.field_deadline",
             "lock": "schedule.field_lock", "updated": "schedule.updated"},
            key="schedule")  # one download below: the file that can be edited and imported back
        st.caption(ui.tr("schedule.override_note"))
    st.download_button(ui.tr("schedule.download"),
                       schedule.export_excel(data_dir, year, school_id=school_id),
                       file_name=f"lich_khoa_so_{year}.xlsx", mime=XLSX,
                       help=ui.tr("schedule.download_help"))

    if can_edit and not can_edit_schedule:
        st.info(ui.tr("schedule.no_school_edit"))
    if can_edit_schedule:
        st.markdown("#### " + ui.tr("schedule.edit_title"))
        if not own_schedule:
            st.caption(ui.tr("schedule.copy_note"))
        c1, c2 = st.columns(2)
        period = c1.selectbox(ui.tr("schedule.field_period"), rules.PERIODS,
                              format_func=period_label, key="edit_period")
        grade = c2.selectbox(ui.tr("schedule.field_grade"), [None, *rules.GRADES],
                             format_func=grade_label, key="edit_grade")
        own = rows[(rows["period"] == period) & (rows["grade"].fillna(0) == (grade or 0))]
        # Start from the row itself, else from what applies to it now (the whole school's).
        start = (tuple(own.iloc[0][list(schedule.DATE_FIELDS)]) if len(own)
                 else schedule.window_for(data_dir, year, period, grade, school_id=school_id)
                 or (now.date(),) * 3)
        # The form's key follows the row, so its dates start from that row when it changes.
        with st.form(f"window_{year}_{period}_{grade}"):
            cols = st.columns(3)
            dates = [col.date_input(ui.tr(f"schedule.field_{name}"), value=value,
                                    format="DD/MM/YYYY")
                     for col, name, value in zip(cols, schedule.DATE_FIELDS, start)]
            if st.form_submit_button(ui.tr("schedule.save"), type="primary"):
                try:
                    schedule.set_window(data_dir, year, period, grade, *dates, actor,
                                        school_id=school_id)
                except schedule.ScheduleError as exc:
                    st.error(exc.message(lang))
                else:
                    done(ui.tr("schedule.saved", row=f"{period_label(period)}, {grade_label(grade)}"))
        if len(own) and st.button(ui.tr("schedule.delete"), key="delete_window"):
            schedule.delete_window(data_dir, year, period, grade, actor, school_id=school_id)
            done(ui.tr("schedule.deleted", row=f"{period_label(period)}, {grade_label(grade)}"))

        st.markdown("#### " + ui.tr("schedule.upload_title"))
        st.caption(ui.tr("schedule.upload_help", year=year))
        upload = ui.file_uploader(ui.tr("schedule.upload"), key="schedule_upload")
        if upload is not None and st.button(ui.tr("schedule.do_import", year=year)):
            try:
                count = schedule.import_excel(data_dir, upload.getvalue(), actor,
                                              school_year=year, file_name=upload.name,
                                              school_id=school_id)
            except ImportRefused as refused:
                st.error(ui.tr("schedule.refused", count=len(refused.problems)))
                shown = ui.problem_table(refused.problems)
                ui.table(shown, dict(zip(shown.columns, (
                    "problem.col_file", "problem.col_sheet", "problem.col_row",
                    "problem.col_column", "problem.col_message"))),
                    title=ui.tr("export.title_problems"), snapshot=None,
                    key="schedule-problems")
            else:
                done(ui.tr("schedule.imported", count=fmt_number(count, lang), year=year))

        if own_schedule and not schedule.windows(data_dir, year).empty:
            with st.expander(ui.tr("schedule.use_shared_title")):
                st.caption(ui.tr("schedule.use_shared_help", year=year))
                if st.button(ui.tr("schedule.use_shared"), key="use_shared"):
                    schedule.use_shared(data_dir, year, school_id, actor)
                    done(ui.tr("schedule.used_shared", year=year))

with tab_events:
    recorded = schedule.events(data_dir, year, school_id=school_id)
    if recorded.empty:
        st.info(ui.tr("schedule.no_events", year=year))
    else:
        ui.table(pd.DataFrame([{
            "at": fmt_datetime(e.at), "period": period_label(e.period),
            "action": ui.tr(f"schedule.action_{e.action}"),
            "scope": scope_label(e.scope, e.scope_value), "reason": e.reason or "",
            "recorded": f"{e.recorded_by or '–'} · {fmt_datetime(e.recorded_at)}",
        } for e in recorded.iloc[::-1].itertuples()]),
            {"at": "schedule.field_at", "period": "schedule.field_period",
             "action": "schedule.field_action", "scope": "schedule.field_scope",
             "reason": "schedule.field_reason", "recorded": "schedule.recorded"},
            title=ui.tr("export.title_events", year=year), snapshot=None, key="events")

    if can_edit:
        st.markdown("#### " + ui.tr("schedule.record_title"))
        scopes = [s for s in schedule.SCOPES if s != "class" or class_names]
        scope = st.radio(ui.tr("schedule.field_scope"), scopes, horizontal=True,
                         format_func=lambda s: ui.tr(f"schedule.scope_{s}"), key="event_scope")
        with st.form("lock_event"):
            c1, c2 = st.columns(2)
            period = c1.selectbox(ui.tr("schedule.field_period"), rules.PERIODS,
                                  format_func=period_label, key="event_period")
            action = c2.radio(ui.tr("schedule.field_action"), schedule.ACTIONS, horizontal=True,
                              format_func=lambda a: ui.tr(f"schedule.action_{a}"))
            scope_value = None
            if scope == "grade":
                scope_value = st.selectbox(ui.tr("schedule.field_grade"), rules.GRADES,
                                           format_func=grade_label)
            elif scope == "class":
                scope_value = st.selectbox(ui.tr("schedule.field_class"), list(class_names),
                                           format_func=lambda c: class_names[c])
            c1, c2 = st.columns(2)
            day = c1.date_input(ui.tr("schedule.field_day"), value=now.date(), format="DD/MM/YYYY")
            moment = c2.time_input(ui.tr("schedule.field_time"), value=now.time().replace(second=0))
            reason = st.text_area(ui.tr("schedule.field_reason"), help=ui.tr("schedule.reason_help"))
            if st.form_submit_button(ui.tr("schedule.record"), type="primary"):
                try:
                    schedule.record_event(data_dir, year, period, action, scope, scope_value,
                                          datetime.combine(day, moment), reason, actor,
                                          school_id=school_id)
                except schedule.ScheduleError as exc:
                    st.error(exc.message(lang))
                else:
                    done(ui.tr("schedule.recorded_done", action=ui.tr(f"schedule.action_{action}"),
                               scope=scope_label(scope, scope_value), period=period))

with tab_state:
    st.caption(ui.tr("schedule.state_help"))
    moments = ["now", "snapshot", "chosen"] if snapshot is not None else ["now", "chosen"]
    # Now, when it falls in the chosen year; else the data's time for that year.
    default_moment = ("now" if this_year == year else
                      "snapshot" if snapshot is not None and snapshot.school_year == year else "chosen")
    moment_kind = st.radio(ui.tr("schedule.state_when"), moments, horizontal=True,
                           index=moments.index(default_moment),
                           format_func=lambda m: ui.tr(f"schedule.when_{m}"))
    if moment_kind == "now":
        at = now
    elif moment_kind == "snapshot":
        at = snapshot.taken_at
    else:
        c1, c2 = st.columns(2)
        first_shown = snapshot.taken_at if snapshot is not None else now
        at = datetime.combine(
            c1.date_input(ui.tr("schedule.field_day"), value=first_shown.date(),
                          format="DD/MM/YYYY", key="state_day"),
            c2.time_input(ui.tr("schedule.field_time"), value=first_shown.time(),
                          key="state_time"))
    st.markdown("#### " + ui.tr("schedule.state_title", when=fmt_datetime(at)))
    if classes.empty:
        st.info(ui.tr("schedule.no_classes"))
    else:
        if snapshot.school_year != year:
            st.warning(ui.tr("schedule.classes_other_year", year=snapshot.school_year))
        states = schedule.lock_states(data_dir, year, classes, at, school_id)
        cols = st.columns(len(rules.PERIODS))
        for col, period in zip(cols, rules.PERIODS):
            of_period = states[states["period"] == period]
            col.metric(ui.tr("schedule.locked_count", period=period),
                       f"{int(of_period['locked'].sum())}/{len(of_period)}")
        shown_period = st.selectbox(ui.tr("schedule.field_period"), ["all", *rules.PERIODS],
                                    format_func=lambda p: ui.tr("schedule.all_periods")
                                    if p == "all" else period_label(p), key="state_period")
        if shown_period != "all":
            states = states[states["period"] == shown_period]

        def status(s) -> str:
            if s.locked:
                return ui.tr("schedule.status_locked")
            return ui.tr("schedule.status_unlocked" if s.source == "event" else "schedule.status_open")

        ui.table(pd.DataFrame([{
            "period": period_label(s.period), "class_name": s.class_name,
            "grade": grade_label(s.grade), "status": status(s),
            "since": fmt_datetime(s.since) if pd.notna(s.since) else "–",
            "by": s.by or "–", "reason": s.reason or "",
            "source": ui.tr(f"schedule.source_{s.source or 'none'}"),
        } for s in states.itertuples()]),
            {"period": "schedule.field_period", "class_name": "schedule.field_class",
             "grade": "schedule.field_grade", "status": "schedule.status",
             "since": "schedule.since", "by": "schedule.by", "reason": "schedule.field_reason",
             "source": "schedule.source"},
            title=ui.tr("schedule.state_title", when=fmt_datetime(at)), snapshot=snapshot,
            key="lock-states")
