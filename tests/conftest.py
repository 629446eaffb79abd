"""Shared fixtures: a small hand-made school written as a real snapshot."""
from datetime import datetime

import pandas as pd
import pytest

from csdl import snapshots


def small_school_tables():
    """Two grade-1 classes and one grade-4 class; one student has left; Ngoại ngữ is assigned
    only to class 1A (optional in grade 1); a few entries made for CK1 and GK1."""
    school = pd.DataFrame([{"school_id": "S1", "name": "Trường Tiểu học Thử", "province": "Tỉnh mẫu"},
                           {"school_id": "S2", "name": "Trường khác", "province": "Tỉnh mẫu"}])
    classes = pd.DataFrame([
        {"school_id": "S1", "class_id": "L1A", "class_name": "1A", "grade": 1, "homeroom_staff_id": "GV1"},
        {"school_id": "S1", "class_id": "L1B", "class_name": "1B", "grade": 1, "homeroom_staff_id": "GV2"},
        {"school_id": "S1", "class_id": "L4A", "class_name": "4A", "grade": 4, "homeroom_staff_id": "GV3"},
        {"school_id": "S2", "class_id": "X1", "class_name": "1A", "grade": 1, "homeroom_staff_id": None},
    ])
    students = pd.DataFrame([
        ("S1", "H1", "L1A", "Nguyễn An", True), ("S1", "H2", "L1A", "Trần Bình", True),
        ("S1", "H3", "L1B", "Lê Chi", True), ("S1", "H4", "L1B", "Phạm Dũng", False),  # left
        ("S1", "H5", "L4A", "Hoàng Em", True), ("S1", "H6", "L4A", "Vũ Giang", True),
        ("S2", "K1", "X1", "Đỗ Hà", True),
    ], columns=["school_id", "student_id", "class_id", "full_name", "active"])
    assignment = pd.DataFrame([("S1", "GV9", "L1A", "NGOAINGU"), ("S1", "GV1", "L1A", "TOAN")],
                              columns=["school_id", "staff_id", "class_id", "subject_code"])
    sr = [
        ("S1", "H1", "CK1", "TOAN", "T", 9), ("S1", "H1", "CK1", "TV", "H", None),
        ("S1", "H1", "CK1", "NGOAINGU", "T", None),
        ("S1", "H3", "CK1", "TOAN", "H", 7), ("S1", "H3", "CK1", "NGOAINGU", "T", None),  # not owed
        ("S1", "H4", "CK1", "TOAN", "T", 10),  # left: not owed
        ("S1", "H5", "CK1", "KHOAHOC", None, 8), ("S1", "H5", "GK1", "TOAN", "T", 9),
        ("S1", "H6", "GK1", "TV", "H", None),
        ("S2", "K1", "CK1", "TOAN", "T", 9),
    ]
    subject_result = pd.DataFrame(sr, columns=["school_id", "student_id", "period", "subject_code",
                                               "level", "score"])
    trait_result = pd.DataFrame([("S1", "H1", "CK1", "PC_YEUNUOC", "T"),
                                 ("S1", "H5", "CK1", "NLD_TINHOC", "Đ"),
                                 ("S1", "H2", "CK1", "PC_NHANAI", None)],
                                columns=["school_id", "student_id", "period", "trait_code", "level"])
    return {"school": school, "class": classes, "student": students, "assignment": assignment,
            "subject_result": subject_result, "trait_result": trait_result}


@pytest.fixture
def small_snapshot(tmp_path):
    info = snapshots.write_snapshot(tmp_path, small_school_tables(), school_year="2026-2027",
                                    taken_at=datetime(2027, 1, 8, 17, 0), source="import")
    return tmp_path, info


def run_query(data_dir, info, name, **params):
    """A named query on a snapshot, as the pages run it."""
    from csdl import queries

    con = queries.prepare(snapshots.connect(data_dir, info.snapshot_id))
    try:
        return queries.run(con, name, **params)
    finally:
        con.close()


def add_account(data_dir, username: str, role: str, school_id: str | None) -> None:
    """An account in users.yaml without bcrypt's cost (page tests sign in through session
    state; the page reads the account's school from users.yaml, never from the session)."""
    from csdl import auth

    config = auth.load_config(data_dir)
    config["credentials"]["usernames"][username] = {
        "name": "Người thử", "password": "not-a-hash", "roles": [role], "disabled": False,
        "demo": False, **({"school_id": school_id} if school_id else {})}
    auth._write_config(data_dir, config)


def bind_session(at) -> None:
    """Give the AppTest session's user an account in $CSDL_DATA_DIR: of school S1 when the
    latest snapshot holds it (the two-school fixture), else without a school (one school)."""
    from csdl import config, queries

    data_dir = config.data_dir()
    latest = snapshots.latest_snapshot(data_dir)
    school = None
    if latest is not None:
        con = queries.prepare(snapshots.connect(data_dir, latest.snapshot_id))
        try:
            school = "S1" if "S1" in set(queries.run(con, "school_ids")["school_id"]) else None
        finally:
            con.close()
    role = at.session_state["roles"][0]
    add_account(data_dir, at.session_state["username"], role,
                None if role == "district" else school)
