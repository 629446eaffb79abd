"""Đội ngũ: headcounts, qualification, teachers per class, teaching assignments and workload,
leavers, and the sector database's account register with its checks."""
import pandas as pd
import streamlit as st

from csdl import accounts, charts, exports, records, staffing, ui
from csdl.i18n import fmt_date, fmt_datetime, fmt_number, fmt_percent
from csdl.literal import literal
from csdl.problems import ImportRefused

ui.guard("staff")
st.title(ui.tr("page.staff"))
lang = ui.lang()
snapshot, school = ui.snapshot_and_school()
school_id = school.school_id
ui.show_data_age(snapshot)
norms = ui.norms()

staff = staffing.annotate(ui.query(snapshot, "staff_list", school_id=school_id),
                          snapshot.taken_at)
classes = ui.query(snapshot, "staff_classes", school_id=school_id)
if staff.empty:
    st.info(ui.tr("staff.no_staff"))
st.caption(ui.tr("staff.working_note"))

per_class = staffing.teachers_per_class(staff, len(classes), norms.teachers_per_class)
quals = staffing.qualification_summary(staff)
leavers = staffing.leavers(staff)
cols = st.columns(6)
cols[0].metric(ui.tr("staff.metric_working"), fmt_number(int(staff["working"].sum()), lang))
cols[1].metric(ui.tr("staff.metric_teachers"), fmt_number(per_class["teachers"], lang))
cols[2].metric(ui.tr("staff.metric_per_class"),
               "–" if per_class["ratio"] is None else fmt_number(per_class["ratio"], lang, 2),
               delta=None if per_class["met"] is None else
               ("✓" if per_class["met"] else f"−{fmt_number(per_class['shortfall'], lang)}"),
               delta_color="normal" if per_class["met"] else "inverse")
cols[3].metric(ui.tr("staff.metric_standard"), fmt_percent(quals["share_standard"], lang))
cols[4].metric(ui.tr("staff.metric_above"), fmt_percent(quals["share_above"], lang))
cols[5].metric(ui.tr("staff.metric_leavers"), fmt_number(len(leavers), lang))
if per_class["met"] is None:
    st.caption(ui.tr("staff.no_classes"))
else:
    params = dict(norm=fmt_number(per_class["norm"], lang, 1),
                  classes=fmt_number(per_class["classes"], lang),
                  needed=fmt_number(per_class["needed"], lang),
                  teachers=fmt_number(per_class["teachers"], lang),
                  shortfall=fmt_number(per_class["shortfall"], lang))
    (st.success if per_class["met"] else st.warning)(
        ui.tr("staff.per_class_met" if per_class["met"] else "staff.per_class_short", **params))


def wrapped(df: pd.DataFrame, columns: dict[str, str], title: str, key: str) -> None:
    """A table beside a chart, in a narrow column: its labels wrap rather than being cut
    ("Mã hạng khác (không phải giáo viên tiểu học)" is wider than the column at 1366 px)."""
    ui.table(df, columns, title, snapshot, key=key, wrap=True)


def value_label(dimension: str, value) -> str:
    if dimension in ("age_band", "rank"):
        return ui.tr(f"staff.{'age' if dimension == 'age_band' else 'rank'}.{value}")
    return value if isinstance(value, str) else ui.tr("staff.not_stated")


(tab_count, tab_qual, tab_grid, tab_load, tab_left, tab_accounts) = ui.tabs((
    "staff.tab_headcount", "staff.tab_qualification", "staff.tab_assignments",
    "staff.tab_workload", "staff.tab_leavers", "staff.tab_accounts"), key="staff-tab")

with tab_count:
    if tab_count.open:
        st.caption(ui.tr("staff.age_note", date=fmt_date(snapshot.taken_at)))
        for i, dimension in enumerate(staffing.HEADCOUNT_DIMENSIONS):
            counts = staffing.headcount(staff, dimension)
            counts["label"] = [value_label(dimension, v) for v in counts["value"]]
            name = ui.tr(f"staff.dim.{dimension}")
            st.markdown(f"##### {name}")
            left, right = st.columns([3, 2])
            left.plotly_chart(ui.chart(charts.count_bars, counts, "label", "staff", lang),
                              width="stretch",
                              key=f"count-{dimension}")
            with right:
                wrapped(counts, {"label": f"staff.dim.{dimension}", "staff": "col.staff",
                                 "women": "col.women", "share": "col.share"},
                        ui.tr("staff.headcount_title", by=name.lower()), key=f"count-{dimension}")

