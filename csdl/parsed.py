"""What a reader makes of one file: the contract between csdl.readers and csdl.ingest."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .problems import Problem

KINDS = ("results", "students", "staff", "assignments", "facilities")


@dataclass
class ParsedFile:
    """One file as read. Readers never know the school: csdl.ingest adds `school_id`.

    `tables` holds partial contract tables without `school_id`:
      results     → "roster" (class_id, class_name, student_id, full_name, birth_date, gender,
                    grade) — gender only where the file has a "Nữ" column,
                    "subject_result" (student_id, period, subject_code, level, score),
                    "trait_result" (student_id, period, trait_code, level),
                    "year_result" (student_id, completed, promoted, classification, award) — CN only
      students    → "student" (student_id, class_id, full_name, birth_date, gender, ethnicity,
                    disability, status, active), "class" (class_id, class_name, grade) when known
      staff       → "staff" (every contract column but school_id)
      assignments → "assignment" (staff_id, class_id, subject_code),
                    "class" (class_id, class_name, grade, homeroom_staff_id)
      facilities  → "room" (room_id, site, room_type, construction, area_m2, condition),
                    "equipment" (item, quantity, working)
    `invalid` holds the cells kept in invalid_value (without school_id).
    """

    name: str
    kind: str
    sha256: str
    rows: int = 0
    grade: int | None = None  # results only
    period: str | None = None  # results only
    school_year: str | None = None  # when the file says it
    school_name: str | None = None  # when the file says it
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    invalid: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, object] = field(default_factory=dict)  # what the preview shows
    # results only: "template" (the sector's KQHT) or "class_summary" (TT27's, one sheet a
    # class, also a roster); per sheet what was read; the columns not read, with why.
    layout: str | None = None
    sheets: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]
