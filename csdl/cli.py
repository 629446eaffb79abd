"""Command line: `python -m csdl <command> …` (Vietnamese output; `--lang en` for English)."""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date
from pathlib import Path

from . import auth, config, queries, records, rules, scope, snapshots
from .diff import schools_of as diff_schools
from .access import ROLES
from .i18n import fmt_number, fmt_percent, t
from .problems import ImportRefused
from .timeutil import parse_iso


# Report name → i18n key of its one-line description.
REPORTS = {
    "progress": "report.progress",
    "overdue": "report.overdue",
    "changes-after-lock": "report.changes_after_lock",
    "spot-checks": "report.spot_checks",
    "quality": "report.quality",
}


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="data folder (default: $CSDL_DATA_DIR or data/)")
    p.add_argument("--lang", choices=("vi", "en"), default="vi")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m csdl")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import files downloaded from the sector database")
    p.add_argument("files", nargs="+", type=Path, help="files, or folders of files")
    p.add_argument("--school-id")
    p.add_argument("--school-name")
    p.add_argument("--school-year")
    p.add_argument("--period", choices=rules.PERIODS)
    p.add_argument("--taken-at", help="when the files were downloaded (ISO-8601); default: the files' time")
    _add_common(p)

    p = sub.add_parser("demo", help="make the fictional demo school")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--as-of", type=date.fromisoformat)
    p.add_argument("--schools", type=int, default=1)
    p.add_argument("--snapshots", choices=("full", "short", "latest"),
                   help="which snapshots: full (default for one school), short (about eight, "
                        "the default for several), latest (only --as-of, for a benchmark)")
    _add_common(p)

    p = sub.add_parser("snapshots", help="list the snapshots")
    _add_common(p)

    p = sub.add_parser("report", help="print a report as CSV (report --list names them)")
    p.add_argument("name", nargs="?", choices=sorted(REPORTS))
    p.add_argument("--list", action="store_true", help="name every report")
    p.add_argument("--period", choices=rules.PERIODS, help="default: the current period")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    p.add_argument("--school-id", help="needed when the snapshot holds several schools")
    p.add_argument("--by", default="class,subject", choices=("class,subject", "teacher"))
    _add_common(p)

    p = sub.add_parser("diff", help="every cell that differs between two snapshots, as CSV")
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--school-id", help="needed when the snapshots hold several schools")
    p.add_argument("--period", choices=rules.PERIODS)
    _add_common(p)

    p = sub.add_parser("deck", help="write the meeting deck as .pptx or offline .html")
    p.add_argument("--period", choices=rules.PERIODS, help="default: the current period")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    p.add_argument("--school-id", help="needed when the snapshot holds several schools")
    p.add_argument("--slides", help="comma-separated, in any order (default: every slide): "
                                    "overview,progress,classes_behind,results,year_end,quality,"
                                    "staff,facilities")
    p.add_argument("--out", required=True, type=Path, help="FILE.pptx or FILE.html")
    _add_common(p)

    p = sub.add_parser("check", help="what the data folder holds; how to create the first user")
    _add_common(p)

    p = sub.add_parser("backup", help="write a dated archive of snapshots, app records and users")
    p.add_argument("--out", type=Path, help="archive file (default: <data>/backups/csdl-backup-<time>.zip)")
    _add_common(p)

    p = sub.add_parser("restore", help="check a backup archive, keep the current data aside, restore")
    p.add_argument("archive", type=Path)
    p.add_argument("--key", action="append", default=[],
                   help="the backup key written down at the first backup (default: "
                        "$CSDL_BACKUP_KEY); needed on a machine that did not make the archive")
    p.add_argument("--replace-accounts", action="store_true",
                   help="accept an archive whose accounts differ from this machine's "
                        "(the Data page never does)")
    p.add_argument("--unsigned", action="store_true",
                   help="accept an archive made before backups were signed (its contents are "
                        "still checked)")
    _add_common(p)

    p = sub.add_parser("export-parquet", help="write a snapshot as Parquet partitioned by school "
                                              "and period (for engines beyond one machine)")
    p.add_argument("--out", required=True, type=Path, help="folder to write (empty or new)")
    p.add_argument("--snapshot", help="snapshot id (default: the latest)")
    p.add_argument("--overwrite", action="store_true", help="replace a folder that is not empty")
    _add_common(p)

    users = sub.add_parser("users", help="manage the app's accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    p = users_sub.add_parser("add")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--name", required=True)
    p.add_argument("--password-env", help="read the password from this environment variable")
    p.add_argument("--school", help="the school (school_id) a school role belongs to; "
                                    "not for --role district")
    _add_common(p)
    p = users_sub.add_parser("set-school", help="bind an account to its school")
    p.add_argument("username")
    p.add_argument("school", help="school_id, or '-' to unbind")
    _add_common(p)
    p = users_sub.add_parser("list")
    _add_common(p)
    for command in ("disable", "enable"):
        p = users_sub.add_parser(command)
        p.add_argument("username")
        _add_common(p)
    p = users_sub.add_parser("reset-password")
    p.add_argument("username")
    p.add_argument("--password-env")
    _add_common(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir = config.data_dir(args.data)
    handler = {"import": cmd_import, "demo": cmd_demo, "snapshots": cmd_snapshots,
               "users": cmd_users, "check": cmd_check, "report": cmd_report,
               "diff": cmd_diff, "deck": cmd_deck, "export-parquet": cmd_export_parquet,
               "backup": cmd_backup, "restore": cmd_restore}[args.command]
    try:
        return handler(args, data_dir)
    except snapshots.SnapshotError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except records.RecordsBusy as exc:  # app.db held by another writer past the busy timeout
        seconds = fmt_number(exc.seconds, args.lang, 0 if exc.seconds >= 1 else 1)
        print(t(exc.key, args.lang, seconds=seconds), file=sys.stderr)
        return 3


def cmd_import(args: argparse.Namespace, data_dir: Path) -> int:
    from . import failures, ingest

    lang = args.lang
    # A folder stands for the files in it (a whole school's class summaries of a period).
    files = [f for arg in args.files
             for f in (sorted(p for p in arg.iterdir() if p.is_file()) if arg.is_dir() else [arg])]
    missing = [f for f in files if not f.is_file()]
    if missing or not files:
        for f in missing or args.files:
            print(t("cli.no_such_file", lang, path=f), file=sys.stderr)
        return 2
    try:
        taken_at = parse_iso(args.taken_at) if args.taken_at else _files_time(files)
        if args.school_year:
            rules.parse_school_year(args.school_year)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    parsed = ingest.read_files([(f, f.name) for f in files], args.period)

    def prepare() -> ingest.PreparedImport:
        prepared = ingest.prepare_import(
            parsed, data_dir, school_id=args.school_id, school_name=args.school_name,
            school_year=args.school_year, taken_at=taken_at)
        for problem in prepared.warnings:
            print(t("cli.warning", lang) + " " + problem.message(lang), file=sys.stderr)
        return prepared

    def refuse(refused: ImportRefused) -> int:
        print(t("cli.import_refused", lang, count=len(refused.problems)), file=sys.stderr)
        for problem in refused.problems:
            print("  - " + problem.message(lang), file=sys.stderr)
        return 1

    try:  # read without the lock: a refused import touches nothing
        prepared = prepare()
    except ImportRefused as refused:
        return refuse(refused)
    try:  # a second import waits for the lock, then merges again onto what the first wrote
        info = ingest.commit_import(
            prepared, data_dir, created_by="cli", redo=prepare,
            on_wait=lambda holder: print(ingest.waiting_message(holder, lang), file=sys.stderr))
    except ImportRefused as refused:  # the files do not fit the newer snapshot
        return refuse(refused)
    except ingest.WriteLocked as busy:  # nothing written: the same exit code as a busy app.db
        print(busy.message(lang), file=sys.stderr)
        return 3
    except failures.WRITE_ERRORS as exc:  # e.g. a full disk: the store has removed its tmp file
        print(t("import.write_failed", lang, reason=failures.write_failure(exc, lang)),
              file=sys.stderr)
        return 1
    print(t("cli.import_done", lang, snapshot_id=info.snapshot_id))
    print_summary(data_dir, info.snapshot_id, prepared.school_id, lang)
    return 0


def _files_time(files: list[Path]):
    from datetime import datetime

    from .timeutil import to_local_naive, TZ

    newest = max(f.stat().st_mtime for f in files)
    return to_local_naive(datetime.fromtimestamp(newest, TZ))


def print_summary(data_dir: Path, snapshot_id: str, school_id: str, lang: str) -> None:
    con = queries.prepare(snapshots.connect(data_dir, snapshot_id))
    try:
        head = queries.run(con, "snapshot_summary", school_id=school_id).iloc[0]
        per_period = queries.run(con, "entries_by_period", school_id=school_id)
        completion = {p: queries.run(con, "completion_by_grade", school_id=school_id, period=p)
                      for p in per_period["period"]}
    finally:
        con.close()
    print(t("cli.summary", lang, classes=fmt_number(head.classes, lang),
            students=fmt_number(head.students_active, lang),
            staff=fmt_number(head.staff, lang), invalid=fmt_number(head.invalid_values, lang)))
    for row in per_period.itertuples():
        by_grade = completion[row.period]
        ratio = by_grade["entered"].sum() / by_grade["expected"].sum() if len(by_grade) else None
        print(t("cli.summary_period", lang, period=row.period, entered=fmt_number(row.entered, lang),
                completion=fmt_percent(ratio, lang)))


def store_demo_records(data_dir: Path, schools: int, several_snapshots: bool) -> None:
    """The demo's app records beside its snapshots: accounts, the shared lock schedule and lock
    events, change requests, prints and spot checks (`csdl demo` and the bench's data)."""
    from . import changes, demo, printing, schedule, spotcheck

    auth.ensure_demo_users(data_dir)
    schedule.store_demo_schedule(data_dir)
    # Prints (PDF and Excel files) and spot checks cost seconds per school: in a district's
    # demo only its first schools have them; every school has its change requests.
    paperwork = demo.school_ids(schools)[:DEMO_PAPERWORK_SCHOOLS]
    if several_snapshots:  # requests and prints compare a snapshot after the GK1 lock with one before
        changes.store_demo_requests(data_dir)
        printing.store_demo_prints(data_dir, only=paperwork)
    spotcheck.store_demo_checks(data_dir, only=paperwork)


def cmd_demo(args: argparse.Namespace, data_dir: Path) -> int:
    from . import demo

    infos = demo.make_demo(data_dir, seed=args.seed, as_of=args.as_of, schools=args.schools,
                           series=args.snapshots)
    store_demo_records(data_dir, args.schools, several_snapshots=len(infos) > 1)
    print(t("cli.demo_done", args.lang, count=len(infos), folder=data_dir))
    last = infos[-1]
    school_ids = demo.school_ids(args.schools)
    for school_id in school_ids[:DEMO_SUMMARIES]:
        if len(school_ids) > 1:
            print(school_id)
        print_summary(data_dir, last.snapshot_id, school_id, args.lang)
    if len(school_ids) > DEMO_SUMMARIES:
        print(f"… (+{len(school_ids) - DEMO_SUMMARIES}: {school_ids[DEMO_SUMMARIES]}…{school_ids[-1]})")
    return 0


DEMO_SUMMARIES = 3  # schools whose summary the demo command prints
DEMO_PAPERWORK_SCHOOLS = 3  # schools of a district's demo with printed sheets and spot checks


def cmd_snapshots(args: argparse.Namespace, data_dir: Path) -> int:
    good, bad = snapshots.list_snapshots(data_dir)
    print("snapshot_id,school_year,taken_at,source,note")
    for s in good:
        print(f"{s.snapshot_id},{s.school_year},{s.taken_at.isoformat()},{s.source},{(s.note or '').replace(',', ';')}")
    for path, reason in bad:
        print(t("cli.bad_snapshot", args.lang, path=path, reason=reason), file=sys.stderr)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_env:
        value = os.environ.get(args.password_env)
        if value is None:
            raise auth.AuthError("cli.no_password_env", var=args.password_env)
        return value
    first = getpass.getpass(t("cli.password_prompt", args.lang))
    if getpass.getpass(t("cli.password_again", args.lang)) != first:
        raise auth.AuthError("cli.passwords_differ")
    return first


def cmd_users(args: argparse.Namespace, data_dir: Path) -> int:
    lang, actor = args.lang, "cli"
    try:
        if args.users_command == "add":
            auth.add_user(data_dir, args.username, args.role, args.name, _read_password(args),
                          actor, school_id=args.school)
            print(t("cli.user_added", lang, username=args.username.strip().lower()))
        elif args.users_command == "set-school":
            school = None if args.school == "-" else args.school
            auth.set_school(data_dir, args.username, school, actor)
            print(t("cli.user_school_set", lang, username=args.username, school=school or "–"))
        elif args.users_command == "list":
            print("username,name,role,school_id,disabled,demo")
            for u in auth.list_users(data_dir):
                print(f"{u.username},{u.name},{'+'.join(u.roles)},{u.school_id or ''},"
                      f"{int(u.disabled)},{int(u.demo)}")
        elif args.users_command == "disable":
            auth.disable_user(data_dir, args.username, actor)
            print(t("cli.user_disabled", lang, username=args.username))
        elif args.users_command == "enable":
            auth.enable_user(data_dir, args.username, actor)
            print(t("cli.user_enabled", lang, username=args.username))
        elif args.users_command == "reset-password":
            auth.reset_password(data_dir, args.username, _read_password(args), actor)
            print(t("cli.password_reset", lang, username=args.username))
    except auth.AuthError as exc:
        print(t(exc.key, lang, **exc.params), file=sys.stderr)
        return 2
    return 0


def cmd_check(args: argparse.Namespace, data_dir: Path) -> int:
    from . import ingest

    lang = args.lang
    removed = ingest.clean_up_leftovers(data_dir)  # what killed imports left behind
    if removed:
        print(t("lock.cleaned", lang, count=len(removed)))
    good, bad = snapshots.list_snapshots(data_dir)
    latest = good[-1] if good else None
    print(t("cli.check_data", lang, folder=data_dir, count=len(good),
            latest=latest.snapshot_id if latest else "–"))
    for path, reason in bad:
        print(t("cli.bad_snapshot", lang, path=path, reason=reason))
    demo_data = latest is not None and latest.source == "demo"
    usable = [u for u in auth.list_users(data_dir) if not u.disabled and (demo_data or not u.demo)]
    if demo_data:
        print(t("cli.check_demo", lang))
    elif not usable:
        print(t("cli.check_no_users", lang))
    return 0


def cmd_backup(args: argparse.Namespace, data_dir: Path) -> int:
    from . import backup, failures

    try:
        result = backup.create_backup(data_dir, args.out, actor="cli")
    except failures.WRITE_ERRORS as exc:  # e.g. a full disk: the partial archive is removed
        print(t("backup.failed", args.lang, reason=failures.write_failure(exc, args.lang)),
              file=sys.stderr)
        return 1
    for name, reason in result.skipped:
        print(t("cli.bad_snapshot", args.lang, path=name, reason=reason), file=sys.stderr)
    print(t("backup.done", args.lang, path=result.path, files=fmt_number(result.files, args.lang),
            snapshots=fmt_number(len(result.snapshot_ids), args.lang)))
    if result.key_to_show:  # the first backup (or the first since one made on the Data page)
        print(t("backup.key_new", args.lang, code=result.key_to_show, key_id=result.key_id))
        backup.key_shown(data_dir)
    return 0


def cmd_restore(args: argparse.Namespace, data_dir: Path) -> int:
    from . import backup, failures, ingest

    if not args.archive.is_file():
        print(t("cli.no_such_file", args.lang, path=args.archive), file=sys.stderr)
        return 2
    given = args.key or ([os.environ[backup.KEY_ENV]] if os.environ.get(backup.KEY_ENV) else [])
    keys = [backup.parse_key(text) for text in given]
    if None in keys:
        print(t("cli.bad_backup_key", args.lang), file=sys.stderr)
        return 2
    try:
        result = backup.restore(
            data_dir, args.archive, actor="cli", keys=keys,
            replace_accounts=args.replace_accounts, accept_unsigned=args.unsigned,
            on_wait=lambda holder: print(ingest.waiting_message(holder, args.lang),
                                         file=sys.stderr))
    except ingest.WriteLocked as busy:  # an import or restore held the data: nothing changed
        print(busy.message(args.lang), file=sys.stderr)
        return 3
    except backup.BackupRefused as refused:
        print(t("backup.refused", args.lang, archive=args.archive.name), file=sys.stderr)
        for key, params in refused.problems:
            print("  - " + t(key, args.lang, **params), file=sys.stderr)
        return 1
    except failures.WRITE_ERRORS as exc:  # everything moved is moved back first
        print(t("backup.restore_failed", args.lang,
                reason=failures.write_failure(exc, args.lang)), file=sys.stderr)
        return 1
    print(t("backup.restored", args.lang, archive=args.archive.name,
            snapshots=fmt_number(len(result.snapshot_ids), args.lang)))
    if result.aside is not None:
        print(t("backup.kept_aside", args.lang, folder=result.aside))
    if result.accounts_replaced:
        print(t("backup.accounts_replaced", args.lang))
    if result.key_adopted:
        print(t("backup.key_adopted", args.lang, key_id=result.key_adopted))
    return 0


def _report_context(args: argparse.Namespace, data_dir: Path):
    """The snapshot, school and period a report is about (raises SnapshotError / ValueError)."""
    from . import progress

    snapshot = (snapshots.get_snapshot(data_dir, args.snapshot) if args.snapshot
                else snapshots.latest_snapshot(data_dir))
    if snapshot is None:
        raise snapshots.SnapshotError(t("cli.no_snapshot", args.lang, folder=data_dir))
    con = queries.prepare(snapshots.connect(data_dir, snapshot.snapshot_id))
    try:
        schools = list(queries.run(con, "school_ids")["school_id"])
        school_id = args.school_id or (schools[0] if len(schools) == 1 else None)
        if school_id not in schools:
            raise ValueError(t("cli.school_choice", args.lang, schools=", ".join(schools)))
        with_entries = list(queries.run(con, "entries_by_period", school_id=school_id)["period"])
    finally:
        con.close()
    period = args.period or progress.current_period(
        progress.school_windows(data_dir, snapshot.school_year, school_id), snapshot.taken_at,
        with_entries)
    return snapshot, school_id, period


def cmd_report(args: argparse.Namespace, data_dir: Path) -> int:
    if args.list or not args.name:
        for name, key in REPORTS.items():
            print(f"{name}\t{t(key, args.lang)}")
        return 0
    if args.name == "spot-checks":  # records in app.db, not one snapshot's data: no --period
        from . import exports, spotcheck

        latest = snapshots.latest_snapshot(data_dir)
        several = latest is not None and len(diff_schools(data_dir, latest.snapshot_id)) > 1
        if several and not args.school_id:
            print(t("cli.report_school_required", args.lang), file=sys.stderr)
            return 2
        table = spotcheck.checks(data_dir, args.school_id).rename(columns={"id": "check_id"})
        exports.write_csv(table[SPOT_CSV_COLUMNS], sys.stdout, float_format="%.4f")
        return 0
    try:
        snapshot, school_id, period = _report_context(args, data_dir)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    with scope.restricted([school_id]):  # a report reads one school only
        return _report(args, data_dir, snapshot, school_id, period)


def _report(args: argparse.Namespace, data_dir: Path, snapshot, school_id: str,
            period: str) -> int:
    from . import exports, progress

    if args.name == "quality":  # every rule over every period of the snapshot: no --period
        from . import quality, settings

        try:
            found = quality.findings(data_dir, snapshot, school_id, args.lang)
        except settings.SettingsError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        exports.write_csv(found[quality.FINDING_COLUMNS], sys.stdout)
        return 0
    if args.name == "changes-after-lock":
        from . import changes

        table = changes.after_lock(data_dir, snapshot, school_id, args.period)
        exports.write_csv(table[DIFF_CSV_COLUMNS + ["request_id", "decision"]], sys.stdout)
        return 0
    units = progress.compute(data_dir, snapshot, school_id, period)
    if args.name == "progress":
        table = (progress.by_teacher(units) if args.by == "teacher"
                 else progress.by_class_subject(units))
        if args.by == "teacher":
            table = table[["staff_id", "full_name", "expected", "entered", "completion", "status"]]
    else:
        table = progress.overdue(units)
    # Names and ids come from the sector files: a "=cmd|…" name must not run in Excel.
    exports.write_csv(table, sys.stdout, float_format="%.4f")
    return 0


DIFF_CSV_COLUMNS = ["student_id", "class_id", "period", "item_type", "item_code", "field",
                    "before", "after"]
# cannot_verify beside checked: a sample with many items that could not be compared says less.
SPOT_CSV_COLUMNS = ["check_id", "created_at", "period", "size", "checked", "cannot_verify",
                    "mismatches", "error_rate", "ci_low", "ci_high"]


def cmd_diff(args: argparse.Namespace, data_dir: Path) -> int:
    from . import diff

    for snapshot_id in (args.before, args.after):
        snapshots.get_snapshot(data_dir, snapshot_id)  # a clear message when one is missing
    schools = diff.schools_of(data_dir, args.after)
    school_id = args.school_id or (schools[0] if len(schools) == 1 else None)
    if school_id not in schools:
        print(t("cli.school_choice", args.lang, schools=", ".join(schools)), file=sys.stderr)
        return 2
    table = diff.diff(data_dir, args.before, args.after, school_id, args.period)
    table[DIFF_CSV_COLUMNS].to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


def cmd_deck(args: argparse.Namespace, data_dir: Path) -> int:
    """The presentation's deck, written without the browser (so it can be scheduled)."""
    from . import deck, deck_html, deck_pptx, records

    lang = args.lang
    kind = args.out.suffix.lower()
    if kind not in (".pptx", ".html", ".htm"):
        print(t("cli.deck_bad_format", lang, path=args.out), file=sys.stderr)
        return 2
    try:
        deck.parse_slides(args.slides)  # the names first: a typo is told before any reading
    except ValueError as exc:
        print(t("cli.deck_bad_slides", lang, slides=exc, choices=",".join(deck.SLIDES)),
              file=sys.stderr)
        return 2
    try:
        snapshot, school_id, period = _report_context(args, data_dir)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    slides = deck.parse_slides(args.slides, period)
    made = deck.make(data_dir, snapshot, school_id, period, slides, lang)
    content = (deck_pptx.render(made) if kind == ".pptx"
               else deck_html.render(made).encode("utf-8"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, args.out)  # a scheduled run never leaves half a file behind
    records.audit(data_dir, "cli", "deck_export", snapshot_id=snapshot.snapshot_id,
                  school_id=school_id, period=period, slides=slides, format=kind.lstrip("."),
                  path=str(args.out))
    print(t("cli.deck_written", lang, path=args.out, count=len(made.slides)))
    return 0


def cmd_export_parquet(args: argparse.Namespace, data_dir: Path) -> int:
    """The snapshot contract as Parquet, Hive-partitioned by school (and period for results)."""
    from . import failures, parquet_export, records

    lang = args.lang
    try:
        result = parquet_export.export(data_dir, args.out, args.snapshot, overwrite=args.overwrite)
    except parquet_export.ExportRefused as exc:
        print(t(exc.key, lang, **exc.params), file=sys.stderr)
        return 2
    except failures.WRITE_ERRORS as exc:  # a full disk, a read-only folder: nothing is left half-written
        print(t("parquet.failed", lang, path=args.out, reason=failures.write_failure(exc, lang)),
              file=sys.stderr)
        return 1
    records.audit(data_dir, "cli", "parquet_export", snapshot_id=result.snapshot_id,
                  path=str(result.path), files=result.files, rows=result.rows)
    print(t("parquet.done", lang, snapshot_id=result.snapshot_id, path=result.path,
            tables=fmt_number(result.tables, lang), files=fmt_number(result.files, lang),
            rows=fmt_number(result.rows, lang)))
    return 0
