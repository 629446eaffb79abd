"""Thay đổi sau khóa sổ: every value changed after a period locked, the change requests that
allow them and the principal's decisions; and the difference between any two snapshots."""
import pandas as pd
import streamlit as st

from csdl import changes, rules, snapshots, ui
from csdl.i18n import fmt_datetime, fmt_number
from csdl.literal import literal

ui.guard("changes")
st.title(ui.tr("page.changes"))
data_dir = ui.data_dir()
lang = ui.lang()
actor = ui.user_name()
roles = ui.current_roles()
can_record = "admin" in roles  # the administrator records requests
can_decide = "principal" in roles  # only the principal approves or rejects
snapshot, school = ui.snapshot_and_school()
ui.show_data_age(snapshot)


def wrapped(df: pd.DataFrame, columns: dict[str, str], title: str, key: str) -> None:
    """A table read whole, with many counts under long headers or a reason typed by a teacher:
    it wraps, so no column or text is cut on a 1366 px screen (a grid would scroll sideways)."""
    ui.table(df, columns, title, snapshot, key=key, wrap=True)


def done(message: str) -> None:
    st.session_state["changes_done"] = message
    st.rerun()


if message := st.session_state.pop("changes_done", None):
    st.success(message)


def readable(df: pd.DataFrame) -> pd.DataFrame:
    """Names for codes, so the table reads as the printed sheet does."""
    student_row = ui.tr("changes.student_row")
    return df.assign(
        item=[name if t != "student" else student_row
              for name, t in zip(ui.item_names(df["item_code"]), df["item_type"])],
        field_text=ui.tr_each("changes.field_", df["field"]),
        change_text=ui.tr_each("changes.change_", df["change"]),
        before_text=df["before"].fillna("–"), after_text=df["after"].fillna("–"))


DIFF_COLUMNS = {"class_name": "col.class", "student_id": "col.student_id",
                "full_name": "col.student", "period": "ui.period", "item": "col.item",
                "field_text": "changes.col_field", "before_text": "changes.col_before",
                "after_text": "changes.col_after", "change_text": "changes.col_change"}

tab_after, tab_requests, tab_compare = ui.tabs(
    ("changes.tab_after", "changes.tab_requests", "changes.tab_compare"), key="changes-tab")

def unit_name(unit: str | None) -> str:
    if unit is None:
        return ui.tr("changes.several_units")
    return ui.tr("changes.unit_year") if unit == changes.YEAR_UNIT else ui.item_name(unit)


def teacher_name(teacher) -> str:
    return teacher if isinstance(teacher, str) and teacher else ui.tr("changes.no_teacher")


PERIOD_NAMES = rules.PERIOD_NAMES_EN if lang == "en" else rules.PERIOD_NAMES_VI


def period_names(periods) -> list[str]:
    """'GK1, CK1' → the periods' names."""
    return [", ".join(PERIOD_NAMES.get(x, x) for x in str(p).split(", ")) if p else "–"
            for p in periods]


