"""Đối chiếu bản in: print a class summary under a print code, check a printed sheet against
the database (by its code, or a sheet printed by the sector system through its export or its
totals), and the board of which classes are printed, checked and signed off."""
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from csdl import printing, rules, snapshots, ui
from csdl.i18n import fmt_datetime, fmt_number
from csdl.literal import literal
from csdl.problems import ImportRefused
from csdl.text import fold

ui.guard("printed")
st.title(ui.tr("page.printed"))
data_dir = ui.data_dir()
lang = ui.lang()
actor = ui.user_name()
PERIOD_NAMES = rules.PERIOD_NAMES_EN if lang == "en" else rules.PERIOD_NAMES_VI
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf": "application/pdf"}

snapshot, school = ui.snapshot_and_school()
school_id = school.school_id
st.subheader(literal(school["name"]))
ui.show_data_age(snapshot)
period = ui.pick_period(ui.current_period(snapshot, school_id))
classes = ui.query(snapshot, "classes", school_id=school_id)
class_names = dict(zip(classes["class_id"], classes["class_name"]))
# Checks compare with what the database holds now: the latest snapshot of the year.
latest = snapshots.latest_snapshot(data_dir, snapshot.school_year) or snapshot
can_sign = bool({"principal", "vice_principal"} & ui.current_roles())


def period_label(code: str) -> str:
    return f"{PERIOD_NAMES[code]} ({code})"


def class_label(class_id: str) -> str:
    return class_names.get(class_id, class_id)


def done(message: str) -> None:
    """Show `message` after the rerun that redraws the tables with the change."""
    st.session_state["printed_done"] = message
    st.rerun()


def show_error(exc: printing.PrintingError) -> None:
    st.error(ui.tr(exc.key, **exc.params))


def show_refused(refused: ImportRefused) -> None:
    st.error(ui.tr("printing.upload_refused", count=len(refused.problems)))
    shown = ui.problem_table(refused.problems)
    ui.table(shown, dict(zip(shown.columns, ("problem.col_file", "problem.col_sheet",
                                             "problem.col_row", "problem.col_column",
                                             "problem.col_message"))),
             title=ui.tr("export.title_problems"), snapshot=None, key="printed-problems")


def value_text(field: str, value: object) -> str:
    if value is None or pd.isna(value):
        return "–"
    if field == "class_id":
        return class_label(value)
    if field in ("completed", "promoted"):
        return "x" if value == "true" else "–"
    return str(value)


def differences_table(found: pd.DataFrame, title: str, key: str) -> None:
    """The differences in the user's words, with the change request's status."""
    shown = pd.DataFrame({
        "student_id": found["student_id"],
        "full_name": found["full_name"],
        "item": [ui.tr("printing.item_student") if t == "student" else
                 ui.tr("printing.item_year") if t == "year" else ui.item_name(c)
                 for t, c in zip(found["item_type"], found["item_code"])],
        "field": [ui.tr(f"changes.field_{f}") for f in found["field"]],
        "before": [value_text(f, v) for f, v in zip(found["field"], found["before"])],
        "after": [value_text(f, v) for f, v in zip(found["field"], found["after"])],
        "change": [ui.tr(f"changes.change_{c}") for c in found["change"]],
        "decision": [ui.tr(f"changes.decision_{d}") for d in found["decision"]],
    })
    ui.table(shown, {"student_id": "col.student_id", "full_name": "col.student",
                     "item": "printing.col_item", "field": "printing.col_field",
                     "before": "printing.col_before", "after": "printing.col_after",
                     "change": "printing.col_change", "decision": "printing.col_decision"},
             title=title, snapshot=latest, key=key)


def report_differences(found: pd.DataFrame) -> None:
    if found.empty:
        st.success(ui.tr("printing.no_differences"))
        return
    st.warning(ui.tr("printing.differences", count=fmt_number(len(found), lang)))
    not_approved = int((found["decision"] != "approved").sum())
    if not_approved:
        st.error(ui.tr("printing.not_approved", count=fmt_number(not_approved, lang)))


