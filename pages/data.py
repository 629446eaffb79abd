"""Dữ liệu: import the files downloaded from the sector database; the list of snapshots."""
import hashlib
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from csdl import backup, failures, ingest, readers, records, rules, snapshots, ui
from csdl.i18n import fmt_datetime, fmt_number
from csdl.literal import literal
from csdl.problems import ImportRefused
from csdl.timeutil import now_local

ui.guard("data")
st.title(ui.tr("page.data"))
data_dir = ui.data_dir()
lang = ui.lang()
# With several schools in the data, a school account imports into its own school only, sees
# no other school's file names, and backups (every school's data) are made with the CLI.
own_school, _ = ui.own_school()
several = ui.several_schools()
# ui.problem_table's headers, in its order: to offer it as Excel through ui.table.
PROBLEM_COLUMNS = ("problem.col_file", "problem.col_sheet", "problem.col_row",
                   "problem.col_column", "problem.col_message")


def problems_table(problems: list, title_key: str, key: str) -> None:
    shown = ui.problem_table(problems)
    ui.table(shown, dict(zip(shown.columns, PROBLEM_COLUMNS)), title=ui.tr(title_key),
             snapshot=None, key=key)


tab_import, tab_snapshots, tab_guide, tab_backup = st.tabs(
    [ui.tr("data.tab_import"), ui.tr("data.tab_snapshots"), ui.tr("data.tab_guide"),
     ui.tr("data.tab_backup")])

with tab_import:
    uploads = ui.file_uploader(ui.tr("data.upload"), key="import_upload", multiple=True)
    latest = snapshots.latest_snapshot(data_dir)
    c1, c2, c3 = st.columns(3)
    period_choice = c1.selectbox(ui.tr("data.period_hint"), ["", *rules.PERIODS],
                                 format_func=lambda p: p or ui.tr("data.period_from_file"))
    taken_day = c2.date_input(ui.tr("data.taken_day"), value=now_local().date(), format="DD/MM/YYYY")
    taken_time = c3.time_input(ui.tr("data.taken_time"), value=now_local().time().replace(second=0))
    school_id = own_school if several else None
    school_name = None
    first = ingest.first_import_school(data_dir, own_school)
    if first is not None:  # no real import yet: the page asks which school this is
        st.caption(ui.tr("data.first_import"))
        c1, c2 = st.columns(2)
        school_id = c1.text_input(ui.tr("data.school_id"), value=first[0]).strip() or None
        school_name = c2.text_input(ui.tr("data.school_name"), value=first[1]).strip() or None

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
        preview, not_read = ingest.preview(parsed)
        period_names = rules.PERIOD_NAMES_EN if lang == "en" else rules.PERIOD_NAMES_VI
        preview["kind"] = ui.tr_each("kind.", preview["kind"])
        preview["period"] = [period_names.get(p, "") if isinstance(p, str) else ""
                             for p in preview["period"]]
        ui.table(preview, {"file": "data.col_file", "sheet": "data.col_sheet",
                           "kind": "data.col_kind", "period": "data.col_period",
                           "classes": "data.col_classes", "students": "data.col_students",
                           "values": "data.col_values", "errors": "data.col_errors",
                           "warnings": "data.col_warnings"},
                 title=ui.tr("export.title_files_read"), snapshot=None, key="files-read")
        if len(not_read):
            with st.expander(ui.tr("data.not_read", count=fmt_number(len(not_read), lang))):
                not_read["reason"] = ui.tr_each("data.not_read_", not_read["reason"])
                ui.table(not_read, {"file": "data.col_file", "sheet": "data.col_sheet",
                                    "column": "problem.col_column", "header": "data.col_header",
                                    "reason": "data.col_reason"},
                         title=ui.tr("export.title_not_read"), snapshot=None, key="not-read")

        taken_at = datetime.combine(taken_day, taken_time)
        try:
            prepared = ingest.prepare_import(parsed, data_dir, school_id=school_id,
                                             school_name=school_name, taken_at=taken_at)
        except ImportRefused as refused:
            st.error(ui.tr("data.refused", count=len(refused.problems)))
            problems_table(refused.problems, "export.title_problems", "import-problems")
            prepared = None
        if prepared is not None:
            if prepared.warnings:
                with st.expander(ui.tr("data.warnings", count=len(prepared.warnings))):
                    problems_table(prepared.warnings, "export.title_warnings",
                                   "import-warnings")
            st.success(ui.tr("data.ready", school=literal(prepared.school_name),
                             year=prepared.school_year, when=fmt_datetime(taken_at)))
            # A demo account in the demo installation only tries the import (its password is
            # printed on the sign-in page): the snapshot is demo data, the demo goes on.
            trial = ui.is_demo() and bool(getattr(ui.account(), "demo", False))
            if trial:
                st.caption(ui.tr("data.trial_import"))
            if st.button(ui.tr("data.do_import"), type="primary"):
                try:
                    with st.spinner(ui.tr("data.writing")):
                        info = ingest.commit_import(
                            prepared, data_dir, created_by=ui.user_name(), trial=trial,
                            on_wait=lambda holder: st.info(
                                ingest.waiting_message(holder, lang, quote=literal)))
                except ingest.BaseChanged as changed:  # another import wrote since the preview
                    st.error(changed.message(lang))
                except ingest.WriteLocked as busy:  # nothing was written
                    st.error(busy.message(lang, quote=literal))
                except failures.WRITE_ERRORS as exc:  # a full disk: nothing was written
                    st.error(ui.tr("import.write_failed",
                                   reason=failures.write_failure(exc, lang)))
                else:
                    records.audit(data_dir, ui.user_name(), "import",
                                  snapshot_id=info.snapshot_id, files=[f.name for f in parsed])
                    st.session_state.pop("parsed_key", None)
                    st.success(ui.tr("data.imported", when=fmt_datetime(info.taken_at)))

