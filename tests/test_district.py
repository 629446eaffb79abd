"""The district's comparison counts every school in one pass (one snapshot difference per
locked period and base snapshot, each quality rule once for all schools); its numbers must be
exactly those each school's own computation gives (changes.after_lock, quality.findings),
school by school. Three schools: S1 with a finding of every severity and changes after its
lock, S2 locked earlier by its own event (another base snapshot), S3 with nothing at all and
the same student codes as S1."""
from datetime import date, datetime

import pandas as pd
import pytest

from csdl import changes, district, quality, rules, schedule, scope, snapshots
from tests.test_quality import quality_tables

YEAR = "2026-2027"
T0, T1, T2 = datetime(2027, 1, 3, 17), datetime(2027, 1, 5, 17), datetime(2027, 1, 8, 17)
S2_LOCK = datetime(2027, 1, 4, 8)  # S2's own school-wide lock event, between T0 and T1
SCHOOLS = ["S1", "S2", "S3"]


def _clean_school(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Add S3: one grade-3 class, every subject assigned to its homeroom teacher (working),
    three students with codes S1 also uses (A00, A01, and GHOST, whose results S1 holds
    without listing it), A00 named and born like S1's DUP1 and DUP2; no results: no finding
    in S3, and none of S1's taken away."""
    add = {
        "school": [{"school_id": "S3", "name": "Trường Sạch", "province": "Tỉnh"}],
        "class": [{"school_id": "S3", "class_id": "Z3", "class_name": "3Z", "grade": 3,
                   "homeroom_staff_id": "ZGV"}],
        "student": [{"school_id": "S3", "student_id": s, "class_id": "Z3",
                     "full_name": f"Học sinh sạch {s}", "birth_date": None, "active": True,
                     "disability": None} for s in ("A00", "A01", "GHOST")],
        "staff": [{"school_id": "S3", "staff_id": "ZGV", "full_name": "Cô Zét",
                   "status": "Đang làm việc"}],
        "assignment": [{"school_id": "S3", "staff_id": "ZGV", "class_id": "Z3",
                        "subject_code": s.code}
                       for s in rules.subjects_for_grade(3) if 3 not in s.optional_grades],
    }
    out = {name: pd.concat([df, pd.DataFrame(add[name])], ignore_index=True)
           if name in add else df for name, df in tables.items()}
    st = out["student"]
    st.loc[(st["school_id"] == "S3") & (st["student_id"] == "A00"),
           ["full_name", "birth_date"]] = ["Nguyễn Văn Tùng", date(2019, 3, 4)]
    return out


def _set(sr: pd.DataFrame, school: str, student: str, subject: str, field: str, value) -> None:
    sr.loc[(sr["school_id"] == school) & (sr["student_id"] == student) & (sr["period"] == "CK1")
           & (sr["subject_code"] == subject), field] = value


def tables_at(taken_at: datetime) -> dict[str, pd.DataFrame]:
    """The three schools as they stand at T0, T1 or T2."""
    t = _clean_school(quality_tables())
    sr = t["subject_result"]
    extra = [("S1", "B00", "CK1", "TOAN", "T", None)]  # removed at T2, when B00 has left
    if taken_at >= T1:  # before S1's lock, after S2's
        _set(sr, "S1", "M2", "TV", "level", "H")
        _set(sr, "S2", "X01", "TOAN", "score", 9)
    if taken_at >= T2:  # after every lock
        _set(sr, "S1", "M1", "TOAN", "level", "T")
        _set(sr, "S1", "M2", "TOAN", "score", 6)
        extra = [("S1", "A01", "CK1", "TOAN", "T", None), ("S2", "X02", "CK1", "TOAN", "H", None)]
        sr.loc[(sr["student_id"] == "N1") & (sr["subject_code"] == "TV"), "score"] = 2  # GK1
        st = t["student"]
        st.loc[(st["school_id"] == "S1") & (st["student_id"] == "B00"), "active"] = False
    t["subject_result"] = pd.concat([sr, pd.DataFrame(extra, columns=sr.columns)],
                                    ignore_index=True).astype({"score": "Int64"})
    return t


def _request(data_dir, school_id, student_id, field, old, new, decision=None) -> None:
    request = changes.record_request(
        data_dir, school_year=YEAR, school_id=school_id, student_id=student_id, period="CK1",
        item_type="subject", item_code="TOAN", field=field, old_value=old, new_value=new,
        reason="Sửa theo bài kiểm tra", requested_by="Giáo viên", actor="test")
    if decision:
        changes.decide(data_dir, request, decision, "ghi chú", "test")


@pytest.fixture(scope="module")
def district_data(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("district")
    infos = [snapshots.get_snapshot(data_dir, snapshots.write_snapshot(
        data_dir, tables_at(at), school_year=YEAR, taken_at=at, source="import").snapshot_id)
        for at in (T0, T1, T2)]
    # The shared schedule locks CK1 on 6 Jan; S2 locked itself earlier; S3 keeps its own
    # schedule, which locks CK1 only after the last snapshot.
    schedule.set_window(data_dir, YEAR, "CK1", None, date(2026, 12, 20), date(2027, 1, 5),
                        date(2027, 1, 6), "test")
    schedule.set_window(data_dir, YEAR, "CK1", None, date(2026, 12, 20), date(2027, 1, 15),
                        date(2027, 1, 20), "test", school_id="S3")
    schedule.record_event(data_dir, YEAR, "CK1", "lock", "school", None, S2_LOCK, None, "test",
                          school_id="S2")
    _request(data_dir, "S1", "M1", "level", "H", "T", "approved")
    _request(data_dir, "S1", "M2", "score", "4", "6")  # pending
    _request(data_dir, "S2", "X01", "score", "10", "9", "approved")
    # S3's approved request for the very cell S1 added (same student code): not S1's.
    _request(data_dir, "S3", "A01", "level", None, "T", "approved")
    return data_dir, infos


def test_the_comparison_equals_each_schools_own_numbers(district_data):
    data_dir, (_, _, latest) = district_data
    table = district.compare(data_dir, latest, SCHOOLS, "CK1").set_index("school_id")
    assert list(table.index) == SCHOOLS
    for school_id in SCHOOLS:
        after = changes.after_lock(data_dir, latest, school_id)
        found = quality.findings(data_dir, latest, school_id)
        row = table.loc[school_id]
        assert row["changes"] == len(after), school_id
        assert row["changes_not_approved"] == len(changes.not_approved(after)), school_id
        for severity in quality.SEVERITIES:
            assert row[f"findings_{severity}"] == (found["severity"] == severity).sum(), \
                (school_id, severity)
    # Worked out by hand from the fixture: S1 changed M1's level (approved) and M2's score
    # (pending), added A01's level (no request of its own) and lost B00's with B00; S2 changed
    # X01's score (approved) after its own lock and added X02's level. S3: nothing.
    assert table[["changes", "changes_not_approved"]].to_dict("index") == {
        "S1": {"changes": 4, "changes_not_approved": 2},
        "S2": {"changes": 2, "changes_not_approved": 1},
        "S3": {"changes": 0, "changes_not_approved": 0}}
    assert (table.loc["S1", [f"findings_{s}" for s in quality.SEVERITIES]] > 0).all()
    assert (table.loc["S3", [f"findings_{s}" for s in quality.SEVERITIES]] == 0).all()


def test_changes_in_one_pass_are_each_schools_changes(district_data):
    data_dir, (t0, t1, latest) = district_data
    together = changes.after_lock_of(data_dir, latest, SCHOOLS)
    assert set(together["school_id"]) == {"S1", "S2"}
    for school_id in SCHOOLS:
        alone = changes.after_lock(data_dir, latest, school_id)
        mine = together[together["school_id"] == school_id].drop(columns="school_id")
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), alone, obj=school_id,
                                      check_dtype=not alone.empty)  # none: object columns
    bases = together.groupby("school_id")["base_snapshot"].unique().map(list).to_dict()
    assert bases == {"S1": [t1.snapshot_id], "S2": [t0.snapshot_id]}
    s1 = together[together["school_id"] == "S1"].set_index("student_id")
    assert s1["decision"].to_dict() == {"M1": "approved", "M2": "pending", "A01": "none",
                                       "B00": "student_left"}
    assert "M2" not in set(s1.index[s1["item_code"] == "TV"])  # changed before S1's lock


