"""The school's start / mid / end-of-year figures (số liệu đầu năm, giữa năm, cuối năm; issue 7):
what the school reports at those points, computed for one snapshot, set beside the same figures
of an earlier snapshot, with the differences.

`compute(data_dir, snapshot, school_id)` gives one table per section (SECTIONS), each indexed by
a row key (a grade '1'…'5', 'total', a position group, a room type…) with one column per
metric; `compare(now, before)` gives, per section, one row per row key × metric with both values,
the difference and whether it changed; `workbook(...)` writes both columns and the difference to
Excel, the differences coloured. No Streamlit.

- **Students**: enrolled students by grade — girls, boys, Kinh and other ethnicities (a blank
  ethnicity is in neither), with a disability (a blank or "không" is none).
- **Classes**: classes per grade, their enrolled students and the average class size.
- **Staff**: working staff per position group, women, and the level of the main qualification;
  teachers against the qualification standard (csdl.staffing).
- **Facilities**: rooms per type and construction, usable classrooms, student toilet fixtures,
  computers for students (csdl.facilities).
"""
from __future__ import annotations

import functools
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

import pandas as pd
import xlsxwriter

from . import facilities, queries, rules, scope, snapshots, staffing
from .i18n import TABLE, t

SECTIONS = ("students", "classes", "staff", "teachers", "rooms", "facilities")
METRICS: dict[str, tuple[str, ...]] = {
    "students": ("students", "girls", "boys", "kinh", "minority", "disabled"),
    "classes": ("classes", "students", "avg_class_size"),
    "staff": ("staff", "women", "postgraduate", "university", "college", "intermediate",
              "other"),
    "teachers": ("teachers", "meets_or_above", "above", "meets", "below", "unknown",
                 "share_standard", "share_above"),
    "rooms": ("rooms", "solid", "semi_solid", "temporary", "usable"),
    "facilities": ("value",),
}
RATIO_METRICS = ("share_standard", "share_above")  # shown as percentages
DECIMAL_METRICS = ("avg_class_size",)  # shown with one decimal
FACILITY_ROWS = ("classes", "classrooms", "usable_classrooms", "solid_classrooms",
                 "boys_urinal", "boys_toilet", "girls_toilet", "basin", "computers")
PREVIOUS_MIN_DAYS = 60  # the default earlier snapshot is at least this much older
COMPARE_COLUMNS = ["row", "metric", "now", "before", "diff", "changed"]
TOTAL, UNKNOWN = "total", "unknown"


# --- computing -------------------------------------------------------------------------------
def _frame(rows: dict[str, dict], section: str) -> pd.DataFrame:
    out = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(METRICS[section]))
    out.index = out.index.map(str)
    out.index.name = "row"
    return out


def _students(df: pd.DataFrame) -> pd.DataFrame:
    grades = [str(g) for g in rules.GRADES]
    if df["grade"].isna().any():
        grades.append(UNKNOWN)
    rows = {g: dict.fromkeys(METRICS["students"], 0) for g in grades}
    for r in df.itertuples():
        row = rows[UNKNOWN if pd.isna(r.grade) else str(int(r.grade))]
        n = int(r.students)
        gender = r.gender if isinstance(r.gender, str) else ""
        row["students"] += n
        row["girls"] += n if gender == staffing.WOMAN else 0
        row["boys"] += n if gender == staffing.MAN else 0
        if not pd.isna(r.kinh):
            row["kinh" if r.kinh else "minority"] += n
        row["disabled"] += n if r.disabled else 0
    rows[TOTAL] = {m: sum(v[m] for v in rows.values()) for m in METRICS["students"]}
    return _frame(rows, "students").astype(int)


def _classes(df: pd.DataFrame) -> pd.DataFrame:
    rows = {str(g): {"classes": 0, "students": 0} for g in rules.GRADES}
    for r in df.itertuples():
        key = UNKNOWN if pd.isna(r.grade) else str(int(r.grade))
        row = rows.setdefault(key, {"classes": 0, "students": 0})
        row["classes"] += int(r.classes)
        row["students"] += int(r.students)
    rows[TOTAL] = {m: sum(v[m] for v in rows.values()) for m in ("classes", "students")}
    for row in rows.values():
        row["avg_class_size"] = row["students"] / row["classes"] if row["classes"] else None
    out = _frame(rows, "classes")
    out[["classes", "students"]] = out[["classes", "students"]].astype(int)
    out["avg_class_size"] = out["avg_class_size"].astype(float)
    return out


