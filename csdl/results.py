"""What the entries say (issue 7): shares of levels, score distributions, how levels moved
between two periods, year-end classifications. Pure functions over the `results_*` questions,
which count entered values only; no Streamlit, no I/O.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from . import rules

SCORES = tuple(range(rules.SCORE_MIN, rules.SCORE_MAX + 1))
TRAIT_GROUPS = ("quality", "general", "specific")  # phẩm chất, năng lực chung, năng lực đặc thù
_ITEM_ORDER = {code: i for i, code in enumerate(
    [s.code for s in rules.SUBJECTS]
    + [t.code for g in TRAIT_GROUPS for t in rules.TRAITS if t.group == g])}
_LEVEL_ORDER = {"T": 0, "H": 1, "Đ": 1, "C": 2}  # best first, on both scales


def within(counts: pd.DataFrame, grade: int | None = None,
           class_id: str | None = None) -> pd.DataFrame:
    """The rows of one grade and / or one class (None = all)."""
    if grade is not None:
        counts = counts[counts["grade"] == grade]
    if class_id is not None:
        counts = counts[counts["class_id"] == class_id]
    return counts


def shares(counts: pd.DataFrame, keys: Sequence[str], levels: Sequence[str],
           level_col: str = "level") -> pd.DataFrame:
    """Students per keys × level summed from finer counts, every level present (0 when none),
    with each level's share of its row's total: keys + [level, students, total, share].

    Rows follow the catalogue's order of `item_code` when it is a key, then the keys' values."""
    keys = list(keys)
    out_columns = keys + ["level", "students", "total", "share"]
    counts = counts[counts[level_col].isin(levels)]
    if counts.empty:
        return pd.DataFrame(columns=out_columns)
    long = _complete(counts, keys, level_col, levels, with_share=True)
    return long.rename(columns={level_col: "level"})[out_columns]


def _complete(counts: pd.DataFrame, keys: list[str], column: str,
              values: Sequence, with_share: bool = False) -> pd.DataFrame:
    """Students summed per keys × column, one row for every one of `values` (0 when none),
    rows in the catalogue's order of the keys and `values`' order within each; with_share adds
    each row's total over `values` and the share of it.

    Summed in one pass over the rows: these tables hold a few hundred rows, and the pandas
    groupby → unstack → stack it replaces cost ~25 ms a call, a dozen calls a page."""
    values = pd.Index(list(values))
    position = {v: i for i, v in enumerate(values)}
    sums: dict[tuple, list[int]] = {}
    # as groupby: a row with a missing key or value is left out, a missing count adds nothing;
    # a key whose values are all outside `values` still gets its row of zeros (as reindex)
    keep = counts[column].notna()
    for k in keys:
        keep &= counts[k].notna()
    rows = counts[keep]
    key_rows = zip(*(rows[k].tolist() for k in keys)) if keys else iter(lambda: (), None)
    for key, value, students in zip(key_rows, rows[column].tolist(),
                                    rows["students"].tolist()):
        row = sums.get(key)
        if row is None:
            row = sums[key] = [0] * len(values)
        if value in position and not _missing(students):
            row[position[value]] += int(students)
    # as groupby sorts the keys, then _order's catalogue order (a stable sort of sorted keys)
    found = sorted(sorted(sums), key=_catalogue_key(keys))
    n = len(values)
    out = {k: pd.array([key[i] for key in found for _ in range(n)], dtype=counts[k].dtype)
           for i, k in enumerate(keys)}
    out[column] = values.take(np.tile(np.arange(n), len(found)))
    out["students"] = np.array([v for key in found for v in sums[key]], dtype=int)
    frame = pd.DataFrame(out)
    if with_share:
        totals = [sum(sums[key]) for key in found]
        frame["total"] = np.repeat(np.array(totals, dtype=int), n)
        frame["share"] = [v / total if total > 0 else float("nan")
                          for key, total in zip(found, totals) for v in sums[key]]
    return frame


def _missing(value: object) -> bool:
    """pd.isna for one scalar, at a tenth of its cost (None, NA, NaN, NaT)."""
    return value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float) and value != value)


def _catalogue_key(keys: list[str]):
    """A sort key over key tuples giving `_order`'s order (catalogue order of the coded keys)."""
    maps = []
    for k in keys:
        if k == "item_code":
            maps.append(lambda c: _ITEM_ORDER.get(c, len(_ITEM_ORDER)))
        elif k in ("level_from", "level_to"):
            maps.append(lambda v: _LEVEL_ORDER.get(v, len(_LEVEL_ORDER)))
        elif k == "trait_group":
            maps.append(lambda g: TRAIT_GROUPS.index(g) if g in TRAIT_GROUPS else len(TRAIT_GROUPS))
        else:
            maps.append(None)
    return lambda key: tuple(v if f is None else f(v) for f, v in zip(maps, key))


