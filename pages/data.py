"""Dữ liệu: import the files downloaded from the sector database; the list of snapshots."""
import hashlib
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from csdl import ingest, readers, records, rules, snapshots, ui
from csdl.i18n import fmt_datetime, fmt_number
from csdl.problems import ImportRefused
from csdl.timeutil import now_local

ui.guard("data")
st.title(ui.tr("page.data"))
data_dir = ui.data_dir()
lang = ui.lang()

tab_import, tab_snapshots, tab_guide = st.tabs(
    [ui.tr("data.tab_import"), ui.tr("data.tab_snapshots"), ui.tr("data.tab_guide")])

with tab_import:
    uploads = st.file_uploader(ui.tr("data.upload"), accept_multiple_files=True,
                               type=["xls", "xlsx", "csv"])
    latest = snapshots.latest_snapshot(data_dir)
    c1, c2, c3 = st.columns(3)
    period_choice = c1.selectbox(ui.tr("data.period_hint"), ["", *rules.PERIODS],
                                 format_func=lambda p: p or ui.tr("data.period_from_file"))
    taken_day = c2.date_input(ui.tr("data.taken_day"), value=now_local().date(), format="DD/MM/YYYY")
    taken_time = c3.time_input(ui.tr("data.taken_time"), value=now_local().time().replace(second=0))
    school_id = school_name = None
    if latest is None:
        c1, c2 = st.columns(2)
        school_id = c1.text_input(ui.tr("data.school_id")) or None
        school_name = c2.text_input(ui.tr("data.school_name")) or None

    if uploads:
        key = hashlib.sha256(b"".join(u.getvalue() for u in uploads)
                             + (period_choice or "").encode()).hexdigest()
        if st.session_state.get("parsed_key") != key:
            with st.status(ui.tr("data.reading"), expanded=False) as status, \
                    tempfile.TemporaryDirectory() as tmp:
                parsed = []
                for upload in uploads:
                    status.update(label=ui.tr("data.reading_file", name=upload.name))
                    path = Path(tmp) / f"{len(parsed)}-upload"
                    path.write_bytes(upload.getvalue())
                    parsed.append(readers.read_file(path, display_name=upload.name,
                                                    period_hint=period_choice or None))
                status.update(label=ui.tr("data.read_done"), state="complete")
            st.session_state["parsed_key"] = key
            st.session_state["parsed"] = parsed
        parsed = st.session_state["parsed"]

        st.markdown("#### " + ui.tr("data.preview"))
        preview = pd.DataFrame([{
            ui.tr("data.col_file"): f.name,
            ui.tr("data.col_kind"): ui.tr(f"kind.{f.kind}") if f.kind else "?",
            ui.tr("data.col_what"): ", ".join(f"{k}: {v}" for k, v in f.summary.items()),
            ui.tr("data.col_errors"): len(f.errors),
            ui.tr("data.col_warnings"): len(f.warnings),
        } for f in parsed])
        st.dataframe(preview, hide_index=True, width="stretch")

        taken_at = datetime.combine(taken_day, taken_time)
        try:
            prepared = ingest.prepare_import(parsed, data_dir, school_id=school_id,
                                             school_name=school_name, taken_at=taken_at)
        except ImportRefused as refused:
            st.error(ui.tr("data.refused", count=len(refused.problems)))
            st.dataframe(ui.problem_table(refused.problems), hide_index=True, width="stretch")
            prepared = None
        if prepared is not None:
            if prepared.warnings:
                with st.expander(ui.tr("data.warnings", count=len(prepared.warnings))):
                    st.dataframe(ui.problem_table(prepared.warnings), hide_index=True,
                                 width="stretch")
            st.success(ui.tr("data.ready", school=prepared.school_name,
                             year=prepared.school_year, when=fmt_datetime(taken_at)))
            if st.button(ui.tr("data.do_import"), type="primary"):
                with st.spinner(ui.tr("data.writing")):
                    info = ingest.commit_import(prepared, data_dir, created_by=ui.user_name())
                records.audit(data_dir, ui.user_name(), "import", snapshot_id=info.snapshot_id,
                              files=[f.name for f in parsed])
                st.session_state.pop("parsed_key", None)
                st.success(ui.tr("data.imported", snapshot_id=info.snapshot_id))

with tab_snapshots:
    good, bad = snapshots.list_snapshots(data_dir)
    for path, reason in bad:
        st.error(ui.tr("data.bad_snapshot", name=path.name, reason=reason))
    if good:
        st.dataframe(pd.DataFrame([{
            ui.tr("data.col_snapshot"): s.snapshot_id,
            ui.tr("data.col_year"): s.school_year,
            ui.tr("data.col_taken_at"): fmt_datetime(s.taken_at),
            ui.tr("data.col_source"): ui.tr(f"source.{s.source}"),
            ui.tr("data.col_note"): s.note or "",
        } for s in reversed(good)]), hide_index=True, width="stretch")
        st.caption(ui.tr("data.snapshot_count", count=fmt_number(len(good), lang)))
    else:
        st.info(ui.tr("ui.no_snapshot"))

with tab_guide:
    st.markdown(ui.tr("data.guide"))
    for kind in readers.TEMPLATES:
        st.download_button(ui.tr(f"data.template_{kind}"), readers.blank_template(kind),
                           file_name=ui.tr(f"data.template_file_{kind}"),
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
