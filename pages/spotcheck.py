"""Kiểm tra xác suất: draw a reproducible sample of entered values, compare each with the paper
(one item at a time on a phone, or as a table), and read the error rate with its exact 95%
interval; a mismatch becomes a change request in one step."""
import secrets

import pandas as pd
import streamlit as st

from csdl import changes, rules, spotcheck, ui
from csdl.i18n import fmt_datetime, fmt_number, fmt_percent
from csdl.literal import literal

ui.guard("spotcheck")
st.title(ui.tr("page.spotcheck"))
data_dir = ui.data_dir()
lang = ui.lang()
actor = ui.user_name()
snapshot, school = ui.snapshot_and_school()
ui.show_data_age(snapshot)
PERIOD_NAMES = rules.PERIOD_NAMES_EN if lang == "en" else rules.PERIOD_NAMES_VI
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VERDICT_ICONS = {"match": ":material/check_circle:", "mismatch": ":material/cancel:",
                 "cannot_verify": ":material/help:"}


TARGET_RATES = [1.0, 2.0, 2.5, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0]


def done(message: str, **remember: object) -> None:
    """Show `message` after the rerun that redraws the page with the change."""
    st.session_state["spot_done"] = message
    st.session_state.update(remember)
    st.rerun()


if message := st.session_state.pop("spot_done", None):
    st.success(message)


def period_label(period: str) -> str:
    return f"{PERIOD_NAMES[period]} ({period})"


def percent(value: object) -> str:
    return "–" if value is None or pd.isna(value) else fmt_percent(float(value), lang)


def interval(low: object, high: object) -> str:
    return "–" if low is None or pd.isna(low) else f"{percent(low)} – {percent(high)}"


def flags_text(flags: str) -> str:
    return ", ".join(ui.tr(f"spot.flag_{f}") for f in (flags or "").split(",") if f)


def readable(items: pd.DataFrame) -> pd.DataFrame:
    """Names for codes, as the printed list reads."""
    return items.assign(
        item=[ui.item_name(c) for c in items["item_code"]],
        field_text=[ui.tr(f"spot.field_{f}") for f in items["field"]],
        teacher=items["staff_name"].fillna(ui.tr("progress.no_teacher")))


def check_label(row: pd.Series) -> str:
    return ui.tr("spot.check_label", check_id=row["id"], period=row["period"],
                 created=fmt_datetime(pd.Timestamp(row["created_at"])),
                 size=fmt_number(int(row["size"]), lang))


def pick_check(options: pd.DataFrame, key: str) -> int:
    """A check from `options`, newest first (`done` may preselect one through `key`)."""
    ids = [int(i) for i in reversed(list(options["id"]))]
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    labels = {int(r["id"]): check_label(r) for _, r in options.iterrows()}
    return st.selectbox(ui.tr("spot.pick_check"), ids, key=key, format_func=labels.get)


def downloads(check: spotcheck.SpotCheck, items: pd.DataFrame) -> None:
    c1, c2 = st.columns(2)
    stem = f"kiem_tra_xac_suat_{check.id}"
    c1.download_button(ui.tr("spot.download_xlsx"),
                       lambda: spotcheck.sample_excel(check, items, lang),
                       file_name=f"{stem}.xlsx", mime=XLSX, key=f"xlsx_{check.id}")
    c2.download_button(ui.tr("spot.download_pdf"), lambda: spotcheck.sample_pdf(check, items, lang),
                       file_name=f"{stem}.pdf", mime="application/pdf", key=f"pdf_{check.id}")


all_checks = spotcheck.checks(data_dir, school.school_id)
tab_new, tab_record, tab_results, tab_history = st.tabs(
    [ui.tr("spot.tab_new"), ui.tr("spot.tab_record"), ui.tr("spot.tab_results"),
     ui.tr("spot.tab_history")])

