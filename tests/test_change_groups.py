"""Changes after a lock at the scale they come: grouped by class, unit and teacher with counts
checked against a hand count; one request for a whole group, decided at once; and no value
entered while a class's window is open (its grade locks later, or it was unlocked) counted."""
from collections import Counter
from datetime import date, datetime

import pandas as pd
import pytest

from csdl import changes, records, schedule, scope, snapshots
from tests.conftest import small_school_tables

YEAR = "2026-2027"
BEFORE, MIDDLE, AFTER = datetime(2027, 1, 8, 17), datetime(2027, 1, 12, 17), datetime(2027, 1, 20, 17)
STAFF = [("S1", "GV1", "Cô Lan"), ("S1", "GV2", "Thầy Hải"), ("S1", "GV3", "Cô Ba"),
         ("S1", "GV9", "Cô Anh")]
# (student, class, unit, item_type, item_code, field, before, after): every planted change of
# CK1, and the teacher each group answers to (1B has no Toán teacher assigned).
PLANTED = [
    ("H1", "L1A", "TOAN", "subject", "TOAN", "level", "T", "H"),
    ("H1", "L1A", "TOAN", "subject", "TOAN", "score", "9", "5"),
    ("H2", "L1A", "TOAN", "subject", "TOAN", "level", None, "H"),
    ("H1", "L1A", "PCNL", "trait", "PC_YEUNUOC", "level", "T", "Đ"),
    ("H3", "L1B", "TOAN", "subject", "TOAN", "score", "7", "6"),
    ("H5", "L4A", "KHOAHOC", "subject", "KHOAHOC", "score", "8", None),
    ("H6", "L4A", "PCNL", "trait", "PC_CHAMCHI", "level", None, "T"),
]
TEACHER = {("L1A", "TOAN"): "Cô Lan", ("L1A", "PCNL"): "Cô Lan", ("L1B", "TOAN"): "",
           ("L4A", "KHOAHOC"): "", ("L4A", "PCNL"): "Cô Ba"}
CLASS_NAME = {"L1A": "1A", "L1B": "1B", "L4A": "4A"}


def with_staff(t: dict) -> dict:
    t = {k: v.copy() for k, v in t.items()}
    t["staff"] = pd.DataFrame(STAFF, columns=["school_id", "staff_id", "full_name"])
    return t


def planted(base: dict, rows=PLANTED) -> dict:
    t = {k: v.copy() for k, v in base.items()}
    sr, tr = t["subject_result"], t["trait_result"]
    for student, _, _, kind, code, field, _, after in rows:
        if kind == "subject":
            hit = (sr.student_id == student) & (sr.period == "CK1") & (sr.subject_code == code)
            if hit.any():
                sr.loc[hit, field] = None if after is None else (
                    float(after) if field == "score" else after)
            else:
                sr.loc[len(sr)] = ["S1", student, "CK1", code, after, None]
        else:
            hit = (tr.student_id == student) & (tr.period == "CK1") & (tr.trait_code == code)
            if hit.any():
                tr.loc[hit, "level"] = after
            else:
                tr.loc[len(tr)] = ["S1", student, "CK1", code, after]
    t["subject_result"] = sr.astype({"score": "Int64"})
    return t


def write(data, tables, at):
    return snapshots.write_snapshot(data, tables, school_year=YEAR, taken_at=at, source="import")


@pytest.fixture
def locked(tmp_path):
    """Two snapshots around the CK1 lock of 10 Jan (whole school), with PLANTED between."""
    base = with_staff(small_school_tables())
    write(tmp_path, base, BEFORE)
    latest = write(tmp_path, planted(base), AFTER)
    schedule.set_window(tmp_path, YEAR, "CK1", None, date(2026, 12, 29), date(2027, 1, 9),
                        date(2027, 1, 10), "t")
    return tmp_path, latest


def grouped_now(data, latest):
    return changes.with_groups(changes.after_lock(data, latest, "S1"),
                               changes.teachers(data, latest, "S1"))


def hand_counts(decisions: dict) -> dict:
    """Per (class, unit): changes and count per decision, from PLANTED and the decisions given
    per (student, code, field) (default 'none')."""
    out: dict = {}
    for student, cls, unit, _, code, field, _, _ in PLANTED:
        c = out.setdefault((cls, unit), Counter())
        c["changes"] += 1
        c[decisions.get((student, code, field), "none")] += 1
    return out


def as_counts(table: pd.DataFrame) -> dict:
    return {(r.class_id, r.unit): Counter({k: int(getattr(r, k)) for k in
                                           ("changes", "none", "pending", "approved", "rejected")
                                           if int(getattr(r, k))})
            for r in table.itertuples()}


