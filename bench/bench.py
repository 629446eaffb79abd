"""`make bench`: speed and memory at three scales, measured outside the unit tests.

Scales: school (1 demo school), district (60), province (500), each one demo data folder cached
in bench/out/data-<N>/ (generated once; a re-run reuses it). Per scale, each measurement runs in
its own subprocess so that its peak RSS (VmHWM) is its own:

- import: one school's sector files (the demo's 12 sample files) merged onto the scale's latest
  snapshot and written as a new snapshot (read + prepare + commit);
- pages: every page's full script through Streamlit's AppTest, signed in as principal for school
  DEMO01 (and the district comparison as a district account, every school). Cold = st.cache_data / st.cache_resource and every functools cache of the csdl modules
  cleared just before the run (the process itself has already run the sign-in, so Python modules
  are imported, and the snapshot files are in the OS file cache); warm = the median of three
  further runs of the same page;
- key queries: the named questions the pages depend on, cold (open the snapshot, define the
  macros, run) and warm (median of three runs on the open connection);
- figures: per page, the figures it must compute, by the DuckDB path (the app's own functions:
  the named questions over one connection per snapshot, answers cached per snapshot, question
  and parameters) and by the pandas path (bench/pandas_path.py: tables loaded with SELECT * into
  DataFrames cached with st.cache_data, then filtered and grouped in pandas on every run, the way
  a typical Streamlit dashboard does it). Three situations: first view (every cache cleared),
  the same view again, and another choice (the answer not cached: DuckDB re-runs the question on
  the open connection, pandas filters its cached frames again). The 5× target is on all the
  pages' figures together; each page's ratio is shown beside it.

Results: bench/out/results.json and bench/RESULTS.md; missed targets are printed and make the
exit status 1.

    python bench/bench.py [--scales school,district,province]   (or SCALES=… make bench)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

SCALES = {"school": 1, "district": 60, "province": 500}
SCHOOL = "DEMO01"
PERIOD = "CK1"  # the demo's latest snapshot (8 Jan 2027) is in the CK1 entry window
DIFF_PERIOD = "GK1"  # changes after the GK1 lock
GK1_LOCK = datetime(2026, 11, 10)
WARM_RUNS = 3

TARGETS = {
    # scale: (page warm s, page cold s or None, pages peak RSS MB or None)
    "school": (0.5, 2.0, None),
    "district": (1.5, None, None),
    "province": (3.0, None, 2048.0),
}
IMPORT_TARGET_S = 10.0  # school scale, as before
SUMMARIES_TARGET_S = 5.0  # 20 class summaries (TT27) of a school, into an empty installation
RATIO_TARGET = 5.0  # DuckDB at least 5× faster than pandas at district scale
# The forecast on the demo's closed windows, from the last snapshot 3+ days before the deadline
FORECAST_RECALL_TARGET, FORECAST_PRECISION_TARGET = 0.8, 0.6
RATIO_SCALE = "district"
NOTES_HEADING = "## Notes"
WORKER_MEMORY_GB = 10  # address-space limit of each measuring process
REPLICATE = False  # --replicate: the province from the district's schools (see replicate_province)

KEY_QUERIES = [
    ("progress_units", {}), ("completion_by_grade", {}), ("class_summary", {"class": True}),
    ("diff_cells", {}), ("results_subject_levels", {}), ("results_trait_levels", {}),
    ("results_transitions", {"period_from": "GK1", "period_to": "CK1"}),
    ("quality_level_without_score", {}), ("quality_score_without_level", {}),
    ("quality_unassigned", {}), ("quality_duplicate_students", {}),
    ("quality_class_size", {"limit": 35}), ("staff_list", {}),
]


# --------------------------------------------------------------------------------------------
# Helpers shared by the workers
# --------------------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    """VmHWM of this process (Linux), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def warm_median(fn, runs: int = WARM_RUNS) -> float:
    return statistics.median(timed(fn)[0] for _ in range(runs))


def snapshot_files(data_dir: Path) -> tuple[Path, Path]:
    """(latest snapshot file, the base of the changes after the GK1 lock)."""
    from csdl import snapshots

    snaps, _ = snapshots.list_snapshots(data_dir)
    latest = snaps[-1]
    base = [s for s in snaps if s.school_year == latest.school_year and s.taken_at <= GK1_LOCK][-1]
    return latest.path, base.path


# --------------------------------------------------------------------------------------------
# Workers (each in its own process)
# --------------------------------------------------------------------------------------------