def _staff(annotated: pd.DataFrame) -> pd.DataFrame:
    people = staffing.working(annotated)
    groups = [g if isinstance(g, str) and g.strip() else UNKNOWN for g in people["position_group"]]
    order = list(staffing.POSITION_GROUPS) + sorted(set(groups) - set(staffing.POSITION_GROUPS)
                                                    - {UNKNOWN}) + \
        ([UNKNOWN] if UNKNOWN in groups else [])
    rows = {g: dict.fromkeys(METRICS["staff"], 0) for g in order}
    for group, woman, level in zip(groups, people["woman"], people["level"]):
        rows[group]["staff"] += 1
        rows[group]["women"] += int(bool(woman))
        rows[group][level] += 1
    rows[TOTAL] = {m: sum(v[m] for v in rows.values()) for m in METRICS["staff"]}
    return _frame(rows, "staff").astype(int)


def _teachers(annotated: pd.DataFrame) -> pd.DataFrame:
    q = staffing.qualification_summary(annotated)
    row = {"teachers": q["teachers"], "meets_or_above": q["meets"] + q["above"],
           "above": q["above"], "meets": q["meets"], "below": q["below"],
           "unknown": q["unknown"], "share_standard": q["share_standard"],
           "share_above": q["share_above"]}
    out = _frame({"teachers": row}, "teachers")
    out[list(RATIO_METRICS)] = out[list(RATIO_METRICS)].astype(float)
    return out


def _rooms(rooms: pd.DataFrame) -> pd.DataFrame:
    table = facilities.rooms_by_type(rooms)
    out = table.set_index("room_type")[list(METRICS["rooms"])]
    out.index = out.index.map(str)
    out.index.name = "row"
    return out.astype(int)


def _facilities(rooms: pd.DataFrame, equipment: pd.DataFrame, classes: int,
                students: dict) -> pd.DataFrame:
    from .settings import Settings

    rooms_ = facilities.classrooms(rooms)
    fixtures = facilities.toilets(equipment, students["boys"], students["girls"], Settings())
    have = dict(zip(fixtures["fixture"], fixtures["have"]))
    values = {"classes": classes, "classrooms": rooms_["classrooms"],
              "usable_classrooms": rooms_["usable"], "solid_classrooms": rooms_["solid"],
              **{k: int(have.get(k, 0)) for k in ("boys_urinal", "boys_toilet", "girls_toilet",
                                                   "basin")},
              "computers": facilities.computers(equipment)}
    return _frame({k: {"value": values[k]} for k in FACILITY_ROWS}, "facilities").astype(int)


@functools.lru_cache(maxsize=32)
def _compute(data_path: str, snapshot_id: str, school_id: str) -> dict[str, pd.DataFrame]:
    info = snapshots.get_snapshot(data_path, snapshot_id)
    con = queries.prepare(snapshots.connect(data_path, snapshot_id))
    try:
        def run(name: str) -> pd.DataFrame:
            return queries.run(con, name, school_id=school_id)

        students_df, classes_df = run("figures_students"), run("figures_classes")
        staff = staffing.annotate(run("staff_list"), info.taken_at)
        rooms, equipment = run("facility_rooms"), run("facility_equipment")
        by_gender = facilities.students_by_gender(run("facility_students"))
    finally:
        con.close()
    classes = _classes(classes_df)
    return {
        "students": _students(students_df),
        "classes": classes,
        "staff": _staff(staff),
        "teachers": _teachers(staff),
        "rooms": _rooms(rooms),
        "facilities": _facilities(rooms, equipment, int(classes.at[TOTAL, "classes"]),
                                  by_gender),
    }


def compute(data_dir: Path | str, snapshot: snapshots.SnapshotInfo | str,
            school_id: str) -> dict[str, pd.DataFrame]:
    """The school's figures at one snapshot, one table per section of SECTIONS (rows: the
    row keys; columns: METRICS[section]). Snapshots never change, so results are cached by id."""
    scope.check(school_id)  # before the cache
    snapshot_id = getattr(snapshot, "snapshot_id", snapshot)
    return {k: v.copy() for k, v in _compute(str(data_dir), snapshot_id, school_id).items()}


# --- comparing -------------------------------------------------------------------------------
def _missing(value: object) -> bool:
    return value is None or pd.isna(value)