if message := st.session_state.pop("printed_done", None):
    st.success(message)

tab_print, tab_code, tab_elsewhere, tab_board = st.tabs(
    [ui.tr("printing.tab_print"), ui.tr("printing.tab_code"), ui.tr("printing.tab_elsewhere"),
     ui.tr("printing.tab_board")])

with tab_print:
    st.caption(ui.tr("printing.print_help"))
    if classes.empty:
        st.info(ui.tr("printing.no_classes"))
    else:
        c1, c2 = st.columns(2)
        class_id = c1.selectbox(ui.tr("printing.class"), list(class_names), format_func=class_label,
                                key="print_class")
        fmt = c2.radio(ui.tr("printing.format"), printing.FORMATS, horizontal=True,
                       format_func=lambda f: ui.tr(f"printing.format_{f}"), key="print_format")
        st.caption(ui.tr("printing.from_snapshot", snapshot=snapshot.snapshot_id,
                         when=fmt_datetime(snapshot.taken_at)))
        if snapshot.snapshot_id != latest.snapshot_id:
            st.warning(ui.tr("printing.not_latest"))
        # The print is registered on this press; the download then only hands out the bytes.
        if st.button(ui.tr("printing.create"), type="primary", key="print_create"):
            try:
                code, content = printing.print_sheet(data_dir, snapshot, school_id, class_id,
                                                     period, fmt, actor)
            except printing.PrintingError as exc:
                show_error(exc)
            else:
                st.session_state["printed_last"] = {
                    "code": code, "content": content, "format": fmt,
                    "name": f"bang-tong-hop-{fold(class_label(class_id))}-{period}-{code}.{fmt}",
                    "class_name": class_label(class_id), "period": period}
        last = st.session_state.get("printed_last")
        if last:
            st.success(ui.tr("printing.created", code=last["code"], class_name=literal(last["class_name"]),
                             period=period_label(last["period"])))
            st.download_button(ui.tr("printing.download", code=last["code"]), last["content"],
                               file_name=last["name"], mime=MIME[last["format"]],
                               key="print_download")
        done_prints = printing.prints(data_dir, snapshot.school_year, school_id, period)
        done_prints = done_prints[done_prints["class_id"] == class_id]
        if len(done_prints):
            done_prints = done_prints.assign(
                printed_at=[fmt_datetime(pd.Timestamp(v).to_pydatetime())
                            for v in done_prints["printed_at"]],
                format=[ui.tr(f"printing.format_{f}") for f in done_prints["format"]],
                snapshot_id=[fmt_datetime(snapshots.taken_at_of(s))
                             for s in done_prints["snapshot_id"]])
            ui.table(done_prints, {"print_code": "printing.col_code",
                                   "printed_at": "printing.col_printed_at",
                                   "printed_by": "printing.col_printed_by",
                                   "snapshot_id": "printing.col_snapshot",
                                   "format": "printing.col_format"},
                     title=ui.tr("printing.prints_title", class_name=class_label(class_id),
                                 period=period), snapshot=snapshot, key="prints")

with tab_code:
    typed_code = st.text_input(ui.tr("printing.code_input"), key="check_code").strip()
    if typed_code:
        try:
            sheet = printing.find_print(data_dir, typed_code)
            compared = snapshots.latest_snapshot(data_dir, sheet.school_year) or latest
            sheet, found = printing.check_by_code(data_dir, sheet.print_code, compared)
        except printing.PrintingError as exc:
            show_error(exc)
        else:
            st.info(ui.tr("printing.sheet_found", code=sheet.print_code,
                          class_name=literal(sheet.class_name or sheet.class_id),
                          period=period_label(sheet.period), when=fmt_datetime(sheet.printed_at),
                          by=sheet.printed_by or "–",
                          snapshot=fmt_datetime(snapshots.taken_at_of(sheet.snapshot_id))))
            st.caption(ui.tr("printing.compared_with", snapshot=compared.snapshot_id,
                             when=fmt_datetime(compared.taken_at)))
            report_differences(found)
            if len(found):
                differences_table(found, ui.tr("printing.diff_title", code=sheet.print_code),
                                  key="code_diff")
            if st.button(ui.tr("printing.record_check"), key="record_code_check"):
                printing.record_check(
                    data_dir, school_year=sheet.school_year, school_id=sheet.school_id,
                    class_id=sheet.class_id, period=sheet.period, method="code",
                    differences=len(found), actor=actor, print_code=sheet.print_code)
                done(ui.tr("printing.check_recorded", class_name=literal(sheet.class_name or sheet.class_id),
                           period=period_label(sheet.period), count=fmt_number(len(found), lang)))

