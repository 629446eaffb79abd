"""A small school as snapshot-contract tables, shared by test_readers.py and test_samples.py."""
from __future__ import annotations

from datetime import date

import pandas as pd

from csdl import rules

SCHOOL_ID = "TH01"
SCHOOL_NAME = "Trường Tiểu học Kim Đồng"
SCHOOL_YEAR = "2026-2027"
PERIODS = ["GK1", "CK1", "GK2", "CN"]
STUDENT_COLUMNS = ["student_id", "class_id", "full_name", "birth_date", "gender", "ethnicity",
                   "disability", "status", "active"]
STAFF_COLUMNS = ["staff_id", "full_name", "birth_date", "gender", "position_group",
                 "job_position", "staff_type", "main_subject", "contract_type", "rank_code",
                 "qualification", "major", "standard_rating", "sessions_per_day", "status"]

_NAMES = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Đức", "Phạm Thu Hà", "Đặng Quốc Huy",
          "Vũ Ngọc Ánh", "Bùi Minh Khôi", "Hoàng Thị Liễu", "Đỗ Thành Nghĩa", "Ngô Phương Thảo"]
_SUBJECT_LEVELS = ("T", "H", "C")
_TRAIT_LEVELS = ("T", "Đ", "C")


def contract_tables(school_id: str = SCHOOL_ID) -> dict[str, pd.DataFrame]:
    """Five classes (grades 1–5), two students each, every owed entry of every period."""
    classes, students = [], []
    for grade in rules.GRADES:
        class_id = f"{grade}A"
        classes.append((school_id, class_id, f"{grade}A", grade, f"GV0{grade}"))
        for k in range(2):
            n = (grade - 1) * 2 + k
            left = grade == 4 and k == 1
            students.append((school_id, f"10000000{n:02d}", class_id, _NAMES[n],
                             date(2021 - grade, 1 + n, 3 + n), "Nam" if n % 2 == 0 else "Nữ",
                             "Kinh" if n != 3 else "Tày", "Khiếm thị" if n == 5 else None,
                             "Chuyển đi" if left else "Đang học", not left))
    subject_rows, trait_rows, year_rows = [], [], []
    grade_of = {c[1]: c[3] for c in classes}
    for i, s in enumerate(students):
        sid, grade = s[1], grade_of[s[2]]
        for period in PERIODS:
            for j, e in enumerate(rules.expectations(grade, period)):
                if e.optional and not (e.item_code == "NGOAINGU" and i % 2 == 0):
                    continue
                if e.item_type == "trait":
                    trait_rows.append((school_id, sid, period, e.item_code,
                                       _TRAIT_LEVELS[(i + j) % 3]))
                    continue
                score = 5 + (i + j) % 6 if e.needs_score else None
                subject_rows.append((school_id, sid, period, e.item_code,
                                     _SUBJECT_LEVELS[(i + j) % 3], score))
        year_rows.append((school_id, sid, i % 4 != 1, True, ("HTXS", "CHT", "HTT", "HT")[i % 4],
                          None))
    staff = [(school_id, f"GV0{g}", f"Giáo viên Số {g}", date(1980 + g, g, 10 + g),
              "Nữ" if g % 2 else "Nam", "Giáo viên", "Giáo viên tiểu học", "Giáo viên",
              "Tiểu học", "Viên chức", f"V.07.03.{26 + min(g, 3)}", "Đại học", "Giáo dục tiểu học",
              "Khá" if g % 2 else "Tốt", 2 if g != 5 else 1, "Đang làm việc")
             for g in range(1, 7)]
    assignments = ([(school_id, f"GV0{g}", f"{g}A", code) for g in rules.GRADES
                    for code in ("TOAN", "TV")]
                   + [(school_id, "GV06", f"{g}A", "NGOAINGU") for g in rules.GRADES]
                   + [(school_id, None, "3A", "TIENGDT")])
    rooms = [(school_id, "P101", "Điểm chính", "Phòng học", "Kiên cố", 48.0, "Tốt"),
             (school_id, "P102", "Điểm chính", "Phòng Âm nhạc", "Bán kiên cố", 54.5, "Cần sửa chữa"),
             (school_id, "K01", "Điểm lẻ Suối Cát", "Kho", "Tạm", 12.0, "Hỏng")]
    equipment = [(school_id, "Máy chiếu", 10, 9), (school_id, "Bộ thiết bị dạy Toán lớp 1", 4, 4)]
    return {
        "class": pd.DataFrame(classes, columns=["school_id", "class_id", "class_name", "grade",
                                                "homeroom_staff_id"]),
        "student": pd.DataFrame(students, columns=["school_id"] + STUDENT_COLUMNS),
        "subject_result": pd.DataFrame(subject_rows, columns=[
            "school_id", "student_id", "period", "subject_code", "level", "score"]),
        "trait_result": pd.DataFrame(trait_rows, columns=[
            "school_id", "student_id", "period", "trait_code", "level"]),
        "year_result": pd.DataFrame(year_rows, columns=[
            "school_id", "student_id", "completed", "promoted", "classification", "award"]),
        "staff": pd.DataFrame(staff, columns=["school_id"] + STAFF_COLUMNS),
        "assignment": pd.DataFrame(assignments, columns=["school_id", "staff_id", "class_id",
                                                         "subject_code"]),
        "room": pd.DataFrame(rooms, columns=["school_id", "room_id", "site", "room_type",
                                             "construction", "area_m2", "condition"]),
        "equipment": pd.DataFrame(equipment, columns=["school_id", "item", "quantity", "working"]),
    }