with tab_new:
    periods = list(rules.PERIODS)
    period = st.selectbox(ui.tr("ui.period"), periods, format_func=period_label,
                          index=periods.index(ui.current_period(snapshot, school.school_id)))
    values = ui.query(snapshot, "spot_population", school_id=school.school_id, period=period)
    classes = ui.query(snapshot, "classes", school_id=school.school_id)
    st.markdown("##### " + ui.tr("spot.scope"))
    c1, c2 = st.columns(2)
    grades = c1.multiselect(ui.tr("spot.scope_grades"),
                            sorted(int(g) for g in classes["grade"].unique()),
                            format_func=lambda g: ui.tr("chart.grade_label", grade=g),
                            placeholder=ui.tr("ui.choose"))
    shown_classes = classes[classes["grade"].isin(grades)] if grades else classes
    class_names = dict(zip(shown_classes["class_id"], shown_classes["class_name"]))
    class_ids = c2.multiselect(ui.tr("spot.scope_classes"), list(class_names),
                               format_func=class_names.get, placeholder=ui.tr("ui.choose"))
    entered = set(values["item_code"])
    c1, c2 = st.columns(2)
    subjects = c1.multiselect(ui.tr("spot.scope_subjects"),
                              [s.code for s in rules.SUBJECTS if s.code in entered],
                              format_func=ui.item_name, placeholder=ui.tr("ui.choose"))
    traits = c2.multiselect(ui.tr("spot.scope_traits"),
                            [t.code for t in rules.TRAITS if t.code in entered],
                            format_func=ui.item_name, placeholder=ui.tr("ui.choose"))
    st.caption(ui.tr("spot.scope_items_help"))
    scope = spotcheck.Scope(grades, class_ids, subjects, traits)
    available = len(scope.apply(values))
    st.caption(ui.tr("spot.population", count=fmt_number(available, lang),
                     period=period_label(period)))
    if not available:
        st.info(ui.tr("spot.nothing_entered"))
    else:
        c1, c2 = st.columns(2)
        # Chosen from set rates in the Vietnamese style ("2,5%"): a number field shows "5.0".
        target = c1.select_slider(ui.tr("spot.target_rate"), options=TARGET_RATES, value=5.0,
                                  format_func=lambda r: fmt_percent(r / 100, lang))
        suggested = spotcheck.sample_size(target / 100)
        c1.caption(ui.tr("spot.suggested", n=fmt_number(suggested, lang),
                         rate=fmt_percent(target / 100, lang)))
        if suggested > available:
            c1.caption(ui.tr("spot.suggested_all", count=fmt_number(available, lang)))
        # The key follows the suggestion, so the size starts from it again when it changes.
        size = c2.number_input(ui.tr("spot.size"), min_value=1, max_value=available,
                               value=min(suggested, available), step=1,
                               key=f"spot_size_{suggested}_{available}")
        method = c2.radio(ui.tr("spot.method"), spotcheck.METHODS, horizontal=True,
                          format_func=lambda m: ui.tr(f"spot.method_{m}"),
                          help=ui.tr("spot.method_help"))
        st.session_state.setdefault("spot_seed", secrets.randbelow(1_000_000))
        seed = st.number_input(ui.tr("spot.seed"), min_value=0, step=1, key="spot_seed",
                               help=ui.tr("spot.seed_help"))
        request = (snapshot.snapshot_id, school.school_id, period, scope, method, int(size),
                   int(seed))
        c1, c2 = st.columns(2)
        if c1.button(ui.tr("spot.preview"), width="stretch"):
            try:
                st.session_state["spot_preview"] = (request, spotcheck.draw_sample(
                    data_dir, snapshot, school.school_id, period, scope, method, int(size),
                    int(seed)))
            except spotcheck.SpotError as exc:
                st.error(ui.tr(exc.key, **exc.params))
        if c2.button(ui.tr("spot.create"), type="primary", width="stretch"):
            try:
                check_id = spotcheck.create_check(
                    data_dir, snapshot, school.school_id, period, scope, method, int(size),
                    int(seed), target / 100, actor)
            except spotcheck.SpotError as exc:
                st.error(ui.tr(exc.key, **exc.params))
            else:
                st.session_state.pop("spot_preview", None)
                done(ui.tr("spot.created", check_id=check_id, size=fmt_number(int(size), lang)),
                     record_check=check_id, results_check=check_id)
        preview = st.session_state.get("spot_preview")
        if preview is not None and preview[0] == request:  # only while the choices stand
            sample = readable(preview[1]).assign(
                flags_text=[flags_text(f) for f in spotcheck.flags_of(preview[1])])
            st.markdown("##### " + ui.tr("spot.preview_title",
                                         size=fmt_number(len(sample), lang)))
            ui.table(sample, {"position": "spot.col_position", "class_name": "spot.col_class",
                              "full_name": "spot.col_student", "item": "spot.col_item",
                              "field_text": "spot.col_field", "db_value": "spot.col_db_value",
                              "teacher": "spot.col_teacher", "flags_text": "spot.col_flags"},
                     title=ui.tr("spot.preview_title", size=fmt_number(len(sample), lang)),
                     snapshot=snapshot, key="spot-preview")


