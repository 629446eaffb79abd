"""The demo: a fictional primary school, its previous year and a series of snapshots.

Everything is deterministic from the seed. Each part draws from its own random stream keyed by
a label (`_rng(seed, "students")`), so changing one part does not reshuffle the others; the
clock is never read. Names, places and people are invented.

The series tells a story the dashboard can show: 2025-2026 inside its entry windows (every few
days) and its final snapshot, then about weekly snapshots of 2026-2027 (every few days inside
entry windows) up to `as_of`. Teachers enter in bursts, each by a habit kept from window to
window; a few are habitually late (see `_time_entries`). Planted data problems, for the pages to find:
  * one class over 35 students (a grade-1 class);
  * in GK1 of 2026-2027 one score stored as 0 (a typing slip for 10);
  * 5–10 GK1 values changed after the GK1 lock, visible in later snapshots;
  * in 2025-2026 two students whose recorded classification disagrees with the rule;
  * per period, the late teachers (see `_time_entries`): one homeroom teacher after the lock,
    the others after the deadline.
`planted_problems(build_district(seed))` says exactly where they are.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import multiprocessing
import os
import sys
import tempfile
import types
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Sequence

import duckdb
import numpy as np
import pandas as pd

from . import rules, snapshots
from .text import fold

DEMO_SCHOOL_YEAR = "2026-2027"
PREVIOUS_SCHOOL_YEAR = "2025-2026"
DEFAULT_AS_OF = date(2027, 1, 8)  # inside the CK1 entry window of 2026-2027
SNAPSHOT_TIME = time(17, 0)  # an export downloaded at the end of the working day
PREVIOUS_YEAR_TAKEN_AT = datetime(2026, 6, 5, 17, 0)  # after the CN lock of 2025-2026
PROVINCE = "Tỉnh mẫu"
SOURCE = "demo"

# The lock schedule ("Phụ lục 2"): per period, entry opens, entry deadline, lock date.
DEFAULT_SCHEDULE: dict[str, dict[str, tuple[date, date, date]]] = {
    "2025-2026": {
        "GK1": (date(2025, 10, 27), date(2025, 11, 8), date(2025, 11, 11)),
        "CK1": (date(2025, 12, 29), date(2026, 1, 15), date(2026, 1, 18)),
        "GK2": (date(2026, 3, 16), date(2026, 3, 28), date(2026, 3, 31)),
        "CN": (date(2026, 5, 11), date(2026, 5, 23), date(2026, 5, 26)),
    },
    "2026-2027": {
        "GK1": (date(2026, 10, 26), date(2026, 11, 7), date(2026, 11, 10)),
        "CK1": (date(2026, 12, 29), date(2027, 1, 14), date(2027, 1, 17)),
        "GK2": (date(2027, 3, 15), date(2027, 3, 27), date(2027, 3, 30)),
        "CN": (date(2027, 5, 10), date(2027, 5, 22), date(2027, 5, 25)),
    },
}

SCHOOL_NAMES = ("Hoa Sen", "Hoa Mai", "Bằng Lăng", "Hoa Phượng", "Hướng Dương", "Hoa Lan",
                "Sao Mai", "Ánh Dương", "Hoa Cúc", "Thủy Tiên", "Hoa Đào", "Tường Vi")
SAMPLE_SUFFIX = "(dữ liệu mẫu)"

STATUS_ENROLLED = "Đang học"
STATUS_ARRIVED = "Chuyển đến"
STATUS_MOVED_AWAY = "Chuyển đi"
STATUS_DROPPED_OUT = "Thôi học"
STAFF_WORKING = "Đang làm việc"
STAFF_RETIRED = "Nghỉ hưu"
AWARD_EXCELLENT, AWARD_EXEMPLARY = rules.AWARD_EXCELLENT, rules.AWARD_EXEMPLARY
OPTIONAL_SUBJECTS = ("NGOAINGU", "TIENGDT")
PLANTED_DISAGREEMENTS = 2  # recorded classifications that disagree with the rule, 2025-2026
# Unit starts are drawn as window × u**pace: a higher pace starts earlier. The first school keeps
# 0.7; the others of a district draw theirs, so their progress differs.
DEFAULT_PACE = 0.7
PACE_RANGE = (0.35, 1.6)


# --------------------------------------------------------------------------------------------
# Schedule and snapshot times
# --------------------------------------------------------------------------------------------

def demo_schedule(school_year: str) -> list[dict]:
    """The demo lock schedule of a school year, one row per period for the whole school."""
    try:
        periods = DEFAULT_SCHEDULE[school_year]
    except KeyError:
        raise ValueError(f"the demo has no schedule for {school_year!r}; "
                         f"it has {sorted(DEFAULT_SCHEDULE)}") from None
    return [{"period": p, "grade": None, "opens": o, "deadline": d, "lock": lk}
            for p, (o, d, lk) in periods.items()]


def window_snapshot_days(school_year: str) -> set[date]:
    """Inside each entry window of the year: every three days from its opening, its deadline
    and the eve of its lock."""
    days: set[date] = set()
    for opens, deadline, lock in DEFAULT_SCHEDULE[school_year].values():
        anchors = {deadline, lock - timedelta(days=1)}
        every_third = {opens + timedelta(days=k) for k in range(2, (lock - opens).days - 1, 3)}
        # A day just before an anchor adds nothing: the anchor is taken the next day.
        every_third = {d for d in every_third if d + timedelta(days=1) not in anchors}
        days |= anchors | every_third
    return days


def snapshot_times(as_of: date, school_year: str = DEMO_SCHOOL_YEAR) -> list[datetime]:
    """When the demo year's snapshots are taken: every Friday from early September, every three
    days inside an entry window (plus its deadline and the eve of its lock), and `as_of`."""
    start_year, _ = rules.parse_school_year(school_year)
    first_day = date(start_year, 9, 1)
    if not first_day <= as_of <= date(start_year + 1, 8, 31):
        raise ValueError(f"as_of {as_of} is outside {school_year} (from {first_day})")
    windows = [(o, lk) for o, _, lk in DEFAULT_SCHEDULE[school_year].values()]

    def in_window(day: date) -> bool:
        return any(o <= day <= lk for o, lk in windows)

    days: set[date] = set()
    friday = first_day + timedelta(days=(4 - first_day.weekday()) % 7)
    while friday <= as_of:
        if not in_window(friday):
            days.add(friday)
        friday += timedelta(days=7)
    days |= window_snapshot_days(school_year)
    days = {d for d in days if first_day <= d <= as_of}
    days.add(as_of)
    return [datetime.combine(d, SNAPSHOT_TIME) for d in sorted(days)]


def previous_year_times() -> list[datetime]:
    """The previous year's snapshots inside its entry windows (the school began using the
    dashboard a year earlier: the forecast learns each teacher's habits from them)."""
    return [datetime.combine(d, SNAPSHOT_TIME)
            for d in sorted(window_snapshot_days(PREVIOUS_SCHOOL_YEAR))]


def demo_snapshot_id(seed: int, school_ids: Sequence[str], taken_at: datetime) -> str:
    """`YYYYMMDD-HHMMSS-xxxxxx`, the suffix hashed from the seed, schools and time."""
    key = f"{seed}|{','.join(school_ids)}|{taken_at.isoformat()}"
    return f"{taken_at:%Y%m%d-%H%M%S}-{hashlib.sha256(key.encode()).hexdigest()[:6]}"


# --------------------------------------------------------------------------------------------
# Random streams and names
# --------------------------------------------------------------------------------------------

def _rng(seed: int, *labels: object) -> np.random.Generator:
    key = "|".join(str(x) for x in (seed, *labels)).encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:16], "big"))


def _pick(rng: np.random.Generator, weighted: dict[str, float], size: int) -> np.ndarray:
    names = list(weighted)
    p = np.array(list(weighted.values()), dtype=float)
    return rng.choice(np.array(names, dtype=object), size=size, p=p / p.sum())


FAMILY_NAMES = {
    "Nguyễn": 31, "Trần": 11, "Lê": 9.5, "Phạm": 7, "Hoàng": 5, "Huỳnh": 5, "Phan": 4.5,
    "Vũ": 4, "Võ": 4, "Đặng": 3, "Bùi": 3, "Đỗ": 3, "Hồ": 2, "Ngô": 2, "Dương": 1.5, "Lý": 1,
    "Trương": 1, "Đinh": 1, "Lâm": 0.8, "Mai": 0.6, "Cao": 0.6, "Tạ": 0.4, "Lưu": 0.4,
}
# Family names common among Khmer and Hoa families in the south.
FAMILY_NAMES_BY_ETHNICITY = {
    "Khmer": {"Thạch": 3, "Sơn": 3, "Danh": 3, "Kim": 2, "Lâm": 1, "Châu": 1},
    "Hoa": {"Lâm": 2, "Trương": 2, "Quách": 1, "Lý": 2, "Tăng": 1, "Mã": 1},
}
MIDDLE_NAMES = {
    "Nam": {"Văn": 3, "Minh": 4, "Đức": 2, "Quốc": 2, "Gia": 3, "Hoàng": 2, "Anh": 2, "Thành": 2,
            "Bảo": 3, "Nhật": 2, "Hữu": 2, "Công": 1, "Tuấn": 1, "Trọng": 1, "Đăng": 1},
    "Nữ": {"Thị": 3, "Ngọc": 4, "Thu": 2, "Bảo": 3, "Khánh": 2, "Minh": 2, "Phương": 2, "Gia": 2,
           "Hoài": 1, "Thanh": 2, "Kim": 2, "Mai": 1, "Tường": 1, "Diệu": 1, "Quỳnh": 1},
}
GIVEN_NAMES = {
    "Nam": ("An", "Bảo", "Minh", "Khang", "Phúc", "Huy", "Nam", "Khôi", "Đăng", "Long", "Quân",
            "Duy", "Hiếu", "Tùng", "Kiên", "Thịnh", "Vinh", "Tài", "Lâm", "Hưng", "Trí", "Sơn",
            "Nhân", "Tín", "Phong", "Đạt", "Hải", "Kiệt", "Nguyên", "Thiện", "Khoa", "Dũng"),
    "Nữ": ("Anh", "Vy", "Ngân", "Trang", "Linh", "Hân", "Nhi", "Châu", "Thư", "Mai", "Hà", "Yến",
           "Trâm", "Uyên", "My", "Ngọc", "Thảo", "Hương", "Quỳnh", "Phương", "Tâm", "Diệp", "An",
           "Lan", "Như", "Giang", "Hằng", "Nhung", "Hạnh", "Vân", "Loan", "Tú"),
}
ETHNICITIES = {"Kinh": 93.0, "Khmer": 3.0, "Hoa": 2.0, "Tày": 0.6, "Nùng": 0.5, "Mường": 0.4,
               "Thái": 0.3, "Chăm": 0.2}