def worker_import(data_dir: Path, samples_dir: Path) -> dict:
    from csdl import ingest, snapshots

    import duckdb

    latest = snapshots.latest_snapshot(data_dir)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        target = Path(tmp)
        (target / "snapshots").mkdir()
        con = duckdb.connect(str(latest.path), read_only=True)
        schools = con.execute("SELECT count(*) FROM school").fetchone()[0]
        con.close()
        if latest.source == "demo":
            # An import merges onto the latest snapshot that is not demo data: the scale's latest
            # snapshot, written again as an import (not timed), is that base.
            copy_snapshot(latest, target, schools, source="import")
        else:
            for f in latest.path.parent.glob(f"{latest.snapshot_id}.*"):
                shutil.copy2(f, target / "snapshots" / f.name)
        samples = sorted(p for p in samples_dir.iterdir() if p.is_file())
        start = time.perf_counter()
        parsed = ingest.read_files([(p, p.name) for p in samples], None)
        prepared = ingest.prepare_import(parsed, target, school_id=SCHOOL,
                                         school_name="Trường mẫu", taken_at=latest.taken_at)
        ingest.commit_import(prepared, target)
        seconds = time.perf_counter() - start
        written = snapshots.latest_snapshot(target)
        con = duckdb.connect(str(written.path), read_only=True)
        written_schools = con.execute("SELECT count(*) FROM school").fetchone()[0]
        con.close()
    return {"import_s": seconds, "files": len(samples), "base_schools": schools,
            "written_schools": written_schools, "peak_rss_mb": peak_rss_mb()}


def worker_summaries(data_dir: Path) -> dict:
    """20 class summaries (5 grades × 4 periods, one sheet a class) of the demo school's previous
    year, imported into an empty installation as a school holding only these files would:
    read, merged (the summaries are the roster) and written."""
    from csdl import ingest, samples, snapshots

    snaps, _ = snapshots.list_snapshots(data_dir)
    latest = snaps[-1]
    previous = [s for s in snaps if s.school_year != latest.school_year][-1]
    tables = snapshots.read_tables(data_dir, previous.snapshot_id, SCHOOL)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        files = []
        for k, period in enumerate(("GK1", "CK1", "GK2", "CN")):
            files += samples.write_class_summaries(
                tables, Path(tmp) / period, school_id=SCHOOL, school_name="Trường mẫu",
                school_year=previous.school_year, period=period, variant=k % 2)
        target = Path(tmp) / "data"
        start = time.perf_counter()
        parsed = ingest.read_files([(p, f"{p.parent.name}-{p.name}") for p in files], None)
        prepared = ingest.prepare_import(parsed, target, school_id=SCHOOL,
                                         taken_at=previous.taken_at)
        ingest.commit_import(prepared, target)
        seconds = time.perf_counter() - start
    return {"import_s": seconds, "files": len(files),
            "sheets": sum(len(f.sheets) for f in parsed),
            "values": sum(f.summary.get("values", 0) for f in parsed),
            "students": len(prepared.tables["student"]), "peak_rss_mb": peak_rss_mb()}


def worker_forecast(data_dir: Path) -> dict:
    """The forecast backtested on every closed window of the demo school's history (see
    csdl/forecast.py): precision and recall per days before the deadline, per window (over all
    four points, and at 3 days), and at 3 days over the windows that had an earlier one."""
    from csdl import forecast, progress, rules, snapshots

    snaps, _ = snapshots.list_snapshots(data_dir)
    start = time.perf_counter()
    checked = progress.backtest(data_dir, snaps[-1], SCHOOL)
    seconds = time.perf_counter() - start

    def rows(by, part=checked):
        return forecast.scores(part, by).astype(object).where(lambda d: d.notna(), None) \
            .to_dict("records")

    # 3 days before, per window, and pooled over the windows after the first closed one (which
    # has no history: only the starting rates speak there)
    at3 = checked[checked["days_before"] == 3]
    order = at3["school_year"] + "-" + at3["period"].map(
        {p: str(i) for i, p in enumerate(rules.PERIODS)})
    with_history = at3[order != order.min()] if len(at3) else at3
    return {"backtest_s": seconds, "by_days": rows(["days_before"]),
            "by_window": rows(["school_year", "period"]),
            "by_window_at_3": rows(["school_year", "period"], at3),
            "at_3_with_history": rows(None, with_history),
            "at_3_or_more": rows(None), "peak_rss_mb": peak_rss_mb()}


def clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    for name, module in list(sys.modules.items()):
        if name == "csdl" or name.startswith("csdl."):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def bench_account(data_dir: Path) -> str:
    """A principal account bound to school DEMO01 in the scale's data folder (pages read the
    account's school from users.yaml, not from the session)."""
    import secrets

    from csdl import auth

    username = "bench_principal"
    user = auth.get_user(data_dir, username)
    if user is None:
        try:
            auth.add_user(data_dir, username, "principal", "Bench", secrets.token_urlsafe(16) + "aA1!",
                          "bench", school_id=SCHOOL)
        except TypeError:  # a library without school binding
            auth.add_user(data_dir, username, "principal", "Bench", secrets.token_urlsafe(16) + "aA1!",
                          "bench")
    elif getattr(user, "school_id", SCHOOL) != SCHOOL:
        auth.set_school(data_dir, username, SCHOOL, "bench")
    return username


def bench_district_account(data_dir: Path) -> str:
    """A district account (every school) in the scale's data folder."""
    import secrets

    from csdl import auth

    username = "bench_district"
    if auth.get_user(data_dir, username) is None:
        auth.add_user(data_dir, username, "district", "Bench", secrets.token_urlsafe(16) + "aA1!",
                      "bench")
    return username


def _exception_text(e) -> str:
    message = getattr(e, "message", "") or str(e.value)
    trace = [line.strip() for line in (getattr(e, "stack_trace", None) or []) if line.strip()]
    return f"{message} [{trace[-1] if trace else ''}]"