def record(check_id: int, position: int, verdict: str, paper: str, note: str,
           items: pd.DataFrame) -> None:
    try:
        spotcheck.record_verdict(data_dir, check_id, position, verdict, paper, note, actor)
    except spotcheck.SpotError as exc:
        st.error(ui.tr(exc.key, **exc.params))
        return
    # On to the next item still open after this one: the verdict just given now counts.
    now_done = items.assign(verdict=items["verdict"].where(items["position"] != position, verdict))
    following = spotcheck.next_position(now_done, position)
    st.session_state[f"spot_pos_{check_id}"] = following or position
    st.rerun()


def one_at_a_time(check: spotcheck.SpotCheck, items: pd.DataFrame) -> None:
    """One item per screen with big buttons: made for a phone in the classroom."""
    key = f"spot_pos_{check.id}"
    if key not in st.session_state:  # resume where the verdicts stop
        st.session_state[key] = spotcheck.next_position(items) or 1
    position = min(max(int(st.session_state[key]), 1), len(items))
    item = items[items["position"] == position].iloc[0]
    st.markdown("##### " + ui.tr("spot.item_of", position=position, size=len(items)))
    with st.container(border=True):
        st.markdown(f"**{literal(item['class_name'])}** · {literal(item['full_name'])}")
        st.markdown(f"{ui.item_name(item['item_code'])} — {ui.tr('spot.field_' + item['field'])}")
        st.markdown(f"## {literal(item['db_value'])}")
        if item["flags"]:
            st.caption(flags_text(item["flags"]))
        if pd.notna(item["verdict"]):
            verdict_text = ui.tr(f"spot.verdict_{item['verdict']}")
            if pd.notna(item["paper_value"]):
                verdict_text += f" ({item['paper_value']})"
            st.caption(ui.tr("spot.recorded_as", verdict=verdict_text, by=item["verified_by"],
                             when=fmt_datetime(pd.Timestamp(item["verified_at"]))))
    paper = st.text_input(ui.tr("spot.paper_value"), value=item["paper_value"] or "",
                          key=f"spot_paper_{check.id}_{position}")
    note = st.text_input(ui.tr("spot.note"), value=item["note"] or "",
                         key=f"spot_note_{check.id}_{position}")
    for verdict in spotcheck.VERDICTS:
        if st.button(ui.tr(f"spot.verdict_{verdict}"), icon=VERDICT_ICONS[verdict],
                     type="primary" if verdict == "match" else "secondary", width="stretch",
                     key=f"spot_{verdict}_{check.id}_{position}"):
            record(check.id, position, verdict, paper, note, items)
    c1, c2 = st.columns(2)
    if c1.button(ui.tr("spot.previous"), width="stretch", disabled=position <= 1,
                 key=f"spot_prev_{check.id}"):
        st.session_state[key] = position - 1
        st.rerun()
    if c2.button(ui.tr("spot.next"), width="stretch", disabled=position >= len(items),
                 key=f"spot_next_{check.id}"):
        st.session_state[key] = position + 1
        st.rerun()