DISABILITIES = ("Khuyết tật vận động", "Khuyết tật nghe, nói", "Khuyết tật nhìn",
                "Khuyết tật trí tuệ", "Khuyết tật học tập", "Khuyết tật khác")


def _people(rng: np.random.Generator, genders: np.ndarray,
            ethnicities: np.ndarray | None = None) -> pd.DataFrame:
    """Full names by gender, with the family name for the sort key apart."""
    n = len(genders)
    family = _pick(rng, FAMILY_NAMES, n)
    if ethnicities is not None:
        for group, names in FAMILY_NAMES_BY_ETHNICITY.items():
            mask = ethnicities == group
            if mask.any():
                family[mask] = _pick(rng, names, int(mask.sum()))
    middle = np.empty(n, dtype=object)
    given = np.empty(n, dtype=object)
    for gender in ("Nam", "Nữ"):
        mask = genders == gender
        k = int(mask.sum())
        middle[mask] = _pick(rng, MIDDLE_NAMES[gender], k)
        given[mask] = rng.choice(np.array(GIVEN_NAMES[gender], dtype=object), size=k)
    full = [f"{f} {m} {g}" for f, m, g in zip(family, middle, given)]
    # Vietnamese class lists are ordered by given name, then middle and family name.
    sort_key = [f"{fold(g)} {fold(m)} {fold(f)}" for f, m, g in zip(family, middle, given)]
    return pd.DataFrame({"full_name": full, "sort_key": sort_key})