with tab_elsewhere:
    st.caption(ui.tr("printing.elsewhere_help"))
    st.caption(ui.tr("printing.compared_with", snapshot=latest.snapshot_id,
                     when=fmt_datetime(latest.taken_at)))
    method = st.radio(ui.tr("printing.method"), ["upload", "totals"], horizontal=True,
                      key="elsewhere_method",
                      format_func=lambda m: ui.tr(f"printing.method_{m}"))
    if method == "upload":
        upload = ui.file_uploader(ui.tr("printing.upload"), key="elsewhere_upload")
        if upload is not None:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / Path(upload.name).name
                path.write_bytes(upload.getvalue())
                try:
                    checked = printing.check_upload(data_dir, path, upload.name, latest,
                                                    school_id, period_hint=period)
                except ImportRefused as refused:
                    show_refused(refused)
                    checked = None
            if checked is not None:
                st.info(ui.tr("printing.upload_read", name=upload.name,
                              period=period_label(checked.period),
                              classes=literal(", ".join(class_label(c) for c in checked.class_ids))))
                found = checked.differences
                report_differences(found)
                if len(found):
                    differences_table(found, ui.tr("printing.diff_title", code=upload.name),
                                      key="upload_diff")
                if st.button(ui.tr("printing.record_check"), key="record_upload_check"):
                    counts = printing.differences_by_class(found, checked.class_ids)
                    for class_id, count in counts.items():
                        printing.record_check(
                            data_dir, school_year=latest.school_year, school_id=school_id,
                            class_id=class_id, period=checked.period, method="upload",
                            differences=count, actor=actor, note=upload.name)
                    done("\n\n".join(ui.tr("printing.check_recorded", class_name=literal(class_label(c)),
                                           period=period_label(checked.period),
                                           count=fmt_number(n, lang))
                                     for c, n in counts.items()))
    elif not classes.empty:
        st.caption(ui.tr("printing.totals_help"))
        class_id = st.selectbox(ui.tr("printing.class"), list(class_names),
                                format_func=class_label, key="totals_class")
        actual = printing.class_totals(data_dir, latest, school_id, class_id, period)
        grids = printing.typing_grids(actual)
        items = grids["items"].assign(item=[ui.item_name(c) for c in grids["items"]["item_code"]])
        level_columns = {level: st.column_config.NumberColumn(level, min_value=0, step=1)
                         for level in printing.ITEM_GRID_LEVELS}
        # The grid's key follows the class and period, so it starts blank for another sheet.
        typed_items = st.data_editor(
            items[["item_type", "item_code", "item", *printing.ITEM_GRID_LEVELS]],
            column_order=["item", *printing.ITEM_GRID_LEVELS], hide_index=True,
            disabled=["item"], width="stretch", key=f"totals_items_{class_id}_{period}",
            column_config={"item": st.column_config.TextColumn(ui.tr("printing.col_item")),
                           **level_columns})
        typed_grids = {"items": typed_items}
        if "classification" in grids:
            st.markdown("##### " + ui.tr("printing.totals_classification"))
            typed_grids["classification"] = st.data_editor(
                grids["classification"], hide_index=True, width="stretch",
                key=f"totals_classification_{class_id}_{period}",
                column_config={c: st.column_config.NumberColumn(c, min_value=0, step=1)
                               for c in rules.CLASSIFICATIONS})
        typed = printing.typed_totals(typed_grids)
        figures = int(typed["typed"].notna().sum())
        wrong = printing.compare_totals(typed, actual)
        if not figures:
            st.info(ui.tr("printing.totals_nothing_typed"))
        elif wrong.empty:
            st.success(ui.tr("printing.totals_match", count=fmt_number(figures, lang)))
        else:
            st.warning(ui.tr("printing.totals_differ", count=fmt_number(len(wrong), lang)))
            wrong = wrong.assign(item=[ui.tr("changes.field_classification") if t == "year"
                                       else ui.item_name(c)
                                       for t, c in zip(wrong["item_type"], wrong["item_code"])])
            ui.table(wrong, {"item": "printing.col_item", "level": "printing.col_level",
                             "typed": "printing.col_typed", "actual": "printing.col_actual"},
                     title=ui.tr("printing.totals_title", class_name=class_label(class_id),
                                 period=period), snapshot=latest, key="totals_diff")
        if figures and st.button(ui.tr("printing.record_check"), key="record_totals_check"):
            printing.record_check(data_dir, school_year=latest.school_year, school_id=school_id,
                                  class_id=class_id, period=period, method="totals",
                                  differences=len(wrong), actor=actor)
            done(ui.tr("printing.check_recorded", class_name=literal(class_label(class_id)),
                       period=period_label(period), count=fmt_number(len(wrong), lang)))