def worker_pages(data_dir: Path) -> dict:
    os.environ["CSDL_DATA_DIR"] = str(data_dir)
    from streamlit.testing.v1 import AppTest

    from csdl import access

    from csdl.i18n import t

    username = bench_account(data_dir)
    # A page that found no school to show measured nothing: these are its warnings' openings.
    no_school_messages = [t(k).split("{")[0] for k in ("scope.unbound_account",
                                                       "scope.school_not_in_snapshot",
                                                       "ui.no_school") if t(k) != k]
    def signed_in(user: str, role: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
        at.session_state["authentication_status"] = True
        at.session_state["username"] = user
        at.session_state["name"] = "Bench"
        at.session_state["roles"] = [role]
        if role != "district":
            at.query_params["school"] = SCHOOL
        at.run()
        if at.exception:
            raise RuntimeError(f"sign-in run failed: {at.exception}")
        return at

    def measure(at: AppTest, key: str) -> dict:
        clear_caches()
        cpu = time.process_time()
        cold, _ = timed(lambda: at.switch_page(f"pages/{key}.py").run())
        cold_cpu = time.process_time() - cpu
        problems = [_exception_text(e) for e in at.exception]
        cpu = time.process_time()
        warm = warm_median(lambda: at.run())
        warm_cpu = (time.process_time() - cpu) / WARM_RUNS
        problems += [_exception_text(e) for e in at.exception]
        titles = [t.value for t in at.title]
        warnings = [str(w.value) for w in at.warning]
        no_school = any(w.startswith(m) for w in warnings for m in no_school_messages)
        print(f"  page {key:13s} cold {cold:7.3f} s  warm {warm:7.3f} s"
              + (f"  ERROR {problems[0][:80]}" if problems else ""), file=sys.stderr, flush=True)
        return {"cold_s": cold, "warm_s": warm, "cold_cpu_s": cold_cpu,
                "warm_cpu_s": warm_cpu, "title": titles[0] if titles else None,
                "errors": problems[:3],
                "school_shown": not no_school, "warnings": [w[:120] for w in warnings][:2]}

    at = signed_in(username, "principal")
    pages = {spec.key: measure(at, spec.key) for spec in access.PAGES
             if "principal" in spec.roles}
    # The district office's comparison of every school, as a district account sees it.
    if "district" in access.PAGE_BY_KEY:
        pages["district"] = measure(signed_in(bench_district_account(data_dir), "district"),
                                    "district")
    return {"pages": pages, "peak_rss_mb": peak_rss_mb()}


def _params(data_dir: Path, con, extra: dict) -> dict:
    params = {"school_id": SCHOOL, "school_ids": [SCHOOL], "period": PERIOD}
    for k, v in extra.items():
        if k == "class":
            params["class_id"] = con.execute(
                "SELECT min(class_id) FROM \"class\" WHERE school_id = ?", [SCHOOL]).fetchone()[0]
        else:
            params[k] = v
    return params


def worker_queries(data_dir: Path) -> dict:
    import pandas_path as pp
    from csdl import queries

    latest, base = snapshot_files(data_dir)
    out = {}
    for name, extra in KEY_QUERIES:
        def cold_run():
            con, diff_con = pp.open_duckdb(latest, base if name == "diff_cells" else None)
            try:
                params = _params(data_dir, con, extra)
                if name == "diff_cells":
                    params["period"] = DIFF_PERIOD
                    return queries.run(diff_con, name, **params)
                return queries.run(con, name, **params)
            finally:
                con.close()
                if diff_con is not None:
                    diff_con.close()
        cold, df = timed(cold_run)
        con, diff_con = pp.open_duckdb(latest, base if name == "diff_cells" else None)
        params = _params(data_dir, con, extra)
        if name == "diff_cells":
            params["period"] = DIFF_PERIOD
        target = diff_con if name == "diff_cells" else con
        warm = warm_median(lambda: queries.run(target, name, **params))
        con.close()
        if diff_con is not None:
            diff_con.close()
        out[name] = {"cold_s": cold, "warm_s": warm, "rows": len(df)}
    return {"queries": out, "peak_rss_mb": peak_rss_mb()}


def worker_figures(data_dir: Path, path: str) -> dict:
    """One path (duckdb or pandas): per page, the page's figures in three situations.

    - cold: every cache cleared, then the figures as a page gets them;
    - warm: the same page run again (same school, period, choices);
    - other: the page run again with another choice, so the answer itself is not cached
      (DuckDB: the question re-run on the open connection; pandas: the same, the tables being
      the same).

    DuckDB path = the app's own functions: answers cached per snapshot, question and parameters
    with st.cache_data (`ui._cached_query`, `ui._snapshot_diff`) over one connection per
    snapshot (st.cache_resource). Pandas path = the typical dashboard: `SELECT *` of each table
    into a DataFrame cached with st.cache_data (whose hits return a copy of the frames, as
    Streamlit does for every caller), then filtered and grouped in pandas on every run."""
    import pandas_path as pp
    import streamlit as st

    latest, base = snapshot_files(data_dir)
    out = {}
    if path == "duckdb":
        from csdl import queries, ui

        data_path = str(data_dir)

        def served(figures: list[str]) -> list:
            result = []
            for name in figures:
                if name == "diff_cells":
                    result.append(ui._snapshot_diff(data_path, base.stem, latest.stem, SCHOOL,
                                                    DIFF_PERIOD))
                else:
                    params = {"school_id": SCHOOL, "school_ids": (SCHOOL,), "period": PERIOD,
                              "limit": pp.CLASS_SIZE_LIMIT}
                    used = queries.used_params(name)
                    result.append(ui._cached_query(data_path, latest.stem, name, tuple(sorted(
                        (k, v) for k, v in params.items() if k in used))))
            return result

        for page, figures in pp.PAGE_FIGURES.items():
            clear_caches()
            cold, result = timed(lambda: served(figures))
            warm = warm_median(lambda: served(figures))
            needs_base = "diff_cells" in figures
            con, diff_con = pp.open_duckdb(latest, base if needs_base else None)
            other = warm_median(lambda: [pp.duckdb_figure(f, con, diff_con, SCHOOL, PERIOD,
                                                          DIFF_PERIOD) for f in figures])
            con.close()
            if diff_con is not None:
                diff_con.close()
            out[page] = {"cold_s": cold, "warm_s": warm, "other_s": other,
                         "rows": sum(len(r) for r in result)}
    else:
        @st.cache_data(show_spinner=False, max_entries=8)
        def cached_tables(snapshot_file: str, tables: tuple[str, ...]) -> dict:
            return pp.load_tables(snapshot_file, tables)

        for page, figures in pp.PAGE_FIGURES.items():
            tables = tuple(pp.PAGE_TABLES[page])
            needs_base = "diff_cells" in figures

            def rerun():
                t = cached_tables(str(latest), tables)
                b = cached_tables(str(base), tables) if needs_base else None
                return [pp.pandas_figure(f, t, b, SCHOOL, PERIOD, DIFF_PERIOD)
                        for f in figures]
            st.cache_data.clear()
            cold, result = timed(rerun)
            warm = warm_median(rerun)
            out[page] = {"cold_s": cold, "warm_s": warm, "other_s": warm,
                         "rows": sum(len(r) for r in result)}
            st.cache_data.clear()
    return {"figures": out, "peak_rss_mb": peak_rss_mb()}


def run_worker(kind: str, data_dir: Path, *extra: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", dir=OUT, delete=False) as f:
        result_file = Path(f.name)
    try:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--data",
               str(data_dir), "--result", str(result_file), *extra]
        env = {**os.environ, "STREAMLIT_LOGGER_LEVEL": "error"}
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, env=env)
        if proc.returncode != 0:
            return {"error": f"worker {kind} exited {proc.returncode}"}
        return json.loads(result_file.read_text())
    finally:
        result_file.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Data, the run, the report