def test_changes_of_a_period(district_data):
    data_dir, (_, _, latest) = district_data
    assert changes.after_lock_of(data_dir, latest, SCHOOLS, "GK1").empty  # not locked
    ck1 = changes.after_lock_of(data_dir, latest, SCHOOLS, "CK1")
    pd.testing.assert_frame_equal(ck1, changes.after_lock_of(data_dir, latest, SCHOOLS))


def test_lock_moments_read_at_once_equal_each_schools(district_data):
    data_dir, (_, _, latest) = district_data
    together = changes.lock_moments(data_dir, YEAR, SCHOOLS)
    for school_id in SCHOOLS:
        for period in rules.PERIODS:
            assert together[school_id][period] == changes.lock_moment(
                data_dir, YEAR, period, school_id), (school_id, period)
    assert together["S2"]["CK1"] == S2_LOCK
    assert together["S3"]["CK1"] == datetime(2027, 1, 20)
    assert changes.locked_periods_of(data_dir, latest, SCHOOLS)["S1"] == \
        changes.locked_periods(data_dir, latest, "S1")


def test_quality_counts_equal_each_schools_findings(district_data):
    data_dir, (t0, _, latest) = district_data
    for info in (t0, latest):
        counted = quality.counts(data_dir, info, SCHOOLS).set_index("school_id")
        assert list(counted.index) == SCHOOLS
        for school_id in SCHOOLS:
            found = quality.findings(data_dir, info, school_id)
            assert set(found["school_id"]) <= {school_id}
            assert counted.loc[school_id].to_dict() == {
                s: int((found["severity"] == s).sum()) for s in quality.SEVERITIES}, school_id
    found = quality.findings(data_dir, latest, "S1")
    assert {"unknown_student", "duplicate_student"} <= set(found["rule"])
    assert quality.findings(data_dir, latest, "S3").empty