with tab_qual:
    if tab_qual.open:
        st.caption(ui.tr("staff.qualification_note"))
        table = staffing.qualification_table(staff)
        table["label"] = [ui.tr(f"staff.standard.{s}") for s in table["standard"]]
        left, right = st.columns([3, 2])
        left.plotly_chart(ui.chart(charts.count_bars, table, "label", "staff", lang), width="stretch",
                          key="qualification")
        with right:
            wrapped(table, {"label": "col.standard", "staff": "col.staff", "share": "col.share"},
                    ui.tr("staff.qualification_title"), key="qualification")
        below = staffing.below_standard(staff)
        if len(below):
            st.markdown("##### " + ui.tr("staff.below_title"))
            ui.table(below.assign(standard_text=[ui.tr(f"staff.standard.{s}")
                                                 for s in below["standard"]]),
                     {"staff_id": "col.staff_id", "full_name": "col.full_name",
                      "qualification": "col.qualification", "major": "col.major",
                      "standard_text": "col.standard"},
                     title=ui.tr("staff.below_title"), snapshot=snapshot, key="below")

with tab_grid:
    if tab_grid.open:
        st.caption(ui.tr("staff.grid_note"))
        if classes.empty:
            st.info(ui.tr("staff.no_classes"))
        else:
            owed = ui.query(snapshot, "staff_assignment_grid", school_id=school_id)
            cells = staffing.assignment_cells(owed, classes, staff)
            gap_text = ui.tr("staff.gap")
            grid = staffing.assignment_grid(cells, gap_text)
            headers = {c: (ui.tr("col.class") if c == "class_name" else ui.tr("staff.homeroom")
                           if c == staffing.HOMEROOM else ui.item_name(c)) for c in grid.columns}
            shown = grid.rename(columns=headers)
            st.dataframe(shown.style.map(
                lambda v: "background-color: #fde0dd; color: #a50f15" if v == gap_text else ""),
                hide_index=True, width="stretch")
            found = staffing.gaps(cells)
            st.markdown("##### " + ui.tr("staff.gaps_title", count=fmt_number(len(found), lang)))
            if found.empty:
                st.success(ui.tr("staff.no_gaps"))
            else:
                ui.table(found.assign(item=[ui.tr("staff.homeroom") if c == staffing.HOMEROOM
                                            else ui.item_name(c) for c in found["item_code"]]),
                         {"class_name": "col.class", "item": "col.subject"},
                         title=ui.tr("staff.gaps_title", count=len(found)), snapshot=snapshot,
                         key="gaps")
            grid_sheet = exports.Sheet(
                ui.tr("staff.grid_title"), shown, ui.tr("staff.grid_title"),
                ui.tr("export.subtitle", snapshot=snapshot.snapshot_id,
                      when=fmt_datetime(snapshot.taken_at)))
            st.download_button(ui.tr("export.download"), lambda: exports.workbook([grid_sheet]),
                               file_name="phan_cong_chuyen_mon.xlsx", key="dl-grid",
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

with tab_load:
    if tab_load.open:
        st.caption(ui.tr("staff.workload_note"))
        load = staffing.workload(ui.query(snapshot, "staff_assignments", school_id=school_id),
                                 staff, classes)
        if load.empty:
            st.info(ui.tr("staff.no_staff"))
        else:
            def note(row) -> str:
                if not row.in_staff_list:
                    return ui.tr("staff.not_in_list")
                if not row.working:
                    return ui.tr("staff.not_working", status=row.status)
                return ui.tr("staff.no_assignment") if row.assignments == 0 else ""

            ui.table(load.assign(
                name=[n if isinstance(n, str) else s
                      for n, s in zip(load["full_name"], load["staff_id"])],
                subject_names=[", ".join(ui.item_name(c) for c in codes)
                               for codes in load["subject_codes"]],
                note=[note(r) for r in load.itertuples()]),
                {"name": "col.full_name", "job_position": "col.position", "classes": "col.classes",
                 "subject_names": "col.subjects", "assignments": "col.assignments",
                 "students": "col.students_distinct", "students_taught": "col.students_taught",
                 "homeroom_of": "col.homeroom_of", "note": "col.note"},
                title=ui.tr("staff.workload_title"), snapshot=snapshot, key="workload")

with tab_left:
    if tab_left.open:
        st.caption(ui.tr("staff.leavers_note"))
        if leavers.empty:
            st.success(ui.tr("staff.no_leavers"))
        else:
            ui.table(leavers, {"staff_id": "col.staff_id", "full_name": "col.full_name",
                               "job_position": "col.position", "status": "col.staff_status"},
                     title=ui.tr("staff.leavers_title"), snapshot=snapshot, key="leavers")

with tab_accounts:
    if tab_accounts.open:
        data_dir = ui.data_dir()
        st.caption(ui.tr("accounts.note"))
        st.download_button(ui.tr("accounts.template"), accounts.template,
                           file_name="phu_luc_1_tai_khoan.xlsx", key="dl-account-template",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        if set(accounts.IMPORT_ROLES) & ui.current_roles():
            upload = ui.file_uploader(ui.tr("accounts.upload"), key="account_upload")
            if upload is not None and st.button(ui.tr("accounts.do_import"), key="account_import"):
                try:
                    count = accounts.import_register(data_dir, school_id, upload.getvalue(),
                                                     ui.user_name(), file_name=upload.name)
                except ImportRefused as refused:
                    st.error(ui.tr("accounts.refused", count=len(refused.problems)))
                    shown = ui.problem_table(refused.problems)
                    ui.table(shown, dict(zip(shown.columns, (
                        "problem.col_file", "problem.col_sheet", "problem.col_row",
                        "problem.col_column", "problem.col_message"))),
                        title=ui.tr("export.title_problems"), snapshot=None, key="account-problems")
                except records.RecordsBusy as exc:
                    st.error(ui.tr(exc.key, seconds=fmt_number(exc.seconds, lang)))
                else:
                    st.success(ui.tr("accounts.imported", count=fmt_number(count, lang)))
        else:
            st.caption(ui.tr("accounts.import_roles"))
        register = accounts.register(data_dir, school_id)
        if register.empty:
            st.info(ui.tr("accounts.none"))
        else:
            first = register.iloc[0]
            st.caption(ui.tr("accounts.source", file=literal(first["file_name"]),
                             who=literal(first["imported_by"] or "–"),
                             when=fmt_datetime(pd.Timestamp(first["imported_at"]).to_pydatetime())))
            admin_ids = accounts.app_admin_ids(data_dir, staff)
            names = ", ".join(staff.loc[staff["staff_id"].isin(admin_ids), "full_name"].dropna())
            st.caption(ui.tr("accounts.admin_note", names=f" ({literal(names)})" if names else ""))
            found = accounts.checks(register, staff, lang, admin_ids)
            ui.table(accounts.summary(found, lang),
                     {"name": "col.check", "count": "col.count", "description": "col.description"},
                     title=ui.tr("accounts.checks_title"), snapshot=snapshot, key="account-checks")
            st.markdown("##### " + ui.tr("accounts.findings_title"))
            if found.empty:
                st.success(ui.tr("accounts.no_findings"))
            else:
                ui.table(found.assign(check_name=[ui.tr(f"accounts.{c}.name") for c in found["check"]]),
                         {"check_name": "col.check", "username": "col.username",
                          "staff_id": "col.staff_id", "full_name": "col.full_name",
                          "job_position": "col.position", "detail": "col.detail"},
                         title=ui.tr("accounts.findings_title"), snapshot=snapshot,
                         key="account-findings")
            with st.expander(ui.tr("accounts.register_title")):
                ui.table(register, {"row": "col.row", "username": "col.username",
                                    "staff_id": "col.staff_id", "full_name": "col.full_name",
                                    "permissions": "col.permissions", "status": "col.account_status"},
                         key="account-register")