def as_table(check: spotcheck.SpotCheck, items: pd.DataFrame) -> None:
    """Every item in an editable table; only the rows changed are recorded."""
    labels = {v: ui.tr(f"spot.verdict_{v}") for v in spotcheck.VERDICTS}
    codes = {label: v for v, label in labels.items()}
    shown = readable(items)
    table = pd.DataFrame({
        "position": shown["position"], "class_name": shown["class_name"],
        "full_name": shown["full_name"], "item": shown["item"], "field": shown["field_text"],
        "db_value": shown["db_value"],
        "verdict": [labels.get(v) for v in shown["verdict"]],
        "paper_value": shown["paper_value"].fillna(""), "note": shown["note"].fillna(""),
    })
    edited = st.data_editor(
        table, hide_index=True, width="stretch", key=f"spot_table_{check.id}",
        disabled=["position", "class_name", "full_name", "item", "field", "db_value"],
        column_config={
            "position": ui.tr("spot.col_position"), "class_name": ui.tr("spot.col_class"),
            "full_name": ui.tr("spot.col_student"), "item": ui.tr("spot.col_item"),
            "field": ui.tr("spot.col_field"), "db_value": ui.tr("spot.col_db_value"),
            "verdict": st.column_config.SelectboxColumn(ui.tr("spot.col_verdict"),
                                                        options=list(codes)),
            "paper_value": ui.tr("spot.col_paper"), "note": ui.tr("spot.col_note")})
    if st.button(ui.tr("spot.save_table"), type="primary", key=f"spot_save_{check.id}"):
        changed = edited[(edited[["verdict", "paper_value", "note"]].fillna("")
                          != table[["verdict", "paper_value", "note"]].fillna("")).any(axis=1)]
        problems, saved = [], 0
        for row in changed.itertuples(index=False):
            verdict = codes.get(row.verdict)
            if verdict is None:
                continue  # a verdict is corrected, never taken back
            try:
                spotcheck.record_verdict(data_dir, check.id, int(row.position), verdict,
                                         row.paper_value, row.note, actor)
                saved += 1
            except spotcheck.SpotError as exc:
                problems.append(f"{ui.tr('spot.col_position')} {row.position}: "
                                + ui.tr(exc.key, **exc.params))
        if problems:
            st.error("\n\n".join(problems))
        elif saved:
            done(ui.tr("spot.saved", count=fmt_number(saved, lang)))


with tab_record:
    open_checks = all_checks[all_checks["status"] == "open"]
    if open_checks.empty:
        st.info(ui.tr("spot.no_open"))
    else:
        check = spotcheck.get_check(data_dir, pick_check(open_checks, "record_check"))
        items = spotcheck.items(data_dir, check.id)
        verified = int(items["verdict"].notna().sum())
        st.progress(verified / len(items),
                    text=ui.tr("spot.progress", done=fmt_number(verified, lang),
                               size=fmt_number(len(items), lang)))
        downloads(check, items)
        mode = st.radio(ui.tr("spot.mode"), ["one", "table"], horizontal=True,
                        format_func=lambda m: ui.tr(f"spot.mode_{m}"), key="spot_mode")
        if mode == "one":
            one_at_a_time(check, items)
        else:
            as_table(check, items)
        st.divider()
        if verified == len(items):
            st.caption(ui.tr("spot.all_verified"))
        if st.button(ui.tr("spot.finish"), key=f"spot_finish_{check.id}"):
            try:
                spotcheck.finish_check(data_dir, check.id, actor)
            except spotcheck.SpotError as exc:
                st.error(ui.tr(exc.key, **exc.params))
            else:
                done(ui.tr("spot.finished", check_id=check.id), results_check=check.id)

TALLY_TABLE = {"size": "spot.col_size", "checked": "spot.col_checked",
               "mismatches": "spot.col_mismatches", "cannot_verify": "spot.col_cannot",
               "rate_text": "spot.col_rate", "ci_text": "spot.col_ci"}


