"""Data-quality rules: records that cannot be right (issue 7; DOMAIN.md §2, §3, §5).

Each rule has a stable code, a severity, and in the translation table a name, a description and
a detail line ("quality.<code>.name" / ".description" / ".detail"). Where a rule is a question it
is one `queries/quality_*.sql` file; the rules that need Python (the TT27 classification, the
staff status compared as folded text) read a query and decide here.

Every rule reads a list of schools (`$school_ids`) and answers with a `school_id` column:
`findings()` runs every rule on one school of a snapshot; `counts()` runs each rule once for a
list of schools (the district's comparison) and counts per school and severity, so both see
the same rules. `summary()` counts per rule. A finding never changes the data: it is something
for a person to check.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import pandas as pd

from . import queries, rules, scope, snapshots
from .i18n import fmt_date, t
from .settings import Settings, SettingsError, load as load_settings
from .text import fold

SEVERITIES = ("high", "medium", "low")
FINDING_COLUMNS = ["rule", "severity", "school_id", "class_id", "student_id", "item_code", "detail"]
# The columns every rule query returns; any other column is a parameter of the detail line.
_WHERE = ("class_id", "student_id", "item_code")
_NOT_DETAIL = ("school_id", *_WHERE)
STAFF_WORKING = "Đang làm việc"  # the staff list's status of someone still working
# A score this high with level C, or this low with level T, cannot both be right.
SCORE_HIGH_WITH_C, SCORE_LOW_WITH_T = 9, 4
# Schools per pass of the rules over a list: the rules over entry_cells hold a pass's owed
# values in DuckDB's memory (over 500 schools at once, ~1 GB a statement).
SCHOOLS_PER_PASS = 50


class _Context:
    """Schools of one open snapshot, with the inputs several rules share computed once."""

    def __init__(self, con: duckdb.DuckDBPyConnection, school_ids: list[str],
                 settings: Settings, lang: str):
        self.con, self.school_ids, self.settings, self.lang = con, school_ids, settings, lang

    def run(self, name: str, **params: object) -> pd.DataFrame:
        return queries.run(self.con, name, school_ids=self.school_ids, **params)

    @functools.cached_property
    def classifications(self) -> pd.DataFrame:
        return _check_classifications(self.run("quality_classification_entries"), self.lang)

    @functools.cached_property
    def assigned_teachers(self) -> pd.DataFrame:
        return self.run("quality_assigned_teachers")


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str  # "high" | "medium" | "low"
    check: Callable[[_Context], pd.DataFrame]  # rows: school_id, class_id, student_id,
    #                                            item_code, detail params


def _per_period(name: str, **params: object) -> Callable[[_Context], pd.DataFrame]:
    """A rule that is one query asked for each period; the period joins the detail."""
    def check(ctx: _Context) -> pd.DataFrame:
        frames = [ctx.run(name, period=p, **params).assign(period=p) for p in rules.PERIODS]
        return pd.concat(frames, ignore_index=True)
    return check


def _class_limit(name: str, setting: str) -> Callable[[_Context], pd.DataFrame]:
    """A rule that counts something per class against a limit from the settings."""
    def check(ctx: _Context) -> pd.DataFrame:
        limit = getattr(ctx.settings, setting)
        return ctx.run(name, limit=limit).assign(limit=limit)
    return check


def _query(name: str) -> Callable[[_Context], pd.DataFrame]:
    return lambda ctx: ctx.run(name)


def _classification(outcome: str) -> Callable[[_Context], pd.DataFrame]:
    def check(ctx: _Context) -> pd.DataFrame:
        found = ctx.classifications
        return found[found["outcome"] == outcome].drop(columns="outcome")
    return check


def _teacher_not_in_staff(ctx: _Context) -> pd.DataFrame:
    found = ctx.assigned_teachers
    return found.loc[~found["in_staff_list"], ["school_id", "class_id", "item_code", "staff_id"]]


def _teacher_left(ctx: _Context) -> pd.DataFrame:
    found = ctx.assigned_teachers
    # Statuses come from files written by hand: compare without diacritics, case or spaces.
    # A blank status says nothing, so it is not taken for having left. Each distinct status is
    # folded once (a district has a few statuses over many rows).
    gone = {s: fold(s) not in ("", fold(STAFF_WORKING))
            for s in found["status"].unique() if isinstance(s, str)}
    left = found["in_staff_list"] & found["status"].map(
        lambda s: isinstance(s, str) and gone[s])
    return found.loc[left, ["school_id", "class_id", "item_code", "staff_id", "full_name",
                            "status"]]


RULES: tuple[Rule, ...] = (
    Rule("score_out_of_range", "high",
         _per_period("quality_invalid_scores", reason="score_out_of_range")),
    Rule("score_not_integer", "high",
         _per_period("quality_invalid_scores", reason="score_not_integer")),
    Rule("score_not_number", "high",
         _per_period("quality_invalid_scores", reason="score_not_number")),
    Rule("score_zero", "high", _per_period("quality_score_zero")),
    Rule("level_score_mismatch", "high",
         _per_period("quality_level_score_mismatch", high_score=SCORE_HIGH_WITH_C,
                     low_score=SCORE_LOW_WITH_T)),
    Rule("classification_mismatch", "high", _classification("mismatch")),
    Rule("unknown_student", "high", _query("quality_unknown_students")),
    Rule("teacher_not_in_staff", "high", _teacher_not_in_staff),
    Rule("teacher_left", "high", _teacher_left),
    Rule("level_without_score", "medium", _per_period("quality_level_without_score")),
    Rule("score_without_level", "medium", _per_period("quality_score_without_level")),
    Rule("class_oversize", "medium", _class_limit("quality_class_size", "class_size_max")),
    Rule("class_disabilities", "medium",
         _class_limit("quality_class_disabilities", "disabled_per_class_max")),
    Rule("duplicate_student", "medium", _query("quality_duplicate_students")),
    Rule("class_subject_unassigned", "medium", _query("quality_unassigned")),
    Rule("classification_unchecked", "low", _classification("unchecked")),
)
RULE_BY_CODE = {r.code: r for r in RULES}


def rule_name(code: str, lang: str = "vi") -> str:
    return t(f"quality.{code}.name", lang)


def rule_description(code: str, lang: str = "vi") -> str:
    return t(f"quality.{code}.description", lang)


def findings(data_dir: Path | str, snapshot: snapshots.SnapshotInfo | str, school_id: str,
             lang: str = "vi", settings: Settings | None = None) -> pd.DataFrame:
    """Every finding of every rule for one school of a snapshot, in the rules' order.

    Columns FINDING_COLUMNS; `detail` is a line in `lang` saying what was found (the period, the
    values). Settings default to `<data>/settings.yaml` over DOMAIN.md's norms.
    """
    frames = [_as_findings(rule, rows, lang)
              for rule, rows in _rule_rows(data_dir, snapshot, [school_id], lang, settings)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=FINDING_COLUMNS, dtype=object)
    return pd.concat(frames, ignore_index=True)


def counts(data_dir: Path | str, snapshot: snapshots.SnapshotInfo | str, school_ids: list[str],
           settings: Settings | None = None) -> pd.DataFrame:
    """How many findings each school of the list has per severity, each rule run once for all
    of them: school_id and one column per SEVERITIES, a row for every school (in the order
    given), equal to counting findings() school by school."""
    scope.check_all(school_ids)
    ids = list(dict.fromkeys(school_ids))
    out = pd.DataFrame(0, index=pd.Index(ids, name="school_id"), columns=list(SEVERITIES),
                       dtype="int64")
    for rule, rows in _rule_rows(data_dir, snapshot, ids, "vi", settings):
        out[rule.severity] += rows["school_id"].value_counts().reindex(ids, fill_value=0).to_numpy()
    return out.reset_index()


def _rule_rows(data_dir: Path | str, snapshot: snapshots.SnapshotInfo | str,
               school_ids: list[str], lang: str,
               settings: Settings | None) -> Iterator[tuple[Rule, pd.DataFrame]]:
    """Every rule's rows for the schools of the list, in the rules' order, SCHOOLS_PER_PASS
    schools at a time (one after the other for a longer list)."""
    settings = settings or load_settings(data_dir)
    snapshot_id = getattr(snapshot, "snapshot_id", snapshot)
    con = queries.prepare(snapshots.connect(data_dir, snapshot_id))
    try:
        for start in range(0, len(school_ids), SCHOOLS_PER_PASS):
            ctx = _Context(con, list(school_ids[start:start + SCHOOLS_PER_PASS]), settings, lang)
            for rule in RULES:
                yield rule, rule.check(ctx)
    finally:
        con.close()


def _as_findings(rule: Rule, rows: pd.DataFrame, lang: str) -> pd.DataFrame:
    params = [c for c in rows.columns if c not in _NOT_DETAIL]
    details = [t(f"quality.{rule.code}.detail", lang,
                 **{k: _shown(v) for k, v in zip(params, values)})
               for values in rows[params].itertuples(index=False, name=None)]
    out = pd.DataFrame({
        "rule": rule.code, "severity": rule.severity,
        "school_id": rows["school_id"].astype("str"),
        **{c: rows[c].astype(object).where(rows[c].notna(), None) if c in rows else None
           for c in _WHERE},
        "detail": details,
    }, index=rows.index, columns=FINDING_COLUMNS)
    return out.reset_index(drop=True)


def _shown(value: object) -> object:
    """A value as the detail line shows it: dates dd/mm/yyyy, whole numbers without '.0'."""
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return "–"
    if hasattr(value, "strftime"):
        return fmt_date(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def summary(found: pd.DataFrame, lang: str = "vi") -> pd.DataFrame:
    """One row per rule (every rule, found or not), most severe first: rule, name, severity,
    count."""
    counts = found["rule"].value_counts() if len(found) else pd.Series(dtype=int)
    rows = [(r.code, rule_name(r.code, lang), r.severity, int(counts.get(r.code, 0)))
            for r in sorted(RULES, key=lambda r: SEVERITIES.index(r.severity))]
    return pd.DataFrame(rows, columns=["rule", "name", "severity", "count"])


def named(found: pd.DataFrame, classes: pd.DataFrame, students: pd.DataFrame) -> pd.DataFrame:
    """Findings with the class name and the student's name beside the codes (blank when the
    code is not in the lists, as for a student not in the student list)."""
    out = found.merge(classes[["class_id", "class_name"]], on="class_id", how="left")
    out = out.merge(students[["student_id", "full_name"]], on="student_id", how="left")
    return out.fillna({"class_name": "", "full_name": ""})


@functools.lru_cache(maxsize=256)  # one entry per school shown
def _cached(data_dir: str, snapshot_id: str, school_id: str, lang: str,
            settings: Settings) -> pd.DataFrame:
    return findings(data_dir, snapshot_id, school_id, lang, settings)


def cached_findings(data_dir: Path | str, snapshot: snapshots.SnapshotInfo, school_id: str,
                    lang: str = "vi") -> pd.DataFrame:
    """findings(), remembered per snapshot, school, language and settings: a snapshot never
    changes, and an edit to settings.yaml gives a new key. Raises SettingsError."""
    scope.check(school_id)  # before the cache
    settings = load_settings(data_dir)
    return _cached(str(data_dir), snapshot.snapshot_id, school_id, lang, settings).copy()


@functools.lru_cache(maxsize=16)
def _cached_counts(data_dir: str, snapshot_id: str, school_ids: tuple[str, ...],
                   settings: Settings) -> pd.DataFrame:
    return counts(data_dir, snapshot_id, list(school_ids), settings)


def cached_counts(data_dir: Path | str, snapshot: snapshots.SnapshotInfo,
                  school_ids: list[str]) -> pd.DataFrame:
    """counts(), remembered per snapshot, list of schools and settings (the district page).
    Raises SettingsError."""
    scope.check_all(school_ids)  # before the cache
    settings = load_settings(data_dir)
    return _cached_counts(str(data_dir), snapshot.snapshot_id, tuple(school_ids),
                          settings).copy()


def high_count(data_dir: Path | str, snapshot: snapshots.SnapshotInfo,
               school_id: str) -> int | None:
    """How many high-severity findings; None when settings.yaml is unusable (the results page
    says why)."""
    try:
        found = cached_findings(data_dir, snapshot, school_id)
    except SettingsError:
        return None
    return int((found["severity"] == "high").sum())


# --- the TT27 classification check ----------------------------------------------------------

def _check_classifications(entries: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Compare each recorded classification with rules.classify over the student's own CN
    entries. Outcome "mismatch" (they differ) or "unchecked" (an owed entry is missing, so the
    rule cannot be applied); agreeing students are left out."""
    columns = ["school_id", "class_id", "student_id", "outcome", "recorded", "computed",
               "missing"]
    rows = []
    for (school_id, student_id), own in entries.groupby(["school_id", "student_id"], sort=True):
        first = own.iloc[0]
        grade = int(first["grade"])
        subject_levels, trait_levels, scores = {}, {}, {}
        for e in own.itertuples():
            if e.item_type == "subject":
                subject_levels[e.item_code] = e.level if isinstance(e.level, str) else None
                if pd.notna(e.score):
                    scores[e.item_code] = int(e.score)
            elif e.item_type == "trait":
                trait_levels[e.item_code] = e.level if isinstance(e.level, str) else None
        # The optional subjects a student takes are those the class is assigned (DESIGN.md).
        taken = frozenset(first["assigned_subjects"])
        computed = rules.classify(grade, subject_levels, trait_levels, scores, taken)
        recorded = first["classification"]
        if computed is None:
            missing = _missing_entries(grade, subject_levels, trait_levels, scores, taken, lang)
            rows.append((school_id, first["class_id"], student_id, "unchecked", recorded, None,
                         missing))
        elif computed != recorded:
            rows.append((school_id, first["class_id"], student_id, "mismatch", recorded,
                         computed, None))
    return pd.DataFrame(rows, columns=columns)


def _missing_entries(grade: int, subject_levels: dict, trait_levels: dict, scores: dict,
                     taken: frozenset, lang: str) -> str:
    """The owed CN entries that keep the rule from being applied, by name."""
    missing = []
    for e in rules.expectations(grade, "CN"):
        if e.optional and e.item_code not in taken:
            continue
        if e.item_type == "trait":
            if trait_levels.get(e.item_code) not in rules.TRAIT_LEVELS:
                missing.append(_item_name(e.item_code, lang))
            continue
        lacks_level = subject_levels.get(e.item_code) not in rules.SUBJECT_LEVELS
        lacks_score = e.needs_score and scores.get(e.item_code) is None
        if lacks_level or lacks_score:
            what = ("quality.missing_level_score" if lacks_level and lacks_score
                    else "quality.missing_level" if lacks_level else "quality.missing_score")
            missing.append(f"{_item_name(e.item_code, lang)} ({t(what, lang)})")
    return "; ".join(missing)


def _item_name(code: str, lang: str) -> str:
    item = rules.SUBJECT_BY_CODE.get(code) or rules.TRAIT_BY_CODE.get(code)
    if item is None:
        return code
    return item.name_en if lang == "en" else item.name_vi
