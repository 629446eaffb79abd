"""Domain rules of Thông tư 27/2020 for primary schools (see DOMAIN.md §1–3).

Pure data and pure functions: no I/O. Every other module takes its catalogues from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Mapping

PERIODS: tuple[str, ...] = ("GK1", "CK1", "GK2", "CN")
PERIOD_NAMES_VI = {
    "GK1": "Giữa học kỳ I",
    "CK1": "Cuối học kỳ I",
    "GK2": "Giữa học kỳ II",
    "CN": "Cuối năm học",
}
PERIOD_NAMES_EN = {
    "GK1": "Mid-term 1",
    "CK1": "End of term 1",
    "GK2": "Mid-term 2",
    "CN": "End of year",
}
GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)

SUBJECT_LEVELS = ("T", "H", "C")  # Hoàn thành tốt / Hoàn thành / Chưa hoàn thành
TRAIT_LEVELS = ("T", "Đ", "C")  # Tốt / Đạt / Cần cố gắng
CLASSIFICATIONS = ("HTXS", "HTT", "HT", "CHT")
SCORE_MIN, SCORE_MAX = 1, 10
# Year-end awards (TT27 Điều 15): the title for HTXS, the class's choice among HTT students,
# and an extraordinary award ("khen thưởng đột xuất").
AWARD_EXCELLENT = "Học sinh Xuất sắc"
AWARD_EXEMPLARY = "Học sinh Tiêu biểu"
AWARD_SPECIAL = "Khen thưởng đột xuất"


@dataclass(frozen=True)
class Subject:
    code: str
    name_vi: str
    name_en: str
    kind: str  # "subject" (môn học) or "activity" (hoạt động giáo dục)
    grades: tuple[int, ...]
    optional_grades: tuple[int, ...] = ()


SUBJECTS: tuple[Subject, ...] = (
    Subject("TOAN", "Toán", "Mathematics", "subject", (1, 2, 3, 4, 5)),
    Subject("TV", "Tiếng Việt", "Vietnamese", "subject", (1, 2, 3, 4, 5)),
    Subject("DAODUC", "Đạo đức", "Ethics", "subject", (1, 2, 3, 4, 5)),
    Subject("TNXH", "Tự nhiên và Xã hội", "Nature and Society", "subject", (1, 2, 3)),
    Subject("NGOAINGU", "Ngoại ngữ 1", "Foreign language", "subject", (1, 2, 3, 4, 5), (1, 2)),
    Subject("TIENGDT", "Tiếng dân tộc thiểu số", "Ethnic minority language", "subject",
            (1, 2, 3, 4, 5), (1, 2, 3, 4, 5)),
    # Some schools teach Tin học from grade 1 or 2 (DOMAIN.md §4): optional there.
    Subject("TINHOC", "Tin học", "Informatics", "subject", (1, 2, 3, 4, 5), (1, 2)),
    Subject("CONGNGHE", "Công nghệ", "Technology", "subject", (3, 4, 5)),
    Subject("LSDL", "Lịch sử và Địa lí", "History and Geography", "subject", (4, 5)),
    Subject("KHOAHOC", "Khoa học", "Science", "subject", (4, 5)),
    Subject("AMNHAC", "Âm nhạc", "Music", "subject", (1, 2, 3, 4, 5)),
    Subject("MITHUAT", "Mĩ thuật", "Fine arts", "subject", (1, 2, 3, 4, 5)),
    Subject("HDTN", "Hoạt động trải nghiệm", "Experiential activities", "activity", (1, 2, 3, 4, 5)),
    Subject("GDTC", "Giáo dục thể chất", "Physical education", "subject", (1, 2, 3, 4, 5)),
)
SUBJECT_BY_CODE = {s.code: s for s in SUBJECTS}
# Order of the columns of a progress grid: subjects as the catalogue lists them, then one unit
# for all qualities and competencies ("PCNL", the homeroom teacher's).
TRAITS_UNIT = "PCNL"
UNIT_ORDER: tuple[str, ...] = tuple(s.code for s in SUBJECTS) + (TRAITS_UNIT,)

# Periodic test scores (KTĐK) by grade and period — DOMAIN.md §2, confirmed.
_SCORED_CK_CN = {
    1: ("TV", "TOAN"),
    2: ("TV", "TOAN"),
    3: ("TV", "TOAN", "NGOAINGU", "TINHOC", "CONGNGHE"),
    4: ("TV", "TOAN", "NGOAINGU", "LSDL", "KHOAHOC", "TINHOC", "CONGNGHE"),
    5: ("TV", "TOAN", "NGOAINGU", "LSDL", "KHOAHOC", "TINHOC", "CONGNGHE"),
}
_SCORED_MIDTERM = {1: (), 2: (), 3: (), 4: ("TV", "TOAN"), 5: ("TV", "TOAN")}


def scored_subjects(grade: int, period: str) -> tuple[str, ...]:
    """Subjects that need a periodic test score in this grade and period."""
    _check_grade_period(grade, period)
    return _SCORED_MIDTERM[grade] if period in ("GK1", "GK2") else _SCORED_CK_CN[grade]


@dataclass(frozen=True)
class Trait:
    code: str
    group: str  # "quality" (phẩm chất), "general" / "specific" competency (năng lực chung / đặc thù)
    name_vi: str
    name_en: str
    grades: tuple[int, ...] = (1, 2, 3, 4, 5)


TRAITS: tuple[Trait, ...] = (
    Trait("NLC_TUCHU", "general", "Tự chủ và tự học", "Self-reliance and self-study"),
    Trait("NLC_GIAOTIEP", "general", "Giao tiếp và hợp tác", "Communication and cooperation"),
    Trait("NLC_GQVD", "general", "Giải quyết vấn đề và sáng tạo", "Problem solving and creativity"),
    Trait("NLD_NGONNGU", "specific", "Ngôn ngữ", "Language"),
    Trait("NLD_TINHTOAN", "specific", "Tính toán", "Numeracy"),
    Trait("NLD_KHOAHOC", "specific", "Khoa học", "Science"),
    Trait("NLD_CONGNGHE", "specific", "Công nghệ", "Technology", (3, 4, 5)),
    Trait("NLD_TINHOC", "specific", "Tin học", "Informatics", (3, 4, 5)),
    Trait("NLD_THAMMI", "specific", "Thẩm mĩ", "Aesthetics"),
    Trait("NLD_THECHAT", "specific", "Thể chất", "Physical"),
    Trait("PC_YEUNUOC", "quality", "Yêu nước", "Patriotism"),
    Trait("PC_NHANAI", "quality", "Nhân ái", "Kindness"),
    Trait("PC_CHAMCHI", "quality", "Chăm chỉ", "Diligence"),
    Trait("PC_TRUNGTHUC", "quality", "Trung thực", "Honesty"),
    Trait("PC_TRACHNHIEM", "quality", "Trách nhiệm", "Responsibility"),
)
TRAIT_BY_CODE = {t.code: t for t in TRAITS}


def _check_grade_period(grade: int, period: str) -> None:
    if grade not in GRADES:
        raise ValueError(f"grade must be 1–5, got {grade!r}")
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")


def subjects_for_grade(grade: int) -> tuple[Subject, ...]:
    return tuple(s for s in SUBJECTS if grade in s.grades)


def traits_for_grade(grade: int) -> tuple[Trait, ...]:
    return tuple(t for t in TRAITS if grade in t.grades)


@dataclass(frozen=True)
class Expectation:
    grade: int
    period: str
    item_type: str  # "subject" | "trait"
    item_code: str
    needs_level: bool
    needs_score: bool
    optional: bool


def expectations(grade: int, period: str) -> list[Expectation]:
    """What every active student of a class in this grade owes at this period."""
    _check_grade_period(grade, period)
    scored = set(scored_subjects(grade, period))
    rows = [
        Expectation(grade, period, "subject", s.code, True, s.code in scored,
                    grade in s.optional_grades)
        for s in subjects_for_grade(grade)
    ]
    rows += [Expectation(grade, period, "trait", t.code, True, False, False)
             for t in traits_for_grade(grade)]
    return rows


def all_expectations() -> list[Expectation]:
    return [e for g in GRADES for p in PERIODS for e in expectations(g, p)]


def classify(
    grade: int,
    subject_levels: Mapping[str, str | None],
    trait_levels: Mapping[str, str | None],
    scores: Mapping[str, int | None],
    taken_optional: frozenset[str] | set[str] = frozenset(),
) -> str | None:
    """TT27 end-of-year classification from a student's own CN entries.

    `taken_optional` names the optional subjects the student takes; the others are left out of
    the rule. Returns None when an owed entry is missing (the rule cannot be applied).
    """
    owed = [e for e in expectations(grade, "CN")
            if not e.optional or e.item_code in taken_optional]
    s_levels, t_levels, score_values = [], [], []
    for e in owed:
        if e.item_type == "subject":
            level = subject_levels.get(e.item_code)
            if level not in SUBJECT_LEVELS:
                return None
            s_levels.append(level)
            if e.needs_score:
                score = scores.get(e.item_code)
                if score is None:
                    return None
                score_values.append(score)
        else:
            level = trait_levels.get(e.item_code)
            if level not in TRAIT_LEVELS:
                return None
            t_levels.append(level)
    all_t = all(x == "T" for x in s_levels) and all(x == "T" for x in t_levels)
    if all_t and all(s >= 9 for s in score_values):
        return "HTXS"
    if all_t and all(s >= 7 for s in score_values):
        return "HTT"
    if ("C" not in s_levels and "C" not in t_levels
            and all(s >= 5 for s in score_values)):
        return "HT"
    return "CHT"


def school_year_of(day: date | datetime) -> str:
    """A date in August or later belongs to the year that starts then: 2026-2027."""
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}-{start + 1}"


def parse_school_year(text: str) -> tuple[int, int]:
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 4 for p in parts):
        raise ValueError(f"school year must look like 2026-2027, got {text!r}")
    a, b = int(parts[0]), int(parts[1])
    if b != a + 1:
        raise ValueError(f"school year must span two consecutive years, got {text!r}")
    return a, b