def _order(frame: pd.DataFrame, keys: list[str]) -> list[int]:
    """Positions of the rows sorted by the keys, subjects and traits in the catalogue's order."""
    sort = frame[keys].copy()
    if "item_code" in keys:
        sort["item_code"] = sort["item_code"].map(lambda c: _ITEM_ORDER.get(c, len(_ITEM_ORDER)))
    for column in ("level_from", "level_to"):
        if column in keys:
            sort[column] = sort[column].map(lambda v: _LEVEL_ORDER.get(v, len(_LEVEL_ORDER)))
    if "trait_group" in keys:
        sort["trait_group"] = sort["trait_group"].map(
            lambda g: TRAIT_GROUPS.index(g) if g in TRAIT_GROUPS else len(TRAIT_GROUPS))
    sort["_pos"] = range(len(sort))
    return list(sort.sort_values(keys + ["_pos"])["_pos"])


def subject_shares(levels: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Shares of T / H / C per subject, per `by` (e.g. ["grade"] or ["class_id", "class_name"])."""
    return shares(levels, [*by, "item_code"], rules.SUBJECT_LEVELS)


def trait_shares(levels: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Shares of T / Đ / C per quality or competency, grouped qualities, general, specific."""
    return shares(levels, [*by, "trait_group", "item_code"], rules.TRAIT_LEVELS)


def classification_shares(year: pd.DataFrame) -> pd.DataFrame:
    """Shares of HTXS / HTT / HT / CHT per class."""
    return shares(year, ["grade", "class_name", "class_id"], rules.CLASSIFICATIONS,
                  level_col="classification")


def score_distribution(scores: pd.DataFrame, keys: Sequence[str] = ("item_code",)) -> pd.DataFrame:
    """Students per keys × score 1–10, every score present (0 when none)."""
    keys = list(keys)
    if scores.empty:
        return pd.DataFrame(columns=keys + ["score", "students"])
    return _complete(scores, keys, "score", SCORES)


def transitions(moves: pd.DataFrame) -> pd.DataFrame:
    """Students per item × level before × level after, summed over classes."""
    keys = ["item_type", "item_code", "level_from", "level_to"]
    if moves.empty:
        return pd.DataFrame(columns=keys + ["students"])
    out = moves.groupby(keys, as_index=False)["students"].sum()
    return out.iloc[_order(out, keys)].reset_index(drop=True)


def transition_matrix(moves: pd.DataFrame, item_code: str) -> pd.DataFrame:
    """One item's transitions as a square table: rows the level before, columns the level
    after, every level of the item's scale present."""
    levels = list(rules.TRAIT_LEVELS if item_code in rules.TRAIT_BY_CODE
                  else rules.SUBJECT_LEVELS)
    own = moves[moves["item_code"] == item_code]
    matrix = (own.groupby(["level_from", "level_to"])["students"].sum()
              .unstack("level_to", fill_value=0) if len(own) else pd.DataFrame())
    matrix = matrix.reindex(index=levels, columns=levels, fill_value=0).fillna(0).astype(int)
    matrix.index.name, matrix.columns.name = "level_from", "level_to"
    return matrix


def side_by_side(levels: pd.DataFrame, class_ids: Sequence[str]) -> pd.DataFrame:
    """Subject shares of the given classes, the classes in the order given."""
    found = subject_shares(levels[levels["class_id"].isin(class_ids)],
                           ["class_name", "class_id"])
    if found.empty:
        return found
    # Every subject either class has, for both classes (blank where a class has none), so the
    # two panels list the same subjects in the same order.
    names = dict(zip(found["class_id"], found["class_name"]))
    items = sorted(set(found["item_code"]), key=lambda c: _ITEM_ORDER.get(c, len(_ITEM_ORDER)))
    full = pd.MultiIndex.from_product([[c for c in class_ids if c in names], items,
                                       list(rules.SUBJECT_LEVELS)],
                                      names=["class_id", "item_code", "level"])
    out = found.set_index(["class_id", "item_code", "level"]).reindex(full).reset_index()
    out["class_name"] = out["class_id"].map(names)
    out[["students", "total"]] = out[["students", "total"]].fillna(0).astype(int)
    return out[found.columns]


def previous_period(period: str) -> str | None:
    """The period before, to compare with by default (None for the first)."""
    i = rules.PERIODS.index(period)
    return rules.PERIODS[i - 1] if i > 0 else None