def compare(now: dict[str, pd.DataFrame], before: dict[str, pd.DataFrame]
            ) -> dict[str, pd.DataFrame]:
    """Per section: one row per row key × metric (rows of `now` first, then those only in
    `before`), columns COMPARE_COLUMNS. A count missing on one side is 0 there (a room type that
    appeared); a section missing from `before` altogether has no earlier values and nothing
    counts as changed; an average or share missing stays missing. `changed` is True where the
    values differ (one side missing counts)."""
    out = {}
    for section in list(dict.fromkeys([*now, *before])):
        a, b = now.get(section), before.get(section)
        frames = [f for f in (a, b) if f is not None]
        rows = list(dict.fromkeys(r for f in frames for r in f.index))
        metrics = list(dict.fromkeys(m for f in frames for m in f.columns))
        records = []
        for row in rows:
            for metric in metrics:
                counted = metric not in RATIO_METRICS and metric not in DECIMAL_METRICS

                def value(frame: pd.DataFrame | None) -> object:
                    if frame is None:
                        return None
                    if row in frame.index and metric in frame.columns:
                        v = frame.at[row, metric]
                        return None if _missing(v) else v
                    return 0 if counted else None

                x, y = value(a), value(b)
                diff = None if x is None or y is None else x - y
                changed = b is not None and (
                    (x is None) != (y is None) or (diff is not None and abs(diff) > 1e-9))
                records.append({"row": row, "metric": metric, "now": x, "before": y,
                                "diff": diff, "changed": changed})
        out[section] = pd.DataFrame(records, columns=COMPARE_COLUMNS)
    return out


def changes(compared: dict[str, pd.DataFrame]) -> int:
    """How many figures changed, over every section."""
    return int(sum(df["changed"].sum() for df in compared.values()))


# --- which earlier snapshot ----------------------------------------------------------------
def _previous_year(school_year: str) -> str:
    first, second = rules.parse_school_year(school_year)
    return f"{first - 1}-{second - 1}"


def default_previous(snaps: Sequence[snapshots.SnapshotInfo], chosen: snapshots.SnapshotInfo
                     ) -> snapshots.SnapshotInfo | None:
    """The latest snapshot at least PREVIOUS_MIN_DAYS older than the chosen one; else the
    previous school year's last snapshot; else None."""
    earlier = sorted((s for s in snaps if s.taken_at < chosen.taken_at
                      and s.snapshot_id != chosen.snapshot_id), key=lambda s: s.taken_at)
    far = [s for s in earlier if s.taken_at <= chosen.taken_at - timedelta(days=PREVIOUS_MIN_DAYS)]
    if far:
        return far[-1]
    last_year = [s for s in earlier if s.school_year == _previous_year(chosen.school_year)]
    return last_year[-1] if last_year else None


def report_point(taken_at: datetime) -> str:
    """Which of the year's report points a date is nearest: 'start' (August–November), 'mid'
    (December–March, around the end of term I) or 'end' (April–July)."""
    month = taken_at.month
    return "start" if 8 <= month <= 11 else "mid" if month == 12 or month <= 3 else "end"


# --- labels and tables -------------------------------------------------------------------
def section_name(section: str, lang: str = "vi") -> str:
    return t(f"figures.section.{section}", lang)


def metric_label(metric: str, lang: str = "vi") -> str:
    return t(f"figures.metric.{metric}", lang)


def row_label(section: str, row: str, lang: str = "vi") -> str:
    key = f"figures.row.{row}"
    if key in TABLE:
        return t(key, lang)
    if section in ("students", "classes") and row.isdigit():
        return t("chart.grade_label", lang, grade=row)
    return row


def fmt_value(metric: str, value: object, lang: str = "vi", signed: bool = False) -> str:
    from .i18n import fmt_number, fmt_percent

    if _missing(value):
        return "–"
    if metric in RATIO_METRICS:
        text = fmt_percent(float(value), lang)
    else:
        text = fmt_number(float(value), lang, 1 if metric in DECIMAL_METRICS else 0)
    return f"+{text}" if signed and float(value) > 0 else text


def plain(section: str, table: pd.DataFrame, lang: str = "vi") -> pd.DataFrame:
    """One section's figures as text for the screen: a row label, then one column per metric."""
    out = pd.DataFrame({t("figures.col.row", lang): [row_label(section, r, lang)
                                                     for r in table.index]})
    for metric in table.columns:
        out[metric_label(metric, lang)] = [fmt_value(metric, v, lang) for v in table[metric]]
    return out