def test_quality_counts_follow_the_settings(district_data):
    from dataclasses import replace

    from csdl import settings

    data_dir, (_, _, latest) = district_data
    strict = replace(settings.load(data_dir), class_size_max=1)
    counted = quality.counts(data_dir, latest, SCHOOLS, strict).set_index("school_id")
    for school_id in SCHOOLS:
        found = quality.findings(data_dir, latest, school_id, settings=strict)
        assert counted.loc[school_id, "medium"] == (found["severity"] == "medium").sum()
    assert counted.loc["S3", "medium"] == 1  # its class of three is now over the limit


def test_one_school_is_refused_outside_the_scope_even_when_cached(district_data):
    data_dir, (_, _, latest) = district_data
    district.compare(data_dir, latest, SCHOOLS, "CK1")  # fills the caches, unrestricted
    with scope.restricted(["S1"]):
        for call in (lambda: district.compare(data_dir, latest, SCHOOLS, "CK1"),
                     lambda: quality.counts(data_dir, latest, ["S1", "S3"]),
                     lambda: quality.cached_counts(data_dir, latest, SCHOOLS),
                     lambda: changes.after_lock_of(data_dir, latest, ["S1", "S2"]),
                     lambda: changes.changed_after_lock_of(data_dir, latest, SCHOOLS),
                     lambda: changes.requests_of(data_dir, YEAR, ["S3"])):
            with pytest.raises(scope.ScopeError):
                call()
        mine = district.compare(data_dir, latest, ["S1"], "CK1")
        assert list(mine["school_id"]) == ["S1"] and mine.loc[0, "changes"] == 4


def test_schools_taken_a_few_at_a_time_give_the_same_numbers(district_data, monkeypatch):
    data_dir, (_, _, latest) = district_data
    whole = (quality.counts(data_dir, latest, SCHOOLS),
             changes.after_lock_of(data_dir, latest, SCHOOLS))
    monkeypatch.setattr(quality, "SCHOOLS_PER_PASS", 2)
    monkeypatch.setattr(changes, "SCHOOLS_PER_PASS", 2)
    changes._changed_cached.cache_clear()
    pd.testing.assert_frame_equal(quality.counts(data_dir, latest, SCHOOLS), whole[0])
    pd.testing.assert_frame_equal(changes.after_lock_of(data_dir, latest, SCHOOLS), whole[1])
    changes._changed_cached.cache_clear()