# --------------------------------------------------------------------------------------------

# The province built from the district when the 500-school demo cannot be generated in time:
# these snapshots of data-60 (the previous year's last, the eve of the GK1 lock = the base of
# the changes, one inside the projection's 7 days, the latest), every school copied under a new
# id until there are 500 (DEMO01 … DEMO60 keep theirs, so DEMO01 is still the measured school).
REPLICA_SNAPSHOTS = ("20260605", "20261109", "20270103", "20270108")


def copy_snapshot(info, dst: Path, schools: int, source: str = "demo",
                  created_by: str = "bench", note: str | None = None) -> None:
    """Write `info`'s snapshot into `dst` with `schools` schools: its own, then copies of them
    under new ids (DEMO01 -> DEMO01-2 …). write_snapshot computes progress_summary."""
    import duckdb

    from csdl import snapshots

    dst.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        con = duckdb.connect(str(info.path), read_only=True)
        ids = [r[0] for r in con.execute("SELECT school_id FROM school ORDER BY 1").fetchall()]
        mapping = [(ids[i % len(ids)], ids[i] if i < len(ids) else
                    f"{ids[i % len(ids)]}-{i // len(ids) + 1}", i // len(ids) + 1)
                   for i in range(schools)]
        con.execute("CREATE TEMP TABLE m(src VARCHAR, new VARCHAR, copy INTEGER)")
        con.executemany("INSERT INTO m VALUES (?, ?, ?)", mapping)
        tables = {}
        new_id = snapshots.new_snapshot_id(info.taken_at)
        for table in snapshots.table_columns():  # progress_summary is computed by write_snapshot
            if table in snapshots.CATALOGUE_TABLES or table in ("snapshot", "snapshot_file") \
                    or table in getattr(snapshots, "DERIVED_TABLES", ()):
                continue
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [table]).fetchall()]
            select = []
            for c in cols:
                if c == "school_id":
                    select.append("m.new AS school_id")
                elif c == "snapshot_id":
                    select.append(f"'{new_id}' AS snapshot_id")
                elif table == "school" and c == "name":
                    select.append("CASE WHEN m.copy = 1 THEN t.name "
                                  "ELSE t.name || ' ' || m.copy END AS name")
                else:
                    select.append(f't."{c}"')
            out = Path(tmp) / f"{table}.parquet"
            con.execute(f'COPY (SELECT {", ".join(select)} FROM "{table}" t '
                        f"JOIN m ON t.school_id = m.src ORDER BY m.new) TO '{out}' "
                        "(FORMAT parquet)")
            tables[table] = [out]
        con.close()
        snapshots.write_snapshot(dst, tables, school_year=info.school_year,
                                 taken_at=info.taken_at, source=source, created_by=created_by,
                                 snapshot_id=new_id,
                                 note=note or f"Bench: {schools} schools from {info.snapshot_id}")


