"""Staff (issue 7): headcounts, qualification against the Law on Education 2019, teachers per
class, the class × subject grid of teaching assignments, and workload per teacher.

Pure functions over the `staff_*` questions; no Streamlit, no I/O. Statuses, position groups
and qualifications come from files typed by hand, so they are compared as folded text (no
diacritics, case or spaces; csdl.text.fold).

- **Working.** Only staff whose status is "Đang làm việc" count in headcounts and ratios. A blank
  status says nothing, so it is counted as working (as the data-quality rules read it); anyone
  else (retired, moved, on leave) is listed apart as a leaver.
- **Teachers** are the staff whose position group (Nhóm chức vụ) is "Giáo viên".
- **Age** is taken in whole years on the snapshot's date.
- **Qualification** (Luật Giáo dục 2019, Điều 72; DOMAIN.md §5): a bachelor's degree in teacher
  training, or a bachelor's with a pedagogy certificate, meets the standard — the staff list has
  no certificate column, so a bachelor's whose major names "sư phạm" or "giáo dục" is taken as
  teacher training; a master's or doctorate is above; college, intermediate or less is below.
  A bachelor's without a major, or a qualification not recognised, is "unknown".
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime

import pandas as pd

from . import rules
from .text import fold, nfc

STAFF_WORKING = "Đang làm việc"
TEACHER_GROUP = "Giáo viên"
MANAGER_GROUP = "Cán bộ quản lý"
EMPLOYEE_GROUP = "Nhân viên"
POSITION_GROUPS = (MANAGER_GROUP, TEACHER_GROUP, EMPLOYEE_GROUP)  # the staff list's order
WOMAN, MAN = "Nữ", "Nam"
# Age bands as of the snapshot's date: < 30, 30–39, 40–49, 50–54, ≥ 55.
AGE_BANDS = ("under_30", "30_39", "40_49", "50_54", "55_over")
_AGE_LIMITS = ((30, "under_30"), (40, "30_39"), (50, "40_49"), (55, "50_54"))
# Ranks of primary-school teachers (Thông tư 02/2021): V.07.03.27/28/29 = hạng I / II / III.
RANKS = ("I", "II", "III", "other")
_RANK_BY_SUFFIX = {"27": "I", "28": "II", "29": "III"}
_RANK_RE = re.compile(r"V\.?07\.03\.(\d{2})")
STANDARD_LEVELS = ("below", "meets", "above", "unknown")
UNKNOWN = "unknown"
HOMEROOM = rules.TRAITS_UNIT  # the grid's homeroom column, as progress names the unit
# Words (folded) that make a bachelor's major count as teacher training.
_TEACHER_TRAINING = ("supham", "giaoduc")


# --- one person ------------------------------------------------------------------------------
def is_working(status: object) -> bool:
    """'Đang làm việc' (any case, spacing or Unicode form), or blank: counted as working."""
    key = fold(status) if isinstance(status, str) else ""
    return key == "" or key == fold(STAFF_WORKING)


def is_teacher(position_group: object) -> bool:
    return isinstance(position_group, str) and fold(position_group) == fold(TEACHER_GROUP)


def _as_date(value: object) -> date | None:
    if value is None or (not isinstance(value, (date, datetime)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def age_on(birth: object, day: date | datetime) -> int | None:
    """Whole years of age on `day` (a birthday on `day` counts); None without a birth date."""
    born, day = _as_date(birth), _as_date(day)
    if born is None or day is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_band(age: int | None) -> str:
    if age is None or pd.isna(age):
        return UNKNOWN
    for limit, band in _AGE_LIMITS:
        if age < limit:
            return band
    return "55_over"


def rank(rank_code: object) -> str:
    """'I', 'II', 'III' for the primary-teacher ranks, 'other' for any other code, else unknown."""
    text = re.sub(r"\s", "", nfc(rank_code)).upper() if isinstance(rank_code, str) else ""
    if not text:
        return UNKNOWN
    match = _RANK_RE.search(text)
    return _RANK_BY_SUFFIX.get(match.group(1), "other") if match else "other"


def qualification_standard(qualification: object, major: object) -> str:
    """'below' / 'meets' / 'above' the standard of the Law on Education 2019, or 'unknown'."""
    q = fold(qualification) if isinstance(qualification, str) else ""
    m = fold(major) if isinstance(major, str) else ""
    if not q:
        return UNKNOWN
    if "tiensi" in q or "thacsi" in q:
        return "above"
    if "daihoc" in q or "cunhan" in q:
        if any(w in q or w in m for w in _TEACHER_TRAINING):
            return "meets"
        return "below" if m else UNKNOWN
    if any(w in q for w in ("caodang", "trungcap", "socap", "trunghoc")):
        return "below"
    return UNKNOWN


def qualification_level(qualification: object) -> str:
    """The level of the main qualification, for the figures: postgraduate, university,
    college, intermediate or other."""
    q = fold(qualification) if isinstance(qualification, str) else ""
    if "tiensi" in q or "thacsi" in q:
        return "postgraduate"
    if "daihoc" in q or "cunhan" in q:
        return "university"
    if "caodang" in q:
        return "college"
    if "trungcap" in q:
        return "intermediate"
    return "other"


# --- the staff list ------------------------------------------------------------------------
def annotate(staff: pd.DataFrame, as_of: date | datetime) -> pd.DataFrame:
    """The staff list (`staff_list`) with: working, teacher, age, age_band, rank, standard,
    level (qualification level), woman."""
    out = staff.copy()
    out["working"] = pd.Series([is_working(s) for s in out["status"]], index=out.index,
                               dtype=bool)
    out["teacher"] = pd.Series([is_teacher(g) for g in out["position_group"]], index=out.index,
                               dtype=bool)
    out["age"] = pd.array([age_on(b, as_of) for b in out["birth_date"]], dtype="Int64")
    out["age_band"] = [age_band(None if pd.isna(a) else int(a)) for a in out["age"]]
    out["rank"] = [rank(r) for r in out["rank_code"]]
    out["standard"] = [qualification_standard(q, m)
                       for q, m in zip(out["qualification"], out["major"])]
    out["level"] = [qualification_level(q) for q in out["qualification"]]
    out["woman"] = pd.Series([isinstance(g, str) and fold(g) == fold(WOMAN)
                              for g in out["gender"]], index=out.index, dtype=bool)
    return out


def working(annotated: pd.DataFrame) -> pd.DataFrame:
    return annotated[annotated["working"]]


def leavers(annotated: pd.DataFrame) -> pd.DataFrame:
    """Staff whose status is not working: listed apart, counted nowhere else."""
    left = annotated[~annotated["working"]]
    return left[["staff_id", "full_name", "position_group", "job_position", "status"]] \
        .reset_index(drop=True)


HEADCOUNT_DIMENSIONS = ("position_group", "gender", "age_band", "contract_type", "rank")
_FIXED_ORDER = {"age_band": (*AGE_BANDS, UNKNOWN), "rank": (*RANKS, UNKNOWN),
                "position_group": POSITION_GROUPS, "gender": (MAN, WOMAN)}


def headcount(annotated: pd.DataFrame, by: str) -> pd.DataFrame:
    """Working staff per value of `by`: value, staff, women, share (of all working staff).
    A blank value is None. Fixed scales (age bands, ranks, groups, genders) keep their order
    with every step present; other values come by size."""
    people = working(annotated)
    values = people[by].map(lambda v: v if isinstance(v, str) and v.strip() else None)
    grouped = (pd.DataFrame({"value": values, "woman": people["woman"]})
               .groupby("value", dropna=False, sort=False)["woman"])
    # size and sum directly: named aggregation (.agg(staff=…)) costs ~10 ms more a call
    table = pd.DataFrame({"staff": grouped.size(), "women": grouped.sum()}).reset_index()
    fixed = _FIXED_ORDER.get(by)
    if by in ("age_band", "rank"):
        table = table.set_index("value").reindex(list(fixed), fill_value=0).reset_index()
        table = table[(table["staff"] > 0) | (table["value"] != UNKNOWN)]
    else:
        order = {v: i for i, v in enumerate(fixed or ())}
        table["_known"] = [len(order) + 1 if pd.isna(v) else order.get(v, len(order))
                           for v in table["value"]]
        table = table.sort_values(["_known", "staff"], ascending=[True, False],
                                  kind="stable").drop(columns="_known")
    total = len(people)
    table["staff"] = table["staff"].astype(int)
    table["women"] = table["women"].astype(int)
    table["share"] = table["staff"] / total if total else float("nan")
    table["value"] = table["value"].astype(object).where(table["value"].notna(), None)
    return table.reset_index(drop=True)[["value", "staff", "women", "share"]]


def qualification_table(annotated: pd.DataFrame) -> pd.DataFrame:
    """Working teachers per standard level (below / meets / above / unknown) with shares."""
    teachers = working(annotated)
    teachers = teachers[teachers["teacher"]]
    counts = teachers["standard"].value_counts().reindex(list(STANDARD_LEVELS), fill_value=0)
    table = pd.DataFrame({"standard": list(STANDARD_LEVELS), "staff": counts.astype(int).values})
    table["share"] = table["staff"] / len(teachers) if len(teachers) else float("nan")
    return table


def below_standard(annotated: pd.DataFrame) -> pd.DataFrame:
    """Working teachers below the standard or whose qualification cannot be told."""
    people = working(annotated)
    return people[people["teacher"] & people["standard"].isin(["below", UNKNOWN])] \
        .reset_index(drop=True)


def qualification_summary(annotated: pd.DataFrame) -> dict:
    """teachers, below, meets, above, unknown, and the shares 'đạt chuẩn' (meets or above: how
    Vietnamese reports count it) and 'trên chuẩn' (above) of all working teachers."""
    table = qualification_table(annotated).set_index("standard")["staff"]
    teachers = int(table.sum())
    out = {level: int(table[level]) for level in STANDARD_LEVELS}
    out["teachers"] = teachers
    out["share_standard"] = (out["meets"] + out["above"]) / teachers if teachers else None
    out["share_above"] = out["above"] / teachers if teachers else None
    return out


def required(norm: float, base: int) -> int:
    """The least whole count that reaches `norm` per unit of `base` (1,5 × 3 classes → 5)."""
    return math.ceil(round(norm * base, 9))


def teachers_per_class(annotated: pd.DataFrame, classes: int, norm: float) -> dict:
    """Working teachers per class against the norm: teachers, classes, ratio, norm, needed
    (the least number of teachers meeting it), shortfall, met (None without classes)."""
    people = working(annotated)
    teachers = int(people["teacher"].sum())
    needed = required(norm, classes)
    return {"teachers": teachers, "classes": int(classes),
            "ratio": teachers / classes if classes else None, "norm": norm, "needed": needed,
            "shortfall": max(needed - teachers, 0),
            "met": (teachers >= needed) if classes else None}


# --- teaching assignments ------------------------------------------------------------------
def _teacher_label(staff_id: object, full_name: object) -> str:
    return full_name if isinstance(full_name, str) and full_name else str(staff_id)


def assignment_cells(owed: pd.DataFrame, classes: pd.DataFrame,
                     staff: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per class × owed subject (`staff_assignment_grid`) plus one per class for the
    homeroom teacher (item_code PCNL): class_id, class_name, grade, item_code, teachers (names
    joined by '; '), staff_ids, gap (nobody assigned)."""
    # One pass over the rows (the cells keep the order in which they first appear, names in
    # row order): a pandas group per cell cost ~1 ms each, a school has hundreds of cells.
    cells: dict[tuple, dict] = {}
    for class_id, code, class_name, grade, staff_id, full_name in zip(
            owed["class_id"], owed["subject_code"], owed["class_name"], owed["grade"],
            owed["staff_id"], owed["full_name"]):
        if pd.isna(class_id) or pd.isna(code):  # as groupby drops a missing key
            continue
        cell = cells.get((class_id, code))
        if cell is None:
            cell = cells[(class_id, code)] = {
                "class_id": class_id, "class_name": class_name, "grade": grade,
                "item_code": code, "labels": [], "ids": []}
        if pd.notna(staff_id):
            cell["labels"].append(_teacher_label(staff_id, full_name))
            cell["ids"].append(staff_id)
    rows = [{"class_id": c["class_id"], "class_name": c["class_name"], "grade": c["grade"],
             "item_code": c["item_code"], "teachers": "; ".join(c["labels"]),
             "staff_ids": tuple(c["ids"]), "gap": not c["ids"]} for c in cells.values()]
    names = {}
    if staff is not None and len(staff):
        names = dict(zip(staff["staff_id"], staff["full_name"]))
    for c in classes.itertuples():
        homeroom = c.homeroom_staff_id if isinstance(c.homeroom_staff_id, str) \
            and c.homeroom_staff_id.strip() else None
        rows.append({"class_id": c.class_id, "class_name": c.class_name, "grade": c.grade,
                     "item_code": HOMEROOM,
                     "teachers": _teacher_label(homeroom, names.get(homeroom)) if homeroom else "",
                     "staff_ids": (homeroom,) if homeroom else (), "gap": homeroom is None})
    columns = ["class_id", "class_name", "grade", "item_code", "teachers", "staff_ids", "gap"]
    return _in_class_order(pd.DataFrame(rows, columns=columns), classes)