def values_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per value, in words: student, item, field, before → after, status."""
    return readable(df).assign(
        period_text=period_names(df["period"]),
        before_after=[f"{b} → {a}" for b, a in zip(df["before"].fillna("–"), df["after"].fillna("–"))],
        decision_text=ui.tr_each("changes.decision_", df["decision"]))


GROUP_COLUMNS = {"class_name": "col.class", "unit_text": "col.subject",
                 "teacher_text": "col.teacher", "periods_text": "changes.col_periods",
                 "changes": "changes.col_changes", "not_approved": "changes.col_not_approved",
                 "none": "changes.col_none", "pending": "changes.col_pending",
                 "rejected": "changes.col_rejected", "approved": "changes.col_approved",
                 "student_left": "changes.col_student_left"}
VALUE_COLUMNS = {"full_name": "col.student", "period_text": "ui.period", "item": "col.item",
                 "field_text": "changes.col_field", "before_after": "changes.col_before_after",
                 "change_text": "changes.col_change", "decision_text": "changes.col_decision"}

after = ui.changes_after_lock(snapshot, school.school_id)


def after_tab() -> None:
    """The groups worst first, then the picked group value by value, and the requests."""
    locked = changes.locked_periods(data_dir, snapshot, school.school_id)
    if not locked and after.empty:
        st.info(ui.tr("changes.none_locked"))
        return
    st.caption(" · ".join(ui.tr("changes.locked_at", period=lp.period,
                                when=fmt_datetime(lp.locked_at)) for lp in locked))
    grouped = changes.with_groups(after, changes.teachers(data_dir, snapshot, school.school_id))
    groups = changes.group_table(grouped)
    pending = changes.not_approved(after)
    c1, c2, c3 = st.columns(3)
    c1.metric(ui.tr("changes.count"), fmt_number(len(after), lang))
    c2.metric(ui.tr("changes.not_approved"), fmt_number(len(pending), lang))
    c3.metric(ui.tr("changes.groups_count"),
              fmt_number(int((groups["not_approved"] > 0).sum()), lang))
    if after.empty:
        st.success(ui.tr("changes.no_changes"))
        return
    only_pending = st.toggle(ui.tr("changes.only_groups_not_approved"), value=len(pending) > 0)
    shown = groups[groups["not_approved"] > 0] if only_pending else groups
    shown = shown.reset_index(drop=True)
    if shown.empty:
        st.success(ui.tr("changes.all_approved"))
        return
    shown = shown.assign(unit_text=[unit_name(u) for u in shown["unit"]],
                         periods_text=period_names(shown["periods"]),
                         teacher_text=[teacher_name(t) for t in shown["teacher"]])
    wrapped(shown, GROUP_COLUMNS, ui.tr("changes.groups_title"), key="change_groups")
    labels = [ui.tr("changes.group_label", class_name=r.class_name, unit=r.unit_text,
                    teacher=r.teacher_text, count=fmt_number(int(r.changes), lang),
                    not_approved=fmt_number(int(r.not_approved), lang))
              for r in shown.itertuples()]
    pick = st.selectbox(ui.tr("changes.pick_group"), range(len(shown)),
                        format_func=labels.__getitem__, key="change_group")
    group = shown.iloc[pick]
    values = changes.members(grouped, group).reset_index(drop=True)
    picked = ui.table(
        values_table(values), VALUE_COLUMNS,
        title=ui.tr("changes.group_values_title", class_name=group["class_name"],
                    unit=group["unit_text"], teacher=group["teacher_text"]),
        snapshot=snapshot, select_key="after_lock" if can_record else None,
        key="group_values")
    if can_record:
        staff = list(ui.query(snapshot, "staff_names", school_id=school.school_id)["full_name"])
        askable = int((values["decision"] == "none").sum())
        st.markdown("##### " + ui.tr("changes.group_request_title"))
        if not askable:
            st.caption(ui.tr("changes.group_nothing_to_request"))
        else:
            st.caption(ui.tr("changes.group_request_help", count=fmt_number(askable, lang)))
            with st.form("group_request", clear_on_submit=True):
                default = staff.index(group["teacher"]) if group["teacher"] in staff else 0
                teacher = st.selectbox(ui.tr("changes.requested_by"), staff, index=default)
                reason = st.text_area(ui.tr("changes.reason"))
                if st.form_submit_button(ui.tr("changes.group_record",
                                               count=fmt_number(askable, lang)), type="primary"):
                    try:
                        changes.record_group_request(
                            data_dir, school_year=snapshot.school_year,
                            school_id=school.school_id, group=values, reason=reason,
                            requested_by=teacher or "", actor=actor)
                    except changes.ChangeError as exc:
                        st.error(ui.tr(exc.key, **exc.params))
                    else:
                        done(ui.tr("changes.group_recorded", count=fmt_number(askable, lang)))
        if picked is None:
            st.caption(ui.tr("changes.pick_value_to_record"))
        else:
            row = values.iloc[picked]
            st.markdown("##### " + ui.tr("changes.new_request"))
            with st.form("new_request", clear_on_submit=True):
                st.markdown(literal(  # the name and values come from the data: never markup
                    f"{row['full_name']} · {row['period']} · {ui.item_name(row['item_code'])}"
                    f" · {ui.tr('changes.field_' + row['field'])}: "
                    f"{row['before'] if pd.notna(row['before']) else '–'} → "
                    f"{row['after'] if pd.notna(row['after']) else '–'}"))
                teacher = st.selectbox(ui.tr("changes.requested_by"), staff)
                reason = st.text_area(ui.tr("changes.reason"))
                if st.form_submit_button(ui.tr("changes.record"), type="primary"):
                    try:
                        request_id = changes.record_request(
                            data_dir, school_year=snapshot.school_year,
                            school_id=school.school_id, student_id=row["student_id"],
                            period=row["period"], item_type=row["item_type"],
                            item_code=row["item_code"], field=row["field"],
                            old_value=row["before"] if pd.notna(row["before"]) else None,
                            new_value=row["after"] if pd.notna(row["after"]) else None,
                            reason=reason, requested_by=teacher or "", actor=actor)
                    except changes.ChangeError as exc:
                        st.error(ui.tr(exc.key, **exc.params))
                    else:
                        done(ui.tr("changes.recorded", request_id=request_id))

with tab_after:
    if tab_after.open:
        after_tab()

with tab_requests:
    if tab_requests.open:
        reqs = changes.requests(data_dir, snapshot.school_year, school.school_id)
        if reqs.empty:
            st.info(ui.tr("changes.no_requests"))
        else:
            # A request recorded before groups has no class: the student's class in the data.
            student_class = dict(zip(after["student_id"], after["class_name"]))
            asked = changes.batches(reqs)
            first_student = reqs.groupby("batch")["student_id"].first()
            asked = asked.assign(
                class_text=[c if isinstance(c, str) else student_class.get(first_student[b], "–")
                            for c, b in zip(asked["class_name"], asked["batch"])],
                unit_text=[unit_name(u) for u in asked["unit"]],
                teacher_text=[t if isinstance(t, str) and t else r
                              for t, r in zip(asked["teacher"], asked["requested_by"])],
                when=[fmt_datetime(pd.Timestamp(a)) for a in asked["recorded_at"]],
                periods_text=period_names(asked["periods"]),
                decision_text=ui.tr_each("changes.decision_", asked["decision"]))
            wrapped(asked, {"class_text": "col.class", "unit_text": "col.subject",
                            "teacher_text": "col.teacher", "periods_text": "changes.col_periods",
                            "cells": "changes.col_cells", "requested_by": "changes.requested_by",
                            "when": "changes.col_recorded_at", "reason": "changes.reason",
                            "decision_text": "changes.col_decision"},
                    ui.tr("changes.requests_title"), key="batches")
            with st.expander(ui.tr("changes.request_details")):
                wrapped(reqs.assign(
                    full_name=[n for n in reqs["student_id"].map(
                        dict(zip(after["student_id"], after["full_name"]))).fillna("–")],
                    item=ui.item_names(reqs["item_code"]),
                    period_text=period_names(reqs["period"]),
                    field_text=ui.tr_each("changes.field_", reqs["field"]),
                    before_after=[f"{b} → {a}" for b, a in
                                  zip(reqs["old_value"].fillna("–"), reqs["new_value"].fillna("–"))],
                    decision_text=ui.tr_each("changes.decision_", reqs["decision"]),
                    decided=[f"{d} · {fmt_datetime(pd.Timestamp(a))}" if pd.notna(d) else "–"
                             for d, a in zip(reqs["decided_by"], reqs["decided_at"])]),
                    {"full_name": "col.student", "period_text": "ui.period", "item": "col.item",
                     "field_text": "changes.col_field", "before_after": "changes.col_before_after",
                     "requested_by": "changes.requested_by", "decision_text": "changes.col_decision",
                     "decision_note": "changes.note", "decided": "changes.col_decided"},
                    ui.tr("changes.request_details"), key="request_cells")
            open_batches = asked[asked["decision"] == "pending"].reset_index(drop=True)
            if can_decide and len(open_batches):
                labels = [ui.tr("changes.batch_label", class_name=r.class_text, unit=r.unit_text,
                                teacher=r.teacher_text, count=fmt_number(int(r.pending), lang),
                                requested_by=r.requested_by, when=r.when)
                          for r in open_batches.itertuples()]
                st.markdown("##### " + ui.tr("changes.decide_title"))
                with st.form("decide", clear_on_submit=True):
                    pick = st.selectbox(ui.tr("changes.col_request"), range(len(open_batches)),
                                        format_func=labels.__getitem__)
                    note = st.text_input(ui.tr("changes.note"))
                    c1, c2 = st.columns(2)
                    approve = c1.form_submit_button(ui.tr("changes.approve"), type="primary")
                    reject = c2.form_submit_button(ui.tr("changes.reject"))
                    if approve or reject:
                        try:
                            count = changes.decide_batch(
                                data_dir, school.school_id, int(open_batches.loc[pick, "batch"]),
                                "approved" if approve else "rejected", note, actor)
                        except changes.ChangeError as exc:
                            st.error(ui.tr(exc.key, **exc.params))
                        else:
                            done(ui.tr("changes.batch_decided", count=fmt_number(count, lang),
                                       label=labels[pick]))
            elif not can_decide and len(open_batches):
                st.caption(ui.tr("changes.only_principal"))

with tab_compare:
    if tab_compare.open:
        snaps = [s for s in reversed(ui.snapshots_available())]
        ids = [s.snapshot_id for s in snaps]
        label = {s.snapshot_id: f"{fmt_datetime(s.taken_at)} · {s.school_year}" for s in snaps}
        c1, c2, c3 = st.columns(3)
        before = c1.selectbox(ui.tr("changes.before_snapshot"), ids, index=min(1, len(ids) - 1),
                              format_func=label.get)
        after_id = c2.selectbox(ui.tr("changes.after_snapshot"), ids, format_func=label.get)
        period = c3.selectbox(ui.tr("ui.period"), [None, *rules.PERIODS],
                              format_func=lambda p: ui.tr("changes.all_periods") if p is None else p)
        try:
            compared = ui.snapshot_diff(before, after_id, school.school_id, period)
        except snapshots.SnapshotError as exc:
            st.error(str(exc))
        else:
            counts = compared["change"].value_counts()
            st.caption(" · ".join(f"{ui.tr('changes.change_' + c)}: {fmt_number(int(counts.get(c, 0)), lang)}"
                                  for c in ("added", "changed", "removed")))
            ui.table(readable(compared), DIFF_COLUMNS,
                     title=ui.tr("changes.compare_title", before=label[before], after=label[after_id]),
                     snapshot=snapshots.get_snapshot(data_dir, after_id), key="compare")