def with_rates(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(rate_text=[percent(r) for r in df["error_rate"]],
                     ci_text=[interval(lo, hi) for lo, hi in zip(df["ci_low"], df["ci_high"])])


with tab_results:
    if all_checks.empty:
        st.info(ui.tr("spot.no_checks"))
    else:
        check = spotcheck.get_check(data_dir, pick_check(all_checks, "results_check"))
        items = spotcheck.items(data_dir, check.id)
        whole = spotcheck.tally(items["verdict"])
        c1, c2, c3 = st.columns(3)
        c1.metric(ui.tr("spot.rate"), percent(whole["error_rate"]))
        c2.metric(ui.tr("spot.col_mismatches"),
                  f"{fmt_number(whole['mismatches'], lang)} / {fmt_number(whole['checked'], lang)}")
        c3.metric(ui.tr("spot.col_cannot"), fmt_number(whole["cannot_verify"], lang))
        if whole["checked"]:
            st.markdown(ui.tr("spot.interval", low=percent(whole["ci_low"]),
                              high=percent(whole["ci_high"])))
            st.caption(ui.tr("spot.rate_note", checked=fmt_number(whole["checked"], lang),
                             cannot=fmt_number(whole["cannot_verify"], lang)))
        else:
            st.info(ui.tr("spot.not_yet"))
        if check.method == "risk":
            st.caption(ui.tr("spot.risk_note"))
        by_tabs = st.tabs([ui.tr("spot.by_class"), ui.tr("spot.by_subject"),
                           ui.tr("spot.by_teacher")])
        for by_tab, by, names in zip(by_tabs, ("class", "subject", "teacher"),
                                     ({"class_name": "spot.col_class"},
                                      {"unit": "spot.col_unit"},
                                      {"teacher": "spot.col_teacher"})):
            with by_tab:
                groups = with_rates(spotcheck.by_group(items, by))
                if by == "subject":
                    groups["unit"] = [ui.item_name(c) for c in groups["unit_code"]]
                if by == "teacher":
                    groups["teacher"] = groups["staff_name"].replace(
                        "", ui.tr("progress.no_teacher"))
                ui.table(groups, names | TALLY_TABLE, key=f"by_{by}",
                         title=ui.tr("spot.results_title", check_id=check.id,
                                     by=ui.tr(f"spot.by_{by}").lower()))

        st.markdown("##### " + ui.tr("spot.mismatch_list"))
        mismatches = readable(items[items["verdict"] == "mismatch"])
        if mismatches.empty:
            st.caption(ui.tr("spot.no_mismatch"))
        for row in mismatches.itertuples():
            with st.container(border=True):
                st.markdown(f"**{row.position}.** {literal(row.class_name)} · "
                            f"{literal(row.full_name)} · {row.item} — {row.field_text}: "
                            f"{ui.tr('spot.col_db_value')} **{literal(row.db_value)}**, "
                            f"{ui.tr('spot.col_paper').lower()} **{literal(row.paper_value)}**")
                if row.note:
                    st.caption(literal(row.note))
                if pd.notna(row.request_id):
                    st.caption(ui.tr("spot.request_linked", request_id=int(row.request_id)))
                    continue
                asked_by = [n for n in dict.fromkeys([row.staff_name, row.verified_by]) if n]
                c1, c2 = st.columns([2, 1])
                requested_by = c1.selectbox(ui.tr("spot.requested_by"), asked_by,
                                            key=f"spot_by_{check.id}_{row.position}")
                if c2.button(ui.tr("spot.make_request"), key=f"spot_req_{check.id}_{row.position}",
                             width="stretch"):
                    try:
                        request_id = spotcheck.request_change(
                            data_dir, check.id, row.position, requested_by or "", actor, lang)
                    except (spotcheck.SpotError, changes.ChangeError) as exc:
                        st.error(ui.tr(exc.key, **exc.params))
                    else:
                        done(ui.tr("spot.request_made", request_id=request_id))

with tab_history:
    if all_checks.empty:
        st.info(ui.tr("spot.no_checks"))
    else:
        newest_first = all_checks.iloc[::-1].reset_index(drop=True)
        history = with_rates(newest_first).assign(
            created=[f"{fmt_datetime(pd.Timestamp(at))} · {by or '–'}"
                     for at, by in zip(newest_first["created_at"], newest_first["created_by"])],
            period_text=[period_label(p) for p in newest_first["period"]],
            method_text=[ui.tr(f"spot.method_{m}") for m in newest_first["method"]],
            status_text=[ui.tr(f"spot.status_{s}") for s in newest_first["status"]])
        ui.table(history, {"id": "spot.col_check", "created": "spot.col_created",
                           "period_text": "spot.col_period", "method_text": "spot.col_method"}
                 | TALLY_TABLE | {"status_text": "spot.col_status"},
                 title=ui.tr("spot.history_title"), key="spot_history")