_ITEM_ORDER = {code: i for i, code in enumerate([HOMEROOM] + [s.code for s in rules.SUBJECTS])}


def _in_class_order(cells: pd.DataFrame, classes: pd.DataFrame) -> pd.DataFrame:
    order = {c: i for i, c in enumerate(classes["class_id"])}
    key = pd.DataFrame({"c": cells["class_id"].map(lambda c: order.get(c, len(order))),
                        "i": cells["item_code"].map(lambda c: _ITEM_ORDER.get(c, 99))})
    return cells.iloc[key.sort_values(["c", "i"], kind="stable").index].reset_index(drop=True)


def gaps(cells: pd.DataFrame) -> pd.DataFrame:
    """The owed class × subject cells (and homerooms) with nobody assigned."""
    return cells[cells["gap"]].reset_index(drop=True)


def assignment_grid(cells: pd.DataFrame, gap_text: str) -> pd.DataFrame:
    """Classes as rows, the homeroom then the subjects (catalogue order) as columns; each cell
    the teachers' names, `gap_text` where the class owes the subject and nobody is assigned,
    '' where the grade does not take it. Columns: class_name, then item codes."""
    if cells.empty:
        return pd.DataFrame(columns=["class_name"])
    text = cells.assign(cell=[gap_text if gap else names
                              for gap, names in zip(cells["gap"], cells["teachers"])])
    grid = text.pivot(index="class_id", columns="item_code", values="cell")
    codes = sorted(grid.columns, key=lambda c: _ITEM_ORDER.get(c, 99))
    class_ids = list(dict.fromkeys(cells["class_id"]))
    grid = grid.reindex(index=class_ids, columns=codes).fillna("")
    names = dict(zip(cells["class_id"], cells["class_name"]))
    grid.insert(0, "class_name", [names[c] for c in grid.index])
    return grid.reset_index(drop=True)


