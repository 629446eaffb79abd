"""The same page figures computed the way a typical Streamlit dashboard computes them.

A typical dashboard loads every table it needs into pandas once (`SELECT * FROM table` → a
DataFrame, kept by `st.cache_data`), then on every run filters the frames to the chosen school
and period and joins / groups them in pandas. This module does exactly that, figure by figure,
beside the DuckDB path (the named questions in `queries/*.sql`, which the app runs), so
`bench/bench.py` can time both and `tests/test_bench_pandas.py` can check that they agree.

Figures per page (what each page must compute before it can draw anything):

| page | figure | DuckDB question |
|---|---|---|
| overview | completion of the period by grade | completion_by_grade |
| progress | expected / entered per class × unit, with its teacher | progress_units |
| changes | cell-by-cell difference since the lock snapshot | diff_cells (two files attached) |
| results | entered subject levels by class × subject × level | results_subject_levels |
| results | data quality: score without level, level without score, class size | quality_* |
| staff | the school's staff list | staff_list |
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

TABLES = ("school", "class", "student", "subject", "trait", "expectation", "subject_result",
          "trait_result", "year_result", "staff", "assignment", "invalid_value")
CLASS_SIZE_LIMIT = 35


# --------------------------------------------------------------------------------------------
# Loading (what `st.cache_data` would keep)
# --------------------------------------------------------------------------------------------

def load_tables(snapshot_file: Path | str, tables=TABLES) -> dict[str, pd.DataFrame]:
    """Every table of one snapshot as a DataFrame: `SELECT * FROM table`."""
    con = duckdb.connect(str(snapshot_file), read_only=True)
    try:
        return {t: con.execute(f'SELECT * FROM "{t}"').df() for t in tables}
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# entry_cells: queries/_shared.sql's definition of "owed", in pandas
# --------------------------------------------------------------------------------------------

def entry_cells(t: dict[str, pd.DataFrame], school_id: str, period: str) -> pd.DataFrame:
    """One row per value-group an active student of the school owes for the period, with what is
    entered: expected (level + score each one value) and entered."""
    st = t["student"]
    st = st[(st["school_id"] == school_id) & st["active"].fillna(False).astype(bool)]
    cl = t["class"]
    cl = cl[cl["school_id"] == school_id]
    owed = st[["school_id", "student_id", "full_name", "class_id"]].merge(
        cl[["class_id", "class_name", "grade", "homeroom_staff_id"]], on="class_id")
    ex = t["expectation"]
    ex = ex[ex["period"] == period][["grade", "item_type", "item_code", "needs_level",
                                     "needs_score", "optional"]]
    owed = owed.merge(ex, on="grade")
    # Optional subjects are owed only where the class has an assignment for them.
    asg = t["assignment"]
    asg = asg[asg["school_id"] == school_id][["class_id", "subject_code"]].drop_duplicates()
    asg = asg.rename(columns={"subject_code": "item_code"}).assign(_assigned=True)
    owed = owed.merge(asg, on=["class_id", "item_code"], how="left")
    optional = owed["optional"].fillna(False).astype(bool)
    owed = owed[~optional | owed["_assigned"].notna()].drop(columns="_assigned")

    sr = t["subject_result"]
    sr = sr[(sr["school_id"] == school_id) & (sr["period"] == period)]
    sr = sr[["student_id", "subject_code", "level", "score"]].rename(
        columns={"subject_code": "item_code"}).assign(item_type="subject")
    tr = t["trait_result"]
    tr = tr[(tr["school_id"] == school_id) & (tr["period"] == period)]
    tr = tr[["student_id", "trait_code", "level"]].rename(
        columns={"trait_code": "item_code", "level": "trait_level"}).assign(item_type="trait")
    cells = owed.merge(sr, on=["student_id", "item_type", "item_code"], how="left")
    cells = cells.merge(tr, on=["student_id", "item_type", "item_code"], how="left")

    needs_level = cells["needs_level"].fillna(False).astype(bool)
    needs_score = cells["needs_score"].fillna(False).astype(bool)
    cells["expected"] = needs_level.astype(int) + needs_score.astype(int)
    subject = cells["item_type"] == "subject"
    entered_subject = ((needs_level & cells["level"].notna()).astype(int)
                       + (needs_score & cells["score"].notna()).astype(int))
    entered_trait = cells["trait_level"].notna().astype(int)
    cells["entered"] = np.where(subject, entered_subject, entered_trait)
    return cells


# --------------------------------------------------------------------------------------------
# Page figures
# --------------------------------------------------------------------------------------------

def completion_by_grade(t, school_id: str, period: str) -> pd.DataFrame:
    cells = entry_cells(t, school_id, period)
    out = cells.groupby("grade").agg(classes=("class_id", "nunique"),
                                     students=("student_id", "nunique"),
                                     expected=("expected", "sum"), entered=("entered", "sum"))
    out = out.reset_index()
    out["completion"] = out["entered"] / out["expected"].replace(0, np.nan)
    return out.sort_values("grade").reset_index(drop=True)


def progress_units(t, school_id: str, period: str) -> pd.DataFrame:
    cells = entry_cells(t, school_id, period)
    cells = cells.assign(unit=np.where(cells["item_type"] == "trait", "PCNL", cells["item_code"]))
    units = cells.groupby(["class_id", "unit"], as_index=False).agg(
        class_name=("class_name", "first"), grade=("grade", "first"),
        item_type=("item_type", "first"), homeroom_staff_id=("homeroom_staff_id", "first"),
        expected=("expected", "sum"), entered=("entered", "sum")).rename(
        columns={"unit": "item_code"})
    asg = t["assignment"]
    asg = asg[(asg["school_id"] == school_id) & asg["staff_id"].notna()]
    teachers = asg.groupby(["class_id", "subject_code"], as_index=False)["staff_id"].min()
    teachers = teachers.rename(columns={"subject_code": "item_code"})
    units = units.merge(teachers, on=["class_id", "item_code"], how="left")
    units["staff_id"] = np.where(units["item_type"] == "trait", units["homeroom_staff_id"],
                                 units["staff_id"])
    units = units.drop(columns="homeroom_staff_id")
    subj = t["subject"][["subject_code", "name_vi", "name_en"]].rename(
        columns={"subject_code": "item_code", "name_vi": "item_name_vi", "name_en": "item_name_en"})
    units = units.merge(subj, on="item_code", how="left")
    units["item_name_vi"] = units["item_name_vi"].fillna("Phẩm chất, năng lực")
    units["item_name_en"] = units["item_name_en"].fillna("Qualities and competencies")
    staff = t["staff"]
    staff = staff[staff["school_id"] == school_id][["staff_id", "full_name"]].rename(
        columns={"full_name": "staff_name"})
    units = units.merge(staff, on="staff_id", how="left")
    units["completion"] = units["entered"] / units["expected"].replace(0, np.nan)
    return units.sort_values(["grade", "class_name", "item_code"]).reset_index(drop=True)


def results_subject_levels(t, school_id: str, period: str) -> pd.DataFrame:
    cells = entry_cells(t, school_id, period)
    cells = cells[(cells["item_type"] == "subject") & cells["level"].notna()]
    out = cells.groupby(["grade", "class_id", "class_name", "item_code", "level"],
                        as_index=False).size().rename(columns={"size": "students"})
    return out.sort_values(["grade", "class_name", "item_code", "level"]).reset_index(drop=True)


def _half_missing(t, school_id: str, period: str, level_present: bool) -> pd.DataFrame:
    cells = entry_cells(t, school_id, period)
    both = (cells["item_type"] == "subject") & cells["needs_level"].fillna(False).astype(bool) \
        & cells["needs_score"].fillna(False).astype(bool)
    if level_present:
        found = cells[both & cells["level"].notna() & cells["score"].isna()]
    else:
        found = cells[both & cells["level"].isna() & cells["score"].notna()]
    iv = t["invalid_value"]
    iv = iv[(iv["school_id"] == school_id) & (iv["period"] == period)]
    iv = iv[["student_id", "item_code"]].drop_duplicates().assign(_invalid=True)
    found = found.merge(iv, on=["student_id", "item_code"], how="left")
    found = found[found["_invalid"].isna()]
    cols = ["class_id", "student_id", "item_code", "level" if level_present else "score"]
    return found.sort_values(["class_name", "student_id", "item_code"])[cols].reset_index(drop=True)


def quality_level_without_score(t, school_id: str, period: str) -> pd.DataFrame:
    return _half_missing(t, school_id, period, level_present=True)


def quality_score_without_level(t, school_id: str, period: str) -> pd.DataFrame:
    return _half_missing(t, school_id, period, level_present=False)


def quality_class_size(t, school_id: str, limit: int = CLASS_SIZE_LIMIT) -> pd.DataFrame:
    st = t["student"]
    st = st[(st["school_id"] == school_id) & st["active"].fillna(False).astype(bool)]
    cl = t["class"]
    cl = cl[cl["school_id"] == school_id]
    joined = st[["class_id"]].merge(cl[["class_id"]], on="class_id")
    out = joined.groupby("class_id", as_index=False).size().rename(columns={"size": "students"})
    return out[out["students"] > limit].sort_values("class_id").reset_index(drop=True)


def staff_list(t, school_id: str) -> pd.DataFrame:
    s = t["staff"]
    s = s[s["school_id"] == school_id].drop(columns="school_id")
    return s.sort_values(["full_name", "staff_id"]).reset_index(drop=True)


def _as_text(values: pd.Series) -> pd.Series:
    """CAST(x AS VARCHAR) as DuckDB writes it: integers without '.0', booleans 'true'/'false'."""
    if pd.api.types.is_bool_dtype(values) or values.dropna().map(type).eq(bool).all() \
            and values.notna().any():
        return values.map(lambda v: None if pd.isna(v) else ("true" if v else "false"))
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("Int64").astype("string").astype(object).where(values.notna(), None)
    return values


def _cells(t, school_id: str) -> pd.DataFrame:
    parts = []
    sr = t["subject_result"]
    sr = sr[sr["school_id"] == school_id]
    lv = sr[sr["level"].notna()]
    parts.append(pd.DataFrame({"student_id": lv["student_id"], "period": lv["period"],
                               "item_type": "subject", "item_code": lv["subject_code"],
                               "field": "level", "value": lv["level"]}))
    sc = sr[sr["score"].notna()]
    parts.append(pd.DataFrame({"student_id": sc["student_id"], "period": sc["period"],
                               "item_type": "subject", "item_code": sc["subject_code"],
                               "field": "score", "value": _as_text(sc["score"])}))
    tr = t["trait_result"]
    tr = tr[(tr["school_id"] == school_id) & tr["level"].notna()]
    parts.append(pd.DataFrame({"student_id": tr["student_id"], "period": tr["period"],
                               "item_type": "trait", "item_code": tr["trait_code"],
                               "field": "level", "value": tr["level"]}))
    yr = t["year_result"]
    yr = yr[yr["school_id"] == school_id]
    for field in ("completed", "promoted", "classification", "award"):
        value = _as_text(yr[field]) if field in ("completed", "promoted") else yr[field]
        part = pd.DataFrame({"student_id": yr["student_id"], "period": "CN", "item_type": "year",
                             "item_code": "YEAR", "field": field, "value": value})
        parts.append(part[part["value"].notna()])
    st = t["student"]
    st = st[(st["school_id"] == school_id) & st["active"].fillna(False).astype(bool)]
    parts.append(pd.DataFrame({"student_id": st["student_id"], "period": None,
                               "item_type": "student", "item_code": "STUDENT",
                               "field": "class_id", "value": st["class_id"]}))
    cells = pd.concat(parts, ignore_index=True)
    cells["period"] = cells["period"].astype(object)
    return cells


def diff_cells(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame], school_id: str,
               period: str | None) -> pd.DataFrame:
    key = ["student_id", "period", "item_type", "item_code", "field"]
    a = _cells(before, school_id).rename(columns={"value": "before"})
    b = _cells(after, school_id).rename(columns={"value": "after"})
    d = a.merge(b, on=key, how="outer")  # pandas matches a missing period with a missing one
    differs = ~((d["before"] == d["after"]) | (d["before"].isna() & d["after"].isna()))
    d = d[differs].copy()
    d["change"] = np.where(d["before"].isna(), "added",
                           np.where(d["after"].isna(), "removed", "changed"))
    if period is not None:
        d = d[d["period"] == period]
    sb = after["student"]
    sb = sb[sb["school_id"] == school_id][["student_id", "class_id", "full_name"]]
    sa = before["student"]
    sa = sa[sa["school_id"] == school_id][["student_id", "class_id", "full_name"]]
    d = d.merge(sb.rename(columns={"class_id": "class_b", "full_name": "name_b"}),
                on="student_id", how="left")
    d = d.merge(sa.rename(columns={"class_id": "class_a", "full_name": "name_a"}),
                on="student_id", how="left")
    d["class_id"] = d["class_b"].combine_first(d["class_a"])
    d["full_name"] = d["name_b"].combine_first(d["name_a"])
    cb = after["class"]
    cb = cb[cb["school_id"] == school_id][["class_id", "class_name"]]
    ca = before["class"]
    ca = ca[ca["school_id"] == school_id][["class_id", "class_name"]]
    d = d.merge(cb.rename(columns={"class_id": "class_b", "class_name": "cname_b"}),
                on="class_b", how="left")
    d = d.merge(ca.rename(columns={"class_id": "class_a", "class_name": "cname_a"}),
                on="class_a", how="left")
    d["class_name"] = (d["cname_b"].combine_first(d["cname_a"]).combine_first(d["class_b"])
                       .combine_first(d["class_a"]))
    cols = ["student_id", "class_id", "class_name", "full_name", "period", "item_type", "item_code", "field",
            "before", "after", "change"]
    order = {"GK1": 0, "CK1": 1, "GK2": 2, "CN": 3}
    d["_p"] = d["period"].map(order)
    d = d.sort_values(["class_id", "student_id", "_p", "item_type", "item_code", "field"],
                      na_position="last")
    return d[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Both paths, per page
# --------------------------------------------------------------------------------------------

PAGE_FIGURES = {
    "overview": ["completion_by_grade"],
    "progress": ["progress_units"],
    "changes": ["diff_cells"],
    "results": ["results_subject_levels", "quality_level_without_score",
                "quality_score_without_level", "quality_class_size"],
    "staff": ["staff_list"],
}

_ENTRIES = ("student", "class", "expectation", "assignment", "subject_result", "trait_result")
PAGE_TABLES = {  # what each page's figures read: the pandas path loads only these
    "overview": _ENTRIES,
    "progress": _ENTRIES + ("subject", "staff"),
    "changes": ("student", "class", "subject_result", "trait_result", "year_result"),
    "results": _ENTRIES + ("invalid_value",),
    "staff": ("staff",),
}


def pandas_figure(name: str, t: dict, base: dict | None, school_id: str, period: str,
                  diff_period: str | None) -> pd.DataFrame:
    if name == "diff_cells":
        return diff_cells(base, t, school_id, diff_period)
    if name == "quality_class_size":
        return quality_class_size(t, school_id)
    if name == "staff_list":
        return staff_list(t, school_id)
    return globals()[name](t, school_id, period)


def duckdb_figure(name: str, con: duckdb.DuckDBPyConnection,
                  diff_con: duckdb.DuckDBPyConnection | None, school_id: str, period: str,
                  diff_period: str | None) -> pd.DataFrame:
    from csdl import queries

    # Questions over a list of schools answer with a school_id column; the pandas path,
    # one school, has none.
    if name == "diff_cells":
        out = queries.run(diff_con, "diff_cells", school_ids=[school_id], period=diff_period)
    else:
        out = queries.run(con, name, school_id=school_id, school_ids=[school_id], period=period,
                          limit=CLASS_SIZE_LIMIT)
    return out.drop(columns="school_id") if name == "diff_cells" or name.startswith(
        "quality_") else out


def open_duckdb(snapshot_file: Path, base_file: Path | None):
    """The app's way in: the snapshot read-only with the shared macros; for the difference an
    in-memory connection with both files attached read-only (as csdl.diff does)."""
    from csdl import queries

    con = queries.prepare(duckdb.connect(str(snapshot_file), read_only=True))
    diff_con = None
    if base_file is not None:
        diff_con = duckdb.connect(":memory:")
        for alias, path in (("a", base_file), ("b", snapshot_file)):
            diff_con.execute(f"ATTACH '{Path(path).as_posix()}' AS {alias} (READ_ONLY)")
    return con, diff_con