def replicate_province(src: Path, dst: Path, schools: int) -> None:
    from csdl import snapshots

    snaps, _ = snapshots.list_snapshots(src)
    for info in [s for s in snaps if s.snapshot_id[:8] in REPLICA_SNAPSHOTS]:
        copy_snapshot(info, dst, schools)
        print(f"  province snapshot {info.taken_at} written", flush=True)
    # The demo's shared lock schedule and events, and every school's change requests (prints and
    # spot checks, a few schools' paperwork, are not copied).
    from csdl import changes, schedule

    schedule.store_demo_schedule(dst)
    changes.store_demo_requests(dst)


def _complete(folder: Path) -> bool:
    """Generated to the end by the current store: every snapshot has the files write_snapshot
    writes beside it now (a folder made by an older version is made again)."""
    from csdl import snapshots

    if not (folder / ".complete").exists():
        return False
    files = list((folder / "snapshots").glob("*.duckdb"))
    return bool(files) and all(snapshots.checksum_path(f).exists()
                               and snapshots.info_path(f).exists() for f in files) \
        and _has_schedule(folder)


def _has_schedule(folder: Path) -> bool:
    """The demo's app records are there (the lock schedule, the first of them written)."""
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{folder / 'app.db'}?mode=ro", uri=True)
        try:
            return con.execute("SELECT count(*) FROM lock_schedule").fetchone()[0] > 0
        finally:
            con.close()
    except sqlite3.Error:
        return False


def ensure_data(schools: int) -> tuple[Path, float | None]:
    """The scale's demo folder, generated once; returns (folder, generation seconds if known)."""
    data_dir = OUT / f"data-{schools}"
    marker = data_dir / ".complete"
    if marker.exists() and not _complete(data_dir):
        print(f"{data_dir} was made by an older version: making it again", flush=True)
        shutil.rmtree(data_dir)
    if not marker.exists() and schools > SCALES["district"] and REPLICATE:
        replica = OUT / f"data-{schools}-replica"
        if not _complete(replica):
            print(f"building {schools} schools from the district's in {replica} …", flush=True)
            shutil.rmtree(replica, ignore_errors=True)
            district, _ = ensure_data(SCALES["district"])
            start = time.perf_counter()
            replicate_province(district, replica, schools)
            (replica / ".complete").write_text(f"{time.perf_counter() - start:.1f}\n")
        data_dir, marker = replica, replica / ".complete"
    if not marker.exists():
        print(f"generating the demo with {schools} schools in {data_dir} …", flush=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", "demo",
                        "--data", str(data_dir), "--schools", str(schools)], cwd=ROOT, check=True)
        marker.write_text(f"{time.perf_counter() - start:.1f}\n")
    try:
        return data_dir, float(marker.read_text().strip())
    except ValueError:
        return data_dir, None


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import duckdb
    import pandas
    import streamlit
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gb": mem_gb,
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "pandas": pandas.__version__, "streamlit": streamlit.__version__, "commit": commit}


def bench_scale(scale: str) -> dict:
    schools = SCALES[scale]
    data_dir, demo_s = ensure_data(schools)
    samples_dir, _ = ensure_data(1)
    result: dict = {"schools": schools, "demo_generation_s": demo_s, "data": data_dir.name,
                    "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
                    "load_before": os.getloadavg()}
    size = sum(f.stat().st_size for f in (data_dir / "snapshots").glob("*.duckdb"))
    latest, _ = snapshot_files(data_dir)
    result["latest_snapshot_mb"] = latest.stat().st_size / 2**20
    result["all_snapshots_mb"] = size / 2**20
    print(f"[{scale}] import …", flush=True)
    result["import"] = run_worker("import", data_dir, "--samples", str(samples_dir / "samples"))
    if scale == "school":
        print(f"[{scale}] class summaries …", flush=True)
        result["summaries"] = run_worker("summaries", data_dir)
        print(f"[{scale}] forecast backtest …", flush=True)
        result["forecast"] = run_worker("forecast", data_dir)
    print(f"[{scale}] pages …", flush=True)
    result["pages"] = run_worker("pages", data_dir)
    print(f"[{scale}] key queries …", flush=True)
    result["queries"] = run_worker("queries", data_dir)
    print(f"[{scale}] figures: DuckDB path …", flush=True)
    result["figures_duckdb"] = run_worker("figures", data_dir, "--path", "duckdb")
    print(f"[{scale}] figures: pandas path …", flush=True)
    result["figures_pandas"] = run_worker("figures", data_dir, "--path", "pandas")
    result["load_after"] = os.getloadavg()
    return result