def test_groups_match_a_hand_count_worst_first(locked):
    data, latest = locked
    grouped = grouped_now(data, latest)
    assert len(grouped) == len(PLANTED)
    table = changes.group_table(grouped)
    assert as_counts(table) == hand_counts({})
    assert {(r.class_id, r.unit): r.teacher for r in table.itertuples()} == TEACHER
    assert {r.class_id: r.class_name for r in table.itertuples()} == CLASS_NAME
    assert list(table["not_approved"]) == sorted(table["not_approved"], reverse=True)
    assert table.iloc[0][["class_id", "unit", "changes"]].tolist() == ["L1A", "TOAN", 3]
    assert set(table["periods"]) == {"CK1"}
    # One group, value by value.
    one = changes.members(grouped, table.iloc[0])
    one = one.astype(object).where(one.notna(), None)
    assert set(zip(one.student_id, one.field, one.before, one.after)) == {
        (s, f, b, a) for s, c, u, _, _, f, b, a in PLANTED if (c, u) == ("L1A", "TOAN")}


def test_one_request_covers_a_group_and_is_decided_at_once(locked):
    data, latest = locked
    common = dict(school_year=YEAR, school_id="S1", period="CK1", item_type="subject",
                  item_code="TOAN", requested_by="Cô Lan", actor="quantri", reason="Nhập nhầm")
    # H1's score already has a pending request of its own: the group request leaves it.
    single = changes.record_request(data, student_id="H1", field="score", old_value="9",
                                    new_value="5", **common)
    grouped = grouped_now(data, latest)
    table = changes.group_table(grouped)
    group = table[(table.class_id == "L1A") & (table.unit == "TOAN")].iloc[0]
    batch = changes.record_group_request(
        data, school_year=YEAR, school_id="S1", group=changes.members(grouped, group),
        reason="Đối chiếu bài kiểm tra", requested_by="Cô Lan", actor="quantri")
    reqs = changes.requests(data, YEAR, "S1")
    rows = reqs[reqs.batch == batch].astype(object)
    rows = rows.where(rows.notna(), None)
    assert set(zip(rows.student_id, rows.field, rows.old_value, rows.new_value)) == {
        ("H1", "level", "T", "H"), ("H2", "level", None, "H")}
    assert set(rows.class_name) == {"1A"} and set(rows.teacher) == {"Cô Lan"}
    assert reqs.loc[reqs.id == single, "batch"].item() == single  # a single request: its own
    pending = {("H1", "TOAN", "level"): "pending", ("H2", "TOAN", "level"): "pending",
               ("H1", "TOAN", "score"): "pending"}
    assert as_counts(changes.group_table(grouped_now(data, latest))) == hand_counts(pending)
    with pytest.raises(changes.ChangeError) as exc:  # nothing left to ask for
        changes.record_group_request(
            data, school_year=YEAR, school_id="S1",
            group=changes.members(grouped_now(data, latest), group), reason="x",
            requested_by="Cô Lan", actor="quantri")
    assert exc.value.key == "changes.group_nothing_to_request"
    # The principal's picker: one row per request, in words.
    listed = changes.batches(reqs).set_index("batch")
    assert listed.loc[batch, ["class_name", "unit", "teacher", "cells", "requested_by",
                              "decision"]].tolist() == ["1A", "TOAN", "Cô Lan", 2, "Cô Lan",
                                                        "pending"]
    assert listed.loc[single, "cells"] == 1
    # Decided at once; a rejection needs a note; another school cannot decide it.
    with pytest.raises(changes.ChangeError):
        changes.decide_batch(data, "S1", batch, "rejected", " ", "hieutruong")
    with scope.restricted(["S2"]), pytest.raises(scope.ScopeError):
        changes.decide_batch(data, "S1", batch, "approved", None, "hieutruong")
    assert changes.decide_batch(data, "S1", batch, "approved", None, "hieutruong") == 2
    with pytest.raises(changes.ChangeError):  # nothing pending in it any more
        changes.decide_batch(data, "S1", batch, "approved", None, "hieutruong")
    approved = pending | {("H1", "TOAN", "level"): "approved", ("H2", "TOAN", "level"): "approved"}
    after = changes.after_lock(data, latest, "S1")
    assert as_counts(changes.group_table(grouped_now(data, latest))) == hand_counts(approved)
    assert len(changes.not_approved(after)) == len(PLANTED) - 2
    actions = [r["action"] for r in records.audit_entries(data)]
    assert actions.count("change_request_group") == 1 and actions.count("change_decision") == 1