def _dates_in_year(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    day_of_year = rng.integers(0, 365, size=len(years))
    return np.array([date(int(y), 1, 1) + timedelta(days=int(d))
                     for y, d in zip(years, day_of_year)], dtype=object)


# --------------------------------------------------------------------------------------------
# The school
# --------------------------------------------------------------------------------------------

@dataclass(eq=False)
class DemoSchool:
    """One school in one school year: contract tables plus the hidden facts that drive the
    simulation (abilities, arrival and leaving dates).

    `students` holds the contract columns but `status`/`active` (they depend on the time) and:
    final_status, arrived_on, left_on, ability, list_pos, held_back (CHT and kept back at the end
    of this year), promote_after_review (a CHT student promoted by the principal), exemplary_draw.
    """

    school_id: str
    name: str
    province: str
    school_year: str
    seed: int
    classes: pd.DataFrame
    students: pd.DataFrame
    staff: pd.DataFrame
    assignments: pd.DataFrame
    rooms: pd.DataFrame
    equipment: pd.DataFrame
    meta: dict = field(default_factory=dict)
    _fixed: dict = field(default_factory=dict, repr=False)  # tables that never change

    def roster_at(self, taken_at: datetime) -> pd.DataFrame:
        """The student list as the sector database shows it at `taken_at`."""
        day = pd.Timestamp(taken_at.date())
        s = self.students
        listed = s[s["arrived_on"].isna() | (s["arrived_on"] <= day)].copy()
        gone = listed["left_on"].notna() & (listed["left_on"] <= day)
        arrived = listed["arrived_on"].notna()
        listed["status"] = np.where(gone, listed["final_status"],
                                    np.where(arrived, STATUS_ARRIVED, STATUS_ENROLLED))
        listed["active"] = ~gone
        return listed

    def static_tables(self, taken_at: datetime) -> dict[str, pd.DataFrame]:
        """Every contract table but the results, with `school_id`."""
        if not self._fixed:
            cols = snapshots.table_columns()
            school = pd.DataFrame([(self.school_id, self.name, self.province)],
                                  columns=cols["school"])
            fixed = {"school": school, "class": self.classes, "staff": self.staff,
                     "assignment": self.assignments, "room": self.rooms,
                     "equipment": self.equipment}
            self._fixed.update({name: _contract(name, df, self.school_id)
                                for name, df in fixed.items()})
        roster = self.roster_at(taken_at)
        student = _contract("student", roster.assign(birth_date=roster["birth_date"].dt.date),
                            self.school_id)
        out = {name: df.copy() for name, df in self._fixed.items()}
        return {"school": out["school"], "class": out["class"], "student": student,
                **{name: out[name] for name in ("staff", "assignment", "room", "equipment")}}


def _contract(table: str, df: pd.DataFrame, school_id: str) -> pd.DataFrame:
    cols = snapshots.table_columns()[table]
    return df.assign(school_id=school_id).reindex(columns=list(cols)).reset_index(drop=True)


def _school_code(school_id: str) -> int:
    """Four digits that prefix the school's student and staff codes."""
    return 1000 + zlib.crc32(school_id.encode()) % 9000


def school_codes(school_ids: Sequence[str]) -> list[int]:
    """Each school's four-digit code, distinct within the district: the hashed code, or the next
    free one when an earlier school holds it (so student and staff ids never collide)."""
    if len(school_ids) > 9000:
        raise ValueError("the demo has four-digit school codes: at most 9,000 schools")
    taken: set[int] = set()
    codes = []
    for school_id in school_ids:
        code = _school_code(school_id)
        while code in taken:
            code = 1000 + (code - 1000 + 1) % 9000
        taken.add(code)
        codes.append(code)
    return codes


def _class_id(school_id: str, start_year: int, class_name: str) -> str:
    return f"{school_id}-{start_year % 100:02d}{(start_year + 1) % 100:02d}-{class_name}"


def build_school(seed: int, school_id: str = "DEMO01",
                 school_name: str = f"Trường Tiểu học Hoa Sen {SAMPLE_SUFFIX}",
                 code: int | None = None, pace: float = DEFAULT_PACE) -> DemoSchool:
    """The demo school in 2026-2027, deterministic from `seed`.

    `code` prefixes student and staff ids (default: hashed from the id); `pace` is how late its
    teachers start entering in each window (see `_time_entries`)."""
    code = _school_code(school_id) if code is None else code
    start_year = rules.parse_school_year(DEMO_SCHOOL_YEAR)[0]
    sizes = _class_plan(_rng(seed, "classes"))
    classes = pd.DataFrame(
        [(g, name, size) for g, names in sizes.items() for name, size in names.items()],
        columns=["grade", "class_name", "size"])
    classes["class_id"] = [_class_id(school_id, start_year, n) for n in classes["class_name"]]
    staff, roles = _make_staff(_rng(seed, "staff"), code, len(classes), start_year)
    classes["homeroom_staff_id"] = roles["homeroom"]
    assign_rng = _rng(seed, "assignments")
    # Tiếng dân tộc (Khmer) is taught in one or two classes of grades 3–5.
    upper = classes.index[classes["grade"] >= 3].to_numpy()
    ethnic_language_classes = set(classes.loc[
        assign_rng.choice(upper, size=int(assign_rng.integers(1, 3)), replace=False), "class_id"])
    assignments = _make_assignments(assign_rng, classes, roles, ethnic_language_classes)
    students = _make_students(_rng(seed, "students"), code, classes, start_year,
                              ethnic_language_classes)
    rooms, equipment = _make_facilities(_rng(seed, "facilities"), classes, students)
    return DemoSchool(
        school_id=school_id, name=school_name, province=PROVINCE, school_year=DEMO_SCHOOL_YEAR,
        seed=seed, classes=classes[["class_id", "class_name", "grade", "homeroom_staff_id"]],
        students=students, staff=staff, assignments=assignments, rooms=rooms,
        equipment=equipment,
        meta={"roles": roles, "ethnic_language_classes": ethnic_language_classes, "code": code,
              "pace": pace})


def _class_plan(rng: np.random.Generator) -> dict[int, dict[str, int]]:
    """Active students per class by grade: 26–30 classes of 30–35 but one grade-1 class of
    36–38 (the planted oversize class); about 850–1,000 active students in all."""
    while True:
        per_grade = rng.choice([5, 6, 7], size=5, p=[0.35, 0.5, 0.15])
        sizes = rng.integers(30, 36, size=int(per_grade.sum()))
        if 26 <= per_grade.sum() <= 30 and 850 <= sizes.sum() + 3 <= 1000:
            break
    plan: dict[int, dict[str, int]] = {}
    k = 0
    for grade, count in zip(rules.GRADES, per_grade):
        plan[grade] = {f"{grade}{chr(ord('A') + i)}": int(sizes[k + i]) for i in range(count)}
        k += count
    oversize = f"1{chr(ord('A') + int(rng.integers(0, per_grade[0])))}"
    plan[1][oversize] = int(rng.integers(36, 39))
    return plan


# Staff roles: (position_group, job_position, staff_type, main_subject, major, female share).
STAFF_ROLES = {
    "principal": ("Cán bộ quản lý", "Hiệu trưởng", "Cán bộ quản lý", "Tiếng Việt",
                  "Quản lý giáo dục", 0.6),
    "vice_principal": ("Cán bộ quản lý", "Phó hiệu trưởng", "Cán bộ quản lý", "Toán",
                       "Giáo dục Tiểu học", 0.7),
    "homeroom": ("Giáo viên", "Giáo viên", "Giáo viên chủ nhiệm", "Tiếng Việt",
                 "Giáo dục Tiểu học", 0.88),
    "english": ("Giáo viên", "Giáo viên", "Giáo viên bộ môn", "Tiếng Anh",
                "Sư phạm Tiếng Anh", 0.85),
    "informatics": ("Giáo viên", "Giáo viên", "Giáo viên bộ môn", "Tin học",
                    "Sư phạm Tin học", 0.4),
    "music": ("Giáo viên", "Giáo viên", "Giáo viên bộ môn", "Âm nhạc", "Sư phạm Âm nhạc", 0.6),
    "arts": ("Giáo viên", "Giáo viên", "Giáo viên bộ môn", "Mĩ thuật", "Sư phạm Mĩ thuật", 0.5),
    "pe": ("Giáo viên", "Giáo viên", "Giáo viên bộ môn", "Giáo dục thể chất",
           "Giáo dục Thể chất", 0.3),
    "ethnic_language": ("Giáo viên", "Giáo viên", "Giáo viên bộ môn", "Tiếng Khmer",
                        "Sư phạm Tiếng Khmer", 0.6),
    "pioneer_leader": ("Giáo viên", "Tổng phụ trách Đội", "Tổng phụ trách Đội", "Âm nhạc",
                       "Giáo dục Tiểu học", 0.5),
    "accountant": ("Nhân viên", "Kế toán", "Nhân viên", None, "Kế toán", 0.8),
    "clerk": ("Nhân viên", "Văn thư", "Nhân viên", None, "Văn thư – Lưu trữ", 0.8),
    "librarian": ("Nhân viên", "Thư viện", "Nhân viên", None, "Thông tin – Thư viện", 0.9),
    "nurse": ("Nhân viên", "Y tế học đường", "Nhân viên", None, "Y sĩ đa khoa", 0.8),
    "guard": ("Nhân viên", "Bảo vệ", "Nhân viên", None, None, 0.0),
    "janitor": ("Nhân viên", "Phục vụ", "Nhân viên", None, None, 0.9),
}
TEACHER_QUALIFICATIONS = {"Đại học": 80, "Thạc sĩ": 7, "Cao đẳng": 11, "Trung cấp": 2}
TEACHER_RANKS = {"V.07.03.27": 6, "V.07.03.28": 40, "V.07.03.29": 54}  # hạng I / II / III
STANDARD_RATINGS = {"Tốt": 45, "Khá": 45, "Đạt": 9, "Chưa đạt": 1}
# Non-teaching staff: (qualification, rank code, contract type); None where it does not apply.
SUPPORT_STAFF = {
    "accountant": ("Đại học", "06.031", "Biên chế"),
    "clerk": ("Cao đẳng", "02.008", "Biên chế"),
    "librarian": ("Cao đẳng", "V.10.02.07", "Biên chế"),
    "nurse": ("Trung cấp", "V.08.03.07", "Biên chế"),
    "guard": ("Trung học phổ thông", None, "Hợp đồng"),
    "janitor": ("Trung học phổ thông", None, "Hợp đồng"),
}


def _make_staff(rng: np.random.Generator, code: int, n_classes: int,
                start_year: int) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    counts = {
        "principal": 1, "vice_principal": 2 if n_classes >= 28 else 1, "homeroom": n_classes,
        "english": int(rng.integers(3, 5)), "informatics": 2, "music": 2, "arts": 2,
        "pe": int(rng.integers(2, 4)), "ethnic_language": 1, "pioneer_leader": 1,
        "accountant": 1, "clerk": 1, "librarian": 1, "nurse": 1, "guard": 2, "janitor": 1,
    }
    role_of = [r for r, k in counts.items() for _ in range(k)] + ["retired"]
    n = len(role_of)
    base_role = [r if r != "retired" else "homeroom" for r in role_of]
    female = np.array([STAFF_ROLES[r][5] for r in base_role])
    genders = np.where(rng.random(n) < female, "Nữ", "Nam").astype(object)
    names = _people(rng, genders)
    age = np.where(np.isin(role_of, ["principal", "vice_principal"]), rng.integers(42, 56, n),
                   rng.integers(24, 56, n))
    age = np.where(np.array(role_of) == "retired", 60, age)
    birth = _dates_in_year(rng, start_year - age)
    rows = []
    for i, role in enumerate(role_of):
        group, position, staff_type, subject, major, _ = STAFF_ROLES[base_role[i]]
        if base_role[i] in SUPPORT_STAFF:
            qualification, rank, contract = SUPPORT_STAFF[base_role[i]]
            rating, sessions = None, None
        else:
            qualification = _pick(rng, TEACHER_QUALIFICATIONS, 1)[0]
            if role in ("principal", "vice_principal"):
                qualification = "Thạc sĩ" if rng.random() < 0.5 else "Đại học"
            contract = "Hợp đồng" if role == "homeroom" and rng.random() < 0.1 else "Biên chế"
            rank = "V.07.03.29" if contract == "Hợp đồng" else _pick(rng, TEACHER_RANKS, 1)[0]
            rating = _pick(rng, STANDARD_RATINGS, 1)[0]
            sessions = 1 if rng.random() < 0.08 else 2
        rows.append({
            "staff_id": f"CB{code}{i + 1:03d}", "full_name": names.at[i, "full_name"],
            "birth_date": birth[i], "gender": genders[i], "position_group": group,
            "job_position": position, "staff_type": staff_type, "main_subject": subject,
            "contract_type": contract, "rank_code": rank, "qualification": qualification,
            "major": major, "standard_rating": rating, "sessions_per_day": sessions,
            "status": STAFF_RETIRED if role == "retired" else STAFF_WORKING,
        })
    staff = pd.DataFrame(rows)
    staff["sessions_per_day"] = staff["sessions_per_day"].astype("Int64")
    roles: dict[str, list[str]] = {}
    for staff_id, role in zip(staff["staff_id"], role_of):
        roles.setdefault(role, []).append(staff_id)
    return staff, roles


def _split(items: Sequence, teachers: Sequence[str]) -> list[tuple[str, object]]:
    """Hand consecutive blocks of items to the teachers, as a timetable does."""
    blocks = np.array_split(np.arange(len(items)), len(teachers))
    return [(teachers[t], items[i]) for t, block in enumerate(blocks) for i in block]


def _make_assignments(rng: np.random.Generator, classes: pd.DataFrame,
                      roles: dict[str, list[str]], ethnic_language_classes: set[str]
                      ) -> pd.DataFrame:
    rows: list[tuple[str, str, str]] = []
    for c in classes.itertuples():
        own = ["TV", "TOAN", "DAODUC", "HDTN"] + (["TNXH"] if c.grade <= 3 else ["LSDL", "KHOAHOC"])
        rows += [(c.homeroom_staff_id, c.class_id, s) for s in own]
    ordered = classes.sort_values(["grade", "class_name"])
    lower = ordered[ordered["grade"] <= 2]
    # Ngoại ngữ is optional in grades 1–2: about half of those classes take it, never all or none.
    takes = rng.random(len(lower)) < 0.5
    takes[0], takes[-1] = True, False
    english_classes = list(lower["class_id"][takes]) + list(ordered.loc[ordered["grade"] >= 3,
                                                                        "class_id"])
    rows += [(t, c, "NGOAINGU") for t, c in _split(english_classes, roles["english"])]
    upper = list(ordered.loc[ordered["grade"] >= 3, "class_id"])
    for t, c in _split(upper, roles["informatics"]):
        rows += [(t, c, "TINHOC"), (t, c, "CONGNGHE")]
    everyone = list(ordered["class_id"])
    for role, subject in (("music", "AMNHAC"), ("arts", "MITHUAT"), ("pe", "GDTC")):
        rows += [(t, c, subject) for t, c in _split(everyone, roles[role])]
    rows += [(roles["ethnic_language"][0], c, "TIENGDT") for c in sorted(ethnic_language_classes)]
    return pd.DataFrame(rows, columns=["staff_id", "class_id", "subject_code"])


def _new_students(rng: np.random.Generator, grade: np.ndarray, start_year: int,
                  minority_share: np.ndarray | None = None) -> pd.DataFrame:
    """Students of the given grades: gender, ethnicity, name, birth date, ability."""
    n = len(grade)
    genders = np.where(rng.random(n) < 0.52, "Nam", "Nữ").astype(object)
    ethnicity = _pick(rng, ETHNICITIES, n)
    if minority_share is not None:
        khmer = rng.random(n) < minority_share
        ethnicity[khmer] = "Khmer"
    people = _people(rng, genders, ethnicity)
    # Grade 1 in a year starting 2026 means born in 2020; about 1 in 200 is a year older.
    repeater = rng.random(n) < 0.005
    birth_year = start_year - 5 - grade - repeater.astype(int)
    return pd.DataFrame({
        "full_name": people["full_name"], "sort_key": people["sort_key"],
        "birth_date": pd.to_datetime(_dates_in_year(rng, birth_year)), "gender": genders,
        "ethnicity": ethnicity, "disability": None, "repeater": repeater,
        "ability": rng.normal(0.0, 1.0, n), "exemplary_draw": rng.random(n),
    })


def _make_students(rng: np.random.Generator, code: int, classes: pd.DataFrame,
                   start_year: int, ethnic_language_classes: set[str]) -> pd.DataFrame:
    # Leavers are extra rows in classes of 33 or fewer, one per class, so that no class but
    # the planted one ever holds more than 35 students.
    n_leavers = int(rng.integers(3, 7))
    small = classes.index[(classes["size"] <= 33) & (classes["grade"] >= 2)].to_numpy()
    leaver_classes = set(rng.choice(small, size=min(n_leavers, len(small)), replace=False))
    per_class = []
    for idx, c in classes.iterrows():
        n = int(c["size"]) + (1 if idx in leaver_classes else 0)
        share = 0.3 if c["class_id"] in ethnic_language_classes else 0.0
        part = _new_students(rng, np.full(n, c["grade"]), start_year, np.full(n, share))
        part["class_id"] = c["class_id"]
        part["grade"] = c["grade"]
        part["is_leaver"] = False
        if idx in leaver_classes:
            part.loc[n - 1, "is_leaver"] = True
        per_class.append(part)
    students = pd.concat(per_class, ignore_index=True)
    n = len(students)

    # Leavers left between mid-September and late December, outside the entry windows.
    leavers = students.index[students["is_leaver"]].to_numpy()
    students["final_status"] = None
    students.loc[leavers, "final_status"] = [STATUS_DROPPED_OUT if i == 0 else STATUS_MOVED_AWAY
                                             for i in range(len(leavers))]
    leave_days = rng.choice(np.r_[np.arange(14, 50), np.arange(75, 110)], size=len(leavers))
    students["left_on"] = pd.NaT
    students.loc[leavers, "left_on"] = (pd.Timestamp(date(start_year, 9, 1))
                                        + pd.to_timedelta(leave_days, unit="D"))
    # Arrivals ("Chuyển đến") joined in September or October, before GK1 opens; never into the
    # oversize class.
    normal = students.index[~students["is_leaver"]
                            & students["class_id"].isin(classes.loc[classes["size"] <= 35,
                                                                    "class_id"])
                            & (students["grade"] >= 2)].to_numpy()
    arrivals = rng.choice(normal, size=int(rng.integers(4, 9)), replace=False)
    students["arrived_on"] = pd.NaT
    students.loc[arrivals, "arrived_on"] = (pd.Timestamp(date(start_year, 9, 7))
                                            + pd.to_timedelta(rng.integers(0, 40, len(arrivals)),
                                                              unit="D"))
    # A few students with disabilities, at most two per inclusive class.
    disabled_classes = rng.choice(classes["class_id"].to_numpy(), size=int(rng.integers(5, 8)),
                                  replace=False)
    for class_id in disabled_classes:
        members = students.index[(students["class_id"] == class_id) & ~students["is_leaver"]]
        chosen = rng.choice(members.to_numpy(), size=int(rng.integers(1, 3)), replace=False)
        students.loc[chosen, "disability"] = rng.choice(np.array(DISABILITIES, dtype=object),
                                                        size=len(chosen))
        # Children with disabilities are assessed against their own education plan; their
        # recorded levels tend to sit lower.
        students.loc[chosen, "ability"] -= 0.8
    students["held_back"] = False
    students["promote_after_review"] = rng.random(n) < 0.6
    return _finish_students(students, code)


def _finish_students(students: pd.DataFrame, code: int, first_serial: int = 1
                     ) -> pd.DataFrame:
    """Codes, class-list order and column order."""
    students = students.sort_values(["class_id", "sort_key"], kind="stable").reset_index(drop=True)
    students["list_pos"] = students.groupby("class_id").cumcount()
    students["student_id"] = [f"{code}{first_serial + i:06d}" for i in range(len(students))]
    return students[["student_id", "class_id", "grade", "full_name", "birth_date", "gender",
                     "ethnicity", "disability", "final_status", "arrived_on", "left_on",
                     "ability", "list_pos", "repeater", "held_back", "promote_after_review",
                     "exemplary_draw", "sort_key"]]


# The values of the project's facilities template (csdl.readers.ROOM_CONDITIONS).
ROOM_CONDITIONS = {"Tốt": 75, "Cần sửa chữa": 20, "Hỏng": 5}


def _make_facilities(rng: np.random.Generator, classes: pd.DataFrame,
                     students: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    n_classrooms = len(classes) + int(rng.integers(0, 3))
    satellite = int(rng.integers(4, 7))  # classrooms at the satellite site (điểm lẻ)
    for i in range(n_classrooms):
        at_satellite = i >= n_classrooms - satellite
        construction = ("Bán kiên cố" if at_satellite and rng.random() < 0.5 else "Kiên cố")
        if at_satellite and i == n_classrooms - 1:
            construction = "Tạm"  # one temporary room, a typical finding
        rows.append(("Điểm lẻ Ấp Mới" if at_satellite else "Điểm chính",
                     "Phòng học", construction, float(rng.integers(46, 57)),
                     _pick(rng, ROOM_CONDITIONS, 1)[0]))
    special = [("Phòng Âm nhạc", 72), ("Phòng Mĩ thuật", 72), ("Phòng Tin học", 80),
               ("Phòng Ngoại ngữ", 60), ("Thư viện", 90), ("Phòng y tế", 24),
               ("Phòng họp", 60), ("Kho", 30), ("Phòng Hiệu trưởng", 20),
               ("Phòng Phó hiệu trưởng", 18), ("Phòng Đội", 30), ("Phòng hỗ trợ hòa nhập", 30),
               ("Nhà vệ sinh học sinh nam", 30), ("Nhà vệ sinh học sinh nam", 24),
               ("Nhà vệ sinh học sinh nữ", 30), ("Nhà vệ sinh học sinh nữ", 24),
               ("Nhà vệ sinh giáo viên", 12), ("Nhà vệ sinh học sinh nam", 12),
               ("Nhà vệ sinh học sinh nữ", 12)]
    for k, (room_type, area) in enumerate(special):
        site = "Điểm lẻ Ấp Mới" if k >= len(special) - 2 else "Điểm chính"
        rows.append((site, room_type, "Kiên cố", float(area + rng.integers(-4, 5)),
                     _pick(rng, ROOM_CONDITIONS, 1)[0]))
    rooms = pd.DataFrame(rows, columns=["site", "room_type", "construction", "area_m2",
                                        "condition"])
    rooms.insert(0, "room_id", [f"P{i + 1:03d}" for i in range(len(rooms))])

    boys = int((students["gender"] == "Nam").sum())
    girls = len(students) - boys

    def near(x: float) -> int:  # counts near a norm, sometimes a little short
        return max(1, int(round(x * rng.uniform(0.85, 1.1))))

    items = [("Máy vi tính phòng Tin học", 35), ("Máy tính xách tay giáo viên", 10),
             ("Máy chiếu", 8), ("Ti vi màn hình lớn", len(classes) - 2),
             ("Bảng tương tác", 3), ("Máy in", 5), ("Máy photocopy", 1),
             ("Loa, âm li di động", 4), ("Đàn phím điện tử", 4), ("Bình chữa cháy", 12),
             ("Tủ thuốc y tế", 1)]
    items += [(f"Bộ thiết bị dạy học tối thiểu lớp {g}", int((classes["grade"] == g).sum()))
              for g in rules.GRADES]
    items += [("Bồn tiểu học sinh nam", near(boys / 30)), ("Bệ xí học sinh nam", near(boys / 30)),
              ("Bệ xí học sinh nữ", near(girls / 20)),
              ("Chậu rửa tay học sinh", near(boys / 30 + girls / 20))]
    equipment = []
    for item, quantity in items:
        broken = int(rng.binomial(quantity, 0.08)) if quantity > 1 else 0
        equipment.append((item, quantity, quantity - broken))
    return rooms, pd.DataFrame(equipment, columns=["item", "quantity", "working"])


# --------------------------------------------------------------------------------------------
# The previous year
# --------------------------------------------------------------------------------------------

def previous_year_school(school: DemoSchool) -> DemoSchool:
    """The same school in 2025-2026: this year's students one grade lower (repeaters in the same
    grade), the grade-5 cohort that has since left primary school, the retired teacher still at
    work. Students who arrived this year were elsewhere."""
    prev_year = rules.parse_school_year(PREVIOUS_SCHOOL_YEAR)[0]
    rng = _rng(school.seed, "previous-year")
    cur_classes = school.classes
    rows = [(int(c.grade) - 1, f"{int(c.grade) - 1}{c.class_name[1:]}", c.class_id)
            for c in cur_classes.itertuples() if c.grade >= 2]
    n_grade1_now = int((cur_classes["grade"] == 1).sum())
    n_graduates = int(min(n_grade1_now + 1, rng.integers(5, 7)))
    rows += [(5, f"5{chr(ord('A') + i)}", None) for i in range(n_graduates)]
    classes = pd.DataFrame(rows, columns=["grade", "class_name", "next_class_id"])
    classes["class_id"] = [_class_id(school.school_id, prev_year, n) for n in classes["class_name"]]
    roles = {k: list(v) for k, v in school.meta["roles"].items()}
    pool = roles["homeroom"] + roles["retired"]
    classes["homeroom_staff_id"] = list(rng.choice(np.array(pool, dtype=object),
                                                   size=len(classes), replace=False))
    roles["homeroom"] = list(classes["homeroom_staff_id"])
    next_to_prev = dict(zip(classes["next_class_id"], classes["class_id"]))
    ethnic_language_classes = {next_to_prev[c] for c in school.meta["ethnic_language_classes"]}
    assignments = _make_assignments(rng, classes, roles, ethnic_language_classes)

    # Returning students: everyone but this year's arrivals and first-graders.
    cur = school.students.merge(cur_classes[["class_id", "class_name"]], on="class_id")
    back = cur[cur["arrived_on"].isna() & ((cur["grade"] >= 2) | cur["repeater"])].copy()
    by_name = dict(zip(classes["class_name"], classes["class_id"]))
    grade5 = [c for n, c in by_name.items() if n.startswith("5")]
    prev_class = []
    for s in back.itertuples():
        grade = s.grade if s.repeater else s.grade - 1
        name = f"{grade}{s.class_name[1:]}"
        prev_class.append(by_name.get(name) or (grade5[0] if grade == 5 else
                                                by_name[f"{grade}A"]))
    back["class_id"] = prev_class
    back["grade"] = back["class_id"].map(dict(zip(classes["class_id"], classes["grade"])))
    back["held_back"] = back["repeater"]  # kept back in 2025-2026, so CHT there
    back["final_status"] = None
    back["left_on"] = pd.NaT
    back["promote_after_review"] = True  # everyone else is in the next grade now
    # The cohort that finished grade 5 in May 2026.
    sizes = rng.integers(30, 36, size=n_graduates)
    graduates = []
    for class_id, size in zip(grade5, sizes):
        part = _new_students(rng, np.full(size, 5), prev_year)
        part["class_id"], part["grade"] = class_id, 5
        graduates.append(part)
    # Two who left during 2025-2026.
    leavers = _new_students(rng, np.array([2, 3]), prev_year)
    leavers["class_id"] = [by_name.get("2A"), by_name.get("3B", by_name["3A"])]
    leavers["grade"] = [2, 3]
    leavers["final_status"] = [STATUS_MOVED_AWAY, STATUS_DROPPED_OUT]
    leavers["left_on"] = pd.to_datetime([date(prev_year, 11, 25), date(prev_year + 1, 2, 20)])
    new = pd.concat(graduates + [leavers], ignore_index=True)
    new["held_back"] = False
    new["promote_after_review"] = True
    new["arrived_on"] = pd.NaT
    new = _finish_students(new, school.meta["code"], first_serial=len(school.students) + 1)
    students = _rebalance(pd.concat([back[new.columns], new], ignore_index=True))
    students = students.sort_values(["class_id", "sort_key"], kind="stable")
    students = students.reset_index(drop=True)
    students["list_pos"] = students.groupby("class_id").cumcount()

    staff = school.staff.copy()
    staff.loc[staff["status"] == STAFF_RETIRED, "status"] = STAFF_WORKING
    return DemoSchool(
        school_id=school.school_id, name=school.name, province=school.province,
        school_year=PREVIOUS_SCHOOL_YEAR, seed=school.seed,
        classes=classes[["class_id", "class_name", "grade", "homeroom_staff_id"]],
        students=students, staff=staff, assignments=assignments, rooms=school.rooms,
        equipment=school.equipment,
        meta={**school.meta, "roles": roles, "ethnic_language_classes": ethnic_language_classes})


def _rebalance(students: pd.DataFrame, limit: int = 35) -> pd.DataFrame:
    """Move students from a class over the limit to the smallest class of its grade: the
    oversize class is a 2026-2027 problem only."""
    students = students.copy()
    enrolled = students["left_on"].isna()
    for _, grade_rows in students[enrolled].groupby("grade"):
        sizes = grade_rows.groupby("class_id").size()
        while sizes.max() > limit and sizes.min() < limit:
            big, small = sizes.idxmax(), sizes.idxmin()
            movable = students.index[(students["class_id"] == big) & enrolled
                                     & ~students["held_back"]]
            students.loc[movable[-1], "class_id"] = small
            sizes[big] -= 1
            sizes[small] += 1
    return students


# --------------------------------------------------------------------------------------------
# What teachers enter, and when
# --------------------------------------------------------------------------------------------

@dataclass(eq=False)
class EntryLog:
    """Every value teachers enter in a school year with the moment it is entered, and the
    corrections made after a lock.

    cells:   student_id, class_id, grade, period, item_type, item_code, needs_score, level,
             score, level_at, score_at (score_at NaT where no score is owed), owner, late
    changes: student_id, period, item_type, item_code, level, score, changed_at
    """

    school: DemoSchool
    cells: pd.DataFrame
    changes: pd.DataFrame
    planted: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict, repr=False)  # lookups built once


KEY = ["student_id", "period", "item_type", "item_code"]
# Thresholds on a latent "how well it went": ability + item + period + noise. Calibrated to
# about 56 % T, 41 % H, 3 % C per subject and, at CN, about 18 % HTXS, 18 % HTT, 60 % HT, 4 % CHT.
SUBJECT_CUTS = (-2.0, -0.15)  # below the first: C; above the second: T
TRAIT_CUTS = (-2.2, -0.25)  # traits are rated a little more generously
PERIOD_DRIFT = {"GK1": -0.05, "CK1": 0.0, "GK2": 0.05, "CN": 0.12}  # children progress
CELL_NOISE = 0.3
WEAKNESS_NOISE = 0.1
SCORE_NOISE = 0.8
SCORE_AT_CUT, SCORE_SLOPE = 8.0, 1.5  # a latent just at the T cut scores about 8


def _class_items(school: DemoSchool, period: str) -> pd.DataFrame:
    """What each class owes for the period, with the teacher who enters it."""
    a = school.assignments
    assigned = dict(zip(zip(a["class_id"].tolist(), a["subject_code"].tolist()),
                        a["staff_id"].tolist()))
    rows = []
    for c in school.classes.itertuples():
        for e in rules.expectations(int(c.grade), period):
            if e.item_type == "subject":
                owner = assigned.get((c.class_id, e.item_code))
                if e.optional and owner is None:
                    continue  # optional subject not taught in this class
            else:
                owner = c.homeroom_staff_id
            rows.append((c.class_id, e.item_type, e.item_code, e.needs_score, owner))
    return pd.DataFrame(rows, columns=["class_id", "item_type", "item_code", "needs_score",
                                       "owner"])


def _draw_values(rng: np.random.Generator, cells: pd.DataFrame, period: str) -> None:
    """Levels and scores, in place: a good day for a strong student gives T and 9–10.

    "Not completed" (C) follows a stable weakness rather than a bad day, so it gathers on a few
    students, as it does in a real school.
    """
    item_effect = {code: rng.normal(0, 0.15) for code in cells["item_code"].unique()}
    codes, uniques = pd.factorize(cells["item_code"])
    effect = np.array([item_effect[code] for code in uniques])[codes]
    base = cells["ability"].to_numpy() + PERIOD_DRIFT[period] + effect
    z = base + CELL_NOISE * rng.standard_normal(len(cells))
    weakness = base + WEAKNESS_NOISE * rng.standard_normal(len(cells))
    is_subject = (cells["item_type"] == "subject").to_numpy()
    low = np.where(is_subject, SUBJECT_CUTS[0], TRAIT_CUTS[0])
    high = np.where(is_subject, SUBJECT_CUTS[1], TRAIT_CUTS[1])
    middle = np.where(is_subject, "H", "Đ")
    level = np.where(weakness < low, "C", np.where(z > high, "T", middle))
    cells["level"] = level
    # The score follows the same latent with its own noise, kept within the level's band.
    zs = z + SCORE_NOISE * rng.standard_normal(len(cells))
    raw = np.rint(SCORE_AT_CUT + SCORE_SLOPE * (zs - high))
    band_low = np.select([level == "T", level == "C"], [7, 1], 5)
    band_high = np.select([level == "T", level == "C"], [10, 4], 8)
    score = np.clip(raw, band_low, band_high).astype(int)
    cells["score"] = pd.array(score, dtype="Int64")
    cells.loc[~cells["needs_score"], "score"] = pd.NA


def simulate_entries(school: DemoSchool, plant_problems: bool = False) -> EntryLog:
    """Every value of the year with its entry time (see EntryLog), deterministic from the seed.

    Within each period's window every (class, subject) and every class's traits is a unit,
    entered by its teacher in bursts by habit (`_time_entries`); per period the late teachers
    finish between the deadline and the lock, one only after the lock. With `plant_problems`, GK1 gets one score stored as 0
    and 5–10 values changed after its lock.
    """
    seed, year = school.seed, school.school_year
    schedule = DEFAULT_SCHEDULE[year]
    students = school.students
    parts = []
    late_teachers: dict[str, dict[str, list[str]]] = {}
    for period in rules.PERIODS:
        rng = _rng(seed, year, "entries", period)
        opens, deadline, lock = (pd.Timestamp(d) for d in schedule[period])
        present = students[(students["arrived_on"].isna() | (students["arrived_on"] <= opens))
                           & (students["left_on"].isna() | (students["left_on"] > lock))]
        items = _class_items(school, period)
        cells = present[["student_id", "class_id", "grade", "ability", "list_pos",
                         "held_back"]].merge(items, on="class_id")
        cells["period"] = period
        _draw_values(rng, cells, period)
        late_teachers[period] = _time_entries(rng, cells, school, opens, deadline, lock)
        parts.append(cells)
    cells = pd.concat(parts, ignore_index=True)
    _keep_back(cells)
    log = EntryLog(school, cells, pd.DataFrame(columns=KEY + ["level", "score", "changed_at"]),
                   planted={"late_teachers": late_teachers})
    if plant_problems:
        _plant_entry_problems(log)
    log.cells = log.cells.drop(columns=["ability", "list_pos", "held_back"])
    return log


# How teachers enter (the forecast is judged against this, so it is modelled on how entry goes
# in schools, not on the forecast): each teacher has a habit kept from window to window — how
# many days before the deadline they sit down to enter (a few start early, most in the last
# days) — and enters in bursts: sessions of a few classes or subjects at a time, in the
# afternoon or the evening. A few teachers are habitually late (in most windows, not all);
# anyone else is late now and then, and a unit is sometimes forgotten.
ENTRY_LEAD_MEDIAN = 5.0  # days before the deadline a teacher's entry typically begins
ENTRY_LEAD_SPREAD = 0.55  # log-sd of that habit between teachers
WINDOW_LEAD_SPREAD = 0.3  # log-sd of one teacher's lead from window to window
HABITUALLY_LATE_SHARE = 0.12  # of teachers; such a teacher is late in LATE_HABITUAL of windows
LATE_HABITUAL, LATE_OTHERS = 0.6, 0.02
UNIT_SLIP = 0.02  # a unit forgotten past the deadline by a teacher otherwise on time
SESSION_HOURS = (14.5, 19.5, 20.5)  # when sessions begin: after classes, or in the evening
EXPORT_HOUR = 17.0  # the day's export (SNAPSHOT_TIME): on-time work is in by the deadline's


def teacher_habits(seed: int, staff_ids: Sequence[str]) -> dict[str, tuple[float, float]]:
    """(lead in days, chance of being late in a window) per teacher, the same in every window
    and year."""
    habits = {}
    for staff_id in staff_ids:
        rng = _rng(seed, "habit", staff_id)
        lead = ENTRY_LEAD_MEDIAN * float(np.exp(ENTRY_LEAD_SPREAD * rng.standard_normal()))
        late = LATE_HABITUAL if rng.random() < HABITUALLY_LATE_SHARE else LATE_OTHERS
        habits[staff_id] = (lead, late)
    return habits


def _sessions(rng: np.random.Generator, n_units: int, first_day: float, cutoff: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (days) of each of a teacher's units, entered in sessions from `first_day`
    on, all done by `cutoff`: 2–6 units a session, one after another, 20–70 minutes each."""
    starts, ends = np.empty(n_units), np.empty(n_units)
    day, done = np.floor(first_day), 0
    while done < n_units:
        size = min(int(rng.integers(2, 7)), n_units - done)
        clock = day + rng.choice(SESSION_HOURS) / 24 + rng.uniform(0, 0.5) / 24
        for i in range(done, done + size):
            starts[i] = clock
            clock += rng.uniform(20, 70) / 1440
            ends[i] = clock
        done += size
        day += float(rng.choice([0, 1, 1, 2, 3]))  # the next session: same evening or days later
    overrun = ends.max() - cutoff
    if overrun > 0:  # done by the cutoff: the same sessions, moved earlier
        starts, ends = starts - overrun - rng.uniform(0.05, 0.5), ends - overrun - 0.05
    floor = 0.3 - starts.min()
    if floor > 0:  # not before the window opens
        starts, ends = starts + floor, np.minimum(ends + floor, cutoff)
    return starts, ends


def _time_entries(rng: np.random.Generator, cells: pd.DataFrame, school: DemoSchool,
                  opens: pd.Timestamp, deadline: pd.Timestamp, lock: pd.Timestamp
                  ) -> dict[str, list[str]]:
    """level_at / score_at in place; returns the late teachers' staff ids.

    Offsets are in days from the opening day's midnight."""
    window = (deadline - opens).days + 1.0  # to the end of the deadline day
    cutoff = window - 1 + EXPORT_HOUR / 24 - 0.02  # before the deadline day's export
    to_lock = float((lock - opens).days)  # the start of the lock day
    unit_code = np.where(cells["item_type"] == "trait", "TRAITS", cells["item_code"])
    # Numbered in order of first appearance, as factorizing (class, unit) pairs would.
    unit = pd.factorize(cells["class_id"].to_numpy(dtype=object) + "|" + unit_code.astype(object))[0]
    n_units = unit.max() + 1
    owners = cells.groupby(unit)["owner"].first().to_numpy()
    habits = teacher_habits(school.seed, sorted(set(owners)))

    # Each teacher in sessions from their habitual lead (this window's draw around it). A
    # district's schools differ in pace: a higher pace leads a little earlier.
    pace = school.meta.get("pace", DEFAULT_PACE) / DEFAULT_PACE
    start, end = np.empty(n_units), np.empty(n_units)
    for owner in sorted(set(owners)):
        mine = np.flatnonzero(owners == owner)
        lead = habits[owner][0] * float(np.exp(WINDOW_LEAD_SPREAD * rng.standard_normal())) \
            * pace ** 0.5
        order = rng.permutation(mine)
        start[order], end[order] = _sessions(rng, len(mine), window - lead, cutoff)
    # A unit now and then slips past the deadline, done before the lock.
    slips = rng.random(n_units) < UNIT_SLIP
    start[slips] = rng.uniform(window - 1.0, window - 0.3, slips.sum())
    end[slips] = rng.uniform(window + 0.1, to_lock - 0.1, slips.sum())
    # Late teachers, by habit: each is late in a window with their own chance. Most late ones
    # finish after the deadline but before the lock; one homeroom teacher only after the lock
    # day (the most habitual of the late ones, else one drawn by habit).
    homeroom = sorted(set(school.classes["homeroom_staff_id"]) & set(owners))
    teachers = sorted(set(owners))
    late_now = [t for t in teachers if rng.random() < habits[t][1]]
    late_homeroom = [t for t in late_now if t in homeroom]
    if late_homeroom:
        after_lock = max(late_homeroom, key=lambda t: (habits[t][1], t))
    else:
        weights = np.array([habits[t][1] for t in homeroom])
        after_lock = str(rng.choice(homeroom, p=weights / weights.sum()))
    before_lock = [t for t in late_now if t != after_lock]
    late_before = np.isin(owners, before_lock)
    start[late_before] = rng.uniform(window - 1.0, window - 0.2, late_before.sum())
    end[late_before] = rng.uniform(window + 0.5, to_lock - 0.1, late_before.sum())
    late_after = owners == after_lock
    start[late_after] = rng.uniform(window - 0.5, window + 1.0, late_after.sum())
    end[late_after] = rng.uniform(to_lock + 1.2, to_lock + 4.0, late_after.sum())

    # Down the class list, one student after another.
    class_size = cells.groupby("class_id")["student_id"].transform("nunique").to_numpy()
    progress = (cells["list_pos"].to_numpy() + rng.random(len(cells))) / class_size
    level_days = start[unit] + (end[unit] - start[unit]) * progress
    # Test scores are often typed in first, from the marked papers, up to two days earlier.
    lead = rng.uniform(0, 2.0, n_units)[unit]
    score_days = np.maximum(level_days - lead, 0.3)
    cells["level_at"] = (opens + pd.to_timedelta(level_days, unit="D")).floor("s")
    cells["score_at"] = (opens + pd.to_timedelta(score_days, unit="D")).floor("s")
    cells.loc[~cells["needs_score"], "score_at"] = pd.NaT
    cells["late"] = np.select([late_after[unit], late_before[unit]],
                              ["after_lock", "after_deadline"], "")
    return {"after_deadline": [str(t) for t in before_lock], "after_lock": [str(after_lock)]}


def _keep_back(cells: pd.DataFrame) -> None:
    """A student kept back is CHT at CN: Tiếng Việt not completed."""
    mask = cells["held_back"] & (cells["period"] == "CN") & (cells["item_code"] == "TV")
    cells.loc[mask, "level"] = "C"
    cells.loc[mask & cells["needs_score"], "score"] = 4


def _plant_entry_problems(log: EntryLog) -> None:
    """A GK1 score stored as 0, and GK1 values corrected after the lock (see the module doc)."""
    rng = _rng(log.school.seed, log.school.school_year, "planted")
    cells = log.cells
    _, deadline, lock = (pd.Timestamp(d) for d in DEFAULT_SCHEDULE[log.school.school_year]["GK1"])
    staying = set(log.school.students.loc[log.school.students["left_on"].isna(), "student_id"])
    # Values entered by the deadline, of students who stay all year: the last snapshot before
    # the lock shows them, so a later correction is a change, not a late entry.
    by_deadline = deadline + pd.Timedelta(days=1)
    on_time = cells[(cells["period"] == "GK1") & (cells["late"] == "")
                    & (cells["level_at"] < by_deadline)
                    & (cells["score_at"].isna() | (cells["score_at"] < by_deadline))
                    & cells["student_id"].isin(staying)]
    # One GK1 score typed as 0 instead of 10.
    tens = on_time[on_time["score"].fillna(0).eq(10)]
    zero_at = rng.choice(tens.index if len(tens) else on_time.index[on_time["needs_score"]])
    cells.loc[zero_at, "score"] = 0
    # 5–10 GK1 values corrected after the lock, over the following weeks: two scores, then
    # subject levels and trait levels about half and half.
    candidates = on_time.drop(index=zero_at)
    how_many = int(rng.integers(5, 11))
    n_subject_levels = (how_many - 2) // 2
    pools = [
        (candidates.index[candidates["needs_score"]], 2, "score"),
        (candidates.index[candidates["item_type"] == "subject"], n_subject_levels, "level"),
        (candidates.index[candidates["item_type"] == "trait"], how_many - 2 - n_subject_levels,
         "level"),
    ]
    changes = []
    chosen: set[int] = set()
    for pool, count, what in pools:
        for idx in rng.choice(pool.difference(list(chosen)).to_numpy(), size=count, replace=False):
            chosen.add(int(idx))
            c = cells.loc[idx]
            level, score = c["level"], c["score"]
            if what == "score":
                score = int(score) - 1 if int(score) >= 6 else int(score) + 1
            elif c["item_type"] == "subject":
                level = {"T": "H", "H": "T", "C": "H"}[level]
            else:
                level = {"T": "Đ", "Đ": "T", "C": "Đ"}[level]
            changed_at = (lock + pd.Timedelta(days=float(rng.uniform(3, 40)))).floor("s")
            changes.append((c["student_id"], "GK1", c["item_type"], c["item_code"], level, score,
                            changed_at))
    log.changes = pd.DataFrame(changes, columns=KEY + ["level", "score", "changed_at"])
    log.changes["score"] = log.changes["score"].astype("Int64")
    log.planted.update({
        "zero_score": tuple(cells.loc[zero_at, KEY]),
        "changed_after_lock": [tuple(r) for r in log.changes[KEY].itertuples(index=False)],
    })


# --------------------------------------------------------------------------------------------
# Tables as of a moment
# --------------------------------------------------------------------------------------------

def tables_at(log: EntryLog, taken_at: datetime, complete: bool = False,
              planted_disagreements: int = 0) -> dict[str, pd.DataFrame]:
    """The contract tables of one school as the sector database holds them at `taken_at`.

    `complete` shows every value as finally entered (a year-end snapshot).
    `planted_disagreements` records that many year-end classifications that disagree with the rule.
    """
    school = log.school
    t = pd.Timestamp(taken_at)
    tables = school.static_tables(taken_at)
    students = tables["student"]
    # Masks in numpy, then one copy of the columns the results need: no whole-log copies.
    cells = log.cells
    active = _student_rows(log, students.loc[students["active"].astype(bool),
                                             "student_id"].tolist())
    if complete:
        level_seen = np.ones(len(cells), dtype=bool)
        score_seen = cells["needs_score"].to_numpy(dtype=bool)
        changes = log.changes
    else:
        level_seen = (cells["level_at"] <= t).to_numpy(dtype=bool)
        score_seen = (cells["score_at"] <= t).to_numpy(dtype=bool)
        changes = log.changes[log.changes["changed_at"] <= t]
    rows = active & (level_seen | score_seen)
    seen = cells.loc[rows, KEY + ["class_id", "grade", "level", "score"]]
    seen["level"] = seen["level"].where(level_seen[rows], None)
    seen["score"] = seen["score"].where(score_seen[rows], pd.NA)
    if len(changes):
        latest = changes.sort_values("changed_at").drop_duplicates(KEY, keep="last")
        merged = seen[KEY].merge(latest, on=KEY, how="left")
        hit = merged["changed_at"].notna().to_numpy()
        seen.loc[seen.index[hit], "level"] = merged.loc[hit, "level"].to_numpy()
        seen.loc[seen.index[hit], "score"] = merged.loc[hit, "score"].to_numpy()
    subjects = seen[seen["item_type"] == "subject"].rename(columns={"item_code": "subject_code"})
    traits = seen[seen["item_type"] == "trait"].rename(columns={"item_code": "trait_code"})
    tables["subject_result"] = _contract("subject_result", subjects, school.school_id)
    tables["subject_result"]["score"] = tables["subject_result"]["score"].astype("Int64")
    tables["trait_result"] = _contract("trait_result", traits, school.school_id)
    year = _year_results(school, seen[seen["period"] == "CN"])
    if planted_disagreements:
        year = _plant_disagreements(school, year, planted_disagreements)
    tables["year_result"] = _contract("year_result", year, school.school_id)
    return tables


def _student_rows(log: EntryLog, student_ids: list[str]) -> np.ndarray:
    """Which rows of the log's cells belong to the given students (a boolean array)."""
    if "student_code" not in log.meta:
        log.meta["student_code"], log.meta["student_index"] = pd.factorize(log.cells["student_id"])
    wanted = log.meta["student_index"].get_indexer(student_ids)
    return np.isin(log.meta["student_code"], wanted[wanted >= 0])


def _year_results(school: DemoSchool, cn: pd.DataFrame) -> pd.DataFrame:
    """Classification by the rule for every student whose CN entries are complete."""
    columns = ["student_id", "completed", "promoted", "classification", "award"]
    if cn.empty:
        return pd.DataFrame(columns=columns)
    optional = school.assignments[school.assignments["subject_code"].isin(OPTIONAL_SUBJECTS)]
    taken_by_class = optional.groupby("class_id")["subject_code"].agg(frozenset).to_dict()
    # Plain dicts: one rules.classify call per student, no per-student pandas work.
    entries: dict[str, tuple[int, str, dict, dict, dict]] = {}
    for student_id, class_id, grade, item_type, code, level, score in zip(*(
            cn[c].tolist() for c in ("student_id", "class_id", "grade", "item_type",
                                     "item_code", "level", "score"))):
        _, _, subjects, traits, scores = entries.setdefault(
            student_id, (int(grade), class_id, {}, {}, {}))
        if item_type == "subject":
            subjects[code] = level if isinstance(level, str) else None
            if pd.notna(score):
                scores[code] = int(score)
        else:
            traits[code] = level if isinstance(level, str) else None
    info = school.students.set_index("student_id")[
        ["held_back", "promote_after_review", "exemplary_draw"]].to_dict("index")
    rows = []
    for student_id in sorted(entries):
        grade, class_id, subjects, traits, scores = entries[student_id]
        classification = rules.classify(grade, subjects, traits, scores,
                                        taken_by_class.get(class_id, frozenset()))
        if classification is None:
            continue  # not all entered yet: the system has no classification
        s = info[student_id]
        completed = classification != "CHT"
        promoted = not s["held_back"] and (completed or bool(s["promote_after_review"]))
        award = (AWARD_EXCELLENT if classification == "HTXS" else
                 AWARD_EXEMPLARY if classification == "HTT" and s["exemplary_draw"] < 0.35 else
                 None)
        rows.append((student_id, completed, promoted, classification, award))
    return pd.DataFrame(rows, columns=columns)


def _plant_disagreements(school: DemoSchool, year: pd.DataFrame, how_many: int) -> pd.DataFrame:
    """Record a better classification than the rule gives: HTT written as HTXS, HT as HTT."""
    rng = _rng(school.seed, school.school_year, "disagreements")
    year = year.copy()
    for rule_says, recorded, award in (("HTT", "HTXS", AWARD_EXCELLENT),
                                       ("HT", "HTT", None))[:how_many]:
        pool = year.index[year["classification"] == rule_says].to_numpy()
        idx = rng.choice(pool)
        year.loc[idx, ["classification", "award", "completed"]] = [recorded, award, True]
    return year


# --------------------------------------------------------------------------------------------
# The whole demo
# --------------------------------------------------------------------------------------------

def school_names(count: int) -> list[tuple[str, str]]:
    """(school_id, name) for DEMO01..DEMONN, every name distinct."""
    out = []
    for i in range(count):
        base = SCHOOL_NAMES[i % len(SCHOOL_NAMES)]
        if i >= len(SCHOOL_NAMES):
            base = f"{base} {i // len(SCHOOL_NAMES) + 1}"
        out.append((f"DEMO{i + 1:02d}", f"Trường Tiểu học {base} {SAMPLE_SUFFIX}"))
    return out


def school_ids(count: int) -> list[str]:
    """DEMO01..DEMONN, the ids make_demo gives its schools."""
    return [school_id for school_id, _ in school_names(count)]


@dataclass(frozen=True)
class SchoolSpec:
    """What makes one school of the district: its own seed, id, name, code and pace."""

    index: int
    seed: int
    school_id: str
    name: str
    code: int
    pace: float


def school_specs(seed: int, schools: int) -> list[SchoolSpec]:
    """The district's schools. The first is the single demo school exactly; the others draw
    their pace from their own seed, so some districts' schools run ahead and some behind."""
    if schools < 1:
        raise ValueError("schools must be at least 1")
    named = school_names(schools)
    codes = school_codes([school_id for school_id, _ in named])
    specs = []
    for i, ((school_id, name), code) in enumerate(zip(named, codes)):
        school_seed = seed + 1009 * i
        pace = DEFAULT_PACE if i == 0 else float(_rng(school_seed, "pace").uniform(*PACE_RANGE))
        specs.append(SchoolSpec(i, school_seed, school_id, name, code, pace))
    return specs


def build_logs(spec: SchoolSpec) -> tuple[EntryLog, EntryLog]:
    """One school's entry logs: this year (with its planted problems) and the previous year."""
    school = build_school(spec.seed, spec.school_id, spec.name, spec.code, spec.pace)
    return (simulate_entries(school, plant_problems=True),
            simulate_entries(previous_year_school(school)))


def school_tables_at(current: EntryLog, previous: EntryLog,
                     taken_at: datetime) -> dict[str, pd.DataFrame]:
    """One school's contract tables at `taken_at` (either demo year)."""
    year = rules.school_year_of(taken_at)
    if year == DEMO_SCHOOL_YEAR:
        return tables_at(current, taken_at)
    if year == PREVIOUS_SCHOOL_YEAR:
        final = taken_at >= PREVIOUS_YEAR_TAKEN_AT  # the year-end records are written then
        return tables_at(previous, taken_at, complete=final,
                         planted_disagreements=PLANTED_DISAGREEMENTS if final else 0)
    raise ValueError(f"the demo covers {PREVIOUS_SCHOOL_YEAR} and {DEMO_SCHOOL_YEAR}, "
                     f"not {year}")


@dataclass(eq=False)
class DemoDistrict:
    """The schools of the demo in both years, with their entry logs, all in memory (for tests
    and small districts; `make_demo` streams schools instead)."""

    seed: int
    current: list[EntryLog]
    previous: list[EntryLog]

    @property
    def school_ids(self) -> list[str]:
        return [log.school.school_id for log in self.current]

    def tables_at(self, taken_at: datetime) -> dict[str, pd.DataFrame]:
        """All schools' contract tables at `taken_at` (either demo year)."""
        per_school = [school_tables_at(cur, prev, taken_at)
                      for cur, prev in zip(self.current, self.previous)]
        return {name: pd.concat([t[name] for t in per_school], ignore_index=True)
                for name in per_school[0]}


def build_district(seed: int = 2026, schools: int = 1) -> DemoDistrict:
    """`schools` demo schools (see `school_specs`), in both years."""
    logs = [build_logs(spec) for spec in school_specs(seed, schools)]
    return DemoDistrict(seed, [cur for cur, _ in logs], [prev for _, prev in logs])


def demo_tables_at(seed: int, taken_at: datetime, schools: int = 1) -> dict[str, pd.DataFrame]:
    """The demo's contract tables at `taken_at`, without writing anything."""
    return build_district(seed, schools).tables_at(taken_at)


# Which snapshots to write: every one of `snapshot_times` (the single school's story), the few a
# district's pages need, or only the latest (a province benchmark).
SERIES = ("full", "short", "latest")


def short_snapshot_times(as_of: date, school_year: str = DEMO_SCHOOL_YEAR) -> list[datetime]:
    """The times of `snapshot_times` that a district's pages need, about eight instead of 25:
    for every period whose window has opened, its deadline, the eve of its lock and the first
    snapshot after the lock (changes after a lock need a base at or before it and a later one);
    every snapshot inside the latest window that has opened (the burn-up and the projection
    from the last seven days); and `as_of`."""
    times = snapshot_times(as_of, school_year)
    days = [t.date() for t in times]
    keep = {as_of}
    latest_window = None
    for opens, deadline, lock in DEFAULT_SCHEDULE[school_year].values():
        if opens > as_of:
            continue
        latest_window = opens, lock
        after_lock = [d for d in days if d >= lock]
        keep |= {deadline, lock - timedelta(days=1), *after_lock[:1]}
    if latest_window is not None:
        keep |= {d for d in days if latest_window[0] <= d < latest_window[1]}
    return [t for t in times if t.date() in keep]


def demo_plan(as_of: date, series: str = "full") -> list[tuple[datetime, str]]:
    """(taken_at, note) of the snapshots `make_demo` writes, oldest first."""
    if series not in SERIES:
        raise ValueError(f"series must be one of {SERIES}, got {series!r}")
    current_note = f"Dữ liệu mẫu: năm học {DEMO_SCHOOL_YEAR}"
    if series == "latest":
        snapshot_times(as_of)  # checks that as_of lies in the demo year
        return [(datetime.combine(as_of, SNAPSHOT_TIME), current_note)]
    times = snapshot_times(as_of) if series == "full" else short_snapshot_times(as_of)
    previous_note = f"Dữ liệu mẫu: năm học {PREVIOUS_SCHOOL_YEAR}"
    earlier = previous_year_times() if series == "full" else []
    return ([(t, previous_note) for t in earlier]
            + [(PREVIOUS_YEAR_TAKEN_AT, f"Dữ liệu mẫu: cuối năm học {PREVIOUS_SCHOOL_YEAR}")]
            + [(t, current_note) for t in times])


def make_demo(data_dir: Path | str, seed: int = 2026, as_of: date | None = None,
              schools: int = 1, write_samples: bool = True, series: str | None = None,
              workers: int | None = None) -> list[snapshots.SnapshotInfo]:
    """Write the demo's snapshot series into `data_dir` and return their infos, oldest first.

    The final snapshot of 2025-2026, then 2026-2027 up to `as_of` (DEFAULT_AS_OF): every
    snapshot of `snapshot_times` for one school, the shorter `short_snapshot_times` for a
    district, or with series="latest" only `as_of`. A snapshot already in place with the same id
    is kept (the ids are deterministic), so a second run adds only what is missing. With
    `write_samples`, sector-format files of the first school at the latest time go to
    `data_dir/samples` (`samples/DEMO01` in a district).

    Built to scale (a province of 500 schools): schools are independent, so each is built and
    cut into its tables at every missing time by a worker process (`workers`, default one per
    CPU), which writes them as Parquet files to a temporary folder and keeps nothing. Each
    snapshot is then loaded by DuckDB from those files in one statement per table, again one
    snapshot per worker. No process ever holds more than one school in pandas, and the
    snapshots' content does not depend on the number of workers.
    """
    series = series or ("full" if schools == 1 else "short")
    plan = demo_plan(as_of or DEFAULT_AS_OF, series)
    specs = school_specs(seed, schools)
    ids = [spec.school_id for spec in specs]
    planned = [(taken_at, note, demo_snapshot_id(seed, ids, taken_at)) for taken_at, note in plan]
    missing = [p for p in planned if not snapshots.snapshot_path(data_dir, p[2]).exists()]
    samples_dir = None
    if write_samples:
        samples_dir = Path(data_dir) / "samples" if schools == 1 else \
            Path(data_dir) / "samples" / ids[0]
    written: dict[str, snapshots.SnapshotInfo] = {}
    if schools == 1:  # one school: straight from pandas, no staging
        if missing or samples_dir:
            current, previous = build_logs(specs[0])
        for taken_at, note, snapshot_id in missing:
            written[snapshot_id] = snapshots.write_snapshot(
                data_dir, school_tables_at(current, previous, taken_at),
                school_year=rules.school_year_of(taken_at), taken_at=taken_at, source=SOURCE,
                created_by=SOURCE, note=note, snapshot_id=snapshot_id)
        if samples_dir:
            _write_samples(samples_dir, current.school,
                           school_tables_at(current, previous, plan[-1][0]))
        return [written.get(snapshot_id) or snapshots.get_snapshot(data_dir, snapshot_id)
                for _, _, snapshot_id in planned]
    with tempfile.TemporaryDirectory(prefix="csdl-demo-") as stage:
        jobs = [_StageJob(spec, tuple((t, snapshot_id) for t, _, snapshot_id in missing), stage,
                          samples_dir if spec.index == 0 else None, plan[-1][0])
                for spec in specs if missing or (spec.index == 0 and samples_dir)]
        _in_processes(_stage_school, jobs, workers)
        # Snapshots are independent too: each is written by its own process, in parallel.
        infos = _in_processes(_write_staged, [(str(data_dir), stage, *p) for p in missing],
                              workers)
        written.update({info.snapshot_id: info for info in infos})
    return [written.get(snapshot_id) or snapshots.get_snapshot(data_dir, snapshot_id)
            for _, _, snapshot_id in planned]


@dataclass(frozen=True)
class _StageJob:
    spec: SchoolSpec
    snapshots: tuple[tuple[datetime, str], ...]  # (taken_at, snapshot id) to stage
    stage: str
    samples_dir: Path | None  # where this school's sector files go, if anywhere
    samples_at: datetime


def _in_processes(task, items: list, workers: int | None) -> list:
    """`[task(item) for item in items]`, over `workers` processes (default one per CPU)."""
    workers = min(workers or os.cpu_count() or 1, len(items))
    if workers <= 1:
        return [task(item) for item in items]
    # spawn, not fork: the parent may hold DuckDB or Streamlit threads.
    context = multiprocessing.get_context("spawn")
    with _main_hidden(), ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(task, items))


@contextlib.contextmanager
def _main_hidden():
    """spawn re-runs the parent's `__main__` file in every worker. Under Streamlit or AppTest
    that is a page script, which must not run there (it died in the worker): the tasks live in
    this module, so the workers need no `__main__` at all while they start."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _write_staged(args: tuple[str, str, datetime, str, str]) -> snapshots.SnapshotInfo:
    """Write one snapshot from the staged Parquet files of every school."""
    data_dir, stage, taken_at, note, snapshot_id = args
    year = rules.school_year_of(taken_at)
    tables = {**_staged(Path(stage) / f"year-{year}"), **_staged(Path(stage) / snapshot_id)}
    return snapshots.write_snapshot(data_dir, tables, school_year=year, taken_at=taken_at,
                                    source=SOURCE, created_by=SOURCE, note=note,
                                    snapshot_id=snapshot_id)


# Tables that do not change within a school year: staged once per school and year.
FIXED_TABLES = ("school", "class", "staff", "assignment", "room", "equipment")


def _stage_school(job: _StageJob) -> None:
    """Build one school and stage it for each snapshot (a worker's task).

    One in-memory DuckDB per school holds its contract tables, loaded as `write_snapshot`
    loads them (so the Parquet files carry the contract's types); for each snapshot the
    changing tables are replaced. Tables go to `<stage>/<snapshot id>/<table>/<index>.parquet`,
    the fixed ones once to `<stage>/year-<school year>/…`."""
    current, previous = build_logs(job.spec)
    stage = Path(job.stage)
    last = None
    con = duckdb.connect(":memory:", config={"threads": 1})  # processes are the parallelism
    try:
        snapshots.load_tables(con, {})
        staged_years: set[str] = set()
        for taken_at, snapshot_id in job.snapshots:
            last = school_tables_at(current, previous, taken_at)
            year = rules.school_year_of(taken_at)
            if year not in staged_years:
                staged_years.add(year)
                snapshots.replace_rows(con, {name: last[name] for name in FIXED_TABLES})
                _copy_out(con, FIXED_TABLES, stage / f"year-{year}", job.spec.index)
            changing = [name for name in last if name not in FIXED_TABLES]
            snapshots.replace_rows(con, {name: last[name] for name in changing})
            _copy_out(con, changing, stage / snapshot_id, job.spec.index)
    finally:
        con.close()
    if job.samples_dir is not None:
        if not job.snapshots or job.snapshots[-1][0] != job.samples_at:
            last = school_tables_at(current, previous, job.samples_at)
        _write_samples(job.samples_dir, current.school, last)


def _copy_out(con: duckdb.DuckDBPyConnection, tables: Sequence[str], folder: Path,
              index: int) -> None:
    for name in tables:
        (folder / name).mkdir(parents=True, exist_ok=True)
        target = str(folder / name / f"{index:05d}.parquet").replace("'", "''")
        con.execute(f'COPY "{name}" TO \'{target}\' (FORMAT parquet)')


def _staged(folder: Path) -> dict[str, list[Path]]:
    """Table → its staged Parquet files, in school order."""
    return {part.name: sorted(part.glob("*.parquet")) for part in folder.iterdir()}


def _write_samples(out_dir: Path, school: DemoSchool, tables: dict[str, pd.DataFrame]) -> None:
    """Sector-format files of one school's tables, for trying the import by hand."""
    try:
        samples = importlib.import_module(f"{__package__}.samples")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.samples":
            raise  # a real import error inside the sample writer
        return  # the sample writer is not part of this build yet
    entered = set(tables["subject_result"]["period"]) | set(tables["trait_result"]["period"])
    periods = [p for p in rules.PERIODS if p in entered]
    samples.write_sector_files(tables, out_dir, school_id=school.school_id,
                               school_name=school.name, school_year=school.school_year,
                               periods=periods)
    # The printed class summaries of the latest period and the one before it, one folder each
    # (their file names do not carry the period); two variants, as a school's files differ.
    if periods:
        latest = rules.PERIODS.index(periods[-1])
        summary_periods = [rules.PERIODS[latest]]
        if latest > 0 and rules.PERIODS[latest - 1] in periods:
            summary_periods.append(rules.PERIODS[latest - 1])
        for variant, period in enumerate(summary_periods):
            samples.write_class_summaries(
                tables, out_dir / f"bang-tong-hop-{period}", school_id=school.school_id,
                school_name=school.name, school_year=school.school_year, period=period,
                variant=variant)


def is_demo_data(data_dir: Path | str) -> bool:
    """True when the latest snapshot in `data_dir` was made by the demo."""
    latest = snapshots.latest_snapshot(data_dir)
    return latest is not None and latest.source == SOURCE


def planted_problems(district: DemoDistrict) -> dict[str, dict]:
    """Where the planted problems are, per school id (for tests, the README and a curious user)."""
    previous = {log.school.school_id: log for log in district.previous}
    out: dict[str, dict] = {}
    for log in district.current:
        school = log.school
        enrolled = school.students[school.students["final_status"].isna()]
        sizes = enrolled.groupby("class_id").size()
        names = school.classes.set_index("class_id")["class_name"]
        last_log = previous[school.school_id]
        last_year = tables_at(last_log, PREVIOUS_YEAR_TAKEN_AT, complete=True,
                              planted_disagreements=PLANTED_DISAGREEMENTS)
        honest = _year_results(last_log.school,
                               last_log.cells[last_log.cells["period"] == "CN"])
        recorded = last_year["year_result"].merge(honest, on="student_id", suffixes=("", "_rule"))
        wrong = recorded[recorded["classification"] != recorded["classification_rule"]]
        out[school.school_id] = {
            **log.planted,
            "oversize_classes": [names[c] for c, n in sizes.items() if n > 35],
            "classification_disagreements": [
                (r.student_id, r.classification_rule, r.classification)
                for r in wrong.itertuples()],
        }
    return out
