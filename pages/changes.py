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

tab_after, tab_requests, tab_compare = st.tabs(
    [ui.tr("changes.tab_after"), ui.tr("changes.tab_requests"), ui.tr("changes.tab_compare")])

with tab_after:
    locked = changes.locked_periods(data_dir, snapshot, school.school_id)
    if not locked:
        st.info(ui.tr("changes.none_locked"))
    else:
        st.caption(" · ".join(ui.tr("changes.locked_at", period=lp.period,
                                    when=fmt_datetime(lp.locked_at)) for lp in locked))
        after = ui.changes_after_lock(snapshot, school.school_id)
        pending = changes.not_approved(after)
        c1, c2 = st.columns(2)
        c1.metric(ui.tr("changes.count"), fmt_number(len(after), lang))
        c2.metric(ui.tr("changes.not_approved"), fmt_number(len(pending), lang))
        only_pending = st.toggle(ui.tr("changes.only_not_approved"), value=True)
        shown = (pending if only_pending else after).reset_index(drop=True)
        picked = ui.table(
            readable(shown).assign(decision_text=[ui.tr(f"changes.decision_{d}")
                                                  for d in shown["decision"]]),
            DIFF_COLUMNS | {"decision_text": "changes.col_decision"},
            title=ui.tr("changes.after_title"), snapshot=snapshot,
            select_key="after_lock" if can_record else None)
        if can_record and picked is not None:
            row = shown.iloc[picked]
            if row["item_type"] == "student":
                st.info(ui.tr("changes.student_no_request"))
            else:
                st.markdown("##### " + ui.tr("changes.new_request"))
                staff = ui.query(snapshot, "staff_names", school_id=school.school_id)
                with st.form("new_request", clear_on_submit=True):
                    st.markdown(literal(  # the name and values come from the data: never markup
                        f"{row['full_name']} · {row['period']} · {ui.item_name(row['item_code'])}"
                        f" · {ui.tr('changes.field_' + row['field'])}: "
                        f"{row['before'] if pd.notna(row['before']) else '–'} → "
                        f"{row['after'] if pd.notna(row['after']) else '–'}"))
                    teacher = st.selectbox(ui.tr("changes.requested_by"), list(staff["full_name"]))
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
        elif can_record:
            st.caption(ui.tr("changes.pick_to_record"))

with tab_requests:
    reqs = changes.requests(data_dir, snapshot.school_year, school.school_id)
    if reqs.empty:
        st.info(ui.tr("changes.no_requests"))
    else:
        ui.table(reqs.assign(
            item=ui.item_names(reqs["item_code"]),
            field_text=ui.tr_each("changes.field_", reqs["field"]),
            old=reqs["old_value"].fillna("–"), new=reqs["new_value"].fillna("–"),
            decision_text=ui.tr_each("changes.decision_", reqs["decision"]),
            decided=[f"{d} · {fmt_datetime(pd.Timestamp(a))}" if pd.notna(d) else "–"
                     for d, a in zip(reqs["decided_by"], reqs["decided_at"])]),
            {"id": "changes.col_request", "student_id": "col.student_id", "period": "ui.period",
             "item": "col.item", "field_text": "changes.col_field", "old": "changes.col_before",
             "new": "changes.col_after", "reason": "changes.reason",
             "requested_by": "changes.requested_by", "decision_text": "changes.col_decision",
             "decision_note": "changes.note", "decided": "changes.col_decided"},
            title=ui.tr("changes.requests_title"), snapshot=snapshot)
        open_requests = reqs[reqs["decision"] == "pending"]
        if can_decide and len(open_requests):
            st.markdown("##### " + ui.tr("changes.decide_title"))
            with st.form("decide", clear_on_submit=True):
                request_id = st.selectbox(
                    ui.tr("changes.col_request"), list(open_requests["id"]),
                    format_func=lambda i: f"#{i} · " + " · ".join(str(v) for v in open_requests.set_index("id").loc[i, ["student_id", "period", "item_code", "new_value"]]))
                note = st.text_input(ui.tr("changes.note"))
                c1, c2 = st.columns(2)
                approve = c1.form_submit_button(ui.tr("changes.approve"), type="primary")
                reject = c2.form_submit_button(ui.tr("changes.reject"))
                if approve or reject:
                    try:
                        changes.decide(data_dir, int(request_id),
                                       "approved" if approve else "rejected", note, actor)
                    except changes.ChangeError as exc:
                        st.error(ui.tr(exc.key, **exc.params))
                    else:
                        done(ui.tr("changes.decided", request_id=request_id))
        elif not can_decide and len(open_requests):
            st.caption(ui.tr("changes.only_principal"))

with tab_compare:
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