def test_a_group_request_matches_only_the_value_it_asked_for(locked):
    data, latest = locked
    grouped = grouped_now(data, latest)
    group = changes.group_table(grouped).iloc[0]
    batch = changes.record_group_request(
        data, school_year=YEAR, school_id="S1", group=changes.members(grouped, group),
        reason="Nhập nhầm", requested_by="Cô Lan", actor="quantri")
    changes.decide_batch(data, "S1", batch, "approved", None, "hieutruong")
    raw = changes.changed_after_lock(data, latest, "S1")
    moved = raw.assign(after=raw["after"].where(
        ~((raw.student_id == "H1") & (raw.field == "level") & (raw.item_code == "TOAN")), "C"))
    out = changes.annotate(moved, changes.requests(data, YEAR, "S1")).set_index(
        ["student_id", "item_code", "field"])
    assert out.loc[("H1", "TOAN", "level"), "decision"] == "none"  # changed again since
    assert out.loc[("H2", "TOAN", "level"), "decision"] == "approved"


def test_a_grade_that_locks_later_is_not_after_its_lock(locked):
    data, latest = locked
    # Grade 4 locks on 25 Jan, after the latest snapshot: its window is still open.
    schedule.set_window(data, YEAR, "CK1", 4, date(2026, 12, 29), date(2027, 1, 20),
                        date(2027, 1, 25), "t")
    got = changes.after_lock(data, latest, "S1")
    assert set(zip(got.student_id, got.field, got.item_code)) == {
        (s, f, c) for s, cls, _, _, c, f, _, _ in PLANTED if cls != "L4A"}
    # The groups say the same: no group of 4A.
    assert as_counts(changes.group_table(grouped_now(data, latest))) == {
        k: v for k, v in hand_counts({}).items() if k[0] != "L4A"}


def test_a_grade_unlocked_after_the_lock_counts_only_what_changed_while_locked(tmp_path):
    base = with_staff(small_school_tables())
    h1_level = [r for r in PLANTED if r[0] == "H1" and r[4] == "TOAN" and r[5] == "level"]
    rest = [r for r in PLANTED if r not in h1_level]
    write(tmp_path, base, BEFORE)
    write(tmp_path, planted(base, h1_level), MIDDLE)  # 12 Jan: made while locked
    latest = write(tmp_path, planted(base, PLANTED), AFTER)  # the rest: after 12 Jan
    schedule.set_window(tmp_path, YEAR, "CK1", None, date(2026, 12, 29), date(2027, 1, 9),
                        date(2027, 1, 10), "t")
    schedule.record_event(tmp_path, YEAR, "CK1", "unlock", "grade", 1, datetime(2027, 1, 15, 8),
                          "Hiệu trưởng cho sửa", "quantri")
    got = changes.after_lock(tmp_path, latest, "S1")
    keys = set(zip(got.student_id, got.item_code, got.field))
    # Grade 1 is open since 15 Jan: only H1's level (in the 12 Jan snapshot) counts for it;
    # grade 4 stayed locked, so all of its changes count.
    assert keys == {("H1", "TOAN", "level")} | {
        (s, c, f) for s, cls, _, _, c, f, _, _ in rest if cls == "L4A"}
    assert got.loc[got.student_id == "H1", "after"].tolist() == ["H"]
    # Relocked on 19 Jan with no snapshot since the unlock: nothing from the open window
    # counts, only what changes after the first snapshot since the relock (none yet).
    schedule.record_event(tmp_path, YEAR, "CK1", "lock", "grade", 1, datetime(2027, 1, 19, 8),
                          "Đã sửa xong", "quantri")
    assert set(zip(*[changes.after_lock(tmp_path, latest, "S1")[c]
                     for c in ("student_id", "item_code", "field")])) == keys
    # The district's pass over several schools sees the same.
    together = changes.after_lock_of(tmp_path, latest, ["S1", "S2"])
    assert set(zip(together[together.school_id == "S1"].student_id,
                   together[together.school_id == "S1"].item_code,
                   together[together.school_id == "S1"].field)) == keys


def test_a_class_unlocked_now_and_a_school_not_locked_yet(locked):
    data, latest = locked
    schedule.record_event(data, YEAR, "CK1", "unlock", "class", "L1A", datetime(2027, 1, 11, 8),
                          "Sửa điểm", "quantri")
    got = changes.after_lock(data, latest, "S1")
    assert set(got["class_id"]) == {"L1B", "L4A"}
    assert len(got) == sum(1 for r in PLANTED if r[1] != "L1A")
    assert changes.group_table(changes.with_groups(got.iloc[:0], pd.DataFrame(
        columns=["class_id", "unit", "teacher"]))).empty