def wide(section: str, compared: pd.DataFrame, lang: str = "vi"
         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One compared section as text for the screen — a row label, then one column per metric:
    the value now, with the difference beside it when it changed ("195 (-1)") — and a
    same-shaped mask of the cells to highlight. One column a metric keeps the table within a
    1366-pixel screen; the Excel download has now, before and the difference apart."""
    label = t("figures.col.row", lang)
    rows = list(dict.fromkeys(compared["row"]))
    metrics = list(dict.fromkeys(compared["metric"]))
    # The cells as a dict (`.at` on a MultiIndex cost ~0.1 ms a cell, thousands per page).
    cell = {(r, m): (n, d, c) for r, m, n, d, c in zip(
        compared["row"], compared["metric"], compared["now"], compared["diff"],
        compared["changed"])}
    out = {label: [row_label(section, r, lang) for r in rows]}
    mask = {label: [False] * len(rows)}
    for metric in metrics:
        name = metric_label(metric, lang)
        values, changed = [], []
        for r in rows:
            now, diff, did = cell[(r, metric)]
            text = fmt_value(metric, now, lang)
            if did:
                text += f" ({fmt_value(metric, diff, lang, signed=True)})"
            values.append(text)
            changed.append(bool(did))
        out[name], mask[name] = values, changed
    return pd.DataFrame(out), pd.DataFrame(mask)


# --- Excel -----------------------------------------------------------------------------------
def workbook(compared: dict[str, pd.DataFrame], lang: str, title: str, subtitle: str) -> bytes:
    """One sheet per section: a title row, then per metric three columns — now, before, the
    difference — under the metric's name; differences coloured (up blue, down orange) and the
    changed values marked by conditional formats, so they follow any edit made in Excel."""
    from .exports import _sheet_name  # the same sheet-name rules as every export

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "font_size": 13})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                            "align": "center", "valign": "top"})
    number = {"count": book.add_format({"num_format": "#,##0"}),
              "decimal": book.add_format({"num_format": "0.0"}),
              "ratio": book.add_format({"num_format": "0.0%"})}
    signed = {"count": book.add_format({"num_format": "+#,##0;-#,##0;0"}),
              "decimal": book.add_format({"num_format": "+0.0;-0.0;0.0"}),
              "ratio": book.add_format({"num_format": "+0.0%;-0.0%;0.0%"})}
    up = book.add_format({"bg_color": "#C6E0F5", "font_color": "#1F4E79"})
    down = book.add_format({"bg_color": "#FCE4D6", "font_color": "#843C0C"})
    marked = book.add_format({"bold": True, "bg_color": "#FFF2CC"})
    used: set[str] = set()
    for section, table in compared.items():
        ws = book.add_worksheet(_sheet_name(section_name(section, lang), used))
        ws.write_string(0, 0, f"{title} — {section_name(section, lang)}", bold)
        ws.write_string(1, 0, subtitle)
        top, sub, first = 3, 4, 5
        ws.merge_range(top, 0, sub, 0, t("figures.col.row", lang), head)
        ws.set_column(0, 0, 28)
        rows = list(dict.fromkeys(table["row"]))
        metrics = list(dict.fromkeys(table["metric"]))
        cell = table.set_index(["row", "metric"])
        for r, row in enumerate(rows, start=first):
            ws.write_string(r, 0, row_label(section, row, lang))
        last = first + len(rows) - 1
        for m, metric in enumerate(metrics):
            c = 1 + 3 * m
            ws.merge_range(top, c, top, c + 2, metric_label(metric, lang), head)
            for k, key in enumerate(("figures.now", "figures.before", "figures.diff")):
                ws.write_string(sub, c + k, t(key, lang), head)
            ws.set_column(c, c + 2, 12)
            kind = "ratio" if metric in RATIO_METRICS else \
                "decimal" if metric in DECIMAL_METRICS else "count"
            for r, row in enumerate(rows, start=first):
                for k, field in enumerate(("now", "before", "diff")):
                    value = cell.at[(row, metric), field]
                    if not _missing(value):
                        ws.write_number(r, c + k, float(value),
                                        signed[kind] if field == "diff" else number[kind])
            if rows and table["before"].notna().any():  # something to compare with
                ws.conditional_format(first, c + 2, last, c + 2, {
                    "type": "cell", "criteria": ">", "value": 0, "format": up})
                ws.conditional_format(first, c + 2, last, c + 2, {
                    "type": "cell", "criteria": "<", "value": 0, "format": down})
                now_cell = xlsxwriter.utility.xl_rowcol_to_cell(first, c)
                before_cell = xlsxwriter.utility.xl_rowcol_to_cell(first, c + 1)
                ws.conditional_format(first, c, last, c, {
                    "type": "formula", "criteria": f"={now_cell}<>{before_cell}",
                    "format": marked})
        ws.freeze_panes(first, 1)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
    book.close()
    return buffer.getvalue()