def check_targets(results: dict) -> list[str]:
    missed = []
    for scale, r in results["scales"].items():
        warm_t, cold_t, rss_t = TARGETS[scale]
        pages = r["pages"].get("pages")
        if pages is None:
            missed.append(f"{scale}: pages not measured ({r['pages'].get('error')})")
            continue
        for key, p in pages.items():
            if p["errors"]:
                missed.append(f"{scale}: page {key} raised {p['errors'][0][:100]}")
            if not p.get("school_shown", True):
                missed.append(f"{scale}: page {key} showed no school ({p['warnings'][:1]}), "
                              "so it measured nothing")
            if p["warm_s"] >= warm_t:
                missed.append(f"{scale}: page {key} warm {p['warm_s']:.2f} s ≥ {warm_t} s")
            if cold_t is not None and p["cold_s"] >= cold_t:
                missed.append(f"{scale}: page {key} cold {p['cold_s']:.2f} s ≥ {cold_t} s")
        if rss_t is not None and r["pages"]["peak_rss_mb"] >= rss_t:
            missed.append(f"{scale}: pages peak RSS {r['pages']['peak_rss_mb']:.0f} MB ≥ {rss_t:.0f} MB")
        if "error" in r["import"]:
            missed.append(f"{scale}: import of one school's files failed ({r['import']['error']})")
        if scale == "school":
            imp = r["import"].get("import_s")
            if imp is None or imp >= IMPORT_TARGET_S:
                missed.append(f"school: import {imp} s ≥ {IMPORT_TARGET_S} s")
            summ = r.get("summaries", {}).get("import_s")
            if summ is None or summ >= SUMMARIES_TARGET_S:
                missed.append(f"school: 20 class summaries {summ} s ≥ {SUMMARIES_TARGET_S} s "
                              f"({r.get('summaries', {}).get('error', '')})")
        if scale == "school":
            at3 = [r for r in r.get("forecast", {}).get("by_days", []) if r["days_before"] == 3]
            if not at3 or (at3[0]["recall"] or 0) < FORECAST_RECALL_TARGET \
                    or (at3[0]["precision"] or 0) < FORECAST_PRECISION_TARGET:
                got = at3[0] if at3 else {}
                missed.append(f"school: forecast 3 days before the deadline: precision "
                              f"{got.get('precision')}, recall {got.get('recall')} (target recall "
                              f"≥ {FORECAST_RECALL_TARGET} at precision ≥ "
                              f"{FORECAST_PRECISION_TARGET})")
        if scale == RATIO_SCALE:
            for kind, ratio in path_ratios(r).items():
                if ratio is None or ratio < RATIO_TARGET:
                    missed.append(f"{scale}: figures {kind}: the DuckDB path only "
                                  f"{ratio or 0:.1f}× faster than pandas (target ≥ "
                                  f"{RATIO_TARGET:g}×)")
    return missed


FIGURE_KINDS = {"cold": "first view", "warm": "same view again", "other": "another choice"}


def path_ratios(r: dict) -> dict[str, float | None]:
    """pandas ÷ DuckDB over all the pages' figures together (a visit to each page), per kind.
    The target is on the path as a whole; per page ratios are reported beside each page."""
    duck = r.get("figures_duckdb", {}).get("figures", {})
    pand = r.get("figures_pandas", {}).get("figures", {})
    pages = [k for k in duck if k in pand]
    out = {}
    for kind in FIGURE_KINDS:
        d = sum(duck[k].get(f"{kind}_s", 0) for k in pages)
        q = sum(pand[k].get(f"{kind}_s", 0) for k in pages)
        out[kind] = q / d if pages and d else None
    return out


def fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/bench.py`); raw figures in `bench/out/results.json`.",
        "",
        f"Run {results['started']} → {results['finished']} (UTC), commit `{m['commit']}`. "
        f"Machine: {m['cpus']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, shared with other "
        f"work; Python {m['python']}, DuckDB {m['duckdb']}, pandas {m['pandas']}, "
        f"Streamlit {m['streamlit']}.",
        "",
        "Demo data: school = 1 school, district = 60, province = 500 (one snapshot holds every "
        "school of the scale); pages and figures for school DEMO01, period CK1; changes after the "
        "GK1 lock. Cold = every cache cleared before the run (modules already imported, files in "
        "the OS cache); warm = median of three further runs. Times in seconds: wall clock, and "
        "the CPU time the process used (less sensitive to other work on the machine; DuckDB's "
        "threads can make it exceed the wall time).",
        "",
    ]
    for scale, r in results["scales"].items():
        warm_t, cold_t, rss_t = TARGETS[scale]
        la = ", ".join(f"{x:.2f}" for x in r["load_before"])
        lines += [f"## {scale.capitalize()} ({r['schools']} school{'s' if r['schools'] > 1 else ''})",
                  "",
                  f"Latest snapshot {r['latest_snapshot_mb']:.1f} MB ({r['all_snapshots_mb']:.0f} MB "
                  f"for the series); "
                  + (f"built in {fmt(r['demo_generation_s'], 0)} s from copies of the district's "
                     f"60 schools (`--replicate`: {len(REPLICA_SNAPSHOTS)} snapshots, the 500-school "
                     "demo could not be generated in time on the shared machine). "
                     if str(r.get("data", "")).endswith("replica") else
                     f"demo generated in {fmt(r['demo_generation_s'], 0)} s. ")
                  + 
                  f"Measured {r.get('measured_at', '?')} UTC; load average (1, 5, 15 min) before "
                  f"{la}, after {', '.join(f'{x:.2f}' for x in r.get('load_after', []))}.",
                  ""]
        imp = r["import"]
        if "import_s" in imp:
            lines += [f"Import of one school's {imp['files']} files merged onto the latest snapshot "
                      f"({imp.get('base_schools', '?')} school(s); the new snapshot holds "
                      f"{imp.get('written_schools', '?')}): **{imp['import_s']:.2f} s**, peak RSS "
                      f"{imp['peak_rss_mb']:.0f} MB.", ""]
        summ = r.get("summaries", {})
        if "import_s" in summ:
            lines += [f"Import of {summ['files']} class summaries (TT27, {summ['sheets']} sheets, "
                      f"{summ['values']:,} values, {summ['students']} students created from them) "
                      f"into an empty installation: **{summ['import_s']:.2f} s** (target < "
                      f"{SUMMARIES_TARGET_S:g} s), peak RSS {summ['peak_rss_mb']:.0f} MB.", ""]
        fc = r.get("forecast", {})
        if "by_days" in fc:
            lines += ["The forecast backtested on the demo's closed windows (each from the "
                      "history known then; precision: flagged units that really ended late; "
                      f"recall: late units flagged; target at 3 days: recall ≥ "
                      f"{FORECAST_RECALL_TARGET:g} at precision ≥ {FORECAST_PRECISION_TARGET:g}):",
                      "", "| days before | units | late | flagged | flagged and late | precision "
                      "| recall |", "|---|---|---|---|---|---|---|"]
            for row in sorted(fc["by_days"], key=lambda x: -x["days_before"]):
                lines.append(f"| {row['days_before']} | {row['units']} | {row['late']} | "
                             f"{row['flagged']} | {row['hits']} | {fmt(row['precision'])} | "
                             f"{fmt(row['recall'])} |")
            lines += ["", "Per window (all four points together): " + "; ".join(
                f"{w['period']} {w['school_year']} precision {fmt(w['precision'])}, recall "
                f"{fmt(w['recall'])}" for w in fc["by_window"]) + "."]
            if fc.get("by_window_at_3"):
                lines += ["", "At 3 days, per window: " + "; ".join(
                    f"{w['period']} {w['school_year']} late {w['late']}, flagged {w['flagged']}, "
                    f"precision {fmt(w['precision'])}, recall {fmt(w['recall'])}"
                    for w in fc["by_window_at_3"]) + "."]
            for w in fc.get("at_3_with_history", []):
                lines += ["", f"At 3 days over the windows after the first (which has no history): "
                          f"precision {fmt(w['precision'])}, recall {fmt(w['recall'])}."]
            lines.append("")
        if "error" in imp:
            lines += [f"Import of one school's files merged onto the latest snapshot: **failed** "
                      f"after reaching {imp.get('peak_rss_mb', 0):.0f} MB RSS under the "
                      f"{WORKER_MEMORY_GB} GB address-space limit of a measuring process "
                      f"({imp['error']}).", ""]
        pages = r["pages"].get("pages", {})
        duck = r["figures_duckdb"].get("figures", {})
        pand = r["figures_pandas"].get("figures", {})
        target = f"warm < {warm_t} s" + (f", cold < {cold_t} s" if cold_t else "")
        lines += [f"Pages through AppTest (target {target}); beside each, the page's figures by "
                  "the DuckDB path and the pandas path (first view / same view again / another "
                  "choice), and the ratio pandas ÷ DuckDB:", "",
                  "| page | cold | warm | CPU cold / warm | figures DuckDB | pandas | ratio |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for key, p in pages.items():
            flag = ""
            if p["warm_s"] >= warm_t or (cold_t and p["cold_s"] >= cold_t) or p["errors"]:
                flag = " ✗"
            if not p.get("school_shown", True):
                flag += " (no school shown)"
            fig = ["", "", ""]
            if key in duck and key in pand:
                d, q = duck[key], pand[key]
                kinds = [k for k in FIGURE_KINDS if f"{k}_s" in d and f"{k}_s" in q]
                fig = [" / ".join(fmt(d[f"{k}_s"], 3) for k in kinds),
                       " / ".join(fmt(q[f"{k}_s"], 3) for k in kinds),
                       " / ".join(f"{q[f'{k}_s'] / d[f'{k}_s']:.1f}×" for k in kinds)]
            cpu = f"{fmt(p.get('cold_cpu_s'))} / {fmt(p.get('warm_cpu_s'))}"
            lines.append(f"| {key}{flag} | {fmt(p['cold_s'])} | {fmt(p['warm_s'])} | {cpu} | "
                         + " | ".join(fig) + " |")
        for path_key, label in (("figures_duckdb", "DuckDB"), ("figures_pandas", "pandas")):
            failed = r.get(path_key, {})
            if "error" in failed:
                lines += ["", f"The {label} path's figures could not be computed: {failed['error']} "
                          f"after reaching {failed.get('peak_rss_mb', 0):.0f} MB RSS under the "
                          f"{failed.get('memory_limit_gb', WORKER_MEMORY_GB)} GB address-space "
                          "limit of a measuring process."]
        ratios = path_ratios(r)
        if any(v is not None for v in ratios.values()):
            lines += ["", "All the pages' figures together, pandas ÷ DuckDB"
                      + (f" (target ≥ {RATIO_TARGET:g}× at this scale)" if scale == RATIO_SCALE
                         else "") + ": "
                      + ", ".join(f"{FIGURE_KINDS[k]} {v:.1f}×" for k, v in ratios.items()
                                  if v is not None) + "."]
        if "error" in r["pages"]:
            lines.append(f"\nPages not measured: {r['pages']['error']}")
        lines += ["", "Peak RSS (MB): "
                  + ", ".join(f"{k} {r[k].get('peak_rss_mb', 0):.0f}"
                              for k in ("import", "pages", "queries", "figures_duckdb",
                                        "figures_pandas") if k in r)
                  + (f" (target for the pages < {rss_t:.0f})" if rss_t else "") + ".", ""]
        qs = r["queries"].get("queries", {})
        if qs:
            lines += ["Key queries (cold: open + macros + run; warm: re-run on the open "
                      "connection):", "",
                      "| query | cold | warm | rows |", "|---|---:|---:|---:|"]
            lines += [f"| {k} | {q['cold_s']:.3f} | {q['warm_s']:.3f} | {q['rows']} |"
                      for k, q in qs.items()]
            lines.append("")
    lines += ["## Targets", ""]
    if results["missed"]:
        lines += ["Missed:", ""] + [f"- {m}" for m in results["missed"]]
    else:
        lines.append("Every target measured here was met.")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default=os.environ.get("SCALES") or "school,district,province")
    ap.add_argument("--worker")
    ap.add_argument("--data")
    ap.add_argument("--result")
    ap.add_argument("--samples")
    ap.add_argument("--path")
    ap.add_argument("--schools", type=int)
    ap.add_argument("--replicate", action="store_true",
                    help="build the province from copies of the district's schools instead of "
                         "generating 500 demo schools (much faster)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite bench/RESULTS.md from bench/out/results.json, measure nothing")
    ap.add_argument("--keep-other-scales", action="store_true",
                    help="keep the last run's figures for the scales not measured now")
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if args.worker:
        data_dir = Path(args.data)
        if args.worker != "demo":
            # The machine is shared: a measurement that needs more than this fails (and says so)
            # instead of pushing everyone else's processes out of memory.
            import resource
            limit = WORKER_MEMORY_GB * 2**30
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if args.worker == "demo":  # the demo generator may start worker processes (spawn)
            from csdl import cli, demo
            infos = demo.make_demo(data_dir, schools=args.schools,
                                   write_samples=args.schools == 1)
            cli.store_demo_records(data_dir, args.schools, several_snapshots=len(infos) > 1)
            return 0
        try:
            if args.worker == "import":
                res = worker_import(data_dir, Path(args.samples))
            elif args.worker == "summaries":
                res = worker_summaries(data_dir)
            elif args.worker == "forecast":
                res = worker_forecast(data_dir)
            elif args.worker == "pages":
                res = worker_pages(data_dir)
            elif args.worker == "queries":
                res = worker_queries(data_dir)
            else:
                res = worker_figures(data_dir, args.path)
        except Exception as exc:  # e.g. out of the address space: say what and how far it got
            res = {"error": f"{type(exc).__name__}: {str(exc)[:200]}",
                   "peak_rss_mb": peak_rss_mb(), "memory_limit_gb": WORKER_MEMORY_GB}
        Path(args.result).write_text(json.dumps(res, indent=2, ensure_ascii=False))
        return 0

    if args.report_only:
        results = json.loads((OUT / "results.json").read_text())
        results["missed"] = check_targets(results)
        write_report(results)
        return 1 if results["missed"] else 0
    global REPLICATE
    REPLICATE = args.replicate or os.environ.get("REPLICATE") == "1"
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = [s for s in scales if s not in SCALES]
    if unknown:
        ap.error(f"unknown scale(s) {unknown}; choose from {list(SCALES)}")
    results = {"started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
               "machine": machine(), "scales": {}}
    if args.keep_other_scales and (OUT / "results.json").exists():
        # Keep the scales not re-run from the last run (each says when it was measured).
        earlier = json.loads((OUT / "results.json").read_text())
        results["started"] = earlier.get("started", results["started"])
        results["scales"] = {k: v for k, v in earlier.get("scales", {}).items()
                             if k not in scales}
    for scale in scales:
        results["scales"][scale] = bench_scale(scale)
        results["scales"] = {k: results["scales"][k] for k in SCALES if k in results["scales"]}
        (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    results["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    results["missed"] = check_targets(results)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    write_report(results)
    print(markdown(results))
    if results["missed"]:
        print("TARGETS MISSED:\n" + "\n".join(f"  - {m}" for m in results["missed"]))
        return 1
    return 0


def write_report(results: dict) -> None:
    notes = ""
    if (BENCH / "RESULTS.md").exists():  # hand-written notes below NOTES_HEADING are kept
        old = (BENCH / "RESULTS.md").read_text(encoding="utf-8")
        if NOTES_HEADING in old:
            notes = "\n" + old[old.index(NOTES_HEADING):]
    (BENCH / "RESULTS.md").write_text(markdown(results) + notes, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