with tab_snapshots:
    good, bad = snapshots.list_snapshots(data_dir)
    for path, reason in bad:
        st.error(ui.tr("data.bad_snapshot", name=path.name, reason=reason))
    if good:
        ui.table(pd.DataFrame([{
            "school_year": s.school_year,
            "taken_at": fmt_datetime(s.taken_at), "source": ui.tr(f"source.{s.source}"),
            "note": "" if several else s.note or "",
        } for s in reversed(good)]),
            {"school_year": "data.col_year",
             "taken_at": "data.col_taken_at", "source": "data.col_source",
             "note": "data.col_note"},
            title=ui.tr("export.title_snapshots"), snapshot=None, key="snapshots")
        st.caption(ui.tr("data.snapshot_count", count=fmt_number(len(good), lang)))
    else:
        st.info(ui.tr("ui.no_snapshot"))

with tab_guide:
    st.markdown(ui.tr("data.guide"))
    for kind in readers.TEMPLATES:
        st.download_button(ui.tr(f"data.template_{kind}"), readers.blank_template(kind),
                           file_name=ui.tr(f"data.template_file_{kind}"),
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

with tab_backup:
    if several:
        st.info(ui.tr("data.backup_several_schools"))
    else:
        st.markdown(ui.tr("data.backup_intro"))
        if st.button(ui.tr("data.backup_make"), key="backup_make"):
            try:
                with st.spinner(ui.tr("data.backup_making")):
                    made = backup.create_backup(data_dir, actor=ui.user_name())
            except failures.WRITE_ERRORS as exc:
                st.error(ui.tr("backup.failed", reason=failures.write_failure(exc, lang)))
            except records.RecordsBusy as exc:
                st.error(ui.tr(exc.key, seconds=fmt_number(exc.seconds, lang)))
            else:
                st.session_state["backup_made"] = (str(made.path), len(made.snapshot_ids))
                if made.key_to_show:  # the first backup: the key to keep apart from the machine
                    st.warning(ui.tr("backup.key_new", code=made.key_to_show, key_id=made.key_id))
                    backup.key_shown(data_dir)
                for name, reason in made.skipped:
                    st.warning(ui.tr("data.bad_snapshot", name=name, reason=reason))
        made_path, made_count = st.session_state.get("backup_made", (None, 0))
        if made_path and Path(made_path).is_file():
            archive = Path(made_path)
            st.success(ui.tr("data.backup_made", name=archive.name,
                             size=fmt_number(archive.stat().st_size / 1e6, lang, 1),
                             snapshots=fmt_number(made_count, lang)))
            st.download_button(ui.tr("data.backup_download"), archive.read_bytes,
                               file_name=archive.name, mime="application/zip",
                               key="backup_download")

        st.markdown("#### " + ui.tr("data.restore_title"))
        upload = ui.file_uploader(ui.tr("data.restore_upload"), key="restore_upload")
        if upload is not None:
            archive_name = Path(upload.name).name or "backup.zip"
            upload_key = hashlib.sha256(upload.getvalue()).hexdigest()
            if st.session_state.get("restore_key") != upload_key:  # check each upload once
                with st.spinner(ui.tr("data.restore_checking")), \
                        tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / archive_name
                    path.write_bytes(upload.getvalue())
                    try:
                        verdict: dict | list = backup.verify(path)
                    except backup.BackupRefused as refused:
                        verdict = refused.problems
                        records.audit(data_dir, ui.user_name(), "restore_refused",
                                      archive=archive_name, problems=[k for k, _ in verdict])
                st.session_state.update(restore_key=upload_key, restore_verdict=verdict)
            verdict = st.session_state["restore_verdict"]
            if isinstance(verdict, list):
                st.error(ui.tr("backup.refused", archive=literal(archive_name)))
                st.dataframe(pd.DataFrame({ui.tr("problem.col_message"):
                                           [ui.tr(key, **params) for key, params in verdict]}),
                             hide_index=True, width="stretch")
            else:
                made_at = verdict.get("created_at")
                st.info(ui.tr("data.restore_valid",
                              created_at=fmt_datetime(datetime.fromisoformat(made_at)) if made_at
                              else "–", by=literal(verdict.get("created_by") or "–"),
                              snapshots=fmt_number(len(verdict.get("snapshots") or []), lang),
                              files=fmt_number(len(verdict["files"]), lang)))
                confirmed = st.checkbox(ui.tr("data.restore_confirm"), key="restore_confirm")
                if st.button(ui.tr("data.restore_button"), type="primary", disabled=not confirmed,
                             key="restore_button"):
                    with st.spinner(ui.tr("data.restore_checking")), \
                            tempfile.TemporaryDirectory() as tmp:
                        path = Path(tmp) / archive_name
                        path.write_bytes(upload.getvalue())
                        try:  # checked again: restore never trusts an earlier check
                            restored = backup.restore(
                                data_dir, path, actor=ui.user_name(),
                                on_wait=lambda holder: st.info(
                                    ingest.waiting_message(holder, lang, quote=literal)))
                        except backup.BackupRefused:
                            restored = None
                            st.error(ui.tr("backup.refused", archive=literal(archive_name)))
                        except records.RecordsBusy as exc:
                            restored = None
                            st.error(ui.tr(exc.key, seconds=fmt_number(exc.seconds, lang)))
                        except ingest.WriteLocked as busy:  # an import or restore is writing
                            restored = None
                            st.error(busy.message(lang, quote=literal))
                        except failures.WRITE_ERRORS as exc:
                            restored = None
                            st.error(ui.tr("backup.restore_failed",
                                           reason=failures.write_failure(exc, lang)))
                    if restored is not None:
                        st.cache_data.clear()  # cached figures may come from the replaced data
                        for key in ("restore_key", "restore_verdict", "backup_made"):
                            st.session_state.pop(key, None)
                        st.success(ui.tr("backup.restored", archive=literal(archive_name),
                                         snapshots=fmt_number(len(restored.snapshot_ids), lang)))
                        if restored.aside is not None:
                            st.info(ui.tr("backup.kept_aside", folder=literal(restored.aside)))
        kept = backup.asides(data_dir)
        if kept:
            st.caption(ui.tr("data.restore_asides", names=literal(", ".join(p.name for p in kept))))
