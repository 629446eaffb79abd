"""The bench's pandas path (bench/pandas_path.py) gives exactly the DuckDB path's figures, so the
speed ratio `make bench` reports compares like with like. No timings here."""
import sys
from datetime import datetime

import pandas as pd
import pytest

from csdl import demo, snapshots
from csdl.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import pandas_path as pp  # noqa: E402

FIGURES = sorted({f for figs in pp.PAGE_FIGURES.values() for f in figs})
PERIODS = ["GK1", "CK1", "GK2", "CN"]


def normalise(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    df = df[columns].copy()
    for col in df.columns:
        if pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            df[col] = df[col].astype("float64")
        else:
            df[col] = df[col].astype(object).where(df[col].notna(), None)
            df[col] = df[col].map(lambda v: v.date() if isinstance(v, pd.Timestamp) else v)
    key = [c for c in columns if df[c].dtype == object]
    return df.sort_values(key or columns, na_position="last",
                          key=lambda s: s.astype(str)).reset_index(drop=True)


def assert_same(name, duck: pd.DataFrame, pand: pd.DataFrame) -> None:
    assert set(duck.columns) <= set(pand.columns), (name, set(duck.columns) - set(pand.columns))
    columns = list(duck.columns)
    pd.testing.assert_frame_equal(normalise(duck, columns), normalise(pand, columns),
                                  check_dtype=False, obj=name)


def compare(snapshot_file, base_file, school_id, period, diff_period):
    t = pp.load_tables(snapshot_file)
    base = pp.load_tables(base_file) if base_file else None
    con, diff_con = pp.open_duckdb(snapshot_file, base_file)
    try:
        for name in FIGURES:
            if name == "diff_cells" and base is None:
                continue
            duck = pp.duckdb_figure(name, con, diff_con, school_id, period, diff_period)
            pand = pp.pandas_figure(name, t, base, school_id, period, diff_period)
            assert_same(f"{name} {school_id} {period}", duck, pand)
    finally:
        con.close()
        if diff_con is not None:
            diff_con.close()


@pytest.fixture(scope="module")
def demo_pair(tmp_path_factory):
    """The demo school just after the GK1 lock, in the CK1 window, and at the end of the year
    before: three snapshots written from the generator without the whole series."""
    data_dir = tmp_path_factory.mktemp("pandas_demo")
    district = demo.build_district(2026, 1)
    infos = {}
    for label, taken_at in (("previous", demo.PREVIOUS_YEAR_TAKEN_AT),
                            ("gk1_lock", datetime(2026, 11, 9, 17, 0)),
                            ("latest", datetime.combine(demo.DEFAULT_AS_OF, demo.SNAPSHOT_TIME))):
        infos[label] = snapshots.write_snapshot(
            data_dir, district.tables_at(taken_at), school_year=demo.rules.school_year_of(taken_at),
            taken_at=taken_at, source="demo")
    return {k: snapshots.snapshot_path(data_dir, i.snapshot_id) for k, i in infos.items()}


@pytest.mark.parametrize("period", PERIODS)
def test_pandas_path_matches_duckdb_on_the_fixture(small_snapshot, period):
    data_dir, info = small_snapshot
    path = snapshots.snapshot_path(data_dir, info.snapshot_id)
    for school_id in ("S1", "S2"):
        compare(path, path, school_id, period, None)


@pytest.mark.parametrize("period", PERIODS)
def test_pandas_path_matches_duckdb_on_the_demo_school(demo_pair, period):
    compare(demo_pair["latest"], demo_pair["gk1_lock"], "DEMO01", period, "GK1")


def test_pandas_diff_matches_across_years_and_every_period(demo_pair):
    # The year before: year-end fields, students who left or moved class, every period.
    compare(demo_pair["latest"], demo_pair["previous"], "DEMO01", "CK1", None)


def test_the_compared_figures_are_not_empty(demo_pair):
    t = pp.load_tables(demo_pair["latest"])
    base = pp.load_tables(demo_pair["gk1_lock"])
    assert len(pp.progress_units(t, "DEMO01", "CK1")) > 100
    assert pp.completion_by_grade(t, "DEMO01", "CK1")["entered"].sum() > 0
    assert len(pp.results_subject_levels(t, "DEMO01", "GK1")) > 50
    assert len(pp.staff_list(t, "DEMO01")) > 20
    assert len(pp.diff_cells(base, t, "DEMO01", None)) > 100