with tab_board:
    board = printing.status_board(data_dir, snapshot.school_year, school_id, period, classes)
    for col, count, label in zip(st.columns(3), ("prints", "checks", "sign_offs"),
                                 ("metric_printed", "metric_checked", "metric_signed")):
        col.metric(ui.tr(f"printing.{label}"), f"{int((board[count] > 0).sum())}/{len(board)}")
    not_yet = ui.tr("printing.not_yet")
    shown = pd.DataFrame({
        "class_name": board["class_name"],
        "printed": [not_yet if code is None else f"{code} · {fmt_datetime(at)} · {by or '–'}"
                    for code, at, by in zip(board["print_code"], board["printed_at"],
                                            board["printed_by"])],
        "snapshot": [s or "–" for s in board["printed_snapshot"]],
        "checked": [not_yet if at is None else
                    f"{fmt_datetime(at)} · {by or '–'} · {ui.tr(f'printing.how_{how}')}"
                    for at, by, how in zip(board["checked_at"], board["checked_by"],
                                           board["check_method"])],
        "differences": ["–" if pd.isna(n) else fmt_number(int(n), lang)
                        for n in board["differences"]],
        "signed": [not_yet if at is None else f"{by or '–'} · {fmt_datetime(at)}"
                   for at, by in zip(board["signed_at"], board["signed_by"])],
    })
    ui.table(shown, {"class_name": "col.class", "printed": "printing.col_printed",
                     "snapshot": "printing.col_print_snapshot", "checked": "printing.col_checked",
                     "differences": "printing.col_differences", "signed": "printing.col_signed"},
             title=ui.tr("printing.board_title", period=period_label(period)), snapshot=snapshot,
             key="board")

    st.markdown("#### " + ui.tr("printing.sign_title"))
    if not can_sign:
        st.caption(ui.tr("printing.sign_leaders_only"))
    elif not classes.empty:
        class_id = st.selectbox(ui.tr("printing.class"), list(class_names),
                                format_func=class_label, key="sign_class")
        row = board[board["class_id"] == class_id].iloc[0]
        if row["checks"] == 0:
            st.warning(ui.tr("printing.sign_unchecked", class_name=literal(class_label(class_id))))
        elif row["differences"] > 0:
            st.warning(ui.tr("printing.sign_differences", class_name=literal(class_label(class_id)),
                             count=fmt_number(int(row["differences"]), lang)))
        note = st.text_input(ui.tr("printing.sign_note"), key="sign_note")
        if st.button(ui.tr("printing.sign_button"), type="primary", key="sign_button"):
            printing.sign_off(data_dir, snapshot.school_year, school_id, class_id, period, actor,
                              note)
            done(ui.tr("printing.signed", class_name=literal(class_label(class_id)),
                       period=period_label(period)))
