"""Shared fixtures: a small hand-made school written as a real snapshot; the demo school,
built once a session and copied for each module that uses it."""
import shutil
from datetime import datetime
from pathlib import Path

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


@pytest.fixture(scope="session")
def _small_snapshot_written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small-snapshot")
    info = snapshots.write_snapshot(folder, small_school_tables(), school_year="2026-2027",
                                    taken_at=datetime(2027, 1, 8, 17, 0), source="import")
    return folder, info.snapshot_id


@pytest.fixture
def small_snapshot(_small_snapshot_written, tmp_path):
    """The small school's snapshot in tmp_path: written once a session, copied for each test
    (writing one costs ~0.3 s), so a test may write beside it or change it."""
    folder, snapshot_id = _small_snapshot_written
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    return tmp_path, snapshots.get_snapshot(tmp_path, snapshot_id)


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


@pytest.fixture(scope="session")
def _demo_built(tmp_path_factory):
    """`demo.make_demo` with its samples, built once: it costs 15-25 s, a copy a fraction of
    a second. Never handed to a test: tests write to their data folder, so each gets a copy."""
    from csdl import demo

    folder = tmp_path_factory.mktemp("demo-built")
    demo.make_demo(folder)
    return folder


@pytest.fixture(scope="session")
def demo_copy(_demo_built, tmp_path_factory):
    """`demo_copy(samples=True)`: a new folder holding what `demo.make_demo(folder,
    write_samples=samples)` writes (the samples only add `samples/`), a copy of the one build."""
    def without_samples(folder, names):  # the top folder's samples/ only
        return {"samples"} & set(names) if Path(folder) == _demo_built else set()

    def copy(samples: bool = True, name: str = "demo") -> Path:
        target = tmp_path_factory.mktemp(name)
        shutil.copytree(_demo_built, target, dirs_exist_ok=True,
                        ignore=None if samples else without_samples)
        return target

    return copy