def _missing_key(value: object) -> object:
    """Missing values as one key (NaN is not equal to itself), as drop_duplicates reads them."""
    return None if pd.isna(value) else value


def workload(assignments: pd.DataFrame, annotated: pd.DataFrame,
             classes: pd.DataFrame) -> pd.DataFrame:
    """Per teacher: classes (distinct), subjects (distinct), assignments (class × subject),
    students (distinct students of their classes) and students_taught (each class's enrolled
    students once per subject taught there), the classes they are homeroom of, and status.
    Every working teacher is listed, with zeros when nothing is assigned; anyone assigned who
    is not in the staff list is listed with in_staff_list False."""
    people: dict = {}  # staff id → its first row, as .loc on a duplicated id reads it
    for staff_id, full_name, job, status, working_ in zip(
            annotated["staff_id"], annotated["full_name"], annotated["job_position"],
            annotated["status"], annotated["working"]):
        people.setdefault(staff_id, (full_name, job, status, working_))
    homerooms: dict[str, list[str]] = {}
    for c in classes.itertuples():
        if isinstance(c.homeroom_staff_id, str) and c.homeroom_staff_id.strip():
            homerooms.setdefault(c.homeroom_staff_id.strip(), []).append(c.class_name)
    ids = list(dict.fromkeys(
        [s for s in annotated.loc[annotated["working"] & annotated["teacher"], "staff_id"]]
        + list(assignments["staff_id"])))
    # One pass over the assignments instead of a filter of the whole table per teacher.
    own: dict = {}
    for staff_id, class_id, code, students in zip(
            assignments["staff_id"], assignments["class_id"], assignments["subject_code"],
            assignments["students"]):
        own.setdefault(staff_id, []).append((class_id, code, students))
    rows = []
    for staff_id in ids:
        mine = own.get(staff_id, [])
        per_class: dict = {}  # first row per class (a missing class id counts once)
        for class_id, _, students in mine:
            per_class.setdefault(_missing_key(class_id), students)
        known = staff_id in people
        full_name, job, status, working_ = people[staff_id] if known else (None,) * 4
        rows.append({
            "staff_id": staff_id,
            "full_name": full_name if known else None,
            "job_position": job if known else None,
            "status": status if known else None,
            "working": bool(working_) if known else False,
            "in_staff_list": known,
            "classes": len({c for c, _, _ in mine if pd.notna(c)}),
            "subjects": len({s for _, s, _ in mine if pd.notna(s)}),
            "assignments": len(mine),
            "students": int(sum(v for v in per_class.values() if pd.notna(v))),
            "students_taught": int(sum(v for _, _, v in mine if pd.notna(v))),
            "homeroom_of": ", ".join(homerooms.get(staff_id, [])),
            "subject_codes": tuple(dict.fromkeys(s for _, s, _ in mine)),
        })
    columns = ["staff_id", "full_name", "job_position", "status", "working", "in_staff_list",
               "classes", "subjects", "assignments", "students", "students_taught",
               "homeroom_of", "subject_codes"]
    out = pd.DataFrame(rows, columns=columns)
    if out.empty:
        return out
    return out.sort_values(["students_taught", "full_name"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)
